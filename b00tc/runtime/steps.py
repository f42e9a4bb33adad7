"""The state of each step of a workflow job, as each orchestrator can tell it: shared by
the orchestrators (b00tc.runtime.orchestrators) and shown by ``b00tc status`` as objects
of kind ``step`` and ``rollback`` (``status --format json`` lists them again under
``steps``).

Step states: ``succeeded``, ``failed``, ``skipped``, ``running``, ``pending`` (not started
yet), ``not run`` (a rollback step after a success), ``unknown``.

Where the step runner of the bash target runs (direct, and the one task of a Nomad
workflow), the state is read from its output (b00tc.backends._workflow_sh): each line a
step writes starts with ``[NAME] ``; the runner says ``b00tc: [NAME] failed with exit status
N`` and ``b00tc: [NAME] skipped: WHY`` and, when stopped, ``b00tc: [WORKFLOW] interrupted``.
It says nothing when a step succeeds: a step that neither failed nor was skipped has
succeeded once the runner has ended, and while it runs it is ``running`` when it has
written output, else ``pending`` (a silent step that has already succeeded shows as
pending until the end). That is the fallback (a runner of an older b00tc, or no events
file): the runner writes each step's lifecycle to the file ``B00TC_STEP_EVENTS`` names
(b00tc.backends._workflow_sh), one ``INDEX EVENT ...`` line per event, and
``from_step_events`` reads it: exact while the workflow runs, for any step name (the index
names the step), and out of reach of what the steps print.
"""

from __future__ import annotations

import re
from typing import Optional

from b00tc.runtime.model import Deployed, ObjectState
from b00tc.stepnames import argo_task_names, slugs

#: the kinds of the objects a step's state is (a rollback step: its own kind)
STEP, ROLLBACK = "step", "rollback"

_FAILED = re.compile(r"failed with exit status (\d+)$")
_RETRY = re.compile(r"failed with exit status \d+; running it again \((\d+) of \d+\)$")


def by_slug(d: Deployed) -> dict[str, tuple[str, bool]]:
    """compose service -> (step name, whether it is a rollback step), for the steps and the
    rollback steps (b00tc.backends._workflow_compose)."""
    names = d.steps + d.rollback
    return {s: (n, i >= len(d.steps)) for i, (s, n) in enumerate(zip(slugs(names), names))}


def by_argo_task(d: Deployed) -> dict[str, tuple[str, bool]]:
    """Argo task name -> (step name, rollback?): slugs of at most 59 characters, ``s-``
    before one that does not start with a letter (b00tc.backends._argo: ``depends`` reads
    them as names)."""
    names = d.steps + d.rollback
    tasks = argo_task_names(names)
    return {t: (n, i >= len(d.steps)) for i, (t, n) in enumerate(zip(tasks, names))}


def _owner(line: str, names: list[str]) -> Optional[tuple[str, str]]:
    """(step name, the rest) of a ``[NAME] rest`` line; the longest name that fits."""
    for n in names:
        head = f"[{n}] "
        if line.startswith(head):
            return n, line[len(head):]
    return None


def from_runner_log(d: Deployed, text: str, finished: bool, exit_code: Optional[int] = None) -> list[ObjectState]:
    """Each step's state from the step runner's output ``text`` (stdout and stderr, in any
    interleaving); ``finished``: the runner has ended (with ``exit_code`` when known)."""
    names = sorted(set(d.steps + d.rollback), key=len, reverse=True)
    seen: set[str] = set()
    failed: dict[str, str] = {}
    skipped: dict[str, str] = {}
    retries: dict[str, int] = {}
    interrupted = False
    stopped = f"b00tc: [{d.name}] interrupted: the running steps were stopped"
    for line in text.splitlines():
        if line == stopped:
            interrupted = True
            continue
        if line.startswith("b00tc: ["):
            hit = _owner(line[len("b00tc: "):], names)
            if hit is None:
                continue
            name, rest = hit
            m = _RETRY.search(rest)
            if m:
                retries[name] = int(m.group(1))
                continue
            m = _FAILED.match(rest)
            if m:
                failed[name] = f"exit {m.group(1)}"
            elif rest.startswith("skipped: "):
                skipped[name] = rest[len("skipped: "):]
            continue
        hit = _owner(line, names)
        if hit is not None:
            seen.add(hit[0])
    workflow_failed = bool(failed) or (exit_code not in (None, 0))
    out = []
    for i, name in enumerate(d.steps + d.rollback):
        rollback = i >= len(d.steps)
        tries = f"; run again {retries[name]} times" if name in retries else ""
        if name in failed:
            state, detail = "failed", failed[name] + tries
        elif name in skipped:
            state, detail = "skipped", skipped[name]
        elif finished and interrupted:
            state, detail = ("stopped", "the workflow was interrupted") if name in seen else ("not run", "the workflow was interrupted")
        elif finished and rollback and not workflow_failed:
            state, detail = "not run", "rollback runs after a failure only"
        elif finished:
            state, detail = "succeeded", tries.lstrip("; ")
        elif name in seen:
            state, detail = "running", "has written output"
        else:
            state, detail = "pending", ""
        out.append(ObjectState(ROLLBACK if rollback else STEP, name, state, detail))
    return out


