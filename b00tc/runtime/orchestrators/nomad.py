"""Nomad: ``nomad job run`` (or the tools of mcp-nomad), and day two on the job named after
the datum, whose ``meta`` must say ``b00t_managed_by = "b00tc"`` and ``b00t_datum``.

Through MCP, the server is mcp-nomad (npm ``@kocierik/mcp-nomad-<os>-<cpu>``, a Go binary
at the package's ``bin/mcp-nomad``, started with ``-transport stdio``; it reads
``NOMAD_ADDR`` and ``NOMAD_TOKEN``). Its tools, as its ``tools/list`` reports them (0.3.1):
``run_job {job_spec, detach}`` sends the job file to Nomad's ``/v1/jobs/parse`` and
registers what comes back; ``create_variable {path, key, value, namespace}`` puts a
Variable holding that one item (``PUT /v1/var/<path> {"Items": {key: value}}``: it
replaces the Variable, and refuses an empty value); ``get_job``, ``get_job_allocations``,
``get_allocation_logs {allocation_id, task, type}`` (its answer is ``{"logs": TEXT}``; with
no ``tail`` the whole log) and ``stop_job {job_id, purge}``. Its errors are tool errors
whose text starts "Failed to ..." and ends with Nomad's status and message.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Optional

from b00tc.exitcodes import NOT_DEPLOYED, UNAVAILABLE, USAGE
from b00tc.runtime.model import (
    Availability, Command, Deployed, LifecycleError, Manifest, McpCommand, ObjectState, Options, Profile, Status,
)
from b00tc.runtime.orchestrators.base import Echo, Orchestrator
from b00tc.runtime.process import Runner, answer, failed, parse_json, probe, run_captured
from b00tc.runtime.steps import NOMAD_EVENTS, from_runner_log, from_step_events


def _nomad(o: Options, command: str, sub: str, *rest: str) -> list[str]:
    """``nomad COMMAND SUB [-namespace=NS] REST...``: the namespace the build put the job
    in (-O nomad.namespace, or --namespace), else Nomad's own (NOMAD_NAMESPACE, default)."""
    return ["nomad", command, sub, *([f"-namespace={o.namespace}"] if o.namespace else []), *rest]


def _inspect(d: Deployed, o: Options) -> list[str]:
    return _nomad(o, "job", "inspect", d.name)


def _allocs(d: Deployed, o: Options) -> list[str]:
    return _nomad(o, "job", "allocs", "-json", d.name)


def _managed(job: dict, d: Deployed) -> bool:
    meta = job.get("Meta") or {}
    return meta.get("b00t_managed_by") == "b00tc" and meta.get("b00t_datum") == d.datum


def _job(d: Deployed, o: Options, run: Runner) -> Optional[dict]:
    """The job b00tc would have deployed for ``d`` (``nomad job inspect``); None when
    there is none."""
    argv = _inspect(d, o)
    p = run(argv)
    if p.returncode != 0:
        if "not found" in (p.stderr + p.stdout).lower():
            return None
        raise failed(argv, p)
    doc = parse_json(argv, p.stdout)
    return doc.get("Job", doc) if isinstance(doc, dict) else None


# ---------------------------------------------------------------------------------------
# mcp-nomad: where it is installed, and the calls of day two

MCP_NOMAD = "mcp-nomad"
#: a job's allocations, read first by logs and status (its answer fills the next calls)
_ALLOCS_READ = "get_job_allocations listed the job's allocations"
_FOUND = "get_job found the job"
_MANAGED = "get_job found the job with b00tc's meta"


def mcp_nomad_package() -> Optional[str]:
    """The npm package of mcp-nomad's binary for this machine; None where it has none."""
    import platform
    import sys

    system = "linux" if sys.platform.startswith("linux") else "darwin" if sys.platform == "darwin" else None
    cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    return f"@kocierik/mcp-nomad-{system}-{cpu}" if system and cpu else None


def _npmrc_prefix() -> Optional[str]:
    """``prefix=`` of ~/.npmrc: read only when it is a regular file (a FIFO would block),
    its first 64 KiB."""
    import stat

    path = os.path.expanduser("~/.npmrc")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            text = os.read(fd, 65536).decode("utf-8", "replace")
        finally:
            os.close(fd)
    except OSError:
        return None
    for line in text.splitlines():
        key, eq, value = line.partition("=")
        if eq and key.strip() == "prefix" and value.strip():
            return value.strip()
    return None


