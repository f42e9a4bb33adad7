"""Resolve what a datum names: stack members, required stacks (with cycles), the services of
each stack, ``wait_for_services`` entries and every ``${STACK:...}`` reference.

After this pass a Job's ``requires`` holds its stacks compiled, every Ref knows its
protocol, port, host port and serving member, and a Stack knows its members and services.
"""

from __future__ import annotations

import re
from typing import Optional

from msgspec.structs import replace

from b00tc.diagnostics import did_you_mean
from b00tc.ir import EnvVar, Job, Member, Name, Ref, ServiceDecl, SkippedMember, Stack, Unit, Value, WaitFor
from b00tc.passes import PassContext

_IN_PROGRESS = object()


def resolve_references(unit: Unit, ctx: PassContext) -> Unit:
    d = unit.datum
    if isinstance(d, Stack):
        return replace(unit, datum=_root_stack(d, ctx))
    assert isinstance(d, Job)
    scope = _required(d.requires_stacks, d.name, d.file, ctx, chain=(d.name,))
    resolve = lambda v: _value(v, scope, d.name, d.file, ctx)  # noqa: E731
    job = replace(
        d,
        requires=tuple(s for s in scope.values() if s is not None),
        wait_for=_wait_for(d, scope, ctx),
        env=tuple(replace(e, value=resolve(e.value)) for e in d.env),
        container=replace(
            d.container,
            image=resolve(d.container.image),
            command=tuple(resolve(v) for v in d.container.command),
            args=tuple(resolve(v) for v in d.container.args),
        ),
    )
    return replace(unit, datum=job)


# ---------------------------------------------------------------------------
# Stacks


def _root_stack(stack: Stack, ctx: PassContext) -> Stack:
    """A stack given on the command line; shared with jobs of the same run that require it,
    so that it is compiled (and warned about) once."""
    import os

    from b00tc.passes.normalize_resources import normalize_stack

    cached = ctx.stacks.get(stack.name)
    if isinstance(cached, Stack) and os.path.normpath(cached.file) == os.path.normpath(stack.file):
        return cached
    ctx.stacks[stack.name] = _IN_PROGRESS
    compiled = normalize_stack(compile_stack(stack, ctx, chain=()), ctx)
    ctx.stacks[stack.name] = compiled
    return compiled


def compile_stack(stack: Stack, ctx: PassContext, chain: tuple[str, ...]) -> Stack:
    members: list[Member] = []
    skipped: list[SkippedMember] = []
    seen: set[str] = set()
    for n in stack.member_names:
        m = _member(n, stack, ctx)
        if m is None:
            continue
        if isinstance(m, SkippedMember):
            skipped.append(m)
            continue
        if m.name in seen:
            ctx.diags.error(
                "E0113", f"member {n.value} is listed twice", stack.file, n.path
            )
            continue
        seen.add(m.name)
        members.append(m)
    services = _services(stack, members)
    if not members:
        ctx.diags.warn(
            "W0104",
            f"stack {stack.name} has no deployable member: nothing is written for it",
            stack.file,
            stack.member_names[0].path if stack.member_names else "$.b00t.name",
            help="add docker members (members = [\"<name>.docker\", ...])",
        )
    compiled = replace(stack, members=tuple(members), skipped=tuple(skipped), services=services)
    scope = _required(stack.requires_stacks, stack.name, stack.file, ctx, chain + (stack.name,))
    scope[stack.name] = compiled
    resolve_in = lambda v, file: _value(v, scope, stack.name, file, ctx)  # noqa: E731
    env = tuple(replace(e, value=resolve_in(e.value, stack.file)) for e in stack.env)
    final_members = []
    for m in members:
        own = tuple(replace(e, value=resolve_in(e.value, m.file)) for e in m.env)
        merged: dict[str, EnvVar] = {e.name: e for e in env}
        merged.update({e.name: e for e in own})
        final_members.append(
            replace(
                m,
                env=tuple(merged.values()),
                container=replace(
                    m.container,
                    image=resolve_in(m.container.image, m.file),
                    command=tuple(resolve_in(v, m.file) for v in m.container.command),
                    args=tuple(resolve_in(v, m.file) for v in m.container.args),
                ),
            )
        )
    return replace(
        compiled,
        members=tuple(final_members),
        env=env,
        requires=tuple(s for n, s in scope.items() if n != stack.name and s is not None),
    )


