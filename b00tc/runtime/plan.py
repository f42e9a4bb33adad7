"""The plan (the seed's ``AdapterOutput``) of a build on one orchestrator: the manifests b00tc
compiled, the shell commands that deploy them, the same as MCP tool calls, and the
commands of day two.

A plan is data: making one runs nothing and probes nothing. Paths in commands are the
manifests' paths joined to ``base`` (the folder they are, or would be, written to).
"""

from __future__ import annotations

from typing import Optional

from b00tc import exitcodes
from b00tc.ir import Job, Value, Workflow
from b00tc.runtime import orchestrators
from b00tc.runtime.model import (
    DEFAULT_COMPOSE, OPS, AdapterOutput, Deployed, InputErrors, Manifest, Options,
)
from b00tc.runtime.orchestrators.base import Orchestrator


def deployed_of(result, orchestrator: Orchestrator) -> list[Deployed]:
    """The datums of a build, as its units say (name, job or stack, a stack's members),
    each with the file the orchestrator's target wrote for it: None where that target was
    not built, or wrote nothing (a stack without members, W0104). With a deploy's build
    (``with_required``) the stacks the roots require come first, ``required``. The stacks
    a stack includes come before it, ``part_of`` it; a stack with no member of its own but
    included stacks is deployed as those only (it is not listed)."""
    written = {f.path: f for t, f in result.outputs if t == orchestrator.target}
    wholes = {unit.part_of for unit in result.units}
    out = []
    for unit in result.units:
        d = unit.datum
        kind = "job" if isinstance(d, (Job, Workflow)) else "stack"  # a workflow is a job
        if unit.empty and d.name in wholes:
            continue
        f = written.pop(d.name + orchestrator.suffix, None)
        manifest = (Manifest(f.path, f.content, f.mode, d.name, kind, unit.required, unit.part_of)
                    if f is not None else None)
        dd = Deployed(d.name, kind, [] if kind == "job" else [m.name for m in d.members], manifest, d.file,
                      unit.required, unit.part_of, [] if kind == "job" else [c.name for c in d.charts])
        if isinstance(d, Workflow):
            if manifest is not None:
                manifest.workflow = True
            dd.steps = [s.name for s in d.steps]
            dd.rollback = [s.name for s in d.rollback] if d.config.rollback_on_failure else []
        out.append(dd)
    if written:  # the target names its files otherwise than the orchestrator expects: a bug
        raise AssertionError(f"{orchestrator.target} wrote {', '.join(written)}, the file of no datum "
                             f"(expected NAME{orchestrator.suffix})")
    return out


def host_variables(result) -> list[str]:
    """The name of every host variable the build's units use, sorted."""
    import msgspec

    names: set[str] = set()
    seen: set[int] = set()

    def walk(node) -> None:
        if isinstance(node, Value):
            names.update(v.name for v in node.host_vars)
        elif isinstance(node, msgspec.Struct):
            if id(node) in seen:
                return
            seen.add(id(node))
            for f in node.__struct_fields__:
                walk(getattr(node, f))
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    walk(list(result.units))
    return sorted(names)


def stores_of(result, orchestrator: Orchestrator) -> list:
    """The deploy-time value stores (``EnvFile``) of the orchestrator's target, once each."""
    out, seen = [], set()
    for s in result.env_files:
        if s.kind == orchestrator.target and s.path not in seen:
            seen.add(s.path)
            out.append(s)
    return out


def placeholders(stores: list) -> list[dict[str, str]]:
    """Each store's entries with empty values: what a plan shows (names, counts, never a
    value)."""
    return [dict.fromkeys((e.name for e in s.entries), "") for s in stores]


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
    host_env: Optional[dict] = None,
    values: Optional[list[dict[str, str]]] = None,
) -> AdapterOutput:
    """The plan for a successful build of ``orchestrator``'s target. ``host_env``: where
    deploy runs (each host variable is shown set or not); ``values``: the target's stores
    resolved (``stores_of``; deploy only): the commands that write them carry them on
    stdin. Without them those commands are shown, with nothing on their stdin."""
    orch = orchestrators.get(orchestrator)
    chosen = orch.profile(profile)
    if namespace is None:  # where build put the objects (a target without the option: None)
        from b00tc.target_options import build_namespace

        namespace = build_namespace(result, orch.target)
    o = Options(namespace=namespace, context=context, compose=list(compose_command or DEFAULT_COMPOSE), base=base)
    deployed = deployed_of(result, orch)
    plan = AdapterOutput(orchestrator=orch.name, manifests=[d.manifest for d in deployed if d.manifest],
                         profile=chosen)
    env = host_env or {}
    plan.host_variables = {name: name in env for name in host_variables(result)}
    plan.requires = orch.prerequisites([d for d in deployed if d.manifest])
    stores = stores_of(result, orch)
    if stores:
        filled = values or placeholders(stores)
        plan.commands += orch.value_commands(stores, filled, o)
        if values is None:
            for c in plan.commands:
                c.stdin = None
        if chosen is not None:
            plan.mcp_commands += orch.value_mcp_calls(stores, filled, o, chosen)
    for m in plan.manifests:
        path = o.at(m.path)
        plan.commands += orch.deploy_commands(m, path, o)
        if chosen is not None:
            plan.mcp_commands += orch.deploy_mcp_calls(m, path, o, chosen, dry_run)
    for op in OPS:
        for d in down_order(deployed) if op == "down" else deployed:
            if d.manifest is None or d.required:
                continue  # a stack with nothing to deploy (W0104); a required stack is shared
            cmds, calls = plan.day_two.setdefault(op, ([], []))
            cmds += orch.commands(d, op, o)
            calls += orch.mcp_calls(d, op, o, chosen)
    return plan


