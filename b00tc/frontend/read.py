"""Datum files -> checked keys (``Raw``).

Reads TOML (tomli), checks every key and type of both datum shapes against
``frontend.spec`` (collecting every error) and normalises the legacy shape into the
canonical one: a ``Raw`` holds each canonical key with the ``$.path`` it was written at.
``frontend.build`` turns a ``Raw`` into IR nodes; ``frontend.link`` finds and reads every
datum a build needs.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Optional


from b00tc.diagnostics import Diagnostics, Span, did_you_mean, join
from b00tc.frontend import spec as S

DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
FILE_NAME = re.compile(r"(?P<name>[^/]+)\.(?P<type>[A-Za-z0-9_-]+)\.toml$")


class Raw:
    """One datum file read and checked: its canonical keys and where each came from."""

    def __init__(self, file: str, kind: str, name: str) -> None:
        self.file = file
        self.kind = kind
        self.name = name
        self.canon: dict[tuple, Any] = {}
        self.origin: dict[tuple, str] = {}
        self.scalar_argv: set[tuple] = set()  # a command written as one string
        self.table: dict = {}  # [b00t] as read, for a member type's own keys (k8s)
        #: a workflow job's [b00t.job] table, as TOML gave it (frontend.workflow reads it)
        self.workflow: Optional[dict] = None

    def get(self, *key: str, default: Any = None) -> Any:
        return self.canon.get(key, default)

    def path(self, *key: str) -> str:
        return self.origin.get(key, "$.b00t")

    def elem_path(self, key: tuple, i: int) -> str:
        base = self.path(*key)
        return base if key in self.scalar_argv else join(base, i)


def _char_at(text: str, at: int) -> Span:
    """The one character at offset ``at`` of ``text``, as line and column (1-based)."""
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return Span(line, col, line, col + 1)


def _too_deep(text: str, limit: int = 400) -> int:
    """Where the nesting of ``[`` and ``{`` first passes ``limit`` (a bracket inside a
    quoted string or a comment counts too: a pointer near the place, for a file that no
    datum resembles)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "[{":
            depth += 1
            if depth > limit:
                return i
        elif ch in "]}":
            depth = max(0, depth - 1)
    return 0


def read_datum(
    file: str,
    text: Optional[str],
    diags: Diagnostics,
    expect_kind: Optional[str] = None,
    other_kinds: bool = False,
) -> Optional[Raw]:
    """Read one datum. ``text`` None means read ``file`` from disk. Returns None on error
    (the errors are in ``diags``). With ``other_kinds``, a datum whose type is not
    ``expect_kind`` is no error: its Raw comes back with that kind and no keys read (a
    stack member whose type says it is not a container)."""
    if text is None:
        from b00tc.frontend.files import Unreadable, read_regular

        try:
            data = read_regular(file)
        except Unreadable as e:
            diags.error("E0002", f"cannot read {file}: {e}", file)
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            diags.sources[file] = data.decode("utf-8", "replace")
            line = data[: e.start].count(b"\n") + 1
            start = data.rfind(b"\n", 0, e.start) + 1
            col = len(data[start : e.start].decode("utf-8", "replace")) + 1
            diags.error(
                "E0001",
                "the file is not UTF-8 text",
                file,
                span=Span(line, col, line, col + 1),
                help="TOML files are UTF-8",
            )
            return None
    diags.sources[file] = text
    import tomli

    try:
        doc = tomli.loads(text)
    except RecursionError:  # tomli refuses arrays and inline tables nested past 400 levels
        diags.error(
            "E0001",
            "invalid TOML: arrays or inline tables nested more than 400 levels deep",
            file,
            span=_char_at(text, _too_deep(text)),
            help="no datum needs that much nesting",
        )
        return None
    except ValueError as e:  # TOMLDecodeError, and int() refusing a 4300+ digit number
        if not isinstance(e, tomli.TOMLDecodeError):
            run = re.search(r"[0-9][0-9_]{4000,}", text)
            diags.error(
                "E0001",
                "invalid TOML: a number with more digits than a TOML reader accepts",
                file,
                span=_char_at(text, run.start() if run else 0),
                help="no number in a datum needs that many digits",
            )
            return None
        msg = getattr(e, "msg", None) or str(e).split(" (at ")[0]
        line = getattr(e, "lineno", None) or 1
        col = getattr(e, "colno", None) or 1
        lines = text.split("\n")
        if 0 < line <= len(lines):
            col = min(col, len(lines[line - 1].rstrip("\r")) + 1)
        diags.error("E0001", f"invalid TOML: {msg}", file, span=Span(line, col, line, col + 1))
        return None
    b00t = doc.get("b00t")
    if not isinstance(b00t, dict):
        diags.error(
            "E0103",
            "no [b00t] table: this is not a b00t datum",
            file,
            span=Span(1, 1, 1, 2),
            help='a datum starts with [b00t] and name = "...", type = "job" | "stack" | "docker"',
        )
        return None
    name, kind = b00t.get("name"), b00t.get("type")
    ok = True
    for key, val in (("name", name), ("type", kind)):
        if val is None:
            diags.error("E0103", f"[b00t] has no {key}", file, "$.b00t", key=True)
            ok = False
        elif not isinstance(val, str):
            diags.error("E0102", f"{key} must be a string", file, f"$.b00t.{key}")
            ok = False
    if not ok:
        return None
    assert isinstance(name, str) and isinstance(kind, str)
    base = os.path.basename(file)
    m = FILE_NAME.fullmatch(base)
    if m and file != "-" and m["name"] != name:
        # b00t names a datum by its [b00t] name once the file is found; so does b00tc
        diags.warn(
            "W0108",
            f"[b00t] name {name!r} does not match the file name '{base}' (which says name "
            f"'{m['name']}'): the name in the file decides, its output is named {name!r}",
            file,
            "$.b00t.name",
            help=f'rename the file to {name}.{m["type"]}.toml, or set name = "{m["name"]}" if the file name is right',
        )
    if m and file != "-" and m["type"] != kind:
        # b00t reads the type inside the file; so does b00tc (b00t-keys.md)
        diags.warn(
            "W0107",
            f"[b00t] type {kind!r} does not match the file name '{base}' (which says type "
            f"{m['type']!r}): the type in the file decides, this is a {kind} datum",
            file,
            "$.b00t.type",
            help=f'rename the file to {name}.{kind}.toml, or set type = "{m["type"]}" if the file name is right',
        )
    if not DNS1123.match(name) or len(name) > 63:
        diags.error(
            "E0105",
            f"name {name!r} is not a DNS-1123 label",
            file,
            "$.b00t.name",
            help="every target uses the name as an identifier: lower-case letters, digits and "
            "'-', starting and ending with a letter or digit, at most 63 characters",
        )
        return None
    table = S.BY_TYPE.get(kind)
    if other_kinds and expect_kind and kind != expect_kind:
        if kind not in S.MEMBER_TYPES:
            return Raw(file, kind, name)
        table = S.MEMBER_TYPES[kind]  # a chart member: its keys are read
        expect_kind = kind
    if table is None or (expect_kind and kind != expect_kind):
        what = expect_kind or "job, stack or docker"
        diags.error(
            "E0107",
            f"{name} is a datum of type {kind!r}; b00tc builds {what} datums",
            file,
            "$.b00t.type",
            help="container targets take job and stack datums (docker datums as stack members)",
        )
        return None
    raw = Raw(file, kind, name)
    before = diags.errors
    for key, val in doc.items():
        if key == "b00t":
            continue
        if key == "env":
            _walk_env(val, "$.env", S.TOP_LEVEL_ENV, raw, diags)
        elif key in S.TOP_LEVEL_KEYS:
            _walk_known(val, S.TOP_LEVEL_KEYS[key], join("$", key), raw, diags)
        elif key not in S.INFORMATIONAL:
            _ignored(key, "$", S.TOP_LEVEL_KEYS, raw, diags)
    _walk(b00t, table, "$.b00t", (), raw, diags)
    if kind in S.MEMBER_TYPES:  # a chart reads its install script and desires (frontend/helm.py)
        raw.table = b00t
    if diags.errors > before:
        return None
    if kind == "job" and isinstance(b00t.get("job"), dict):
        raw.workflow = b00t["job"]  # a workflow job (workflow-jobs.md)
    return raw


def _unknown(key: str, path: str, choices, raw: Raw, diags: Diagnostics) -> None:
    guess = did_you_mean(key, choices)
    diags.error(
        "E0101",
        f"unknown key {key!r}",
        raw.file,
        join(path, key),
        key=True,
        help=(f"did you mean {guess!r}? " if guess else "")
        + f"known keys here: {', '.join(sorted(choices))}",
    )


def _ignored(key: str, path: str, choices, raw: Raw, diags: Diagnostics, other_type: str = "") -> None:
    """W0105: a key in one of b00t's tables that neither b00t's reader nor b00tc knows.
    b00t runs the datum without it, so b00tc compiles it without it, and says so."""
    if other_type:
        diags.warn(
            "W0105",
            f"{key!r} is read in {other_type} datums, not in a {raw.kind} datum: ignored here",
            raw.file,
            join(path, key),
            key=True,
            help=f"remove it, or make the datum a {other_type.split(' and ')[0]} datum",
        )
        return
    guess = did_you_mean(key, choices)
    diags.warn(
        "W0105",
        f"unknown key {key!r}: neither b00t nor b00tc reads it, so it is ignored",
        raw.file,
        join(path, key),
        key=True,
        help=(f"did you mean {guess!r}? " if guess else "")
        + "fix its name, or remove it (b00t ignores the keys it does not know; b00tc compiles "
        "the datum without it)",
    )


def _walk_known(val: Any, known: Optional[S.Known], path: str, raw: Raw, diags: Diagnostics) -> None:
    """A key b00t's reader knows and b00tc ignores: only the names of its keys are checked."""
    if known is None or known.keys is None:
        return
    tables = val if known.many and isinstance(val, list) else [val]
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            continue  # (install may be a string; b00t checks its own values)
        tpath = join(path, i) if known.many and isinstance(val, list) else path
        for key in table:
            if key not in known.keys and key not in S.INFORMATIONAL:
                _ignored(key, tpath, known.keys, raw, diags)


def _set(raw: Raw, dest: tuple, value: Any, path: str, diags: Diagnostics) -> None:
    if dest in raw.canon:
        diags.error(
            "E0112",
            f"{'.'.join(dest)} is given twice (at {raw.origin[dest]} and {path})",
            raw.file,
            path,
            key=True,
            help="the canonical and the legacy shape say the same thing: keep one",
        )
        return
    raw.canon[dest] = value
    raw.origin[dest] = path


def _walk(obj: Any, table: S.Table, path: str, prefix: tuple, raw: Raw, diags: Diagnostics) -> None:
    if not isinstance(obj, dict):
        diags.error("E0102", f"{path[2:]} must be a table", raw.file, path)
        return
    for key, val in obj.items():
        if key in S.INFORMATIONAL or key in table.ignored:
            continue
        sub = table.keys.get(key)
        kpath = join(path, key)
        if sub is None:
            if table.b00t is None:  # a table b00tc defines: only a typo
                _unknown(key, path, table.keys.keys(), raw, diags)
            elif key in table.b00t:
                _walk_known(val, table.b00t[key], kpath, raw, diags)
            elif path == "$.b00t" and key in S.READ_BY:
                _ignored(key, path, (), raw, diags, other_type=" and ".join(S.READ_BY[key]))
            else:
                _ignored(key, path, [*table.keys, *table.b00t], raw, diags)
            continue
        if isinstance(sub, S.Table):
            dest = sub.to if sub.to is not None else prefix + (key,)
            _walk(val, sub, kpath, dest, raw, diags)
        elif isinstance(sub, S.EnvMap):
            _walk_env(val, kpath, prefix + (key,), raw, diags)
        elif isinstance(sub, S.Services):
            _walk_services(val, kpath, raw, diags)
        else:
            dest = sub.to if sub.to is not None else prefix + (key,)
            checked = _check_leaf(val, sub, kpath, raw, diags)
            if sub.kind == S.ARGV and isinstance(val, str):
                raw.scalar_argv.add(dest)
            if checked is not _BAD:
                _set(raw, dest, checked, kpath, diags)
    for key, sub in table.keys.items():
        if isinstance(sub, S.Leaf) and sub.required and key not in obj:
            diags.error("E0103", f"{path[2:]} has no {key}", raw.file, path, key=True)


_BAD = object()


def _check_leaf(val: Any, leaf: S.Leaf, path: str, raw: Raw, diags: Diagnostics) -> Any:
    kind = leaf.kind
    ok: bool
    if kind == S.STR:
        ok = isinstance(val, str)
    elif kind == S.STRLIST:
        if isinstance(val, list):
            good = True
            for i, item in enumerate(val):
                if not isinstance(item, str):
                    diags.error(
                        "E0102",
                        f"expected a string, got {_tname(item)}",
                        raw.file,
                        join(path, i),
                        help="quote the value",
                    )
                    good = False
            return val if good else _BAD
        ok = False
    elif kind == S.ARGV:
        if isinstance(val, str):
            return [val]
        return _check_leaf(val, S.Leaf(S.STRLIST), path, raw, diags)
    elif kind == S.INT:
        ok = isinstance(val, int) and not isinstance(val, bool) and abs(val) < 2**31
    elif kind == S.NUM:
        ok = (
            isinstance(val, (int, float))
            and not isinstance(val, bool)
            and abs(val) < 1e15  # before isfinite: float() of a huge int overflows
            and math.isfinite(val)
        )
    elif kind == S.BOOL:
        ok = isinstance(val, bool)
    elif kind == S.QTY:
        ok = isinstance(val, (int, float, str)) and not isinstance(val, bool)
    else:  # pragma: no cover
        ok = False
    if not ok:
        if isinstance(val, (int, float)) and not isinstance(val, bool) and kind in (S.INT, S.NUM):
            what = f"{kind} of reasonable size, got {val!r:.40}"
        else:
            what = f"{kind}, got {_tname(val)}"
        diags.error("E0102", f"{path.rsplit('.', 1)[-1]} must be {what}", raw.file, path)
        return _BAD
    if leaf.choices and val not in leaf.choices:
        # b00t takes schedule_type as any string (b00t-keys.md): b00tc keeps the value
        # as a hint and schedules as it would without it
        guess = did_you_mean(str(val), leaf.choices)
        diags.warn(
            "W0106",
            f"{path.rsplit('.', 1)[-1]} {val!r} has no meaning to b00tc: it is recorded as "
            "b00t.io/schedule-type (a k8s annotation, a compose label, Nomad meta, a comment) "
            "and the datum is scheduled as it would be without it",
            raw.file,
            path,
            help=(f"did you mean {guess!r}? " if guess else "")
            + f"the values b00tc knows: {', '.join(leaf.choices)}",
        )
    return val


def _tname(val: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(val), type(val).__name__)


def _walk_env(val: Any, path: str, dest: tuple, raw: Raw, diags: Diagnostics) -> None:
    if not isinstance(val, dict):
        diags.error("E0102", "env must be a table of strings", raw.file, path)
        return
    env = raw.canon.setdefault(("env",), {})
    for name, v in val.items():
        vpath = join(path, name)
        if not ENV_NAME.match(name):
            diags.error(
                "E0109",
                f"{name!r} is not a valid environment variable name",
                raw.file,
                vpath,
                key=True,
                help="env names are letters, digits and '_', not starting with a digit",
            )
            continue
        if not isinstance(v, str):
            diags.error(
                "E0102",
                f"env {name} must be a string, got {_tname(v)}",
                raw.file,
                vpath,
                help=f'quote it: {name} = "{v}"' if isinstance(v, (int, float, bool)) else "",
            )
            continue
        if name in env:
            diags.error(
                "E0112",
                f"env {name} is given twice (at {raw.origin[('env', name)]} and {vpath})",
                raw.file,
                vpath,
                key=True,
                help="[env] and [b00t.env] are the same table: keep one",
            )
            continue
        env[name] = v
        raw.origin[("env", name)] = vpath


def _walk_services(val: Any, path: str, raw: Raw, diags: Diagnostics) -> None:
    if not isinstance(val, dict):
        diags.error("E0102", "services must be a table", raw.file, path)
        return
    services = raw.canon.setdefault(("services",), {})
    for name, decl in val.items():
        spath = join(path, name)
        if not DNS1123.match(name) or len(name) > 63:
            diags.error(
                "E0105",
                f"service name {name!r} is not a DNS-1123 label",
                raw.file,
                spath,
                key=True,
                help="lower-case letters, digits and '-', at most 63",
            )
            continue
        if not isinstance(decl, dict):
            diags.error(
                "E0102", f"service {name} must be a table {{ port = ..., protocol = ... }}",
                raw.file, spath,
            )
            continue
        port = decl.get("port")
        good = True
        for key in decl:
            if key not in ("port", "protocol") and key not in S.INFORMATIONAL:
                _unknown(key, spath, ("port", "protocol"), raw, diags)
                good = False
        if port is None:
            diags.error("E0103", f"service {name} has no port", raw.file, spath, key=True)
            good = False
        elif isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            diags.error(
                "E0102",
                f"service {name}: port must be an integer 1-65535, got {port!r}",
                raw.file,
                join(spath, "port"),
            )
            good = False
        proto = decl.get("protocol", "http")
        if not isinstance(proto, str) or not re.fullmatch(r"[a-z][a-z0-9+.-]*", proto):
            diags.error(
                "E0102",
                f"service {name}: protocol must be a URL scheme like http, got {proto!r}",
                raw.file,
                join(spath, "protocol"),
            )
            good = False
        if good:
            services[name] = (port, proto)
            raw.origin[("services", name)] = spath


# ---------------------------------------------------------------------------
# Raw -> IR


