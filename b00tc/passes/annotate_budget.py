"""Record the datum's orchestration hints as annotations (budget, queue, batch group,
affinity, GPU type, stack-level resources) in one fixed order, and check the budget:
a job that costs more than the daily limit can never run within it (W0501)."""

from __future__ import annotations

from msgspec.structs import replace

from b00tc.ir import Annotation, Datum, Job, Program, Stack, Workflow
from b00tc.passes.context import PassContext


def money(v: float) -> str:
    return f"{v:.2f}" if round(v, 2) == v else repr(v)


def annotate_budget(program: Program, ctx: PassContext) -> Program:
    keys = dict.fromkeys(program.roots)
    for key in program.roots:  # a stack a root includes is deployed as itself: its own hints
        keys.update(dict.fromkeys(program.parts(key)))
    annotations = {key: _annotations(program.datums[key], ctx) for key in keys}
    return replace(program, annotations=annotations)


def _annotations(d: Datum, ctx: PassContext) -> tuple[Annotation, ...]:
    o = d.orchestration
    notes: list[tuple[str, str]] = []
    if o.schedule_type:
        notes.append(("schedule-type", o.schedule_type))
    if o.queue_name:  # never invented: a queue that does not exist holds the work for ever
        notes.append(("queue-name", o.queue_name))
    if o.batch_group:
        notes.append(("batch-group", o.batch_group))
    if o.gpu_affinity:
        notes.append(("gpu-affinity", o.gpu_affinity))
    b = o.budget
    if b is not None:
        if b.daily_limit is not None:
            notes.append(("budget-daily-limit", money(b.daily_limit)))
        if b.cost_per_job is not None:
            notes.append(("budget-cost-per-job", money(b.cost_per_job)))
        if b.on_exceeded:
            notes.append(("on-budget-exceeded", b.on_exceeded))
        if (
            b.daily_limit is not None
            and b.cost_per_job is not None
            and b.cost_per_job > b.daily_limit
        ):
            ctx.diags.warn(
                "W0501",
                f"budget_cost_per_job {money(b.cost_per_job)} exceeds budget_daily_limit "
                f"{money(b.daily_limit)}: {d.name} can never run within its budget",
                d.file,
                b.path,
                help="raise budget_daily_limit or lower budget_cost_per_job",
            )
    g = d.resources.gpu
    if g is not None:
        if g.type:
            notes.append(("gpu-type", g.type))
        if g.shared:
            notes.append(("gpu-shared", "true"))
        if g.memory:
            notes.append(("gpu-memory", g.memory))
    if isinstance(d, Stack):
        r = d.resources
        if r.cpu:
            notes.append(("stack-cpu", r.cpu))
        if r.memory:
            notes.append(("stack-memory", r.memory))
        if g is not None:
            notes.append(("stack-gpu-count", str(g.count)))
    else:
        assert isinstance(d, (Job, Workflow))
    return tuple(Annotation(key=k, value=v) for k, v in notes)
