"""Issue 14: "config values of the wrong type" were internal errors (exit 2); and the config
file was read with a plain open(): a FIFO there hung every command that reads it, and
/dev/zero read until memory ran out; a misspelt key was silently ignored. Each is now
exit 1 naming the config file, at once, for the commands that read it (plan, deploy, day
two; build and check for their target options). tests/faults/test_fuzz_runtime.py
fuzzes the same file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JOB = "examples/llm-batch-job.job.toml"

COMMANDS = [
    ["plan", JOB, "--orchestrator", "direct"],
    ["status", JOB, "--orchestrator", "direct"],
    ["build", JOB, "-t", "k8s"],
    ["check", JOB],
]


def _run(args, config: str, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B00TC_CONFIG": config, "B00TC_STATE_DIR": str(tmp_path / "st")}
    return subprocess.run([sys.executable, "-m", "b00tc", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=30)  # a FIFO hung for ever before


def _config(kind: str, tmp_path) -> str:
    path = tmp_path / "config.toml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        return "/dev/zero"
    elif kind == "folder":
        path.mkdir()
    elif kind == "huge":
        path.write_text("# padding\n" * 200_000)  # 2 MB of comments: valid TOML, not a config
    elif kind == "typo":
        path.write_text('default_orchestator = "direct"\n')
    elif kind == "mcp-typo":
        path.write_text('[mcp.kubernetes]\ncommand = ["x"]\nenv_vars = { A = "1" }\n')
    elif kind == "wrong-type":
        path.write_text('default_orchestrator = 3\n[mcp.kubernetes]\ncommand = "x"\n')
    elif kind == "targets-type":
        path.write_text('targets = 3\n')
    elif kind == "not-utf8":
        path.write_bytes(b'default_orchestrator = "\xff"\n')
    return str(path)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "huge", "typo", "mcp-typo", "wrong-type",
                                  "targets-type", "not-utf8"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_a_bad_config_file_is_said_at_once(kind, args, tmp_path):
    config = _config(kind, tmp_path)
    r = _run(args, config, tmp_path)
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert config in r.stderr, r.stderr


def test_a_misspelt_key_is_named_with_the_right_one(tmp_path):
    r = _run(COMMANDS[0], _config("typo", tmp_path), tmp_path)
    assert "unknown key 'default_orchestator'" in r.stderr and "did you mean 'default_orchestrator'" in r.stderr
