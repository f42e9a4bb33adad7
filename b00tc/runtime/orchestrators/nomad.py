"""Nomad: ``nomad job run``, and day two on the job named after the datum, whose ``meta``
must say ``b00t_managed_by = "b00tc"`` and ``b00t_datum``."""

from __future__ import annotations

import json
import os
import shutil
from typing import Optional

from b00tc.runtime.model import Availability, Command, Deployed, LifecycleError, Manifest, ObjectState, Options, Status
from b00tc.runtime.orchestrators.base import Echo, Orchestrator
from b00tc.runtime.process import Runner, answer, failed, parse_json, probe, run_captured
from b00tc.runtime.steps import NOMAD_EVENTS, from_runner_log, from_step_events


def _inspect(d: Deployed) -> list[str]:
    return ["nomad", "job", "inspect", d.name]


def _allocs(d: Deployed) -> list[str]:
    return ["nomad", "job", "allocs", "-json", d.name]


def _managed(job: dict, d: Deployed) -> bool:
    meta = job.get("Meta") or {}
    return meta.get("b00t_managed_by") == "b00tc" and meta.get("b00t_datum") == d.datum


def _job(d: Deployed, run: Runner) -> Optional[dict]:
    """The job b00tc would have deployed for ``d`` (``nomad job inspect``); None when
    there is none."""
    argv = _inspect(d)
    p = run(argv)
    if p.returncode != 0:
        if "not found" in (p.stderr + p.stdout).lower():
            return None
        raise failed(argv, p)
    doc = parse_json(argv, p.stdout)
    return doc.get("Job", doc) if isinstance(doc, dict) else None


