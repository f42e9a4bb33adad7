"""The execution layer's data: what a plan holds (manifests, commands, MCP tool calls), a
deployed datum and the options of the day-two commands, a datum's status, an
orchestrator's availability, and the errors the runtime commands end with.

Nothing here runs anything; every other runtime module builds or reads these.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from typing import Callable, Optional

from b00tc.exitcodes import FAILED, NOT_DEPLOYED, OK, UNAVAILABLE

#: the day-two operations (b00tc status|logs|down)
OPS = ("status", "logs", "down")
#: the label b00tc puts on everything it generates (b00tc.backends._meta.identity)
MANAGED = "app.kubernetes.io/managed-by=b00tc"
#: how compose is run when detection did not say (``docker-compose`` v1 is the other way)
DEFAULT_COMPOSE = ["docker", "compose"]


# ---------------------------------------------------------------------------------------
# MCP servers: what b00tc knows of one (a profile; the table is in profiles.py)


@dataclass(frozen=True)
class CallOptions:
    namespace: str = "default"
    context: Optional[str] = None
    dry_run: bool = False
    #: where the manifest files are, for servers that read a file (compose)
    file_path: str = ""
    project: str = ""


@dataclass(frozen=True)
class Profile:
    name: str
    orchestrator: str
    server: str  # the server's name in mcp_commands
    package: str  # where the server comes from
    command: tuple[str, ...]  # a typical way to start it over stdio
    tool: str
    #: manifest text + options -> one arguments object per tool call
    arguments: Callable[[str, CallOptions], list[dict]]
    #: the packages (npm, PyPI) or commands that start this server (mcp_datums reads an
    #: MCP datum's command for them)
    starts: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------
# A plan: the seed's AdapterOutput


@dataclass
class Manifest:
    path: str
    content: str
    mode: int = 0o644
    datum: str = ""
    kind: str = "job"  # job | stack
    #: a stack a root requires, deployed before it (the plan says so)
    required: bool = False
    #: a stack deployed as part of the stack of this name (a member "<name>.stack")
    part_of: str = ""
    #: a workflow job (its steps, not one container or process)
    workflow: bool = False


@dataclass
class Command:
    argv: list[str]
    #: run through ``bash -c`` (a pipeline the argv form cannot say)
    shell: bool = False
    #: the command's exit status is the deployed job's
    is_job: bool = False
    #: the root datum's name (a direct job's run is recorded under it)
    datum: str = ""
    #: what the command reads on its standard input (deploy-time values: a Secret, a
    #: Nomad Variable), never shown: ``stdin_what`` says what it is
    stdin: Optional[bytes] = field(default=None, repr=False)
    stdin_what: str = ""

    def text(self) -> str:
        shown = self.argv[0] if self.shell else shlex.join(self.argv)
        return shown + (f" < ({self.stdin_what})" if self.stdin_what else "")

    def runnable(self) -> list[str]:
        """The argv to start: a shell form through ``bash -c``."""
        return ["bash", "-c", self.argv[0]] if self.shell else self.argv


#: what a plan shows in place of an argument that holds a deploy-time value
REDACTED = "<redacted>"


@dataclass
class McpCommand:
    server: str
    tool: str
    arguments: dict
    #: the arguments that hold a deploy-time value: shown as REDACTED, never printed
    redact: tuple[str, ...] = ()
    #: the call is made with arguments taken from earlier answers (an allocation's ID, a
    #: check passed): what it says is what fills them; its arguments here are placeholders
    after: str = ""
    #: its answer is printed by day two (a log); else it is read by b00tc (a job's JSON)
    printed: bool = True

    def shown(self) -> dict:
        """The arguments as a plan shows them (deploy-time values redacted)."""
        return {k: (REDACTED if k in self.redact else v) for k, v in self.arguments.items()}

    def to_json(self) -> dict:
        out = {"server": self.server, "tool": self.tool, "arguments": self.shown()}
        if self.after:
            out["after"] = self.after
        return out


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
    #: each host variable the datums use: set or not where deploy runs (never its value)
    host_variables: dict[str, bool] = field(default_factory=dict)
    #: what the orchestrator must have before the manifests apply (k8s: Flux for charts)
    requires: list[str] = field(default_factory=list)
    #: the command that draws the datums (b00tc graph), named by the plan's text
    graph: str = ""

    def to_json(self) -> dict:
        return {
            "orchestrator": self.orchestrator,
            **({"requires": list(self.requires)} if self.requires else {}),
            "manifests": [{"path": m.path, "content": m.content} for m in self.manifests],
            "commands": [c.text() for c in self.commands],
            "mcp_commands": [c.to_json() for c in self.mcp_commands],
            "host_variables": {k: _set_or_not(v) for k, v in self.host_variables.items()},
            "day_two": {
                op: {"commands": [c.text() for c in cmds], "mcp_commands": [c.to_json() for c in calls]}
                for op, (cmds, calls) in self.day_two.items()
            },
        }

    def text(self) -> str:
        lines = [f"orchestrator: {self.orchestrator}", "manifests:"]
        for m in self.manifests:
            n = m.content.count("\n")
            what = f"required stack {m.datum}, deployed first" if m.required else f"{m.kind} {m.datum}"
            if m.part_of:
                what += f", part of {m.part_of}"
            lines.append(f"  {m.path} ({what}, {n} line{'s' * (n != 1)})")
        if self.requires:
            lines.append("requires (deploy checks it before applying anything):")
            lines += [f"  {r}" for r in self.requires]
        if self.host_variables:
            lines.append("host variables (deploy supplies them; values are never shown):")
            lines += [f"  {k} {_set_or_not(v)}" for k, v in self.host_variables.items()]
        lines.append("commands:")
        lines += [f"  {c.text()}" for c in self.commands] or ["  (none)"]
        if self.profile is None:
            lines.append("mcp tool calls: none (no MCP server fits this orchestrator: run the commands)")
        else:
            lines.append(f"mcp tool calls ({self.profile.package}):")
            for c in self.mcp_commands:
                shown = {k: _abbrev(v) for k, v in c.shown().items()}
                lines.append(f"  {c.server} {c.tool} {json.dumps(shown, ensure_ascii=False)}")
        if self.mcp_server:
            lines.append(f"mcp server: {self.mcp_server}")
        if self.graph:
            lines.append(f"graph: {self.graph}")
        for op, (cmds, calls) in self.day_two.items():
            lines.append(f"{op} (b00tc {op}):")
            lines += [f"  {c.text()}" for c in cmds]
            for c in calls:
                lines.append(f"  mcp: {c.server} {c.tool} {json.dumps(c.shown(), ensure_ascii=False)}"
                             + (f" (after {c.after})" if c.after else ""))
        return "\n".join(lines) + "\n"


def _set_or_not(is_set: bool) -> str:
    return "<set>" if is_set else "<unset>"


def _abbrev(value):
    if isinstance(value, str) and "\n" in value:
        first = value.splitlines()[0] if value.strip() else ""
        return f"<{value.count(chr(10))} lines: {first[:40]}...>"
    return value


# ---------------------------------------------------------------------------------------
# Day two: a deployed datum, the options, its status


@dataclass
class Deployed:
    """One root datum as b00tc deploys it."""

    name: str
    kind: str  # job | stack
    #: a stack's deployable members (its Deployments, compose services, Nomad tasks)
    members: list[str] = field(default_factory=list)
    #: the file handed to the orchestrator (compose, direct), when compiled
    manifest: Optional[Manifest] = None
    #: the datum file it was compiled from
    file: str = ""
    #: a stack a root requires, deployed before it and left alone by day two
    required: bool = False
    #: a stack another includes as a member: deployed, and day two, with it
    part_of: str = ""
    #: a stack's Helm chart members (k8s: Flux HelmReleases)
    charts: list[str] = field(default_factory=list)
    #: a workflow job's steps, in file order, and its rollback steps (only those that run:
    #: none without rollback_on_failure); both empty for any other datum
    steps: list[str] = field(default_factory=list)
    rollback: list[str] = field(default_factory=list)

    @property
    def workflow(self) -> bool:
        return bool(self.steps)

    @property
    def datum(self) -> str:
        return f"{self.name}.{self.kind}"


@dataclass
class Options:
    namespace: Optional[str] = None
    context: Optional[str] = None
    compose: list[str] = field(default_factory=lambda: list(DEFAULT_COMPOSE))
    #: the container runtime of direct stacks (their script's $B00T_CONTAINER_RUNTIME)
    runtime: str = field(default_factory=lambda: os.environ.get("B00T_CONTAINER_RUNTIME") or "docker")
    follow: bool = False
    volumes: bool = False
    #: the folder the manifests are (or would be) written to
    base: str = ""

    def path(self, d: Deployed) -> str:
        name = d.manifest.path if d.manifest else f"{d.name}.?"
        return self.at(name)

    def at(self, name: str) -> str:
        return os.path.join(self.base, name) if self.base else name


@dataclass
class ObjectState:
    kind: str
    name: str
    state: str
    detail: str = ""
    managed: bool = True  # carries b00tc's labels / meta


@dataclass
class Status:
    datum: str
    orchestrator: str
    state: str  # succeeded | failed | running | pending | up | degraded | not deployed | unknown
    objects: list[ObjectState] = field(default_factory=list)
    note: str = ""

    @property
    def code(self) -> int:
        if self.state == "not deployed":
            return NOT_DEPLOYED
        return FAILED if self.state in ("failed", "degraded", "unknown") else OK

    def to_json(self) -> dict:
        out = {"datum": self.datum, "orchestrator": self.orchestrator, "state": self.state,
               "objects": [{"kind": s.kind, "name": s.name, "state": s.state, "detail": s.detail,
                            "managed_by_b00tc": s.managed} for s in self.objects]}
        steps = [{"name": s.name, "state": s.state, "detail": s.detail, "rollback": s.kind == "rollback"}
                 for s in self.objects if s.kind in ("step", "rollback")]
        if steps:  # a workflow job's steps, also among the objects: what a script reads
            out["steps"] = steps
        if self.note:
            out["note"] = self.note
        return out

    def text(self) -> str:
        lines = [f"{self.datum} on {self.orchestrator}: {self.state}"]
        if self.note:
            lines.append(f"  {self.note}")
        width = max([len(f"{s.kind}/{s.name}") for s in self.objects] or [0])
        for s in self.objects:
            tag = "" if s.managed else "  (not created by b00tc)"
            lines.append(f"  {f'{s.kind}/{s.name}':<{width}}  {s.state}" + (f"  {s.detail}" if s.detail else "") + tag)
        return "\n".join(lines) + "\n"


def summarize(d: Deployed, orchestrator: str, objects: list[ObjectState], job_obj: Optional[ObjectState],
              workloads: list[ObjectState]) -> Status:
    """A datum's state from its objects: a job's is its job object's; a stack is up when
    every workload is."""
    if not objects:
        return Status(d.datum, orchestrator, "not deployed", [])
    if d.kind == "job":
        state = job_obj.state if job_obj is not None else "unknown"
        return Status(d.datum, orchestrator, state, objects,
                      "" if job_obj is not None else "the job itself was not found")
    up = all(w.state in ("up", "running") for w in workloads) and workloads
    return Status(d.datum, orchestrator, "up" if up else "degraded", objects)


@dataclass
class Outcome:
    """How a day-two command ended: its exit code, and the statuses to print (status)."""

    code: int
    statuses: Optional[list[Status]] = None


@dataclass
class Availability:
    name: str
    available: bool
    reason: str
    #: how to run it (e.g. ["docker", "compose"] or ["docker-compose"]); empty when unavailable
    command: list[str] = field(default_factory=list)

    def line(self, default: Optional[str] = None) -> str:
        mark = "✅" if self.available else "❌"
        tail = "  [default]" if default == self.name else ""
        return f"{mark} {self.name} ({self.reason}){tail}"


# ---------------------------------------------------------------------------------------
# Errors: how a runtime command ends when it cannot do what it was asked


class RuntimeFailure(Exception):
    """Said as ``error: MESSAGE`` on stderr; b00tc exits with ``code``."""

    default_code = FAILED

    def __init__(self, message: str, code: Optional[int] = None):
        super().__init__(message)
        self.code = self.default_code if code is None else code


class DeployError(RuntimeFailure):
    """deploy cannot go on (by default: the orchestrator or its MCP server is unusable)."""

    default_code = UNAVAILABLE


class LifecycleError(RuntimeFailure):
    """status, logs or down cannot go on (by default: a refused down)."""


class InputErrors(Exception):
    """The datums have errors: their diagnostics are printed; b00tc exits with ``code``."""

    def __init__(self, code: int):
        super().__init__(f"the datums have errors (exit {code})")
        self.code = code


class UserError(Exception):
    """A problem with the command line or this machine that is no datum's and no
    orchestrator's: a datum NAME not found, the MCP SDK not installed (said as click says
    its own errors)."""


class UnknownOrchestrator(ValueError):
    pass


class UnknownProfile(ValueError):
    pass