def npm_global_roots() -> list[str]:
    """Where ``npm install -g`` puts packages, as npm decides it without running npm: the
    prefix of ``npm_config_prefix`` (npm's own environment setting), of ``prefix=`` in
    ~/.npmrc, else of the ``node`` on PATH (npm's default), each ``PREFIX/lib/node_modules``."""
    prefixes = [os.environ.get("npm_config_prefix"), os.environ.get("NPM_CONFIG_PREFIX"), _npmrc_prefix()]
    node = shutil.which("node")
    if node:
        prefixes.append(os.path.dirname(os.path.dirname(os.path.realpath(node))))
    roots: list[str] = []
    for prefix in prefixes:
        if prefix:
            root = os.path.join(os.path.expanduser(prefix), "lib", "node_modules")
            if root not in roots:
                roots.append(root)
    return roots


def _answer_json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def _log_text(answer: str) -> str:
    """The log in get_allocation_logs's answer (``{"logs": TEXT}``); the answer as it is
    otherwise."""
    doc = _answer_json(answer)
    return doc["logs"] if isinstance(doc, dict) and isinstance(doc.get("logs"), str) else answer


def _latest_allocs(allocs: list[dict], tasks: list[str]) -> list[tuple[str, str]]:
    """(allocation ID, task) of the newest allocation that runs each task (what ``nomad
    alloc logs -job JOB TASK`` reads), in the order of ``tasks``."""
    out = []
    for task in tasks:
        runs = [a for a in allocs if isinstance(a, dict) and task in (a.get("TaskStates") or {})]
        if runs:
            newest = max(runs, key=lambda a: (a.get("CreateIndex") or 0, a.get("CreateTime") or 0))
            out.append((str(newest.get("ID", "")), task))
    return out


