"""What the two host targets share, bash and systemd: both run a stack's members as
containers on this host (``${B00T_CONTAINER_RUNTIME:-docker}`` / ``docker run``) on the
stack's own docker network, and reach services through ``localhost``. These helpers decide
what a member's container publishes, mounts, carries and is called, and report what the
host targets cannot honour, the same way for both.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple, Optional

from b00tc.backends._context import Context
from b00tc.backends._values import ref_text
from b00tc.ir import (
    duration,
    Container,
    Gpu,
    HostVar,
    Lit,
    Member,
    Mount,
    Ref,
    Stack,
    Value,
    WaitFor,
)

# Where a docker datum writes --name and --restart: Member has no path of its own for them.
DOCKER_ARGS_PATH = "$.b00t.docker_args"


def comment(text: str) -> str:
    """Text that stays on one comment line: control characters (newlines above all, which
    would end the comment and start code) are written as C escapes, ``\\`` doubled."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def ref_local(ref: Ref) -> str:
    """A reference on the direct targets: the service as published on this host."""
    return ref_text(ref, "localhost", ref.host_port or ref.port)


def network(stack: Stack) -> str:
    """The docker network the direct targets create for a stack's members."""
    return f"b00t-{stack.name}"


def ref_for_member(stack: Stack) -> "MemberRefs":
    """References inside a stack's own members: the members share the stack's docker
    network, where each answers to its member name on its container port (as in compose);
    ``localhost`` inside a container would be the container itself. A reference to another
    stack goes through the host (its published port on the docker host gateway is not
    portable, so it stays localhost, and the README says so)."""
    return MemberRefs(stack.name)


class MemberRefs(NamedTuple):
    """ref_for_member's renderer: a value, not a closure, so that what a render returns
    (EnvEntry.refs) can be carried between the processes of ``build -j``."""

    stack: str

    def __call__(self, ref: Ref) -> str:
        if ref.stack == self.stack and ref.member:
            return ref_text(ref, ref.member, ref.port)
        return ref_local(ref)


def value_texts(value: Value) -> Iterable[str]:
    """The texts a value carries as written (literals, host variable defaults and
    messages): what must not hold a NUL. Reference texts are b00tc's own."""
    for p in value.parts:
        if type(p) is Lit:
            yield p.text
        elif type(p) is HostVar:
            yield p.arg


def check_nul(value: Value, what: str, ctx: Context, file: str) -> bool:
    """A NUL cannot be in an argument or an environment value on any Unix: report it, once
    per build (bash and systemd find the same)."""
    if any("\0" in t for t in value_texts(value)):
        with ctx.reporting_once(("NUL", file, value.path, what)):
            ctx.error(
                "E0601",
                f"{what} contains a NUL character, which no process argument or environment "
                "value can hold",
                file,
                value.path,
            )
        return False
    return True


# ---------------------------------------------------------------------------
# What a member's container publishes, mounts and carries (bash and systemd)


def cpus(millis: int) -> str:
    """docker's ``--cpus``: cores as a decimal, no trailing zeros (1500 -> 1.5)."""
    whole, frac = divmod(millis, 1000)
    return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") if frac else str(whole)


def publish_specs(stack: Stack, member: Member) -> list[str]:
    """``-p`` values for a member: its own ports, a port without a fixed host port on the
    same host port (that is where ``resolve_references`` tells the direct targets to look:
    ``ServiceDecl.host_port`` is the published port, else the container port), and the
    declared services it serves that no ``-p`` of its own publishes."""
    out: list[str] = []
    seen: set[tuple[int, str]] = set()
    for p in member.ports:
        host = p.host or p.container
        ip = f"[{p.host_ip}]" if ":" in p.host_ip else p.host_ip
        spec = f"{ip}:{host}:{p.container}" if ip else f"{host}:{p.container}"
        if p.protocol != "tcp":
            spec += f"/{p.protocol}"
        out.append(spec)
        seen.add((p.container, p.protocol))
    for s in stack.services:
        if s.member == member.name and (s.port, "tcp") not in seen:
            out.append(f"{s.host_port or s.port}:{s.port}")
            seen.add((s.port, "tcp"))
    return out


def mount_suffix(mount: Mount) -> str:
    return f":{mount.target}" + (":ro" if mount.read_only else "")


def labels(stack: Stack, member: Member) -> list[str]:
    """docker run --label values (b00tc.backends._meta)."""
    from b00tc.backends._meta import identity

    return [f"{k}={v}" for k, v in identity(member.name, member.datum, stack.name).items()]


def container_name(stack: Stack, member: Member) -> str:
    return f"{stack.name}-{member.name}"


def entrypoint(container: Container) -> tuple[Optional[Value], tuple[Value, ...]]:
    """docker's ``--entrypoint`` takes one string: the first command element. The other
    command elements go before the args, after the image."""
    if not container.command:
        return None, container.args
    return container.command[0], container.command[1:] + container.args


