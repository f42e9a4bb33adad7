"""Workflow jobs (issue 17, phase 1): the front end's rules, and the bash script, the
reference semantics, run for real in temporary folders: order, parallelism by the clock,
timeouts, retries, each condition, continue_on_failure, rollback, the exit status, the
line prefixes and hostile strings; b00t's own workflows compile (or give one error per step
b00tc cannot run); the other targets say in one error that they do not compile workflows
yet; ``deploy --orchestrator direct`` runs the script and gives its exit status back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from b00tc.compiler import BuildRequest, build
from tests.helpers import rendered

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "b00t-corpus"


def s(text: str) -> str:
    """A TOML basic string of ``text`` (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def step(name: str, command: str, *, depends_on=(), when=None, script=None, timeout_ms=None,
         cwd=None, env=None, description="a step", extra="") -> str:
    out = ["[[b00t.job.steps]]", f"name = {s(name)}", f"description = {s(description)}"]
    if depends_on:
        out.append(f"depends_on = [{', '.join(s(d) for d in depends_on)}]")
    out.append(extra)
    out += ["[b00t.job.steps.task]", 'type = "bash"', f"command = {s(command)}"]
    if timeout_ms is not None:
        out.append(f"timeout_ms = {timeout_ms}")
    if cwd is not None:
        out.append(f"cwd = {s(cwd)}")
    if env:
        out.append("[b00t.job.steps.task.env]")
        out += [f"{k} = {s(v)}" for k, v in env.items()]
    if when is not None or script is not None:
        out.append("[b00t.job.steps.condition]")
        if when is not None:
            out.append(f"when = {s(when)}")
        if script is not None:
            out.append(f"script = {s(script)}")
    return "\n".join(out) + "\n"


def workflow(*steps: str, mode="sequential", config="", env=None, rollback=(), name="wf") -> str:
    out = [
        "[b00t]", f'name = "{name}"', 'type = "job"', "", "[b00t.job]", 'description = "a test workflow"', "",
        "[b00t.job.config]", f'mode = "{mode}"', config, "",
    ]
    if env:
        out.append("[b00t.job.env]")
        out += [f"{k} = {s(v)}" for k, v in env.items()]
        out.append("")
    text = "\n".join(out) + "\n" + "\n".join(steps)
    for r in rollback:
        text += "\n" + r.replace("[[b00t.job.steps]]", "[[b00t.job.rollback]]").replace(
            "[b00t.job.steps.", "[b00t.job.rollback.")
    return text


def compile_text(text: str, tmp_path: Path, target: str = "bash", name: str = "wf"):
    datum = tmp_path / f"{name}.job.toml"
    datum.write_text(text)
    return build(BuildRequest(paths=[str(datum)], targets=[target], host_env={}, datum_path=""))


class Run:
    def __init__(self, p: subprocess.CompletedProcess, seconds: float, ws: Path):
        self.code, self.out, self.err, self.seconds, self.ws = p.returncode, p.stdout, p.stderr, seconds, ws


def run(text: str, tmp_path: Path, env=None, timeout=60) -> Run:
    """Compile ``text`` for bash, check the script with bash -n and shellcheck, run it in
    a fresh workspace folder."""
    r = compile_text(text, tmp_path)
    assert r.ok, rendered(r)
    (script,) = [f for t, f in r.outputs if t == "bash"]
    path = tmp_path / script.path
    path.write_text(script.content)
    check_script(path)
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    start = time.monotonic()
    p = subprocess.run(["bash", str(path)], cwd=ws, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    return Run(p, time.monotonic() - start, ws)


def check_script(path: Path) -> None:
    p = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    if shutil.which("shellcheck"):
        p = subprocess.run(["shellcheck", "-s", "bash", str(path)], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout


def lines(path: Path) -> list[str]:
    return path.read_text().split()


# -- order and parallelism ------------------------------------------------------------


def test_sequential_runs_in_file_order_one_at_a_time(tmp_path):
    r = run(workflow(
        step("a", "sleep 0.3; echo a >> log"),
        step("b", "echo b >> log"),
        step("c", "echo c >> log"),
    ), tmp_path)
    assert r.code == 0, r.err
    assert lines(r.ws / "log") == ["a", "b", "c"]


@pytest.mark.parametrize("mode", ["dag", "parallel"])
def test_independent_steps_run_at_the_same_time(mode, tmp_path):
    """By the clock: three one-second steps take about one second, not three (the bound
    leaves room for a loaded machine and stays below the three seconds of one at a time)."""
    r = run(workflow(*(step(n, "sleep 1") for n in "abc"), mode=mode), tmp_path)
    assert r.code == 0, r.err
    assert r.seconds < 2.8, r.seconds


@pytest.mark.parametrize("mode", ["dag", "parallel"])
def test_independent_steps_are_all_running_at_once(mode, tmp_path):
    """Without the clock: each step marks that it started, then waits (up to 20 s) until
    all three have: run one at a time, the first would wait for steps that never start and
    fail; run at once, all three see the three marks."""
    barrier = "touch {n}.started; for _ in $(seq 200); do [ -e a.started ] && [ -e b.started ] && [ -e c.started ] && exit 0; sleep 0.1; done; exit 7"
    r = run(workflow(*(step(n, barrier.format(n=n)) for n in "abc"), mode=mode), tmp_path)
    assert r.code == 0, r.err


def test_sequential_steps_do_not_overlap(tmp_path):
    r = run(workflow(*(step(n, "sleep 0.4") for n in "abc")), tmp_path)
    assert r.code == 0
    assert r.seconds >= 1.2


def test_dag_never_starts_a_step_before_its_dependencies(tmp_path):
    r = run(workflow(
        step("merge", "cat a b > merged", depends_on=["a", "b"]),  # written first: order is the graph's
        step("a", "sleep 0.5; echo A > a"),
        step("b", "echo B > b"),
        step("after", "test -s merged && echo ok > after", depends_on=["merge"]),
        mode="dag",
    ), tmp_path)
    assert r.code == 0, r.err
    assert lines(r.ws / "merged") == ["A", "B"]
    assert lines(r.ws / "after") == ["ok"]
    assert r.seconds < 2.5


def test_a_chain_a_b_c_runs_in_order(tmp_path):
    # b00t's own topological sort reports a cycle for a chain; b00tc orders it
    r = run(workflow(
        step("c", "echo c >> log", depends_on=["b"]),
        step("b", "echo b >> log", depends_on=["a"]),
        step("a", "echo a >> log"),
        mode="dag",
    ), tmp_path)
    assert r.code == 0, r.err
    assert lines(r.ws / "log") == ["a", "b", "c"]


# -- timeouts, retries, exit status ------------------------------------------------------


def test_timeout_stops_the_step_and_it_has_failed(tmp_path):
    r = run(workflow(step("slow", "sleep 30", timeout_ms=300), step("next", "touch next")), tmp_path)
    assert r.code == 124  # timeout's status for a command it stopped
    assert r.seconds < 5
    assert not (r.ws / "next").exists()
    assert "[slow] failed with exit status 124" in r.err


def test_retry_runs_a_failed_step_again(tmp_path):
    flaky = 'n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > count; [ "$n" -ge 3 ]'
    r = run(workflow(step("flaky", flaky), step("then", "touch then"), config="retry_failed_steps = 2"), tmp_path)
    assert r.code == 0, r.err
    assert lines(r.ws / "count") == ["3"]
    assert (r.ws / "then").exists()
    assert r.err.count("running it again") == 2


def test_retries_run_out(tmp_path):
    flaky = 'n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > count; [ "$n" -ge 3 ]'
    r = run(workflow(step("flaky", flaky), config="retry_failed_steps = 1"), tmp_path)
    assert r.code == 1
    assert lines(r.ws / "count") == ["2"]


def test_exit_status_is_the_first_failed_steps(tmp_path):
    r = run(workflow(
        step("late", "sleep 0.6; exit 9"),
        step("early", "sleep 0.1; exit 7"),
        step("always", "exit 5", depends_on=["late", "early"], when="always"),
        mode="dag",
    ), tmp_path)
    assert r.code == 7, r.err


def test_success_is_zero_and_a_failure_stops_the_steps_after_it(tmp_path):
    r = run(workflow(step("ok", "true"), step("bad", "exit 3"), step("never", "touch never")), tmp_path)
    assert r.code == 3
    assert not (r.ws / "never").exists()
    assert "[never] skipped: a step before it failed" in r.err


# -- conditions ---------------------------------------------------------------------------


def test_conditions_after_a_failure(tmp_path):
    r = run(workflow(
        step("bad", "exit 4"),
        step("plain", "echo plain >> log"),  # no condition table: on_success
        step("success", "echo success >> log", when="on_success"),
        step("failure", "echo failure >> log", when="on_failure"),
        step("always", "echo always >> log", when="always"),
        step("table", "echo table >> log", script="true"),  # a condition table: when = always
        step("previous", "echo previous >> log", when="on_previous"),  # table succeeded
    ), tmp_path)
    assert r.code == 4
    assert lines(r.ws / "log") == ["failure", "always", "table", "previous"]


def test_conditions_without_a_failure(tmp_path):
    r = run(workflow(
        step("good", "true"),
        step("failure", "echo failure >> log", when="on_failure"),
        step("previous", "echo previous >> log", when="on_previous"),  # "failure" was skipped
        step("success", "echo success >> log", when="on_success"),
    ), tmp_path)
    assert r.code == 0, r.err
    assert lines(r.ws / "log") == ["success"]
    assert "[previous] skipped: it runs on_previous, and failure did not succeed" in r.err


def test_on_previous_in_dag_mode_reads_the_dependencies(tmp_path):
    r = run(workflow(
        step("bad", "exit 2"),
        step("good", "true"),
        step("after-good", "echo after-good >> log", depends_on=["good"], when="on_previous"),
        step("after-bad", "echo after-bad >> log", depends_on=["bad"], when="on_previous"),
        mode="dag",
    ), tmp_path)
    assert r.code == 2
    assert lines(r.ws / "log") == ["after-good"]


def test_condition_script_must_exit_zero(tmp_path):
    r = run(workflow(
        step("no", "touch no", when="always", script="test -e nothing-here"),
        step("yes", "touch yes", when="on_success", script="echo checking; test -d ."),
    ), tmp_path)
    assert r.code == 0, r.err
    assert not (r.ws / "no").exists() and (r.ws / "yes").exists()
    assert "[yes] checking" in r.out.splitlines()
    assert "[no] skipped: its condition.script did not exit 0" in r.err


def test_continue_on_failure_runs_on_and_still_fails(tmp_path):
    r = run(workflow(
        step("bad", "exit 6"),
        step("next", "echo next >> log"),
        step("previous", "echo previous >> log", when="on_previous"),
        step("failure", "echo failure >> log", when="on_failure"),  # as if it had succeeded
        config="continue_on_failure = true",
    ), tmp_path)
    assert r.code == 6
    assert lines(r.ws / "log") == ["next", "previous"]


# -- rollback -----------------------------------------------------------------------------


def test_rollback_steps_run_in_order_after_a_failure(tmp_path):
    text = workflow(
        step("one", "echo one >> log"),
        step("bad", "exit 8"),
        rollback=[step("undo-2", "echo undo-2 >> log"), step("undo-1", "exit 1"), step("undo-0", "echo undo-0 >> log")],
        config="rollback_on_failure = true",
    )
    r = run(text, tmp_path)
    assert r.code == 8
    assert lines(r.ws / "log") == ["one", "undo-2", "undo-0"]
    assert "[undo-1] failed with exit status 1" in r.err


def test_rollback_does_not_run_on_success_or_when_not_asked(tmp_path):
    undo = [step("undo", "echo undo >> log")]
    r = run(workflow(step("ok", "true"), rollback=undo, config="rollback_on_failure = true"), tmp_path / "a")
    assert r.code == 0 and not (r.ws / "log").exists()
    r = run(workflow(step("bad", "exit 2"), rollback=undo), tmp_path / "b")
    assert r.code == 2 and not (r.ws / "log").exists()


@pytest.fixture(autouse=True)
def _folders(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()


# -- output, env, cwd, hostile strings ------------------------------------------------------


def test_every_line_is_prefixed_with_its_step(tmp_path):
    r = run(workflow(
        step("a", "echo one; echo two >&2; printf 'no newline'"),
        step("b b", "printf 'x\\n\\ny\\n'"),
    ), tmp_path)
    assert r.code == 0
    assert r.out.splitlines() == ["[a] one", "[a] no newline", "[b b] x", "[b b] ", "[b b] y"]
    assert "[a] two" in r.err.splitlines()


def test_cwd_is_relative_to_the_workspace_and_env_overlays(tmp_path):
    (tmp_path / "ws" / "sub dir").mkdir(parents=True)
    r = run(workflow(
        step("where", 'pwd > "$OUT/where"; echo "$A $B" > "$OUT/env"', cwd="sub dir", env={"B": "step"}),
        env={"A": "job", "B": "job", "OUT": str(tmp_path)},
    ), tmp_path)
    assert r.code == 0, r.err
    assert (tmp_path / "where").read_text().strip() == str(tmp_path / "ws" / "sub dir")
    assert (tmp_path / "env").read_text() == "job step\n"


HOSTILE = "it's \"quoted\" $HOME ${x `date` \\ \\n\nline two\ttab ünïcödé 🚀 $(rm -rf /) ;|&<>*?[]~#!"


def test_hostile_strings_reach_the_process_byte_for_byte(tmp_path):
    # the command: bash source, passed as written (BASH_EXECUTION_STRING is what bash -c got)
    command = "cat > /dev/null <<'EOF'\n" + HOSTILE + "\nEOF\nprintf %s \"$BASH_EXECUTION_STRING\" > ../command"
    # an env value: the datum language (a $ before anything but { is literal, $$ is $)
    value = HOSTILE.replace("${", "$${")
    name = "we'ird \"name\" $x `y` ünï 🚀"
    r = run(workflow(step(name, command, env={"HOSTILE": value}),
                     step("env", "printf %s \"$HOSTILE\" > ../env; echo done", env={"HOSTILE": value})), tmp_path)
    assert r.code == 0, r.err
    assert (tmp_path / "command").read_bytes() == command.encode()
    assert (tmp_path / "env").read_bytes() == HOSTILE.encode()
    assert "[env] done" in r.out.splitlines()


def test_hostile_step_name_prefixes_its_lines(tmp_path):
    name = "we'ird \"name\" $x `y` %s ünï"
    r = run(workflow(step(name, "echo hi; exit 3")), tmp_path)
    assert r.code == 3
    assert r.out == f"[{name}] hi\n"
    assert f"b00tc: [{name}] failed with exit status 3" in r.err


def test_host_variables_in_env_are_read_at_run_time(tmp_path):
    text = workflow(step("show", 'echo "$GREETING $OTHER" > ../greeting'),
                    env={"GREETING": "${B00TC_TEST_GREETING:-hello}", "OTHER": "${B00TC_TEST_OTHER}"})
    r = run(text, tmp_path, env={"B00TC_TEST_GREETING": "hi 'there'", "B00TC_TEST_OTHER": "x"})
    assert r.code == 0, r.err
    assert (tmp_path / "greeting").read_text() == "hi 'there' x\n"
    r = run(text, tmp_path, env={"B00TC_TEST_OTHER": "y"})
    assert (tmp_path / "greeting").read_text() == "hello y\n"
    # unset with no default: the script stops before any step runs
    r = run(text, tmp_path, env={})
    assert r.code != 0 and "B00TC_TEST_OTHER" in r.err


# -- the front end ------------------------------------------------------------------------


def errors(text: str, tmp_path: Path, target: str = "bash") -> list[tuple[str, str]]:
    r = compile_text(text, tmp_path, target)
    return [(d.code, d.message) for d in r.diags]


def test_cycles_are_named(tmp_path):
    text = workflow(step("a", "true", depends_on=["b"]), step("b", "true", depends_on=["a"]), mode="dag")
    assert errors(text, tmp_path) == [("E0703", "steps depend on each other in a cycle: a -> b -> a")]


def test_depends_on_no_step_has_a_did_you_mean(tmp_path):
    r = compile_text(workflow(step("build", "true"), step("test", "true", depends_on=["biuld"]), mode="dag"), tmp_path)
    (d,) = r.diags
    assert d.code == "E0701" and "did you mean 'build'?" in d.help
    assert "wf.job.toml:" in rendered(r)


def test_sequential_mode_ignores_a_depends_on_to_no_step_as_b00t_does(tmp_path):
    r = compile_text(workflow(step("a", "true", depends_on=["chrome-mcp.mcp"])), tmp_path)
    assert [d.code for d in r.diags] == ["W0703"] and r.ok


def test_duplicate_names(tmp_path):
    assert [c for c, _ in errors(workflow(step("a", "true"), step("a", "true")), tmp_path)] == ["E0702"]


def test_mode_in_the_wrong_table_warns_and_runs_sequential(tmp_path):
    text = workflow(step("a", "true")).replace('[b00t.job]\n', '[b00t.job]\nmode = "dag"\n').replace('mode = "sequential"', "")
    r = compile_text(text, tmp_path)
    assert [d.code for d in r.diags] == ["W0701"] and r.ok
    assert "move mode under [b00t.job.config]" in r.diags[0].help
    (script,) = [f.content for t, f in r.outputs]
    assert "mode sequential" in script


@pytest.mark.parametrize("kind,count", [("agent", 1), ("mcp", 1), ("k0mmander", 1), ("dagu", 1), ("datum", 1)])
def test_runtime_tasks_are_one_error_per_step(kind, count, tmp_path):
    text = workflow(step("ok", "true")) + f'[[b00t.job.steps]]\nname = "x"\ndescription = "d"\n[b00t.job.steps.task]\ntype = "{kind}"\n'
    for target in ("bash", "k8s", "systemd"):
        found = [(c, m) for c, m in errors(text, tmp_path, target) if c.startswith("E")]
        assert [c for c, _ in found] == ["E0704"] * count
        assert f"step 'x' is an {kind} task" in found[0][1] or f"step 'x' is a {kind} task" in found[0][1]


def test_every_target_compiles_workflow_jobs():
    """E0106 (a target that does not render workflows) is left for a target added later:
    the five targets all declare the workflow kind."""
    from b00tc.backends import get_backend

    for target in ("k8s", "compose", "nomad", "bash", "systemd"):
        assert "workflow" in get_backend(target).KINDS, target


def test_missing_keys_are_located_errors(tmp_path):
    text = '[b00t]\nname = "wf"\ntype = "job"\n[b00t.job]\n[[b00t.job.steps]]\nname = "a"\n[b00t.job.steps.task]\ntype = "bash"\n'
    got = errors(text, tmp_path)
    assert [c for c, _ in got] == ["E0103"] * 4, got  # description, config, step description, command


# -- b00t's own workflows -----------------------------------------------------------------

#: b00t's workflow datums of bash steps: they compile for bash
BASH_ONLY = ["build-and-test", "epoch-progression", "github-backlog-pull", "mesh3d-cloud", "mesh3d-cloud-warm",
             "parallel-tasks", "test-apalis", "test-workflow"]
#: those with steps that need b00t's runtime: one error per such step
RUNTIME_STEPS = {"demo-langchain-agent": ["E0704"], "demo-mcp-tools": ["E0704"] * 3,
                 "example-workflow": ["E0704"] * 2, "test-agent-simple": ["E0704"],
                 "togaf-download-datasheets": ["E0704"], "togaf-generate-diagram": ["E0706"]}


@pytest.mark.parametrize("name", BASH_ONLY)
def test_b00t_workflows_of_bash_steps_compile_for_bash(name, tmp_path):
    r = build(BuildRequest(paths=[str(CORPUS / f"{name}.job.toml")], targets=["bash"], includes=[str(CORPUS)],
                           host_env={}, datum_path=""))
    assert r.ok, rendered(r)
    (f,) = [f for t, f in r.outputs]
    (tmp_path / f.path).write_text(f.content)
    check_script(tmp_path / f.path)


@pytest.mark.parametrize("name", sorted(RUNTIME_STEPS))
def test_b00t_workflows_with_runtime_steps_say_so_per_step(name):
    r = build(BuildRequest(paths=[str(CORPUS / f"{name}.job.toml")], targets=["bash"], includes=[str(CORPUS)],
                           host_env={}, datum_path=""))
    assert [d.code for d in r.diags if d.is_error] == RUNTIME_STEPS[name], rendered(r)


def test_parallel_tasks_runs_for_real_in_about_a_second_per_level(tmp_path):
    # b00t's parallel-tasks: init, then three 1 s steps at once, merge, two at once, cleanup
    r = build(BuildRequest(paths=[str(CORPUS / "parallel-tasks.job.toml")], targets=["bash"], host_env={},
                           datum_path=""))
    (f,) = [f for t, f in r.outputs]
    path = tmp_path / f.path
    path.write_text(f.content)
    start = time.monotonic()
    p = subprocess.run(["bash", str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert time.monotonic() - start < 2.5
    assert "[validate] ✓ Validation passed: Found 3 result lines" in p.stdout.splitlines()


# -- deploy --orchestrator direct -----------------------------------------------------------


def test_direct_deploy_runs_the_workflow_and_day_two_reads_it(tmp_path):
    datum = tmp_path / "wf.job.toml"
    datum.write_text(workflow(step("a", "echo from a"), step("b", "echo from b; exit 5")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B00TC_", "XDG_"))}
    env["B00TC_STATE_DIR"] = str(tmp_path / "state")

    def b00tc(*args):
        return subprocess.run([sys.executable, "-m", "b00tc", *args], cwd=tmp_path, capture_output=True,
                              text=True, env=env, timeout=120)

    r = b00tc("deploy", str(datum), "--orchestrator", "direct")
    assert r.returncode == 5, r.stderr
    assert r.stdout.splitlines() == ["[a] from a", "[b] from b"]
    r = b00tc("status", str(datum), "--orchestrator", "direct")
    assert "failed" in r.stdout and "exit 5" in r.stdout, r.stdout + r.stderr
    r = b00tc("logs", str(datum), "--orchestrator", "direct")
    assert "[a] from a" in r.stdout and "[b] from b" in r.stdout, r.stderr
    r = b00tc("down", str(datum), "--orchestrator", "direct")
    assert r.returncode == 0, r.stderr
    r = b00tc("status", str(datum), "--orchestrator", "direct")
    assert "not deployed" in r.stdout, r.stdout + r.stderr


# -- interrupted --------------------------------------------------------------------------


def _dead(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


@pytest.mark.parametrize("sig,code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_an_interrupted_workflow_stops_its_running_steps(sig, code, tmp_path):
    """Ctrl-C reaches the runner's process group, where a background step ignores it and a
    step under timeout is not; SIGTERM (b00tc down) reaches the runner alone: either way
    the runner stops every running step."""
    import signal

    r = compile_text(workflow(
        step("plain", "echo $$ > plain.pid; sleep 30; echo never"),
        step("timed", "sleep 30 & echo $! > timed.pid; wait", timeout_ms=60000),
        mode="dag",
    ), tmp_path)
    (f,) = [f for t, f in r.outputs]
    (tmp_path / f.path).write_text(f.content)
    ws = tmp_path / "ws"
    ws.mkdir()
    p = subprocess.Popen(["bash", str(tmp_path / f.path)], cwd=ws, start_new_session=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while not ((ws / "plain.pid").exists() and (ws / "timed.pid").exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    os.killpg(p.pid, getattr(signal, sig)) if sig == "SIGINT" else p.send_signal(getattr(signal, sig))
    out, err = p.communicate(timeout=10)
    assert p.returncode == code, err
    assert "interrupted: the running steps were stopped" in err
    time.sleep(0.3)
    for name in ("plain.pid", "timed.pid"):
        assert _dead(int((ws / name).read_text())), name
    assert "never" not in out


def test_env_references_resolve_in_the_required_stacks(tmp_path):
    """A workflow's env follows the datum language: a reference to a required stack's
    service is its address on this host (the direct target), like a container job's."""
    cases = ROOT / "tests" / "cases"
    text = workflow(step("show", 'echo "$DB" > ../db'), env={"DB": "${STACK:shop:db:endpoint}"}).replace(
        '[b00t.job]', '[b00t.dependencies]\nrequires_stacks = ["shop"]\n\n[b00t.job]', 1)
    datum = tmp_path / "wf.job.toml"
    datum.write_text(text)
    r = build(BuildRequest(paths=[str(datum)], targets=["bash"], includes=[str(cases)], host_env={}, datum_path=""))
    assert r.ok, rendered(r)
    (f,) = [f for t, f in r.outputs]
    assert "DB=postgres://localhost:" in f.content
    assert "requires stack shop: start it first (shop.sh up)" in f.content
    r = compile_text(text.replace("shop:db", "shop:nope"), tmp_path / "a")
    assert not r.ok


def _runner_function(name: str, tmp_path) -> str:
    """The text of one shell function of the runner, as a workflow's script has it."""
    import re

    r = compile_text(workflow(step("a", "true")), tmp_path)
    (f,) = [f for t, f in r.outputs if t == "bash"]
    m = re.search(rf"^{name}\(\) {{\n.*?^}}\n", f.content, re.S | re.M)
    assert m, name
    return m.group(0)


@pytest.mark.parametrize("first,second", [("3", " 0"), ("3 ", "0"), ("12 1", "37")])
def test_a_report_cut_by_the_readers_second_is_read_whole(first, second, tmp_path):
    """The runner waits for a step's report ("I STATUS") with ``read -t 1``; when the second
    ends in the middle of a line, bash keeps what it read and the rest stays in the FIFO.
    Read as two reports, "3" then " 0", that was step 3 with no status and a step "0"
    (seen once in 30 runs of tests/e2e/test_workflow_table.py: exit 2, ``exit: :
    numeric argument required``). Here the line is written in two parts, the second after
    the reader's second has ended: b00t_next returns it whole, exactly."""
    script = _runner_function("b00t_next", tmp_path) + f"""
fifo=$(mktemp -u); mkfifo "$fifo"; exec 9<>"$fifo"
{{ printf '%s' '{first}' >&9; sleep 1.4; printf '%s\\n' '{second}' >&9; }} &
b00t_next; echo "status=$? i=[$b00t_i] rc=[$b00t_rc]"
b00t_next; echo "status=$?"
rm -f "$fifo"
"""
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=20)
    i, rc = (first + second).split(" ")
    assert p.stdout.splitlines() == [f"status=0 i=[{i}] rc=[{rc}]", "status=1"], p.stdout + p.stderr
