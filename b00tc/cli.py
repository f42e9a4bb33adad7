"""The command line (click only: what build, check, migrate and targets do is in
commands.py, the work in compiler.py and output.py; exit codes are b00tc/exitcodes.py's).

Over 500 lines: one click command per verb with its options, which click declares as
decorators beside the function; split, a command's options would be apart from it.
"""

from __future__ import annotations

import contextlib
import sys

import click

from b00tc import exitcodes

FORMATS = click.Choice(["text", "json", "github"])


def _complete_targets(ctx, param, incomplete: str):
    """Shell completion of --target: every target, its aliases, and all."""
    from b00tc.backends import ALIASES, REGISTRY

    return [n for n in [*REGISTRY, *ALIASES, "all"] if n.startswith(incomplete)]


def _complete_orchestrators(ctx, param, incomplete: str):
    """Shell completion of --orchestrator: every orchestrator and its aliases."""
    from b00tc.runtime.orchestrators import ALIASES, NAMES

    return [n for n in [*NAMES, *ALIASES] if n.startswith(incomplete)]


def _run(command, opts) -> None:
    """Run build or check (commands.run_build, run_check) on their options, its usage
    errors said as click says its own."""
    from b00tc.commands import BadTarget, UsageError

    try:
        command(opts)
    except BadTarget as e:
        raise click.BadParameter(str(e), param_hint="--target")
    except UsageError as e:
        raise click.UsageError(str(e))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="b00tc", prog_name="b00tc")
def cli() -> None:
    """b00tc compiles b00t datums (orchestrator-agnostic TOML) into what orchestrators run:
    Kubernetes YAML, docker-compose YAML, Nomad HCL, a bash script or systemd units."""


def _target_option(f):
    return click.option("-O", "--target-option", "target_options", multiple=True, metavar="TARGET.KEY=VALUE",
                        help="A cluster-specific value (k8s.namespace=ml): over the config file's "
                        "[targets.TARGET]; `b00tc targets --options` lists them. Repeatable.")(f)


def _common(f):
    f = click.option(
        "-I",
        "--include",
        "includes",
        multiple=True,
        type=click.Path(file_okay=False),
        help="Another folder to search for stack members and required stacks.",
    )(f)
    f = _target_option(f)
    f = click.option("--strict", is_flag=True, help="Treat warnings as errors.")(f)
    f = click.option(
        "--format", "fmt", type=FORMATS, default="text", show_default=True,
        help="How diagnostics are printed on stderr.",
    )(f)
    f = click.option(
        "-j", "--jobs", "jobs", metavar="N",
        help="Processes to use: the datums are read, rendered and written in N at once "
        "(default: the number of cores; 1: in this process). The output is the same.",
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
    shell_complete=_complete_targets,
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
def build(**params):
    """Compile datums (files, folders, or - for stdin) for one or more targets."""
    from b00tc.commands import run_build
    from b00tc.options import BuildOptions

    _run(run_build, BuildOptions(**params))


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-t", "--target", "targets", multiple=True, shell_complete=_complete_targets, help="Also render these targets (in memory) and report their diagnostics.")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False))
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE")
@_common
def check(**params):
    """Validate datums (with their members and required stacks) without writing anything."""
    from b00tc.commands import run_check
    from b00tc.options import CheckOptions

    _run(run_check, CheckOptions(**params))


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-t", "--target", "targets", multiple=True, required=True, shell_complete=_complete_targets, help="systemd (the one target whose units read environment files).")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False), help="KEY=VALUE file for host variables.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="A host variable (wins over --env-file and the environment).")
@click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False), help="Another folder to search for stack members and required stacks.")
@click.option("-o", "--output", "out", default="-", help="A folder to write each file to (its name, mode 0600), or - for stdout.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="How diagnostics are printed on stderr.")
def env(paths, targets, env_files, sets, includes, out, fmt):
    """Print the environment files (EnvironmentFile=) of the systemd units, every host
    variable resolved: each after a `# <path>` line, to be installed there with mode 0600."""
    from b00tc.commands import run_env

    _run(lambda _: run_env(paths, targets, includes, env_files, sets, fmt, out), None)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--write", is_flag=True, help="Rewrite the files in place (default: print a unified diff).")
def migrate(files, write):
    """Rewrite legacy-shape datums into the canonical shape, keeping comments and key order.

    Each rewrite is proved before it is shown or written: the old and the new text must
    compile to byte-identical output on every target."""
    from b00tc.commands import run_migrate

    code = run_migrate(files, write, show=lambda s: click.echo(s, nl=False), say=lambda s: click.echo(s, err=True))
    sys.exit(code)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True,
              help="The diagram's language: Mermaid, or Graphviz DOT (diagnostics go to stderr as text).")
