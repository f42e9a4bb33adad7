"""A workflow job as systemd units (../shared/design/workflow-jobs.md): one ``Type=oneshot``
service per step, ``b00t-<workflow>-<step>.service``, and ``b00t-<workflow>.target``, which
pulls in the steps and fails when one of them fails (``systemctl restart
b00t-<workflow>.target`` runs the workflow, again and again: the step units are oneshot
services without RemainAfterExit, inactive once they end).

Each step runs ``/bin/bash -c COMMAND`` in ``WorkingDirectory=`` the workspace
(``/var/lib/b00t/<workflow>``, made by ``StateDirectory=``) joined with its ``cwd``, with
``Environment=`` the job's env overlaid by the step's (values that use host variables in
its ``/etc/b00t/<unit>.env``, as for jobs), quoted by ``systemd.quote``.

How the bash runner's semantics become unit dependencies:

- order: ``After=`` the steps it waits for (sequential: every step before it; dag and
  parallel: its ``depends_on``);
- ``on_success`` (no condition table) and ``on_previous``: ``Requires=`` those steps (a
  failed one fails this step's start job, and it does not run); with
  ``continue_on_failure``, ``Wants=``, and the step runs whatever they did;
- ``always``: ``Wants=`` them;
- ``on_failure``: no unit pulls it in; every step before it (dag: every step it depends on,
  transitively) has ``OnFailure=`` it, so it starts when one of them fails (with
  ``continue_on_failure`` nothing does: the bash runner never runs it then); an
  ``on_previous`` step after it is started by it (``Wants=``) and ``Requires=`` it;
- ``condition.script``: ``ExecCondition=`` (exit 0 runs the step; any other status skips
  it, which systemd does not count as a failure);
- ``timeout_ms``: ``TimeoutStartSec=`` (``TimeoutStopSec=`` is the runner's 10 s between
  TERM and KILL);
- ``retry_failed_steps = N``: a loop in ``ExecStart=`` that runs the command up to N more
  times (systemd 252's ``Restart=on-failure`` restarts a oneshot only after failing its
  start job, which fails the steps that require it); with a timeout, each attempt runs
  under ``timeout``, and ``TimeoutStartSec=`` bounds all of them;
- ``rollback_on_failure``: every step has ``OnFailure=`` the first rollback unit; each
  rollback unit ``Wants=`` the next, which is ``After=`` it: they run one after another,
  whatever each one's result.

What systemd cannot do as the bash runner does, for what a datum asks, is a W0301 naming
it: steps on other branches of a dag after a failure (they run on), an ``on_previous`` step
after one its ``condition.script`` skipped (it runs), and rollback starting as soon as a step
fails rather than after the others have ended. The workflow's exit status is
not the first failed step's on any workflow (``systemctl`` reports a failed dependency,
status 1; the step's own is in ``systemctl status``): the target's header and the README say
so, not a warning, which every workflow would get and --strict would make an error.
"""

from __future__ import annotations

import posixpath
import re
from typing import Optional

from b00tc.backends import OutputFile
from b00tc.backends._context import Context
from b00tc.backends._host import check_nul, container_name
from b00tc.backends._workflow_sh import KILL_AFTER, _seconds
from b00tc.backends._systemd_syntax import _EnvRefs, _head, _text, _unit_text, plain, quote, unit_name
from b00tc.ir import Step, Unit, Workflow

#: the workspace of a workflow on this host, under /var/lib (StateDirectory=)
STATE_DIR = "b00t"

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")

#: ExecStart= of a step with retries: $0 is the step's name, $1 its command; TIMEOUT is
#: replaced by the timeout words of each attempt, N by retry_failed_steps
_RETRY = (
    'n=0; while :; do TIMEOUT"$BASH" -c "$1"; s=$?; if ((s == 0 || n >= N)); then exit "$s"; fi; '
    'n=$((n + 1)); echo "b00tc: [$0] failed with exit status $s; running it again ($n of N)" >&2; done'
)

#: ExecCondition= of a step: 1 (skip) for any status but 0, 255 and signals included
#: (systemd counts 255 and a signal as a failure of the unit)
_CONDITION = '"$BASH" -c "$1" || exit 1'


def timespan(ms: int) -> str:
    """A systemd time span (systemd.time(7)): whole seconds as such, else milliseconds."""
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def workspace(wf: Workflow) -> str:
    return f"/var/lib/{STATE_DIR}/{wf.name}"


