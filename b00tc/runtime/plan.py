"""AdapterOutput: for one orchestrator, the manifests b00tc compiled, the shell commands
that deploy them and the same as MCP tool calls (the seed's ``AdapterOutput``).

A plan is data: making one runs nothing and probes nothing. Paths in commands are the
manifests' paths joined to ``base`` (the folder they are, or would be, written to).
"""

from __future__ import annotations

import os
import shlex
from typing import Optional

from b00tc.runtime import lifecycle
from b00tc.runtime.model import DEFAULT_COMPOSE, OPS, AdapterOutput, Command, McpCommand
from b00tc.runtime.orchestrators import BY_NAME
from b00tc.runtime.profiles import CallOptions, for_orchestrator


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
    orch = BY_NAME[orchestrator]
    chosen = for_orchestrator(orch.name, profile)
    plan = AdapterOutput(orchestrator=orch.name, manifests=lifecycle.manifests_of(result, orch.target), profile=chosen)
    compose = list(compose_command or DEFAULT_COMPOSE)
    for m in plan.manifests:
        path = os.path.join(base, m.path) if base else m.path
        if orch.name == "kubernetes":
            argv = ["kubectl"]
            if context:
                argv += ["--context", context]
            argv += ["apply", "-f", path]
            if namespace:
                argv += ["--namespace", namespace]
            plan.commands.append(Command(argv))
        elif orch.name == "docker-compose":
            head = compose + ["-p", m.datum, "-f", path]
            if m.kind == "job":
                plan.commands.append(Command(head + ["up", "-d", m.datum]))
                # follow the job's output until it stops, then exit with its exit code
                ps = shlex.join(head + ["ps", "-q", m.datum])
                plan.commands.append(Command(
                    [f'id=$({ps}) && docker logs -f "$id" && exit "$(docker wait "$id")"'],
                    shell=True, is_job=True,
                ))
            else:
                plan.commands.append(Command(head + ["up", "-d"]))
        elif orch.name == "nomad":
            plan.commands.append(Command(["nomad", "job", "run", path]))
        else:
            plan.commands.append(Command(["bash", path] + (["up"] if m.kind == "stack" else []),
                                         is_job=m.kind == "job", datum=m.datum))
        if chosen is not None:
            opts = CallOptions(
                namespace=namespace or "default",
                context=context,
                dry_run=dry_run,
                file_path=path,
                project=m.datum,
            )
            for args in chosen.arguments(m.content, opts):
                plan.mcp_commands.append(McpCommand(chosen.server, chosen.tool, args))
    lo = lifecycle.Options(namespace=namespace, context=context, compose=compose, base=base)
    for d in lifecycle.deployed_of(result, orch.target):
        if d.manifest is None:
            continue  # a stack with nothing to deploy (W0104)
        for op in OPS:
            cmds, calls = plan.day_two.setdefault(op, ([], []))
            cmds += lifecycle.commands(d, orch.name, op, lo)
            calls += lifecycle.mcp_calls(d, op, lo, chosen)
    return plan