class Nomad(Orchestrator):
    name = "nomad"
    target = "nomad"
    suffix = ".nomad.hcl"
    short = "nomad"
    ext = "hcl"
    how_to_get = ("install Nomad (https://developer.hashicorp.com/nomad/install) and start an agent "
                  "(`nomad agent -dev` for a local one) or set NOMAD_ADDR")
    MCP_DATUMS = ("nomad",)
    DEFAULT_MCP_PROFILE = MCP_NOMAD
    #: get_job of a job that is not there is an error (Nomad's 404): an answer for day two
    MCP_ANSWERS = frozenset({"get_job"})

    def installed_mcp_server(self) -> tuple[Optional[tuple[str, ...]], str]:
        """mcp-nomad: ``mcp-nomad`` on PATH, else the npm package's binary under npm's
        global folder (``npm install -g`` links no command for it)."""
        exe = shutil.which("mcp-nomad")
        if exe:
            return (exe, "-transport", "stdio"), f"mcp-nomad on PATH ({exe})"
        package = mcp_nomad_package()
        roots = npm_global_roots()
        if package:
            for root in roots:
                exe = os.path.join(root, package, "bin", "mcp-nomad")
                if os.path.isfile(exe) and os.access(exe, os.X_OK):
                    return (exe, "-transport", "stdio"), f"npm {package}, installed in {root}"
        how = (f"`npm install -g {package}`" if package
               else "build it (https://github.com/kocierik/mcp-nomad: it has no npm package for this machine)")
        where = " (looked for mcp-nomad on PATH" + (f" and in {', '.join(roots)})" if roots else ")")
        return None, (f"no MCP server for nomad is installed{where}: install mcp-nomad with {how}, or name one in "
                      "nomad.mcp.toml on the datum search path or [mcp.nomad] in the config")

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
        """One ``nomad var put`` per Variable (``EnvFile`` of kind nomad), its one item
        (``_nomadvars.variable_items``) as a JSON variable specification on stdin
        (``-in=json`` and ``-`` after the path; the path argument wins over the spec's).
        ``-force``: without it the put is a check-and-set at index 0, which only creates,
        and a redeploy must replace the Variable. ``-out=none``: by default the command
        prints the variable, its item included, when its output is not a terminal. A job
        with no values has no Variable (one with no items is invalid to Nomad)."""
        from b00tc.backends._nomadvars import variable_items

        out = []
        for store, items in zip(stores, values, strict=True):
            if store.kind != "nomad" or not items:
                continue
            spec = json.dumps({"Items": variable_items(items)}, ensure_ascii=True, sort_keys=False)
            n = len(items)
            out.append(Command(
                ["nomad", "var", "put", "-force", "-in=json", "-out=none"]
                + ([f"-namespace={store.namespace}"] if store.namespace else []) + [store.path, "-"],
                stdin=spec.encode("ascii"),
                stdin_what=f"Variable {store.path}: {n} value{'s' * (n != 1)}"))
        return out

    def value_mcp_calls(self, stores: list, values: list[dict[str, str]], o: Options,
                        profile: Profile) -> list[McpCommand]:
        """mcp-nomad: one ``create_variable`` per Variable, of its one item (the JSON of its
        values, ``_nomadvars.variable_items``), redacted wherever the call is shown. The
        tool writes a Variable of one item, which is why b00tc's Variables have one."""
        if profile is None or profile.name != MCP_NOMAD:
            return []
        from b00tc.backends._nomadvars import variable_items

        out = []
        for store, values_ in zip(stores, values, strict=True):
            if store.kind != "nomad" or not values_:
                continue
            ((key, value),) = variable_items(values_).items()
            out.append(McpCommand(profile.server, "create_variable",
                                  {"path": store.path, "key": key, "value": value,
                                   **({"namespace": store.namespace} if store.namespace else {})},
                                  redact=("value",)))
        return out

    def commands(self, d: Deployed, op: str, o: Options) -> list[Command]:
        if op == "status":
            return [Command(_inspect(d, o)), Command(_allocs(d, o))]
        if op == "logs":
            out = []
            for task in ([d.name] if d.kind == "job" else d.members):
                out.append(Command(_nomad(o, "alloc", "logs", *(["-f"] if o.follow else []), "-job", d.name, task)))
                if not o.follow:
                    out.append(Command(_nomad(o, "alloc", "logs", "-stderr", "-job", d.name, task)))
            return out
        return [Command(_nomad(o, "job", "stop", "-purge", d.name))]

    # -- day two through mcp-nomad ---------------------------------------------------------

    @staticmethod
    def _tasks(d: Deployed) -> list[str]:
        return [d.name] if d.kind == "job" else list(d.members)

    def mcp_calls(self, d: Deployed, op: str, o: Options, profile: Optional[Profile]) -> list[McpCommand]:
        """status: get_job, then (the job found) get_job_allocations, then for a workflow
        job the logs its steps are read from; logs: get_job_allocations, then each task's
        stdout and stderr in its newest allocation; down: get_job, then (its meta b00tc's,
        as the CLI path checks) stop_job with purge."""
        if profile is None or profile.name != MCP_NOMAD:
            return []
        srv = profile.server
        job = {"job_id": d.name, **({"namespace": o.namespace} if o.namespace else {})}

        def logs(task: str, after: str, printed: bool) -> list[McpCommand]:
            return [McpCommand(srv, "get_allocation_logs",
                               {"allocation_id": f"<the newest allocation running {task}>", "task": task, "type": kind},
                               after=after, printed=printed) for kind in ("stdout", "stderr")]

        if op == "status":
            calls = [McpCommand(srv, "get_job", job, printed=False),
                     McpCommand(srv, "get_job_allocations", job, after=_FOUND, printed=False)]
            return calls + (logs(d.name, _ALLOCS_READ, False) if d.workflow else [])
        if op == "logs":
            if o.follow:  # the tool reads the log to its end before it answers: a followed one has none
                raise LifecycleError("mcp-nomad's get_allocation_logs answers once the whole log is read, so it "
                                     "cannot follow one: use --via cli for --follow", USAGE)
            return [McpCommand(srv, "get_job_allocations", job, printed=False)] + [
                c for task in self._tasks(d) for c in logs(task, _ALLOCS_READ, True)]
        return [McpCommand(srv, "get_job", job, printed=False),
                McpCommand(srv, "stop_job", {**job, "purge": True}, after=_MANAGED)]

    def _mcp_job(self, d: Deployed, text: str, ok: bool) -> Optional[dict]:
        """get_job's answer: the job, or None when Nomad has none of that name (its 404);
        a LifecycleError for any other error."""
        if not ok:
            if "HTTP 404" in text or "not found" in text.lower():
                return None
            raise LifecycleError(f"mcp-nomad get_job {d.name}: {text.strip()}", UNAVAILABLE)
        job = _answer_json(text)
        if not isinstance(job, dict):
            raise LifecycleError(f"mcp-nomad get_job {d.name} answered what is not a job: {text.strip()[:200]}",
                                 UNAVAILABLE)
        return job

    def mcp_next(self, d: Deployed, op: str, o: Options, profile: Optional[Profile],
                 answered: list, echo: Echo) -> list[McpCommand]:
        planned = {(c.tool, c.after): c for c in self.mcp_calls(d, op, o, profile)}
        for c, outcome in answered:
            if c.tool == "get_job":
                job = self._mcp_job(d, outcome.text, outcome.ok)
                if op == "status":
                    return [planned[("get_job_allocations", _FOUND)]] if job is not None else []
                if job is None:
                    echo(f"{d.datum}: no Nomad job {d.name}: nothing to stop")
                    return []
                self._refuse_unless_managed(job, d)
                return [planned[("stop_job", _MANAGED)]]
            if c.tool == "get_job_allocations":
                allocs = _answer_json(outcome.text)
                allocs = allocs if isinstance(allocs, list) else []
                if op == "status" and not d.workflow:
                    return []
                tasks = [d.name] if op == "status" else self._tasks(d)
                found = _latest_allocs(allocs, tasks)
                if op == "logs":
                    if not found:
                        raise LifecycleError(f"{d.datum}: the Nomad job {d.name} has no allocation to read logs from",
                                             NOT_DEPLOYED)
                    for task in sorted(set(tasks) - {t for _, t in found}):
                        echo(f"{d.datum}: no allocation of the Nomad job {d.name} runs {task}")
                return [McpCommand(profile.server, "get_allocation_logs",
                                   {"allocation_id": alloc, "task": task, "type": kind}, printed=op == "logs")
                        for alloc, task in found for kind in ("stdout", "stderr")]
        return []

    def mcp_printed(self, c: McpCommand, text: str) -> str:
        """get_allocation_logs answers ``{"logs": TEXT}``: the log is TEXT."""
        return _log_text(text) if c.tool == "get_allocation_logs" else text

    def status_from_mcp(self, d: Deployed, profile: Optional[str], outcomes) -> Optional[Status]:
        """The status from get_job's and get_job_allocations's answers (the API's job and
        allocations, as ``nomad job inspect`` and ``nomad job allocs -json`` give them);
        a workflow job's steps from its task's output (get_allocation_logs)."""
        if profile != MCP_NOMAD:
            return None
        job, allocs, text = None, [], ""
        for outcome in outcomes:
            if outcome.tool == "get_job" and outcome.ok:
                job = _answer_json(outcome.text)
            elif outcome.tool == "get_job_allocations" and outcome.ok:
                allocs = _answer_json(outcome.text) or []
            elif outcome.tool == "get_allocation_logs" and outcome.ok:
                log = _log_text(outcome.text)
                text += log if log.endswith("\n") or not log else log + "\n"
        st = self.status_of(d, job if isinstance(job, dict) else None, allocs if isinstance(allocs, list) else [])
        if d.workflow and allocs and st.state not in ("not deployed", "unknown"):
            finished = st.state in ("succeeded", "failed")
            code = None if not finished else (0 if st.state == "succeeded" else 1)
            st.objects += from_runner_log(d, text, finished, code)
        return st

    def _refuse_unless_managed(self, job: dict, d: Deployed) -> None:
        if not _managed(job, d):
            meta = job.get("Meta") or {}
            raise LifecycleError(
                f"the Nomad job {d.name} was not deployed by b00tc for {d.datum} (meta b00t_managed_by="
                f"{meta.get('b00t_managed_by')!r}, b00t_datum={meta.get('b00t_datum')!r}): not stopping it")

    # -- status from the job and its allocations -----------------------------------------

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
        job = _job(d, o, run)
        allocs: list[dict] = []
        if job is not None:
            argv = _allocs(d, o)
            allocs = parse_json(argv, answer(argv, run)) or []
        st = self.status_of(d, job, allocs)
        if d.workflow and allocs and st.state not in ("not deployed", "unknown"):
            st.objects += self.steps(d, st.state, o, run)
        return st

    def steps(self, d: Deployed, state: str, o: Options, run: Runner) -> list[ObjectState]:
        """A workflow job's steps, read from the step runner's lifecycle lines in the alloc
        dir (``nomad alloc fs``), else from the output of its one task (``nomad alloc logs``,
        stdout then stderr: the runner's own lines are on stderr)."""
        finished = state in ("succeeded", "failed")
        code = None if not finished else (0 if state == "succeeded" else 1)
        p = run(_nomad(o, "alloc", "fs", "-job", d.name, "alloc/" + NOMAD_EVENTS.rsplit("/", 1)[1]))
        if p.returncode == 0 and p.stdout.strip():
            return from_step_events(d, p.stdout, finished, code)
        text = ""
        for extra in ([], ["-stderr"]):
            argv = _nomad(o, "alloc", "logs", *extra, "-job", d.name, d.name)
            p = run(argv)
            if p.returncode == 0:
                text += p.stdout if p.stdout.endswith("\n") or not p.stdout else p.stdout + "\n"
        finished = state in ("succeeded", "failed")
        return from_runner_log(d, text, finished, None if not finished else (0 if state == "succeeded" else 1))

    def down_checks(self, d: Deployed) -> list[str]:
        return [f"would check that the Nomad job {d.name} has meta b00t_managed_by = \"b00tc\" and "
                f"b00t_datum = \"{d.datum}\" (nomad job inspect {d.name})"]

    def check_down(self, d: Deployed, o: Options, echo: Echo, run: Runner) -> bool:
        job = _job(d, o, run)
        if job is None:
            echo(f"{d.datum}: no Nomad job {d.name}: nothing to stop")
            return False
        self._refuse_unless_managed(job, d)
        return True
