"""systemd units: a Job is a ``Type=oneshot`` service ``b00t-<job>.service`` that runs
``command + args`` on the host; a Stack is one service ``b00t-<stack>-<member>.service`` per
member, each running its container with ``docker run``, and a ``b00t-<stack>.target`` that
groups them. Every unit name starts with ``b00t-`` (``unit_name``), which no system unit
does, so that the units installed into /etc/systemd/system shadow none of the system's
(a job called ``sshd``, a stack called ``multi-user``); the containers keep their names.

References become ``localhost:<host port>``. Host variables are not resolved at build time
and no unit holds their value: a unit that uses one reads ``EnvironmentFile=/etc/b00t/<unit
name>.env`` (one file per job and per stack member, so that each service gets only its own
values; ``b00tc env`` prints the resolved files, to be installed with mode 0600). An env
entry that uses a host variable is a ``NAME=value`` line of that file, fully resolved
(Environment= does no expansion, so a value mixing text and variables is resolved whole);
a command word, an image or a ``-e`` option that uses one is a ``B00T_*`` variable of the
file, referred to as ``${B00T_...}``, a word of its own on the Exec line (systemd.service(5):
"replaced by the exact value of the environment variable ... always resulting in exactly a
single argument"). The environment file is written as systemd.exec(5), EnvironmentFile=,
reads it (``_envfile.env_line``).
Every string is written so that systemd hands it to the process byte for byte:

- systemd.syntax(7), "Quoting": an item wrapped in double (or single) quotes is one item,
  "C-style escapes are supported" (``\\\\``, ``\\"``, ``\\n``, ``\\t``, ``\\xNN``, ...);
  b00tc writes ``\\``, ``"`` and every control character as such an escape.
- systemd.unit(5), "Specifiers": ``%`` starts a specifier in Environment=, Exec*= and
  Description=; ``%%`` is a literal ``%``.
- systemd.service(5), "Command lines": ``${FOO}`` and ``$FOO`` are expanded from the
  unit's environment; "To pass a literal dollar sign, use ``$$``". A lone ``;`` separates
  commands, so it is quoted. systemd.exec(5), Environment=: "Variable expansion is not
  performed inside the strings and the ``$`` character has no special meaning".
"""

from __future__ import annotations

import re
from typing import Optional

from b00tc.backends import Backend, OutputFile
from b00tc.backends._context import Context
from b00tc.backends._host import (
    check_nul,
    container_name,
    docker_resources,
    health_flags,
    entrypoint,
    labels,
    mount_suffix,
    network,
    publish_specs,
    ref_for_member,
    ref_local,
    stack_resources,
    warn_container_name,
    warn_gpu_count_only,
    warn_unserved,
    warn_unserved_wait,
)
from b00tc.backends._systemd_syntax import (
    _EnvRefs,
    _head,
    _text,
    _unit_text,
    command_line,
    plain,
    quote,
    unit_name,
)
from b00tc.backends._systemd_syntax import resolved_text as resolved_text  # noqa: F401  (b00tc.envfiles reads it here)
from b00tc.ir import Gpu, HostVar, Job, Lit, Member, Mount, Resources, Stack, Unit, Value, Workflow

#: variables the docker CLI itself reads (where it finds docker, its config, its daemon,
#: its proxies, its loader): a member's value for one of these is passed as
#: ``-e NAME=value`` rather than through the unit's Environment=, which would reach the
#: docker CLI as well as the container
_DOCKER_CLI_VARS = frozenset(
    "PATH HOME TMPDIR HTTP_PROXY HTTPS_PROXY NO_PROXY ALL_PROXY "
    "http_proxy https_proxy no_proxy all_proxy".split()
)

_RESTART = {"always": "always", "unless-stopped": "always", "on-failure": "on-failure", "no": "no"}


class SystemdBackend(Backend):
    name = "systemd"
    aliases = ()
    KEEPS_HOST_VARS = False

    KINDS = ("job", "stack", "workflow")

    def render_workflow(self, unit: Unit, wf: Workflow, ctx: Context) -> list[OutputFile]:
        from b00tc.backends._workflow_units import WorkflowUnits

        return WorkflowUnits(unit, wf, ctx).render()

    def render_job(self, unit: Unit, job: Job, ctx: Context) -> list[OutputFile]:
        text = _JobUnit(unit, job, ctx).render()
        return [] if text is None else [OutputFile(f"{unit_name(job.name)}.service", text)]

    def render_stack(self, unit: Unit, stack: Stack, ctx: Context) -> list[OutputFile]:
        return _StackUnits(unit, stack, ctx).render()



