"""Nomad job specifications (HCL2, docker driver).

A Job becomes a ``type = "batch"`` job with one group and one task; a Stack becomes a
``type = "service"`` job with one group per member, each registering its services with
Nomad's native service discovery (``provider = "nomad"``). A workflow job is a batch job whose one task runs
the bash target's step runner ("Workflow jobs", at the end).

Where a string ends up decides how it is escaped, because Nomad reads strings in
different ways after the HCL parser has decoded them (``_hcl`` does that first layer):

- Task driver ``config``: at task start Nomad encodes the config as JSON and evaluates
  every string *again* as an HCL template with the task's environment as variables
  (``hclutils.ParseHclInterface``), so ``${`` and ``%{`` are escaped twice: once here
  (``$${``/``%%{``, read back by that second evaluation) and once by ``_hcl``. Backslashes
  are not escapes in that evaluation (JSON strings are templates in non-quoted mode).
- Task ``env``: Nomad replaces ``${name}`` (``[a-zA-Z0-9_.-]+``) with a node attribute or
  another variable when one of that name exists, with no escape. A literal value that
  contains such a sequence therefore goes through the env template below, whose values
  Nomad takes as they are.
- ``template`` data: rendered by consul-template (Go text/template, ``{{ }}``), then read
  as an env file by hashicorp/go-envparse (``env = true``). Literal text is written as
  Go template text, or through a ``{{ "..." }}`` string constant when it contains ``{``;
  each value is double-quoted with the escapes go-envparse decodes (JSON's).

Host variables are never resolved here (but in an image, W0304): env entries and command
words that use them read the job's Nomad Variable through a ``secrets/`` env template
(``_nomadvars``); deploy puts the Variable.

References to stack services use Nomad native service discovery in that template:
``{{ range $i, $s := nomadService "<service>" }}{{ if eq $i 0 }}...{{ end }}{{ end }}``,
taking the first registered instance (a rolling update may briefly show two). Command
and args elements that hold a reference cannot be templated in ``config`` directly: the
template exports them as ``B00T_CMD_<i>`` / ``B00T_ARG_<i>`` and ``config`` refers to
them as ``${B00T_ARG_<i>}``, which Nomad's config evaluation resolves from the task
environment (template env vars included) before the container starts.

Over 500 lines: one target, one module (the house style); most of it is the escaping for the
four ways Nomad reads a string, described above, which belongs next to the renderer.
"""

from __future__ import annotations

import math
import posixpath
import re
from typing import Iterable, Optional, Sequence, Union

from b00tc.backends import Backend, OutputFile, _hcl
from b00tc.backends._context import Context
from b00tc.backends._hcl import Attribute, Block, Comment, Raw
from b00tc.backends._nomadvars import DESTINATION as VARS_ENV_FILE
from b00tc.backends._nomadvars import Item, JobVariable, item_action, warn_image
from b00tc.backends._values import bake, ref_text
from b00tc.backends._wait import wait_script
from b00tc.backends._workflow_sh import WorkflowScript
from b00tc.ir import (
    duration,
    Container,
    Datum,
    EnvVar,
    Job,
    Lit,
    Member,
    Orchestration,
    Part,
    Ref,
    Resources,
    Stack,
    Unit,
    Value,
    WaitFor,
    Workflow,
    HostVar,
)

MIB = 1024 * 1024
#: Nomad rejects a task with less memory (structs.Resources.Validate)
MIN_MEMORY_MIB = 10
REFS_ENV_FILE = "local/b00t-refs.env"
WAIT_ENV_FILE = "local/b00t-wait.env"

#: what Nomad's task env interpolation replaces (helper/args.ReplaceEnv)
_NOMAD_ENV_INTERP = re.compile(r"\$\{[a-zA-Z0-9_\-.]+\}")
_META_KEY_BAD = re.compile(r"[^A-Za-z0-9_]")
_RE2_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


