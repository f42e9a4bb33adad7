"""Exact per-step state (issue 17): the step runner writes each step's lifecycle to the file
``B00TC_STEP_EVENTS`` names (b00tc.backends._workflow_sh), never to the output, and
``b00tc status`` reads it on direct (the state folder) and nomad (``nomad alloc fs``):
a silent step that has succeeded shows ``succeeded`` while a later step still runs, a
step name with a newline and quotes comes back exactly, and a step that prints lifecycle
lines (or the runner's own messages) does not change its state."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from b00tc.runtime import steps as S
from b00tc.runtime.model import Deployed
from tests.test_runtime import Host
from tests.test_workflow import step, workflow

ODD = 'two\nlines "quoted" \'and\' [x] ü'


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path)
    for tool in ("mktemp", "mkfifo", "rm", "env", "timeout", "cat", "sleep"):  # what the runner and steps use
        if shutil.which(tool) and not (h.bin / tool).exists():
            os.symlink(shutil.which(tool), h.bin / tool)
    return h


def status(host: Host, datum: str) -> dict:
    r = host.b00tc("status", datum, "--orchestrator", "direct", "--format", "json")
    return json.loads(r.stdout)


def states(doc: dict) -> list[tuple[str, str]]:
    return [(x["name"], x["state"]) for x in doc.get("steps", [])]


def test_a_silent_step_that_succeeded_shows_succeeded_while_a_later_step_runs(host):
    (host.root / "wf.job.toml").write_text(workflow(
        step("quiet", "true"),
        step("waiting", "n=0; while [ ! -e go ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; echo done"),
        step("last", "true")))
    p = subprocess.Popen([sys.executable, "-m", "b00tc", "deploy", "wf.job.toml", "--orchestrator", "direct"],
                         cwd=host.root, env=host.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        got: list = []
        while time.monotonic() < deadline:
            doc = status(host, "wf.job.toml")
            got = states(doc)
            if got and got[1] == ("waiting", "running"):
                break
            time.sleep(0.1)
        assert got == [("quiet", "succeeded"), ("waiting", "running"), ("last", "pending")]
        assert doc["state"] == "running"
    finally:
        (host.root / "go").write_text("")
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert out.splitlines() == ["[waiting] done"]  # no lifecycle line in the output
    assert states(status(host, "wf.job.toml")) == [("quiet", "succeeded"), ("waiting", "succeeded"),
                                                  ("last", "succeeded")]


def test_a_step_name_with_a_newline_and_quotes_reads_back(host):
    (host.root / "wf.job.toml").write_text(workflow(
        step(ODD, "true"), step("after", "exit 4", depends_on=[ODD]), step("never", "true", depends_on=["after"]),
        mode="dag"))
    r = host.b00tc("deploy", "wf.job.toml", "--orchestrator", "direct")
    assert r.returncode == 4, r.stderr
    doc = status(host, "wf.job.toml")
    assert states(doc) == [(ODD, "succeeded"), ("after", "failed"), ("never", "skipped")]
    assert doc["steps"][1]["detail"] == "exit 4"
    assert doc["steps"][2]["detail"] == "a step before it failed"


def test_a_step_that_prints_lifecycle_lines_does_not_change_its_state(host):
    forged = "\\n".join(["0 succeeded", "1 succeeded", "- end 0", "- interrupted",
                         "b00tc: [liar] skipped: forged", "b00tc: [other] failed with exit status 9"])
    (host.root / "wf.job.toml").write_text(workflow(
        step("liar", f'printf "{forged}\\n"; printf "{forged}\\n" >&2; '
                     'echo "1 succeeded" >> "${B00TC_STEP_EVENTS:-/dev/null}"; exit 6', depends_on=[]),
        step("other", "true", when="always"),
        mode="dag"))
    r = host.b00tc("deploy", "wf.job.toml", "--orchestrator", "direct")
    assert r.returncode == 6, r.stderr
    assert "[liar] 1 succeeded" in r.stdout.splitlines()
    doc = status(host, "wf.job.toml")
    assert states(doc) == [("liar", "failed"), ("other", "succeeded")]
    assert doc["steps"][0]["detail"] == "exit 6"


def test_the_script_runs_without_the_variable_as_before(tmp_path):
    from tests.test_workflow import run

    r = run(workflow(step("a", "echo a"), step("b", "true")), tmp_path,
            env={"B00TC_STEP_EVENTS": ""})
    assert r.code == 0 and r.out.splitlines() == ["[a] a"] and r.err == ""


def test_events_file_written_by_the_runner(tmp_path):
    from tests.test_workflow import run

    events = tmp_path / "events"
    events.write_text("stale\n")
    r = run(workflow(step("a", "exit 2"), step("b", "true"), step("c", "true", when="on_failure"),
                     config="retry_failed_steps = 1", mode="sequential"),
            tmp_path, env={"B00TC_STEP_EVENTS": str(events)})
    assert r.code == 2, r.err
    assert events.read_text().splitlines() == [
        "- begin 3", "0 started", "0 retry 1", "0 failed 2", "1 skipped after-failure", "2 started",
        "2 succeeded", "- end 2"]


# ---------------------------------------------------------------------------------------
# the reader alone


D = Deployed("wf", "job", steps=["a", "b", "c", ODD], rollback=["undo"])


def test_reader_while_running():
    text = "- begin 5\n0 started\n0 succeeded\n1 started\n1 retry 2\n2 started\n2 skipped condition\n3 sta"
    got = [(s.name, s.state, s.detail) for s in S.from_step_events(D, text, finished=False)]
    assert got == [("a", "succeeded", ""), ("b", "running", "run again 2 times"),
                   ("c", "skipped", "its condition.script did not exit 0"), (ODD, "pending", ""),
                   ("undo", "pending", "")]


def test_reader_after_the_end_and_an_interrupt():
    text = "- begin 5\n0 started\n0 failed 3 gone\n1 skipped previous 3\n3 started\n- interrupted\n"
    got = [(s.name, s.state, s.detail) for s in S.from_step_events(D, text, finished=True, exit_code=143)]
    assert got == [("a", "failed", "exit 3, ended without reporting its result"),
                   ("b", "skipped", f"it runs on_previous, and {ODD} did not succeed"),
                   ("c", "not run", "the workflow was interrupted"), (ODD, "stopped", "the workflow was interrupted"),
                   ("undo", "not run", "the workflow was interrupted")]


def test_reader_ignores_what_it_cannot_parse_and_unknown_indexes():
    text = "- begin 5\n9 failed 1\nx started\n0\n0 started\n0 succeeded\n- end 0\n"
    got = [s.state for s in S.from_step_events(D, text, finished=True, exit_code=0)]
    assert got == ["succeeded", "not run", "not run", "not run", "not run"]


# ---------------------------------------------------------------------------------------
# nomad: nomad alloc fs, the logs as the fallback


def test_nomad_status_reads_the_events_in_the_alloc_dir(host):
    (host.root / "wf.job.toml").write_text(workflow(step("quiet", "true"), step(ODD, "sleep 5")))
    job = host.root / "job.json"
    job.write_text(json.dumps({"Job": {"ID": "wf", "Type": "batch", "Status": "running",
                                       "Meta": {"b00t_managed_by": "b00tc", "b00t_datum": "wf.job"}}}))
    allocs = host.root / "allocs.json"
    allocs.write_text(json.dumps([{"ID": "abcdef123", "TaskGroup": "wf", "ClientStatus": "running",
                                   "TaskStates": {"wf": {"State": "running", "Events": []}}}]))
    events = host.root / "events"
    events.write_text("- begin 2\n0 started\n0 succeeded\n1 started\n")
    host.tool("nomad", f'''case "$1 $2" in
  "version ") echo "Nomad v1.8.0" ;;
  "status ") echo "No running jobs" ;;
  "job inspect") /bin/cat "{job}" ;;
  "job allocs") /bin/cat "{allocs}" ;;
  "alloc fs") [ "$3 $4 $5" = "-job wf alloc/b00tc-steps" ] && /bin/cat "{events}" ;;
  *) exit 9 ;;
esac''')
    r = host.b00tc("status", "wf.job.toml", "--orchestrator", "nomad", "--format", "json")
    doc = json.loads(r.stdout)
    assert states(doc) == [("quiet", "succeeded"), (ODD, "running")], r.stderr
    assert "nomad alloc fs -job wf alloc/b00tc-steps" in host.calls()


def test_nomad_task_is_told_where_to_write_the_events(tmp_path):
    from b00tc.compiler import BuildRequest, build

    datum = tmp_path / "wf.job.toml"
    datum.write_text(workflow(step("a", "true")).replace('description = "a test workflow"',
                                                         'description = "a test workflow"\nimage = "bash:5"'))
    r = build(BuildRequest(paths=[str(datum)], targets=["nomad"], host_env={}, datum_path=""))
    (f,) = [f for t, f in r.outputs]
    assert 'B00TC_STEP_EVENTS = "/alloc/b00tc-steps"' in f.content
    assert S.NOMAD_EVENTS == "/alloc/b00tc-steps"
