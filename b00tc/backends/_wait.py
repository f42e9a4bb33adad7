"""The wait helper's script, shared by the container targets (k8s initContainer, compose
helper service, Nomad prestart task): a bounded loop until a TCP port accepts connections.

POSIX sh only, backticks rather than ``$(...)`` (Kubernetes expands ``$(VAR)`` in a
container's command), and a probe that works with every nc: ``nc -z`` where the nc has it
(openbsd, BusyBox with NC_110_COMPAT as in the busybox image), else a plain connect with
stdin closed (BusyBox's small nc, as in Debian's busybox-static, has no -z; it connects,
sees end of input and exits 0, or exits 1 when the connection is refused)."""

from __future__ import annotations


def probe(host: str, port: str) -> str:
    return f"nc -z -w 2 {host} {port} 2>/dev/null || nc -w 2 {host} {port} </dev/null >/dev/null 2>&1"


def wait_script(
    host: str, port: int | str, timeout: int, name: str = "", backticks: bool = False
) -> str:
    """No trailing newline, so that YAML emits it as a readable literal block. ``host`` and
    ``port`` may be shell words (``"$B00T_WAIT_HOST"``); ``name`` is what the messages call
    the service (default ``host:port``). ``backticks`` avoids ``$(`` for Kubernetes, whose
    own ``$(VAR)`` expansion would otherwise need it escaped in the manifest."""
    what = name or f"{host}:{port}"
    now = "`date +%s`" if backticks else "$(date +%s)"
    deadline = f"`expr $deadline + {timeout}`" if backticks else f"$((deadline + {timeout}))"
    return (
        f"deadline={now}\n"
        f"deadline={deadline}\n"
        f"until {probe(str(host), str(port))}; do\n"
        f'  if [ "{now}" -ge "$deadline" ]; then\n'
        f'    echo "b00tc: {what} did not accept connections within {timeout}s" >&2\n'
        "    exit 1\n"
        "  fi\n"
        "  sleep 2\n"
        "done\n"
        f'echo "b00tc: {what} is up"'
    )
