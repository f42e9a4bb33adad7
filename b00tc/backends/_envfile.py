"""The environment files of systemd units (EnvironmentFile=): what a unit's file must hold,
unresolved (the build), and the line format systemd reads back (``b00tc env``)."""

from __future__ import annotations

import re
from typing import Callable, NamedTuple

from b00tc.ir import Value


class EnvEntry(NamedTuple):
    name: str
    value: Value
    file: str
    refs: Callable
    #: the word is the program of an Exec line run through /usr/bin/env
    program: bool = False


class EnvFile(NamedTuple):
    """One EnvironmentFile= of a unit: the entries it must hold, unresolved."""

    path: str
    unit: str
    entries: list


def env_line(name: str, value: str) -> str:
    """``NAME="value"`` as systemd.exec(5), EnvironmentFile=, reads it back exactly: "a
    double-quoted value after the "=" can span multiple lines, and the same escape sequences
    are recognized as in POSIX shell double-quoted strings. A backslash ("\\") followed by
    any of ""\\`$" will preserve that character." Every other character, newline included,
    is taken as it is; a NUL (and a noncharacter, which is not valid UTF-8 to systemd) cannot
    be carried and is reported before (E0601)."""
    return f'{name}="' + re.sub(r'(["\\`$])', r"\\\1", value) + '"'