def warn_container_name(stack: Stack, member: Member, ctx: Context) -> None:
    if member.container_name and member.container_name != container_name(stack, member):
        ctx.warn(
            "W0102",
            f"docker argument --name {member.container_name} of member {member.name} is not "
            f"carried to target {ctx.target}: the container is named "
            f"{container_name(stack, member)}",
            member.file,
            DOCKER_ARGS_PATH,
            help="container names are global on a host; b00tc prefixes them with the stack",
        )


def health_flags(member: Member) -> list[tuple[str, str]]:
    """The member's ``--health-*`` flags for ``docker run``, each (flag, value unquoted):
    docker runs the command with ``/bin/sh -c``, as it read it from the datum."""
    h = member.health
    if h is None:
        return []
    out = [("--health-cmd", h.cmd)]
    for flag, ms in (("--health-interval", h.interval_ms), ("--health-timeout", h.timeout_ms),
                     ("--health-start-period", h.start_period_ms)):
        if ms:
            out.append((flag, duration(ms)))
    if h.retries:
        out.append(("--health-retries", str(h.retries)))
    return out


def docker_resources(member: Member, ctx: Context) -> list[str]:
    """``docker run`` flags for a member's resources: they bind the container."""
    res = member.resources
    out: list[str] = []
    if res.cpu_millis:
        out += ["--cpus", cpus(res.cpu_millis)]
    if res.memory_bytes:
        out += ["--memory", str(res.memory_bytes)]
    gpu = res.gpu
    if gpu and gpu.count:
        out += ["--gpus", str(gpu.count)]
        selection = gpu_selection(gpu)
        if selection:
            ctx.cannot_express(
                f"GPU selection by {selection} for member {member.name} (docker --gpus "
                "takes a count or device ids)",
                member.file,
                gpu_path(gpu),
            )
    return out


def gpu_selection(gpu: Gpu) -> str:
    """What a GPU requirement asks beyond a count, as words, or ""."""
    parts = []
    if gpu.model:
        parts.append(f"model {gpu.model}")
    if gpu.memory_bytes:
        parts.append(f"memory {gpu.memory or gpu.memory_bytes}")
    return " and ".join(parts)


def warn_gpu_count_only(gpu: Gpu, ctx: Context, file: str, checker: str, help: str) -> None:
    """bash and systemd check a host's GPUs by counting NVIDIA GPUs with nvidia-smi: say
    what that cannot express (another vendor; a GPU type or memory to select by)."""
    if gpu.vendor != "nvidia":
        ctx.cannot_express(
            f"a check for {gpu.vendor} GPUs (only NVIDIA GPUs are counted, with nvidia-smi)",
            file,
            gpu.type_path or gpu.path,
        )
    selection = gpu_selection(gpu)
    if selection:
        ctx.cannot_express(
            f"GPU selection by {selection} ({checker} checks the GPU count only)",
            file,
            gpu_path(gpu),
            help=help,
        )


def gpu_path(gpu: Gpu) -> str:
    return (gpu.type_path if gpu.model else gpu.memory_path) or gpu.path


def stack_resources(stack: Stack, ctx: Context) -> list[str]:
    """Stack-level resources bind no member: a comment and the warning."""
    res = stack.resources
    if res.empty:
        return []
    parts = []
    if res.cpu_millis:
        parts.append(f"cpu {res.cpu or cpus(res.cpu_millis)}")
    if res.memory_bytes:
        parts.append(f"memory {res.memory or res.memory_bytes}")
    if res.gpu and res.gpu.count:
        parts.append(f"{res.gpu.count} GPU {res.gpu.type}".rstrip())
    what = ", ".join(parts)
    ctx.cannot_express(
        f"stack-level resource limits ({what})",
        stack.file,
        res.path,
        help="declare resources on the members",
    )
    return [f"stack-level resources (not applied to any member): {what}"]


def warn_unserved(stack: Stack, ctx: Context) -> list[str]:
    out = []
    for s in stack.services:
        if not s.member:
            ctx.warn(
                "W0103",
                f"service {s.name} has no deployable member on target {ctx.target}: nothing "
                f"is started for localhost:{s.host_port or s.port}",
                stack.file,
                s.path,
            )
            out.append(f"service {s.name}: no deployable member, not started")
    return out


def warn_unserved_wait(wait: WaitFor, file: str, ctx: Context) -> None:
    """Both direct targets (bash, systemd) wait on localhost: one finding for the build."""
    if not wait.member:
        with ctx.reporting_once(("wait-on-host", file, wait.path)):
            ctx.warn(
                "W0103",
                f"service {wait.service} of stack {wait.stack} has no deployable member: the job "
                f"waits for localhost:{wait.host_port or wait.port}, which the stack does not start",
                file,
                wait.path,
                help=f"start {wait.service} some other way, or remove the wait",
            )

