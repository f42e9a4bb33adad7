"""The entry point. ``b00tc build`` and ``b00tc check`` are what pre-commit hooks and
Makefiles run, once per datum, so their cost is mostly start-up: a plain command line of
either is read here, into the options structure of b00tc/options.py, and run without
importing click (about 12 ms of a 60 ms build). Anything else (another command,
``--help``, a bundled or attached short option, a bad value, a usage error) goes to click
(cli.py), which reads the whole command line again and answers it its own way, so the two
can never disagree on what a command line means: the option table here is derived from
b00tc/options.py, to which tests/test_cli.py holds click's declared options, and the tests
compare both readings of generated command lines.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Optional

from b00tc import exitcodes

if TYPE_CHECKING:
    import msgspec

#: the commands read here (their options: b00tc/options.py, imported for these only)
COMMANDS = ("build", "check")


def table(command: str) -> dict[str, tuple[str, str]]:
    """The command's options as this reader takes them: spelling -> (field, kind), kind
    "flag", "one" or "many"."""
    from b00tc.options import fields

    return {flag: (name, opt.kind) for name, opt in fields(command).items() for flag in opt.flags}


def parse(argv: list[str]) -> Optional[tuple[str, msgspec.Struct]]:
    """(command, its options as click would read them) for a plain ``build``/``check``
    command line; None for anything this reader leaves to click."""
    if not argv or argv[0] not in COMMANDS:
        return None
    from b00tc.options import fields, structure

    command, spelled = argv[0], table(argv[0])
    params: dict[str, object] = {}
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
        spec = spelled.get(tok)
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
    declared = fields(command)
    params[next(name for name, opt in declared.items() if not opt.flags)] = tuple(paths)  # the arguments
    # what click would refuse: its answer, not ours
    for name, opt in declared.items():
        value = params.get(name, opt.default)
        values = value if isinstance(value, tuple) else () if value is None else (value,)
        if opt.required and not values:
            return None
        if opt.choices and any(v not in opt.choices for v in values):
            return None
        if opt.path == "file" and any(os.path.isdir(v) for v in values):
            return None  # click.Path(dir_okay=False)
        if opt.path == "dir" and any(os.path.isfile(v) for v in values):
            return None  # click.Path(file_okay=False)
    return command, structure(command)(**params)


def utf8_streams() -> None:
    """What b00tc prints is UTF-8 whatever the locale: YAML, JSON and HCL are UTF-8, and
    the tools they are piped to (kubectl, nomad, jq) read UTF-8. Under ``LC_ALL=C`` with
    UTF-8 mode off (``PYTHONUTF8=0``, or ``PYTHONIOENCODING=ascii``) Python would encode
    the streams as ASCII and a datum's ``é`` ended in an internal error. Bytes of a path
    that is not UTF-8 (decoded with surrogateescape) are written back as they were."""
    for stream, errors in ((sys.stdout, "surrogateescape"), (sys.stderr, "backslashreplace")):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(encoding="utf-8", errors=errors)
            except (ValueError, OSError):  # a closed or foreign stream: leave it as it is
                pass


def import_msgspec() -> None:
    """Import msgspec as it would be where ``typing_extensions`` is not installed.

    msgspec's ``_utils`` takes ``get_type_hints`` (and ``Required``/``NotRequired``) from
    ``typing_extensions`` when that is installed, else from ``typing``; it always is
    beside b00tc (jsonschema's ``referencing`` requires it), and importing it imports
    ``inspect`` (with ``ast``, ``dis`` and ``tokenize``): about 8 ms of a 65 ms build in
    the bench's fresh venv. What msgspec takes from it is only for ``TypedDict``
    ``Required`` keys of ``typing_extensions`` and Python before 3.11, which b00tc's
    structures do not use; tests/test_cli.py holds the structures' schemas and type
    information to those of a plain ``import msgspec``. ``typing_extensions`` itself is
    left importable for anything that imports it later."""
    if "msgspec" in sys.modules or "typing_extensions" in sys.modules:
        return
    sys.modules["typing_extensions"] = None  # type: ignore[assignment] # import raises ImportError
    try:
        import msgspec  # noqa: F401
    except ImportError:
        pass  # said by whoever imports it next, as without this
    finally:
        del sys.modules["typing_extensions"]


def main() -> None:
    utf8_streams()
    import_msgspec()
    parsed = parse(sys.argv[1:])
    if parsed is not None:
        from b00tc import commands

        command, opts = parsed
        try:
            if command == "build":
                commands.run_build(opts)
            else:
                commands.run_check(opts)
            _exit(exitcodes.OK)
        except commands.UsageError:
            pass  # raised before any output: click reads the command line again and says it
        except SystemExit as e:
            _exit(e.code)
        except KeyboardInterrupt:
            sys.exit(exitcodes.INTERRUPTED)
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
    os._exit(code or exitcodes.OK)
