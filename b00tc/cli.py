"""The command line (click only: what build, check, migrate and targets do is in
commands.py, the work in compiler.py and output.py; exit codes are b00tc/exitcodes.py's).
Over 500 lines: every command's click declaration, and the runtime commands' helpers.
"""

from __future__ import annotations

import os
import sys

import click

from b00tc import exitcodes

FORMATS = click.Choice(["text", "json", "github"])


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
def build(**params):
    """Compile datums (files, folders, or - for stdin) for one or more targets."""
    from b00tc.commands import run_build
    from b00tc.options import BuildOptions

    _run(run_build, BuildOptions(**params))


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-t", "--target", "targets", multiple=True, help="Also render these targets (in memory) and report their diagnostics.")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False))
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE")
@_common
def check(**params):
    """Validate datums (with their members and required stacks) without writing anything."""
    from b00tc.commands import run_check
    from b00tc.options import CheckOptions

    _run(run_check, CheckOptions(**params))


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
def schema():
    """Print the JSON Schema of job, stack and docker datums (both shapes), for editors:
    put `#:schema path/to/datum.schema.json` on a datum's first line."""
    from b00tc.schema import render

    sys.stdout.write(render())


@cli.command()
def targets():
    """List the targets b00tc can compile to."""
    from b00tc.commands import target_lines

    for line in target_lines():
        click.echo(line)


# ---------------------------------------------------------------------------------------
# The execution layer (b00tc/runtime): plan, deploy, orchestrators, the seed's aliases and
# the MCP server. Imported inside each command: `b00tc build` never loads it.

_ORCH_HELP = "kubernetes (k8s), docker-compose (compose), nomad or direct (bash)."


def _runtime_options(f):
    f = click.option("--mcp-profile", "mcp_profile", metavar="NAME",
                     help="Which MCP server the tool calls are for: kubernetes-mcp (default), kubernetes-mcp-server, "
                          "kubectl-mcp-server, mcp-server-kubernetes; docker-mcp-server for compose; none.")(f)
    f = click.option("--namespace", help="Kubernetes namespace for kubectl and the MCP calls (MCP default: default).")(f)
    f = click.option("--context", "kube_context", help="Kubernetes context for kubectl and the MCP calls.")(f)
    return f


def _config():
    from b00tc.runtime.config import ConfigError, load

    try:
        return load()
    except ConfigError as e:
        raise click.ClickException(str(e))


def _choose_orchestrator(explicit, cfg) -> str:
    from b00tc.runtime.detect import choose
    from b00tc.runtime.orchestrators import UnknownOrchestrator

    try:
        name, _why = choose(explicit, cfg.default_orchestrator if cfg is not None else None)
    except UnknownOrchestrator as e:
        raise click.BadParameter(str(e), param_hint="--orchestrator")
    return name


def _compile_plan(paths, orchestrator, includes, strict, fmt, *, base="", mcp_profile=None,
                  namespace=None, kube_context=None, compose_command=None, dry_run=False):
    """Compile for the orchestrator's target and make the plan; exit 1 on input errors."""
    from b00tc import output
    from b00tc.compiler import BuildRequest, build as do_build, host_env, read_stdin
    from b00tc.diagnostics import Diagnostics
    from b00tc.runtime.orchestrators import BY_NAME
    from b00tc.runtime.plan import make_plan
    from b00tc.runtime.profiles import UnknownProfile

    diags = Diagnostics()
    req = BuildRequest(
        paths=list(paths),
        targets=[BY_NAME[orchestrator].target],
        includes=list(includes),
        host_env=host_env([], [], diags),
        strict=strict,
        stdin_text=read_stdin() if "-" in paths else None,
    )
    result = do_build(req, diags)
    code = output.report(result.diags, "json" if fmt == "json" else "text")
    if code:
        sys.exit(code)
    try:
        return make_plan(result, orchestrator, base=base, profile=mcp_profile, namespace=namespace,
                         context=kube_context, compose_command=compose_command, dry_run=dry_run)
    except UnknownProfile as e:
        raise click.BadParameter(str(e), param_hint="--mcp-profile")


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--orchestrator", "orchestrator", help=_ORCH_HELP + " Default: the configured one, else detected.")
@click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False),
              help="Another folder to search for stack members and required stacks.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one object {orchestrator, manifests, commands, mcp_commands} on stdout.")
