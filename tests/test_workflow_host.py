"""Workflow jobs on systemd and Nomad (issue 17), and the step runner's hang on a step that
dies without reporting.

systemd: every unit set passes ``systemd-analyze verify``; the units are read back with the
reference reader of tests/backends/test_systemd.py (and systemd 252's own parser, ``systemd
--test``), and what they would run is run here: hostile commands, env values and condition
scripts reach bash byte for byte, the retry loop retries. Nomad: the job parses with
python-hcl2, passes the jobspec checks, and the script Nomad's two evaluations give the task
is the bash target's runner, byte for byte below its header; run, it runs the workflow."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import hcl2
import pytest

from b00tc.compiler import BuildRequest, build
from tests.backends.test_nomad import blocks, check_jobspec, hcl_decode, nomad_config_eval, one
from tests.backends.test_systemd import Parsed, dollars, dump_commands, systemd_dump
from tests.helpers import rendered
from tests.test_workflow import BASH_ONLY, CORPUS, HOSTILE, compile_text, s, step, workflow

SYSTEMD = pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd is installed by .ci/test")


def outputs(text: str, tmp_path: Path, target: str) -> dict[str, str]:
    r = compile_text(text, tmp_path, target)
    assert r.ok, rendered(r)
    return {f.path: f.content for t, f in r.outputs}


def verify(units: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "units"
    folder.mkdir(exist_ok=True)
    for name, text in units.items():
        (folder / name).write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no",
                        *sorted(str(p) for p in folder.iterdir())], capture_output=True, text=True, cwd=folder,
                       timeout=120)
    assert r.stderr == "" and r.returncode == 0, r.stderr


# -- the runner: a step that dies without reporting ---------------------------------------


def test_a_step_killed_before_it_reports_does_not_hang_the_runner(tmp_path):
    """The step's own subshell (which writes its result to the FIFO) is killed with SIGKILL:
    the runner used to read the FIFO for ever; now the step has failed (137, as wait says),
    the steps after it are skipped and the exit status is the step's."""
    r = compile_text(workflow(step("slow", "sleep 30"), step("next", "touch next")), tmp_path)
    (script,) = [f for t, f in r.outputs]
    path = tmp_path / script.path
    path.write_text(script.content)
    ws = tmp_path / "ws"
    ws.mkdir()
    with open(tmp_path / "out", "w") as out:
        proc = subprocess.Popen(["bash", str(path)], cwd=ws, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        children: list[str] = []
        deadline = time.monotonic() + 10
        while not children and time.monotonic() < deadline:
            time.sleep(0.1)
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        (step_pid,) = children  # the runner's one child while the step runs: b00t_step's subshell
        time.sleep(0.3)
        os.kill(int(step_pid), signal.SIGKILL)
        code = proc.wait(timeout=15)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the step's orphaned sleep
        proc.wait()
    text = (tmp_path / "out").read_text()
    assert code == 137, text
    assert "b00tc: [slow] ended without reporting its result" in text
    assert "b00tc: [next] skipped: a step before it failed" in text
    assert not (ws / "next").exists()


# -- systemd -------------------------------------------------------------------------------


@SYSTEMD
@pytest.mark.parametrize("name", BASH_ONLY)
def test_b00t_workflows_of_bash_steps_pass_systemd_analyze_verify(name, tmp_path):
    r = build(BuildRequest(paths=[str(CORPUS / f"{name}.job.toml")], targets=["systemd"], includes=[str(CORPUS)],
                           host_env={}, datum_path=""))
    assert r.ok, rendered(r)
    units = {f.path: f.content for t, f in r.outputs}
    assert f"b00t-{name}.target" in units and all(u.startswith(f"b00t-{name}") for u in units)
    verify(units, tmp_path)


HOSTILE_NAME = "we'ird \"name\" $x `y` %s ünï"
HOSTILE_COMMAND = ("cat > /dev/null <<'EOF'\n" + HOSTILE + "\nEOF\n"
                   "printf %s \"$BASH_EXECUTION_STRING\" > ../command; printf %s \"$HOSTILE\" > ../env")
HOSTILE_CONDITION = "test -n '" + HOSTILE.replace("'", "") + "' # %h $$ ${x}"


def hostile_units(tmp_path: Path) -> dict[str, str]:
    text = workflow(
        step(HOSTILE_NAME, HOSTILE_COMMAND, env={"HOSTILE": HOSTILE.replace("${", "$${")}, cwd="sub dir/%n",
             script=HOSTILE_CONDITION, when="on_success"),
        config="retry_failed_steps = 2",
    )
    return outputs(text, tmp_path, "systemd")


@SYSTEMD
def test_hostile_strings_pass_verify_and_read_back_byte_for_byte(tmp_path):
    units = hostile_units(tmp_path)
    assert sorted(units) == ["b00t-wf-step-1.service", "b00t-wf.target"]
    verify(units, tmp_path)
    unit = Parsed(units["b00t-wf-step-1.service"])
    assert unit.env == {"HOSTILE": HOSTILE}
    assert unit.one("Service", "WorkingDirectory") == "/var/lib/b00t/wf/sub dir/%%n"
    ((prefix, argv),) = unit.exec("ExecStart")
    assert prefix == "" and argv[0] == "/bin/bash" and argv[1] == "-c"
    assert argv[3:] == [HOSTILE_NAME, HOSTILE_COMMAND]  # $0 the step's name, $1 its command
    ((_, cond),) = unit.exec("ExecCondition")
    assert cond[:2] == ["/bin/bash", "-c"] and cond[3:] == ["b00t-condition", HOSTILE_CONDITION]


def test_hostile_strings_reach_bash_byte_for_byte_when_run(tmp_path):
    """The argv the reference reader recovers, run as systemd would run it (the unit's
    environment, in its working directory, moved under tmp_path)."""
    unit = Parsed(hostile_units(tmp_path)["b00t-wf-step-1.service"])
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {**unit.env, "PATH": os.environ["PATH"]}
    ((_, cond),) = unit.exec("ExecCondition")
    assert subprocess.run(cond, cwd=ws, env=env).returncode == 0
    ((_, argv),) = unit.exec("ExecStart")
    done = subprocess.run(argv, cwd=ws, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "command").read_bytes() == HOSTILE_COMMAND.encode()
    assert (tmp_path / "env").read_bytes() == HOSTILE.encode()


def test_systemd_itself_reads_the_hostile_unit_the_same_way(tmp_path):
    units = hostile_units(tmp_path)
    dump = systemd_dump(units, "b00t-wf-step-1.service")
    commands = dump_commands(dump)
    ref = Parsed(units["b00t-wf-step-1.service"])
    for key in ("ExecStart", "ExecCondition"):
        assert [[dollars(a) for a in argv] for argv in commands[key]] == [a for _, a in ref.exec(key)]
    assert "\t\tWorkingDirectory: /var/lib/b00t/wf/sub dir/%n\n" in dump


def test_the_retry_loop_retries_and_keeps_the_last_status(tmp_path):
    flaky = 'n=$(cat ../count 2>/dev/null || echo 0); echo $((n + 1)) > ../count; [ "$n" -ge 2 ] || exit 7'
    units = outputs(workflow(step("flaky", flaky), config="retry_failed_steps = 2"), tmp_path, "systemd")
    ((_, argv),) = Parsed(units["b00t-wf-flaky.service"]).exec("ExecStart")
    ws = tmp_path / "ws"
    ws.mkdir()
    done = subprocess.run(argv, cwd=ws, capture_output=True, text=True)
    assert done.returncode == 0 and (tmp_path / "count").read_text() == "3\n"
    assert "b00tc: [flaky] failed with exit status 7; running it again (2 of 2)" in done.stderr
    (tmp_path / "count").write_text("-5\n")
    done = subprocess.run(argv, cwd=ws, capture_output=True, text=True)
    assert done.returncode == 7 and (tmp_path / "count").read_text() == "-2\n"


def test_timeouts_with_retries_bound_each_attempt(tmp_path):
    units = outputs(workflow(step("slow", "sleep 5", timeout_ms=200), config="retry_failed_steps = 1"),
                    tmp_path, "systemd")
    unit = Parsed(units["b00t-wf-slow.service"])
    assert unit.one("Service", "TimeoutStartSec") == "20400ms"  # 2 x (0.2 s + 10 s of kill grace)
    ((_, argv),) = unit.exec("ExecStart")
    start = time.monotonic()
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.returncode == 124 and time.monotonic() - start < 3
    units = outputs(workflow(step("slow", "sleep 5", timeout_ms=1500)), tmp_path, "systemd")
    unit = Parsed(units["b00t-wf-slow.service"])
    assert unit.one("Service", "TimeoutStartSec") == "1500ms" and unit.one("Service", "TimeoutStopSec") == "10s"
    assert [a for _, a in unit.exec("ExecStart")] == [["/bin/bash", "-c", "sleep 5"]]


@SYSTEMD
def test_conditions_and_rollback_become_dependencies(tmp_path):
    text = workflow(
        step("a", "true"), step("b", "true", when="on_previous"), step("c", "true"),
        step("report", "true", when="always"), step("alarm", "true", when="on_failure"),
        rollback=[step("undo-1", "true"), step("undo-2", "true")],
        config="rollback_on_failure = true",
    )
    units = outputs(text, tmp_path, "systemd")
    verify(units, tmp_path)
    u = {n.removeprefix("b00t-wf-").removesuffix(".service"): Parsed(t) for n, t in units.items()}

    def names(unit, key):
        return [w.removeprefix("b00t-wf-").removesuffix(".service") for v in unit.get("Unit", key) for w in v.split()]

    assert names(u["c"], "Requires") == ["a", "b"] and names(u["b"], "Requires") == ["a"]
    assert names(u["report"], "Wants") == ["network-online.target", "a", "b", "c"]
    assert names(u["alarm"], "Requires") == [] and names(u["alarm"], "After")[-4:] == ["a", "b", "c", "report"]
    for k in ("a", "b", "c", "report"):
        assert names(u[k], "OnFailure") == ["alarm", "rollback-undo-1"]
    assert names(u["alarm"], "OnFailure") == ["rollback-undo-1"]
    assert names(u["rollback-undo-1"], "Wants")[-1] == "rollback-undo-2"
    assert names(u["rollback-undo-2"], "After")[-1] == "rollback-undo-1"
    target = Parsed(units["b00t-wf.target"])
    assert target.one("Unit", "Requires").split() == [f"b00t-wf-{k}.service" for k in ("a", "b", "c", "report")]


def test_continue_on_failure_wants_and_never_starts_on_failure_steps(tmp_path):
    text = workflow(step("a", "false"), step("b", "true"), step("alarm", "true", when="on_failure"),
                    config="continue_on_failure = true")
    units = outputs(text, tmp_path, "systemd")
    b, a = Parsed(units["b00t-wf-b.service"]), Parsed(units["b00t-wf-a.service"])
    assert b.get("Unit", "Requires") == []
    assert b.get("Unit", "Wants") == ["network-online.target", "b00t-wf-a.service"]
    assert a.get("Unit", "OnFailure") == []


def test_what_systemd_cannot_express_is_w0301(tmp_path):
    text = workflow(step("a", "true"), step("b", "true"), mode="dag",
                    rollback=[step("undo", "true")], config="rollback_on_failure = true")
    r = compile_text(text, tmp_path, "systemd")
    msgs = [d.message for d in r.diags if d.code == "W0301"]
    assert len(msgs) == 2 and r.ok
    assert "'a' and 'b'" in msgs[0] and "OnFailure=" in msgs[1]
    r = compile_text(workflow(step("a", "true", script="false"), step("b", "true", when="on_previous")),
                     tmp_path, "systemd")
    (d,) = r.diags
    assert d.code == "W0301" and "skipping on_previous step 'b' when 'a' is skipped" in d.message
    # sequential, no rollback: nothing the datum asks differs (the exit status is a note)
    r = compile_text(workflow(step("a", "true"), step("b", "true")), tmp_path, "systemd")
    assert r.diags == [] and "Exit status: systemctl restart fails" in dict(
        (f.path, f.content) for _, f in r.outputs)["b00t-wf.target"]


def test_a_cwd_systemd_cannot_write_is_an_error(tmp_path):
    r = compile_text(workflow(step("a", "true", cwd="x\ny")), tmp_path, "systemd")
    assert [d.code for d in r.diags if d.is_error] == ["E0601"] and not r.outputs


# -- nomad -----------------------------------------------------------------------------------


def nomad_script(hcl: str) -> tuple[dict, str]:
    """The job, and the script the task's bash gets: args[1] after HCL and Nomad's
    task-start evaluation of driver config strings."""
    doc = hcl2.loads(hcl)
    _, job = check_jobspec(doc)
    ((_, group),) = blocks(job, "group")
    ((_, task),) = blocks(group, "task")
    config = one(task, "config")
    assert [hcl_decode(t) for t in config["entrypoint"]] == ["bash"]
    assert hcl_decode(config["work_dir"]) == "/workspace"
    args = [nomad_config_eval(hcl_decode(t), {}) for t in config["args"]]
    assert args[0] == "-c"
    return job, args[1]


def body(script: str) -> str:
    """The script below its header comments (the note on where it runs differs)."""
    lines = script.split("\n")
    return "\n".join(lines[next(i for i, ln in enumerate(lines) if not ln.startswith("#")):])


IMAGE = 'image = "bash:5.2"\n'


def with_image(text: str) -> str:
    return text.replace('[b00t.job]\n', '[b00t.job]\n' + IMAGE, 1)


def test_nomad_runs_the_bash_targets_runner_byte_for_byte(tmp_path):
    text = with_image(workflow(
        step(HOSTILE_NAME, HOSTILE_COMMAND, env={"HOSTILE": HOSTILE.replace("${", "$${")}, timeout_ms=5000),
        step("b", "echo '{{ .x }} %{y} ${z}' > ../b", depends_on=[HOSTILE_NAME], script="true # %{ ${ }}"),
        mode="dag", config="retry_failed_steps = 1", env={"GREETING": "${B00TC_GREETING:-hi}"}))
    (hcl,) = outputs(text, tmp_path, "nomad").values()
    job, script = nomad_script(hcl)
    (bash,) = outputs(text, tmp_path, "bash").values()
    assert body(script) == body(bash) and script != bash
    assert "in a container of the job's image, in /workspace" in script
    assert hcl_decode(job["type"]) == "batch"
    # the host variable the runner reads comes from the job's Variable, under its own name
    ((_, group),) = blocks(job, "group")
    ((_, task),) = blocks(group, "task")
    ((_, tmpl),) = blocks(task, "template")
    assert "B00TC_GREETING={{ toJSON (index . \"wf.B00TC_GREETING\") }}" in hcl_decode(tmpl["data"])
    # and run here, it is the workflow
    ws = tmp_path / "ws"
    ws.mkdir()
    done = subprocess.run(["bash", "-c", script, "wf"], cwd=ws, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "command").read_bytes() == HOSTILE_COMMAND.encode()
    assert (tmp_path / "env").read_bytes() == HOSTILE.encode()
    assert (tmp_path / "b").read_text() == "{{ .x }} %{y} ${z}\n"


def test_nomad_corpus_workflows_with_an_image(tmp_path):
    for name in BASH_ONLY:
        datum = tmp_path / f"{name}.job.toml"
        datum.write_text(with_image((CORPUS / f"{name}.job.toml").read_text()))
        r = build(BuildRequest(paths=[str(datum)], targets=["nomad"], includes=[str(CORPUS)], host_env={},
                               datum_path=""))
        assert r.ok, rendered(r)
        ((_, f),) = r.outputs
        assert f.path == f"{name}.nomad.hcl"
        nomad_script(f.content)


def test_no_image_is_an_error_on_nomad_only(tmp_path):
    text = workflow(step("a", "true"))
    r = compile_text(text, tmp_path, "nomad")
    (d,) = [d for d in r.diags if d.is_error]
    assert d.code == "E0707" and "set image" in d.help and not r.outputs
    for target in ("bash", "systemd"):
        assert compile_text(text, tmp_path, target).ok


# -- the same workflow on bash and systemd ---------------------------------------------------


class Manager:
    """A small model of systemd's job engine, enough for these units (systemd.unit(5)):
    starting a unit pulls in its Requires= and Wants= units, jobs run in After= order, a unit
    whose Requires= unit failed (or did not start) is not started ("dependency"), a unit is
    failed when ExecStart= exits non-zero, which starts its OnFailure= units; ExecCondition=
    exiting non-zero skips the unit without failing it. The Exec lines are run for real."""

    def __init__(self, units: dict[str, str], ws: Path) -> None:
        self.units = {name: Parsed(text) for name, text in units.items()}
        self.ws, self.result, self.ran = ws, {}, []

    def words(self, name: str, key: str) -> list[str]:
        return [w for v in self.units[name].get("Unit", key) for w in v.split() if w in self.units]

    def enqueue(self, name: str) -> None:
        """A start job for ``name`` and for what it pulls in (a finished oneshot unit pulled
        in again runs again, as in systemd)."""
        todo = [name]
        while todo:
            u = todo.pop()
            if u not in self.jobs:
                self.jobs.append(u)
                self.result.pop(u, None)
                todo += self.words(u, "Requires") + self.words(u, "Wants")

    def start(self, name: str) -> bool:
        self.jobs: list[str] = []
        self.enqueue(name)
        while self.jobs:
            # of the jobs whose After= units have no job waiting, the first in file order
            ready = [u for u in self.jobs if not set(self.words(u, "After")) & set(self.jobs)]
            u = min(ready, key=lambda n: list(self.units).index(n))
            self.jobs.remove(u)
            if any(self.result.get(r) in ("failed", "dependency") for r in self.words(u, "Requires")):
                self.result[u] = "dependency"
                continue
            self.result[u] = self.run(u)
            if self.result[u] == "failed":
                for f in self.words(u, "OnFailure"):
                    self.enqueue(f)
        return self.result[name] == "done"

    def run(self, name: str) -> str:
        unit = self.units[name]
        if name.endswith(".target"):
            return "done"
        env = {**unit.env, "PATH": os.environ["PATH"]}
        for _, argv in unit.exec("ExecCondition"):
            if subprocess.run(argv, cwd=self.ws, env=env).returncode:
                return "skipped"
        self.ran.append(name)
        for _, argv in unit.exec("ExecStart"):
            if subprocess.run(argv, cwd=self.ws, env=env, capture_output=True).returncode:
                return "failed"
        return "done"


LOG = 'echo {name} >> ../log'

WORKFLOWS = {
    "all succeed": workflow(step("a", LOG.format(name="a")), step("b", LOG.format(name="b"))),
    "a failure stops the rest": workflow(step("a", LOG.format(name="a")), step("b", "exit 3"),
                                         step("c", LOG.format(name="c"))),
    "conditions after a failure": workflow(
        step("a", "exit 2"), step("b", LOG.format(name="b"), when="always"), step("c", LOG.format(name="c")),
        step("d", LOG.format(name="d"), when="on_failure"), step("e", LOG.format(name="e"), when="on_previous")),
    "conditions without a failure": workflow(
        step("a", LOG.format(name="a")), step("b", LOG.format(name="b"), when="on_failure"),
        step("c", LOG.format(name="c"), when="on_previous"), step("d", LOG.format(name="d"), script="false"),
        step("e", LOG.format(name="e"), when="always", script="true")),
    "continue_on_failure": workflow(step("a", "exit 4"), step("b", LOG.format(name="b")),
                                    step("c", LOG.format(name="c"), when="on_failure"),
                                    config="continue_on_failure = true"),
    "rollback": workflow(step("a", LOG.format(name="a")), step("b", "exit 5"), step("c", LOG.format(name="c")),
                         rollback=[step("undo-1", LOG.format(name="undo-1")), step("undo-2", LOG.format(name="undo-2"))],
                         config="rollback_on_failure = true"),
    "on_previous after on_failure": workflow(
        step("a", "exit 1"), step("b", LOG.format(name="b"), when="on_failure"),
        step("c", LOG.format(name="c"), when="on_previous"), step("d", LOG.format(name="d"))),
    "on_previous after a failed on_failure": workflow(
        step("a", "exit 1"), step("b", "exit 2", when="on_failure"),
        step("c", LOG.format(name="c"), when="on_previous"), step("e", LOG.format(name="e"), when="always")),
    "dag chain": workflow(step("c", LOG.format(name="c"), depends_on=["b"]), step("a", LOG.format(name="a")),
                          step("b", LOG.format(name="b"), depends_on=["a"]), mode="dag"),
}


@pytest.mark.parametrize("case", sorted(WORKFLOWS))
def test_bash_and_systemd_run_the_same_steps_in_the_same_order(case, tmp_path):
    """Which steps ran, in which order, and whether the workflow failed: the bash script
    run for real, and the systemd units run through the model of systemd's job engine
    (PID 1 is not systemd here)."""
    text = WORKFLOWS[case]
    got = {}
    for target in ("bash", "systemd"):
        folder = tmp_path / target
        ws = folder / "ws"
        ws.mkdir(parents=True)
        files = outputs(text, folder, target)
        if target == "bash":
            (name,) = files
            (folder / name).write_text(files[name])
            ok = subprocess.run(["bash", str(folder / name)], cwd=ws, capture_output=True).returncode == 0
        else:
            ok = Manager(files, ws).start("b00t-wf.target")
        log = folder / "log"
        got[target] = (log.read_text().split() if log.exists() else [], ok)
    assert got["systemd"] == got["bash"]
