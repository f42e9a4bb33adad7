"""Day two: the status, logs and teardown of what b00tc deployed, asked of the orchestrator
itself and selected by what b00tc puts on everything it generates, so that nothing b00tc
did not create is touched:

- kubernetes: the labels ``app.kubernetes.io/managed-by=b00tc`` and, for a job,
  ``b00t.io/datum=<name>.job``, for a stack ``app.kubernetes.io/part-of=<name>``
  (``kubectl get|logs|delete -l``);
- docker-compose: the project b00tc named after the datum (``docker compose -p NAME``),
  whose containers must all carry ``app.kubernetes.io/managed-by=b00tc``;
- nomad: the job named after the datum, whose ``meta`` must say ``b00t_managed_by =
  "b00tc"`` and ``b00t_datum``;
- direct: a job's pid, exit code and output, recorded by ``b00tc deploy`` in a state folder
  (``$B00TC_STATE_DIR``, else ``$XDG_STATE_HOME/b00tc``, else ``~/.local/state/b00tc``); a
  stack's containers by the same labels as Kubernetes (``<stack>.sh status|logs|down``).

Everything here is data first (``commands``: the argv b00tc runs, shown by ``b00tc plan``;
``mcp_calls``: the same as MCP tool calls), then run (``status``, ``logs``, ``down``).

Exit codes of the commands: 0 deployed and fine (running, up, succeeded, pending); 1
failed or degraded (or a down that was refused); 3 the orchestrator cannot be used here;
4 nothing of the datum is deployed.
"""

from __future__ import annotations

import shlex
import sys
from typing import Callable, Optional

from b00tc.exitcodes import NOT_DEPLOYED
from b00tc.runtime import containers
from b00tc.runtime import state as st
from b00tc.runtime.model import (
    MANAGED, Command, Deployed, LifecycleError, Manifest, McpCommand, ObjectState, Options, Status, summarize,
)
from b00tc.runtime.process import Runner, answer, failed, parse_json, run_captured, run_each

K8S_STATUS_KINDS = ("jobs", "deployments", "services", "pods", "persistentvolumeclaims")
K8S_DOWN_KINDS = ("jobs", "deployments", "services")


# file suffix each target's backend writes after the datum's name
SUFFIX = {"k8s": ".yaml", "compose": ".compose.yaml", "nomad": ".nomad.hcl", "bash": ".sh"}


def manifests_of(result, target: str) -> list[Manifest]:
    from b00tc.ir import Job

    kinds = {u.datum.name: ("job" if isinstance(u.datum, Job) else "stack") for u in result.units}
    out = []
    for t, f in result.outputs:
        if t != target:
            continue
        name = f.path[: -len(SUFFIX[target])] if f.path.endswith(SUFFIX[target]) else f.path
        out.append(Manifest(f.path, f.content, f.mode, name, kinds.get(name, "job")))
    return out


def deployed_of(result, target: str) -> list[Deployed]:
    """The root datums of a build, with the manifests of ``target`` (if it was built)."""
    from b00tc.ir import Job

    manifests = {m.datum: m for m in manifests_of(result, target)} if target else {}
    out = []
    for unit in result.units:
        d = unit.datum
        if isinstance(d, Job):
            out.append(Deployed(d.name, "job", [], manifests.get(d.name)))
        else:
            out.append(Deployed(d.name, "stack", [m.name for m in d.members], manifests.get(d.name)))
    return out


def k8s_selector(d: Deployed) -> str:
    if d.kind == "job":
        return f"{MANAGED},b00t.io/datum={d.datum}"
    return f"{MANAGED},app.kubernetes.io/part-of={d.name}"


# ---------------------------------------------------------------------------------------
# What runs: the commands (plan, --dry-run) and the MCP tool calls


def _kubectl(o: Options) -> list[str]:
    return ["kubectl"] + (["--context", o.context] if o.context else [])


def _ns(o: Options) -> list[str]:
    return ["--namespace", o.namespace] if o.namespace else []


def _docker_by_labels(d: Deployed, o: Options) -> list[str]:
    return [o.runtime, "ps", "--all", "--quiet", "--filter", f"label={MANAGED}",
            "--filter", f"label=app.kubernetes.io/part-of={d.name}"]


def _compose_ps(d: Deployed, o: Options) -> list[str]:
    return list(o.compose) + ["-p", d.name, "-f", o.path(d), "ps", "--all", "--quiet"]


def _nomad_inspect(d: Deployed) -> list[str]:
    return ["nomad", "job", "inspect", d.name]


