"""The command lines of ``b00tc build`` and ``b00tc check`` as data: both readers (click
in cli.py, the fast path in fastcli.py) turn one into a ``BuildOptions`` or a
``CheckOptions``, and commands.run_build / run_check take it.

Both structures are made from the tables below, one ``Opt`` per field: its name, its
default, how it is spelled on the command line and what click refuses of its values. The
fast path's option table is derived from them too, and tests/test_cli.py holds click's
declared options to them: an option is added here, as one ``Opt``, and with its click
decorator in cli.py; nowhere else.

Each structure is made when it is first used (``structure``, or ``from b00tc.options import
BuildOptions``): reading a command line loads no msgspec (click's answers to ``--help`` and
to usage errors stay as quick as they were), and a build makes only its own Struct.
"""

from __future__ import annotations

FORMATS = ("text", "json", "github")


class Opt:
    """One field of a command's options: its name; its default, which says what it takes
    (a bool: a flag; a tuple: an option given any number of times, or the arguments; a
    string or None: one value); its spellings (none: the field is the command's
    arguments); and what click refuses: nothing given where ``required``, a value not in
    ``choices``, a folder where ``path="file"``, a file where ``path="dir"``."""

    __slots__ = ("name", "default", "flags", "required", "choices", "path")

    def __init__(self, name: str, default: object, *flags: str, required: bool = False,
                 choices: tuple[str, ...] = (), path: str = "") -> None:
        self.name = name
        self.default = default
        self.flags = flags
        self.required = required
        self.choices = choices
        self.path = path

    @property
    def kind(self) -> str:
        """"flag", "many" or "one", from the default."""
        return "flag" if isinstance(self.default, bool) else "many" if isinstance(self.default, tuple) else "one"


#: ``b00tc check PATH... [options]``
CHECK = (
    Opt("paths", (), required=True),
    Opt("targets", (), "-t", "--target"),
    Opt("env_files", (), "--env-file", path="file"),
    Opt("sets", (), "--set"),
    Opt("includes", (), "-I", "--include", path="dir"),
    Opt("target_options", (), "-O", "--target-option"),
    Opt("strict", False, "--strict"),
    Opt("fmt", "text", "--format", choices=FORMATS),
    Opt("jobs", None, "-j", "--jobs"),
)

#: ``b00tc build PATH... -t TARGET... [options]``: what check takes (a target is required
#: here; a field named again replaces check's in place), and where and how to write
BUILD = CHECK + (
    Opt("targets", (), "-t", "--target", required=True),
    Opt("out", "-", "-o", "--output"),
    Opt("helper_image", "busybox:1.36", "--helper-image"),
    Opt("check_only", False, "--check"),
    Opt("show_diff", False, "--diff"),
    Opt("depfile", None, "--depfile", path="file"),
    Opt("fail_if_changed", False, "--fail-if-changed"),
)

#: command -> its table
COMMANDS = {"build": BUILD, "check": CHECK}

#: a field's type, from its default's
_TYPES: dict[type, object] = {tuple: tuple[str, ...], bool: bool, str: str, type(None): str | None}

_STRUCTURES: dict[str, type] = {}


def fields(command: str) -> dict[str, Opt]:
    """The command's fields by name, in order (one a table names again replaces the one
    before, in its place)."""
    return {o.name: o for o in COMMANDS[command]}


def structure(command: str) -> type:
    """The command's options structure: ``BuildOptions`` or ``CheckOptions``, a frozen
    msgspec Struct of its fields, taken by keyword."""
    cls = _STRUCTURES.get(command)
    if cls is None:
        import msgspec

        cls = _STRUCTURES[command] = msgspec.defstruct(
            f"{command.capitalize()}Options",
            [(o.name, _TYPES[type(o.default)], o.default) for o in fields(command).values()],
            frozen=True, kw_only=True, module=__name__,
        )
    return cls


def __getattr__(name: str) -> type:
    """``BuildOptions`` and ``CheckOptions``, made on first use."""
    for command in COMMANDS:
        if name == f"{command.capitalize()}Options":
            return structure(command)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
