"""The deploy-time values of a build: what the outputs refer to instead of holding a host
variable's value, unresolved (the build), resolved by ``b00tc.envfiles`` (``b00tc env``,
deploy). systemd's are environment files (EnvironmentFile=), with the line format systemd
reads back; k8s's Secrets; Nomad's Variables."""

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
    """One store of deploy-time values, the entries it must hold, unresolved: for
    ``kind`` systemd an EnvironmentFile= at ``path`` of the unit ``unit``; for k8s the
    Secret named ``path`` (``unit``: the datum or member whose objects read it); for nomad
    the Variable at ``path`` (nomad/jobs/<job>) of the job ``unit``. An entry's name is the
    file's variable, the Secret's key, the Variable's item. ``labels``: (name, value)
    pairs the store's object carries where it has labels (a k8s Secret: those of the Job or
    Deployment that reads it, so that day two selects it with them)."""

    path: str
    unit: str
    entries: list
    kind: str = "systemd"
    labels: tuple = ()
    #: the namespace of a k8s Secret (-O k8s.namespace), "" for kubectl's
    namespace: str = ""


def env_line(name: str, value: str) -> str:
    """``NAME="value"`` as systemd.exec(5), EnvironmentFile=, reads it back exactly: "a
    double-quoted value after the "=" can span multiple lines, and the same escape sequences
    are recognized as in POSIX shell double-quoted strings. A backslash ("\\") followed by
    any of ""\\`$" will preserve that character." Every other character, newline included,
    is taken as it is; a NUL (and a noncharacter, which is not valid UTF-8 to systemd) cannot
    be carried and is reported before (E0601)."""
    return f'{name}="' + re.sub(r'(["\\`$])', r"\\\1", value) + '"'