@click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False),
              help="Another folder to search for stack members and required stacks.")
def graph(paths, fmt, includes):
    """Draw a workflow job's steps (depends_on, the sequential order, conditions, rollback),
    or a job's or stack's members, included and required stacks, as a Mermaid or DOT
    diagram on stdout. Writes nothing when the datums have errors (exit 1)."""
    from b00tc.graph import run_graph

    sys.exit(run_graph(paths, fmt, includes))


@cli.command()
def schema():
    """Print the JSON Schema of job, stack and docker datums (both shapes), for editors:
    put `#:schema path/to/datum.schema.json` on a datum's first line."""
    from b00tc.schema import render

    sys.stdout.write(render())


@cli.command()
@click.option("--options", "with_options", is_flag=True, help="Also list each target's options (-O TARGET.KEY=VALUE).")
def targets(with_options):
    """List the targets b00tc can compile to."""
    from b00tc.commands import target_lines

    for line in target_lines(with_options):
        click.echo(line)


# ---------------------------------------------------------------------------------------
# The execution layer (b00tc/runtime): plan, deploy, orchestrators, the seed's aliases and
# the MCP server. Imported inside each command: `b00tc build` never loads it. These
# commands read their arguments and print what the runtime gives back; the work is there.

_ORCH_HELP = "kubernetes (k8s), docker-compose (compose), nomad or direct (bash)."



def _value_options(f):
    """Where deploy-time values come from (plan shows each host variable <set>/<unset>)."""
    f = click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False),
                     help="KEY=VALUE file of host variables (deploy supplies them: a k8s Secret, a Nomad "
                          "Variable, compose's and the script's environment).")(f)
    f = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="A host variable (wins over --env-file and the environment).")(f)
    return _target_option(f)


def _runtime_options(f):
    f = click.option("--mcp-profile", "mcp_profile", metavar="NAME",
                     help="Which MCP server the tool calls are for: mcp-server-kubernetes (the default), kubernetes-mcp, "
                          "kubernetes-mcp-server, kubectl-mcp-server; for compose docker-mcp-server (the default); none.")(f)
    f = click.option("--namespace", help="Kubernetes namespace for kubectl and the MCP calls (MCP default: default).")(f)
    f = click.option("--context", "kube_context", help="Kubernetes context for kubectl and the MCP calls.")(f)
    return f


@contextlib.contextmanager
def _runtime_errors():
    """How a runtime command ends when the runtime cannot go on: ``error: ...`` and its
    exit code; the datums' errors (already printed) and their code; a bad --mcp-profile
    or a missing datum or SDK as click's errors."""
    from b00tc.runtime.model import InputErrors, RuntimeFailure, UnknownProfile, UserError

    try:
        yield
    except RuntimeFailure as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.code)
    except InputErrors as e:
        sys.exit(e.code)
    except UnknownProfile as e:
        raise click.BadParameter(str(e), param_hint="--mcp-profile")
    except UserError as e:
        raise click.ClickException(str(e))


def _out(s: str) -> None:
    click.echo(s)


def _err(s: str) -> None:
    click.echo(s, err=True)


def _config():
    from b00tc.runtime.config import ConfigError, load

    try:
        return load()
    except ConfigError as e:
        raise click.ClickException(str(e))