class NomadBackend(Backend):
    name = "nomad"
    aliases = ()
    KEEPS_HOST_VARS = False

    KINDS = ("job", "stack", "workflow")

    def render_workflow(self, unit: Unit, wf: Workflow, ctx: Context) -> list[OutputFile]:
        return _workflow(unit, wf, ctx)

    def render_job(self, unit: Unit, job: Job, ctx: Context) -> list[OutputFile]:
        stacks = {s.name: s for s in job.requires}
        places = [(job.file, v) for v in (*job.container.command, *job.container.args)]
        places += [(job.file, e.value) for e in job.env]
        _check_ref_ports(stacks, places, ctx)
        return _file(job, _Renderer(unit, ctx).job(job))

    def render_stack(self, unit: Unit, stack: Stack, ctx: Context) -> list[OutputFile]:
        stacks = {s.name: s for s in stack.requires}
        stacks[stack.name] = stack
        places = [
            (m.file, v)
            for m in stack.members
            for v in (*m.container.command, *m.container.args, *(e.value for e in m.env))
        ]
        _check_ref_ports(stacks, places, ctx)
        return _file(stack, _Renderer(unit, ctx).stack(stack))


def _file(datum: Datum, job: Block) -> list[OutputFile]:
    header = [f"Generated by b00tc from {posixpath.basename(datum.file)}. Do not edit."]
    body: list[_hcl.Item] = []
    if datum.hint:
        body.append(Comment(datum.hint))
    body.append(job)
    return [OutputFile(f"{datum.name}.nomad.hcl", _hcl.dumps(body, header=header))]


def _check_ref_ports(stacks: dict[str, Stack], places: list[tuple[str, Value]], ctx: Context) -> None:
    """Nomad registers a service on its one declared port: a reference to another port of
    the serving member (the legacy ``${STACK:s:svc:9000}``) would read the service's port,
    so it is reported rather than rendered wrongly."""
    for file, value in places:
        for ref in value.refs:
            stack = stacks.get(ref.stack)
            decl = stack.service(ref.service) if stack else None
            if decl is not None and ref.port and ref.port != decl.port:
                ctx.cannot_express(
                    f"a reference to port {ref.port} of service {ref.service}: Nomad service "
                    f"discovery knows the service on its port {decl.port} only",
                    file,
                    value.path,
                    help=f"declare a service for port {ref.port} in [b00t.services] of stack {ref.stack}",
                )


# ---------------------------------------------------------------------------
# Escaping for the layers after HCL


def runtime_literal(text: str) -> str:
    """A driver config string that Nomad's task-start HCL evaluation reads back as ``text``."""
    return text.replace("${", "$${").replace("%{", "%%{")


def go_string(text: str) -> str:
    """A Go interpreted string literal (strconv.Unquote reads it back as ``text``)."""
    out = ['"']
    for c in text:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def go_template_text(text: str) -> str:
    """Template source that Go text/template renders as ``text``.

    Outside actions only the left delimiter ``{{`` is special; a text that holds ``{``
    could form one with its neighbour (``a{`` before an action), so it is emitted as a
    string constant instead."""
    if "{" not in text:
        return text
    return "{{ " + go_string(text) + " }}"


def envfile_escape(text: str) -> str:
    """The inside of a double-quoted go-envparse value that decodes to ``text``.

    go-envparse rejects raw control characters and decodes JSON's escapes inside double
    quotes (``\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX``); nothing else is special there."""
    out = []
    for c in text:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)


def re2_quote(text: str) -> str:
    return _RE2_META.sub(r"\\\1", text)


# ---------------------------------------------------------------------------
# Template data: text and actions kept apart until the end

_Text = tuple[str, str]  # ("text", literal) or ("action", Go template source)
_ADDR = "\x00addr\x00"
_PORT = "\x00port\x00"


def _ref_segments(ref: Ref) -> list[_Text]:
    """A reference as template segments: Nomad service discovery, first instance."""
    text = ref_text(ref, _ADDR, _PORT)
    pieces = re.split(f"({_ADDR}|{_PORT})", text)
    segs: list[_Text] = []
    for piece in pieces:
        if piece == _ADDR:
            segs.append(("action", "{{ $s.Address }}"))
        elif piece == _PORT:
            segs.append(("action", "{{ $s.Port }}"))
        elif piece:
            segs.append(("text", envfile_escape(piece)))
    if not any(kind == "action" for kind, _ in segs):
        return segs  # protocol: known at build time
    head = f"{{{{ range $i, $s := nomadService {go_string(ref.service)} }}}}{{{{ if eq $i 0 }}}}"
    return [("action", head), *segs, ("action", "{{ end }}{{ end }}")]


