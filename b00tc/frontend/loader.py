"""Datum files -> surface IR.

Reads TOML (tomli), checks every key and type of both datum shapes against
``frontend.spec`` (collecting every error), normalises the legacy shape into the
canonical one, and builds IR nodes with their strings parsed into typed parts. Stack
members and required stacks are found on the datum search path by ``SearchPath``.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Optional

import msgspec

from b00tc.diagnostics import Diagnostic, Severity, Span, did_you_mean, join
from b00tc.frontend import spec as S
from b00tc.frontend.dockerargs import parse_docker_args
from b00tc.frontend.refs import RefError, parse_value
from b00tc.ir import (
    Budget,
    Container,
    EnvVar,
    Gpu,
    Job,
    Member,
    Name,
    Orchestration,
    Resources,
    ServiceDecl,
    Stack,
    Value,
)

DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
FILE_NAME = re.compile(r"(?P<name>[^/]+)\.(?P<type>[A-Za-z0-9_-]+)\.toml$")


class Diagnostics(list):
    """The diagnostics of one run, and the source text of every file they may point into."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: dict[str, str] = {}

    def error(self, code: str, message: str, file: str = "", path: str = "", **kw: Any) -> None:
        self.append(Diagnostic(Severity.ERROR, code, message, file=file, path=path, **kw))

    def warn(self, code: str, message: str, file: str = "", path: str = "", **kw: Any) -> None:
        self.append(Diagnostic(Severity.WARNING, code, message, file=file, path=path, **kw))

    @property
    def errors(self) -> int:
        return sum(1 for d in self if d.is_error)


class Raw:
    """One datum file read and checked: its canonical keys and where each came from."""

    def __init__(self, file: str, kind: str, name: str) -> None:
        self.file = file
        self.kind = kind
        self.name = name
        self.canon: dict[tuple, Any] = {}
        self.origin: dict[tuple, str] = {}
        self.scalar_argv: set[tuple] = set()  # a command written as one string

    def get(self, *key: str, default: Any = None) -> Any:
        return self.canon.get(key, default)

    def path(self, *key: str) -> str:
        return self.origin.get(key, "$.b00t")

    def elem_path(self, key: tuple, i: int) -> str:
        base = self.path(*key)
        return base if key in self.scalar_argv else join(base, i)


def display_path(path: Path) -> str:
    """Paths in diagnostics and outputs are as the user gave them (relative stays relative)."""
    return str(path)


