"""Issue 14: deploy, status, logs and down of one direct job called at once, as an
agent and a person (or a Makefile with ``-j``) would. Before the lock and the record
checks, two deploys overwrote each other's record, down stopped one of them and status
said "not deployed" while the other ran.

What must hold, whatever the interleaving: no call is an internal error; each exits with
a code its command documents; at most one deploy runs the job at a time (each deploy
that ran it wrote its own marker, and no two markers overlap in time); and after a last
``down`` no process the job started is left and its folder is gone."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from b00tc.runtime import proctree

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="Linux /proc")

#: the exit codes each command may give here (README "Exit codes"): deploy 0, or 3 when
#: another b00tc deploys the job, or the job's own 128+SIGTERM when a down stopped it;
#: status 1 when it says "failed" (a run that a down stopped)
ALLOWED = {"deploy": {0, 3, 143, 137}, "status": {0, 1, 4}, "logs": {0, 4}, "down": {0}}


def test_concurrent_deploy_status_logs_down(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    # ``$$$$`` is the datum's escape for the shell's ``$$``; the background subshell outlives
    # the job (in its session) but not its pipes, so the deploy returns when the job ends
    script = (f"echo $$$$ >> {tmp_path}/pids; (sleep 300 & echo $! >> {tmp_path}/pids; wait) >/dev/null 2>&1 & "
              f"touch {marks}/$$$$.start; for i in $(seq 1 20); do echo line $i; sleep 0.05; done; "
              f"touch {marks}/$$$$.end")
    job = tmp_path / "busy.job.toml"
    job.write_text('[b00t]\nname = "busy"\ntype = "job"\n[b00t.container]\nimage = "x"\n'
                   f'command = "bash"\nargs = ["-c", {json.dumps(script)}]\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B00TC_STATE_DIR": str(tmp_path / "state")}
    results: list[tuple[str, int, str]] = []
    rng = random.Random(14)  # a fixed interleaving plan: the same calls every run

    def call(op: str, delay: float) -> None:
        time.sleep(delay)
        r = subprocess.run([sys.executable, "-m", "b00tc", op, str(job), "--orchestrator", "direct"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        results.append((op, r.returncode, r.stderr))

    calls = [(op, rng.uniform(0, 3)) for op in ["deploy"] * 6 + ["status"] * 6 + ["logs"] * 4 + ["down"] * 4]
    threads = [threading.Thread(target=call, args=c) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    last = subprocess.run([sys.executable, "-m", "b00tc", "down", str(job), "--orchestrator", "direct"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    results.append(("down", last.returncode, last.stderr))

    assert len(results) == len(calls) + 1
    for op, code, err in results:
        assert "internal error" not in err and "Traceback" not in err, (op, err)
        assert code in ALLOWED[op], (op, code, err)
    assert any(op == "deploy" and code in (0, 143, 137) for op, code, _ in results)  # one did run

    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in pids if (s := proctree.read_stat(p)) is not None and not s.zombie
                 and s.session in pids]
        time.sleep(0.1)
    assert alive == [], "processes of the job survived the last down"
    assert not (tmp_path / "state" / "direct" / "busy").exists()

    # one deploy at a time: the runs' [start, end] intervals do not overlap
    runs = sorted((f.stat().st_mtime_ns, (marks / f.name.replace(".start", ".end")))
                  for f in marks.glob("*.start"))
    for (start, end_file), (next_start, _) in zip(runs, runs[1:]):
        if end_file.exists():
            assert end_file.stat().st_mtime_ns <= next_start, "two deploys ran the job at once"
