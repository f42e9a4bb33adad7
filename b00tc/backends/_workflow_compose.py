"""A workflow job on compose: one one-shot service per step (``restart: "no"``).

Each step is ``bash -c COMMAND`` (the image needs bash) in a container of its image, in
``/workspace`` + ``cwd``, where the named volume ``workspace`` (the project's own, created
empty by ``docker compose up``, kept by ``down`` without ``-v``) is mounted in every step.
A step waits for the steps before it (sequential: the one before it in the file; dag and
parallel: its depends_on) with ``condition: service_completed_successfully``: a failed step
stops its dependents. Timeouts (``timeout -k 10 SECONDS``, so the image needs coreutils'
or busybox's timeout) and retries (a loop, not ``restart: on-failure``, which compose's
``service_completed_successfully`` does not wait through) are inside the container's
command. The command is an argument of ``bash -c``, byte for byte, its ``$`` written
``$$`` (compose interpolates ``$``).

Run: ``docker compose -p NAME -f NAME.compose.yaml up``; its exit status is not 0 when a
step failed (compose reports "service X didn't complete successfully"); each step's
outcome is its container's exit code (``docker compose -p NAME ps -a``: State, ExitCode).

What runs after a failure is recorded in the file's top-level extension field
``x-b00tc`` (compose-spec allows ``x-`` fields; compose ignores them): ``after-failure``,
the ``always`` steps with dependencies and the ``on_failure`` steps, in the workflow's
order, and ``rollback``, the last rollback service (each waits for the one before it).
``b00tc deploy`` reads it: when a step failed, once ``up`` has ended it runs each of
``after-failure`` that did not run (``--profile on-failure up --no-deps NAME``), then
``--profile rollback up LAST``, and exits with the first failed step's status.

What compose cannot say, each one warning (W0301): ``condition.when = "always"`` (compose
starts a service after another only when it succeeded: after a failure deploy runs it
once ``up`` has ended), ``on_failure`` steps and rollback steps (compose never starts a
service because another failed: they are in the profiles ``on-failure`` and ``rollback``,
which deploy starts once ``up`` has ended; a failed rollback step stops the ones after
it), ``continue_on_failure``, and in dag or parallel mode that a failure stops the steps of
other branches not yet started.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from b00tc.backends._workflow_ctr import (
    WORKSPACE,
    argv,
    check_images,
    slugs,
    step_image,
    unordered_pairs,
    waits_for,
    warn_shared_workspace,
)
from b00tc.diagnostics import join
from b00tc.ir import Step, Workflow

VOLUME = "workspace"
DONE = {"condition": "service_completed_successfully"}


def workflow(gen: Any, wf: Workflow, escape: Callable[[str], str]) -> Optional[dict]:
    """``gen``: the compose backend's generator (values, labels, resources, the file);
    ``escape``: a literal written for compose's interpolation (``$$``)."""
    ctx = gen.ctx
    if not check_images(wf, ctx):
        return None
    warn_shared_workspace(wf, ctx)
    cfg = wf.config
    rollback = list(wf.rollback) if cfg.rollback_on_failure else []
    names = slugs([s.name for s in wf.steps] + [s.name for s in rollback])
    deps = waits_for(wf)
    joined = gen.join(wf.requires)
    services: dict = {}
    res_labels: dict = {}  # the workflow's resources, for each step (reported once)
    deploy = gen.resources(wf.resources, wf.file, res_labels)

    def service(step: Step, name: str) -> dict:
        image = step_image(wf, step)
        assert image is not None
        svc: dict = {
            "image": gen.value(image, wf.file),
            "entrypoint": [escape(a) for a in argv(step, step.name, retries=cfg.retry_failed_steps)],
            "working_dir": escape(f"{WORKSPACE}/{step.task.cwd}".rstrip("/") if step.task.cwd else WORKSPACE),
            "restart": "no",
            "volumes": [f"{VOLUME}:{WORKSPACE}"],
        }
        env = {**gen.env(wf.env, wf.file), **gen.env(step.task.env, wf.file)}
        if env:
            svc["environment"] = env
        labels = gen.labels(name, f"{wf.name}.job", wf.name)
        labels["b00t.io/step"] = escape(step.name)
        labels.update(gen.annotations())
        labels.update(res_labels)
        svc["labels"] = labels
        if deploy:
            svc["deploy"] = deploy
        if joined:
            svc["networks"] = list(joined)
        return svc

    after_failure: list[str] = []  # x-b00tc: what deploy runs once up ended, after a failure
    for i, step in enumerate(wf.steps):
        svc = service(step, names[i])
        when = step.condition.when
        if when == "on_failure":
            svc["profiles"] = ["on-failure"]
            after_failure.append(names[i])
            ctx.cannot_express(
                f"condition.when = \"on_failure\" of step {step.name!r} (compose never starts a "
                "service because another failed): it is in the profile on-failure, which b00tc "
                "deploy starts when any step failed, once the whole up has ended (bash: as soon as "
                "the steps before it ended, and only when a step failed before that)",
                wf.file,
                step.condition.path or step.path,
                help=("b00tc deploy runs it; by hand, after a failure: docker compose --profile "
                      f"on-failure up --no-deps {names[i]}"),
            )
        elif deps[i]:
            svc["depends_on"] = {names[d]: dict(DONE) for d in deps[i]}
            if when == "always":
                after_failure.append(names[i])
                ctx.cannot_express(
                    f"condition.when = \"always\" of step {step.name!r} (compose starts a service "
                    "after another only when it completed successfully): when a step before it "
                    "failed, b00tc deploy runs it once the whole up has ended (bash: as soon as "
                    "the steps before it ended)",
                    wf.file,
                    step.condition.path or step.path,
                    help=("b00tc deploy runs it; by hand, after a failure: docker compose up "
                          f"--no-deps {names[i]}"),
                )
        services[names[i]] = svc
    for k, step in enumerate(rollback):
        i = len(wf.steps) + k
        svc = service(step, names[i])
        svc["profiles"] = ["rollback"]
        if k:
            svc["depends_on"] = {names[i - 1]: {"condition": "service_completed_successfully"}}
        services[names[i]] = svc
    if rollback:
        ctx.cannot_express(
            "rollback_on_failure (compose never starts a service because another failed): the "
            "rollback steps are in the profile rollback, which b00tc deploy starts when a step "
            "failed, once the whole up and the steps that run after a failure have ended; each "
            "waits for the one before it to succeed, so a failed rollback step stops the ones "
            "after it (bash runs them all)",
            wf.file,
            join_path(cfg.path, "rollback_on_failure"),
            # each rollback service waits for the one before it: naming the last runs them all
            help=("b00tc deploy runs them; by hand, after a failure: docker compose --profile "
                  f"rollback up {names[-1]}"),
        )
    if cfg.continue_on_failure:
        ctx.cannot_express(
            "continue_on_failure (compose starts a service after another only when it "
            "succeeded): a failed step stops the steps that wait for it",
            wf.file,
            join_path(cfg.path, "continue_on_failure"),
            help="make the step's command end with || true where its failure does not matter",
        )
    if cfg.mode != "sequential" and unordered_pairs(deps):
        ctx.cannot_express(
            f"that a failed step stops every step not yet started ({cfg.mode} mode): compose "
            "stops only the steps that wait for it, directly or not",
            wf.file,
            join_path(cfg.path, "mode") if cfg.path else "$.b00t.job",
            help="add depends_on where a step must not run after an unrelated failure",
        )
    gen.volumes[VOLUME] = {}
    doc = gen.document(services)
    ext: dict = {}
    if after_failure:
        ext["after-failure"] = after_failure
    if rollback:
        ext["rollback"] = names[-1]
    if ext:
        doc["x-b00tc"] = ext
    return doc


def join_path(path: str, key: str) -> str:
    return join(path, key) if path else "$.b00t.job.config"
