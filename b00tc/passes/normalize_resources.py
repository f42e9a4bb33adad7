"""Normalise resources: cpu to millicores, memory to bytes, GPU vendor and model from
``gpu_type``; every unit validated.

Every member and datum of the program is normalised once, however many stacks and roots
use it; a stack's members (copies made by resolve_references) take their member's result.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext

from msgspec.structs import replace

from b00tc.ir import Datum, Gpu, Member, Program, Resources, Stack, key_of
from b00tc.passes.context import PassContext

_CPU = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,12})?|\.[0-9]{1,12})(m?)$")
_MEM = re.compile(r"([0-9]{1,24}(?:\.[0-9]{1,24})?|\.[0-9]{1,24})\s*(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?(B)?$")
#: limits beyond any machine: a million cores, an exbibyte, 1024 GPUs
MAX_MILLIS = 10**9
MAX_BYTES = 2**60
MAX_GPUS = 1024
_MULT = {
    None: 1,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "k": 10**3,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}
VENDORS = ("nvidia", "amd", "intel")


def normalize_resources(program: Program, ctx: PassContext) -> Program:
    members = {k: normalize_member(m, ctx) for k, m in program.members.items()}
    datums: dict[str, Datum] = {}
    for key, d in program.datums.items():
        d = replace(d, resources=_resources(d.resources, d.file, ctx))
        if isinstance(d, Stack):
            d = replace(
                d,
                members=tuple(
                    replace(m, resources=members[key_of(m.file)].resources) for m in d.members
                ),
            )
        datums[key] = d
    return replace(program, datums=datums, members=members)


def normalize_member(member: Member, ctx: PassContext) -> Member:
    return replace(member, resources=_resources(member.resources, member.file, ctx))


def cpu_millis(text: str) -> int | None:
    m = _CPU.match(text.strip())
    if not m:
        return None
    with localcontext() as c:
        c.prec = 60  # exact for every value the pattern admits
        try:
            n = Decimal(m.group(1))
        except InvalidOperation:  # pragma: no cover
            return None
        millis = n if m.group(2) else n * 1000
        if millis != millis.to_integral_value() or not 0 < millis <= MAX_MILLIS:
            return None
        return int(millis)


def memory_bytes(text: str) -> int | None:
    m = _MEM.match(text.strip())
    if not m:
        return None
    with localcontext() as c:
        c.prec = 60
        n = Decimal(m.group(1)) * _MULT[m.group(2)]
        if n != n.to_integral_value() or not 0 < n <= MAX_BYTES:
            return None
        return int(n)


def _resources(r: Resources, file: str, ctx: PassContext) -> Resources:
    cpu = 0
    if r.cpu:
        got = cpu_millis(r.cpu)
        if got is None:
            ctx.diags.error(
                "E0201",
                f"expected a core count, got {r.cpu!r}",
                file,
                r.cpu_path,
                help='write cpu = 4, cpu = "500m" or cpu = 0.5 (whole millicores, 1m to a million cores)',
            )
        else:
            cpu = got
    mem = 0
    if r.memory:
        got = memory_bytes(r.memory)
        if got is None:
            ctx.diags.error(
                "E0202",
                f"expected a memory size, got {r.memory!r}",
                file,
                r.memory_path,
                help='write memory = "8Gi", "512Mi", "1G" or a byte count '
                "(units Ki Mi Gi Ti, K M G T; a whole number of bytes)",
            )
        else:
            mem = got
    return replace(r, cpu_millis=cpu, memory_bytes=mem, gpu=_gpu(r.gpu, file, ctx))


def _gpu(g: Gpu | None, file: str, ctx: PassContext) -> Gpu | None:
    if g is None:
        return None
    if not 0 <= g.count <= MAX_GPUS:
        ctx.diags.error(
            "E0203", f"gpu_count must be 0 to {MAX_GPUS}, got {g.count}", file, g.path
        )
        return None
    if g.count == 0:
        if g.memory and not g.type:
            ctx.diags.error(
                "E0203",
                f"gpu_memory {g.memory!r} is set but gpu_count is 0",
                file,
                g.memory_path or g.path,
                help="set gpu_count = 1 (or more), or remove gpu_memory",
            )
        if g.type:
            ctx.diags.error(
                "E0203",
                f"gpu_type {g.type!r} is set but gpu_count is 0",
                file,
                g.path,
                help="set gpu_count = 1 (or more), or remove gpu_type",
            )
        return None
    vendor, model = "nvidia", ""
    if g.type:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9_.]*[a-z0-9])?", g.type):
            ctx.diags.error(
                "E0203",
                f"cannot read gpu_type {g.type!r}",
                file,
                g.type_path,
                help='write "<vendor>-<model>", e.g. "nvidia-a100", "nvidia-h100", "amd-mi300x"',
            )
            return None
        head, _, rest = g.type.partition("-")
        if head in VENDORS:
            vendor, model = head, rest
        else:
            model = g.type
    mem = 0
    if g.memory:
        got = memory_bytes(g.memory)
        if got is None:
            ctx.diags.error(
                "E0202",
                f"expected a GPU memory size, got {g.memory!r}",
                file,
                g.memory_path,
                help='write memory = "48Gi"',
            )
        else:
            mem = got
    return replace(g, vendor=vendor, model=model, memory_bytes=mem)