#: the file name of the step runner's lifecycle lines: direct's state folder, and Nomad's
#: alloc dir (``/alloc``: the docker driver mounts it there; ``nomad alloc fs`` reads it
#: as ``alloc/NAME``)
EVENTS_FILE = "steps.events"
NOMAD_EVENTS = "/alloc/b00tc-steps"

_SKIPPED = {
    "condition": "its condition.script did not exit 0",
    "after-failure": "a step before it failed",
    "no-failure": "it runs on_failure, and no step has failed",
}


def from_step_events(d: Deployed, text: str, finished: bool, exit_code: Optional[int] = None) -> list[ObjectState]:
    """Each step's state from the step runner's lifecycle lines ``text`` (``INDEX EVENT
    ...``; INDEX into the steps then the rollback steps, ``-`` for the workflow); lines that
    do not parse (a torn last line) are ignored; ``finished``: the runner has ended."""
    names = d.steps + d.rollback
    last: dict[int, list[str]] = {}
    retries: dict[int, int] = {}
    interrupted = ended = False
    failed_any = False
    for line in text.splitlines():
        words = line.split(" ")
        if len(words) < 2:
            continue
        if words[0] == "-":
            interrupted |= words[1] == "interrupted"
            ended |= words[1] == "end"
            continue
        if not words[0].isdigit() or int(words[0]) >= len(names):
            continue
        i, event = int(words[0]), words[1:]
        if event[0] == "retry" and len(event) == 2 and event[1].isdigit():
            retries[i] = int(event[1])
            last[i] = ["started"]
        elif event[0] in ("started", "succeeded", "failed", "skipped"):
            last[i] = event
            failed_any |= event[0] == "failed"
    workflow_failed = failed_any or (exit_code not in (None, 0))
    out = []
    for i, name in enumerate(names):
        rollback = i >= len(d.steps)
        tries = f"run again {retries[i]} times" if i in retries else ""
        event = last.get(i)
        what = event[0] if event else ""
        if what == "succeeded":
            state, detail = "succeeded", tries
        elif what == "failed":
            status = event[1] if len(event) > 1 else "?"
            gone = len(event) > 2 and event[2] == "gone"
            detail = f"exit {status}" + (", ended without reporting its result" if gone else "")
            state, detail = "failed", "; ".join(x for x in (detail, tries) if x)
        elif what == "skipped":
            why = event[1] if len(event) > 1 else ""
            if why == "previous" and len(event) > 2 and event[2].isdigit() and int(event[2]) < len(names):
                reason = f"it runs on_previous, and {names[int(event[2])]} did not succeed"
            else:
                reason = _SKIPPED.get(why, why)
            state, detail = "skipped", reason
        elif what == "started":
            if finished or interrupted:
                state, detail = "stopped", ("the workflow was interrupted" if interrupted
                                            else "the runner ended before the step did")
            else:
                state, detail = "running", tries
        elif finished or interrupted or ended:
            if rollback and not workflow_failed:
                state, detail = "not run", "rollback runs after a failure only"
            else:
                state, detail = "not run", "the workflow was interrupted" if interrupted else ""
        else:
            state, detail = "pending", ""
        out.append(ObjectState(ROLLBACK if rollback else STEP, name, state, detail))
    return out


def summary(steps: list[ObjectState]) -> str:
    """A workflow's state from its steps': failed when one failed, running while one runs,
    succeeded when all are done."""
    states = {s.state for s in steps}
    if "failed" in states:
        return "failed"
    if states & {"running", "pending"}:
        return "running"
    if states <= {"succeeded", "skipped", "not run"}:
        return "succeeded"
    return "unknown"


#: what ``from_systemctl_show`` reads of each step unit (``systemctl show --property=...``)
SYSTEMD_PROPERTIES = ("Id", "ActiveState", "SubState", "Result", "ExecMainStatus", "ExecMainStartTimestampMonotonic")


def systemctl_show_argv(units: list[str]) -> list[str]:
    return ["systemctl", "show", "--property=" + ",".join(SYSTEMD_PROPERTIES), *units]


def from_systemctl_show(text: str, units: dict[str, tuple[str, bool]]) -> list[ObjectState]:
    """Each step's state from ``systemctl show`` of its ``Type=oneshot`` unit (``units``:
    unit name -> (step name, rollback?), in step order; the answer has one block of
    KEY=VALUE lines per unit, blank-line separated): activating is running; inactive after
    a start with Result=success succeeded; failed (or a Result other than success) failed,
    with its exit status; never started pending. For a systemd orchestrator, which b00tc
    does not have yet: the units are installed and started by hand (``systemctl start
    <job>.target``)."""
    blocks: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            blocks[props["Id"]] = props
    out = []
    for unit, (name, rollback) in units.items():
        p = blocks.get(unit, {})
        active, result = p.get("ActiveState", ""), p.get("Result", "")
        started = p.get("ExecMainStartTimestampMonotonic", "0") not in ("", "0")
        code = p.get("ExecMainStatus", "")
        if not p:
            state, detail = "unknown", f"{unit} not found"
        elif active in ("activating", "active", "reloading", "deactivating"):
            state, detail = "running", p.get("SubState", "")
        elif active == "failed" or (result and result != "success"):
            state, detail = "failed", f"{result}, exit {code}" if code else result
        elif started:
            state, detail = "succeeded", ""
        else:
            state, detail = ("not run" if rollback else "pending"), "not started"
        out.append(ObjectState(ROLLBACK if rollback else STEP, name, state, detail))
    return out
