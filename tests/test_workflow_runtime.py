"""Workflow jobs at run time (issue 17): deploy, status, logs and down on each orchestrator,
with fake kubectl, docker and nomad executables that record their argv
(tests/test_runtime.Host), and the direct one for real.

kubernetes: deploy checks the Argo Workflow CRD before it applies anything, and says how
to install Argo; status reads the Workflow's phase and each step's node; down deletes the
Workflow and its pods, and refuses one b00tc did not create. direct: each step's state from
the runner's output after a real run. compose: each step service's container. nomad: each
step from the one task's logs. Until the container and host backends render workflows, a
deploy on kubernetes is given an Argo Workflow as the k8s backend writes it (the build is
stubbed); day two needs no k8s or nomad output, and runs through the command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import yaml

from b00tc.runtime import steps as S
from b00tc.runtime.model import Deployed, Options
from tests.test_runtime import KUBECTL_OK, Host
from tests.test_workflow import step, workflow

SEL = "app.kubernetes.io/managed-by=b00tc,b00t.io/datum=wf.job"
CRD_GET = "kubectl get crd workflows.argoproj.io"

ARGO = """apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: wf
  labels:
    app.kubernetes.io/managed-by: b00tc
    b00t.io/datum: wf.job
spec:
  entrypoint: steps
  templates: []
