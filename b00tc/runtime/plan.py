"""AdapterOutput: for one orchestrator, the manifests b00tc compiled, the shell commands
that deploy them and the same as MCP tool calls (the seed's ``AdapterOutput``).

A plan is data: making one runs nothing and probes nothing. Paths in commands are the
manifests' paths joined to ``base`` (the folder they are, or would be, written to).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Optional

from b00tc.ir import Job
from b00tc.runtime.orchestrators import BY_NAME
from b00tc.runtime.profiles import CallOptions, Profile, for_orchestrator


@dataclass
class Manifest:
    path: str
    content: str
    mode: int = 0o644
    datum: str = ""
    kind: str = "job"  # job | stack


@dataclass
class Command:
    argv: list[str]
    #: run through ``bash -c`` (a pipeline the argv form cannot say)
    shell: bool = False
    #: the command's exit status is the deployed job's
    is_job: bool = False
    #: the root datum's name (a direct job's run is recorded under it)
    datum: str = ""

    def text(self) -> str:
        return self.argv[0] if self.shell else shlex.join(self.argv)


@dataclass
class McpCommand:
    server: str
    tool: str
    arguments: dict

    def to_json(self) -> dict:
        return {"server": self.server, "tool": self.tool, "arguments": self.arguments}


@dataclass
class AdapterOutput:
    orchestrator: str
    manifests: list[Manifest] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    mcp_commands: list[McpCommand] = field(default_factory=list)
    profile: Optional[Profile] = None
    #: day two (b00tc status|logs|down): op -> (commands, MCP tool calls)
    day_two: dict[str, tuple[list[Command], list[McpCommand]]] = field(default_factory=dict)
    #: where the MCP server comes from (config, an MCP datum), or why none can start
    mcp_server: str = ""

    def to_json(self) -> dict:
        return {
            "orchestrator": self.orchestrator,
            "manifests": [{"path": m.path, "content": m.content} for m in self.manifests],
            "commands": [c.text() for c in self.commands],
            "mcp_commands": [c.to_json() for c in self.mcp_commands],
            "day_two": {
                op: {"commands": [c.text() for c in cmds], "mcp_commands": [c.to_json() for c in calls]}
                for op, (cmds, calls) in self.day_two.items()
            },
        }

    def text(self) -> str:
        import json

        lines = [f"orchestrator: {self.orchestrator}", "manifests:"]
        for m in self.manifests:
            n = m.content.count("\n")
            lines.append(f"  {m.path} ({m.kind} {m.datum}, {n} line{'s' * (n != 1)})")
        lines.append("commands:")
        lines += [f"  {c.text()}" for c in self.commands] or ["  (none)"]
        if self.profile is None:
            lines.append("mcp tool calls: none (no MCP server fits this orchestrator: run the commands)")
        else:
            lines.append(f"mcp tool calls ({self.profile.package}):")
            for c in self.mcp_commands:
                shown = {k: _abbrev(v) for k, v in c.arguments.items()}
                lines.append(f"  {c.server} {c.tool} {json.dumps(shown, ensure_ascii=False)}")
        if self.mcp_server:
            lines.append(f"mcp server: {self.mcp_server}")
        for op, (cmds, calls) in self.day_two.items():
            lines.append(f"{op} (b00tc {op}):")
            lines += [f"  {c.text()}" for c in cmds]
            for c in calls:
                lines.append(f"  mcp: {c.server} {c.tool} {json.dumps(c.arguments, ensure_ascii=False)}")
        return "\n".join(lines) + "\n"


def _abbrev(value):
    if isinstance(value, str) and "\n" in value:
        first = value.splitlines()[0] if value.strip() else ""
        return f"<{value.count(chr(10))} lines: {first[:40]}...>"
    return value


# file suffix each target's backend writes after the datum's name
SUFFIX = {"k8s": ".yaml", "compose": ".compose.yaml", "nomad": ".nomad.hcl", "bash": ".sh"}

DEFAULT_COMPOSE = ["docker", "compose"]


def manifests_of(result, target: str) -> list[Manifest]:
    kinds = {u.datum.name: ("job" if isinstance(u.datum, Job) else "stack") for u in result.units}
    out = []
    for t, f in result.outputs:
        if t != target:
            continue
        name = f.path[: -len(SUFFIX[target])] if f.path.endswith(SUFFIX[target]) else f.path
        out.append(Manifest(f.path, f.content, f.mode, name, kinds.get(name, "job")))
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
    orch = BY_NAME[orchestrator]
    chosen = for_orchestrator(orch.name, profile)
    plan = AdapterOutput(orchestrator=orch.name, manifests=manifests_of(result, orch.target), profile=chosen)
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
    from b00tc.runtime import lifecycle

    lo = lifecycle.Options(namespace=namespace, context=context, compose=compose, base=base)
    for d in lifecycle.deployed_of(result, orch.target):
        if d.manifest is None:
            continue  # a stack with nothing to deploy (W0104)
        for op in lifecycle.OPS:
            cmds, calls = plan.day_two.setdefault(op, ([], []))
            cmds += lifecycle.commands(d, orch.name, op, lo)
            calls += lifecycle.mcp_calls(d, op, lo, chosen)
    return plan
