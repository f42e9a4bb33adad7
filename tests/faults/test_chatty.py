"""Issue 14: ``b00tc deploy chatty.job.toml --orchestrator direct | head -1`` hung for
ever: once ``head`` had gone, b00tc stopped reading the job's output and the job blocked
on its full pipe (reproduced with the released CLI). The supervisor now drains both
pipes to output.log whatever happens to its own stdout: the job runs to its end, every
byte of its output is in the log, and its exit code is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_deploy_piped_to_head_runs_the_job_to_its_end(tmp_path):
    # 20000 lines on stdout and 20000 on stderr: far more than a pipe holds (64 KiB)
    script = "for i in $(seq 1 20000); do echo out $i; echo err $i >&2; done; exit 3"
    job = tmp_path / "chatty.job.toml"
    job.write_text('[b00t]\nname = "chatty"\ntype = "job"\n[b00t.container]\nimage = "x"\n'
                   f'command = "bash"\nargs = ["-c", {json.dumps(script)}]\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B00TC_STATE_DIR": str(tmp_path / "state")}
    # the pipeline of the finding, as a shell runs it (a reader closed from Python did not
    # hang the released CLI; this one did, with 7466 of the 40000 lines logged)
    r = subprocess.run(["bash", "-c", f"{sys.executable} -m b00tc deploy chatty.job.toml --orchestrator direct "
                        "2>/dev/null | head -1"], capture_output=True, env=env, cwd=tmp_path, timeout=60)
    first = r.stdout
    assert first == b"out 1\n"
    folder = tmp_path / "state" / "direct" / "chatty"
    log = (folder / "output.log").read_bytes().splitlines()
    assert len(log) == 40000 and log.count(b"out 20000") == 1 and log.count(b"err 20000") == 1
    assert json.loads((folder / "state.json").read_text())["exit_code"] == 3