"""

WF = workflow(
    step("fetch data", "echo fetched"),
    step("Train", "echo training; exit 3", depends_on=["fetch data"]),
    step("report", "echo never", depends_on=["Train"]),
    step("quiet", "true", depends_on=["fetch data"]),
    mode="dag", config="rollback_on_failure = true",
    rollback=[step("undo", "echo undone")])


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path)
    for tool in ("mktemp", "mkfifo", "rm", "env", "timeout", "cat"):  # what the step runner uses
        if shutil.which(tool) and not (h.bin / tool).exists():
            os.symlink(shutil.which(tool), h.bin / tool)
    (tmp_path / "wf.job.toml").write_text(WF)
    return h


def kubectl(crd: bool, workflow_json: str = "", existing: str = "") -> str:
    """KUBECTL_OK, with `get crd` as a cluster with or without Argo, `get workflows` answering
    ``workflow_json`` (a file), `get workflows.argoproj.io wf` answering ``existing``."""
    ok = ('echo "customresourcedefinition.apiextensions.k8s.io/workflows.argoproj.io"' if crd else
          "echo 'Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io "
          "\"workflows.argoproj.io\" not found' >&2; exit 1")
    return KUBECTL_OK.replace('  *) exit 9 ;;', f'''  "get crd") {ok} ;;
  "get workflows.argoproj.io") if [ "$3" = wf ]; then /bin/cat "{existing or '/dev/null'}"; else /bin/cat "{workflow_json or '/dev/null'}"; fi ;;
  "delete workflows.argoproj.io,secrets"|"delete pods") echo deleted ;;
  "logs -l") echo "[pod/wf-1/main] fetched" ;;
  *) exit 9 ;;''')


# ---------------------------------------------------------------------------------------
# kubernetes


def _stub_k8s_build(monkeypatch):
    """deploy's build, as it will be once the k8s backend renders workflows: the units,
    and wf.yaml holding an Argo Workflow."""
    import b00tc.runtime.deploy as deploy_mod
    from b00tc.backends import OutputFile
    from b00tc.compiler import BuildRequest, build

    def fake(paths, orch, includes, strict, fmt, env=None, with_required=True, options=()):
        result = build(BuildRequest(paths=list(paths), targets=[], host_env={}, datum_path=""))
        assert not result.diags.errors
        result.outputs.append(("k8s", OutputFile("wf.yaml", ARGO)))
        return result

    monkeypatch.setattr(deploy_mod, "build_for", fake)


def _deploy_in_process(host, monkeypatch, capsys):
    from b00tc.runtime.config import load
    from b00tc.runtime.deploy import deploy
    from b00tc.runtime.model import RuntimeFailure

    for k, v in host.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(host.root)
    _stub_k8s_build(monkeypatch)
    try:
        code = deploy(["wf.job.toml"], "kubernetes", load(), out=print, err=print)
    except RuntimeFailure as e:
        return e.code, str(e)
    return code, capsys.readouterr().out


def test_deploy_without_argo_applies_nothing_and_says_how_to_install_it(host, monkeypatch, capsys):
    host.tool("kubectl", kubectl(crd=False))
    code, said = _deploy_in_process(host, monkeypatch, capsys)
    assert code == 3, said
    assert "no Argo Workflows CRD" in said and "NotFound" in said and "nothing was applied" in said
    assert "argo-workflows/releases/latest/download/install.yaml" in said
    assert CRD_GET in host.calls()
    assert not [c for c in host.calls() if c.startswith("kubectl apply")], host.calls()


def test_deploy_with_argo_checks_then_applies_the_workflow(host, monkeypatch, capsys):
    host.tool("kubectl", kubectl(crd=True))
    code, said = _deploy_in_process(host, monkeypatch, capsys)
    assert code == 0, said
    calls = host.calls()
    assert calls.index(CRD_GET) < next(i for i, c in enumerate(calls) if c.startswith("kubectl apply"))
    assert (host.root / "applied.yaml").read_text() == ARGO


def test_plan_says_argo_is_required():
    from b00tc.runtime.model import Manifest
    from b00tc.runtime.orchestrators.kubernetes import (
        ARGO_REQUIRED,
        Kubernetes,
        has_argo_workflow,
    )

    wf = Deployed("wf", "job", manifest=Manifest("wf.yaml", ARGO), steps=["a"])
    job = Deployed("j", "job", manifest=Manifest("j.yaml", "apiVersion: batch/v1\nkind: Job\n"))
    assert Kubernetes().prerequisites([wf]) == [ARGO_REQUIRED]
    assert Kubernetes().prerequisites([job]) == []
    assert has_argo_workflow("---\napiVersion: v1\nkind: Secret\n---\napiVersion: 'argoproj.io/v1alpha1'\nkind: Workflow\n")
    assert not has_argo_workflow("apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\n")


def argo_workflow(phase: str, nodes: dict) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "wf", "labels": {"app.kubernetes.io/managed-by": "b00tc", "b00t.io/datum": "wf.job"}},
            "status": {"phase": phase, "nodes": nodes}}


NODES = {
    "wf": {"id": "wf", "displayName": "wf", "type": "DAG", "phase": "Failed"},
    "wf-1": {"id": "wf-1", "displayName": "fetch-data", "type": "Pod", "phase": "Succeeded"},
    "wf-2": {"id": "wf-2", "displayName": "train", "type": "Retry", "phase": "Failed", "message": "exit code 3",
             "children": ["wf-3", "wf-4"]},
    "wf-3": {"id": "wf-3", "displayName": "train(0)", "type": "Pod", "phase": "Failed"},
    "wf-4": {"id": "wf-4", "displayName": "train(1)", "type": "Pod", "phase": "Failed"},
    "wf-5": {"id": "wf-5", "displayName": "report", "type": "Skipped", "phase": "Omitted"},
    "wf-6": {"id": "wf-6", "displayName": "quiet", "type": "Pod", "phase": "Succeeded"},
    "wf-7": {"id": "wf-7", "displayName": "wf.onExit", "type": "Steps", "phase": "Succeeded"},
    "wf-8": {"id": "wf-8", "displayName": "undo", "type": "Pod", "phase": "Running"},
}


def test_status_of_a_workflow_shows_each_step(host):
    answer = host.root / "wf.json"
    answer.write_text(json.dumps({"items": [argo_workflow("Failed", NODES)]}))
    host.tool("kubectl", kubectl(crd=True, workflow_json=str(answer)))
    r = host.b00tc("status", "wf.job.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 1, r.stderr
    assert f"kubectl get workflows.argoproj.io -l {SEL} -o json" in host.calls()
    lines = r.stdout.splitlines()
    assert lines[0] == "wf.job on kubernetes: failed"
    got = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert got["Workflow/wf"][0] == "failed"
    assert got["step/fetch"] == ["data", "succeeded"]
    assert got["step/Train"][:2] == ["failed", "exit"] and "2 attempts" in r.stdout
    assert got["step/report"][0] == "skipped" and got["step/quiet"][0] == "succeeded"
    assert got["rollback/undo"][0] == "running"
    j = host.b00tc("status", "wf.job.toml", "--orchestrator", "kubernetes", "--format", "json")
    doc = json.loads(j.stdout)
    assert [(s["name"], s["state"], s["rollback"]) for s in doc["steps"]] == [
        ("fetch data", "succeeded", False), ("Train", "failed", False), ("report", "skipped", False),
        ("quiet", "succeeded", False), ("undo", "running", True)]


def test_status_of_a_running_workflow_without_nodes_yet(host):
    answer = host.root / "wf.json"
    answer.write_text(json.dumps({"items": [argo_workflow("Running", {})]}))
    host.tool("kubectl", kubectl(crd=True, workflow_json=str(answer)))
    r = host.b00tc("status", "wf.job.toml", "--orchestrator", "kubernetes", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["state"] == "running" and {s["state"] for s in doc["steps"]} == {"pending"}


def test_status_of_no_workflow_is_not_deployed(host):
    answer = host.root / "wf.json"
    answer.write_text(json.dumps({"items": []}))
    host.tool("kubectl", kubectl(crd=True, workflow_json=str(answer)))
    r = host.b00tc("status", "wf.job.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 4, r.stdout + r.stderr


def test_down_deletes_the_workflow_and_its_pods(host):
    existing = host.root / "existing.json"
    existing.write_text(json.dumps(argo_workflow("Succeeded", {})))
    host.tool("kubectl", kubectl(crd=True, existing=str(existing)))
    r = host.b00tc("down", "wf.job.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 0, r.stderr
    calls = host.calls()
    assert f"kubectl delete workflows.argoproj.io,secrets -l {SEL} --ignore-not-found" in calls
    assert "kubectl delete pods -l workflows.argoproj.io/workflow=wf --ignore-not-found" in calls
    assert not [c for c in calls if c.startswith("kubectl delete jobs")]


def test_down_refuses_a_workflow_b00tc_did_not_create(host):
    existing = host.root / "existing.json"
    foreign = argo_workflow("Succeeded", {})
    foreign["metadata"]["labels"] = {"team": "data"}
    existing.write_text(json.dumps(foreign))
    host.tool("kubectl", kubectl(crd=True, existing=str(existing)))
    r = host.b00tc("down", "wf.job.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 1 and "not created by b00tc" in r.stderr
    assert not [c for c in host.calls() if c.startswith("kubectl delete")]


def test_logs_of_a_workflow_are_its_pods_main_containers(host):
    host.tool("kubectl", kubectl(crd=True))
    r = host.b00tc("logs", "wf.job.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 0, r.stderr
    assert "kubectl logs -l workflows.argoproj.io/workflow=wf --container main --prefix --tail=-1" in host.calls()


# ---------------------------------------------------------------------------------------
# direct: a real run


def test_direct_status_shows_each_step_after_a_real_run(host):
    r = host.b00tc("deploy", "wf.job.toml", "--orchestrator", "direct")
    assert r.returncode == 3, r.stderr
    s = host.b00tc("status", "wf.job.toml", "--orchestrator", "direct", "--format", "json")
    assert s.returncode == 1, s.stderr
    doc = json.loads(s.stdout)
    assert doc["state"] == "failed"
    assert [(x["name"], x["state"], x["detail"]) for x in doc["steps"]] == [
        ("fetch data", "succeeded", ""), ("Train", "failed", "exit 3"),
        ("report", "skipped", "a step before it failed"), ("quiet", "succeeded", ""), ("undo", "succeeded", "")]
    assert doc["steps"][-1]["rollback"] is True
    t = host.b00tc("status", "wf.job.toml", "--orchestrator", "direct")
    assert "  step/Train " in t.stdout and "failed  exit 3" in t.stdout and "rollback/undo" in t.stdout


def test_direct_status_of_a_successful_run_and_rollback_not_run(host):
    (host.root / "ok.job.toml").write_text(workflow(
        step("a", "echo a"), step("b", "true"), config="rollback_on_failure = true",
        rollback=[step("undo", "echo undone")], name="ok"))
    r = host.b00tc("deploy", "ok.job.toml", "--orchestrator", "direct")
    assert r.returncode == 0, r.stderr
    doc = json.loads(host.b00tc("status", "ok.job.toml", "--orchestrator", "direct", "--format", "json").stdout)
    assert doc["state"] == "succeeded"
    assert [(x["name"], x["state"]) for x in doc["steps"]] == [("a", "succeeded"), ("b", "succeeded"),
                                                              ("undo", "not run")]


def test_runner_log_while_running_and_after_an_interrupt():
    d = Deployed("wf", "job", steps=["a", "b", "c"], rollback=[])
    log = "[a] hello\nb00tc: [a] failed with exit status 1; running it again (1 of 2)\n[b] x\n"
    got = {s.name: (s.state, s.detail) for s in S.from_runner_log(d, log, finished=False)}
    assert got == {"a": ("running", "has written output"), "b": ("running", "has written output"), "c": ("pending", "")}
    log += "b00tc: [wf] interrupted: the running steps were stopped\n"
    got = {s.name: s.state for s in S.from_runner_log(d, log, finished=True, exit_code=130)}
    assert got == {"a": "stopped", "b": "stopped", "c": "not run"}


def test_runner_log_picks_the_longest_step_name():
    d = Deployed("wf", "job", steps=["a", "a] b"])
    log = "[a] b] out\nb00tc: [a] b] failed with exit status 2\n"
    got = {s.name: s.state for s in S.from_runner_log(d, log, finished=True, exit_code=2)}
    assert got == {"a": "succeeded", "a] b": "failed"}


# ---------------------------------------------------------------------------------------
# compose: per step service, from docker inspect


def container(service: str, status: str, code: int = 0, managed: bool = True) -> dict:
    labels = {"com.docker.compose.service": service}
    if managed:
        labels["app.kubernetes.io/managed-by"] = "b00tc"
    return {"Name": f"/wf-{service}-1", "Config": {"Labels": labels}, "State": {"Status": status, "ExitCode": code}}


def fake_run(answers: dict):
    def run(argv):
        key = " ".join(argv)
        for k, v in answers.items():
            if key.endswith(k):
                return subprocess.CompletedProcess(argv, 0, v, "")
        return subprocess.CompletedProcess(argv, 9, "", f"unexpected {key}")
    return run


def test_compose_status_per_step_service():
    from b00tc.runtime.orchestrators.compose import DockerCompose

    d = Deployed("wf", "job", steps=["fetch data", "Train", "report", "quiet"], rollback=["undo"])
    infos = [container("fetch-data", "exited"), container("train", "exited", 3), container("report", "created"),
             container("quiet", "running")]
    run = fake_run({"ps --all --quiet": "1 2 3 4\n", "inspect 1 2 3 4": json.dumps(infos)})
    st = DockerCompose().status(d, Options(base="/w"), run)
    assert st.state == "failed"
    assert [(s.kind, s.name, s.state, s.detail) for s in st.objects] == [
        ("step", "fetch data", "succeeded", "exit 0"), ("step", "Train", "failed", "exit 3"),
        ("step", "report", "pending", "created, not started"), ("step", "quiet", "running", ""),
        ("rollback", "undo", "pending", "no container")]
    done = [container("fetch-data", "exited"), container("train", "exited"), container("report", "exited"),
            container("quiet", "exited")]
    st = DockerCompose().status(d, Options(base="/w"), fake_run({"ps --all --quiet": "1\n", "inspect 1": json.dumps(done)}))
    assert st.state == "succeeded" and st.objects[-1].state == "not run"


def test_compose_deploy_of_a_workflow_runs_every_step_and_gives_a_failed_step_status():
    from b00tc.runtime.model import Manifest
    from b00tc.runtime.orchestrators.compose import DockerCompose

    cmds = DockerCompose().deploy_commands(Manifest("wf.compose.yaml", "", workflow=True, datum="wf"),
                                           "/w/wf.compose.yaml", Options())
    assert len(cmds) == 1 and cmds[0].is_job and cmds[0].shell
    text = cmds[0].argv[0]
    assert text.startswith("docker compose -p wf -f /w/wf.compose.yaml up --no-color; s=$?;")
    assert "docker inspect -f '{{.State.ExitCode}}'" in text and text.endswith('exit "${f:-$s}"')
    assert " up --no-deps " not in text and "--profile" not in text  # the file names nothing to run after


def _after_failure_file(tmp_path):
    from tests.test_workflow import compile_text

    # a dag workflow: a step that fails, an always and an on_failure step after it, an always
    # step that runs at once (its dependency succeeds), and two rollback steps
    text = workflow(
        step("a", "true"), step("fail", "exit 7", depends_on=["a"]),
        step("cleanup", "true", depends_on=["fail"], when="always"),
        step("alert", "true", depends_on=["fail"], when="on_failure"),
        step("early", "true", depends_on=["a"], when="always"),
        mode="dag", config="rollback_on_failure = true", rollback=[step("undo", "true"), step("undo 2", "true")],
    ).replace('description = "a test workflow"', 'description = "a test workflow"\nimage = "bash:5"', 1)
    r = compile_text(text, tmp_path, "compose")
    assert r.ok, [d.message for d in r.diags]
    ((_, f),) = r.outputs
    return f.content


#: a fake docker-compose: the project's containers (id service exit status), the main up's
#: status in $UP; ps answers each service's ids, inspect each id's status or exit code
FAKE_COMPOSE = r"""
args=" $* "
case "$args" in
  *" up --no-color --no-deps "*|*" --profile rollback up "*) exit 0 ;;
  *" up --no-color "*) exit "$UP" ;;
  *" ps --all --quiet "*)
    for last; do :; done
    if [ "$last" = --quiet ]; then cut -d' ' -f1 "$CONTAINERS"; else grep " $last " "$CONTAINERS" | cut -d' ' -f1; fi ;;
