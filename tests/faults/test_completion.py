"""Issue 14: shell completion offered no values for --target and --orchestrator. Click's
completion protocol (``_B00TC_COMPLETE=bash_complete``, COMP_WORDS, COMP_CWORD) now gives
every target and orchestrator with their aliases, filtered by what is typed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "_B00TC_COMPLETE": "bash_complete",
           "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    r = subprocess.run([sys.executable, "-m", "b00tc"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return [line.split(",", 1)[1] for line in r.stdout.splitlines()]


@pytest.mark.parametrize("command", ["build x.toml -t", "check x.toml --target", "env x.toml -t"])
def test_target_values(command):
    words = f"b00tc {command} "
    assert set(_complete(words, len(words.split()))) == {
        "k8s", "compose", "nomad", "bash", "systemd", "kubernetes", "docker-compose", "direct", "all"}
    assert _complete(words + "k", len(words.split())) == ["k8s", "kubernetes"]


@pytest.mark.parametrize("command", ["deploy x.toml", "plan x.toml", "status x", "down x", "job to-manifest x"])
def test_orchestrator_values(command):
    words = f"b00tc {command} --orchestrator "
    assert set(_complete(words, len(words.split()))) == {
        "kubernetes", "docker-compose", "nomad", "direct", "k8s", "compose", "bash"}
    assert _complete(words + "d", len(words.split())) == ["docker-compose", "direct"]