def read_datum(
    file: str, text: Optional[str], diags: Diagnostics, expect_kind: Optional[str] = None
) -> Optional[Raw]:
    """Read one datum. ``text`` None means read ``file`` from disk. Returns None on error
    (the errors are in ``diags``)."""
    if text is None:
        try:
            data = Path(file).read_bytes()
        except OSError as e:
            diags.error("E0002", f"cannot read {file}: {e.strerror or e}", file)
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
    except ValueError as e:  # TOMLDecodeError, and int() refusing a 4300+ digit number
        if not isinstance(e, tomli.TOMLDecodeError):
            run = re.search(r"[0-9][0-9_]{4000,}", text)
            at = run.start() if run else 0
            line = text.count("\n", 0, at) + 1
            col = at - (text.rfind("\n", 0, at) + 1) + 1
            diags.error(
                "E0001",
                "invalid TOML: a number with more digits than a TOML reader accepts",
                file,
                span=Span(line, col, line, col + 1),
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
    if m and file != "-" and (m["name"] != name or m["type"] != kind):
        which = "name" if m["name"] != name else "type"
        diags.error(
            "E0104",
            f"[b00t] {which} {(name if which == 'name' else kind)!r} does not match the file name "
            f"{base!r} (which says {which} {m[which]!r})",
            file,
            f"$.b00t.{which}",
            help=f'rename the file to {name}.{kind}.toml or set {which} = "{m[which]}"',
        )
        return None
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
    if kind == "job" and isinstance(b00t.get("job"), dict):
        diags.error(
            "E0106",
            f"{name} is a workflow job ([b00t.job] with steps), a different schema that b00tc "
            "does not compile",
            file,
            "$.b00t.job",
            key=True,
            help="b00tc compiles container jobs: [b00t.container] image/command/args; "
            "run workflow jobs with b00t's job executor",
        )
        return None
    table = S.BY_TYPE.get(kind)
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
        elif key not in S.INFORMATIONAL:
            _unknown(key, "$", ("b00t", "env"), raw, diags)
    _walk(b00t, table, "$.b00t", (), raw, diags)
    if diags.errors > before:
        return None
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
            _unknown(key, path, table.keys.keys(), raw, diags)
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
        guess = did_you_mean(str(val), leaf.choices)
        diags.error(
            "E0108",
            f"{val!r} is not a known {path.rsplit('.', 1)[-1]}",
            raw.file,
            path,
            help=(f"did you mean {guess!r}? " if guess else "")
            + f"one of: {', '.join(leaf.choices)}",
        )
        return _BAD
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


def value(raw: Raw, text: str, path: str, diags: Diagnostics) -> Value:
    if "\x00" in text:
        diags.error(
            "E0601",
            "the value contains a NUL character, which no target can carry "
            "(argv and environment strings end at NUL)",
            raw.file,
            path,
        )
        return Value(path=path)
    try:
        return parse_value(text, path)
    except RefError as e:
        diags.append(
            Diagnostic(
                Severity.ERROR,
                "E0301",
                e.message,
                file=raw.file,
                path=path,
                help=e.help,
                offset=(e.start, e.end),
                value=text,
            )
        )
        return Value(path=path)


def env_vars(raw: Raw, diags: Diagnostics) -> tuple[EnvVar, ...]:
    out = []
    for name, text in raw.get("env", default={}).items():
        path = raw.origin[("env", name)]
        out.append(EnvVar(name=name, value=value(raw, text, path, diags), path=path))
    return tuple(out)


def _qty(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) < 1e15 else repr(v)
    return str(v)


def resources(raw: Raw) -> Resources:
    gpu = None
    count = raw.get("resources", "gpu_count")
    gtype = raw.get("resources", "gpu_type")
    if count is not None or gtype is not None or raw.get("resources", "gpu_memory") is not None:
        gpu = Gpu(
            # a GPU type or GPU memory without a count asks for one GPU
            count=count if count is not None else (1 if gtype or raw.get("resources", "gpu_memory") is not None else 0),
            type=gtype or "",
            shared=bool(raw.get("resources", "gpu_shared", default=False)),
            memory=_qty(raw.get("resources", "gpu_memory")),
            path=raw.path("resources", "gpu_count")
            if count is not None
            else raw.path("resources", "gpu_type"),
            type_path=raw.path("resources", "gpu_type"),
            memory_path=raw.path("resources", "gpu_memory"),
        )
    return Resources(
        cpu=_qty(raw.get("resources", "cpu")),
        memory=_qty(raw.get("resources", "memory")),
        cpu_path=raw.path("resources", "cpu"),
        memory_path=raw.path("resources", "memory"),
        gpu=gpu,
        path=raw.path("resources", "cpu"),
    )


def orchestration(raw: Raw) -> Orchestration:
    limit = raw.get("orchestration", "budget_daily_limit")
    cost = raw.get("orchestration", "budget_cost_per_job")
    on = raw.get("orchestration", "on_budget_exceeded")
    budget = None
    if limit is not None or cost is not None or on is not None:
        budget = Budget(
            daily_limit=float(limit) if limit is not None else None,
            cost_per_job=float(cost) if cost is not None else None,
            on_exceeded=on or "",
            path=raw.path("orchestration", "budget_cost_per_job")
            if cost is not None
            else raw.path("orchestration", "budget_daily_limit"),
        )
    schedule = raw.get("orchestration", "schedule_type", default="")
    affinity = raw.get("orchestration", "gpu_affinity", default="")
    if schedule == "gpu_affinity":
        # legacy: schedule_type = "gpu_affinity" + gpu_batch_group = G is gpu_affinity = G
        schedule = ""
    return Orchestration(
        schedule_type=schedule,
        queue_name=raw.get("orchestration", "queue_name", default=""),
        batch_group=raw.get("orchestration", "batch_group", default=""),
        gpu_affinity=affinity,
        budget=budget,
        path=raw.path("orchestration", "schedule_type"),
        queue_path=raw.path("orchestration", "queue_name")
        if ("orchestration", "queue_name") in raw.origin
        else raw.path("orchestration", "schedule_type"),
        gpu_affinity_path=raw.path("orchestration", "gpu_affinity"),
    )


def names(raw: Raw, key: tuple, diags: Diagnostics) -> tuple[Name, ...]:
    out = []
    base = raw.path(*key)
    for i, v in enumerate(raw.get(*key, default=[])):
        out.append(Name(value=v, path=join(base, i)))
    return tuple(out)


def build_job(raw: Raw, diags: Diagnostics) -> Optional[Job]:
    image = raw.get("container", "image")
    if image is None:
        diags.error(
            "E0103",
            f"job {raw.name} has no container image",
            raw.file,
            "$.b00t",
            key=True,
            help='add [b00t.container] image = "registry/name:tag"',
        )
        return None
    apath = raw.path("container", "args")
    container = Container(
        image=value(raw, image, raw.path("container", "image"), diags),
        command=tuple(
            value(raw, a, raw.elem_path(("container", "command"), i), diags)
            for i, a in enumerate(raw.get("container", "command", default=[]))
        ),
        args=tuple(
            value(raw, a, join(apath, i), diags)
            for i, a in enumerate(raw.get("container", "args", default=[]))
        ),
        path=raw.path("container", "image"),
    )
    return Job(
        name=raw.name,
        file=raw.file,
        hint=raw.get("hint", default=""),
        container=container,
        env=env_vars(raw, diags),
        requires_stacks=names(raw, ("dependencies", "requires_stacks"), diags),
        wait_for_services=names(raw, ("dependencies", "wait_for_services"), diags),
        resources=resources(raw),
        orchestration=orchestration(raw),
    )


def build_stack(raw: Raw, diags: Diagnostics) -> Stack:
    services = []
    for name, (port, proto) in raw.get("services", default={}).items():
        services.append(
            ServiceDecl(name=name, port=port, protocol=proto, path=raw.origin[("services", name)])
        )
    return Stack(
        name=raw.name,
        file=raw.file,
        hint=raw.get("hint", default=""),
        member_names=names(raw, ("members",), diags),
        requires_stacks=names(raw, ("dependencies", "requires_stacks"), diags),
        services=tuple(services),
        env=env_vars(raw, diags),
        resources=resources(raw),
        orchestration=orchestration(raw),
    )


def build_member(raw: Raw, diags: Diagnostics) -> Optional[Member]:
    image = raw.get("image")
    if image is None:
        diags.error(
            "E0103",
            f"docker datum {raw.name} has no image",
            raw.file,
            "$.b00t",
            key=True,
            help='add image = "registry/name:tag" under [b00t]',
        )
        return None
    apath = raw.path("args")
    args = parse_docker_args(raw, raw.get("docker_args", default=[]), raw.path("docker_args"), diags)
    env = env_vars(raw, diags) + tuple(
        EnvVar(name=n, value=value(raw, v, p, diags), path=p) for n, v, p in args.env
    )
    res = resources(raw)
    if args.gpus and raw.get("resources", "gpu_count") is None:
        # --gpus N is the count; gpu_type/gpu_memory/gpu_shared (which alone imply one
        # GPU) still describe those GPUs. An explicit gpu_count wins over --gpus.
        gpu = res.gpu or Gpu(count=0, shared=bool(raw.get("resources", "gpu_shared", default=False)))
        res = msgspec.structs.replace(
            res,
            gpu=msgspec.structs.replace(gpu, count=args.gpus, path=args.gpus_path),
        )
    return Member(
        name=raw.name,
        datum=f"{raw.name}.docker",
        file=raw.file,
        hint=raw.get("hint", default=""),
        container=Container(
            image=value(raw, image, raw.path("image"), diags),
            command=tuple(
                value(raw, a, raw.elem_path(("command",), i), diags)
                for i, a in enumerate(raw.get("command", default=[]))
            ),
            args=tuple(
                value(raw, a, join(apath, i), diags)
                for i, a in enumerate(raw.get("args", default=[]))
            ),
            path=raw.path("image"),
        ),
        env=env,
        ports=args.ports,
        mounts=args.mounts,
        restart=args.restart,
        container_name=args.name,
        restart_path=args.restart_path,
        container_name_path=args.name_path,
        resources=res,
        orchestration=orchestration(raw),
    )
