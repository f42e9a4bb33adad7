from b00tc.cli import main

main()
