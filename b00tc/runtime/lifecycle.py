"""Day two: the status, logs and teardown of what b00tc deployed, asked of the orchestrator
itself (through its CLI, or the MCP server chosen for it) and selected by what b00tc puts
on everything it generates, so that nothing b00tc did not create is touched. How each
orchestrator selects, asks and refuses is in its module (b00tc.runtime.orchestrators);
this module runs an operation for the datums of a build.

Exit codes: 0 deployed and fine (running, up, succeeded, pending); 1 failed or degraded
(or a down that was refused); 3 the orchestrator cannot be used here; 4 nothing of the
datum is deployed (b00tc.exitcodes).
"""

from __future__ import annotations

import json
import sys
from typing import Callable, Optional

from b00tc.exitcodes import OK, UNAVAILABLE, USAGE
from b00tc.runtime import orchestrators
from b00tc.runtime.model import Deployed, InputErrors, LifecycleError, Options, Outcome
from b00tc.runtime.orchestrators.base import Orchestrator
from b00tc.runtime.plan import deployed_of, down_order

Echo = Callable[[str], None]


def _stderr(s: str) -> None:
    print(s, file=sys.stderr)


def build_for(paths, orchestrator: Orchestrator, includes, fmt: str, options=()):
    """Compile ``paths`` for day two: the orchestrator's target where it needs the file
    again, else nothing (the names are enough, and no host variable has to be set). What a
    datum's target cannot express was said at build time: only errors are printed, and
    are InputErrors."""
    from b00tc import output
    from b00tc.compiler import BuildRequest, build
    from b00tc.diagnostics import Diagnostics

    from b00tc.target_options import for_build

    diags = Diagnostics()
    targets = [orchestrator.target] if orchestrator.DAY_TWO_NEEDS_FILE else []
    result = build(BuildRequest(paths=list(paths), targets=targets, includes=list(includes),
                                target_options=for_build(options, diags)), diags)
    errors = Diagnostics()
    errors.sources = result.diags.sources
    errors.extend(d for d in result.diags if d.is_error)
    code = output.report(errors, "json" if fmt == "json" and errors else "text")
    if code:
        raise InputErrors(code)
    return result


