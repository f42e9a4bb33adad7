"""What ``b00tc build``, ``check``, ``migrate`` and ``targets`` do, without click: the
click commands of cli.py read the command line and print what these give them, and the
fast path of fastcli.py runs build and check too. Both readers turn a build or check
command line into the options structure of b00tc/options.py, which ``run_build`` and
``run_check`` take. Errors of usage are exceptions, raised before anything is printed,
written or read from stdin (cli.py turns them into click's usage errors; the fast path
hands the command line to click, which runs it again and says them its own way)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from b00tc import exitcodes

if TYPE_CHECKING:
    from typing import Callable

    from b00tc.options import BuildOptions, CheckOptions


class UsageError(Exception):
    pass


class BadTarget(UsageError):
    pass


def target_names() -> list[str]:
    from b00tc.backends import ALIASES, REGISTRY

    return sorted(REGISTRY) + sorted(ALIASES) + ["all"]


def targets(values) -> list[str]:
    """``-t k8s -t compose,nomad`` / ``all`` -> canonical target names, in order, once each."""
    from b00tc.backends import REGISTRY, canonical_target

    out: list[str] = []
    for v in values:
        for name in v.split(","):
            name = name.strip()
            if name == "all":
                chosen = list(REGISTRY)
            else:
                canon = canonical_target(name)
                if canon is None:
                    from b00tc.diagnostics import did_you_mean

                    guess = did_you_mean(name, target_names())
                    raise BadTarget(
                        f"unknown target {name!r}"
                        + (f" (did you mean {guess!r}?)" if guess else "")
                        + f"; choose from {', '.join(target_names())}"
                    )
                chosen = [canon]
            for c in chosen:
                if c not in out:
                    out.append(c)
    return out


def internal_error(e: Exception) -> None:
    """A bug in b00tc is exit 2 (exitcodes.USAGE) with one line about it, never a
    traceback unless B00TC_DEBUG is set (then it is raised again)."""
    import os

    if os.environ.get("B00TC_DEBUG"):
        raise e
    if isinstance(e, BrokenPipeError):  # the reader went away (`b00tc ... | head`): not a bug
        closed_stdout()
    _err(f"b00tc: internal error: {type(e).__name__}: {e}\n"
         "this is a bug in b00tc; run with B00TC_DEBUG=1 for the traceback")
    sys.exit(exitcodes.USAGE)


def closed_stdout() -> None:
    """Leave quietly when standard output's reader has gone (``b00tc build --diff | head
    -1``), as ``cat`` and ``git`` do: nothing more is written, exit 120 (what CPython's own
    exit gives when its final flush fails), no message: it is not an error of the input."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush goes nowhere
    except (OSError, ValueError):
        pass
    os._exit(120)


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def jobs(value: str | None) -> int:
    """``-j N``: a positive number of processes; none given, the cores this process may run
    on."""
    if value is None:  # (not b00tc.parallel's to say: a one-file build never imports it)
        import os

        try:
            return max(1, len(os.sched_getaffinity(0)))  # a container's CPU set, not the host's
        except (AttributeError, OSError):
            return max(1, os.cpu_count() or 1)
    text = value.strip()
    if not text.isdigit() or not 0 < int(text) <= 1024:
        raise UsageError(f"-j takes a number of processes from 1 to 1024, not {value!r}")
    return int(text)