@_runtime_options
def plan(paths, orchestrator, includes, strict, fmt, mcp_profile, namespace, kube_context):
    """Show what deploying would do: the manifests, the shell commands and the MCP tool
    calls (server, tool, arguments). Runs nothing."""
    import json

    cfg = _config()
    name = _choose_orchestrator(orchestrator, cfg)
    server, why = _mcp_server(name, cfg, paths, includes)
    if mcp_profile is None and server is not None:
        mcp_profile = server.profile
    p = _compile_plan(paths, name, includes, strict, fmt, mcp_profile=mcp_profile,
                      namespace=namespace, kube_context=kube_context)
    p.mcp_server = (f"{' '.join(server.command)} ({server.source})" if server
                    else why or f"none configured, and no MCP datum {name}.mcp.toml on the search path")
    if fmt == "json":
        click.echo(json.dumps(p.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(p.text(), nl=False)


def _deploy(paths, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context):
    import tempfile

    paths = _datum_paths(paths, includes)

    from b00tc.runtime import deploy as rt
    from b00tc.runtime.detect import detect

    cfg = _config()
    name = _choose_orchestrator(orchestrator, cfg)
    # the MCP server matters to --via mcp only: a CLI deploy reads no MCP datum
    server, why = _mcp_server(name, cfg, paths, includes) if via == "mcp" else (None, "")
    if mcp_profile is None and server is not None:
        mcp_profile = server.profile
    configured = cfg.mcp.get(name)
    if namespace is None and configured is not None and via == "mcp":
        namespace = configured.namespace
    avail = None
    if via == "cli":
        avail = detect(name)
        if not avail.available and not dry_run:
            click.echo(f"error: {rt.unavailable(avail)}", err=True)
            sys.exit(rt.UNAVAILABLE)
    temp = None
    if workdir is not None:
        base = os.path.abspath(workdir)
    elif dry_run:
        base = "<temporary folder>"
    else:
        base = temp = tempfile.mkdtemp(prefix="b00tc-deploy-")
    compose = avail.command if (avail is not None and avail.available and name == "docker-compose") else None
    p = _compile_plan(paths, name, includes, strict, "text", base=base, mcp_profile=mcp_profile,
                      namespace=namespace, kube_context=kube_context, compose_command=compose, dry_run=dry_run)
    echo = lambda s: click.echo(s, err=True)  # noqa: E731
    try:
        if dry_run:
            if avail is not None and not avail.available:
                echo(f"note: {rt.unavailable(avail)}")
            p.mcp_server = why
            rt.describe(p, via, base, server, lambda s: click.echo(s))
            sys.exit(0)
        if via == "mcp":
            if why and p.profile is not None:  # an MCP datum none of whose entries can start
                raise rt.DeployError(why)
            rt.mcp_server_for(p, server)  # a clear error before anything is written
            _need_mcp_sdk()
        code = rt.execute(p, via=via, workdir=base, server=server, echo=echo)
    except rt.DeployError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.code)
    finally:
        if temp is not None and name != "docker-compose":
            import shutil

            shutil.rmtree(temp, ignore_errors=True)
    if temp is not None and name == "docker-compose":
        echo(f"b00tc: the compose files are in {temp} (docker compose -p NAME -f FILE down stops them)")
    sys.exit(code)


def _search_path(paths, includes):
    from b00tc.frontend.search import SearchPath

    first = next((p for p in paths if p != "-"), ".")
    root = first if os.path.isdir(first) else os.path.dirname(first)
    return SearchPath.for_root(root or ".", list(includes), os.environ.get("B00T_DATUM_PATH", ""))


def _mcp_server(orchestrator, cfg, paths, includes):
    """(the MCP server for the orchestrator: config, else an MCP datum on the search path,
    else b00t's kubernetes.mcp; or None, and why not)."""
    from b00tc.runtime.mcp_datums import McpDatumError, resolve

    try:
        server = resolve(orchestrator, cfg, _search_path(paths, includes))
    except McpDatumError as e:
        return None, str(e)
    return server, ""


def _deploy_options(f):
    f = click.option("--orchestrator", "orchestrator", help=_ORCH_HELP + " Default: the configured one, else detected.")(f)
    f = click.option("--dry-run", is_flag=True, help="Print what would be written and run; change nothing.")(f)
    f = click.option("--via", type=click.Choice(["cli", "mcp"]), default="cli", show_default=True,
                     help="Run the orchestrator's CLI, or call the MCP server configured for it.")(f)
    f = click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False),
                     help="Another folder on the datum search path.")(f)
    f = click.option("--strict", is_flag=True, help="Treat warnings as errors.")(f)
    f = click.option("-o", "--workdir", type=click.Path(file_okay=False),
                     help="Where the manifests are written (default: a temporary folder).")(f)
    return _runtime_options(f)


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH|NAME...")
@_deploy_options
def deploy(paths, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context):
    """Compile, then deploy: direct runs the job's script here (its exit code is b00tc's),
    compose runs docker compose up, kubernetes applies (kubectl or an MCP server), nomad
    runs nomad job run."""
    _deploy(paths, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context)