def _nomad_allocs(d: Deployed) -> list[str]:
    return ["nomad", "job", "allocs", "-json", d.name]


def commands(d: Deployed, orchestrator: str, op: str, o: Options) -> list[Command]:
    """The commands ``op`` runs for ``d`` (a shell form where one takes the answer of
    another: those lines are shown, b00tc runs them step by step)."""
    if orchestrator == "kubernetes":
        sel = k8s_selector(d)
        if op == "status":
            return [Command(_kubectl(o) + ["get", ",".join(K8S_STATUS_KINDS), "-l", sel, "-o", "json"] + _ns(o))]
        if op == "logs":
            follow = ["--follow", "--max-log-requests=50"] if o.follow else []
            return [Command(_kubectl(o) + ["logs", "-l", sel, "--all-containers", "--prefix", "--tail=-1"]
                            + follow + _ns(o))]
        kinds = K8S_DOWN_KINDS + (("persistentvolumeclaims",) if o.volumes else ())
        return [Command(_kubectl(o) + ["delete", ",".join(kinds), "-l", sel, "--ignore-not-found"] + _ns(o))]
    if orchestrator == "docker-compose":
        head = list(o.compose) + ["-p", d.name, "-f", o.path(d)]
        if op == "status":
            return [Command([f"{o.runtime} inspect $({shlex.join(_compose_ps(d, o))})"], shell=True)]
        if op == "logs":
            return [Command(head + ["logs", "--no-color"] + (["--follow"] if o.follow else []))]
        return [Command(head + ["down", "--remove-orphans"] + (["--volumes"] if o.volumes else []))]
    if orchestrator == "nomad":
        if op == "status":
            return [Command(_nomad_inspect(d)), Command(_nomad_allocs(d))]
        if op == "logs":
            out = []
            for task in ([d.name] if d.kind == "job" else d.members):
                out.append(Command(["nomad", "alloc", "logs"] + (["-f"] if o.follow else []) + ["-job", d.name, task]))
                if not o.follow:
                    out.append(Command(["nomad", "alloc", "logs", "-stderr", "-job", d.name, task]))
            return out
        return [Command(["nomad", "job", "stop", "-purge", d.name])]
    # direct
    if d.kind == "stack":
        if op == "status":
            return [Command([f"{o.runtime} inspect $({shlex.join(_docker_by_labels(d, o))})"], shell=True)]
        return [Command(["bash", o.path(d), op] + (["-f"] if op == "logs" and o.follow else []))]
    if op == "status":
        return [Command(["cat", st.state_file(d.name)])]
    if op == "logs":
        return [Command(["tail", "-n", "+1"] + (["-f"] if o.follow else []) + [st.log_file(d.name)])]
    return [Command([f"kill -TERM -- \"-$(cat {shlex.quote(st.pid_file(d.name))})\""], shell=True)]


#: MCP day-two tool calls, by profile: (op, deployed, options) -> [(tool, arguments)]
def _mcp_server_kubernetes(op: str, d: Deployed, o: Options) -> list[tuple[str, dict]]:
    ns = o.namespace or "default"
    extra = {"context": o.context} if o.context else {}
    sel = k8s_selector(d)
    if op == "status":
        return [("kubectl_get", {"resourceType": kind, "labelSelector": sel, "namespace": ns, "output": "json", **extra})
                for kind in K8S_STATUS_KINDS]
    if op == "logs":
        if d.kind == "job":
            return [("kubectl_logs", {"resourceType": "job", "name": d.name, "namespace": ns, **extra})]
        return [("kubectl_logs", {"resourceType": "deployment", "name": m, "namespace": ns, **extra})
                for m in d.members]
    kinds = K8S_DOWN_KINDS + (("persistentvolumeclaims",) if o.volumes else ())
    return [("kubectl_delete", {"resourceType": kind, "labelSelector": sel, "namespace": ns, **extra})
            for kind in kinds]


def _docker_mcp_server(op: str, d: Deployed, o: Options) -> list[tuple[str, dict]]:
    command = {"status": "ps", "logs": "logs --no-color",
               "down": "down --remove-orphans" + (" --volumes" if o.volumes else "")}[op]
    return [("docker-compose", {"command": command, "filePath": o.path(d), "projectName": d.name})]


DAY_TWO_TOOLS: dict[str, Callable[[str, Deployed, Options], list[tuple[str, dict]]]] = {
    "mcp-server-kubernetes": _mcp_server_kubernetes,
    "docker-mcp-server": _docker_mcp_server,
}