def bash_check(script: str) -> str:
    """An ExecStartPre= running a bash snippet in a clean environment (the job's own
    variables, PATH or BASH_ENV among them, must not change the check)."""
    return "ExecStartPre=/usr/bin/env -i /bin/bash -c " + quote(script)


def wait_script(service: str, port: int, timeout: int) -> str:
    """The bounded retry loop: one connection attempt a second, at most ``timeout`` seconds
    of waiting. Ready means a connection that is not closed at once: docker-proxy accepts
    on a published port before the container's service listens, then closes it."""
    return (
        f'waited=0; echo "b00tc: waiting for {service} (localhost:{port})" >&2; '
        f"until (exec 3<>/dev/tcp/127.0.0.1/{port} && {{ read -r -t 1 -n 1 <&3; (($? != 1)); }}) 2>/dev/null; do "
        f"if ((waited >= {timeout})); then "
        f'echo "b00tc: timed out after {timeout} s waiting for {service} at localhost:{port}" >&2; '
        "exit 1; fi; sleep 1; waited=$((waited + 1)); done"
    )


def gpu_script(job: str, count: int) -> str:
    need = f"b00tc: {job} needs {count} NVIDIA GPU(s)"
    return (
        "if ! command -v nvidia-smi >/dev/null 2>&1; then "
        f'echo "{need}, but nvidia-smi is not installed" >&2; exit 1; fi; '
        "gpus=$(nvidia-smi -L 2>/dev/null | grep -c \"^GPU \" || true); "
        f'if ((gpus < {count})); then echo "{need}; nvidia-smi -L lists $gpus" >&2; exit 1; fi'
    )



def source_text(value: Value, refs=ref_local) -> str:
    """The value for a comment: host variables as they are written in the datum."""
    out = []
    for p in value.parts:
        if type(p) is Lit:
            out.append(p.text)
        elif type(p) is HostVar:
            out.append(f"${{{p.name}{p.op}{p.arg}}}")
        else:
            out.append(refs(p))
    return "".join(out)



# ---------------------------------------------------------------------------
# Job


