"""What the container targets (compose, k8s through Argo) share for a workflow job: a
step's image, the names of its service or task, what it waits for, and the small bash
program each step's container runs around its command.

Each step runs in its own container of its image (the task's ``image``, else
``[b00t.job] image``) as ``bash`` (the image needs bash; b00t's steps are bash source),
in ``/workspace`` + ``cwd``, the workspace being a volume every step mounts. Steps share
only that folder: not the processes, files elsewhere or tools a step installs (b00t's
steps share the whole machine), which the targets say once per workflow (W0704).
"""

from __future__ import annotations

from typing import Optional

from b00tc.stepnames import slugs  # noqa: F401  (the backends import it from here)
from b00tc.backends._context import Context
from b00tc.ir import Step, Value, Workflow

WORKSPACE = "/workspace"
#: seconds between the TERM that ``timeout`` sends a step and its KILL (as the bash target)
KILL_AFTER = 10


def step_image(wf: Workflow, step: Step) -> Optional[Value]:
    return step.task.image or wf.image


def check_images(wf: Workflow, ctx: Context) -> bool:
    """Every step (rollback steps too) has an image. E0707 once at [b00t.job] when no step
    has one (the usual case: the datum was written for b00t's host runner), else at each
    step that has none."""
    everything = wf.steps + wf.rollback
    missing = [s for s in everything if step_image(wf, s) is None]
    if not missing:
        return True
    help = ('set image = "..." under [b00t.job] (an image with bash, and timeout for steps '
            "with timeout_ms), or image in a step's task; the host targets (bash, systemd) need none")
    if len(missing) == len(everything):
        ctx.error(
            "E0707",
            f"workflow {wf.name} has no image: target {ctx.target} runs each step in a container "
            "of an image",
            wf.file,
            "$.b00t.job",
            help=help,
        )
        return False
    for step in missing:
        ctx.error(
            "E0707",
            f"step {step.name!r} of workflow {wf.name} has no image: target {ctx.target} runs "
            "each step in a container of an image, and [b00t.job] gives none",
            wf.file,
            step.task.path or step.path,
            help=help,
        )
    return False


def warn_shared_workspace(wf: Workflow, ctx: Context) -> None:
    if len(wf.steps) + len(wf.rollback) > 1:
        ctx.warn(
            "W0704",
            f"the steps of workflow {wf.name} run in separate containers on target {ctx.target}: "
            f"they share only the workspace ({WORKSPACE}), not the machine as under b00t (files "
            "written elsewhere, installed tools and running processes are not seen by the next step)",
            wf.file,
            "$.b00t.job",
            help="keep what later steps need under the workspace, or build with --target bash",
        )


def waits_for(wf: Workflow) -> list[list[int]]:
    """The indexes of the steps each step waits for: the step before it (sequential), or its
    depends_on (dag, parallel)."""
    index = {s.name: i for i, s in enumerate(wf.steps)}
    out: list[list[int]] = []
    for i, s in enumerate(wf.steps):
        if wf.config.mode == "sequential":
            out.append([i - 1] if i else [])
        else:
            out.append(list(dict.fromkeys(index[d.value] for d in s.depends_on)))
    return out


def unordered_pairs(deps: list[list[int]]) -> bool:
    """Whether two steps neither of which waits (directly or not) for the other exist: then
    a failure stops only its own dependents on the container targets."""
    before: list[set[int]] = []
    for i in range(len(deps)):
        before.append(set())
    # dag steps may wait for later ones: close over the graph until nothing changes
    changed = True
    while changed:
        changed = False
        for i, ds in enumerate(deps):
            new = set(ds).union(*(before[d] for d in ds)) if ds else set()
            if new != before[i]:
                before[i], changed = new, True
    n = len(deps)
    return any(j not in before[i] and i not in before[j] for i in range(n) for j in range(i + 1, n))


def seconds(ms: int) -> str:
    whole, frac = divmod(ms, 1000)
    return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") if frac else str(whole)


def program(step: Step, *, retries: int = 0, timeout: bool = True, parts: int = 1) -> Optional[str]:
    """The bash program (``bash -c PROGRAM NAME ARGS...``) that runs a step around its
    command, or None when plain ``bash -c COMMAND`` does it. The command (and the
    condition script) are its arguments, never part of it: they stay byte for byte.

    Arguments: ``$1`` the condition script (when the step has one), then the command in
    ``parts`` pieces that ``{{`` joins (Argo substitutes ``{{...}}`` in a template's
    strings, so the k8s target cuts the command there)."""
    lines: list[str] = []
    has_script = bool(step.condition.script)
    ms = step.task.timeout_ms if timeout else 0
    if not has_script and not retries and not ms and parts == 1:
        return None
    if has_script:
        lines += [
            'if ! bash -c "$1"; then',
            "  echo \"b00tc: [$0] skipped: its condition.script did not exit 0\" >&2",
            "  exit 0",
            "fi",
            "shift",
        ]
    lines.append('command=$1')
    if parts > 1:
        # '{' '{' written apart: this program is itself a string Argo reads
        lines += ["shift", 'for part in "$@"; do', "  command=$command{'{'$part", "done"]
    run = 'bash -c "$command"'
    if ms:
        run = f"timeout -k {KILL_AFTER} {seconds(ms)} {run}"
    if not retries:
        lines.append(f"exec {run}")
    else:
        lines += [
            "attempt=0",
            "while :; do",
            f"  {run}",
            "  status=$?",
            f'  if [ "$status" = 0 ] || [ "$attempt" -ge {retries} ]; then',
            '    exit "$status"',
            "  fi",
            "  attempt=$((attempt + 1))",
            f'  echo "b00tc: [$0] failed with exit status $status; running it again ($attempt of {retries})" >&2',
            "done",
        ]
    return "\n".join(lines) + "\n"


def argv(step: Step, name: str, *, retries: int = 0, timeout: bool = True, split: bool = False) -> list[str]:
    """The container's command line for ``step``: ``bash -c ...``."""
    pieces = step.task.command.split("{{") if split else [step.task.command]
    prog = program(step, retries=retries, timeout=timeout, parts=len(pieces))
    if prog is None:
        return ["bash", "-c", step.task.command]
    args = [step.condition.script] if step.condition.script else []
    return ["bash", "-c", prog, name, *args, *pieces]

