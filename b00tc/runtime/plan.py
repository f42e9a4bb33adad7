"""The plan (the seed's ``AdapterOutput``) of a build on one orchestrator: the manifests b00tc
compiled, the shell commands that deploy them, the same as MCP tool calls, and the
commands of day two.

A plan is data: making one runs nothing and probes nothing. Paths in commands are the
manifests' paths joined to ``base`` (the folder they are, or would be, written to).
"""

from __future__ import annotations

from typing import Optional

from b00tc.ir import Job
from b00tc.runtime import orchestrators
from b00tc.runtime.model import (
    DEFAULT_COMPOSE, OPS, AdapterOutput, Deployed, InputErrors, Manifest, Options,
)
from b00tc.runtime.orchestrators.base import Orchestrator


def deployed_of(result, orchestrator: Orchestrator) -> list[Deployed]:
    """The root datums of a build, as its units say (name, job or stack, a stack's
    members), each with the file the orchestrator's target wrote for it: None where that
    target was not built, or wrote nothing (a stack without members, W0104)."""
    written = {f.path: f for t, f in result.outputs if t == orchestrator.target}
    out = []
    for unit in result.units:
        d = unit.datum
        kind = "job" if isinstance(d, Job) else "stack"
        f = written.pop(d.name + orchestrator.suffix, None)
        manifest = Manifest(f.path, f.content, f.mode, d.name, kind) if f is not None else None
        out.append(Deployed(d.name, kind, [] if kind == "job" else [m.name for m in d.members], manifest))
    if written:  # the target names its files otherwise than the orchestrator expects: a bug
        raise AssertionError(f"{orchestrator.target} wrote {', '.join(written)}, the file of no root datum "
                             f"(expected NAME{orchestrator.suffix})")
    return out


def make_plan(
    result,
    orchestrator: str,
    *,
    base: str = "",
    profile: Optional[str] = None,
    namespace: Optional[str] = None,
    context: Optional[str] = None,
    compose_command: Optional[list[str]] = None,
    dry_run: bool = False,
) -> AdapterOutput:
    """The plan for a successful build of ``orchestrator``'s target."""
    orch = orchestrators.get(orchestrator)
    chosen = orch.profile(profile)
    o = Options(namespace=namespace, context=context, compose=list(compose_command or DEFAULT_COMPOSE), base=base)
    deployed = deployed_of(result, orch)
    plan = AdapterOutput(orchestrator=orch.name, manifests=[d.manifest for d in deployed if d.manifest],
                         profile=chosen)
    for m in plan.manifests:
        path = o.at(m.path)
        plan.commands += orch.deploy_commands(m, path, o)
        if chosen is not None:
            plan.mcp_commands += orch.deploy_mcp_calls(m, path, o, chosen, dry_run)
    for d in deployed:
        if d.manifest is None:
            continue  # a stack with nothing to deploy (W0104)
        for op in OPS:
            cmds, calls = plan.day_two.setdefault(op, ([], []))
            cmds += orch.commands(d, op, o)
            calls += orch.mcp_calls(d, op, o, chosen)
    return plan


def build_for(paths, orchestrator: Orchestrator, includes, strict: bool, fmt: str):
    """Compile ``paths`` for the orchestrator's target, host variables from the
    environment; the diagnostics are printed, InputErrors when there are errors."""
    from b00tc import output
    from b00tc.compiler import BuildRequest, build, host_env, read_stdin
    from b00tc.diagnostics import Diagnostics

    diags = Diagnostics()
    req = BuildRequest(
        paths=list(paths),
        targets=[orchestrator.target],
        includes=list(includes),
        host_env=host_env([], [], diags),
        strict=strict,
        stdin_text=read_stdin() if "-" in paths else None,
    )
    result = build(req, diags)
    code = output.report(result.diags, "json" if fmt == "json" else "text")
    if code:
        raise InputErrors(code)
    return result


def compile_plan(paths, orchestrator: str, includes, strict: bool, fmt: str, **kw) -> AdapterOutput:
    """Compile for the orchestrator's target and make the plan (``kw``: make_plan's)."""
    result = build_for(paths, orchestrators.get(orchestrator), includes, strict, fmt)
    return make_plan(result, orchestrator, **kw)


def plan_for(paths, orchestrator: str, config, *, includes=(), strict: bool = False, fmt: str = "text",
             mcp_profile: Optional[str] = None, namespace: Optional[str] = None,
             context: Optional[str] = None) -> AdapterOutput:
    """``b00tc plan``: the plan, with the MCP server its tool calls are for (the config's,
    else an MCP datum's) or why there is none."""
    from b00tc.runtime.mcp_datums import server_for

    orch = orchestrators.get(orchestrator)
    server, why = server_for(orch, config, paths, includes)
    if mcp_profile is None and server is not None:
        mcp_profile = server.profile
    p = compile_plan(paths, orch.name, includes, strict, fmt, profile=mcp_profile, namespace=namespace,
                     context=context)
    p.mcp_server = (f"{' '.join(server.command)} ({server.source})" if server
                    else why or f"none configured, and no MCP datum {orch.name}.mcp.toml on the search path")
    return p
