"""The driver: find the root datums, run the front end and the passes, render each target.

Nothing here is target-specific and nothing here writes files: ``build`` returns the
outputs in memory with every diagnostic, and the CLI decides what to write.
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple, Optional

import msgspec

from b00tc.backends import Backend, OutputFile, get_backend
from b00tc.diagnostics import Span
from b00tc.diagnostics import Diagnostics
from b00tc.frontend.link import STDIN
from b00tc.ir import Stack, Unit


class BuildRequest(msgspec.Struct):
    paths: list[str]
    targets: list[str] = msgspec.field(default_factory=list)  # canonical names
    includes: list[str] = msgspec.field(default_factory=list)
    host_env: dict[str, str] = msgspec.field(default_factory=dict)
    strict: bool = False
    stdin_text: Optional[str] = None  # the text of "-"
    helper_image: str = "busybox:1.36"
    #: a datum given as text (MCP, tests): (display name, text)
    texts: list[tuple[str, str]] = msgspec.field(default_factory=list)
    #: --env-file files (their values are in host_env; listed as dependencies)
    env_files: list[str] = msgspec.field(default_factory=list)
    #: the folders B00T_DATUM_PATH would add to the search path; None: read B00T_DATUM_PATH
    #: from the environment (the CLI), "" for none (``b00tc mcp``, confined to its folder)
    datum_path: Optional[str] = None
    #: a folder no datum file outside of is read (real paths: a symbolic link out of it is
    #: E0901, not followed); None: no such limit (the CLI). ``b00tc mcp`` sets its folder.
    confine: Optional[str] = None
    #: target -> its options (b00tc.target_options.for_build); a target not here has its
    #: options' defaults
    target_options: dict = msgspec.field(default_factory=dict)
    #: also build each stack a root requires (``Unit.required``), before the roots that
    #: require it: what deploy brings up first
    with_required: bool = False
    #: processes the build may use (``-j``): the datum files are read and parsed, the
    #: outputs rendered and the files written in that many; the result is the same
    jobs: int = 1


class BuildResult(msgspec.Struct):
    diags: Diagnostics
    units: list[Unit] = msgspec.field(default_factory=list)
    #: (target, file) in a deterministic order
    outputs: list[tuple[str, OutputFile]] = msgspec.field(default_factory=list)
    #: every datum file read (roots, members, required stacks, env files)
    read: list[str] = msgspec.field(default_factory=list)
    #: (target, output path) -> the files that output was compiled from, for --depfile
    deps: dict[tuple[str, str], list[str]] = msgspec.field(default_factory=dict)
    #: the run-time environment files the outputs read (systemd), unresolved:
    #: ``b00tc.backends._envfile.EnvFile``, resolved by ``b00tc env``
    env_files: list = msgspec.field(default_factory=list)
    #: the target options the build used (BuildRequest's): plan and day two read where
    #: the objects went (k8s.namespace)
    target_options: dict = msgspec.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.diags.errors == 0


def discover(paths: list[str], diags: Diagnostics) -> list[str]:
    roots: list[str] = []
    for p in paths:
        if p == "-":
            roots.append(STDIN)
        elif os.path.isdir(p):
            found = sorted(
                (f if p in (".", "./") else os.path.join(p, f))
                for f in os.listdir(p)
                if f.endswith((".job.toml", ".stack.toml"))
            )
            if not found:
                diags.error("E0002", f"no *.job.toml or *.stack.toml datum in folder {p}", p)
            roots.extend(found)
        elif os.path.exists(p):
            roots.append(p)
        else:
            diags.error("E0002", f"no such file or folder: {p}", help="give a datum file or a folder of datums")
    seen: set[str] = set()
    unique = []
    for r in roots:
        key = os.path.normpath(r)
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique


def compile_roots(req: BuildRequest, diags: Diagnostics) -> list[Unit]:
    """Front end (link), then the passes over the whole program; the roots put together
    for the backends, or none when there are errors."""
    from b00tc.frontend.link import link
    from b00tc.passes import PassContext, run

    roots: list[tuple[str, Optional[str]]] = [
        (r, req.stdin_text if r == STDIN else None) for r in discover(req.paths, diags)
    ]
    roots += [(name, text) for name, text in req.texts]
    targets = tuple(req.targets)
    env_path = os.environ.get("B00T_DATUM_PATH", "") if req.datum_path is None else req.datum_path
    ahead = prefetch(roots, req.jobs) if req.jobs > 1 and req.confine is None else None
    program = link(roots, diags, req.includes, env_path, targets, req.confine, ahead)
    program = run(program, PassContext(diags=diags, targets=targets))
    return program.units(req.with_required) if not diags.errors else []


def prefetch(roots: list[tuple[str, Optional[str]]], jobs: int) -> Optional[dict[tuple, tuple]]:
    """Read and parse, in ``jobs`` processes, the root files and the docker members in the
    roots' folders (where their stacks find them first): what ``Linker._read`` will ask
    for, keyed as it asks; a file it never asks for was read for nothing. The linker says
    each file's diagnostics where it would have read it, so the build is the same."""
    from b00tc.frontend.read import read_datum

    keys: list[tuple] = [(file, None, False) for file, text in roots if text is None and file != STDIN]
    for folder in sorted({os.path.dirname(k[0]) or "." for k in keys}):
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        keys += [(entry if folder in (".", "./") else os.path.join(folder, entry), "docker", True)
                 for entry in entries if entry.endswith(".docker.toml")]
    # (below the minimum, fewer than two halves of it: one process)
    jobs = min(jobs, len(keys) // (PARALLEL_MIN_FILES // 2) or 1)
    if jobs <= 1:
        return None
    from b00tc.parallel import fork_map

    def work(share: list[tuple]) -> list[tuple]:
        out = []
        for file, expect_kind, other_kinds in share:
            found = Diagnostics()
            raw = read_datum(file, None, found, expect_kind=expect_kind, other_kinds=other_kinds)
            out.append((raw, list(found), found.sources))
        return out

    shares = [keys[k::jobs] for k in range(jobs)]
    ahead: dict[tuple, tuple] = {}
    for share, results in zip(shares, fork_map(work, shares)):
        ahead.update(zip(share, results))
    return ahead


def unit_files(unit: Unit) -> list[str]:
    """Every datum file a unit was compiled from: the root, its members, the stacks it
    requires (transitively) and their members; sorted, each once."""
    files: set[str] = set()

    def stack(s: Stack) -> None:
        if s.file in files:
            return
        files.add(s.file)
        for m in s.members:
            files.add(m.file)
        for c in s.charts:
            files.add(c.file)
            if c.values_file:
                files.add(c.values_file)
        for r in s.requires:
            stack(r)

    d = unit.datum
    if isinstance(d, Stack):
        stack(d)
    else:
        files.add(d.file)
        for r in d.requires:
            stack(r)
    return sorted(f for f in files if f != STDIN)


def output_name(target: str, file: OutputFile, multi: bool) -> str:
    return f"{target}/{file.path}" if multi else file.path


def _clash_place(unit: Unit, other: Unit, path: str) -> tuple[str, str, str]:
    """Where E0114 points (file, $.path) and its help: the datum's name when two datums of
    one name meet; else the names that make up the clashing file name, which b00tc builds
    from more than the datum's name (systemd: ``b00t-<job>.service``,
    ``b00t-<stack>-<member>.service``, ``b00t-<workflow>-<step>.service``): the workflow's
    step whose unit it is, when one is."""
    if unit.datum.name == other.datum.name:
        return unit.datum.file, "$.b00t.name", "datum names must be unique within one build"
    from b00tc.backends._workflow_units import WorkflowUnits
    from b00tc.ir import Workflow

    where = unit.datum.file, "$.b00t.name"
    for u in (other, unit):
        if isinstance(u.datum, Workflow):
            units = WorkflowUnits(u, u.datum, None)  # type: ignore[arg-type] # its names only
            for step, name in zip(units.steps + units.rollback, units.names):
                if name == path and step.path:
                    where = u.datum.file, step.path + ".name"
    if not path.endswith((".service", ".target")):
        return where[0], where[1], "rename one of the two datums"
    help_ = ("two different names meet in one file name: on systemd a unit is b00t-<job>, "
             "b00t-<stack>-<member> or b00t-<workflow>-<step>, and a hyphen inside a name can make "
             "two of them equal; rename the step, the member or one of the datums (units of separate "
             "builds installed in one folder would overwrite each other the same way)")
    return where[0], where[1], help_


#: below these counts a build runs in one process whatever ``jobs`` says: forking and
#: carrying results back costs more than it saves (the output is the same either way)
PARALLEL_MIN_FILES = 64
PARALLEL_MIN_RENDERS = 128


class _Rendered(NamedTuple):
    """One unit rendered for one target, on its own (``lowered`` new to this render)."""

    files: list
    diagnostics: list
    env_files: list
    #: Context.once_log, and the nodes the render lowered (Context.lowered)
    once_log: list
    lowered: set


def _render(req: BuildRequest, backend: Backend, target: str, unit: Unit) -> _Rendered:
    from b00tc.backends._context import Context

    ctx = Context(target=target, env=req.host_env, helper_image=req.helper_image,
                  options=req.target_options.get(target) or {})
    files = backend.render(unit, ctx)
    return _Rendered(files, ctx.diagnostics, ctx.env_files, ctx.once_log, ctx.lowered)


def _render_all(req: BuildRequest, pairs: list[tuple[str, Unit]], sources: dict[str, str]) -> list[_Rendered]:
    """Each (target, unit) rendered, in the order given: in ``req.jobs`` processes when
    there are enough of them, each of which also locates its diagnostics in their source
    (what ``output.report`` would do after, file by file, in one process)."""
    backends = {target: get_backend(target) for target in req.targets}
    jobs = min(req.jobs, len(pairs) // (PARALLEL_MIN_RENDERS // 2) or 1)  # (as in prefetch)
    if jobs <= 1:
        return [_render(req, backends[t], t, u) for t, u in pairs]
    from b00tc.diagnostics import resolve_all
    from b00tc.parallel import fork_map

    def work(indices: list[int]) -> list[_Rendered]:
        out = [_render(req, backends[pairs[i][0]], *pairs[i]) for i in indices]
        resolve_all([d for r in out for d in r.diagnostics], sources)
        return out

    # by unit, every target of a unit in one share: a datum's findings are located in its
    # text, which each share scans once; and units interleaved, not in blocks, so that
    # each share has its part of every target and of every kind of datum
    order: dict[int, int] = {}
    for _, unit in pairs:
        order.setdefault(id(unit), len(order))
    chunks = [[i for i, (_, unit) in enumerate(pairs) if order[id(unit)] % jobs == k] for k in range(jobs)]
    results: list = [None] * len(pairs)
    for indices, rendered in zip(chunks, fork_map(work, chunks)):
        for i, r in zip(indices, rendered):
            results[i] = r
    return results


def build(req: BuildRequest, diags: Optional[Diagnostics] = None) -> BuildResult:
    diags = diags if diags is not None else Diagnostics()
    units = compile_roots(req, diags)
    result = BuildResult(diags=diags, units=units, target_options=req.target_options)
    if diags.errors:
        return result
    multi = len(req.targets) > 1
    produced: dict[str, str] = {}
    producer: dict[str, Unit] = {}
    charts = {target: get_backend(target).RENDERS_CHARTS for target in req.targets}
    pairs = [(target, unit) for target in req.targets for unit in units if not unit.empty_for(charts[target])]
    # every render starts with nothing lowered; merged here in the serial order, the
    # findings a ``reporting_once`` block kept are dropped when an earlier render lowered
    # its node (what one set shared by every render of the build did)
    lowered: set = set()
    read_by: dict[int, list[str]] = {}  # id(unit) -> unit_files(unit) and the env files
    for (target, unit), r in zip(pairs, _render_all(req, pairs, diags.sources)):
        drop = {i for node, start, end in r.once_log if node in lowered for i in range(start, end)}
        diags.extend(d for i, d in enumerate(r.diagnostics) if i not in drop)
        lowered |= r.lowered
        result.env_files.extend(r.env_files)
        for f in r.files:
            name = output_name(target, f, multi)
            if name in produced and produced[name] != unit.datum.file:
                file, path, help_ = _clash_place(unit, producer[name], f.path)
                diags.error("E0114", f"{unit.datum.file} and {produced[name]} both write {name}",
                            file, path, help=help_)
            produced[name] = unit.datum.file
            producer[name] = unit
            result.outputs.append((target, f))
            deps = read_by.get(id(unit))
            if deps is None:  # the same for every target and file of the unit: once
                deps = read_by[id(unit)] = unit_files(unit) + list(req.env_files)
            result.deps[(target, f.path)] = list(deps)
    if req.strict:
        for d in diags:
            if not d.is_error:
                from b00tc.diagnostics import Severity

                d.severity = Severity.ERROR
                d.notes.append("--strict makes this warning an error")
    result.read = sorted(diags.sources)
    return result


def read_env_file(path: str, diags: Diagnostics) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped; one pair of matching quotes
    around the value is removed. The file's bytes are otherwise taken literally."""
    out: dict[str, str] = {}
    from b00tc.frontend.files import Unreadable, read_regular

    try:
        text = read_regular(path).decode("utf-8")
    except (Unreadable, UnicodeDecodeError) as e:
        diags.error("E0002", f"cannot read env file {path}: {e}", path)
        return out
    diags.sources[path] = text
    import re

    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        body = stripped[7:].lstrip() if stripped.startswith("export ") else stripped
        key, eq, val = body.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            col = line.find(stripped) + 1
            diags.error(
                "E0003",
                "cannot read this env file line",
                path,
                span=Span(n, col, n, len(line) + 1),
                help="write NAME=VALUE",
            )
            continue
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
            val = val[1:-1]
        out[key.strip()] = val
    return out


def host_env(env_files: list[str], sets: list[str], diags: Diagnostics) -> dict[str, str]:
    env = dict(os.environ)
    for f in env_files:
        env.update(read_env_file(f, diags))
    for s in sets:
        key, eq, val = s.partition("=")
        if not eq or not key:
            diags.error("E0901", f"--set takes NAME=VALUE, got {s!r}")
            continue
        env[key] = val
    return env


def read_stdin() -> str:
    """Standard input as UTF-8 text, at most ``files.MAX_BYTES`` (endless input ends);
    otherwise the error on stderr and exit 1, nothing written."""
    from b00tc import exitcodes
    from b00tc.frontend.files import Unreadable, read_stream

    try:
        return read_stream(sys.stdin.buffer).decode("utf-8")
    except Unreadable as e:
        sys.stderr.write(f"error[E0002]: cannot read standard input: {e}\n")
    except UnicodeDecodeError:
        sys.stderr.write("error[E0001]: standard input is not UTF-8 text\n  = help: TOML files are UTF-8\n")
    sys.exit(exitcodes.FAILED)