def _member(n: Name, stack: Stack, ctx: PassContext):
    qualified = n.value
    name, dot, kind = qualified.rpartition(".")
    if not dot or not name:
        ctx.diags.error(
            "E0302",
            f"member {qualified!r} is not <name>.<type>",
            stack.file,
            n.path,
            help='write members = ["n8n.docker", ...]',
        )
        return None
    if kind != "docker":
        targets = ", ".join(ctx.targets) or "every container target"
        ctx.diags.warn(
            "W0101",
            f"member {qualified} is a {kind} datum, not a container: skipped on {targets}",
            stack.file,
            n.path,
            help="only docker members are deployed; run it with b00t itself",
        )
        return SkippedMember(datum=qualified, kind=kind, path=n.path)
    if qualified in ctx.members:
        return ctx.members[qualified]
    from b00tc.frontend.build import build_member
    from b00tc.frontend.read import read_datum

    file = ctx.search.find(qualified)
    member = None
    if file is None:
        _not_found(qualified, stack.file, n.path, ctx, "member")
    else:
        raw = read_datum(file, None, ctx.diags, expect_kind="docker")
        member = build_member(raw, ctx.diags) if raw is not None else None
        if member is not None:
            from b00tc.passes.normalize_resources import normalize_member

            member = normalize_member(member, ctx)
    ctx.members[qualified] = member
    return member


def _not_found(qualified: str, file: str, path: str, ctx: PassContext, what: str) -> None:
    near = ctx.search.closest(qualified)
    ctx.diags.error(
        "E0302",
        f"{what} {qualified} not found on the datum search path",
        file,
        path,
        help=(f"did you mean {near!r}? " if near else "")
        + f"searched {', '.join(ctx.search.dirs)}; add a folder with -I DIR or B00T_DATUM_PATH",
    )


def _services(stack: Stack, members: list[Member]) -> tuple[ServiceDecl, ...]:
    by_name = {m.name: m for m in members}
    out = []
    declared = set()
    for s in stack.services:
        m = by_name.get(s.name)
        declared.add(s.name)
        out.append(replace(s, member=m.name if m else "", host_port=_host_port(m, s.port)))
    for m in members:
        if m.name not in declared and m.ports:
            p = m.ports[0]
            out.append(
                ServiceDecl(
                    name=m.name,
                    port=p.container,
                    protocol="http",
                    member=m.name,
                    host_port=p.host or p.container,
                    path=p.path,
                )
            )
    return tuple(out)


def _host_port(m: Optional[Member], port: int) -> int:
    if m is not None:
        for p in m.ports:
            if p.container == port and p.host:
                return p.host
    return port


def _required(
    names: tuple[Name, ...], owner: str, file: str, ctx: PassContext, chain: tuple[str, ...]
) -> dict[str, Optional[Stack]]:
    scope: dict[str, Optional[Stack]] = {}
    for n in names:
        scope[n.value] = _stack(n, owner, file, ctx, chain)
    return scope


def _stack(n: Name, owner: str, file: str, ctx: PassContext, chain: tuple[str, ...]) -> Optional[Stack]:
    name = n.value
    if name in chain or name == owner:
        cycle = " -> ".join(chain + (name,)) if name in chain else f"{owner} -> {name}"
        ctx.diags.error(
            "E0305",
            f"stacks require each other in a cycle: {cycle}",
            file,
            n.path,
            help="a stack cannot require itself, directly or through others",
        )
        return None
    cached = ctx.stacks.get(name)
    if cached is _IN_PROGRESS:
        ctx.diags.error(
            "E0305", f"stacks require each other in a cycle through {name}", file, n.path
        )
        return None
    if name in ctx.stacks:
        return cached
    from b00tc.frontend.build import build_stack
    from b00tc.frontend.read import read_datum

    path = ctx.search.find(f"{name}.stack")
    if path is None:
        _not_found(f"{name}.stack", file, n.path, ctx, "required stack")
        ctx.stacks[name] = None
        return None
    ctx.stacks[name] = _IN_PROGRESS
    raw = read_datum(path, None, ctx.diags, expect_kind="stack")
    stack = None
    if raw is not None:
        stack = compile_stack(build_stack(raw, ctx.diags), ctx, chain)
        from b00tc.passes.normalize_resources import normalize_stack

        stack = normalize_stack(stack, ctx)
    ctx.stacks[name] = stack
    return stack