def down_order(deployed: list[Deployed]) -> list[Deployed]:
    """What ``down`` takes down, in order: the stacks it includes after a stack (deployed
    before it: its services may be on their networks)."""
    return sorted(deployed, key=lambda d: bool(d.part_of))


def build_for(paths, orchestrator: Orchestrator, includes, strict: bool, fmt: str, env: Optional[dict] = None,
              with_required: bool = True, options=()):
    """Compile ``paths`` for the orchestrator's target, host variables from ``env`` (by
    default the environment); the diagnostics are printed, InputErrors when there are
    errors. ``with_required``: the stacks the roots require are built too, first (what
    deploy brings up before the datums that require them). ``options``: -O values, over
    the config file's (b00tc.target_options)."""
    from b00tc import output
    from b00tc.compiler import BuildRequest, build, host_env, read_stdin
    from b00tc.diagnostics import Diagnostics

    diags = Diagnostics()
    from b00tc.target_options import for_build

    req = BuildRequest(
        target_options=for_build(options, diags),
        paths=list(paths),
        targets=[orchestrator.target],
        includes=list(includes),
        host_env=host_env([], [], diags) if env is None else env,
        strict=strict,
        stdin_text=read_stdin() if "-" in paths else None,
        with_required=with_required,
    )
    result = build(req, diags)
    code = output.report(result.diags, "json" if fmt == "json" else "text")
    if code:
        raise InputErrors(code)
    return result


def deploy_env(env_files=(), sets=(), fmt: str = "text") -> dict[str, str]:
    """Where deploy runs: the environment, then --env-file files, then --set (the build's
    order); InputErrors (printed) for a file that cannot be read or a bad --set."""
    from b00tc import output
    from b00tc.compiler import host_env
    from b00tc.diagnostics import Diagnostics

    diags = Diagnostics()
    env = host_env(list(env_files), list(sets), diags)
    if diags and output.report(diags, "json" if fmt == "json" else "text"):
        raise InputErrors(exitcodes.FAILED)
    return env


def resolve_values(result, orchestrator: Orchestrator, env: dict, fmt: str = "text") -> list[dict[str, str]]:
    """The orchestrator's stores resolved from ``env`` (``envfiles.resolve_store``), in
    ``stores_of`` order; InputErrors (printed: E0401, E0402, E0601) when one cannot be."""
    from b00tc import output
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_store

    diags = Diagnostics()
    diags.sources.update(result.diags.sources)  # each diagnostic shows its datum's line
    values = [resolve_store(s, env, diags) for s in stores_of(result, orchestrator)]
    if diags and output.report(diags, "json" if fmt == "json" else "text") or None in values:
        raise InputErrors(exitcodes.FAILED)
    return values  # type: ignore[return-value]


def compile_plan(paths, orchestrator: str, includes, strict: bool, fmt: str, **kw) -> AdapterOutput:
    """Compile for the orchestrator's target and make the plan (``kw``: make_plan's)."""
    env = kw.pop("host_env", None)
    with_required = kw.pop("with_required", True)
    result = build_for(paths, orchestrators.get(orchestrator), includes, strict, fmt, env, with_required,
                       kw.pop("options", ()))
    return make_plan(result, orchestrator, host_env=env, **kw)


def plan_for(paths, orchestrator: str, config, *, includes=(), strict: bool = False, fmt: str = "text",
             mcp_profile: Optional[str] = None, namespace: Optional[str] = None,
             context: Optional[str] = None, env_files=(), sets=(), target_options=()) -> AdapterOutput:
    """``b00tc plan``: the plan, with the MCP server its tool calls are for (the config's,
    else an MCP datum's) or why there is none."""
    from b00tc.runtime.mcp_datums import server_for

    orch = orchestrators.get(orchestrator)
    server, why = server_for(orch, config, paths, includes)
    if mcp_profile is None and server is not None:
        mcp_profile = server.profile
    env = deploy_env(env_files, sets, fmt)
    p = compile_plan(paths, orch.name, includes, strict, fmt, profile=mcp_profile, namespace=namespace,
                     context=context, host_env=env, options=target_options)
    p.mcp_server = (f"{' '.join(server.command)} ({server.source})" if server
                    else why or f"none configured, and no MCP datum {orch.name}.mcp.toml on the search path")
    p.graph = graph_command(paths, includes)
    return p


def graph_command(paths, includes=()) -> str:
    """The ``b00tc graph`` command line that draws these datums."""
    import shlex

    return shlex.join(["b00tc", "graph", *[a for i in includes for a in ("-I", i)], *paths])