def _name_search(includes):
    """Where a datum NAME is looked for: ., -I DIR, B00T_DATUM_PATH."""
    from b00tc.frontend.search import SearchPath

    return SearchPath.for_root(".", list(includes), os.environ.get("B00T_DATUM_PATH", ""))


def _find_datum(name: str, kinds: tuple, includes, search=None) -> str:
    """The file of the datum NAME of one of ``kinds`` (job, stack) on the search path."""
    search = search or _name_search(includes)
    found = [f for f in (search.find(f"{name}.{kind}") for kind in kinds) if f]
    if len(found) == 1:
        return found[0]
    if found:
        raise click.ClickException(f"both {' and '.join(found)} are named {name!r}: give the file")
    guess = next((g for g in (search.closest(f"{name}.{kind}") for kind in kinds) if g), "")
    one = len(kinds) == 1
    raise click.ClickException(
        f"no {kinds[0] + ' ' if one else ''}datum {name!r} "
        f"({' or '.join(f'{name}.{kind}.toml' for kind in kinds)}) in {', '.join(search.dirs)}"
        + (f" (did you mean {guess.rpartition('.')[0]!r}?)" if guess else "")
        + f"; {'' if one else 'give its file, or '}add its folder with -I DIR or B00T_DATUM_PATH"
    )


def _to_manifest(name, kind, orchestrator, includes, out_dir):
    from b00tc.output import write_if_changed
    from b00tc.runtime.orchestrators import UnknownOrchestrator, resolve

    try:
        orch = resolve(orchestrator)
    except UnknownOrchestrator as e:
        raise click.BadParameter(str(e), param_hint="--orchestrator")
    path = _find_datum(name, (kind,), includes)
    p = _compile_plan([path], orch.name, includes, False, "text")
    for m in p.manifests:
        dest = os.path.join(out_dir, f"{m.datum}-{orch.short}.{orch.ext}")
        write_if_changed(dest, m.content)
        os.chmod(dest, m.mode)
        click.echo(dest)


# ---------------------------------------------------------------------------------------
# Day two: status, logs, down (b00tc/runtime/lifecycle.py)


def _datum_paths(targets, includes) -> list[str]:
    """Each PATH (a datum file or folder) as it is; each NAME: NAME.job.toml or
    NAME.stack.toml on the search path (listed once for all of them)."""
    paths, search = [], None
    for target in targets:
        if target == "-" or os.path.exists(target) or target.endswith(".toml"):
            paths.append(target)
        else:
            search = search or _name_search(includes)
            paths.append(_find_datum(target, ("job", "stack"), includes, search))
    return paths


def _day_two_options(f):
    f = click.option("--orchestrator", "orchestrator", help=_ORCH_HELP + " Default: the configured one, else detected.")(f)
    f = click.option("--via", type=click.Choice(["cli", "mcp"]), default="cli", show_default=True,
                     help="Ask the orchestrator's CLI, or the MCP server chosen for it (config, else an MCP datum).")(f)
    f = click.option("-I", "--include", "includes", multiple=True, type=click.Path(file_okay=False),
                     help="Another folder on the datum search path.")(f)
    f = click.option("--namespace", help="Kubernetes namespace (default: the context's).")(f)
    f = click.option("--context", "kube_context", help="Kubernetes context.")(f)
    return f


