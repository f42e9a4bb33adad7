"""Resolve what a datum names, over the linked program: the services of each stack,
required and included stacks (with cycles, however the two mix), ``wait_for_services``
entries and every ``${STACK:...}`` reference. A stack's references reach the stacks it
requires and includes, and the stacks those include (``Program.needs``).

After this pass each stack of the program knows its members (the stack's env merged under
each member's own, references resolved in the stack's scope) and its services, each job
its ``wait_for``, and every Ref its protocol, port, host port and serving member. Stacks
are compiled once, in the order the roots first need them.
"""

from __future__ import annotations

import re
from typing import Optional

from msgspec.structs import replace

from b00tc.diagnostics import did_you_mean
from b00tc.ir import Edge, EnvVar, Job, Member, Program, Ref, ServiceDecl, Stack, Step, Value, WaitFor, Workflow
from b00tc.passes.context import PassContext

_IN_PROGRESS = object()


def resolve_references(program: Program, ctx: PassContext) -> Program:
    r = _Resolver(program, ctx)
    for key in program.roots:
        d = program.datums[key]
        if isinstance(d, Stack):
            r.stack(key, chain=())
        elif isinstance(d, Workflow):
            r.datums[key] = r.workflow(key, d)
        else:
            assert isinstance(d, Job)
            r.datums[key] = r.job(key, d)
    return replace(program, datums=r.datums)


class _Resolver:
    def __init__(self, program: Program, ctx: PassContext) -> None:
        self.program = program
        self.ctx = ctx
        self.datums = dict(program.datums)
        #: stack key -> compiled stack, _IN_PROGRESS while its requirements are compiled,
        #: None when it cannot be (its error was reported)
        self.compiled: dict[str, object] = {}
        #: (stack or job name, stack name) -> "require" or "include": how each edge followed
        #: was written, for a cycle's message
        self.how: dict[tuple[str, str], str] = {}

    def job(self, key: str, d: Job) -> Job:
        scope = self.required(self.program.requires.get(key, ()), d.name, d.file, chain=(d.name,))
        self.beside(key, scope)
        resolve = lambda v: _value(v, scope, d.name, d.file, self.ctx)  # noqa: E731
        return replace(
            d,
            wait_for=_wait_for(d, scope, self.ctx),
            env=tuple(replace(e, value=resolve(e.value)) for e in d.env),
            container=replace(
                d.container,
                image=resolve(d.container.image),
                command=tuple(resolve(v) for v in d.container.command),
                args=tuple(resolve(v) for v in d.container.args),
            ),
        )

    def workflow(self, key: str, d: Workflow) -> Workflow:
        """A workflow's env values (the job's and each step's) and its image, resolved in the
        scope of the stacks it requires; commands are bash source, never read."""
        scope = self.required(self.program.requires.get(key, ()), d.name, d.file, chain=(d.name,))
        self.beside(key, scope)
        resolve = lambda v: _value(v, scope, d.name, d.file, self.ctx)  # noqa: E731

        def env(vars: tuple[EnvVar, ...]) -> tuple[EnvVar, ...]:
            return tuple(replace(e, value=resolve(e.value)) for e in vars)

        def steps(ss: tuple[Step, ...]) -> tuple[Step, ...]:
            return tuple(replace(s, task=replace(s.task, env=env(s.task.env))) for s in ss)

        return replace(
            d,
            env=env(d.env),
            image=resolve(d.image) if d.image is not None else None,
            steps=steps(d.steps),
            rollback=steps(d.rollback),
        )

    def stack(self, key: str, chain: tuple[str, ...]) -> Optional[Stack]:
        done = self.compiled.get(key)
        if isinstance(done, Stack):
            return done
        self.compiled[key] = _IN_PROGRESS
        compiled = self.compile_stack(key, chain)
        self.compiled[key] = compiled
        self.datums[key] = compiled
        return compiled

    def compile_stack(self, key: str, chain: tuple[str, ...]) -> Stack:
        program, ctx = self.program, self.ctx
        stack = program.datums[key]
        assert isinstance(stack, Stack)
        members = [program.members[e.target] for e in program.member_edges.get(key, ())]
        compiled = replace(stack, members=tuple(members), services=_services(stack, members))
        scope = self.required(program.requires.get(key, ()), stack.name, stack.file, chain + (stack.name,))
        scope.update(self.required(program.includes.get(key, ()), stack.name, stack.file, chain + (stack.name,),
                                   how="include"))
        self.beside(key, scope)
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
        return replace(compiled, members=tuple(final_members), env=env)

    def required(
        self, edges: tuple[Edge, ...], owner: str, file: str, chain: tuple[str, ...], how: str = "require"
    ) -> dict[str, Optional[Stack]]:
        """The stacks ``edges`` name (required, or included with ``how="include"``), each
        compiled, by name."""
        scope: dict[str, Optional[Stack]] = {}
        for e in edges:
            self.how.setdefault((owner, e.name), how)
            scope[e.name] = self.required_stack(e, owner, file, chain)
        return scope

    def beside(self, key: str, scope: dict[str, Optional[Stack]]) -> None:
        """Into ``scope``, the stacks deployed with those it names: what the stacks it
        requires include, and what the stacks it includes include (``Program.needs``)."""
        for k in self.program.needs(key):
            c = self.compiled.get(k)
            if isinstance(c, Stack):
                scope.setdefault(c.name, c)

    def required_stack(self, e: Edge, owner: str, file: str, chain: tuple[str, ...]) -> Optional[Stack]:
        name = e.name
        if name in chain or name == owner:
            names = chain[chain.index(name):] + (name,) if name in chain else (owner, name)
            hows = {self.how.get(pair, "require") for pair in zip(names, names[1:])}
            verb = "include and require" if len(hows) > 1 else hows.pop()
            cycle = " -> ".join(chain + (name,)) if name in chain else f"{owner} -> {name}"
            self.ctx.diags.error(
                "E0305",
                f"stacks {verb} each other in a cycle: {cycle}",
                file,
                e.path,
                help=f"a stack cannot {verb.replace('and', 'or')} itself, directly or through others",
            )
            return None
        if not e.target:  # not found or unreadable: the link phase said so
            return None
        if self.compiled.get(e.target) is _IN_PROGRESS:
            self.ctx.diags.error(
                "E0305", f"stacks require or include each other in a cycle through {name}", file, e.path
            )
            return None
        return self.stack(e.target, chain)


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