def _choose_orchestrator(explicit, cfg) -> str:
    from b00tc.runtime.detect import choose
    from b00tc.runtime.model import UnknownOrchestrator

    try:
        name, _why = choose(explicit, cfg.default_orchestrator if cfg is not None else None)
    except UnknownOrchestrator as e:
        if explicit or cfg is None:
            raise click.BadParameter(str(e), param_hint="--orchestrator")
        raise click.ClickException(f"{cfg.path}: default_orchestrator: {e}")  # the file's error, not a usage error
    return name


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--orchestrator", "orchestrator", shell_complete=_complete_orchestrators, help=_ORCH_HELP + " Default: the configured one, else detected.")
@click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False),
              help="Another folder to search for stack members and required stacks.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one object {orchestrator, manifests, commands, mcp_commands} on stdout.")
@_runtime_options
@_value_options
def plan(paths, orchestrator, includes, strict, fmt, mcp_profile, namespace, kube_context, env_files, sets,
         target_options):
    """Show what deploying would do: the manifests, the shell commands and the MCP tool
    calls (server, tool, arguments). Runs nothing."""
    import json

    from b00tc.runtime.plan import plan_for

    cfg = _config()
    name = _choose_orchestrator(orchestrator, cfg)
    with _runtime_errors():
        p = plan_for(paths, name, cfg, includes=includes, strict=strict, fmt=fmt, mcp_profile=mcp_profile,
                     namespace=namespace, context=kube_context, env_files=env_files, sets=sets,
                     target_options=target_options)
    if fmt == "json":
        click.echo(json.dumps(p.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(p.text(), nl=False)


def _deploy(paths, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context, env_files, sets,
            target_options=()):
    from b00tc.runtime.deploy import deploy as run_deploy

    paths = _datum_paths(paths, includes)
    cfg = _config()
    name = _choose_orchestrator(orchestrator, cfg)
    with _runtime_errors():
        code = run_deploy(paths, name, cfg, dry_run=dry_run, via=via, includes=includes, strict=strict,
                          workdir=workdir, mcp_profile=mcp_profile, namespace=namespace, context=kube_context,
                          env_files=env_files, sets=sets, target_options=target_options, out=_out, err=_err)
    sys.exit(code)


def _deploy_options(f):
    f = click.option("--orchestrator", "orchestrator", shell_complete=_complete_orchestrators, help=_ORCH_HELP + " Default: the configured one, else detected.")(f)
    f = click.option("--dry-run", is_flag=True, help="Print what would be written and run; change nothing.")(f)
    f = click.option("--via", type=click.Choice(["cli", "mcp"]), default="cli", show_default=True,
                     help="Run the orchestrator's CLI, or call the MCP server configured for it.")(f)
    f = click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False),
                     help="Another folder on the datum search path.")(f)
    f = click.option("--strict", is_flag=True, help="Treat warnings as errors.")(f)
    f = click.option("-o", "--workdir", type=click.Path(file_okay=False),
                     help="Where the manifests are written (default: a temporary folder).")(f)
    return _value_options(_runtime_options(f))


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH|NAME...")
@_deploy_options
def deploy(paths, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context, env_files, sets,
           target_options):
    """Compile, then deploy: direct runs the job's script here (its exit code is b00tc's),
    compose runs docker compose up, kubernetes applies (kubectl or an MCP server), nomad
    runs nomad job run."""
    _deploy(paths, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context, env_files, sets,
            target_options)


def _find_datum(name: str, kinds: tuple, includes) -> str:
    """The file of the datum NAME of one of ``kinds`` (job, stack) on the search path."""
    from b00tc.runtime.names import find_datum

    with _runtime_errors():
        return find_datum(name, kinds, includes)


def _to_manifest(name, kind, orchestrator, includes, out_dir):
    from b00tc.runtime.deploy import to_manifest
    from b00tc.runtime.model import UnknownOrchestrator
    from b00tc.runtime.orchestrators import resolve

    try:
        orch = resolve(orchestrator)
    except UnknownOrchestrator as e:
        raise click.BadParameter(str(e), param_hint="--orchestrator")
    path = _find_datum(name, (kind,), includes)
    with _runtime_errors():
        to_manifest(path, orch.name, includes, out_dir, echo=_out)


# ---------------------------------------------------------------------------------------
# Day two: status, logs, down (b00tc/runtime/lifecycle.py)


