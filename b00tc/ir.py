"""The intermediate representation: frozen msgspec Structs, free of any target's types.

The front end builds these from either datum shape; passes rewrite them with
``msgspec.structs.replace``; backends only read them. Source positions are not stored
here: every node that can be blamed carries its ``$.path`` in the datum (``path`` fields),
and the diagnostics layer turns a path into a ``file:line:col`` only when it reports.

Over 500 lines: every node of every datum kind (jobs, stacks, workflows) and the program
are one module, so that the datum kinds stay one tagged union and nothing imports half
of the IR.
"""

from __future__ import annotations

import os
from typing import Literal, Optional, Union

from msgspec import Struct
from msgspec.structs import replace


class Node(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


# ---------------------------------------------------------------------------
# Values: a string of the datum parsed into typed parts (grammar/ref.lark).


class Lit(Node, tag="lit"):
    """Literal text that must reach the process byte for byte."""

    text: str


class Ref(Node, tag="ref"):
    """``${STACK:<stack>:<service>:<field>}``.

    ``field`` is endpoint, host, port or protocol. The legacy form with a port number last
    is parsed as ``field="endpoint"`` with ``port`` set. ``resolve_references`` fills
    ``protocol`` (the service's), ``port`` (the service port in the container network) and
    ``host_port`` (where it is published on the host, for the direct targets), and sets
    ``member`` to the member that serves it ("" when none is deployable).
    """

    stack: str
    service: str
    field: Literal["endpoint", "host", "port", "protocol"]
    port: int = 0
    protocol: str = ""
    host_port: int = 0
    member: str = ""


class HostVar(Node, tag="var"):
    """A shell-style host variable, kept or resolved per target.

    op is "" (``${VAR}``), ":-" / "-" (default), ":?" / "?" (error message).
    """

    name: str
    op: Literal["", ":-", "-", ":?", "?"] = ""
    arg: str = ""


Part = Union[Lit, Ref, HostVar]


class Value(Node):
    """A datum string: literal text, stack references and host variables in order."""

    parts: tuple[Part, ...] = ()
    path: str = ""

    @property
    def literal(self) -> Optional[str]:
        """The text if the value is all literal, else None."""
        if all(type(p) is Lit for p in self.parts):
            return "".join(p.text for p in self.parts)  # type: ignore[union-attr]
        return None

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(p for p in self.parts if type(p) is Ref)

    @property
    def host_vars(self) -> tuple[HostVar, ...]:
        return tuple(p for p in self.parts if type(p) is HostVar)


def lit(text: str, path: str = "") -> Value:
    return Value(parts=(Lit(text=text),) if text else (), path=path)


class Name(Node):
    """A name as written in the datum (a member, a required stack, a wait target)."""

    value: str
    path: str = ""


class EnvVar(Node):
    name: str
    value: Value
    path: str = ""


# ---------------------------------------------------------------------------
# Requirements


class Gpu(Node):
    count: int
    vendor: str = "nvidia"  # from gpu_type "nvidia-a100" -> vendor nvidia, model a100
    model: str = ""
    type: str = ""  # as written, for labels
    shared: bool = False
    memory_bytes: int = 0
    memory: str = ""  # as written
    path: str = ""  # of gpu_count
    type_path: str = ""
    memory_path: str = ""


class Resources(Node):
    cpu_millis: int = 0  # 0: not set; filled by normalize_resources from ``cpu``
    memory_bytes: int = 0  # filled by normalize_resources from ``memory``
    cpu: str = ""  # as written: "2", "0.5", "500m"
    memory: str = ""  # as written: "8Gi", "512M", "1073741824"
    cpu_path: str = ""
    memory_path: str = ""
    gpu: Optional[Gpu] = None
    path: str = ""

    @property
    def empty(self) -> bool:
        return not (self.cpu_millis or self.memory_bytes or self.gpu)


class Budget(Node):
    daily_limit: Optional[float] = None
    cost_per_job: Optional[float] = None
    on_exceeded: str = ""
    path: str = ""


class Orchestration(Node):
    schedule_type: str = ""  # queue_based, gpu_affinity, budget_aware, ...
    queue_name: str = ""  # Kueue LocalQueue name; set when queue_based
    batch_group: str = ""
    gpu_affinity: str = ""
    budget: Optional[Budget] = None
    path: str = ""  # of schedule_type (or [b00t])
    queue_path: str = ""
    gpu_affinity_path: str = ""


# ---------------------------------------------------------------------------
# Containers and services


class Container(Node):
    image: Value
    command: tuple[Value, ...] = ()
    args: tuple[Value, ...] = ()
    path: str = ""


class PortMap(Node):
    """A published port: ``-p [ip:][host:]container[/proto]``."""

    container: int
    host: int = 0  # 0: not published on a fixed host port
    host_ip: str = ""
    protocol: Literal["tcp", "udp"] = "tcp"
    path: str = ""


class Health(Node):
    """A container's health check, from ``docker run``'s ``--health-*`` flags: ``cmd``
    runs in the container through ``/bin/sh -c`` (docker's CMD-SHELL); 0 for a timing not
    given (docker's defaults: every 30 s, 30 s timeout, 3 retries, no start period)."""

    cmd: str
    interval_ms: int = 0
    timeout_ms: int = 0
    retries: int = 0
    start_period_ms: int = 0
    path: str = ""


def duration(ms: int) -> str:
    """Milliseconds as a Go/compose duration: whole seconds as ``30s``, else ``1500ms``."""
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


class Mount(Node):
    """``-v source:target[:ro]``: a named volume or a host path."""

    source: str
    target: str
    kind: Literal["volume", "bind"] = "volume"
    read_only: bool = False
    path: str = ""


class Member(Node):
    """A deployable stack member (a ``<name>.docker`` datum)."""

    name: str  # the member's datum name, a DNS-1123 label
    datum: str  # "<name>.docker"
    file: str  # the datum file it came from
    container: Container
    env: tuple[EnvVar, ...] = ()  # the stack's env merged under the member's own
    ports: tuple[PortMap, ...] = ()
    mounts: tuple[Mount, ...] = ()
    restart: str = ""  # docker restart policy as written ("", no, always, unless-stopped, on-failure[:N])
    #: --health-cmd and its timings; None: none given (a target then checks the declared
    #: service ports where it can)
    health: Optional[Health] = None
    container_name: str = ""
    restart_path: str = ""  # where --restart / --name were written, for diagnostics
    container_name_path: str = ""
    resources: Resources = Resources()
    orchestration: Orchestration = Orchestration()
    hint: str = ""


class ServiceDecl(Node):
    """A service of a stack: a name others reference and wait for."""

    name: str
    port: int  # the port inside the container network
    protocol: str = "http"
    member: str = ""  # the member that serves it; "" when none is deployable
    host_port: int = 0  # where the direct targets reach it (published port, else port)
    path: str = ""


class HelmChart(Node):
    """A ``<name>.k8s`` member with ``chart_path``: a Helm chart, deployed on Kubernetes
    only (a Flux HelmRepository and HelmRelease); every other target skips it."""

    name: str  # the datum name: the release's
    datum: str  # "<name>.k8s"
    file: str
    repo: str  # the repository alias of chart_path "<alias>/<chart>"
    chart: str
    url: str  # the repository's URL: ``url``, else the install script's ``helm repo add``
    url_path: str = ""  # $.b00t.url or $.b00t.install
    version: str = ""  # desires; "" for the repository's latest
    namespace: str = ""  # where the release goes; "" for the HelmRelease's own
    #: the values file's content (str keys; str, int, float, bool, None, list, dict)
    values: Optional[dict] = None
    values_file: str = ""  # the file read, for dependencies
    path: str = ""  # of chart_path
    hint: str = ""


class SkippedMember(Node):
    datum: str  # "python.cli"
    kind: str  # "cli"
    path: str = ""


class WaitFor(Node):
    """``wait_for_services`` entry, resolved to the stack service it names."""

    stack: str
    service: str
    port: int
    host_port: int = 0
    member: str = ""
    path: str = ""


# ---------------------------------------------------------------------------
# Datums


class Stack(Node, tag="stack"):
    name: str
    file: str
    hint: str = ""
    members: tuple[Member, ...] = ()
    #: Helm chart members, in order: rendered on Kubernetes only
    charts: tuple[HelmChart, ...] = ()
    skipped: tuple[SkippedMember, ...] = ()
    services: tuple[ServiceDecl, ...] = ()
    env: tuple[EnvVar, ...] = ()
    resources: Resources = Resources()
    orchestration: Orchestration = Orchestration()
    member_names: tuple[Name, ...] = ()  # as written, "<name>.<type>"
    requires_stacks: tuple[Name, ...] = ()  # as written
    requires: tuple["Stack", ...] = ()  # compiled by resolve_references

    def service(self, name: str) -> Optional[ServiceDecl]:
        for s in self.services:
            if s.name == name:
                return s
        return None


class Job(Node, tag="job"):
    name: str
    file: str
    container: Container
    hint: str = ""
    env: tuple[EnvVar, ...] = ()
    requires: tuple[Stack, ...] = ()  # the required stacks, compiled by resolve_references
    wait_for: tuple[WaitFor, ...] = ()  # resolved from wait_for_services
    requires_stacks: tuple[Name, ...] = ()  # as written
    wait_for_services: tuple[Name, ...] = ()  # as written, "service:port"
    resources: Resources = Resources()
    orchestration: Orchestration = Orchestration()


# ---------------------------------------------------------------------------
# Workflow jobs: ``[b00t.job]`` with steps (../shared/design/workflow-jobs.md)


class BashTask(Node, tag="bash"):
    """``bash -c command`` in ``cwd`` (relative to the workspace; "" is the workspace),
    stopped after ``timeout_ms`` (0: never), with the job's env overlaid by ``env``. The
    command is bash source, kept byte for byte: b00tc never reads ``${...}`` in it."""

    command: str
    cwd: str = ""
    timeout_ms: int = 0
    env: tuple[EnvVar, ...] = ()
    #: the container targets' image for this step (None: the workflow's)
    image: Optional[Value] = None
    path: str = ""  # of the task table
    command_path: str = ""
    timeout_path: str = ""


#: the task kinds a step can hold once the front end has checked it: agent, k0mmander,
#: mcp, dagu and datum tasks need b00t's own runtime and are errors (E0704)
Task = BashTask

WHEN = ("always", "on_success", "on_failure", "on_previous")


class Condition(Node):
    """When a step runs: ``when`` (a step without a condition table is ``on_success``),
    and ``script``, bash source that must exit 0 for the step to run ("" : none)."""

    when: Literal["always", "on_success", "on_failure", "on_previous"] = "on_success"
    script: str = ""
    path: str = ""


class Step(Node):
    name: str
    task: Task
    description: str = ""
    depends_on: tuple[Name, ...] = ()  # as written, each naming a step of the workflow
    condition: Condition = Condition()
    path: str = ""  # $.b00t.job.steps[i]


class WorkflowConfig(Node):
    """``[b00t.job.config]``, the part b00tc carries."""

    mode: Literal["sequential", "parallel", "dag"] = "sequential"
    continue_on_failure: bool = False
    retry_failed_steps: int = 0
    rollback_on_failure: bool = False
    path: str = ""


class Workflow(Node, tag="workflow"):
    """A workflow job: a graph of steps instead of one container. Its [b00t] type is job;
    its kind here is "workflow", so that a backend renders it only by declaring it."""

    name: str
    file: str
    description: str = ""
    hint: str = ""
    config: WorkflowConfig = WorkflowConfig()
    steps: tuple[Step, ...] = ()
    rollback: tuple[Step, ...] = ()
    env: tuple[EnvVar, ...] = ()  # [b00t.env] under [b00t.job.env]
    #: [b00t.job] image: where the container targets run the steps (None: not given)
    image: Optional[Value] = None
    requires: tuple[Stack, ...] = ()  # compiled by resolve_references
    requires_stacks: tuple[Name, ...] = ()  # as written
    resources: Resources = Resources()
    orchestration: Orchestration = Orchestration()

    def step(self, name: str) -> Optional[Step]:
        for s in self.steps:
            if s.name == name:
                return s
        return None


Datum = Union[Job, Stack, Workflow]

#: the datum kinds a backend can be asked to render (``Backend.KINDS``)
DATUM_KINDS = ("job", "stack", "workflow")


def kind_of(datum: Datum) -> str:
    """The datum's kind: its Struct tag ("job", "stack")."""
    return type(datum).__struct_config__.tag  # type: ignore[return-value]


class Annotation(Node):
    """A key/value that b00tc records on the output where the target has metadata
    (k8s annotations, compose labels, Nomad meta, comments elsewhere)."""

    key: str  # without prefix, e.g. "budget-daily-limit"
    value: str


class Unit(Node):
    """What one backend renders: a root datum after every pass, or a stack deployed with
    one (required, or included as a member), with the stacks it requires and includes
    filled in from the program (``Program.units``)."""

    datum: Datum
    annotations: tuple[Annotation, ...] = ()
    #: a stack that is not a root but that a root requires, built to be deployed before
    #: it (``Program.units(with_required=True)``); day two leaves it alone
    required: bool = False
    #: a stack that a stack includes as a member (``members = ["x.stack"]``), directly or
    #: through others: the name of the stack it is deployed as part of (a root, else a
    #: required stack). Day two of that stack covers it; "" for a root
    part_of: str = ""

    @property
    def empty(self) -> bool:
        """A stack with no deployable member on any target: nothing to render (W0104)."""
        return isinstance(self.datum, Stack) and not self.datum.members and not self.datum.charts

    def empty_for(self, charts: bool) -> bool:
        """Nothing to render on a target that renders Helm charts (``charts``) or not: a
        stack of chart members only is empty on every target but Kubernetes."""
        return isinstance(self.datum, Stack) and not self.datum.members and not (charts and self.datum.charts)


# ---------------------------------------------------------------------------
# The program: every datum one build needs, each loaded once


def key_of(file: str) -> str:
    """A datum's key in the program: its file, normalised (``./a/x`` and ``a/x`` are one)."""
    return os.path.normpath(file)


class Edge(Node):
    """A name a datum writes (a required stack "db", a member "n8n.docker") and the key of
    the datum the link phase found for it ("" when none was found or it failed to load)."""

    name: str
    target: str = ""
    path: str = ""


class Program(Node):
    """The link phase's output and the passes' input and output: every datum of one build
    by key (its file, normalised), the edges between them and the roots in the order they
    were given. Passes rewrite the datums in place of their keys; nothing here refers to
    another datum by value until ``units`` puts each root together for the backends."""

    roots: tuple[str, ...] = ()
    datums: dict[str, Datum] = {}
    members: dict[str, Member] = {}
    #: datum key -> its required stacks, as written, in order
    requires: dict[str, tuple[Edge, ...]] = {}
    #: stack key -> its deployable (docker) members, in order, each once
    member_edges: dict[str, tuple[Edge, ...]] = {}
    #: stack key -> the stacks it includes as members ("x.stack"), in order, each once
    includes: dict[str, tuple[Edge, ...]] = {}
    #: root key -> what annotate_budget records on its output
    annotations: dict[str, tuple[Annotation, ...]] = {}

    def required(self, key: str) -> tuple[str, ...]:
        """The keys of the stacks ``key`` requires, each once, in order."""
        out: dict[str, None] = {}
        for e in self.requires.get(key, ()):
            if e.target:
                out.setdefault(e.target)
        return tuple(out)

    def included(self, key: str) -> tuple[str, ...]:
        """The keys of the stacks ``key`` includes as members, each once, in order."""
        return tuple(e.target for e in self.includes.get(key, ()) if e.target)

    def parts(self, key: str) -> tuple[str, ...]:
        """The stacks ``key`` includes, directly or through the stacks it includes: each
        once, an included stack before the stack that includes it (``key`` not among them)."""
        out: dict[str, None] = {}
        seen = {key}

        def visit(k: str) -> None:
            for i in self.included(k):
                if i not in seen:  # marked before it is followed: a cycle cannot loop
                    seen.add(i)
                    visit(i)
                    out[i] = None

        visit(key)
        return tuple(out)

    def needs(self, key: str) -> tuple[str, ...]:
        """What ``key`` runs beside (its ``requires`` in a unit, its references' scope): the
        stacks it requires, the stacks those include (deployed as their parts) and the
        stacks it includes (transitively), each once, ``key`` not among them."""
        out: dict[str, None] = {}
        for r in self.required(key):
            out.update(dict.fromkeys(self.parts(r)))
            out.setdefault(r)
        out.update(dict.fromkeys(self.parts(key)))
        out.pop(key, None)
        return tuple(out)

    def units(self, with_required: bool = False) -> list[Unit]:
        """Each root with the stacks it requires (transitively) filled in: what backends
        render. Only for a program without errors (a cycle has none to fill).
        Each stack a root includes as a member (transitively) is a unit too (``part_of``),
        before the stack that includes it, each once in the whole build (a root that
        another root includes is its own root). ``with_required``: each stack a root
        requires, a unit too (``required``), with the stacks it includes, each once,
        before the first unit that requires it (deploy brings them up first); the roots
        then come in that dependency order."""
        done: dict[str, Stack] = {}

        def stack(key: str) -> Stack:
            if key not in done:
                s = self.datums[key]
                assert isinstance(s, Stack)
                done[key] = s  # a stack that needs itself (an error before this runs) ends here
                done[key] = replace(s, requires=tuple(stack(r) for r in self.needs(key)))
            return done[key]

        def unit(key: str, required: bool = False, part_of: str = "") -> Unit:
            d = self.datums[key]
            if isinstance(d, Stack):
                d = stack(key)
            else:
                d = replace(d, requires=tuple(stack(r) for r in self.needs(key)))
            return Unit(datum=d, annotations=self.annotations.get(key, ()), required=required, part_of=part_of)

        roots = set(self.roots)
        order: dict[str, None] = {}
        seen: set[str] = set()

        def visit(key: str) -> None:
            if key in seen:  # done, or a cycle (an error before this runs): never loop
                return
            seen.add(key)
            for r in (self.required(key) if with_required else ()) + self.included(key):
                if r != key:
                    visit(r)
            order.setdefault(key)

        for key in self.roots:
            visit(key)
        # whose part each included stack is: a root's first, then a required stack's
        owner: dict[str, str] = {}
        for top in (*self.roots, *(k for k in order if k not in roots)):
            if top in owner:
                continue
            for k in self.parts(top):
                if k not in roots:
                    owner.setdefault(k, top)

        def top_of(key: str) -> str:
            seen_here = {key}
            while key in owner and owner[key] not in seen_here:
                key = owner[key]
                seen_here.add(key)
            return key

        units = []
        for key in order:
            top = top_of(key)
            units.append(unit(key, required=top not in roots,
                              part_of=self.datums[owner[key]].name if key in owner else ""))
        return units