def run_build(opts: BuildOptions) -> None:
    """``b00tc build``: exits through sys.exit with b00tc's exit code."""
    from b00tc import output
    from b00tc.compiler import BuildRequest, build as do_build, host_env, read_stdin
    from b00tc.diagnostics import Diagnostics

    chosen = targets(opts.targets)
    processes = jobs(opts.jobs)
    out = opts.out
    compare = opts.check_only or opts.show_diff
    if (compare or opts.depfile) and out == "-":
        raise UsageError("--check, --diff and --depfile need -o DIR")
    diags = Diagnostics()
    env = host_env(list(opts.env_files), list(opts.sets), diags)
    from b00tc.target_options import for_build

    req = BuildRequest(
        target_options=for_build(opts.target_options, diags),
        paths=list(opts.paths),
        targets=chosen,
        includes=list(opts.includes),
        host_env=env,
        strict=opts.strict,
        stdin_text=read_stdin() if "-" in opts.paths else None,
        helper_image=opts.helper_image,
        env_files=list(opts.env_files),
        jobs=processes,
    )
    result = do_build(req, diags)
    if out == "-" and not compare and result.ok and len(result.outputs) > 1:
        # (before anything is printed: the fast path hands usage errors to click, which
        # runs the command line again)
        names = ", ".join(f.path for _, f in result.outputs[:5])
        raise UsageError(
            f"this build writes {len(result.outputs)} files ({names}{', ...' if len(result.outputs) > 5 else ''}); "
            "give -o DIR"
        )
    code = output.report(result.diags, opts.fmt)
    if code:
        sys.exit(code)
    multi = len(chosen) > 1
    if compare:
        try:
            changed = output.stale(out, result.outputs, multi)
        except OSError as e:  # a symbolic link to a folder below DIR, a folder at an output path
            _err(f"error: cannot compare with {e.filename or out}: {e.strerror or e}")
            sys.exit(exitcodes.FAILED)
        for path, old, new, why in changed:
            link = " (a symbolic link, which a build replaces with a file; not read)" if why == "symlink" else ""
            if opts.show_diff:
                if link:
                    _err(f"stale: {path}{link}")
                sys.stdout.write(output.unified_diff(path, old, new))
                sys.stdout.flush()
            else:
                _err(f"{'stale' if why == 'symlink' else why}: {path}{link}")
        if changed:
            _err(f"b00tc: {len(changed)} of {len(result.outputs)} files would change")
        sys.exit(exitcodes.FAILED if changed else exitcodes.OK)
    if out == "-":
        if not result.outputs:
            return  # every datum was a stack with nothing to deploy (W0104 says so)
        sys.stdout.write(result.outputs[0][1].content)
        sys.stdout.flush()
        return
    try:
        written = output.write_tree(out, result.outputs, multi=multi, touch=bool(opts.depfile), jobs=processes)
        if opts.depfile:
            rules = [
                (output.dest_path(out, t, f, multi), result.deps[(t, f.path)])
                for t, f in result.outputs
            ]
            output.write_if_changed(opts.depfile, output.depfile_text(rules), mode=0o644)
    except OSError as e:
        _err(f"error: cannot write {e.filename or out}: {e.strerror or e}\nb00tc: nothing written to {out}")
        sys.exit(exitcodes.FAILED)
    if opts.fail_if_changed and written:
        for path in written:
            _err(f"rewritten: {path}")
        _err(f"b00tc: {len(written)} output files were stale and have been rewritten")
        sys.exit(exitcodes.FAILED)


def run_check(opts: CheckOptions) -> None:
    """``b00tc check``: exits through sys.exit with b00tc's exit code."""
    from b00tc import output
    from b00tc.compiler import BuildRequest, build as do_build, host_env, read_stdin
    from b00tc.diagnostics import Diagnostics

    chosen = targets(opts.targets) if opts.targets else []
    processes = jobs(opts.jobs)
    diags = Diagnostics()
    from b00tc.target_options import for_build

    req = BuildRequest(
        target_options=for_build(opts.target_options, diags),
        paths=list(opts.paths),
        targets=chosen,
        includes=list(opts.includes),
        host_env=host_env(list(opts.env_files), list(opts.sets), diags),
        strict=opts.strict,
        stdin_text=read_stdin() if "-" in opts.paths else None,
        jobs=processes,
    )
    result = do_build(req, diags)
    # check writes nothing else: a machine format (json, github) is its result, on stdout
    sys.exit(output.report(result.diags, opts.fmt, sys.stdout if opts.fmt != "text" else None))