class Nomad(Orchestrator):
    name = "nomad"
    target = "nomad"
    suffix = ".nomad.hcl"
    short = "nomad"
    ext = "hcl"
    how_to_get = ("install Nomad (https://developer.hashicorp.com/nomad/install) and start an agent "
                  "(`nomad agent -dev` for a local one) or set NOMAD_ADDR")
    MCP_DATUMS = ("nomad",)

    def available(self) -> Availability:
        """``nomad version``, then ``nomad status`` (an agent answers at NOMAD_ADDR)."""
        if not shutil.which("nomad"):
            return Availability(self.name, False, "not installed")
        ver = probe(["nomad", "version"])
        if not ver.ok:
            return Availability(self.name, False, ver.why())
        status = probe(["nomad", "status"])
        if not status.ok:
            addr = os.environ.get("NOMAD_ADDR", "http://127.0.0.1:4646")
            return Availability(self.name, False, f"no Nomad agent answers at {addr}: {status.why()}")
        return Availability(self.name, True, "nomad agent answers", ["nomad"])

    def deploy_commands(self, m: Manifest, path: str, o: Options) -> list[Command]:
        return [Command(["nomad", "job", "run", path])]

    def value_commands(self, stores: list, values: list[dict[str, str]], o: Options) -> list[Command]:
        """One ``nomad var put`` per Variable (``EnvFile`` of kind nomad), its items as a
        JSON variable specification on stdin (``-in=json`` and ``-`` after the path; the
        path argument wins over the spec's). ``-force``: without it the put is a
        check-and-set at index 0, which only creates, and a redeploy must replace the
        Variable. ``-out=none``: by default the command prints the variable, items
        included, when its output is not a terminal. A Variable with no items is invalid to
        Nomad and is left out."""
        out = []
        for store, items in zip(stores, values, strict=True):
            if store.kind != "nomad" or not items:
                continue
            spec = json.dumps({"Items": items}, ensure_ascii=True, sort_keys=False)
            n = len(items)
            out.append(Command(
                ["nomad", "var", "put", "-force", "-in=json", "-out=none"]
                + ([f"-namespace={store.namespace}"] if store.namespace else []) + [store.path, "-"],
                stdin=spec.encode("ascii"),
                stdin_what=f"Variable {store.path}: {n} item{'s' * (n != 1)}"))
        return out

    def commands(self, d: Deployed, op: str, o: Options) -> list[Command]:
        if op == "status":
            return [Command(_inspect(d)), Command(_allocs(d))]
        if op == "logs":
            out = []
            for task in ([d.name] if d.kind == "job" else d.members):
                out.append(Command(["nomad", "alloc", "logs"] + (["-f"] if o.follow else []) + ["-job", d.name, task]))
                if not o.follow:
                    out.append(Command(["nomad", "alloc", "logs", "-stderr", "-job", d.name, task]))
            return out
        return [Command(["nomad", "job", "stop", "-purge", d.name])]

    def status_of(self, d: Deployed, job: Optional[dict], allocs: list[dict]) -> Status:
        """The status from ``nomad job inspect``'s job and ``nomad job allocs``."""
        if job is None:
            return Status(d.datum, self.name, "not deployed")
        managed = _managed(job, d)
        objects = [ObjectState("job", job.get("ID", d.name), (job.get("Status") or "unknown") + (" (stopped)" if job.get("Stop") else ""),
                               job.get("Type", ""), managed)]
        task_states: dict[str, tuple[str, str]] = {}
        for a in sorted(allocs, key=lambda a: a.get("CreateIndex", 0)):
            objects.append(ObjectState("alloc", f"{a.get('TaskGroup', '?')}/{str(a.get('ID', '?'))[:8]}",
                                       a.get("ClientStatus", "unknown"), "", managed))
            for task, ts in (a.get("TaskStates") or {}).items():
                exit_code = ""
                for ev in ts.get("Events") or []:
                    if ev.get("Type") == "Terminated":
                        exit_code = str((ev.get("Details") or {}).get("exit_code", ev.get("ExitCode", "")))
                task_states[task] = (ts.get("State", "unknown"), "failed" if ts.get("Failed") else exit_code)
        if not managed:
            return Status(d.datum, self.name, "unknown", objects,
                          f"the Nomad job {d.name} was not deployed by b00tc for {d.datum} (its meta says otherwise)")
        if d.kind == "job":
            state, failed_ = task_states.get(d.name, ("pending", ""))
            if state == "dead":
                state = "failed" if failed_ and failed_ not in ("0",) else "succeeded"
            elif state not in ("running", "pending"):
                state = "pending"
            return Status(d.datum, self.name, state, objects)
        running = [t for t in d.members if task_states.get(t, ("",))[0] == "running"]
        return Status(d.datum, self.name, "up" if len(running) == len(d.members) and d.members else "degraded", objects)

    def status(self, d: Deployed, o: Options, run: Runner = run_captured) -> Status:
        job = _job(d, run)
        allocs: list[dict] = []
        if job is not None:
            argv = _allocs(d)
            allocs = parse_json(argv, answer(argv, run)) or []
        st = self.status_of(d, job, allocs)
        if d.workflow and allocs and st.state not in ("not deployed", "unknown"):
            st.objects += self.steps(d, st.state, run)
        return st

    def steps(self, d: Deployed, state: str, run: Runner) -> list[ObjectState]:
        """A workflow job's steps, read from the step runner's lifecycle lines in the alloc
        dir (``nomad alloc fs``), else from the output of its one task (``nomad alloc logs``,
        stdout then stderr: the runner's own lines are on stderr)."""
        finished = state in ("succeeded", "failed")
        code = None if not finished else (0 if state == "succeeded" else 1)
        p = run(["nomad", "alloc", "fs", "-job", d.name, "alloc/" + NOMAD_EVENTS.rsplit("/", 1)[1]])
        if p.returncode == 0 and p.stdout.strip():
            return from_step_events(d, p.stdout, finished, code)
        text = ""
        for extra in ([], ["-stderr"]):
            argv = ["nomad", "alloc", "logs", *extra, "-job", d.name, d.name]
            p = run(argv)
            if p.returncode == 0:
                text += p.stdout if p.stdout.endswith("\n") or not p.stdout else p.stdout + "\n"
        finished = state in ("succeeded", "failed")
        return from_runner_log(d, text, finished, None if not finished else (0 if state == "succeeded" else 1))

    def down_checks(self, d: Deployed) -> list[str]:
        return [f"would check that the Nomad job {d.name} has meta b00t_managed_by = \"b00tc\" and "
                f"b00t_datum = \"{d.datum}\" (nomad job inspect {d.name})"]

    def check_down(self, d: Deployed, o: Options, echo: Echo, run: Runner) -> bool:
        job = _job(d, run)
        if job is None:
            echo(f"{d.datum}: no Nomad job {d.name}: nothing to stop")
            return False
        if not _managed(job, d):
            meta = job.get("Meta") or {}
            raise LifecycleError(
                f"the Nomad job {d.name} was not deployed by b00tc for {d.datum} (meta b00t_managed_by="
                f"{meta.get('b00t_managed_by')!r}, b00t_datum={meta.get('b00t_datum')!r}): not stopping it")
        return True
