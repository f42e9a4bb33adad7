"""Issue 14: ``check --format json`` wrote its JSON to stderr, where tools that asked for
JSON do not read it. check writes nothing else: json and github go to stdout (build keeps
stdout for its output and its diagnostics on stderr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    return subprocess.run([sys.executable, "-m", "b00tc", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_check_json_and_github_are_on_stdout():
    r = _run("check", "tests/bad/cpu-four.job.toml", "--format", "json")
    assert r.returncode == 1 and r.stderr == ""
    (d,) = [d for d in json.loads(r.stdout) if d["severity"] == "error"]
    assert d["code"] == "E0201" and d["file"] == "tests/bad/cpu-four.job.toml"
    r = _run("check", "tests/bad/cpu-four.job.toml", "--format", "github")
    assert r.returncode == 1 and r.stdout.startswith("::error file=tests/bad/cpu-four.job.toml,")
    r = _run("check", "tests/bad/cpu-four.job.toml")  # text: for people, on stderr
    assert r.stdout == "" and "error[E0201]" in r.stderr


def test_build_keeps_its_diagnostics_on_stderr():
    r = _run("build", "tests/bad/cpu-four.job.toml", "-t", "k8s", "--format", "json")
    assert r.returncode == 1 and r.stdout == ""
    assert json.loads(r.stderr)[0]["code"] == "E0201"