def mcp_calls(d: Deployed, op: str, o: Options, profile) -> list[McpCommand]:
    """``op`` as tool calls of the profile's server; [] when b00tc knows no such tools."""
    if profile is None or profile.name not in DAY_TWO_TOOLS:
        return []
    return [McpCommand(profile.server, tool, args) for tool, args in DAY_TWO_TOOLS[profile.name](op, d, o)]


# ---------------------------------------------------------------------------------------
# Status


def _k8s_object(item: dict) -> ObjectState:
    kind, meta = item.get("kind", "?"), item.get("metadata", {})
    name, st, spec = meta.get("name", "?"), item.get("status") or {}, item.get("spec") or {}
    managed = (meta.get("labels") or {}).get("app.kubernetes.io/managed-by") == "b00tc"
    if kind == "Job":
        conds = {c.get("type"): c for c in st.get("conditions") or [] if c.get("status") == "True"}
        if "Complete" in conds or (st.get("succeeded") or 0) >= (spec.get("completions") or 1):
            return ObjectState(kind, name, "succeeded", f"{st.get('succeeded', 0)} succeeded", managed)
        if "Failed" in conds:
            return ObjectState(kind, name, "failed", conds["Failed"].get("reason", "") or f"{st.get('failed', 0)} failed", managed)
        if st.get("active"):
            return ObjectState(kind, name, "running", f"{st['active']} active", managed)
        return ObjectState(kind, name, "pending", "", managed)
    if kind in ("Deployment", "StatefulSet"):
        want, ready = spec.get("replicas", 1), st.get("readyReplicas") or 0
        return ObjectState(kind, name, "up" if ready >= want else "not ready", f"{ready}/{want} ready", managed)
    if kind == "Pod":
        phase = st.get("phase", "Unknown")
        waiting = [c.get("state", {}).get("waiting", {}).get("reason") for c in st.get("containerStatuses") or []]
        detail = ", ".join(w for w in waiting if w)
        return ObjectState(kind, name, phase.lower(), detail, managed)
    if kind == "Service":
        ports = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
        return ObjectState(kind, name, "present", f"{spec.get('type', 'ClusterIP')} {ports}".strip(), managed)
    if kind == "PersistentVolumeClaim":
        return ObjectState(kind, name, (st.get("phase") or "pending").lower(), "", managed)
    return ObjectState(kind, name, "present", "", managed)


def k8s_status_from(d: Deployed, items: list[dict]) -> Status:
    objects = [_k8s_object(i) for i in items]
    job = next((s for s in objects if s.kind == "Job" and s.name == d.name), None)
    return summarize(d, "kubernetes", objects, job, [s for s in objects if s.kind in ("Deployment", "StatefulSet")])


def nomad_status_from(d: Deployed, job: Optional[dict], allocs: list[dict]) -> Status:
    if job is None:
        return Status(d.datum, "nomad", "not deployed")
    meta = job.get("Meta") or {}
    managed = meta.get("b00t_managed_by") == "b00tc" and meta.get("b00t_datum") == d.datum
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
        return Status(d.datum, "nomad", "unknown", objects,
                      f"the Nomad job {d.name} was not deployed by b00tc for {d.datum} (its meta says otherwise)")
    if d.kind == "job":
        state, failed = task_states.get(d.name, ("pending", ""))
        if state == "dead":
            state = "failed" if failed and failed not in ("0",) else "succeeded"
        elif state not in ("running", "pending"):
            state = "pending"
        return Status(d.datum, "nomad", state, objects)
    running = [t for t in d.members if task_states.get(t, ("",))[0] == "running"]
    return Status(d.datum, "nomad", "up" if len(running) == len(d.members) and d.members else "degraded", objects)


def _nomad_job(d: Deployed, run: Runner) -> Optional[dict]:
    argv = _nomad_inspect(d)
    p = run(argv)
    if p.returncode != 0:
        if "not found" in (p.stderr + p.stdout).lower():
            return None
        raise failed(argv, p)
    doc = parse_json(argv, p.stdout)
    return doc.get("Job", doc) if isinstance(doc, dict) else None


def status(d: Deployed, orchestrator: str, o: Options, run: Runner = run_captured) -> Status:
    if orchestrator == "kubernetes":
        argv = commands(d, orchestrator, "status", o)[0].argv
        return k8s_status_from(d, (parse_json(argv, answer(argv, run)) or {}).get("items") or [])
    if orchestrator == "docker-compose":
        return containers.listed_status(d, orchestrator, _compose_ps(d, o), o, run, "com.docker.compose.service")
    if orchestrator == "nomad":
        job = _nomad_job(d, run)
        allocs: list[dict] = []
        if job is not None:
            argv = _nomad_allocs(d)
            allocs = parse_json(argv, answer(argv, run)) or []
        return nomad_status_from(d, job, allocs)
    if d.kind == "stack":
        return containers.listed_status(d, "direct", _docker_by_labels(d, o), o, run, "app.kubernetes.io/name")
    return direct_job_status(d)


