"""Issue 14: input that is not a small regular file. ``check /dev/zero`` read until memory
ran out; a FIFO named like a datum (given, or on the search path) hung ``check`` and an MCP
call; endless standard input never ended. Now: regular files only, at most 32 MiB
(``b00tc.frontend.files``), each refusal an E0002 naming the file and why, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
JOB = '[b00t]\nname = "j"\ntype = "job"\n[b00t.container]\nimage = "x"\ncommand = "true"\n'


def _b00tc(*args, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "b00tc", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=60, **kw)


def test_a_fifo_given_or_on_the_search_path_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo.job.toml")
    r = _b00tc("check", "fifo.job.toml", cwd=tmp_path)
    assert r.returncode == 1 and "cannot read fifo.job.toml: it is a FIFO" in r.stderr
    r = _b00tc("check", tmp_path, cwd=tmp_path)  # the folder holds it: found by the scan
    assert r.returncode == 1 and "it is a FIFO" in r.stderr
    # a member on the search path
    (tmp_path / "s.stack.toml").write_text('[b00t]\nname = "s"\ntype = "stack"\nmembers = ["m.docker"]\n')
    os.mkfifo(tmp_path / "m.docker.toml")
    r = _b00tc("build", "s.stack.toml", "-t", "compose", cwd=tmp_path)
    assert r.returncode == 1 and "m.docker.toml: it is a FIFO" in r.stderr


def test_a_fifo_through_mcp_is_refused_at_once(tmp_path):
    from b00tc.runtime.mcp_server import call

    os.mkfifo(tmp_path / "fifo.job.toml")
    result, _ = call("check", {"path": str(tmp_path / "fifo.job.toml")}, root=str(tmp_path))
    assert not result["ok"] and "it is a FIFO" in result["diagnostics"][0]["message"]


def test_a_device_a_folder_and_a_huge_file_are_refused(tmp_path):
    r = _b00tc("check", "/dev/zero", cwd=tmp_path)
    assert r.returncode == 1 and "cannot read /dev/zero: it is a device" in r.stderr
    big = tmp_path / "big.job.toml"
    with open(big, "wb") as f:
        f.truncate((32 << 20) + 1)  # sparse: no disk used
    r = _b00tc("check", big, cwd=tmp_path)
    assert r.returncode == 1 and "larger than 32 MiB" in r.stderr
    os.mkfifo(tmp_path / "vars.env")
    (tmp_path / "j.job.toml").write_text(JOB)
    r = _b00tc("build", "j.job.toml", "-t", "k8s", "--env-file", "vars.env", cwd=tmp_path)
    assert r.returncode == 1 and "cannot read env file vars.env: it is a FIFO" in r.stderr


def test_endless_or_binary_stdin_ends_with_an_error(tmp_path):
    yes = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
    try:
        r = _b00tc("check", "-", cwd=tmp_path, stdin=yes.stdout)
    finally:
        yes.kill()
        yes.wait()
    assert r.returncode == 1 and "cannot read standard input: it is larger than 32 MiB" in r.stderr
    r = subprocess.run([sys.executable, "-m", "b00tc", "check", "-"], input=b"\xff\xfe", capture_output=True,
                       cwd=tmp_path, env=ENV, timeout=60)
    assert r.returncode == 1 and b"standard input is not UTF-8" in r.stderr and b"bug" not in r.stderr
    r = _b00tc("check", "-", cwd=tmp_path, input=JOB)  # and a datum still reads
    assert r.returncode == 0, r.stderr