def _day_two(op, target, orchestrator, via, includes, namespace, kube_context, *, fmt="text",
             follow=False, dry_run=False, volumes=False):
    import shutil
    import tempfile

    from b00tc import output
    from b00tc.compiler import BuildRequest, build as do_build
    from b00tc.diagnostics import Diagnostics
    from b00tc.runtime import lifecycle as lc
    from b00tc.runtime.deploy import write_manifests
    from b00tc.runtime.detect import detect
    from b00tc.runtime.orchestrators import BY_NAME

    cfg = _config()
    name = _choose_orchestrator(orchestrator, cfg)
    paths = _datum_paths([target], includes)
    # compose and direct need the file again (docker compose -f, the stack's script); for
    # kubernetes and nomad the names are enough, and no host variable has to be set
    needs_file = name in ("docker-compose", "direct")
    target_name = BY_NAME[name].target
    diags = Diagnostics()
    result = do_build(BuildRequest(paths=paths, targets=[target_name] if needs_file else [],
                                   includes=list(includes)), diags)
    # what a datum's target cannot express was said at build time: only errors stop here
    errors = Diagnostics()
    errors.sources = result.diags.sources
    errors.extend(d for d in result.diags if d.is_error)
    code = output.report(errors, "json" if fmt == "json" and errors else "text")
    if code:
        sys.exit(code)
    deployed = lc.deployed_of(result, target_name if needs_file else "")
    echo = lambda s: click.echo(s, err=True)  # noqa: E731
    opts = lc.Options(namespace=namespace, context=kube_context, follow=follow, volumes=volumes)
    if via == "cli" and name != "direct":
        avail = detect(name)
        if not avail.available:
            from b00tc.runtime.deploy import UNAVAILABLE, unavailable

            if dry_run:
                echo(f"note: {unavailable(avail)}")
            else:
                click.echo(f"error: {unavailable(avail)}", err=True)
                sys.exit(UNAVAILABLE)
        elif name == "docker-compose":
            opts.compose = list(avail.command)
    temp = tempfile.mkdtemp(prefix="b00tc-day2-") if needs_file else None
    try:
        if temp is not None:
            opts.base = temp
            from b00tc.runtime.plan import AdapterOutput

            write_manifests(AdapterOutput(name, [d.manifest for d in deployed if d.manifest]), temp)
        if via == "mcp":
            return _day_two_mcp(op, name, cfg, paths, includes, deployed, opts, fmt, dry_run)
        codes = []
        statuses = []
        for d in deployed:
            if needs_file and d.manifest is None:
                echo(f"{d.datum}: nothing to deploy, so nothing to ask (W0104)")
                continue
            if op == "status":
                st = lc.status(d, name, opts)
                statuses.append(st)
                codes.append(st.code)
            elif op == "logs":
                codes.append(lc.logs(d, name, opts))
            else:
                codes.append(lc.down(d, name, opts, echo, dry_run=dry_run))
        if op == "status":
            _print_statuses(statuses, fmt)
        sys.exit(max(codes, default=0))
    except lc.LifecycleError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.code)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def _print_statuses(statuses, fmt) -> None:
    """Text, or JSON: one object for one datum, a list for several."""
    if fmt == "json":
        import json

        doc = [st.to_json() for st in statuses]
        click.echo(json.dumps(doc[0] if len(doc) == 1 else doc, indent=2, ensure_ascii=False))
    else:
        click.echo("".join(st.text() for st in statuses), nl=False)