class _JobUnit:
    def __init__(self, unit: Unit, job: Job, ctx: Context) -> None:
        self.unit, self.job, self.ctx, self.file = unit, job, ctx, job.file

    def render(self) -> Optional[str]:
        job, ctx, file = self.job, self.ctx, self.file
        c = job.container
        if not c.command:
            ctx.error(
                "E0107",
                f"job {job.name} has no command: target {ctx.target} runs the job on this host "
                "(not in its image), so it needs [b00t.container] command",
                file,
                c.path,
                help='write command = ["program", ...]; the image\'s ENTRYPOINT is not known here',
            )
            return None
        values = [*c.command, *c.args] + [e.value for e in job.env]
        if not all([check_nul(v, "a value", ctx, file) for v in values]):
            return None
        envs = _EnvRefs(unit_name(job.name), file, ctx, job.env)
        service = ["Type=oneshot"]
        env_names = {e.name for e in job.env}
        literal_env = []
        for e in job.env:
            if e.value.host_vars:
                envs.add(e.name, e.value)
            else:
                literal_env.append("Environment=" + quote(f"{e.name}={_text(e.value, ctx, file)}", False, force=True))
        exec_start = self.exec_start([*c.command, *c.args], envs)
        if exec_start is None:
            return None
        service += envs.lines() + literal_env

        notes = [
            f"Runs {job.name} on this host: the image "
            f"{source_text(c.image)} is not used."
        ] + envs.note()
        orch = job.orchestration
        if orch.queue_name or orch.schedule_type == "queue_based":
            notes.append(
                f"queue {orch.queue_name or '(default)'}: systemd has no queue, "
                "the job runs when started"
            )
        units = [f"{unit_name(container_name(s, m))}.service" for s in job.requires for m in s.members]
        unit_sec = [f"Description={plain(job.hint or job.name)}"]
        unit_sec.append("After=" + " ".join(["network-online.target"] + units))
        unit_sec.append("Wants=network-online.target")
        if units:
            unit_sec.append("Requires=" + " ".join(units))

        gpu = job.resources.gpu
        if gpu and gpu.count:
            notes += self.gpu_notes(gpu)
            if "CUDA_VISIBLE_DEVICES" not in env_names:
                devices = ",".join(str(i) for i in range(gpu.count))
                service.append(f'Environment="CUDA_VISIBLE_DEVICES={devices}"')
            service.append(bash_check(gpu_script(job.name, gpu.count)))
        for w in job.wait_for:
            warn_unserved_wait(w, file, ctx)
            service.append(bash_check(wait_script(w.service, w.host_port or w.port, ctx.wait_timeout)))
        service.append("ExecStart=" + exec_start)
        service += limits(job.resources)
        # no [Install]: a job runs when started (systemctl start); WantedBy=multi-user.target
        # ran it again at every boot once enabled
        return _unit_text(_head(self.unit, notes), [("Unit", unit_sec), ("Service", service)])

    def exec_start(self, values: list[Value], envs: _EnvRefs) -> Optional[str]:
        """The first item of an Exec line must be an executable path without specifiers,
        quotes, backslashes or control characters (systemd.service(5)); anything else runs
        through ``/usr/bin/env``, which looks it up on PATH. A word that uses a host
        variable is ``${B00T_ARG_<i>}`` (a program so given always runs through
        /usr/bin/env; ``b00tc env`` checks its value)."""
        rest = [envs.word(f"B00T_ARG_{i}", v) for i, v in enumerate(values) if i]
        if values[0].host_vars:  # "--": a value starting with "-" is the program, not an option
            return " ".join(["/usr/bin/env", "--", envs.word("B00T_ARG_0", values[0], program=True)] + rest)
        first = _text(values[0], self.ctx, self.file)
        if re.fullmatch(r"/[A-Za-z0-9_@+=:,./-]*[A-Za-z0-9_@+=:,.-]", first):
            return " ".join([first] + rest)
        if "=" in first:
            self.ctx.error(
                "E0601",
                f"the command {first!r} cannot be run by target systemd: it is not an absolute "
                "path, and /usr/bin/env would read a word with '=' as an assignment",
                self.file,
                self.job.container.command[0].path,
                help="write the command as an absolute path",
            )
            return None
        words = ["/usr/bin/env"] + (["--"] if first.startswith("-") else [])
        return " ".join(words + [quote(first)] + rest)

    def gpu_notes(self, gpu: Gpu) -> list[str]:
        warn_gpu_count_only(gpu, self.ctx, self.file, "the unit",
                            "set CUDA_VISIBLE_DEVICES in a drop-in to the GPUs to use")
        note = f"needs {gpu.count} GPU(s)" + (f" of type {gpu.type}" if gpu.type else "")
        return [note + (", shared" if gpu.shared else "")]


def limits(res: Resources) -> list[str]:
    """systemd.resource-control(5): CPUQuota= is a percentage of one CPU (1000m = 100%);
    MemoryMax= takes bytes."""
    out = []
    if res.cpu_millis:
        whole, frac = divmod(res.cpu_millis, 10)
        out.append(f"CPUQuota={whole}%" if not frac else f"CPUQuota={whole}.{frac}%")
    if res.memory_bytes:
        out.append(f"MemoryMax={res.memory_bytes}")
    return out


# ---------------------------------------------------------------------------
# Stack