class WorkflowUnits:
    def __init__(self, unit: Unit, wf: Workflow, ctx: Context) -> None:
        self.unit, self.wf, self.ctx, self.file = unit, wf, ctx, wf.file
        cfg = wf.config
        self.steps = list(wf.steps)
        self.rollback = list(wf.rollback) if cfg.rollback_on_failure else []
        self.names = self._unit_names()

    # -- names ---------------------------------------------------------------

    def _unit_names(self) -> list[str]:
        """``b00t-<workflow>-<step>.service`` for a step named like a DNS label, else by its
        place (``step-<n>``, ``rollback-<n>``); rollback steps are ``rollback-<name>``."""
        used: set[str] = set()
        out = []
        for i, s in enumerate(self.steps + self.rollback):
            k = i - len(self.steps)
            kind = "step" if k < 0 else "rollback"
            place = f"{kind}-{i + 1 if k < 0 else k + 1}"
            slug = s.name if _LABEL.fullmatch(s.name) else place
            if k >= 0 and slug != place:
                slug = f"rollback-{slug}"
            while slug in used:
                slug = f"{place}-{slug}" if not slug.startswith(place) else slug + "-x"
            used.add(slug)
            out.append(f"{unit_name(self.wf.name)}-{slug}.service")
        return out

    # -- the graph -------------------------------------------------------------

    def _deps(self) -> list[list[int]]:
        """The steps each step waits for: the one before it (sequential), or its depends_on."""
        index = {s.name: i for i, s in enumerate(self.steps)}
        if self.wf.config.mode == "sequential":
            return [[i - 1] if i else [] for i in range(len(self.steps))]
        return [list(dict.fromkeys(index[d.value] for d in s.depends_on)) for s in self.steps]

    def _ancestors(self, deps: list[list[int]]) -> list[set[int]]:
        out: list[set[int]] = []
        for i in range(len(self.steps)):
            seen: set[int] = set()
            todo = list(deps[i])
            while todo:
                j = todo.pop()
                if j not in seen:
                    seen.add(j)
                    todo.extend(deps[j])
            out.append(seen)
        return out

    # -- rendering ---------------------------------------------------------------

    def render(self) -> list[OutputFile]:
        wf, cfg = self.wf, self.wf.config
        for s in self.steps + self.rollback:
            if not self._check(s):
                return []
        deps = self._deps()
        ancestors = self._ancestors(deps)
        sequential = cfg.mode == "sequential"
        n = len(self.steps)
        # the steps the target does not pull in: on_failure steps, which OnFailure= starts, and
        # on_previous steps after one of those, which it starts (Wants=) once it runs
        triggered = [s.condition.when == "on_failure" for s in self.steps]
        changed = True
        while changed:
            changed = False
            for i, s in enumerate(self.steps):
                if not triggered[i] and s.condition.when == "on_previous" and any(triggered[d] for d in deps[i]):
                    triggered[i] = changed = True
        pulled = [not t for t in triggered]
        starts: dict[int, list[str]] = {i: [] for i in range(n)}
        for i, s in enumerate(self.steps):
            if triggered[i] and s.condition.when == "on_previous":
                for d in deps[i]:
                    if triggered[d]:
                        starts[d].append(self.names[i])
        # After=: sequential, every step before it; else its depends_on
        waits = [list(range(i)) for i in range(n)] if sequential else deps
        on_failure: dict[int, list[str]] = {i: [] for i in range(n)}
        for i, s in enumerate(self.steps):
            if s.condition.when == "on_failure" and not cfg.continue_on_failure:
                before = range(i) if sequential else sorted(ancestors[i])
                for j in before:
                    on_failure[j].append(self.names[i])
        rollback_first = self.names[n] if self.rollback else ""

        files: list[OutputFile] = []
        for i, s in enumerate(self.steps):
            when = s.condition.when
            unit_sec = [f"Description={plain(f'{s.name}: {s.description}' if s.description else s.name)}"]
            after = [self.names[j] for j in waits[i]]
            # Requires=/Wants=: never an on_failure step, which only OnFailure= starts
            looked_at = deps[i] if when == "on_previous" else waits[i]
            needed = [self.names[j] for j in looked_at if pulled[j]]
            notes = [f"step {s.name} of workflow {wf.name}: runs {self._when_note(s, sequential)}"]
            relation = ""
            if when == "on_previous" and triggered[i]:
                # started by the steps it depends on that the target does not pull in: require
                # those (one transaction); requiring the others would run them again
                relation = "Requires"
                needed = [self.names[d] for d in deps[i] if triggered[d]]
                notes.append("started by " + " ".join(needed) + " (Wants=) when it runs")
            elif when in ("on_success", "on_previous"):
                relation = "Wants" if cfg.continue_on_failure else "Requires"
            elif when == "always":
                relation = "Wants"
            else:
                needed = []
                if cfg.continue_on_failure:
                    notes.append("never runs: with continue_on_failure no step counts as failed")
            triggers = on_failure[i] + ([rollback_first] if rollback_first else [])
            files.append(OutputFile(self.names[i], self._unit(s, unit_sec, after, relation, needed, triggers, notes,
                                                              starts[i])))

        for k, s in enumerate(self.rollback):
            i = n + k
            unit_sec = [f"Description={plain(f'rollback {s.name}: {s.description}' if s.description else s.name)}"]
            after = [self.names[i - 1]] if k else []
            wants = [self.names[i + 1]] if k + 1 < len(self.rollback) else []
            notes = [f"rollback step {s.name} of workflow {wf.name}: started when a step fails (OnFailure=), "
                     + ("then the next rollback step" if wants else "the last rollback step")]
            files.append(OutputFile(self.names[i], self._unit(s, unit_sec, after, "Wants", wants, [], notes)))
        self._warn(deps, ancestors)
        files.append(self._target(pulled))
        return files

    def _when_note(self, s: Step, sequential: bool) -> str:
        what = "the steps before it" if sequential else "the steps it depends on"
        return {
            "on_success": f"when {what} succeeded",
            "on_previous": "when the step before it succeeded" if sequential else f"when {what} succeeded",
            "always": f"after {what}, whatever they did",
            "on_failure": "when a step before it fails (OnFailure=)" if sequential
            else "when a step it depends on fails (OnFailure=)",
        }[s.condition.when] + ("; when its condition.script exits 0" if s.condition.script else "")

    def _check(self, s: Step) -> bool:
        ok = True
        for text, path in ((s.task.command, s.task.command_path or s.task.path),
                           (s.condition.script, s.condition.path)):
            if "\0" in text:
                self.ctx.error("E0601", f"step {s.name!r} holds a NUL character, which no process argument "
                               "can hold", self.file, path)
                ok = False
        for e in self.wf.env + s.task.env:
            ok = check_nul(e.value, "a value", self.ctx, self.file) and ok
        cwd = self._cwd(s)
        if cwd is not None and (re.search(r"[\x00-\x1f\x7f]", cwd) or cwd != cwd.strip() or cwd.endswith("\\")):
            self.ctx.error("E0601", f"the cwd {s.task.cwd!r} of step {s.name!r} cannot be written in a "
                           "WorkingDirectory= line (a control character, or white space or a backslash at an end)",
                           self.file, s.task.path, help="rename the folder")
            ok = False
        return ok

    def _cwd(self, s: Step) -> Optional[str]:
        if not s.task.cwd:
            return None
        return posixpath.normpath(posixpath.join(workspace(self.wf), s.task.cwd))

    def _unit(self, s: Step, unit_sec: list[str], after: list[str], relation: str, needed: list[str],
              triggers: list[str], notes: list[str], starts: list[str] = ()) -> str:
        wf, ctx, file = self.wf, self.ctx, self.file
        stacks = [f"{unit_name(container_name(st, m))}.service" for st in wf.requires for m in st.members]
        unit_sec.append("After=" + " ".join(["network-online.target"] + stacks + after))
        unit_sec.append("Wants=network-online.target")
        if stacks:
            unit_sec.append("Requires=" + " ".join(stacks))
        if needed:
            unit_sec.append(f"{relation}=" + " ".join(needed))
        if starts:
            unit_sec.append("Wants=" + " ".join(starts))
        if triggers:
            unit_sec.append("OnFailure=" + " ".join(triggers))

        me = self.names[(self.steps + self.rollback).index(s)].removesuffix(".service")
        env = {}
        for e in wf.env + s.task.env:  # the step's own win
            env[e.name] = e
        envs = _EnvRefs(me, file, ctx, tuple(env.values()))
        literal = []
        for e in env.values():
            if e.value.host_vars:
                envs.add(e.name, e.value)
            else:
                literal.append("Environment=" + quote(f"{e.name}={_text(e.value, ctx, file)}", False, force=True))
        service = ["Type=oneshot", f"StateDirectory={STATE_DIR}/{wf.name}"]
        cwd = self._cwd(s) or workspace(wf)
        service.append("WorkingDirectory=" + cwd.replace("%", "%%"))
        service += envs.lines() + literal
        timeout_ms = s.task.timeout_ms
        retries = wf.config.retry_failed_steps
        if timeout_ms:
            if retries:
                per_attempt = timeout_ms + KILL_AFTER * 1000
                service.append(f"TimeoutStartSec={timespan(per_attempt * (retries + 1))}")
                notes.append(f"timeout_ms = {timeout_ms} per attempt (timeout); TimeoutStartSec= bounds "
                             f"all {retries + 1} attempts")
            else:
                service.append(f"TimeoutStartSec={timespan(timeout_ms)}")
            service.append(f"TimeoutStopSec={KILL_AFTER}s")
        if s.condition.script:
            service.append("ExecCondition=/bin/bash -c " + " ".join(
                [quote(_CONDITION), "b00t-condition", quote(s.condition.script)]))
        if retries:
            words = f"timeout -k {KILL_AFTER} {_seconds(timeout_ms)} " if timeout_ms else ""
            loop = _RETRY.replace("TIMEOUT", words).replace("N", str(retries))
            service.append("ExecStart=/bin/bash -c " + " ".join([quote(loop), quote(s.name), quote(s.task.command)]))
            notes.append(f"retry_failed_steps = {retries}: the command runs again after a failure, up to "
                         f"{retries} more times (a loop in ExecStart=)")
        else:
            service.append("ExecStart=/bin/bash -c " + quote(s.task.command))
        notes += envs.note()
        return _unit_text(_head(self.unit, notes), [("Unit", unit_sec), ("Service", service)])

    def _target(self, pulled: list[bool]) -> OutputFile:
        wf = self.wf
        steps = [self.names[i] for i, p in enumerate(pulled) if p]
        notes = [
            f"Workflow {wf.name}" + (f": {wf.description}" if wf.description else ""),
            f"systemctl restart {unit_name(wf.name)}.target runs it (every step runs on this host, "
            f"in the workspace {workspace(wf)}); it fails when a step it pulls in fails.",
            "on_failure and rollback steps are started by OnFailure= of the steps before them.",
            "Exit status: systemctl restart fails (status 1) when a step failed; systemctl status "
            "<step unit> gives that step's own exit status.",
        ]
        for s in wf.requires:
            notes.append(f"requires stack {s.name}: its units are pulled in by the steps")
        unit_sec = [f"Description={plain(wf.hint or wf.description or f'workflow {wf.name}')}"]
        if steps:
            unit_sec += ["Requires=" + " ".join(steps), "After=" + " ".join(steps)]
        # no [Install]: a workflow runs when started, not at every boot
        return OutputFile(f"{unit_name(wf.name)}.target", _unit_text(_head(self.unit, notes), [("Unit", unit_sec)]))

    def _warn(self, deps: list[list[int]], ancestors: list[set[int]]) -> None:
        ctx, cfg = self.ctx, self.wf.config
        if cfg.mode != "sequential":
            n = len(self.steps)
            for i in range(n):
                for j in range(i + 1, n):
                    if i not in ancestors[j] and j not in ancestors[i]:
                        ctx.cannot_express(
                            f"stopping steps {self.steps[i].name!r} and {self.steps[j].name!r} after a "
                            f"failure of the other ({cfg.mode} mode): a failure stops only the steps "
                            "that depend on the failed one on systemd",
                            self.file, cfg.path or "$.b00t.job",
                        )
                        break
                else:
                    continue
                break
        for i, s in enumerate(self.steps):
            skippable = [self.steps[d].name for d in deps[i] if self.steps[d].condition.script]
            if s.condition.when == "on_previous" and skippable:
                ctx.cannot_express(
                    f"skipping on_previous step {s.name!r} when {skippable[0]!r} is skipped by its "
                    "condition.script: systemd does not count a skipped unit as failed, and runs it",
                    self.file, s.condition.path or s.path,
                )
        if self.rollback:
            ctx.cannot_express(
                "running the rollback steps after the workflow's other steps have ended: they start as "
                "soon as a step fails (OnFailure=)",
                self.file, cfg.path or "$.b00t.job",
            )