esac
"""
FAKE_DOCKER = r"""
line=$(grep "^$4 " "$CONTAINERS")
case "$3" in
  *ExitCode*) echo "$line" | cut -d' ' -f3 ;;
  *Status*) echo "$line" | cut -d' ' -f4 ;;
esac
"""


def _deploy_with_fakes(host, content, containers, up):
    from b00tc.runtime.model import Manifest
    from b00tc.runtime.orchestrators.compose import DockerCompose

    host.tool("docker-compose", FAKE_COMPOSE)
    host.tool("docker", FAKE_DOCKER)
    for tool in ("cut", "grep"):
        if not (host.bin / tool).exists():
            os.symlink(shutil.which(tool), host.bin / tool)
    listing = host.root / "containers"
    listing.write_text("".join(f"{c}\n" for c in containers))
    (cmd,) = DockerCompose().deploy_commands(Manifest("wf.compose.yaml", content, workflow=True, datum="wf"),
                                             "/w/wf.compose.yaml", Options(compose=["docker-compose"]))
    assert cmd.shell and cmd.is_job
    p = subprocess.run(["bash", "-c", cmd.argv[0]], env=host.env(CONTAINERS=str(listing), UP=str(up)),
                       capture_output=True, text=True, timeout=30, check=False)
    calls = [c.replace("docker-compose -p wf -f /w/wf.compose.yaml ", "")
             for c in host.calls() if c.startswith("docker-compose") and " up " in f" {c} "]
    return p.returncode, calls


def test_compose_deploy_of_a_workflow_runs_what_follows_a_failure_in_order(host, tmp_path):
    content = _after_failure_file(tmp_path)
    doc = yaml.safe_load(content)
    assert doc["x-b00tc"] == {"after-failure": ["cleanup", "alert", "early"], "rollback": "undo-2"}
    # fail exited 7; cleanup kept out by it (created, never started); early ran (its
    # dependency succeeded); alert (profile on-failure) and the rollback have no container
    code, calls = _deploy_with_fakes(host, content, [
        "1 a 0 exited", "2 fail 7 exited", "3 cleanup 0 created", "4 early 0 exited"], up=1)
    assert code == 7  # the failed step's, not the after-failure commands'
    assert calls == ["up --no-color", "up --no-color --no-deps cleanup",
                     "--profile on-failure up --no-color --no-deps alert",
                     "--profile rollback up --no-color undo-2"], calls


def test_compose_deploy_of_a_workflow_that_succeeded_runs_nothing_after(host, tmp_path):
    content = _after_failure_file(tmp_path)
    code, calls = _deploy_with_fakes(host, content, [
        "1 a 0 exited", "2 fail 0 exited", "3 cleanup 0 exited", "4 early 0 exited"], up=0)
    assert code == 0 and calls == ["up --no-color"], calls


# ---------------------------------------------------------------------------------------
# nomad: the one task's logs


NOMAD_JOB = {"ID": "wf", "Type": "batch", "Status": "dead",
             "Meta": {"b00t_managed_by": "b00tc", "b00t_datum": "wf.job"}}


def test_nomad_status_per_step_from_the_task_logs(host):
    job = host.root / "job.json"
    job.write_text(json.dumps({"Job": NOMAD_JOB}))
    allocs = host.root / "allocs.json"
    allocs.write_text(json.dumps([{"ID": "abcdef123", "TaskGroup": "wf", "ClientStatus": "failed", "TaskStates": {
        "wf": {"State": "dead", "Failed": True, "Events": [{"Type": "Terminated", "Details": {"exit_code": "3"}}]}}}]))
    out = host.root / "out.log"
    out.write_text("[fetch data] fetched\n[Train] training\n[undo] undone\n")
    err = host.root / "err.log"
    err.write_text("b00tc: [Train] failed with exit status 3\nb00tc: [report] skipped: a step before it failed\n")
    host.tool("nomad", f'''case "$1 $2" in
  "version ") echo "Nomad v1.8.0" ;;
  "status ") echo "No running jobs" ;;
  "job inspect") /bin/cat "{job}" ;;
  "job allocs") /bin/cat "{allocs}" ;;
  "alloc logs") if [ "$3" = -stderr ]; then /bin/cat "{err}"; else /bin/cat "{out}"; fi ;;
  *) exit 9 ;;
esac''')
    r = host.b00tc("status", "wf.job.toml", "--orchestrator", "nomad", "--format", "json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["state"] == "failed"
    assert [(s["name"], s["state"]) for s in doc["steps"]] == [
        ("fetch data", "succeeded"), ("Train", "failed"), ("report", "skipped"), ("quiet", "succeeded"),
        ("undo", "succeeded")]
    assert "nomad alloc logs -stderr -job wf wf" in host.calls()


def test_slugs_are_the_container_targets_names():
    assert S.slugs(["Fetch Data", "fetch_data", "", "ÉTÉ"]) == ["fetch-data", "fetch-data-2", "step", "t"]


def test_systemd_step_units_from_systemctl_show():
    text = """Id=b00t-wf-a.service