def _datum_paths(targets, includes) -> list[str]:
    """Each PATH (a datum file or folder) as it is; each NAME: NAME.job.toml or
    NAME.stack.toml on the search path."""
    from b00tc.runtime.names import datum_paths

    with _runtime_errors():
        return datum_paths(targets, includes)


def _day_two_options(f):
    f = click.option("--orchestrator", "orchestrator", shell_complete=_complete_orchestrators, help=_ORCH_HELP + " Default: the configured one, else detected.")(f)
    f = click.option("--via", type=click.Choice(["cli", "mcp"]), default="cli", show_default=True,
                     help="Ask the orchestrator's CLI, or the MCP server chosen for it (config, else an MCP datum).")(f)
    f = click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False),
                     help="Another folder on the datum search path.")(f)
    f = click.option("--namespace", help="Kubernetes namespace (default: the context's).")(f)
    f = click.option("--context", "kube_context", help="Kubernetes context.")(f)
    return _target_option(f)


def _day_two(op, target, orchestrator, via, includes, namespace, kube_context, target_options, *, fmt="text",
             follow=False, dry_run=False, volumes=False):
    from b00tc.runtime.lifecycle import day_two

    cfg = _config()
    name = _choose_orchestrator(orchestrator, cfg)
    paths = _datum_paths([target], includes)
    with _runtime_errors():
        outcome = day_two(op, paths, name, cfg, via=via, includes=includes, namespace=namespace,
                          context=kube_context, fmt=fmt, follow=follow, dry_run=dry_run, volumes=volumes,
                          target_options=target_options, out=_out, err=_err)
    if outcome.statuses is not None:
        _print_statuses(outcome.statuses, fmt)
    sys.exit(outcome.code)


def _print_statuses(statuses, fmt) -> None:
    """Text, or JSON: one object for one datum, a list for several."""
    if fmt == "json":
        import json

        doc = [st.to_json() for st in statuses]
        click.echo(json.dumps(doc[0] if len(doc) == 1 else doc, indent=2, ensure_ascii=False))
    else:
        click.echo("".join(st.text() for st in statuses), nl=False)


@cli.command()
@click.argument("target", metavar="PATH|NAME")
@_day_two_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(target, orchestrator, via, includes, namespace, kube_context, target_options, fmt):
    """What b00tc deployed for a datum and its state, asked of the orchestrator (by the
    labels b00tc puts on everything it generates). Exit 0 running, up, succeeded or
    pending; 1 failed or degraded; 3 orchestrator unavailable; 4 not deployed."""
    _day_two("status", target, orchestrator, via, includes, namespace, kube_context, target_options, fmt=fmt)


@cli.command()
@click.argument("target", metavar="PATH|NAME")
@_day_two_options
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output.")
def logs(target, orchestrator, via, includes, namespace, kube_context, target_options, follow):
    """The output of what b00tc deployed for a datum (every container of a stack)."""
    _day_two("logs", target, orchestrator, via, includes, namespace, kube_context, target_options, follow=follow)


@cli.command()
@click.argument("target", metavar="PATH|NAME")
@_day_two_options
@click.option("--dry-run", is_flag=True, help="Print what would be deleted or stopped; change nothing.")
@click.option("--volumes", is_flag=True, help="Also delete the datum's volumes (PersistentVolumeClaims, compose volumes).")
def down(target, orchestrator, via, includes, namespace, kube_context, target_options, dry_run, volumes):
    """Take down what b00tc deployed for a datum, and nothing else: kubectl delete by
    b00tc's labels, docker compose down, nomad job stop -purge, or stop the direct process.
    Volumes are kept unless --volumes."""
    _day_two("down", target, orchestrator, via, includes, namespace, kube_context, target_options, dry_run=dry_run, volumes=volumes)


@cli.group()
def job():
    """The seed's job commands: a job datum by name, found on the search path
    (., -I DIR, B00T_DATUM_PATH)."""


