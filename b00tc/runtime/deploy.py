"""Deploy: compile, write the manifests (to -o WORKDIR, else a temporary folder), then run
the plan's shell commands or its MCP tool calls.

The stacks the datums require (transitively, each once) are deployed first, in dependency
order: ``plan.build_for(with_required=True)``. Each orchestrator's deploy command is
idempotent (``docker compose up -d`` leaves an unchanged service running, ``kubectl
apply`` an unchanged object, ``nomad job run`` does not re-evaluate an unchanged job into
new allocations, a stack script's ``up`` leaves a running unchanged container alone), so a
required stack is brought up when it is not running and left alone when it is. Day two of
a job does not touch them: stacks are shared.

The exit code is the deployed job's where the orchestrator gives it back (direct, compose),
else the last command's (0 when everything was accepted).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Callable, Optional

from b00tc.exitcodes import FAILED, OK, USAGE
from b00tc.runtime import orchestrators
from b00tc.runtime.model import AdapterOutput, DeployError, Manifest
from b00tc.runtime.plan import build_for, compile_plan, deploy_env, make_plan, resolve_values, stores_of

Echo = Callable[[str], None]


def _stderr(s: str) -> None:
    print(s, file=sys.stderr)


def write_manifests(manifests: list[Manifest], workdir: str) -> list[str]:
    from b00tc.output import write_if_changed

    written = []
    for m in manifests:
        dest = os.path.join(workdir, m.path)
        write_if_changed(dest, m.content, mode=m.mode)
        written.append(dest)
    return written


def mcp_server_for(plan: AdapterOutput, server) -> tuple[list[str], dict[str, str]]:
    """The command and environment of ``server`` (mcp_datums.Server: from the config or
    an MCP datum) for the plan; DeployError when there is none or its tools are unknown."""
    if plan.profile is None:
        raise DeployError(
            f"no MCP server fits {plan.orchestrator}: deploy it with --via cli", USAGE
        )
    if server is None:
        example = " ".join(f'"{c}"' for c in plan.profile.command)
        raise DeployError(
            f"no MCP server is configured for {plan.orchestrator}: add an MCP datum "
            f"{plan.orchestrator}.mcp.toml on the search path, or to the config file\n"
            f"  [mcp.{plan.orchestrator}]\n  profile = \"{plan.profile.name}\"\n"
            f"  command = [{example.replace(' ', ', ')}]\n"
            "or deploy with --via cli"
        )
    return list(server.command), dict(server.env)


def describe(plan: AdapterOutput, via: str, workdir: str, server, echo: Echo) -> None:
    """What deploy would do, changing nothing (--dry-run)."""
    echo(f"would deploy to {plan.orchestrator} via {via}")
    for name, is_set in plan.host_variables.items():
        echo(f"host variable {name}: {'<set>' if is_set else '<unset>'}")
    for m in plan.manifests:
        echo(f"would write {os.path.join(workdir, m.path)}")
    for r in plan.requires:
        echo(f"would check first: {r}" if via == "cli" else f"requires: {r}")
    if via == "mcp":
        if server is not None:
            echo(f"would start the MCP server: {' '.join(server.command)} ({server.source})")
        else:
            example = " ".join(plan.profile.command) if plan.profile else "none"
            echo(f"would start the MCP server: (none: {plan.mcp_server or f'not configured, e.g. {example}'})")
        for c in plan.mcp_commands:
            shown = {k: (f"<{len(v.splitlines())} lines>" if isinstance(v, str) and "\n" in v else v) for k, v in c.shown().items()}
            echo(f"would call {c.server} {c.tool} {json.dumps(shown)}")
    else:
        for c in plan.commands:
            echo(f"would run: {c.text()}")


def run_mcp(plan: AdapterOutput, server, echo: Echo) -> int:
    from b00tc.runtime.mcp_client import McpCallError, call_tools

    command, env = mcp_server_for(plan, server)

    def show(outcome):
        status = "ok" if outcome.ok else "error"
        echo(f"{plan.profile.server} {outcome.tool}: {status}" + (f"\n{outcome.text}" if outcome.text else ""))

    try:
        outcomes = call_tools(command, [(c.tool, c.arguments) for c in plan.mcp_commands], env=env, on_result=show)
    except McpCallError as e:
        raise DeployError(str(e)) from None
    return OK if all(o.ok for o in outcomes) else FAILED


def execute(plan: AdapterOutput, *, via: str, workdir: str, server=None, echo: Echo = _stderr,
            env: Optional[dict] = None) -> int:
    """Write the manifests, then run the plan (``env``: the commands' environment, with
    --env-file and --set: compose's interpolation and the script read it)."""
    write_manifests(plan.manifests, workdir)
    if via == "mcp":
        return run_mcp(plan, server, echo)
    return orchestrators.get(plan.orchestrator).deploy(plan, echo, env)


def deploy(paths, orchestrator: str, config, *, dry_run: bool = False, via: str = "cli", includes=(),
           strict: bool = False, workdir: Optional[str] = None, mcp_profile: Optional[str] = None,
           namespace: Optional[str] = None, context: Optional[str] = None, env_files=(), sets=(),
           target_options=(), out: Echo = print, err: Echo = _stderr) -> int:
    """``b00tc deploy``: its exit code. What it would do on ``out`` with ``dry_run``; its
    progress on ``err``. A DeployError when it cannot go on."""
    import shutil
    import tempfile

    from b00tc.runtime.mcp_client import need_sdk
    from b00tc.runtime.mcp_datums import server_for

    orch = orchestrators.get(orchestrator)
    # the MCP server matters to --via mcp only: a CLI deploy reads no MCP datum
    server, why = server_for(orch, config, paths, includes) if via == "mcp" else (None, "")
    if mcp_profile is None and server is not None:
        mcp_profile = server.profile
    configured = config.mcp.get(orch.name)
    if namespace is None and configured is not None and via == "mcp":
        namespace = configured.namespace
    avail = None
    if via == "cli":
        avail = orch.available()
        if not avail.available and not dry_run:
            raise orch.unavailable(avail)
    env = deploy_env(env_files, sets)
    result = build_for(paths, orch, includes, strict, "text", env, options=target_options)
    # resolved before anything runs (a dry run too: its errors are deploy's); never shown
    values = resolve_values(result, orch, env) if stores_of(result, orch) else []
    orch.profile(mcp_profile)  # an unknown --mcp-profile is said before a folder is made
    temp = None
    if workdir is not None:
        base = os.path.abspath(workdir)
    elif dry_run:
        base = "<temporary folder>"
    else:
        base = temp = tempfile.mkdtemp(prefix="b00tc-deploy-")
    compose = orch.cli_command(avail) if avail is not None else None
    p = make_plan(result, orch.name, base=base, profile=mcp_profile, namespace=namespace, context=context,
                  compose_command=compose, dry_run=dry_run, host_env=env, values=None if dry_run else values)
    started = False
    try:
        if dry_run:
            if avail is not None and not avail.available:
                err(f"note: {orch.unavailable(avail)}")
            p.mcp_server = why
            describe(p, via, base, server, out)
            return OK
        if via == "mcp":
            if why and p.profile is not None:  # an MCP datum none of whose entries can start
                raise DeployError(why)
            mcp_server_for(p, server)  # a clear error before anything is written
            need_sdk()
        if via == "cli":  # what the manifests need on the orchestrator, before any is applied
            from b00tc.runtime.model import Options

            orch.check_prerequisites(p, Options(namespace=namespace, context=context))
        started = True
        code = execute(p, via=via, workdir=base, server=server, echo=err, env=env)
    finally:
        # kept only where the orchestrator needs the files again, and something was run
        if temp is not None and (orch.KEPT_FOLDER_NOTE is None or not started):
            shutil.rmtree(temp, ignore_errors=True)
    if temp is not None and orch.KEPT_FOLDER_NOTE is not None:
        err(orch.KEPT_FOLDER_NOTE.format(folder=temp))
    return code


def to_manifest(path: str, orchestrator: str, includes, out_dir: str, echo: Echo = print) -> None:
    """``b00tc job|stack to-manifest``: the manifests written under the seed's names
    (<datum>-<short>.<ext>), each said on ``echo`` once written."""
    from b00tc.output import write_if_changed

    orch = orchestrators.get(orchestrator)
    p = compile_plan([path], orch.name, includes, False, "text", with_required=False)
    for m in p.manifests:
        dest = os.path.join(out_dir, f"{m.datum}-{orch.short}.{orch.ext}")
        write_if_changed(dest, m.content, mode=m.mode)
        echo(dest)
