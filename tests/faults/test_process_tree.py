"""Issue 14: "A job's background child in its own process group survives ``down``, which
reports success." ``down`` signalled the job's process group only, and only while the
job's first process ran. Now it stops every process of the job: its session (a child in
its own process group is still in it), what the supervising b00tc recorded as below it
(a child that left the session with ``setsid`` is re-parented to that b00tc, a child
subreaper, and recorded), and their descendants; each checked against its start time.

The first two tests reproduce the finding (each failed on the released CLI: the child
was alive after ``down``); the others hold the choice of processes to what they say."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from b00tc.runtime import proctree, state

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="Linux /proc")


def _job(tmp_path, name: str, script: str) -> Path:
    job = tmp_path / f"{name}.job.toml"
    job.write_text(f'[b00t]\nname = "{name}"\ntype = "job"\n[b00t.container]\nimage = "x"\n'
                   f'command = "bash"\nargs = ["-c", {json.dumps(script)}]\n')
    return job


def _b00tc(tmp_path, *args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B00TC_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run([sys.executable, "-m", "b00tc", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, **kw)


def _deploy(tmp_path, job):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B00TC_STATE_DIR": str(tmp_path / "state")}
    return subprocess.Popen([sys.executable, "-m", "b00tc", "deploy", str(job), "--orchestrator", "direct"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)


def _wait_for(path: Path, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def _gone(pid: int, timeout: float = 10) -> bool:
    """No process with this pid, or only its zombie (its parent has not read it yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = proctree.read_stat(pid)
        if p is None or p.zombie:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def reap():
    """Whatever a failing test left running is killed at its end."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def test_a_child_in_its_own_process_group_is_stopped_by_down(tmp_path, reap):
    """``set -m`` gives the background ``sleep`` a process group of its own: killpg of the
    job's group missed it. It is in the job's session, and down stops it."""
    job = _job(tmp_path, "grouped", f"set -m; sleep 300 & echo $! > {tmp_path}/child; wait")
    deploy = _deploy(tmp_path, job)
    child = _wait_for(tmp_path / "child")
    reap.append(child)
    assert os.getpgid(child) == child  # its own group, as the finding says
    down = _b00tc(tmp_path, "down", str(job), "--orchestrator", "direct")
    assert down.returncode == 0, down.stderr
    assert _gone(child), "the job's child survived down"
    deploy.communicate(timeout=30)
    assert not (tmp_path / "state" / "direct" / "grouped").exists()


def test_a_child_that_left_the_session_is_stopped_after_the_job_ended(tmp_path, reap):
    """The job starts ``setsid sleep`` (a new session, output away from b00tc's pipes) and
    ends at once: deploy returns 0, and down, which ran nothing before because the job's
    first process had ended, stops the orphan the supervisor recorded."""
    job = _job(tmp_path, "daemon", f"setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > {tmp_path}/child")
    deploy = _b00tc(tmp_path, "deploy", str(job), "--orchestrator", "direct")
    assert deploy.returncode == 0, deploy.stderr
    child = _wait_for(tmp_path / "child")
    reap.append(child)
    assert proctree.read_stat(child) is not None and not proctree.read_stat(child).zombie
    down = _b00tc(tmp_path, "down", str(job), "--orchestrator", "direct")
    assert down.returncode == 0, down.stderr
    assert "stopping process" in down.stdout + down.stderr
    assert _gone(child), "the job's orphan survived down"


def test_down_after_down_and_deploy_after_down(tmp_path, reap):
    """down while the job runs waits for the deploying b00tc's last record, removes the
    folder, and the next deploy of the job runs (its lock is a new file, not the removed
    one); a second down has nothing to do."""
    job = _job(tmp_path, "again", f"sleep 300 & echo $! > {tmp_path}/child; wait")
    deploy = _deploy(tmp_path, job)
    reap.append(_wait_for(tmp_path / "child"))
    assert _b00tc(tmp_path, "down", str(job), "--orchestrator", "direct").returncode == 0
    deploy.communicate(timeout=30)
    assert not (tmp_path / "state" / "direct" / "again").exists()
    again = _b00tc(tmp_path, "down", str(job), "--orchestrator", "direct")
    assert again.returncode == 0 and "nothing deployed" in again.stdout + again.stderr
    quick = _job(tmp_path, "again", "echo ran")
    r = _b00tc(tmp_path, "deploy", str(quick), "--orchestrator", "direct")
    assert r.returncode == 0 and r.stdout == "ran\n", r.stderr


# -- which processes: on a made-up process table -----------------------------------------

P = proctree.Proc


def _table():
    procs = {
        1: P(0, 1, 1, False),
        100: P(1, 100, 500, False),   # the job, leader of session 100, started at tick 500
        101: P(100, 100, 510, False),  # its child
        102: P(101, 102, 520, False),  # a grandchild that left with setsid
        103: P(1, 100, 530, False),   # orphaned to init, still in the session
        200: P(1, 200, 400, False),   # someone else's
        201: P(200, 200, 405, False),
        104: P(100, 100, 540, True),  # a zombie
    }
    return procs


def test_the_session_its_descendants_and_the_recorded_tree():
    st = {"pid": 100, "proc_start": "500", "tree": [[102, "520"]]}
    assert proctree.members(st, _table()) == {100, 101, 102, 103}


def test_a_reused_leader_pid_is_not_the_job():
    """The leader's pid now runs another process (another start time): its session is not
    the job's; a recorded process is still checked by its own start time."""
    st = {"pid": 100, "proc_start": "499", "tree": [[103, "530"]]}
    assert proctree.members(st, _table()) == {103}


def test_a_recorded_pid_with_another_start_time_is_left_alone():
    st = {"pid": 300, "proc_start": "600", "tree": [[200, "1"], [201, "999"]]}
    assert proctree.members(st, _table()) == set()


def test_older_processes_in_the_session_and_pid_1_are_never_members():
    """A process of the session older than the job cannot be the job's; pid 1 never is."""
    st = {"pid": 100, "proc_start": "500", "tree": [[1, "1"]]}
    table = _table()
    table[106] = P(1, 100, 450, False)
    assert 106 not in proctree.members(st, table) and 1 not in proctree.members(st, table)


def test_b00tc_and_its_ancestors_are_never_members():
    me = os.getpid()
    procs = proctree.snapshot()
    st = {"pid": 2 if me != 2 else 3, "proc_start": "0", "tree": [[me, str(procs[me].start)]]}
    assert me not in proctree.members(st, procs)


def test_a_process_that_outlives_sigkill_fails_down_and_keeps_the_record(tmp_path, monkeypatch):
    """down says which processes did not stop and exits 1, keeping the folder, instead of
    reporting success (the process is made up: nothing is signalled)."""
    from b00tc.runtime.model import Deployed, LifecycleError, Options
    from b00tc.runtime.orchestrators.direct import Direct

    monkeypatch.setenv("B00TC_STATE_DIR", str(tmp_path / "state"))
    os.makedirs(state.state_dir("stuck"))
    Path(state.state_file("stuck")).write_text('{"pid": 4242, "proc_start": "7", "exit_code": null}')
    monkeypatch.setattr(state, "processes", lambda st: {4242})
    monkeypatch.setattr(proctree, "signal_all", lambda pids, sig: None)
    monkeypatch.setattr(state, "_signal_group", lambda pid, sig: None)
    monkeypatch.setattr(state.time, "sleep", lambda s: None)
    with pytest.raises(LifecycleError, match="4242 of job stuck did not stop"):
        Direct().down(Deployed("stuck", "job"), Options(), echo=lambda s: None)
    assert os.path.exists(state.state_file("stuck"))
