"""A workflow job on Nomad (../shared/design/workflow-jobs.md): a ``type = "batch"`` job of
one group and one task. Nomad orders tasks only by lifecycle hooks, not by a DAG, so the
task runs the bash target's step runner (``_workflow_sh``), the same script byte for byte
but for its header notes, as ``bash -c SCRIPT`` (docker driver, the workflow's image, which
needs bash and coreutils: mktemp, mkfifo, env, and timeout for steps with ``timeout_ms``),
in the workspace ``/workspace`` (``work_dir``; docker makes the folder). The steps share the
container, as b00t's steps share the machine.

The script is a driver ``config`` string: Nomad evaluates those again at task start, so
``${`` and ``%{`` are escaped for that (``nomad.runtime_literal``) and then for HCL
(``_hcl``). The runner reads the host variables of env values from its environment when
it starts (``b00t_v1=${NAME:-default}``): each host variable it reads is an item of the
job's Nomad Variable, exported to the task's environment under its own name by the
``secrets/`` env template (deploy fills the Variable; ``b00tc env`` shows it).
"""

from __future__ import annotations

import posixpath

from b00tc.backends import OutputFile, _hcl
from b00tc.backends._context import Context
from b00tc.backends._hcl import Block, Comment
from b00tc.backends._nomadvars import DESTINATION as VARS_ENV_FILE
from b00tc.backends._nomadvars import JobVariable
from b00tc.backends._workflow_sh import WorkflowScript
from b00tc.ir import HostVar, Unit, Value, Workflow

#: where the steps run in the container (the contract's workspace)
WORKSPACE = "/workspace"


def render_workflow(unit: Unit, wf: Workflow, ctx: Context) -> list[OutputFile]:
    from b00tc.backends.nomad import _Renderer, _env_line, _template, runtime_literal

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
