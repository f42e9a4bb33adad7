"""direct: the bash target run on this host. A job runs in the foreground under b00tc's
supervisor, which records its pid, exit code and output in the state folder
(b00tc.runtime.state) for day two; a stack's script starts its members as containers
labelled like Kubernetes objects (``<stack>.sh up|status|logs|down``)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import Optional

from b00tc.exitcodes import NOT_DEPLOYED, OK
from b00tc.runtime import containers, state
from b00tc.runtime.model import (
    MANAGED, Availability, Command, Deployed, LifecycleError, Manifest, ObjectState, Options, Status,
)
from b00tc.runtime.orchestrators.base import Echo, Orchestrator
from b00tc.runtime.process import Runner, run_captured
from b00tc.runtime.steps import from_runner_log, from_step_events


def _by_labels(d: Deployed, o: Options) -> list[str]:
    return [o.runtime, "ps", "--all", "--quiet", "--filter", f"label={MANAGED}",
            "--filter", f"label=app.kubernetes.io/part-of={d.name}"]


def _nothing(d: Deployed) -> str:
    return f"{d.datum}: nothing deployed by b00tc on {Direct.name} (no {state.state_dir(d.name)})"


class Direct(Orchestrator):
    name = "direct"
    aliases = ("bash",)
    target = "bash"
    suffix = ".sh"
    short = "direct"
    ext = "sh"
    how_to_get = "install bash"
    DAY_TWO_NEEDS_FILE = True
    #: bash is there or b00tc could not have been asked; a job's state is b00tc's own
    PROBED_BEFORE_DAY_TWO = False

    def available(self) -> Availability:
        """bash, always."""
        if not shutil.which("bash"):
            return Availability(self.name, False, "bash not installed")
        return Availability(self.name, True, "always available", ["bash"])

    # -- the plan and deploy ------------------------------------------------------------

    def deploy_commands(self, m: Manifest, path: str, o: Options) -> list[Command]:
        return [Command(["bash", path] + (["up"] if m.kind == "stack" else []),
                        is_job=m.kind == "job", datum=m.datum)]

    def run_command(self, c: Command, env: Optional[dict] = None) -> int:
        if c.is_job and c.datum:
            state.prepare(c.datum)  # its own error, before "cannot run bash" could be said
            return state.supervise(c.runnable(), c.datum, env=env)  # recorded for status, logs, down
        return super().run_command(c, env)

    # -- day two --------------------------------------------------------------------------

    def commands(self, d: Deployed, op: str, o: Options) -> list[Command]:
        if d.kind == "stack":
            if op == "status":
                return [Command([f"{o.runtime} inspect $({shlex.join(_by_labels(d, o))})"], shell=True)]
            return [Command(["bash", o.path(d), op] + (["-f"] if op == "logs" and o.follow else []))]
        if op == "status":
            return [Command(["cat", state.state_file(d.name)])]
        if op == "logs":
            return [Command(["tail", "-n", "+1"] + (["-f"] if o.follow else []) + [state.log_file(d.name)])]
        # what b00tc down does: the job's pid file names one process, and may be stale or tampered
        return [Command(["b00tc", "down", "--orchestrator", self.name, "--", d.file or f"{d.name}.job.toml"])]

    def status(self, d: Deployed, o: Options, run: Runner = run_captured) -> Status:
        if d.kind == "stack":
            return containers.listed_status(d, self.name, _by_labels(d, o), o, run, "app.kubernetes.io/name")
        st = state.read(d.name)
        if st is None:
            return Status(d.datum, self.name, "not deployed")
        code = st.get("exit_code")
        obj = ObjectState("process", str(st.get("pid")), "", f"started {st.get('started', '?')}")
        if code is not None:
            obj.state = "exited"
            obj.detail = f"exit {code}, {obj.detail}, finished {st.get('finished', '?')}"
            left = state.processes(st)
            if left:  # a daemon it started, say: `down` stops them
                obj.detail += f"; {len(left)} processes it started still run"
            return Status(d.datum, self.name, "succeeded" if code == 0 else "failed", [obj] + self.steps(d, True, code))
        if state.alive(st):
            obj.state = "running"
            return Status(d.datum, self.name, "running", [obj] + self.steps(d, False))
        obj.state = "gone"
        return Status(d.datum, self.name, "unknown", [obj] + self.steps(d, True),
                      "the process is gone and no exit code was recorded (the deploying b00tc was stopped)")

    def steps(self, d: Deployed, finished: bool, code: Optional[int] = None) -> list[ObjectState]:
        """A workflow's steps, read from the runner's lifecycle lines in the state folder,
        else from its output there ([] for any other job, or when neither can be read)."""
        if not d.workflow:
            return []
        try:
            with open(state.events_file(d.name), "rb") as f:
                return from_step_events(d, f.read().decode("utf-8", "replace"), finished, code)
        except OSError:
            pass
        try:
            with open(state.log_file(d.name), "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return []
        return from_runner_log(d, text, finished, code)

    def logs(self, d: Deployed, o: Options) -> int:
        if d.kind == "stack":
            return super().logs(d, o)
        if state.read(d.name) is None:
            raise LifecycleError(_nothing(d), NOT_DEPLOYED)
        try:
            state.copy_output(d.name, o.follow, sys.stdout.buffer)
        except FileNotFoundError:  # a record without its log (removed, or written by hand)
            raise LifecycleError(f"{d.datum}: no output log {state.log_file(d.name)}") from None
        return OK

    def down(self, d: Deployed, o: Options, echo: Echo, dry_run: bool = False, run: Runner = run_captured) -> int:
        if d.kind == "stack":
            return super().down(d, o, echo, dry_run, run)
        st = state.read(d.name)
        folder = state.state_dir(d.name)
        if st is None:
            echo(_nothing(d))
            return OK
        pids = state.processes(st)
        if dry_run:
            if pids:
                echo(f"would stop process {st['pid']} and what it started: {len(pids)} processes "
                     "(SIGTERM, then SIGKILL after 10 s)")
            echo(f"would remove {folder}")
            return OK
        for _ in range(5):  # a deploy that started meanwhile holds the lock until its job is stopped
            if pids:
                echo(f"stopping process {st['pid']} and what it started: {len(pids)} processes")
                left = state.stop(st)
                if left:
                    raise LifecycleError(f"{d.datum}: processes {' '.join(map(str, left))} of job {d.name} "
                                         f"did not stop after SIGKILL; {folder} is kept")
            lock = state.wait_unlocked(d.name)  # the deploying b00tc has written its last record
            if lock is None and not os.path.isdir(folder):
                echo(f"{folder} was removed by another b00tc down")
                return OK
            st = state.read(d.name)
            pids = state.processes(st) if st else set()
            if lock is not None and not pids:
                break
            if lock is not None:
                os.close(lock)
        else:
            raise LifecycleError(f"{d.datum}: job {d.name} is deployed again as it is stopped; run down again")
        state.remove(d.name)  # under the lock: no deploy can start before the folder is gone
        os.close(lock)
        echo(f"removed {folder}")
        return OK
