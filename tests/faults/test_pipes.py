"""Issue 14: ``b00tc build --diff | head`` ended in "internal error: BrokenPipeError"
(exit 2, "this is a bug"). A reader that goes away is not a bug: b00tc stops quietly with
exit 120, what CPython's own exit gives when its last flush fails, and says nothing more.

The reader here closes its end before b00tc writes anything, so every write fails (the
released CLI failed so in each run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [
    ["build", "examples", "-t", "all", "--diff", "-o", "{out}"],
    ["build", "examples/llm-batch-job.job.toml", "-t", "k8s"],
    ["plan", "examples/llm-batch-job.job.toml", "--orchestrator", "kubernetes", "--format", "json"],
    ["check", "examples", "--format", "json"],
])
def test_a_closed_stdout_is_a_quiet_exit(args, tmp_path):
    argv = [a.format(out=tmp_path / "out") for a in args]
    p = subprocess.Popen([sys.executable, "-m", "b00tc", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    p.stdout.close()  # the reader is gone before the first write
    err = p.stderr.read().decode()
    code = p.wait(timeout=120)
    assert "internal error" not in err and "Traceback" not in err, err
    assert code in (0, 1, 120), (code, err)
