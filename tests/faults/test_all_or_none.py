"""Issue 14: "A build for several targets that fails on one writes the other targets'
files and leaves ``.b00tc-*`` temporary files, then says 'nothing written'" (reproduced
with the released CLI). A build writes every target's files or none: here the datum is
good for k8s, compose and Nomad, which run its image, and an error for bash and systemd,
which run the job on the host and need a command (E0107 "has no command"). The write
failure half (a file where a folder must be) is held by
tests/test_cli.py::test_a_failed_write_leaves_the_output_folder_as_it_was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DATUM = '[b00t]\nname = "img"\ntype = "job"\n[b00t.container]\nimage = "alpine:3"\n'


@pytest.mark.parametrize("order", [["k8s", "compose", "nomad", "systemd"], ["systemd", "k8s"], ["k8s", "bash"]])
def test_an_error_for_one_target_writes_no_target(order, tmp_path):
    (tmp_path / "img.job.toml").write_text(DATUM)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("the user's")
    args = [a for t in order for a in ("-t", t)]
    r = subprocess.run([sys.executable, "-m", "b00tc", "build", "img.job.toml", *args, "-o", str(out)],
                       capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       timeout=120)
    assert r.returncode == 1, r.stderr
    assert "has no command" in r.stderr and "nothing written" in r.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["keep.txt"]


def test_each_target_alone_is_what_the_test_above_says(tmp_path):
    """The premise: the image-running targets build this datum on their own."""
    (tmp_path / "img.job.toml").write_text(DATUM)
    for target in ("k8s", "compose", "nomad"):
        r = subprocess.run([sys.executable, "-m", "b00tc", "build", "img.job.toml", "-t", target],
                           capture_output=True, text=True, cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert r.returncode == 0 and r.stdout, (target, r.stderr)
