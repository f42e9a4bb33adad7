"""Workflow jobs on the container targets (issue 17): compose (a one-shot service per step)
and k8s (an Argo Workflow). The image rule (E0707) and the shared-workspace warning (W0704);
each form's structure, conditions, timeouts, retries and rollback; hostile strings reach
the step byte for byte (compose's ``$$`` through ``docker-compose config``; Argo's ``{{``
cut and joined again, run by bash here); every output judged by its validators; b00t's own
workflows of bash steps compile once given an image. The real run on a Docker engine is
tests/e2e/test_workflow_compose.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from b00tc.compiler import BuildRequest, build
from tests import argo
from tests.helpers import rendered
from tests.test_workflow import step, workflow

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "b00t-corpus"
CASE = "tests/data/workflows/workflow-steps.job.toml"
HOSTILE = "a $x ${y:-z} $$ $(no) `no` {{ w }} {{{ }} \\ \"q\" 'a'\nü %s {"


def with_image(text: str, image: str = "localhost/bash:test") -> str:
    return text.replace('description = "a test workflow"', f'description = "a test workflow"\nimage = "{image}"', 1)


def compile_text(text: str, tmp_path: Path, target: str, env=None):
    f = tmp_path / "wf.job.toml"
    f.write_text(text)
    return build(BuildRequest(paths=[str(f)], targets=[target], host_env=env or {}, datum_path=""))


def one(r) -> str:
    assert r.ok, rendered(r)
    ((_, f),) = r.outputs
    return f.content


def compose_doc(text, tmp_path, **kw) -> dict:
    return yaml.safe_load(one(compile_text(text, tmp_path, "compose", **kw)))


def argo_doc(text, tmp_path, **kw) -> dict:
    docs = [d for d in yaml.safe_load_all(one(compile_text(text, tmp_path, "k8s", **kw))) if d]
    (doc,) = docs
    argo.validate(doc)
    return doc


def codes(r) -> list[str]:
    return [d.code for d in r.diags]


# -- the image ----------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["compose", "k8s"])
def test_no_image_is_one_error_on_the_container_targets(target, tmp_path):
    r = compile_text(workflow(step("a", "true"), step("b", "true")), tmp_path, target)
    assert codes(r) == ["E0707"] and r.outputs == []
    (d,) = r.diags
    assert d.path == "$.b00t.job" and "image" in d.help and "[b00t.job]" in d.help


@pytest.mark.parametrize("target", ["compose", "k8s"])
def test_a_step_without_an_image_when_others_have_one_is_located(target, tmp_path):
    text = workflow(step("a", "true"), step("b", "true"))
    text = text.replace('command = "true"\n', 'command = "true"\nimage = "x:1"\n', 1)
    r = compile_text(text, tmp_path, target)
    assert codes(r) == ["E0707"]
    assert r.diags[0].path == "$.b00t.job.steps[1].task" and "'b'" in r.diags[0].message


def test_the_host_targets_need_no_image(tmp_path):
    assert compile_text(workflow(step("a", "true")), tmp_path, "bash").ok


def test_a_step_image_wins_and_a_bad_one_is_located(tmp_path):
    text = with_image(workflow(step("a", "true"), step("b", "true")), "base:1")
    text = text.replace('command = "true"\n', 'command = "true"\nimage = "own:2"\n', 1)
    doc = compose_doc(text, tmp_path)
    assert [s["image"] for s in doc["services"].values()] == ["own:2", "base:1"]
    wf = argo_doc(text, tmp_path)
    assert [t["container"]["image"] for t in wf["spec"]["templates"][1:]] == ["own:2", "base:1"]
    bad = text.replace('image = "own:2"', "image = 2")
    r = compile_text(bad, tmp_path, "compose")
    assert codes(r) == ["E0102"] and r.diags[0].path == "$.b00t.job.steps[0].task.image"


@pytest.mark.parametrize("target", ["compose", "k8s"])
def test_one_warning_says_steps_share_only_the_workspace(target, tmp_path):
    r = compile_text(with_image(workflow(step("a", "true"), step("b", "true"))), tmp_path, target)
    assert codes(r) == ["W0704"] and "/workspace" in r.diags[0].message
    r = compile_text(with_image(workflow(step("a", "true"))), tmp_path, target)
    assert codes(r) == []  # one step shares nothing


# -- compose ------------------------------------------------------------------------------

def test_compose_one_shot_service_per_step_in_order(tmp_path):
    text = with_image(workflow(step("Build it", "make", cwd="src", env={"A": "2"}), step("test", "make test"),
                               env={"A": "1", "B": "1"}))
    doc = compose_doc(text, tmp_path)
    build_, test = doc["services"]["build-it"], doc["services"]["test"]
    assert build_["restart"] == "no" and build_["entrypoint"] == ["bash", "-c", "make"]
    assert build_["working_dir"] == "/workspace/src" and test["working_dir"] == "/workspace"
    assert build_["volumes"] == ["workspace:/workspace"] and doc["volumes"] == {"workspace": {}}
    assert build_["environment"] == {"A": "2", "B": "1"}  # the step's env over the job's
    assert "depends_on" not in build_
    assert test["depends_on"] == {"build-it": {"condition": "service_completed_successfully"}}
    assert build_["labels"]["b00t.io/step"] == "Build it"
    assert build_["labels"]["app.kubernetes.io/managed-by"] == "b00tc"


def test_compose_dag_waits_for_depends_on(tmp_path):
    text = with_image(workflow(step("a", "true"), step("b", "true"), step("c", "true", depends_on=["a", "b"]),
                               mode="dag"))
    r = compile_text(text, tmp_path, "compose")
    doc = yaml.safe_load(one(r))
    assert "depends_on" not in doc["services"]["a"] and "depends_on" not in doc["services"]["b"]
    assert list(doc["services"]["c"]["depends_on"]) == ["a", "b"]
    # a and b are on unrelated branches: a failure of one does not stop the other
    assert codes(r) == ["W0704", "W0301"] and "dag mode" in r.diags[1].message


def test_compose_says_what_it_cannot_express(tmp_path):
    text = with_image(workflow(
        step("a", "true"), step("b", "true", when="always"), step("c", "true", when="on_failure"),
        config="continue_on_failure = true\nrollback_on_failure = true",
        rollback=[step("undo", "true"), step("undo2", "true")]))
    r = compile_text(text, tmp_path, "compose")
    doc = yaml.safe_load(one(r))
    svc = doc["services"]
    assert svc["c"]["profiles"] == ["on-failure"] and "depends_on" not in svc["c"]
    assert svc["undo"]["profiles"] == ["rollback"] and svc["undo2"]["depends_on"] == {
        "undo": {"condition": "service_completed_successfully"}}
    # what b00tc deploy runs after a failure: b (always, after a) and c; then the rollback
    assert doc["x-b00tc"] == {"after-failure": ["b", "c"], "rollback": "undo2"}
    messages = [d.message for d in r.diags if d.code == "W0301"]
    assert len(messages) == 4
    for what in ('"always"', '"on_failure"', "rollback_on_failure", "continue_on_failure"):
        assert any(what in m for m in messages), (what, messages)


def test_compose_timeout_and_retries_run_in_the_container(tmp_path):
    text = with_image(workflow(step("a", "exit 3", timeout_ms=1500), config="retry_failed_steps = 2"))
    (svc,) = compose_doc(text, tmp_path)["services"].values()
    entry = svc["entrypoint"]
    assert entry[:2] == ["bash", "-c"] and entry[3:] == ["a", "exit 3"]
    assert "timeout -k 10 1.5 bash -c" in entry[2] and "-ge 2" in entry[2]


def _bash_entry(argv: list[str], cwd: Path, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, timeout=30, check=False)


def test_compose_wrapper_retries_times_out_and_checks_its_condition(tmp_path):
    """The program around a step's command, run by this host's bash with compose's ``$$``
    undone as compose undoes it."""
    text = with_image(workflow(
        step("flaky", "echo x >> n; [ $(wc -l < n) -ge 2 ]"),
        step("slow", "sleep 5", timeout_ms=200),
        step("guarded", "touch ran", script="test -f missing"),
        config="retry_failed_steps = 1"))
    svc = compose_doc(text, tmp_path)["services"]
    def unescape(argv: list[str]) -> list[str]:
        return [a.replace("$$", "$") for a in argv]

    r = _bash_entry(unescape(svc["flaky"]["entrypoint"]), tmp_path)
    assert r.returncode == 0 and (tmp_path / "n").read_text() == "x\nx\n", r.stderr
    assert "running it again (1 of 1)" in r.stderr
    if shutil.which("timeout"):
        r = _bash_entry(unescape(svc["slow"]["entrypoint"]), tmp_path)
        assert r.returncode == 124
    r = _bash_entry(unescape(svc["guarded"]["entrypoint"]), tmp_path)
    assert r.returncode == 0 and not (tmp_path / "ran").exists() and "skipped" in r.stderr


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose is installed by .ci/test")
def test_compose_hostile_strings_survive_docker_compose_config(tmp_path):
    text = with_image(workflow(step("a", HOSTILE, env={"H": HOSTILE.replace("${", "{")},
                                    script=HOSTILE), config="retry_failed_steps = 1"))
    content = one(compile_text(text, tmp_path, "compose"))
    (tmp_path / "c.yaml").write_text(content)
    r = subprocess.run(["docker-compose", "-f", str(tmp_path / "c.yaml"), "--project-directory", str(tmp_path),
                        "config"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                       check=False)
    assert r.returncode == 0, r.stderr
    resolved = yaml.safe_load(r.stdout)["services"]["a"]
    # docker-compose v1 writes its resolved file with $ re-escaped as $$
    entry = [a.replace("$$", "$") for a in resolved["entrypoint"]]
    assert entry[-2:] == [HOSTILE, HOSTILE]  # the condition script, then the command
    # the datum language reads $$ as one $ in env values (commands are never interpreted)
    assert resolved["environment"]["H"].replace("$$", "$") == HOSTILE.replace("${", "{").replace("$$", "$")


# -- k8s: the Argo Workflow -------------------------------------------------------------------

def test_argo_dag_task_per_step_with_conditions(tmp_path):
    text = with_image(workflow(
        step("a", "true"), step("b", "true", depends_on=["a"]), step("c", "true", depends_on=["a"], when="always"),
        step("d", "true", depends_on=["b", "c"], when="on_failure"), step("e", "true", when="on_failure"),
        mode="dag"))
    wf = argo_doc(text, tmp_path)
    assert wf["apiVersion"] == "argoproj.io/v1alpha1" and wf["kind"] == "Workflow"
    assert wf["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "b00tc"
    main = wf["spec"]["templates"][0]
    assert wf["spec"]["entrypoint"] == main["name"]
    tasks = {t["name"]: t for t in main["dag"]["tasks"]}
    assert "depends" not in tasks["a"]
    assert tasks["b"]["depends"] == "a.Succeeded"
    assert tasks["c"]["depends"].startswith("(a.Succeeded || a.Failed")
    assert tasks["d"]["depends"] == "(b.Failed || b.Errored || b.Omitted) || (c.Failed || c.Errored || c.Omitted)"
    assert tasks["e"]["when"] == "false"
    assert main["dag"]["failFast"] is False


def test_argo_sequential_keeps_fail_fast(tmp_path):
    wf = argo_doc(with_image(workflow(step("a", "true"), step("b", "true"))), tmp_path)
    dag = wf["spec"]["templates"][0]["dag"]
    assert "failFast" not in dag and dag["tasks"][1]["depends"] == "a.Succeeded"


def test_argo_container_template(tmp_path):
    text = with_image(workflow(step("Build it", "make $(X)", cwd="src", timeout_ms=1500, env={"A": "2"}),
                               env={"A": "1"}, config="retry_failed_steps = 3"))
    wf = argo_doc(text, tmp_path)
    t = wf["spec"]["templates"][1]
    assert t["name"] == "step-build-it" and t["retryStrategy"] == {"limit": "3"}
    assert t["activeDeadlineSeconds"] == "2"  # seconds, rounded up
    c = t["container"]
    assert c["command"] == ["bash", "-c"] and c["args"] == ["make $$(X)"]  # the kubelet's $(X) escaped
    assert c["workingDir"] == "/workspace/src" and c["env"] == [{"name": "A", "value": "2"}]
    assert c["volumeMounts"] == [{"name": "workspace", "mountPath": "/workspace"}]
    (claim,) = wf["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "workspace"


def test_argo_continue_on_failure_and_rollback(tmp_path):
    text = with_image(workflow(step("a", "false"), step("b", "true"),
                               config="continue_on_failure = true\nrollback_on_failure = true",
                               rollback=[step("undo", "true"), step("undo 2", "true")]))
    r = compile_text(text, tmp_path, "k8s")
    wf = yaml.safe_load(one(r).split("---\n", 1)[1])
    argo.validate(wf)
    tasks = wf["spec"]["templates"][0]["dag"]["tasks"]
    assert all(t["continueOn"] == {"failed": True} for t in tasks)
    assert tasks[1]["depends"] == "(a.Succeeded || a.Failed)"
    handler = {t["name"]: t for t in wf["spec"]["templates"]}[wf["spec"]["onExit"]]
    assert [[s["name"] for s in group] for group in handler["steps"]] == [["undo"], ["undo-2"]]
    assert all(g[0]["when"] == "{{workflow.status}} != Succeeded" for g in handler["steps"])
    assert any(d.code == "W0301" and "continue_on_failure" in d.message for d in r.diags)


def test_argo_cuts_braces_and_bash_joins_them_byte_for_byte(tmp_path):
    command = "printf '%s' " + "'" + HOSTILE.replace("'", "'\\''") + "'"
    wf = argo_doc(with_image(workflow(step("a", command, script="true"))), tmp_path)
    c = wf["spec"]["templates"][1]["container"]
    argv = [a.replace("$$", "$") for a in c["command"] + c["args"]]  # the kubelet's unescape
    assert not any("{{" in a for a in argv)
    r = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=30, check=False)
    assert r.returncode == 0 and r.stdout == HOSTILE, (r.stdout, r.stderr)


def test_argo_braces_in_env_or_script_are_errors(tmp_path):
    r = compile_text(with_image(workflow(step("a", "true", env={"X": "{{x}}"}))), tmp_path, "k8s")
    assert codes(r) == ["E0601"] and r.outputs == []
    r = compile_text(with_image(workflow(step("a", "true", script="echo {{x}}"))), tmp_path, "k8s")
    assert codes(r) == ["E0601"]
    # compose has no such syntax: both are fine there
    assert compile_text(with_image(workflow(step("a", "true", env={"X": "{{x}}"}, script="{{"))), tmp_path,
                        "compose").ok


def test_argo_host_variables_in_env_come_from_the_workflow_secret(tmp_path):
    text = with_image(workflow(step("a", "true", env={"T": "${TOKEN}"})))
    out = one(compile_text(text, tmp_path, "k8s"))
    wf = yaml.safe_load(out.split("---\n", 1)[1])
    (env,) = wf["spec"]["templates"][1]["container"]["env"]
    assert env == {"name": "T", "valueFrom": {"secretKeyRef": {"name": "wf", "key": "TOKEN"}}}
    assert "reads the Secret wf" in out


def test_argo_names_are_task_names(tmp_path):
    wf = argo_doc(with_image(workflow(step("1st step!", "true"), step("1st-step", "true"), mode="dag")), tmp_path)
    names = [t["name"] for t in wf["spec"]["templates"][0]["dag"]["tasks"]]
    assert names == ["s-1st-step", "s-1st-step-2"]
    assert all(re.match(r"^[a-z][-a-z0-9]*$", n) for n in names)


def test_the_argo_judge_rejects_a_broken_workflow(tmp_path):
    wf = argo_doc(with_image(workflow(step("a", "true"), step("b", "true"))), tmp_path)
    wf["spec"]["templates"][1]["container"]["workdir"] = "/x"
    with pytest.raises(AssertionError):
        argo.validate(wf)
    wf["spec"]["templates"][1]["container"].pop("workdir")
    wf["spec"]["templates"][0]["dag"]["tasks"][1]["depends"] = "nope.Succeeded"
    with pytest.raises(AssertionError):
        argo.validate(wf)


# -- the golden case and b00t's own workflows ----------------------------------------------

@pytest.mark.parametrize("target,name", [("compose", "compose/workflow-steps.compose.yaml"),
                                         ("k8s", "k8s/workflow-steps.yaml")])
def test_golden(target, name, golden):
    r = build(BuildRequest(paths=[CASE], targets=[target], host_env={}, datum_path=""))
    assert one(r) == golden(name=name)
    assert rendered(r) == golden(name=f"warnings/workflow-steps-{target}.txt")


def _corpus_workflows() -> list[str]:
    from tests.test_corpus import EXPECT, WORKFLOW

    return sorted(n for n, want in EXPECT.items() if len(want) == 6)  # WORKFLOW(units)


@pytest.mark.parametrize("name", _corpus_workflows())
@pytest.mark.parametrize("target", ["compose", "k8s"])
def test_b00ts_workflows_compile_given_an_image(name, target, tmp_path):
    """Each of b00t's workflows of bash steps, with image = "debian:12" added under
    [b00t.job]: one file, judged as test_corpus judges files."""
    from tests.test_corpus import JUDGE

    text = (CORPUS / name).read_text()
    text, n = re.subn(r"^\[b00t\.job\]\s*$", '[b00t.job]\nimage = "debian:12"', text, count=1, flags=re.MULTILINE)
    assert n == 1
    (tmp_path / "src").mkdir()
    f = tmp_path / "src" / name
    f.write_text(text)
    r = build(BuildRequest(paths=[str(f)], targets=[target], host_env={}, datum_path=str(CORPUS)))
    assert r.ok, rendered(r)
    outs = {o.path: o.content for _, o in r.outputs}
    assert len(outs) == 1
    JUDGE[target](outs, tmp_path, name)