def day_two(op: str, paths, orchestrator: str, config, *, via: str = "cli", includes=(),
            namespace: Optional[str] = None, context: Optional[str] = None, fmt: str = "text",
            follow: bool = False, dry_run: bool = False, volumes: bool = False, target_options=(),
            out: Echo = print, err: Echo = _stderr) -> Outcome:
    """``b00tc status|logs|down`` of the datums ``paths``: the exit code and, for status,
    the statuses to print; what it says along the way on ``out`` (results) and ``err``.
    A LifecycleError (or the orchestrator's DeployError) when it cannot go on."""
    import shutil
    import tempfile

    from b00tc.runtime.deploy import write_manifests

    orch = orchestrators.get(orchestrator)
    result = build_for(paths, orch, includes, fmt, target_options)
    deployed = deployed_of(result, orch)
    if op == "down":  # a stack before the stacks it includes (it may use their networks)
        deployed = down_order(deployed)
    if namespace is None:  # where build put the objects (a target without the option: None)
        from b00tc.target_options import build_namespace

        namespace = build_namespace(result, orch.target)
    opts = Options(namespace=namespace, context=context, follow=follow, volumes=volumes)
    if via == "cli" and orch.PROBED_BEFORE_DAY_TWO:
        avail = orch.available()
        if not avail.available:
            if not dry_run:
                raise orch.unavailable(avail)
            err(f"note: {orch.unavailable(avail)}")
        else:
            opts.compose = orch.cli_command(avail) or opts.compose
    temp = tempfile.mkdtemp(prefix="b00tc-day2-") if orch.DAY_TWO_NEEDS_FILE else None
    try:
        if temp is not None:
            opts.base = temp
            write_manifests([d.manifest for d in deployed if d.manifest], temp)
        if via == "mcp":
            return _via_mcp(op, orch, config, paths, includes, deployed, opts, dry_run, out, err)
        codes = []
        statuses = []
        for d in deployed:
            if orch.DAY_TWO_NEEDS_FILE and d.manifest is None:
                err(f"{d.datum}: nothing to deploy, so nothing to ask (W0104)")
                continue
            if op == "status":
                st = orch.status(d, opts)
                statuses.append(st)
                codes.append(st.code)
            elif op == "logs":
                codes.append(orch.logs(d, opts))
            else:
                codes.append(orch.down(d, opts, err, dry_run=dry_run))
        return Outcome(max(codes, default=OK), statuses if op == "status" else None)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def _via_mcp(op: str, orch: Orchestrator, config, paths, includes, deployed: list[Deployed], opts: Options,
             dry_run: bool, out: Echo, err: Echo) -> Outcome:
    """status, logs and down as tool calls of the MCP server chosen for the orchestrator,
    in one session: the calls of each datum, then those its orchestrator makes from their
    answers (``mcp_next``: an allocation's logs, a stop once the job is found to be b00tc's),
    until there are none."""
    from b00tc.runtime.mcp_client import McpCallError, call_tools, need_sdk
    from b00tc.runtime.mcp_datums import server_for
    from b00tc.runtime.profiles import PROFILES

    server, why = server_for(orch, config, paths, includes)
    if server is None:
        raise LifecycleError(
            f"{why or f'no MCP server for {orch.name}: none configured, and no MCP datum {orch.name}.mcp.toml on the search path'}"
            "; or use --via cli", UNAVAILABLE)
    profile = PROFILES.get(server.profile or "")
    planned = [(d, c) for d in deployed for c in orch.mcp_calls(d, op, opts, profile)]
    if not planned:
        raise LifecycleError(f"b00tc knows no {op} tools of the MCP server `{' '.join(server.command)}` "
                             f"(profile {server.profile or 'unknown'}); use --via cli", USAGE)
    if dry_run:
        out(f"would start the MCP server: {' '.join(server.command)} ({server.source})")
        for _, c in planned:
            out(f"would call {c.server} {c.tool} {json.dumps(c.shown(), ensure_ascii=False)}"
                + (f" (after {c.after})" if c.after else ""))
        return Outcome(OK)
    need_sdk()
    made = [(d, c) for d, c in planned if not c.after]

    def then(outcomes) -> list[tuple[str, dict]]:
        batch, start = [], len(outcomes) - len(last)
        for d in deployed:
            answered = [(c, o) for (dd, c), o in zip(last, outcomes[start:]) if dd is d]
            if answered:
                batch += [(d, c) for c in orch.mcp_next(d, op, opts, profile, answered, err)]
        last[:] = batch
        made.extend(batch)
        return [(c.tool, c.arguments) for _, c in batch]

    last = list(made)
    try:
        outcomes = call_tools(list(server.command), [(c.tool, c.arguments) for _, c in made], env=server.env,
                              then=then, answers=orch.MCP_ANSWERS)
    except McpCallError as e:
        raise LifecycleError(str(e), UNAVAILABLE) from None
    failed = [o for o in outcomes if not o.ok and o.tool not in orch.MCP_ANSWERS]
    if failed:
        o = failed[0]
        raise LifecycleError(f"{server.profile} {o.tool}: {o.text.strip()}", UNAVAILABLE)
    if op == "status":
        statuses = [orch.status_from_mcp(d, server.profile, [o for (dd, _), o in zip(made, outcomes) if dd is d])
                    for d in deployed]
        if all(st is not None for st in statuses):
            return Outcome(max(st.code for st in statuses), statuses)
    for (_, c), o in zip(made, outcomes):
        if op != "logs":
            said = o.text.strip().splitlines()[0] if not o.ok and o.text.strip() else "error"
            err(f"{c.server} {c.tool}: {'ok' if o.ok else said}")
        text = orch.mcp_printed(c, o.text) if c.printed else ""
        if text:
            out(text.rstrip("\n"))
    return Outcome(OK)
