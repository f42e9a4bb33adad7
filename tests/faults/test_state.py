"""Issue 14, the direct jobs' state folder: a state file b00tc did not write (tampered,
truncated, a FIFO, huge) is no state, never a signal to pid 1 or below, and the folder and
the job's output log are the user's alone (0700, 0600: the output may hold secrets).

Each finding was reproduced first (the released CLI: ``{"pid": true}`` made ``down`` call
``kill(-1, SIGTERM)``; ``{"pid": 999999}`` read as running; ``[]`` was an internal error;
output.log was 0644)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from b00tc.runtime import state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("B00TC_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def _record(text: str, name: str = "job") -> None:
    folder = Path(state.state_dir(name))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.json").write_text(text)


@pytest.fixture
def signals(monkeypatch):
    """Every signal b00tc would send, recorded instead of sent."""
    sent = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: sent.append(("killpg", pid, sig)))
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append(("kill", pid, sig)))
    return sent


@pytest.mark.parametrize("text", [
    '{"pid": true, "proc_start": "1"}',  # True == 1: killpg(1) is init's group
    '{"pid": 1, "proc_start": "1"}',
    '{"pid": 0, "proc_start": "1"}',  # killpg(0): b00tc's own group
    '{"pid": -1, "proc_start": "1"}',  # kill(-1): every process the user can reach
    '{"pid": "123", "proc_start": "1"}',
    '{"pid": 1.5, "proc_start": "1"}',
    "[]", "null", '"x"', "{", "", '{"pid": 4242, "proc_start": 7}',
    '{"pid": 4242, "proc_start": "7", "exit_code": "0"}',
])
def test_a_state_b00tc_did_not_write_is_no_state_and_no_signal(root, signals, text):
    _record(text)
    assert state.read("job") is None
    for bad in (True, 1, 0, -1, -4242):
        state._signal_group(bad, signal.SIGTERM)
    state.stop({"pid": True, "proc_start": "1"}, grace=0)
    assert signals == []


def test_a_pid_that_runs_nothing_is_not_alive(root):
    """``{"pid": 999999}`` read as running: no process has no start time, which equalled
    the missing ``proc_start``."""
    assert not state.alive({"pid": 999999, "proc_start": None})
    assert not state.alive({"pid": 999999})
    assert not state.alive({"pid": os.getpid(), "proc_start": None})  # no start recorded: never ours
    assert not state.running({"pid": 999999, "proc_start": "1", "exit_code": None})
    me = {"pid": os.getpid(), "proc_start": state._proc_start(os.getpid())}
    assert state.alive(me)  # the check itself works on a live process


def test_a_fifo_or_a_huge_file_is_no_state_and_does_not_hang(root):
    folder = Path(state.state_dir("job"))
    folder.mkdir(parents=True)
    os.mkfifo(folder / "state.json")
    done = []
    t = threading.Thread(target=lambda: done.append(state.read("job")), daemon=True)
    t.start()
    t.join(5)
    assert done == [None]
    (folder / "state.json").unlink()
    (folder / "state.json").write_text('{"pid": 4242, "proc_start": "7", "pad": "' + "x" * (2 << 20) + '"}')
    assert state.read("job") is None


#: a regression here would signal every process the test can reach (``kill(-1)``): the CLI
#: runs in a PID namespace of its own, where that is only itself
SANDBOX = ["unshare", "--pid", "--fork", "--mount-proc"]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs a PID namespace (root and unshare) to run a possible kill(-1) safely")
def test_status_and_down_of_a_tampered_state_are_not_internal_errors(root):
    """Through the CLI: ``[]`` and ``{"pid": true}`` give "not deployed" answers (exit 4
    for status, 0 for down), never exit 2 ("this is a bug"); ``down`` of ``{"pid": true}``
    called ``kill(-1, SIGTERM)`` in the released CLI."""
    job = root / "job.job.toml"
    job.write_text('[b00t]\nname = "job"\ntype = "job"\n[b00t.container]\nimage = "x"\ncommand = "true"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B00TC_STATE_DIR": str(root / "state")}
    for text in ("[]", '{"pid": true}', '{"pid": -1, "proc_start": "1"}'):
        _record(text)
        for op, code in (("status", 4), ("down", 0)):
            r = subprocess.run(SANDBOX + [sys.executable, "-m", "b00tc", op, str(job), "--orchestrator", "direct"],
                               capture_output=True, text=True, env=env, cwd=root, timeout=60)
            assert r.returncode == code, (text, op, r.stdout + r.stderr)
            assert "bug" not in r.stderr


def test_the_state_folder_and_the_output_log_are_the_users_alone(root):
    """A direct job's output may hold its secrets: the folder is 0700 and output.log 0600,
    whatever the umask."""
    old = os.umask(0o022)
    try:
        code = state.supervise(["sh", "-c", "echo s3cret"], "job")
    finally:
        os.umask(old)
    assert code == 0
    folder = Path(state.state_dir("job"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "output.log").stat().st_mode) == 0o600
    assert (folder / "output.log").read_text() == "s3cret\n"
    assert json.loads((folder / "state.json").read_text())["exit_code"] == 0


def test_a_state_folder_that_is_a_file_is_said_as_such(tmp_path):
    """``B00TC_STATE_DIR`` naming a file: deploy said "cannot run bash: Not a directory;
    install bash". Now the folder and the way out are named, exit 3, nothing run."""
    (tmp_path / "statefile").write_text("x")
    job = tmp_path / "job.job.toml"
    job.write_text('[b00t]\nname = "job"\ntype = "job"\n[b00t.container]\nimage = "x"\n'
                   'command = "sh"\nargs = ["-c", "echo ran"]\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B00TC_STATE_DIR": str(tmp_path / "statefile")}
    r = subprocess.run([sys.executable, "-m", "b00tc", "deploy", str(job), "--orchestrator", "direct"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 3, r.stderr
    assert "cannot use the state folder" in r.stderr and "statefile" in r.stderr
    assert "install bash" not in r.stderr and "ran" not in r.stdout


def test_two_deploys_of_one_job_at_once(root):
    """The second deploy of a job that runs is refused (exit 3, the first's process
    named), instead of overwriting its record; the first finishes and is recorded; a deploy
    after it runs again."""
    import time

    tmp_path = root
    job = tmp_path / "slow.job.toml"
    job.write_text('[b00t]\nname = "slow"\ntype = "job"\n[b00t.container]\nimage = "x"\n'
                   'command = "sh"\nargs = ["-c", "sleep 2; echo done"]\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B00TC_STATE_DIR": str(tmp_path / "state")}
    argv = [sys.executable, "-m", "b00tc", "deploy", str(job), "--orchestrator", "direct"]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while state.read("slow") is None and time.monotonic() < deadline:  # the first is running
        time.sleep(0.05)
    second = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert second.returncode == 3, second.stderr
    assert "is being deployed by another b00tc now" in second.stderr and "done" not in second.stdout
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0 and out == b"done\n", err
    again = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert again.returncode == 0 and again.stdout == "done\n", again.stderr