def _env_line(name: str, parts: Sequence[Part]) -> str:
    segs: list[_Text] = [("text", f"{name}=")]
    quoted = False  # a double-quoted piece is open

    def add_text(t: str) -> None:
        nonlocal quoted
        if not quoted:
            segs.append(("text", '"'))
            quoted = True
        segs.append(("text", t))

    for part in parts:
        if isinstance(part, Ref):
            for kind, t in _ref_segments(part):
                add_text(t if kind == "text" else "")  # an action renders inside the quotes
                if kind == "action":
                    segs.append((kind, t))
        elif isinstance(part, Item):  # a double-quoted piece of its own
            if quoted:
                segs.append(("text", '"'))
                quoted = False
            segs.append(("action", item_action(part)))
        else:
            add_text(envfile_escape(part.text))  # type: ignore[union-attr]
    if not quoted and not any(kind == "action" for kind, _ in segs):
        add_text("")  # an empty value: NAME=""
    segs.append(("text", '"\n' if quoted else "\n"))
    out: list[str] = []
    pending = ""
    for kind, text in segs:
        if kind == "text":
            pending += text
            continue
        out.append(go_template_text(pending))
        pending = ""
        out.append(text)
    out.append(go_template_text(pending))
    return "".join(out)


# ---------------------------------------------------------------------------


