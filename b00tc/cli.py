"""The command line (click only: the work is in compiler.py and output.py).

Exit codes: 0 success (warnings allowed), 1 errors in the input, 2 usage or internal error.
"""

from __future__ import annotations

import os
import sys

import click

FORMATS = click.Choice(["text", "json", "github"])


def _target_names() -> list[str]:
    from b00tc.backends import ALIASES, REGISTRY

    return sorted(REGISTRY) + sorted(ALIASES) + ["all"]


def _targets(values: tuple[str, ...]) -> list[str]:
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

                    guess = did_you_mean(name, _target_names())
                    raise click.BadParameter(
                        f"unknown target {name!r}"
                        + (f" (did you mean {guess!r}?)" if guess else "")
                        + f"; choose from {', '.join(_target_names())}",
                        param_hint="--target",
                    )
                chosen = [canon]
            for c in chosen:
                if c not in out:
                    out.append(c)
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="b00tc", prog_name="b00tc")
def cli() -> None:
    """b00tc compiles b00t datums (orchestrator-agnostic TOML) into what orchestrators run:
    Kubernetes YAML, docker-compose YAML, Nomad HCL, a bash script or systemd units."""


def _common(f):
    f = click.option(
        "-I",
        "--include",
        "includes",
        multiple=True,
        type=click.Path(file_okay=False),
        help="Another folder to search for stack members and required stacks.",
    )(f)
    f = click.option("--strict", is_flag=True, help="Treat warnings as errors.")(f)
    f = click.option(
        "--format", "fmt", type=FORMATS, default="text", show_default=True,
        help="How diagnostics are printed on stderr.",
    )(f)
    return f


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-t",
    "--target",
    "targets",
    multiple=True,
    required=True,
    help="k8s (kubernetes), compose (docker-compose), nomad, bash (direct), systemd, or all. Repeatable.",
)
@click.option("-o", "--output", "out", default="-", help="Output folder, or - for stdout (one file only).")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False), help="KEY=VALUE file for host variables resolved at build time.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="A host variable resolved at build time (wins over --env-file and the environment).")
@click.option("--helper-image", default="busybox:1.36", show_default=True, help="Image of the wait helpers b00tc adds (needs sh, nc, sleep).")
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 and name the files that are missing or differ from what would be written.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; show a unified diff of what would change (exit 1 when something would).")
@click.option("--depfile", type=click.Path(dir_okay=False), help="Write a make dependency file listing every datum each output was compiled from.")
@click.option("--fail-if-changed", is_flag=True, help="Write the outputs, then exit 1 if any file was new or changed (for pre-commit).")
@_common
def build(paths, targets, out, env_files, sets, helper_image, check_only, show_diff, depfile, fail_if_changed, includes, strict, fmt):
    """Compile datums (files, folders, or - for stdin) for one or more targets."""
    from b00tc import output
    from b00tc.compiler import BuildRequest, build as do_build, host_env, read_stdin
    from b00tc.frontend.loader import Diagnostics

    chosen = _targets(targets)
    diags = Diagnostics()
    env = host_env(list(env_files), list(sets), diags)
    req = BuildRequest(
        paths=list(paths),
        targets=chosen,
        includes=list(includes),
        host_env=env,
        strict=strict,
        stdin_text=read_stdin() if "-" in paths else None,
        helper_image=helper_image,
        env_files=list(env_files),
    )
    if (check_only or show_diff or depfile) and out == "-":
        raise click.UsageError("--check, --diff and --depfile need -o DIR")
    result = do_build(req, diags)
    code = output.report(result.diags, fmt)
    if code:
        sys.exit(code)
    multi = len(chosen) > 1
    if check_only or show_diff:
        changed = output.stale(out, result.outputs, multi)
        for path, old, new in changed:
            if show_diff:
                click.echo(output.unified_diff(path, old, new), nl=False)
            else:
                click.echo(f"{'missing' if old is None else 'stale'}: {path}", err=True)
        if changed:
            click.echo(f"b00tc: {len(changed)} of {len(result.outputs)} files would change", err=True)
        sys.exit(1 if changed else 0)
    if out == "-":
        if not result.outputs:
            return  # every datum was a stack with nothing to deploy (W0104 says so)
        if len(result.outputs) != 1:
            names = ", ".join(f.path for _, f in result.outputs[:5])
            raise click.UsageError(
                f"this build writes {len(result.outputs)} files ({names}{', ...' if len(result.outputs) > 5 else ''}); "
                "give -o DIR"
            )
        sys.stdout.write(result.outputs[0][1].content)
        sys.stdout.flush()
        return
    try:
        written = output.write_tree(out, result.outputs, multi=multi, touch=bool(depfile))
        if depfile:
            rules = [
                (output.dest_path(out, t, f, multi), result.deps[(t, f.path)])
                for t, f in result.outputs
            ]
            output.write_if_changed(depfile, output.depfile_text(rules))
    except OSError as e:
        click.echo(f"error: cannot write {e.filename or out}: {e.strerror or e}\n"
                   f"b00tc: nothing written to {out}", err=True)
        sys.exit(1)
    if fail_if_changed and written:
        for path in written:
            click.echo(f"rewritten: {path}", err=True)
        click.echo(f"b00tc: {len(written)} output files were stale and have been rewritten", err=True)
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-t", "--target", "targets", multiple=True, help="Also render these targets (in memory) and report their diagnostics.")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False))
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE")
@_common
def check(paths, targets, env_files, sets, includes, strict, fmt):
    """Validate datums (with their members and required stacks) without writing anything."""
    from b00tc import output
    from b00tc.compiler import BuildRequest, build as do_build, host_env, read_stdin
    from b00tc.frontend.loader import Diagnostics

    diags = Diagnostics()
    req = BuildRequest(
        paths=list(paths),
        targets=_targets(targets) if targets else [],
        includes=list(includes),
        host_env=host_env(list(env_files), list(sets), diags),
        strict=strict,
        stdin_text=read_stdin() if "-" in paths else None,
    )
    result = do_build(req, diags)
    sys.exit(output.report(result.diags, fmt))


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--write", is_flag=True, help="Rewrite the files in place (default: print a unified diff).")
def migrate(files, write):
    """Rewrite legacy-shape datums into the canonical shape, keeping comments and key order.

    Each rewrite is proved before it is shown or written: the old and the new text must
    compile to byte-identical output on every target."""
    from b00tc.migrate import MigrateError, migrate_text, verify
    from b00tc.output import unified_diff, write_if_changed

    failed = 0
    for path in files:
        old = open(path, encoding="utf-8").read()
        try:
            new, moved = migrate_text(old)
        except (MigrateError, Exception) as e:  # tomlkit's parse errors, legacy conflicts
            click.echo(f"error: {path}: cannot migrate: {e}", err=True)
            failed += 1
            continue
        if not moved:
            click.echo(f"{path}: already in the canonical shape", err=True)
            continue
        problems = verify(path, old, new)
        if problems:
            click.echo(f"error: {path}: the rewrite does not compile to the same output: " + "; ".join(problems), err=True)
            failed += 1
            continue
        if write:
            write_if_changed(path, new)
            click.echo(f"{path}: migrated ({'; '.join(moved)}); every target's output is unchanged", err=True)
        else:
            click.echo(unified_diff(path, old, new), nl=False)
    sys.exit(1 if failed else 0)


@cli.command()
def schema():
    """Print the JSON Schema of job, stack and docker datums (both shapes), for editors:
    put `#:schema path/to/datum.schema.json` on a datum's first line."""
    from b00tc.schema import render

    sys.stdout.write(render())


@cli.command()
def targets():
    """List the targets b00tc can compile to."""
    from b00tc.backends import ALIASES, DESCRIPTIONS, REGISTRY

    rev: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        rev.setdefault(name, []).append(alias)
    for name in REGISTRY:
        alias = f" (alias: {', '.join(rev[name])})" if name in rev else ""
        click.echo(f"{name:<8} {DESCRIPTIONS.get(name, '')}{alias}")


def main() -> None:
    try:
        cli.main(prog_name="b00tc")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # an internal error is exit 2, never a traceback unless asked
        if os.environ.get("B00TC_DEBUG"):
            raise
        click.echo(
            f"b00tc: internal error: {type(e).__name__}: {e}\n"
            "this is a bug in b00tc; run with B00TC_DEBUG=1 for the traceback",
            err=True,
        )
        sys.exit(2)