def run_migrate(files, write: bool, show: Callable[[str], None], say: Callable[[str], None]) -> int:
    """``b00tc migrate``: each file's rewrite as a unified diff (to ``show``), or written
    in place with ``write`` (b00tc/inplace.py: a link's target, mode, owner and line endings
    kept); what became of each file, and its errors, to ``say``. A file that cannot be read
    or migrated is reported and the next one is done. Returns the exit code."""
    from b00tc.diagnostics import Diagnostics, Span, render_text
    from b00tc.inplace import read_text, write_in_place
    from b00tc.migrate import MigrateError, lost_comments, migrate_text, verify
    from b00tc.output import unified_diff

    failed = 0
    for path in files:
        diags = Diagnostics()
        old = read_text(path, diags)
        if old is None:
            say(render_text(diags[0], diags.sources))
            failed += 1
            continue
        try:
            new, moved = migrate_text(old)
        except (MigrateError, Exception) as e:  # tomlkit's parse errors, legacy conflicts
            line, col = getattr(e, "line", 0), getattr(e, "col", 0)
            if line:  # a TOML syntax error: point at it
                diags.error("E0001", f"cannot migrate: {e}", path, span=Span(line, max(col, 1), line, max(col, 1) + 1))
                say(render_text(diags[0], diags.sources))
            else:
                say(f"error: {path}: cannot migrate: {e}")
            failed += 1
            continue
        if not moved:
            say(f"{path}: already in the canonical shape")
            continue
        problems = verify(path, old, new)
        if problems:
            say(f"error: {path}: the rewrite does not compile to the same output: " + "; ".join(problems))
            failed += 1
            continue
        for line, comment in lost_comments(old, new):
            say(f"warning: {path}:{line}: the comment {comment!r} is not kept by the rewrite")
        if write:
            try:
                write_in_place(path, new.encode("utf-8"))
            except OSError as e:
                say(f"error: {path}: cannot write: {e.strerror or e}")
                failed += 1
                continue
            say(f"{path}: migrated ({'; '.join(moved)}); every target's output is unchanged")
        else:
            show(unified_diff(path, old, new))
    return exitcodes.FAILED if failed else exitcodes.OK


def target_lines(with_options: bool = False) -> list[str]:
    """``b00tc targets``: one line per target, with its description and aliases; with
    ``with_options``, each target's options below it (key, default, what it sets)."""
    from b00tc.backends import ALIASES, DESCRIPTIONS, REGISTRY

    rev: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        rev.setdefault(name, []).append(alias)
    lines = []
    for name in REGISTRY:
        alias = f" (alias: {', '.join(rev[name])})" if name in rev else ""
        lines.append(f"{name:<8} {DESCRIPTIONS.get(name, '')}{alias}")
        if with_options:
            from b00tc.target_options import OPTIONS

            for o in OPTIONS:
                if o.target == name:
                    default = f" (default {o.default})" if o.default is not None else ""
                    lines.append(f"  -O {name}.{o.key}=...{default}: {o.help}")
    return lines


def run_env(paths, target_values, includes, env_files, sets, fmt: str = "text", out: str = "-") -> None:
    """``b00tc env``: the environment files the units of ``--target systemd`` read, with
    every host variable resolved (b00tc/envfiles.py), on stdout, or with ``out`` a folder,
    each written there under its file name with mode 0600; nothing is printed or written
    when a value is missing or cannot be carried (exit 1). Exits through sys.exit."""
    from b00tc import output
    from b00tc.compiler import BuildRequest, build as do_build, host_env, read_stdin
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_files

    chosen = targets(target_values)
    if chosen != ["systemd"]:
        raise UsageError("b00tc env writes the environment files of --target systemd only")
    diags = Diagnostics()
    env = host_env(list(env_files), list(sets), diags)
    req = BuildRequest(
        paths=list(paths),
        targets=chosen,
        includes=list(includes),
        stdin_text=read_stdin() if "-" in paths else None,
    )
    result = do_build(req, diags)
    files = resolve_files(result.env_files, env, diags) if result.ok else None
    code = output.report(diags, fmt)
    if code or files is None:
        sys.exit(code or exitcodes.FAILED)
    if not files:
        _err("b00tc: no environment file: these units use no host variable")
        return
    if out == "-":
        sys.stdout.write("\n".join(files.values()))
        sys.stdout.flush()
        return
    import os

    try:
        for path, text in files.items():
            output.write_if_changed(os.path.join(out, os.path.basename(path)), text, mode=0o600)
    except OSError as e:
        _err(f"error: cannot write {e.filename or out}: {e.strerror or e}")
        sys.exit(exitcodes.FAILED)
