"""b00tc's exit codes, named once (the README's "Exit codes" lists the same meanings).

A deployed job's own exit code is passed through unchanged by ``deploy`` and is not one
of these.
"""

OK = 0
#: errors in the input (nothing written), ``--check`` drift, a failed or degraded datum,
#: a refused ``down``
FAILED = 1
#: a usage error, or an internal error (a bug in b00tc)
USAGE = 2
#: the orchestrator cannot be used on this machine
UNAVAILABLE = 3
#: nothing of the datum is deployed
NOT_DEPLOYED = 4
#: interrupted by Ctrl-C (128 + SIGINT), as shells report it
INTERRUPTED = 130
