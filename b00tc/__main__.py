from b00tc.fastcli import main

main()
