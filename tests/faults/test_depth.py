"""Issue 14: depth was an internal error (exit 2, "this is a bug"): TOML arrays nested past
tomli's 400 levels (its RecursionError), and stacks requiring each other 400 deep (the
linker follows requires_stacks recursively: Python's recursion limit). Both are now located
errors: E0001 at the bracket that passes 400, E0307 at the requires_stacks entry that
passes 64 (``link.MAX_DEPTH``); a chain within the bound still builds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _b00tc(*args, cwd):
    return subprocess.run([sys.executable, "-m", "b00tc", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=120)


def test_toml_nested_past_400_levels_is_a_located_error(tmp_path):
    (tmp_path / "d.job.toml").write_text('[b00t]\nname = "d"\ntype = "job"\nx = ' + "[" * 500 + "]" * 500 + "\n")
    r = _b00tc("check", "d.job.toml", cwd=tmp_path)
    assert r.returncode == 1 and "bug" not in r.stderr
    assert "error[E0001]: invalid TOML: arrays or inline tables nested more than 400 levels deep" in r.stderr
    assert " --> d.job.toml:4:405" in r.stderr  # "x = " then the 401st bracket


def _chain(folder: Path, length: int) -> None:
    for i in range(length):
        req = f'[b00t.orchestration]\nrequires_stacks = ["s{i + 1}"]\n' if i < length - 1 else ""
        (folder / f"s{i}.stack.toml").write_text(
            f'[b00t]\nname = "s{i}"\ntype = "stack"\nmembers = ["m{i}.docker"]\n' + req)
        (folder / f"m{i}.docker.toml").write_text(f'[b00t]\nname = "m{i}"\ntype = "docker"\nimage = "busybox"\n')


def test_stacks_required_400_deep_are_a_located_error(tmp_path):
    _chain(tmp_path, 400)
    r = _b00tc("check", "s0.stack.toml", cwd=tmp_path)
    assert r.returncode == 1 and "bug" not in r.stderr, r.stderr[-2000:]
    assert "error[E0307]: required stack s65 is more than 64 required stacks deep" in r.stderr
    assert " --> s64.stack.toml:" in r.stderr


def test_a_chain_within_the_bound_builds_for_every_target(tmp_path):
    _chain(tmp_path, 60)
    r = _b00tc("build", "s0.stack.toml", "-t", "all", "-o", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "kind: Deployment" in (tmp_path / "out" / "k8s" / "s0.yaml").read_text()
    r = _b00tc("check", "s0.stack.toml", cwd=tmp_path)
    assert r.returncode == 0 and "E0307" not in r.stderr