class _StackUnits:
    def __init__(self, unit: Unit, stack: Stack, ctx: Context) -> None:
        self.unit, self.stack, self.ctx = unit, stack, ctx

    def render(self) -> list[OutputFile]:
        stack, ctx = self.stack, self.ctx
        notes = [f"{s.datum}: not a container datum, skipped" for s in stack.skipped]
        notes += warn_unserved(stack, ctx)
        notes += stack_resources(stack, ctx)
        files: list[OutputFile] = []
        ok = True
        for member in stack.members:
            text = self.member(member)
            if text is None:
                ok = False
            else:
                files.append(OutputFile(f"{unit_name(container_name(stack, member))}.service", text))
        if not ok:
            return []
        members = [f.path for f in files]
        unit_sec = [f"Description={plain(stack.hint or f'stack {stack.name}')}"]
        if members:
            unit_sec.append("Wants=" + " ".join(members))
        target = _unit_text(
            _head(self.unit, notes),
            [("Unit", unit_sec), ("Install", ["WantedBy=multi-user.target"])],
        )
        return files + [OutputFile(f"{unit_name(stack.name)}.target", target)]

    def member(self, member: Member) -> Optional[str]:
        stack, ctx, file = self.stack, self.ctx, member.file
        c = member.container
        values = [c.image, *c.command, *c.args] + [e.value for e in member.env]
        if not all([check_nul(v, f"a value of member {member.name}", ctx, file) for v in values]):
            return None
        warn_container_name(stack, member, ctx)
        name = container_name(stack, member)

        refs = ref_for_member(stack)
        net = network(stack)
        opts = ["--name", name, "--network", net, "--network-alias", member.name]
        for label in labels(stack, member):
            opts += ["--label", quote(label)]
        for spec in publish_specs(stack, member):
            opts += ["-p", quote(spec)]
        for mount in member.mounts:
            opts += ["-v", self.volume(mount, member)]
        envs = _EnvRefs(unit_name(name), file, ctx, member.env)
        environment = []
        for e in member.env:
            if e.name in _DOCKER_CLI_VARS or e.name.startswith(("DOCKER_", "LD_")):
                # `-e NAME=value`, one word: the docker CLI must not get NAME itself
                option = Value(parts=(Lit(text=f"{e.name}="), *e.value.parts), path=e.value.path)
                opts += ["-e", envs.word(f"B00T_E_{e.name}", option, refs)]
            elif e.value.host_vars:
                envs.add(e.name, e.value, refs)
                opts += ["-e", e.name]
            else:
                text = _text(e.value, ctx, file, refs)
                environment.append("Environment=" + quote(f"{e.name}={text}", False, force=True))
                opts += ["-e", e.name]
        opts += [w for flag, val in health_flags(member) for w in (flag, quote(val))]
        opts += docker_resources(member, ctx)
        entry, rest = entrypoint(c)
        if entry is not None:
            opts += ["--entrypoint", envs.word("B00T_ENTRYPOINT", entry, refs)]
        tail = [envs.word("B00T_IMAGE", c.image, refs)]
        tail += [envs.word(f"B00T_ARG_{i}", v, refs) for i, v in enumerate(rest)]
        run = ["/usr/bin/env", "docker", "run", "--rm"] + opts
        # options two by two on continuation lines, the image and its arguments last
        exec_start = command_line(run, per_line=4)
        exec_start += (" \\\n  " if len(run) > 6 else " ") + " ".join(tail)

        restart = _RESTART.get(member.restart.split(":")[0], "no") if member.restart else "no"
        notes = [f"member {member.datum} of stack {stack.name}"] + envs.note()
        if member.restart:
            notes.append(f"docker --restart {member.restart} -> Restart={restart}")
        description = member.hint or f"{member.name} (stack {stack.name})"
        unit_sec = [
            f"Description={plain(description)}",
            "After=network-online.target docker.service",
            "Wants=network-online.target",
            f"PartOf={unit_name(stack.name)}.target",
        ]
        service = envs.lines() + environment + [
            "ExecStartPre=-/usr/bin/env docker network create --label app.kubernetes.io/managed-by=b00tc "
            f"--label app.kubernetes.io/part-of={stack.name} {net}",
            f"ExecStartPre=-/usr/bin/env docker rm -f {name}",
            "ExecStart=" + exec_start,
            f"ExecStop=/usr/bin/env docker stop {name}",
            f"Restart={restart}",
        ]
        return _unit_text(
            _head(self.unit, notes),
            [
                ("Unit", unit_sec),
                ("Service", service),
                ("Install", [f"WantedBy={unit_name(stack.name)}.target"]),
            ],
        )

    def volume(self, mount: Mount, member: Member) -> str:
        """``-v source:target[:ro]``. docker does not expand ``~``; systemd's ``%h`` is the
        home directory of the service manager's user (systemd.unit(5), Specifiers)."""
        suffix = mount_suffix(mount)
        if mount.kind == "bind" and (mount.source == "~" or mount.source.startswith("~/")):
            return quote(mount.source[1:] + suffix, raw_prefix="%h")
        if mount.kind == "bind" and mount.source.startswith("~"):
            self.ctx.cannot_express(
                f"the bind source {mount.source!r} of member {member.name} (another user's "
                "home directory; only ~ is known, as %h)",
                member.file,
                mount.path,
                help="write the absolute path",
            )
        return quote(mount.source + suffix)
