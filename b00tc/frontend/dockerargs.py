"""``docker_args`` of a docker member datum: the ``docker run`` flags b00tc understands.

Understood: -p/--publish, -v/--volume, --name, --restart, -e/--env, --gpus, and the health
check: --health-cmd, --health-interval, --health-timeout, --health-retries,
--health-start-period (Go durations, as docker reads them: ``30s``, ``1m30s``, ``500ms``).
Any other flag is a warning (W0102) that names it: b00tc cannot carry it to a target, and
it is never dropped silently.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

import msgspec

from b00tc.diagnostics import join
from b00tc.ir import Mount, PortMap

if TYPE_CHECKING:
    from b00tc.diagnostics import Diagnostics
    from b00tc.frontend.read import Raw

_PORT = re.compile(
    r"(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}):)?(?:(?P<host>[0-9]{1,5})?:)?(?P<container>[0-9]{1,5})(?:/(?P<proto>tcp|udp))?$"
)
_RESTART = re.compile(r"(no|always|unless-stopped|on-failure(:[0-9]{1,4})?)$")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")

_SHORT = {"-p": "publish", "-v": "volume", "-e": "env"}
_LONG = {
    "--publish": "publish",
    "--volume": "volume",
    "--env": "env",
    "--name": "name",
    "--restart": "restart",
    "--gpus": "gpus",
    "--health-cmd": "health-cmd",
    "--health-interval": "health-interval",
    "--health-timeout": "health-timeout",
    "--health-retries": "health-retries",
    "--health-start-period": "health-start-period",
}
_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?(?:ns|us|µs|ms|s|m|h))+\Z")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def duration_ms(text: str) -> int | None:
    """A Go duration (time.ParseDuration, what docker reads) in whole milliseconds, at
    least 1; None when it is not one."""
    if not _DURATION.match(text):
        return None
    total = sum(float(n) * _UNIT_MS[u] for n, u in re.findall(r"([0-9]+(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)", text))
    return max(1, round(total)) if total > 0 else None


class DockerArgs(msgspec.Struct):
    ports: tuple = ()
    mounts: tuple = ()
    env: list = msgspec.field(default_factory=list)  # (name, value text, path)
    name: str = ""
    restart: str = ""
    name_path: str = ""
    restart_path: str = ""
    gpus: int = 0
    gpus_path: str = ""
    #: --health-*: name -> (value, path) as read; build.py makes the Health
    health: dict = msgspec.field(default_factory=dict)


def parse_docker_args(raw: "Raw", args: list, base: str, diags: "Diagnostics") -> DockerArgs:
    out = DockerArgs()
    ports: list[PortMap] = []
    mounts: list[Mount] = []
    i = 0
    while i < len(args):
        arg = args[i]
        path = join(base, i)
        flag, val, vpath = arg, None, path
        if arg.startswith("--") and "=" in arg:
            flag, val = arg.split("=", 1)
        elif arg[:2] in _SHORT and len(arg) > 2:
            flag, val = arg[:2], arg[2:].lstrip("=")
        what = _SHORT.get(flag) or _LONG.get(flag)
        if what is None:
            # not understood: warn, and take a following non-flag word as its value
            took = ""
            if val is None and "=" not in arg and i + 1 < len(args) and not args[i + 1].startswith("-"):
                took = f" {args[i + 1]}"
                i += 1
            diags.warn(
                "W0102",
                f"docker argument {arg}{took!s} is not carried to any target",
                raw.file,
                path,
                help="b00tc understands -p/--publish, -v/--volume, -e/--env, --name, --restart "
                "and --gpus; express other needs in the datum",
            )
            i += 1
            continue
        if val is None:
            if i + 1 >= len(args):
                diags.error(
                    "E0110", f"docker argument {flag} needs a value", raw.file, path
                )
                break
            val, vpath = args[i + 1], join(base, i + 1)
            i += 1
        i += 1
        if what == "publish":
            m = _PORT.match(val)
            if not m or not 1 <= int(m["container"]) <= 65535 or (
                m["host"] is not None and not 1 <= int(m["host"]) <= 65535
            ):
                diags.error(
                    "E0110",
                    f"cannot read published port {val!r}",
                    raw.file,
                    vpath,
                    help="write -p HOST:CONTAINER, -p IP:HOST:CONTAINER or -p CONTAINER[/udp] "
                    "with ports 1-65535 (ranges are not supported)",
                )
                continue
            ports.append(
                PortMap(
                    container=int(m["container"]),
                    host=int(m["host"]) if m["host"] else 0,
                    host_ip=(m["ip"] or "").strip("[]"),
                    protocol=m["proto"] or "tcp",  # type: ignore[arg-type]
                    path=vpath,
                )
            )
        elif what == "volume":
            parts = val.split(":")
            if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1].startswith("/"):
                diags.error(
                    "E0110",
                    f"cannot read volume {val!r}",
                    raw.file,
                    vpath,
                    help="write -v NAME:/path, -v /host/path:/path or -v ~/dir:/path, "
                    "optionally with :ro",
                )
                continue
            opts = parts[2].split(",") if len(parts) == 3 else []
            for opt in opts:
                if opt not in ("ro", "rw"):
                    diags.warn(
                        "W0102",
                        f"volume option {opt!r} of {val!r} is not carried to any target",
                        raw.file,
                        vpath,
                    )
            src = parts[0]
            kind = "bind" if src.startswith(("/", ".", "~")) else "volume"
            if kind == "volume" and not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", src):
                diags.error(
                    "E0110",
                    f"volume name {src!r} is not a valid docker volume name",
                    raw.file,
                    vpath,
                )
                continue
            target = posixpath.normpath(parts[1])
            twice = next((m for m in mounts if posixpath.normpath(m.target) == target), None)
            if twice is not None:
                # docker: "Duplicate mount point"; compose's schema: volumes are unique
                diags.error(
                    "E0110",
                    f"two mounts at {parts[1]!r} in the container",
                    raw.file,
                    vpath,
                    help=f"the first is {twice.source}:{twice.target}; docker refuses a "
                    "second mount at one path: keep one",
                )
                continue
            mounts.append(
                Mount(source=src, target=parts[1], kind=kind, read_only="ro" in opts, path=vpath)  # type: ignore[arg-type]
            )
        elif what == "env":
            name, eq, text = val.partition("=")
            if not _ENV_NAME.match(name):
                diags.error(
                    "E0109", f"{name!r} is not a valid environment variable name", raw.file, vpath
                )
                continue
            # -e NAME (no value) passes the host's NAME through: a host variable
            out.env.append((name, text if eq else "${" + name + "}", vpath))
        elif what == "name":
            if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", val):
                diags.error(
                    "E0110",
                    f"container name {val!r} is not one docker accepts",
                    raw.file,
                    vpath,
                    help="a letter or digit, then letters, digits, '_', '.' or '-' (two characters at least)",
                )
                continue
            out.name, out.name_path = val, vpath
        elif what == "restart":
            if not _RESTART.match(val):
                diags.error(
                    "E0110",
                    f"unknown restart policy {val!r}",
                    raw.file,
                    vpath,
                    help="one of no, always, unless-stopped, on-failure[:N]",
                )
                continue
            out.restart, out.restart_path = val, vpath
        elif what.startswith("health-"):
            key = what.removeprefix("health-")
            if key == "cmd":
                if not val.strip():
                    diags.error("E0110", "--health-cmd needs a command", raw.file, vpath)
                    continue
                out.health[key] = (val, vpath)
            elif key == "retries":
                if not re.fullmatch(r"[0-9]{1,4}", val) or int(val) == 0:
                    diags.error("E0110", f"cannot read --health-retries {val!r}", raw.file, vpath,
                                help="write a count from 1")
                    continue
                out.health[key] = (int(val), vpath)
            else:
                ms = duration_ms(val)
                if ms is None:
                    diags.error("E0110", f"cannot read --health-{key} {val!r}", raw.file, vpath,
                                help="write a duration as docker reads it: 30s, 1m30s, 500ms")
                    continue
                out.health[key] = (ms, vpath)
        elif what == "gpus":
            if val == "all":
                out.gpus = 1
                diags.warn(
                    "W0102",
                    "--gpus all is carried as one GPU: targets need a count",
                    raw.file,
                    vpath,
                    help="set gpu_count under [b00t.resources]",
                )
            elif re.fullmatch(r"[0-9]{1,3}", val) and int(val) > 0:
                out.gpus = int(val)
            else:
                diags.error(
                    "E0110", f"cannot read --gpus {val!r}", raw.file, vpath,
                    help="write --gpus N or set gpu_count",
                )
                continue
            out.gpus_path = vpath
    out.ports = tuple(ports)
    out.mounts = tuple(mounts)
    if out.health and "cmd" not in out.health:
        (_, vpath), = list(out.health.values())[:1]
        diags.warn("W0102", "--health-* timings without --health-cmd are not carried to any target",
                   raw.file, vpath, help="add --health-cmd CMD (the image's own HEALTHCHECK is not read)")
        out.health = {}
    return out
