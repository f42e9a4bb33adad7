"""A workflow job on k8s: an Argo Workflows ``Workflow`` (argoproj.io/v1alpha1).

One DAG template (the entrypoint, ``steps``) with one task per step, each a container
template of its own: the step's image, ``bash -c COMMAND`` (the image needs bash) in
``workingDir`` ``/workspace`` + ``cwd``, the workflow's env overlaid by the step's. The
workspace is a PersistentVolumeClaim the controller creates for the run
(``volumeClaimTemplates``, ReadWriteOnce, 1Gi) and mounts in every step at ``/workspace``.

- what a task waits for: ``depends`` on the steps before it (sequential: the one before it
  in the file; dag and parallel: its depends_on): ``on_success`` and ``on_previous`` when
  each ``Succeeded``, ``always`` whatever each ended as, ``on_failure`` when one
  ``Failed`` or ``Errored`` (or was omitted after a failure); ``condition.script`` runs in
  the step's container before its command, and a step whose script fails ends at once,
  successfully, as a skipped step does under the bash target;
- ``timeout_ms``: the template's ``activeDeadlineSeconds`` (whole seconds, rounded up);
  ``retry_failed_steps``: its ``retryStrategy.limit``; ``continue_on_failure``: each task's
  ``continueOn: {failed: true}``; ``rollback_on_failure``: an ``onExit`` template running
  the rollback steps one after another when ``{{workflow.status}} != Succeeded``;
- a DAG that has no ``always`` or ``on_failure`` step and no ``continue_on_failure`` keeps
  Argo's ``failFast``: after a failure no new task starts, as b00t's runner does.

Argo substitutes ``{{...}}`` in every string of a template, so a command holding ``{{`` is
cut there into arguments that the step's program joins again (byte for byte); env values
and condition scripts cannot hold it (E0601). The kubelet expands ``$(NAME)`` in command
and args: they are escaped as the k8s target's Jobs are. Host variables in env are read
from the Secret named after the workflow, as a Job's are.
"""

from __future__ import annotations

from typing import Any, Callable

from b00tc.stepnames import argo_task_names
from b00tc.backends._workflow_ctr import (
    WORKSPACE,
    argv,
    check_images,
    step_image,
    unordered_pairs,
    waits_for,
    warn_shared_workspace,
)
from b00tc.diagnostics import join
from b00tc.ir import EnvVar, Step, Workflow

API_VERSION = "argoproj.io/v1alpha1"
VOLUME = "workspace"
ENTRYPOINT = "steps"
ON_EXIT = "rollback"
WORKSPACE_SIZE = "1Gi"
FAILED = "{{workflow.status}} != Succeeded"

_RESULTS = {
    "ok": ("Succeeded",),
    "ok_or_failed": ("Succeeded", "Failed"),
    "any": ("Succeeded", "Failed", "Errored", "Skipped", "Omitted"),
    "failed": ("Failed", "Errored", "Omitted"),
}


def _either(task: str, results: tuple[str, ...]) -> str:
    text = " || ".join(f"{task}.{r}" for r in results)
    return f"({text})" if len(results) > 1 else text