# ---------------------------------------------------------------------------------------
# direct jobs: the state folder


def direct_job_status(d: Deployed) -> Status:
    state = st.read(d.name)
    if state is None:
        return Status(d.datum, "direct", "not deployed")
    code = state.get("exit_code")
    obj = ObjectState("process", str(state.get("pid")), "", f"started {state.get('started', '?')}")
    if code is not None:
        obj.state = "exited"
        obj.detail = f"exit {code}, {obj.detail}, finished {state.get('finished', '?')}"
        return Status(d.datum, "direct", "succeeded" if code == 0 else "failed", [obj])
    if st.alive(state):
        obj.state = "running"
        return Status(d.datum, "direct", "running", [obj])
    obj.state = "gone"
    return Status(d.datum, "direct", "unknown", [obj],
                  "the process is gone and no exit code was recorded (the deploying b00tc was stopped)")


def direct_job_down(d: Deployed, echo: Callable[[str], None], dry_run: bool) -> int:
    state = st.read(d.name)
    folder = st.state_dir(d.name)
    if state is None:
        echo(f"{d.datum}: nothing deployed by b00tc on direct (no {folder})")
        return 0
    alive = st.running(state)
    if dry_run:
        if alive:
            echo(f"would stop process {state['pid']} and its children (SIGTERM, then SIGKILL after 10 s)")
        echo(f"would remove {folder}")
        return 0
    if alive:
        echo(f"stopping process {state['pid']} and its children")
        st.stop(state)
    st.remove(d.name)
    echo(f"removed {folder}")
    return 0


def direct_job_logs(d: Deployed, follow: bool, out=None) -> int:
    if st.read(d.name) is None:
        raise LifecycleError(f"{d.datum}: nothing deployed by b00tc on direct (no {st.state_dir(d.name)})", NOT_DEPLOYED)
    st.copy_output(d.name, follow, out or sys.stdout.buffer)
    return 0


# ---------------------------------------------------------------------------------------
# Logs and down through the orchestrators' CLIs


def logs(d: Deployed, orchestrator: str, o: Options) -> int:
    if orchestrator == "direct" and d.kind == "job":
        return direct_job_logs(d, o.follow)
    return run_each(commands(d, orchestrator, "logs", o))


def down(d: Deployed, orchestrator: str, o: Options, echo: Callable[[str], None], dry_run: bool = False,
         run: Runner = run_captured) -> int:
    """Tear down what b00tc deployed for ``d``; refuse (exit 1) where the orchestrator
    holds something of that name that b00tc did not create."""
    if orchestrator == "direct" and d.kind == "job":
        return direct_job_down(d, echo, dry_run)
    if dry_run:  # ask nothing, change nothing: say what would be checked and run
        if orchestrator == "docker-compose":
            echo(f"would check that every container of the compose project {d.name} carries {MANAGED}")
        elif orchestrator == "nomad":
            echo(f"would check that the Nomad job {d.name} has meta b00t_managed_by = \"b00tc\" and "
                 f"b00t_datum = \"{d.datum}\" (nomad job inspect {d.name})")
        for c in commands(d, orchestrator, "down", o):
            echo(f"would run: {c.text()}")
        return 0
    if orchestrator == "docker-compose":
        st = status(d, orchestrator, o, run)
        foreign = [s.name for s in st.objects if not s.managed]
        if foreign:
            raise LifecycleError(
                f"the compose project {d.name} holds containers b00tc did not create ({', '.join(foreign)}): "
                "not taking it down", 1)
    if orchestrator == "nomad":
        job = _nomad_job(d, run)
        if job is None:
            echo(f"{d.datum}: no Nomad job {d.name}: nothing to stop")
            return 0
        meta = job.get("Meta") or {}
        if meta.get("b00t_managed_by") != "b00tc" or meta.get("b00t_datum") != d.datum:
            raise LifecycleError(
                f"the Nomad job {d.name} was not deployed by b00tc for {d.datum} (meta b00t_managed_by="
                f"{meta.get('b00t_managed_by')!r}, b00t_datum={meta.get('b00t_datum')!r}): not stopping it", 1)
    return run_each(commands(d, orchestrator, "down", o), echo)