class _Renderer:
    def __init__(self, unit: Unit, ctx: Context) -> None:
        self.unit = unit
        self.ctx = ctx

    # -- datums ------------------------------------------------------------

    def _placement(self, job: Block) -> Block:
        """``namespace`` (-O nomad.namespace) and ``datacenters`` (-O nomad.datacenters;
        by default ``["*"]``, every datacenter, Nomad's own default since 1.5)."""
        if self.ctx.options["namespace"]:
            job.attr("namespace", self.ctx.options["namespace"])
        return job.attr("datacenters", (self.ctx.options["datacenters"] or "*").split(","))

    def job(self, job: Job) -> Block:
        self.vars = JobVariable(job.name, self.ctx.options["namespace"] or "")
        out = Block("job", [job.name])
        self._placement(out).attr("type", "batch")
        meta = self._identity_meta(job.name, f"{job.name}.job", part_of="")
        self._orchestration(job.orchestration, job.file, meta)
        self._meta(out, meta)

        group = out.block("group", job.name)
        group.attr("count", 1)
        # a batch job runs once: no restart in place, no rescheduling elsewhere
        group.block("restart").attr("attempts", 0).attr("mode", "fail")
        group.block("reschedule").attr("attempts", 0).attr("unlimited", False)
        for wait in job.wait_for:
            group.add(self._wait_task(wait, job.file))
        # the annotations may already record gpu_shared on the job: not again on the task
        task = self._task(job.name, job.container, job.env, job.resources, job.file, set(meta))
        group.add(task)
        self._register()
        return out

    def stack(self, stack: Stack) -> Block:
        self.vars = JobVariable(stack.name, self.ctx.options["namespace"] or "")
        out = Block("job", [stack.name])
        self._placement(out).attr("type", "service")
        meta = self._identity_meta(stack.name, f"{stack.name}.stack", part_of="")
        self._orchestration(stack.orchestration, stack.file, meta, stack_level=True)
        self._stack_resources(stack, meta)
        self._meta(out, meta)
        for member in stack.members:
            out.add(self._member_group(stack, member))
        self._register()
        return out

    def _register(self) -> None:
        """The job's Nomad Variable, for deploy to fill (``b00tc.envfiles``)."""
        if self.vars.store.entries:
            self.ctx.env_files.append(self.vars.store)

    # -- members -----------------------------------------------------------

    def _member_group(self, stack: Stack, member: Member) -> Block:
        group = Block("group", [member.name])
        group.attr("count", 1)
        self._restart(member, group)

        labels: dict[tuple[int, str], str] = {}  # (container port, protocol) -> label
        network = Block("network")
        used: list[str] = []  # every port label, in order
        for port in member.ports:
            label = _port_label(port.container, port.protocol, port.host, used)
            labels.setdefault((port.container, port.protocol), label)
            p = network.block("port", label).attr("to", port.container)
            if port.host:
                p.attr("static", port.host)
            if port.host_ip:
                self.ctx.cannot_express(
                    f"publishing port {port.container} on host address {port.host_ip}",
                    member.file,
                    port.path,
                    help="Nomad selects host addresses with a client host_network",
                )
        services = [s for s in stack.services if s.member == member.name]
        for svc in services:
            if (svc.port, "tcp") not in labels:
                # a declared service port that the member does not publish: a dynamic
                # host port mapped to it, so that the registered address reaches it
                label = _port_label(svc.port, "tcp", 0, used)
                labels[(svc.port, "tcp")] = label
                network.block("port", label).attr("to", svc.port)
        if network.body:
            group.add(network)
        if member.health is not None:
            self.ctx.cannot_express(
                f"the health command of member {member.name} (Nomad's own service checks are "
                "http and tcp only" + ("; its services get a tcp check)" if services else ")"),
                member.file,
                member.health.path,
                help="declare the port it serves in [b00t.services]: Nomad checks it with tcp",
            )
        interval = member.health.interval_ms if member.health and member.health.interval_ms else 10_000
        for svc in services:
            # a tcp check: the service is registered healthy only once its port accepts
            group.add(
                Block("service")
                .attr("name", svc.name)
                .attr("port", labels[(svc.port, "tcp")])
                .attr("provider", "nomad")
                .add(Block("check").attr("type", "tcp").attr("interval", duration(interval))
                     .attr("timeout", "2s"))
            )

        task = self._task(member.name, member.container, member.env, member.resources, member.file)
        config = _find(task, "config")
        if used:
            config.attr("ports", used)
        self._mounts(member, config)
        if member.container_name:
            self.ctx.cannot_express(
                f"a fixed container name (--name {member.container_name})",
                member.file,
                member.container.path,
                help="Nomad names containers <task>-<allocation id>; reach the member "
                "through its service instead",
            )
        group.add(task)

        meta = self._identity_meta(member.name, member.datum, part_of=stack.name)
        self._orchestration(member.orchestration, member.file, meta)
        self._meta(group, meta)
        return group

    def _restart(self, member: Member, group: Block) -> None:
        policy = member.restart
        if policy == "no":
            group.block("restart").attr("attempts", 0).attr("mode", "fail")
        elif policy in ("always", "unless-stopped"):
            group.add(
                Comment(
                    f"docker --restart={policy}: Nomad restarts service tasks and "
                    "reschedules failed allocations by default"
                )
            )
        elif policy.startswith("on-failure"):
            _, _, count = policy.partition(":")
            restart = group.block("restart")
            if count.isdigit():
                restart.attr("attempts", int(count)).attr("mode", "fail")
            else:
                restart.attr("mode", "delay")  # docker retries for ever
            self.ctx.cannot_express(
                f"restarting only after a failure (--restart={policy})",
                member.file,
                member.container.path,
                help="Nomad also restarts a service task that exits with status 0",
            )

    def _mounts(self, member: Member, config: Block) -> None:
        volumes: list[str] = []
        named = False
        for mount in member.mounts:
            source = mount.source
            if mount.kind == "bind" and not source.startswith("/"):
                self.ctx.cannot_express(
                    f"a bind mount of the relative host path {source}",
                    member.file,
                    mount.path,
                    help="use an absolute host path",
                )
                continue
            named = named or mount.kind == "volume"
            spec = f"{source}:{mount.target}" + (":ro" if mount.read_only else "")
            volumes.append(runtime_literal(spec))
        if not volumes:
            return
        config.add(Comment("host volumes need the docker plugin option volumes { enabled = true }"))
        config.attr("volumes", volumes)
        if named:
            # without a volume driver Nomad mounts a relative source from the allocation
            # directory; "local" makes it a docker named volume, as docker run -v does
            config.attr("volume_driver", "local")

    # -- tasks -------------------------------------------------------------

    def _task(
        self,
        name: str,
        container: Container,
        env: Sequence[EnvVar],
        resources: Resources,
        file: str,
        recorded: frozenset[str] | set[str] = frozenset(),
    ) -> Block:
        task = Block("task", [name])
        task.attr("driver", "docker")
        lines: list[str] = []  # env template lines
        secret: list[str] = []  # lines of the template that reads the job's Variable
        self._exported: set[str] = set()  # the B00T_* names the templates export
        config = task.block("config")
        config.attr("image", self._config_value(container.image, file, "B00T_IMAGE", lines))
        if container.command:
            config.attr(
                "entrypoint",
                [
                    self._config_value(v, file, f"B00T_CMD_{i}", lines, (name, secret))
                    for i, v in enumerate(container.command)
                ],
            )
        if container.args:
            config.attr(
                "args",
                [
                    self._config_value(v, file, f"B00T_ARG_{i}", lines, (name, secret))
                    for i, v in enumerate(container.args)
                ],
            )

        env_block: dict[str, str] = {}
        env_lines: list[str] = []
        secret_env: list[str] = []
        for var in env:
            if var.name in self._exported:  # one env name, two values (and Variable items)
                self.ctx.error(
                    "E0601", f"the env name {var.name} is the one target nomad gives a command "
                    "word or the image that it reads from its env template", file,
                    var.path or var.value.path, help="rename the env entry: names B00T_CMD_<n>, "
                    "B00T_ARG_<n> and B00T_IMAGE are b00tc's on Nomad")
                continue
            if var.value.host_vars:
                secret_env.append(_env_line(var.name, self.vars.parts(name, var.name, var.value, file)))
                continue
            parts = bake(var.value, self.ctx, file)
            literal = _literal(parts)
            if literal is not None and not _NOMAD_ENV_INTERP.search(literal):
                env_block[var.name] = literal
            else:
                env_lines.append(_env_line(var.name, parts))
        if env_block:
            task.add(Block("env", body=[Attribute(k, v) for k, v in env_block.items()]))
        lines = env_lines + lines
        if lines:
            task.add(_template("".join(lines), REFS_ENV_FILE))
        secret = secret_env + secret
        if secret:
            template = _template(self.vars.template_data(secret), VARS_ENV_FILE)
            task.add(template.attr("change_mode", "restart"))

        meta: dict[str, str] = {}
        res = self._resources(resources, file, meta)
        if res is not None:
            task.add(res)
        self._meta(task, {k: v for k, v in meta.items() if k not in recorded})
        return task

    def _config_value(
        self, value: Value, file: str, env_name: str, lines: list[str], secret=None
    ) -> Union[str, Raw]:
        """A driver config string; one holding a reference is exported by the env
        template as ``env_name`` and read back through Nomad's config interpolation, and
        so is one holding a host variable (``secret``: the task and its Variable template
        lines), from the job's Variable. The image is resolved at build time (W0304)."""
        if value.host_vars and secret is not None:
            task, secret_lines = secret
            secret_lines.append(_env_line(env_name, self.vars.parts(task, env_name, value, file)))
            self._exported.add(env_name)
            return Raw("${" + env_name + "}")
        warn_image(value, self.ctx, file)
        parts = bake(value, self.ctx, file)
        literal = _literal(parts)
        if literal is not None:
            return runtime_literal(literal)
        lines.append(_env_line(env_name, parts))
        self._exported.add(env_name)
        return Raw("${" + env_name + "}")

    def _wait_task(self, wait: WaitFor, file: str) -> Block:
        if not wait.member:  # nomadService never lists it: the template, and the job, wait for ever
            self.ctx.warn(
                "W0103",
                f"service {wait.service} of stack {wait.stack} has no deployable member: no Nomad "
                f"service {wait.service} is registered, and the job waits for it until its timeout",
                file,
                wait.path,
                help=f"register {wait.service} some other way, or remove the wait",
            )
        name = f"wait-for-{wait.service}"
        task = Block("task", [name])
        task.block("lifecycle").attr("hook", "prestart").attr("sidecar", False)
        task.attr("driver", "docker")
        timeout = self.ctx.wait_timeout
        what = f"service {wait.service} of stack {wait.stack}"
        script = wait_script(
            '"$B00T_WAIT_HOST"',
            '"$B00T_WAIT_PORT"',
            timeout,
            name=f"{what} at $B00T_WAIT_HOST:$B00T_WAIT_PORT",
        )
        config = task.block("config")
        config.attr("image", runtime_literal(self.ctx.helper_image))
        config.attr("command", "sh")
        config.attr("args", ["-c", runtime_literal(script)])
        host = Ref(stack=wait.stack, service=wait.service, field="host", port=wait.port)
        port = Ref(stack=wait.stack, service=wait.service, field="port", port=wait.port)
        data = _env_line("B00T_WAIT_HOST", [host]) + _env_line("B00T_WAIT_PORT", [port])
        task.add(_template(data, WAIT_ENV_FILE))
        task.block("resources").attr("cpu", 50).attr("memory", 32)
        return task

    # -- resources ---------------------------------------------------------

    def _resources(self, res: Resources, file: str, meta: dict[str, str]) -> Optional[Block]:
        if res.empty:
            return None
        out = Block("resources")
        if res.cpu_millis:
            if res.cpu_millis % 1000 == 0:
                out.attr("cores", res.cpu_millis // 1000)
            else:
                out.attr("cpu", res.cpu_millis)
                written = getattr(res, "cpu", "") or f"{res.cpu_millis}m"
                self.ctx.cannot_express(
                    f"a fraction of a core (cpu = {written}): Nomad measures cpu in MHz; "
                    f"b00tc assumed 1 core = 1000 MHz and reserved cpu = {res.cpu_millis}",
                    file,
                    getattr(res, "cpu_path", "") or res.path,
                    help="declare whole cores to reserve them exactly (Nomad cores)",
                )
        if res.memory_bytes:
            mib = max(math.ceil(res.memory_bytes / MIB), 1)
            written = getattr(res, "memory", "") or f"{res.memory_bytes} bytes"
            path = getattr(res, "memory_path", "") or res.path
            if mib < MIN_MEMORY_MIB:
                self.ctx.cannot_express(
                    f"memory below {MIN_MEMORY_MIB} MiB (memory = {written}): Nomad's minimum; "
                    f"b00tc reserved {MIN_MEMORY_MIB} MiB",
                    file,
                    path,
                )
                mib = MIN_MEMORY_MIB
            elif res.memory_bytes % MIB:
                self.ctx.cannot_express(
                    f"memory in units below 1 MiB (memory = {written}): Nomad sets memory in "
                    f"whole MiB (MB in its docs); b00tc rounded up to {mib} MiB",
                    file,
                    path,
                )
            out.attr("memory", mib)
        gpu = res.gpu
        if gpu is not None and gpu.count > 0:
            vendor = (gpu.vendor or "nvidia").lower()
            device = out.block("device", f"{vendor}/gpu").attr("count", gpu.count)
            if gpu.model:
                device.block("constraint").attr("attribute", Raw("${device.model}")).attr(
                    "operator", "regexp"
                ).attr("value", "(?i)" + re2_quote(gpu.model))
            if gpu.memory_bytes:
                device.block("constraint").attr("attribute", Raw("${device.attr.memory}")).attr(
                    "operator", ">="
                ).attr("value", f"{math.ceil(gpu.memory_bytes / MIB)} MiB")
            if gpu.shared:
                meta["b00t_gpu_shared"] = "true"
                self.ctx.cannot_express(
                    "a shared GPU (gpu_shared = true): Nomad has no GPU time-slicing and "
                    "reserves whole devices",
                    file,
                    gpu.path or res.path,
                    help="recorded as task meta b00t_gpu_shared",
                )
        return out if out.body else None

    def _stack_resources(self, stack: Stack, meta: dict[str, str]) -> None:
        res = stack.resources
        if res.empty:
            return
        shown: list[str] = []
        if res.cpu_millis:
            cpu = getattr(res, "cpu", "") or f"{res.cpu_millis}m"
            meta.setdefault("b00t_stack_cpu", cpu)
            shown.append(f"cpu = {cpu}")
        if res.memory_bytes:
            memory = getattr(res, "memory", "") or str(res.memory_bytes)
            meta.setdefault("b00t_stack_memory", memory)
            shown.append(f"memory = {memory}")
        if res.gpu is not None:
            meta.setdefault("b00t_stack_gpu_count", str(res.gpu.count))
            shown.append(f"gpu_count = {res.gpu.count}")
            if res.gpu.type:
                meta.setdefault("b00t_stack_gpu_type", res.gpu.type)
        self.ctx.cannot_express(
            f"stack-level resource limits ({', '.join(shown)})",
            stack.file,
            res.path,
            help="declare resources on the members",
        )

    # -- metadata ----------------------------------------------------------

    def _identity_meta(self, name: str, datum: str, part_of: str) -> dict[str, str]:
        meta: dict[str, str] = {"b00t_name": name}
        if part_of:
            meta["b00t_part_of"] = part_of
        meta["b00t_managed_by"] = "b00tc"
        meta["b00t_datum"] = datum
        if not part_of:  # annotations describe the root datum
            for ann in self.unit.annotations:
                meta.setdefault(meta_key(ann.key), ann.value)
        return meta

    def _orchestration(
        self, orch: Orchestration, file: str, meta: dict[str, str], stack_level: bool = False
    ) -> None:
        if orch.schedule_type:
            meta.setdefault("b00t_schedule_type", orch.schedule_type)
        # Nomad queues placements natively: an evaluation that does not fit is blocked
        # until capacity frees; the queue name is recorded for operators and tooling
        if orch.queue_name:
            meta.setdefault("b00t_queue_name", orch.queue_name)
        if orch.batch_group:
            meta.setdefault("b00t_batch_group", orch.batch_group)
        if orch.gpu_affinity:
            meta.setdefault("b00t_gpu_affinity", orch.gpu_affinity)
            whom = "the stack's members" if stack_level else "this workload with others"
            self.ctx.cannot_express(
                f"co-locating {whom} on one GPU node (gpu_affinity = {orch.gpu_affinity})",
                file,
                (orch.gpu_affinity_path or orch.path),
                help="Nomad co-locates only the tasks of one group; recorded as meta "
                "b00t_gpu_affinity",
            )

    @staticmethod
    def _meta(block: Block, meta: dict[str, str]) -> None:
        if meta:
            block.add(Block("meta", body=[Attribute(k, v) for k, v in meta.items()]))


def meta_key(key: str) -> str:
    return "b00t_" + _META_KEY_BAD.sub("_", key)


def _template(data: str, destination: str) -> Block:
    return Block("template").attr("data", data).attr("destination", destination).attr("env", True)


def _literal(parts: Iterable[Part]) -> Optional[str]:
    text = []
    for p in parts:
        if not isinstance(p, Lit):
            return None
        text.append(p.text)
    return "".join(text)


def _port_label(container: int, protocol: str, host: int, used: list[str]) -> str:
    """``p<container port>[_udp]``; a second mapping of the same port adds its host port."""
    base = f"p{container}" + ("_udp" if protocol == "udp" else "")
    label, n = base, 1
    while label in used:
        label = f"{base}_{host}" if n == 1 and host else f"{base}_{n}"
        n += 1
    used.append(label)
    return label


def _find(block: Block, type: str) -> Block:
    for item in block.body:
        if isinstance(item, Block) and item.type == type:
            return item
    raise KeyError(type)


# ---------------------------------------------------------------------------
# Workflow jobs
#
# A workflow job on Nomad (../shared/design/workflow-jobs.md): a ``type = "batch"`` job of
# one group and one task. Nomad orders tasks only by lifecycle hooks, not by a DAG, so the
# task runs the bash target's step runner (``_workflow_sh``), the same script byte for byte
# but for its header notes, as ``bash -c SCRIPT`` (docker driver, the workflow's image, which
# needs bash and coreutils: mktemp, mkfifo, env, and timeout for steps with ``timeout_ms``),
# in the workspace ``/workspace`` (``work_dir``; docker makes the folder). The steps share the
# container, as b00t's steps share the machine.
#
# The script is a driver ``config`` string: Nomad evaluates those again at task start, so
# ``${`` and ``%{`` are escaped for that (``nomad.runtime_literal``) and then for HCL
# (``_hcl``). The runner reads the host variables of env values from its environment when
# it starts (``b00t_v1=${NAME:-default}``): each host variable it reads is an item of the
# job's Nomad Variable, exported to the task's environment under its own name by the
# ``secrets/`` env template (deploy puts the Variable, as for container jobs).

#: where a workflow's steps run in the container (the contract's workspace)
WORKSPACE = "/workspace"
#: where the runner writes its steps' lifecycle (B00TC_STEP_EVENTS): the alloc dir, which the
#: docker driver mounts at /alloc; b00tc.runtime.steps.NOMAD_EVENTS reads it, the same path
NOMAD_EVENTS = "/alloc/b00tc-steps"


def _workflow(unit: Unit, wf: Workflow, ctx: Context) -> list[OutputFile]:
    if wf.image is None:
        ctx.error(
            "E0707",
            f"workflow {wf.name} has no image: target nomad runs the workflow in a container of an image",
            wf.file,
            "$.b00t.job",
            help='set image = "..." under [b00t.job] (an image with bash, and timeout for steps with '
            "timeout_ms); the host targets (bash, systemd) need none",
        )
        return []
    script = WorkflowScript(unit, wf, ctx, where=f"Runs in a container of the job's image, in {WORKSPACE} "
                            "(the workspace)").render()
    if script is None:
        return []
    for e in [*wf.env, *(e for s in (*wf.steps, *wf.rollback) for e in s.task.env)]:
        if e.value.refs:
            ctx.cannot_express(
                f"the reference in env {e.name} of a workflow: the step runner reaches the service at "
                "localhost:<port>, as on this host",
                wf.file,
                e.value.path or e.path,
                help="write the service's address as Nomad gives it, or use a stack",
            )

    r = _Renderer(unit, ctx)
    r.vars = JobVariable(wf.name, ctx.options["namespace"] or "")
    job = Block("job", [wf.name])
    r._placement(job).attr("type", "batch")
    meta = r._identity_meta(wf.name, f"{wf.name}.job", part_of="")
    r._orchestration(wf.orchestration, wf.file, meta)
    r._meta(job, meta)

    group = job.block("group", wf.name)
    group.attr("count", 1)
    # the runner retries steps itself (retry_failed_steps); the workflow runs once
    group.block("restart").attr("attempts", 0).attr("mode", "fail")
    group.block("reschedule").attr("attempts", 0).attr("unlimited", False)

    task = Block("task", [wf.name])
    task.attr("driver", "docker")
    config = task.block("config")
    lines: list[str] = []
    config.attr("image", r._config_value(wf.image, wf.file, "B00T_IMAGE", lines))
    config.attr("work_dir", WORKSPACE)
    config.add(Comment("the step runner of the bash target (b00tc build --target bash), byte for byte"))
    config.attr("entrypoint", ["bash"])
    config.attr("args", ["-c", runtime_literal(script), wf.name])
    if lines:  # the image holds a reference
        task.add(_template("".join(lines), "local/b00t-refs.env"))
    # where the runner writes each step's lifecycle, for b00tc status (nomad alloc fs)
    task.add(Block("env", body=[Attribute("B00TC_STEP_EVENTS", NOMAD_EVENTS)]))

    # the host variables the runner reads when it starts, by name, from the job's Variable
    seen: dict[str, HostVar] = {}
    for e in [*wf.env, *(e for s in (*wf.steps, *wf.rollback) for e in s.task.env)]:
        for v in e.value.host_vars:
            if v.name in seen and seen[v.name] != v:
                ctx.cannot_express(
                    f"host variable {v.name} read with two defaults or messages: the task's environment "
                    f"holds it once, resolved as ${{{seen[v.name].name}{seen[v.name].op}{seen[v.name].arg}}}",
                    wf.file,
                    e.value.path or e.path,
                )
            seen.setdefault(v.name, v)
    secret = [
        _env_line(name, r.vars.parts(wf.name, name, Value(parts=(v,), path=""), wf.file))
        for name, v in seen.items()
    ]
    if secret:
        template = _template(r.vars.template_data(secret), VARS_ENV_FILE)
        task.add(template.attr("change_mode", "restart"))
    res_meta: dict[str, str] = {}
    res = r._resources(wf.resources, wf.file, res_meta)
    if res is not None:
        task.add(res)
    r._meta(task, {k: v for k, v in res_meta.items() if k not in meta})
    group.add(task)
    r._register()

    header = [f"Generated by b00tc from {posixpath.basename(wf.file)}. Do not edit."]
    body: list[_hcl.Item] = []
    if wf.hint:
        body.append(Comment(wf.hint))
    body.append(job)
    return [OutputFile(f"{wf.name}.nomad.hcl", _hcl.dumps(body, header=header))]