ActiveState=inactive
SubState=dead
Result=success
ExecMainStatus=0
ExecMainStartTimestampMonotonic=123

Id=b00t-wf-b.service
ActiveState=failed
SubState=failed
Result=exit-code
ExecMainStatus=3
ExecMainStartTimestampMonotonic=456

Id=b00t-wf-c.service
ActiveState=activating
SubState=start
Result=success
ExecMainStatus=0
ExecMainStartTimestampMonotonic=789

Id=b00t-wf-d.service
ActiveState=inactive
SubState=dead
Result=success
ExecMainStatus=0
ExecMainStartTimestampMonotonic=0
"""
    units = {"b00t-wf-a.service": ("a", False), "b00t-wf-b.service": ("b", False),
             "b00t-wf-c.service": ("c", False), "b00t-wf-d.service": ("undo", True), "b00t-wf-e.service": ("e", False)}
    got = [(s.kind, s.name, s.state, s.detail) for s in S.from_systemctl_show(text, units)]
    assert got == [("step", "a", "succeeded", ""), ("step", "b", "failed", "exit-code, exit 3"),
                   ("step", "c", "running", "start"), ("rollback", "undo", "not run", "not started"),
                   ("step", "e", "unknown", "b00t-wf-e.service not found")]
    assert S.systemctl_show_argv(["u"])[:3] == ["systemctl", "show", "--property=" + ",".join(S.SYSTEMD_PROPERTIES)]


def test_argo_task_names_are_the_k8s_targets():
    d = Deployed("wf", "job", steps=["1st step", "Build"], rollback=["undo"])
    assert S.by_argo_task(d) == {"s-1st-step": ("1st step", False), "build": ("Build", False), "undo": ("undo", True)}


def test_compose_reads_the_step_label_first():
    from b00tc.runtime.orchestrators.compose import DockerCompose

    d = Deployed("wf", "job", steps=["a$b", "c"])
    one = container("a-b", "exited")
    one["Config"]["Labels"]["b00t.io/step"] = "a$b"
    run = fake_run({"ps --all --quiet": "1\n", "inspect 1": json.dumps([one, container("c", "exited", 1)])})
    st = DockerCompose().status(d, Options(base="/w"), run)
    assert [(s.name, s.state) for s in st.objects] == [("a$b", "succeeded"), ("c", "failed")]