@job.command("deploy")
@click.argument("name")
@_deploy_options
def job_deploy(name, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context, env_files, sets,
               target_options):
    """Deploy the job NAME (NAME.job.toml on the search path)."""
    path = _find_datum(name, ("job",), includes)
    _deploy([path], orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context, env_files, sets,
            target_options)


@job.command("to-manifest")
@click.argument("name")
@click.option("--orchestrator", "orchestrator", required=True, shell_complete=_complete_orchestrators, help=_ORCH_HELP)
@click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False))
@click.option("-o", "--output", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False))
def job_to_manifest(name, orchestrator, includes, out_dir):
    """Write NAME-k8s.yaml, NAME-compose.yaml, NAME-nomad.hcl or NAME-direct.sh."""
    _to_manifest(name, "job", orchestrator, includes, out_dir)


@cli.group()
def stack():
    """The seed's stack commands: a stack datum by name, found on the search path."""


@stack.command("deploy")
@click.argument("name")
@_deploy_options
def stack_deploy(name, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context, env_files, sets,
                 target_options):
    """Deploy the stack NAME (NAME.stack.toml on the search path)."""
    path = _find_datum(name, ("stack",), includes)
    _deploy([path], orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context, env_files, sets,
            target_options)


@stack.command("to-manifest")
@click.argument("name")
@click.option("--orchestrator", "orchestrator", required=True, shell_complete=_complete_orchestrators, help=_ORCH_HELP)
@click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False))
@click.option("-o", "--output", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False))
def stack_to_manifest(name, orchestrator, includes, out_dir):
    """Write NAME-k8s.yaml, NAME-compose.yaml, NAME-nomad.hcl or NAME-direct.sh."""
    _to_manifest(name, "stack", orchestrator, includes, out_dir)


@cli.group()
def orchestrator():
    """Which orchestrators this host can deploy to, and the default."""


@orchestrator.command("list")
def orchestrator_list():
    """One line per orchestrator, in detection order: ✅ or ❌ and why."""
    from b00tc.runtime.detect import detect_all
    from b00tc.runtime.model import UnknownOrchestrator
    from b00tc.runtime.orchestrators import resolve

    cfg = _config()
    default = None
    if cfg.default_orchestrator:
        try:
            default = resolve(cfg.default_orchestrator).name
        except UnknownOrchestrator:
            click.echo(f"warning: {cfg.path}: default_orchestrator {cfg.default_orchestrator!r} is unknown", err=True)
    for a in detect_all():
        click.echo(a.line(default))


@orchestrator.command("set-default")
@click.argument("name")
def orchestrator_set_default(name):
    """Make NAME the orchestrator deploy uses without --orchestrator (saved in the user
    config file: $B00TC_CONFIG, else $XDG_CONFIG_HOME/b00tc/config.toml)."""
    from b00tc.runtime.config import ConfigError, set_default_orchestrator
    from b00tc.runtime.model import UnknownOrchestrator
    from b00tc.runtime.orchestrators import resolve

    try:
        canon = resolve(name).name
    except UnknownOrchestrator as e:
        raise click.BadParameter(str(e), param_hint="NAME")
    try:
        path = set_default_orchestrator(canon)
    except (ConfigError, OSError) as e:
        raise click.ClickException(str(e))
    click.echo(f"default orchestrator: {canon} (saved in {path})")


@cli.command()
@click.option("--allow-destructive", is_flag=True,
              help="Also serve the tools that change what runs (down), annotated destructiveHint; "
                   "off by default: not listed, and a call is refused.")
def mcp(allow_destructive):
    """Serve b00tc over MCP on stdio: tools build, check, plan, list_targets, status, logs
    (and down with --allow-destructive).

    Only the folder it is started in is served: a path or include outside it (after .. and
    symbolic links) is refused (E0901) and not read, and B00T_DATUM_PATH is ignored."""
    from b00tc.runtime.mcp_client import need_sdk

    with _runtime_errors():
        need_sdk()
    from b00tc.runtime.mcp_server import serve

    serve(allow_destructive=allow_destructive)


def main() -> None:
    try:
        cli.main(prog_name="b00tc")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(exitcodes.INTERRUPTED)
    except Exception as e:
        from b00tc.commands import internal_error

        internal_error(e)