# ---------------------------------------------------------------------------
# References


def _value(
    v: Value, scope: dict[str, Optional[Stack]], owner: str, file: str, ctx: PassContext
) -> Value:
    if not any(type(p) is Ref for p in v.parts):
        return v
    parts = []
    for p in v.parts:
        if type(p) is Ref:
            p = _ref(p, v, scope, owner, file, ctx)
        parts.append(p)
    return replace(v, parts=tuple(parts))


def _ref(
    ref: Ref, v: Value, scope: dict[str, Optional[Stack]], owner: str, file: str, ctx: PassContext
) -> Ref:
    needle = f"STACK:{ref.stack}:{ref.service}"
    if ref.stack not in scope:
        ctx.diags.error(
            "E0303",
            f"reference to stack {ref.stack}, which {owner} does not require",
            file,
            v.path,
            needle=needle,
            help=f'add "{ref.stack}" to [b00t.dependencies] requires_stacks'
            + (f" (required: {', '.join(scope)})" if scope else ""),
        )
        return ref
    stack = scope[ref.stack]
    if stack is None:  # its own error was reported
        return ref
    svc = stack.service(ref.service)
    if svc is None:
        known = [s.name for s in stack.services]
        guess = did_you_mean(ref.service, known)
        ctx.diags.error(
            "E0304",
            f"stack {ref.stack} has no service {ref.service}",
            file,
            v.path,
            needle=needle,
            help=(f"did you mean {guess!r}? " if guess else "")
            + (f"its services: {', '.join(known)}" if known else "it declares no services and no member publishes a port"),
        )
        return ref
    port = svc.port
    host_port = svc.host_port or svc.port
    if ref.port and ref.port != svc.port:
        member = next((m for m in stack.members if m.name == svc.member), None)
        ports = {svc.port} | {p.container for p in (member.ports if member else ())}
        if ref.port not in ports:
            ctx.diags.error(
                "E0304",
                f"service {ref.service} of stack {ref.stack} has no port {ref.port}",
                file,
                v.path,
                needle=needle,
                help=f"its ports: {', '.join(str(p) for p in sorted(ports))}",
            )
            return ref
        port = ref.port
        host_port = _host_port(member, port)
    return replace(
        ref, protocol=svc.protocol, port=port, host_port=host_port, member=svc.member
    )


_WAIT = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?)(?::([0-9]{1,5}))?$")


def _wait_for(job: Job, scope: dict[str, Optional[Stack]], ctx: PassContext) -> tuple[WaitFor, ...]:
    out = []
    for n in job.wait_for_services:
        m = _WAIT.match(n.value)
        if not m or (m.group(3) and not 1 <= int(m.group(3)) <= 65535):
            ctx.diags.error(
                "E0306",
                f"cannot read wait_for_services entry {n.value!r}",
                job.file,
                n.path,
                help='write "service:port" (or "service") naming a service of a required stack',
            )
            continue
        service, port = m.group(1), int(m.group(3) or 0)
        found = None
        for stack in scope.values():
            if stack is not None and stack.service(service) is not None:
                found = (stack, stack.service(service))
                break
        if found is None:
            if any(s is None for s in scope.values()):
                continue  # a required stack failed to load; its error says why
            known = sorted({s.name for st in scope.values() if st for s in st.services})
            guess = did_you_mean(service, known)
            ctx.diags.error(
                "E0304",
                f"wait_for_services names {service}, which no required stack provides",
                job.file,
                n.path,
                help=(f"did you mean {guess!r}? " if guess else "")
                + (f"services of the required stacks: {', '.join(known)}" if known else "add the stack that provides it to requires_stacks"),
            )
            continue
        stack, svc = found
        assert svc is not None
        port = port or svc.port
        member = next((mm for mm in stack.members if mm.name == svc.member), None)
        ports = {svc.port} | {p.container for p in (member.ports if member else ())}
        if port not in ports:
            ctx.diags.error(
                "E0304",
                f"service {service} of stack {stack.name} has no port {port}",
                job.file,
                n.path,
                help=f"its ports: {', '.join(str(p) for p in sorted(ports))}",
            )
            continue
        out.append(
            WaitFor(
                stack=stack.name,
                service=service,
                port=port,
                host_port=_host_port(member, port),
                member=svc.member,
                path=n.path,
            )
        )
    return tuple(out)
