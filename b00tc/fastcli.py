"""The entry point. ``b00tc build`` and ``b00tc check`` are what pre-commit hooks and
Makefiles run, once per datum, so their cost is mostly start-up: a plain command line of
either is read here, with the option table below, and run without importing click (about
12 ms of a 60 ms build). Anything else (another command, ``--help``, a bundled or attached
short option, a bad value, a usage error) goes to click (cli.py), which reads the whole
command line again and answers it its own way, so the two can never disagree on what a
command line means: tests/test_cli.py checks the table against click's declared options
and compares both readings of generated command lines.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

#: per command: option -> (parameter name, kind) with kind "flag", "one" or "many"
OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "build": {
        "-t": ("targets", "many"), "--target": ("targets", "many"),
        "-o": ("out", "one"), "--output": ("out", "one"),
        "--env-file": ("env_files", "many"),
        "--set": ("sets", "many"),
        "--helper-image": ("helper_image", "one"),
        "--check": ("check_only", "flag"),
        "--diff": ("show_diff", "flag"),
        "--depfile": ("depfile", "one"),
        "--fail-if-changed": ("fail_if_changed", "flag"),
        "-I": ("includes", "many"), "--include": ("includes", "many"),
        "--strict": ("strict", "flag"),
        "--format": ("fmt", "one"),
    },
    "check": {
        "-t": ("targets", "many"), "--target": ("targets", "many"),
        "--env-file": ("env_files", "many"),
        "--set": ("sets", "many"),
        "-I": ("includes", "many"), "--include": ("includes", "many"),
        "--strict": ("strict", "flag"),
        "--format": ("fmt", "one"),
    },
}

DEFAULTS: dict[str, dict[str, object]] = {
    "build": {"paths": (), "targets": (), "out": "-", "env_files": (), "sets": (), "helper_image": "busybox:1.36",
              "check_only": False, "show_diff": False, "depfile": None, "fail_if_changed": False,
              "includes": (), "strict": False, "fmt": "text"},
    "check": {"paths": (), "targets": (), "env_files": (), "sets": (), "includes": (), "strict": False, "fmt": "text"},
}

FORMATS = ("text", "json", "github")


def parse(argv: list[str]) -> Optional[tuple[str, dict]]:
    """(command, parameters as click would pass them) for a plain ``build``/``check``
    command line; None for anything this reader leaves to click."""
    if not argv or argv[0] not in OPTIONS:
        return None
    command, table = argv[0], OPTIONS[argv[0]]
    params = dict(DEFAULTS[command])
    many: dict[str, list[str]] = {}
    paths: list[str] = []
    i, rest = 1, False
    while i < len(argv):
        tok = argv[i]
        i += 1
        if tok == "-" and not rest:
            return None  # stdin is read once: a command line that reads it goes to click
        if rest or not tok.startswith("-"):
            paths.append(tok)
            continue
        if tok == "--":
            rest = True
            continue
        value = None
        if tok.startswith("--") and "=" in tok:
            tok, value = tok.split("=", 1)
        spec = table.get(tok)
        if spec is None:
            return None  # --help, -h, a bundled or attached short option, a typo: click's
        name, kind = spec
        if kind == "flag":
            if value is not None:
                return None
            params[name] = True
            continue
        if value is None:
            if i >= len(argv):
                return None
            value = argv[i]
            i += 1
        if kind == "many":
            many.setdefault(name, []).append(value)
        else:
            params[name] = value
    for name, values in many.items():
        params[name] = tuple(values)
    params["paths"] = tuple(paths)
    # what click would refuse (or convert): its answer, not ours
    if not paths or (command == "build" and not params["targets"]) or params["fmt"] not in FORMATS:
        return None
    if any(os.path.isdir(f) for f in (*params["env_files"], params.get("depfile") or "")):
        return None  # click.Path(dir_okay=False)
    if any(os.path.isfile(d) for d in params["includes"]):
        return None  # click.Path(file_okay=False)
    return command, params


def main() -> None:
    parsed = parse(sys.argv[1:])
    if parsed is not None:
        from b00tc import commands

        command, p = parsed
        try:
            if command == "build":
                commands.run_build(p["paths"], p["targets"], p["out"], p["env_files"], p["sets"], p["helper_image"],
                                   p["check_only"], p["show_diff"], p["depfile"], p["fail_if_changed"], p["includes"],
                                   p["strict"], p["fmt"])
            else:
                commands.run_check(p["paths"], p["targets"], p["env_files"], p["sets"], p["includes"], p["strict"],
                                   p["fmt"])
            _exit(0)
        except commands.UsageError:
            pass  # raised before any output: click reads the command line again and says it
        except SystemExit as e:
            _exit(e.code)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as e:
            commands.internal_error(e)
    from b00tc.cli import main as click_main

    click_main()


def _exit(code: object) -> None:
    """Leave at once: every file b00tc wrote is closed, the standard streams are flushed
    here, and nothing is registered to run at exit, so the interpreter's teardown (about
    6 ms of a 45 ms build, mostly freeing msgspec and typing) is skipped. A flush that
    fails (a closed pipe) exits 120, as CPython's own exit does."""
    if code is not None and not isinstance(code, int):
        raise SystemExit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        os._exit(120)
    os._exit(code or 0)