def _day_two_mcp(op, name, cfg, paths, includes, deployed, opts, fmt, dry_run):
    """status, logs and down as tool calls of the MCP server chosen for the orchestrator."""
    import json

    from b00tc.runtime import lifecycle as lc
    from b00tc.runtime.mcp_client import McpCallError, call_tools
    from b00tc.runtime.profiles import PROFILES

    server, why = _mcp_server(name, cfg, paths, includes)
    if server is None:
        click.echo(f"error: {why or f'no MCP server for {name}: none configured, and no MCP datum {name}.mcp.toml on the search path'}"
                   "; or use --via cli", err=True)
        sys.exit(3)
    profile = PROFILES.get(server.profile or "")
    calls = [(d, c) for d in deployed for c in lc.mcp_calls(d, op, opts, profile)]
    if not calls:
        click.echo(f"error: b00tc knows no {op} tools of the MCP server `{' '.join(server.command)}` "
                   f"(profile {server.profile or 'unknown'}); use --via cli", err=True)
        sys.exit(2)
    if dry_run:
        click.echo(f"would start the MCP server: {' '.join(server.command)} ({server.source})")
        for _, c in calls:
            click.echo(f"would call {c.server} {c.tool} {json.dumps(c.arguments, ensure_ascii=False)}")
        sys.exit(0)
    _need_mcp_sdk()
    try:
        outcomes = call_tools(list(server.command), [(c.tool, c.arguments) for _, c in calls], env=server.env)
    except McpCallError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(3)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        o = failed[0]
        click.echo(f"error: {server.profile} {o.tool}: {o.text.strip()}", err=True)
        sys.exit(3)
    if op == "status" and server.profile == "mcp-server-kubernetes":
        docs = []
        for d in deployed:
            items = []
            for (dd, _), o in zip(calls, outcomes):
                if dd is d and o.text.strip():
                    try:
                        items += json.loads(o.text).get("items") or []
                    except ValueError:
                        pass
            docs.append(lc.k8s_status_from(d, items))
        _print_statuses(docs, fmt)
        sys.exit(max(st.code for st in docs))
    for (_, c), o in zip(calls, outcomes):
        if op != "logs":
            click.echo(f"{c.server} {c.tool}: ok", err=True)
        if o.text:
            click.echo(o.text.rstrip("\n"))
    sys.exit(0)


@cli.command()
@click.argument("target", metavar="PATH|NAME")
@_day_two_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(target, orchestrator, via, includes, namespace, kube_context, fmt):
    """What b00tc deployed for a datum and its state, asked of the orchestrator (by the
    labels b00tc puts on everything it generates). Exit 0 running, up, succeeded or
    pending; 1 failed or degraded; 3 orchestrator unavailable; 4 not deployed."""
    _day_two("status", target, orchestrator, via, includes, namespace, kube_context, fmt=fmt)


@cli.command()
@click.argument("target", metavar="PATH|NAME")
@_day_two_options
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output.")
def logs(target, orchestrator, via, includes, namespace, kube_context, follow):
    """The output of what b00tc deployed for a datum (every container of a stack)."""
    _day_two("logs", target, orchestrator, via, includes, namespace, kube_context, follow=follow)


@cli.command()
@click.argument("target", metavar="PATH|NAME")
@_day_two_options
@click.option("--dry-run", is_flag=True, help="Print what would be deleted or stopped; change nothing.")
@click.option("--volumes", is_flag=True, help="Also delete the datum's volumes (PersistentVolumeClaims, compose volumes).")
def down(target, orchestrator, via, includes, namespace, kube_context, dry_run, volumes):
    """Take down what b00tc deployed for a datum, and nothing else: kubectl delete by
    b00tc's labels, docker compose down, nomad job stop -purge, or stop the direct process.
    Volumes are kept unless --volumes."""
    _day_two("down", target, orchestrator, via, includes, namespace, kube_context, dry_run=dry_run, volumes=volumes)


@cli.group()
def job():
    """The seed's job commands: a job datum by name, found on the search path
    (., -I DIR, B00T_DATUM_PATH)."""


@job.command("deploy")
@click.argument("name")
@_deploy_options
def job_deploy(name, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context):
    """Deploy the job NAME (NAME.job.toml on the search path)."""
    path = _find_datum(name, ("job",), includes)
    _deploy([path], orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context)


@job.command("to-manifest")
@click.argument("name")
@click.option("--orchestrator", "orchestrator", required=True, help=_ORCH_HELP)
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
def stack_deploy(name, orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context):
    """Deploy the stack NAME (NAME.stack.toml on the search path)."""
    path = _find_datum(name, ("stack",), includes)
    _deploy([path], orchestrator, dry_run, via, includes, strict, workdir, mcp_profile, namespace, kube_context)


@stack.command("to-manifest")
@click.argument("name")
@click.option("--orchestrator", "orchestrator", required=True, help=_ORCH_HELP)
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
    from b00tc.runtime.orchestrators import UnknownOrchestrator, resolve

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
    from b00tc.runtime.orchestrators import UnknownOrchestrator, resolve

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
def mcp():
    """Serve b00tc over MCP on stdio: tools build, check, plan, list_targets, status, logs
    and down."""
    _need_mcp_sdk()
    from b00tc.runtime.mcp_server import serve

    serve()


def _need_mcp_sdk() -> None:
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        raise click.ClickException("the MCP SDK is not installed: pip install 'b00tc[mcp]' (PyPI mcp 2.x)")


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