def workflow(gen: Any, wf: Workflow, escape_expansion: Callable[[str], str]) -> list[dict]:
    """``gen``: the k8s backend's generator (values, labels, resources, Secrets);
    ``escape_expansion``: a literal made safe from the kubelet's ``$(NAME)`` expansion."""
    ctx = gen.ctx
    errors_before = len(ctx.diagnostics)
    if not check_images(wf, ctx):
        return []
    warn_shared_workspace(wf, ctx)
    cfg = wf.config
    rollback = list(wf.rollback) if cfg.rollback_on_failure else []
    everything = list(wf.steps) + rollback
    names = argo_task_names([s.name for s in everything])
    deps = waits_for(wf)
    labels = gen.labels(wf.name, f"{wf.name}.job")
    taken = tuple({e.name: e for s in everything for e in (*wf.env, *s.task.env)}.values())
    refs = gen.secret_refs(wf.name, taken, wf.file, labels)
    resources = gen.resources(wf.resources, wf.file)

    def guard(text: str, what: str, path: str) -> None:
        if "{{" in text:
            ctx.error(
                "E0601",
                f"{what} contains '{{{{', which Argo Workflows reads as the start of a template "
                "expression",
                wf.file,
                path,
                help="write it apart ('{' '{' in bash), or move it into the step's command",
            )

    def guard_env(env: tuple[EnvVar, ...], where: str) -> None:
        for e in env:
            for part in e.value.parts:
                guard(getattr(part, "text", ""), f"env {e.name}{where}", e.path or e.value.path)

    guard_env(wf.env, "")

    def template(step: Step, name: str) -> dict:
        image = step_image(wf, step)
        assert image is not None
        guard(step.condition.script, f"the condition.script of step {step.name!r}", step.condition.path)
        env: dict[str, EnvVar] = {e.name: e for e in (*wf.env, *step.task.env)}
        guard_env(step.task.env, f" of step {step.name!r}")
        # retries and the timeout are the template's own: the command needs no loop
        command = [escape_expansion(a) for a in argv(step, step.name, timeout=False, split=True)]
        container: dict = {"image": refs.image(image), "command": command[:2]}
        if len(command) > 2:
            container["args"] = command[2:]
        if ctx.options["image_pull_policy"]:
            container["imagePullPolicy"] = ctx.options["image_pull_policy"]
        container["workingDir"] = f"{WORKSPACE}/{step.task.cwd}".rstrip("/") if step.task.cwd else WORKSPACE
        entries = refs.env([refs.env_var(v) for v in env.values()])
        if entries:
            container["env"] = entries
        container["volumeMounts"] = [{"name": VOLUME, "mountPath": WORKSPACE}]
        if resources:
            container["resources"] = resources
        out: dict = {"name": f"step-{name}", "metadata": {"labels": {"b00t.io/step": name}}}
        if cfg.retry_failed_steps:
            out["retryStrategy"] = {"limit": str(cfg.retry_failed_steps)}
        if step.task.timeout_ms:
            out["activeDeadlineSeconds"] = str(-(-step.task.timeout_ms // 1000))
        out["container"] = container
        return out

    tasks = []
    keeps_going = cfg.continue_on_failure
    for i, step in enumerate(wf.steps):
        task: dict = {"name": names[i], "template": f"step-{names[i]}"}
        when = step.condition.when
        if when in ("always", "on_failure"):
            keeps_going = True
        waited = [names[d] for d in deps[i]]
        if when == "on_failure":
            if waited:
                task["depends"] = " || ".join(_either(d, _RESULTS["failed"]) for d in waited)
            else:
                task["when"] = "false"  # nothing before it can fail: it never runs
        elif waited:
            kind = "any" if when == "always" else "ok_or_failed" if cfg.continue_on_failure else "ok"
            task["depends"] = " && ".join(_either(d, _RESULTS[kind]) for d in waited)
        if cfg.continue_on_failure:
            task["continueOn"] = {"failed": True}
        tasks.append(task)

    dag: dict = {"tasks": tasks}
    if keeps_going:
        dag["failFast"] = False
        if cfg.mode != "sequential" and unordered_pairs(deps):
            ctx.cannot_express(
                f"that a failed step stops every step not yet started ({cfg.mode} mode, with "
                "always or on_failure steps or continue_on_failure, which need Argo's failFast "
                "off): a failure stops only the steps that wait for it",
                wf.file,
                join(cfg.path, "mode") if cfg.path else "$.b00t.job",
                help="add depends_on where a step must not run after an unrelated failure",
            )
    if cfg.continue_on_failure:
        ctx.cannot_express(
            "that a workflow with continue_on_failure ends failed after a failed step (Argo "
            "marks a task that continueOn failed as passed: the Workflow ends Succeeded)",
            wf.file,
            join(cfg.path, "continue_on_failure") if cfg.path else "$.b00t.job",
            help="read each step's phase (b00tc status), not only the Workflow's",
        )
    templates = [{"name": ENTRYPOINT, "dag": dag}]
    if rollback:
        undo = names[len(wf.steps):]
        templates.append({
            "name": ON_EXIT,
            "steps": [[{"name": n, "template": f"step-{n}", "when": FAILED}] for n in undo],
        })
    templates += [template(s, names[i]) for i, s in enumerate(everything)]
    if any(d.is_error for d in ctx.diagnostics[errors_before:]):
        return []
    refs.register()
    if refs.store.entries:
        gen.secrets.append(refs)

    spec: dict = {"entrypoint": ENTRYPOINT}
    if rollback:
        spec["onExit"] = ON_EXIT
    spec["podMetadata"] = {"labels": dict(labels)}
    spec["templates"] = templates
    spec["volumeClaimTemplates"] = [{
        "metadata": {"name": VOLUME},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": WORKSPACE_SIZE}}},
    }]
    metadata: dict = {"name": wf.name, "labels": labels}
    annotations = gen.annotations()
    if wf.requires:
        annotations.setdefault("b00t.io/requires-stacks", ",".join(s.name for s in wf.requires))
    if annotations:
        metadata["annotations"] = annotations
    return [{"apiVersion": API_VERSION, "kind": "Workflow", "metadata": metadata, "spec": spec}]
