"""Issue 14, ``b00tc migrate --write``: the file is rewritten in place as an editor would,
and no comment is lost.

Each finding was reproduced first with the released CLI: a symbolic link was replaced by a
regular file (mode 0600); the owner became the user running b00tc; a CRLF file came back
LF; an unreadable file (not UTF-8, a FIFO) stopped the run with a traceback, or for ever,
and the files after it were not migrated; eleven kinds of comment were dropped (trailing
comments on dissolved table headers and dropped keys, comments inside and between the
dissolved tables, the last lines of a top-level ``[env]``)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import tomli

ROOT = Path(__file__).resolve().parents[2]
DATUMS = ROOT / "tests/data/b00t-datums"

#: every place a comment can sit in a legacy datum, numbered to be found again
COMMENTED = """\
# c01 file header
[b00t]  # c02 on the b00t header
name = "commented"
type = "job"
hint = "a job with a comment everywhere"

# c03 above the image, after a blank line
image = "busybox:1.36"  # c04 trailing on image
# c05 directly above command
command = "sh"  # c06 trailing on command
args = ["-c", "echo hi"]  # c07 trailing on args

# c08 above the orchestration header
[b00t.orchestration]  # c09 trailing on the orchestration header
# c10 directly above requires_stacks
requires_stacks = ["llm-inference-pipeline"]  # c11 trailing on requires_stacks
queue_name = "q"  # c12 trailing on a key that stays
schedule_type = "gpu_affinity"  # c13 trailing on a key that is dropped
gpu_batch_group = "g1"  # c14 trailing on gpu_batch_group

# c15 above the resource_requirements header
[b00t.orchestration.resource_requirements]  # c16 trailing on a dissolved header
# c17 directly above cpu
cpu = "2"  # c18 trailing on cpu
memory = "1Gi"  # c19 trailing on memory
gpu = "optional"  # c20 trailing on a key dropped with its table

# c21 between two dissolved tables
[b00t.orchestration.gpu_requirements]
count = 1  # c22 trailing on a renamed key

# c23 above the budget header
[b00t.orchestration.budget_constraint]  # c24 trailing on the budget header
daily_limit = 5.0  # c25 trailing on a renamed budget key
# c26 at the end of a dissolved table, before the next header

[[b00t.usage]]  # c27 trailing on an array-of-tables header
description = "run it"
command = "b00tc build"

# c28 above the top-level env header
[env]  # c29 trailing on the top-level env header
# c30 directly above an env key
GREETING = "hi"  # c31 trailing on an env key
# c32 last line of the file
"""


def migrate(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "b00tc", "migrate", *args], check=False, capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


@pytest.fixture
def folder(tmp_path):
    for name in ("llm-batch-job.job.toml", "llm-inference-pipeline.stack.toml", "n8n.docker.toml"):
        shutil.copy(DATUMS / name, tmp_path / name)
        (tmp_path / name).chmod(0o644)
    return tmp_path


def test_a_symlink_is_kept_and_its_target_written(folder):
    """Finding a: a datum reached through a symbolic link is written where the link points
    (the link stays a link, to the same place), as an editor does."""
    real = folder / "real"
    real.mkdir()
    (folder / "llm-batch-job.job.toml").rename(real / "llm-batch-job.job.toml")
    link = folder / "llm-batch-job.job.toml"
    link.symlink_to("real/llm-batch-job.job.toml")
    r = migrate("--write", str(link))
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == "real/llm-batch-job.job.toml"
    assert "[b00t.container]" in (real / "llm-batch-job.job.toml").read_text()
    assert sorted(p.name for p in real.iterdir()) == ["llm-batch-job.job.toml"], "no temporary file left"


def test_b_mode_and_owner_are_kept(folder):
    """Finding b: the rewritten file keeps its mode (here 0640, and 0604 through a link)
    and, when b00tc may set it (root), its owner and group; it was 0600 and the writer's."""
    path = folder / "llm-batch-job.job.toml"
    path.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(path, 4321, 4322)
    (folder / "real").mkdir()
    stack = folder / "real/llm-inference-pipeline.stack.toml"
    (folder / stack.name).rename(stack)
    stack.chmod(0o604)
    link = folder / stack.name
    link.symlink_to(f"real/{stack.name}")
    r = migrate("--write", str(path), str(link))
    assert r.returncode == 0, r.stderr
    st = path.stat()
    assert "[b00t.container]" in path.read_text()
    assert stat.S_IMODE(st.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (4321, 4322)
    assert "[b00t.resources]" in stack.read_text() and stat.S_IMODE(stack.stat().st_mode) == 0o604


def test_c_line_endings_are_kept(folder):
    """Finding c: a CRLF file stays CRLF (the new lines too); in a file of mixed endings
    every line the rewrite does not touch keeps its own ending."""
    path = folder / "llm-batch-job.job.toml"
    lf = path.read_bytes()
    path.write_bytes(lf.replace(b"\n", b"\r\n"))
    lines = lf.split(b"\n")
    mixed = b"".join(line + (b"\r\n" if i % 2 else b"\n") for i, line in enumerate(lines[:-1]))
    other = folder / "llm-inference-pipeline.stack.toml"
    stack_lines = other.read_bytes().split(b"\n")
    other_mixed = b"".join(line + (b"\r\n" if i % 3 == 0 else b"\n") for i, line in enumerate(stack_lines[:-1]))
    other.write_bytes(other_mixed)
    r = migrate("--write", str(path), str(other))
    assert r.returncode == 0, r.stderr
    crlf = path.read_bytes()
    assert b"[b00t.container]\r\n" in crlf
    assert crlf.count(b"\n") == crlf.count(b"\r\n"), "a bare LF in a CRLF file"
    new = other.read_bytes()
    assert b"[b00t.resources]" in new
    # untouched: the first five lines and everything from [b00t.learn] on
    head = b"".join(other_mixed.splitlines(keepends=True)[:5])
    tail = other_mixed[other_mixed.index(b"[b00t.learn]"):]
    assert new.startswith(head) and new.endswith(tail)
    # and a mixed job file: its first four lines and its [[b00t.usage]] tables
    path.write_bytes(mixed)
    r = migrate("--write", str(path))
    assert r.returncode == 0, r.stderr
    new = path.read_bytes()
    assert new.startswith(b"".join(mixed.splitlines(keepends=True)[:4]))
    assert new.endswith(mixed[mixed.index(b"[[b00t.usage]]"):])


def test_d_an_unreadable_file_is_reported_and_the_rest_migrated(folder):
    """Finding d: a file that cannot be read (not UTF-8, a FIFO) gets a located diagnostic,
    the files after it are still migrated, and the exit code is 1 at the end."""
    bad = folder / "bad.job.toml"
    bad.write_bytes(b'[b00t]\nname = "bad"\nhint = "caf\xe9"\n')
    fifo = folder / "pipe.job.toml"
    os.mkfifo(fifo)
    good = folder / "llm-batch-job.job.toml"
    stack = folder / "llm-inference-pipeline.stack.toml"
    r = migrate("--write", str(bad), str(fifo), str(good), str(stack), timeout=60)
    assert r.returncode == 1, r.stderr
    assert f"{bad}:3:12" in r.stderr and "not UTF-8" in r.stderr
    assert str(fifo) in r.stderr and "FIFO" in r.stderr
    assert "Traceback" not in r.stderr
    assert "[b00t.container]" in good.read_text()
    assert "[b00t.resources]" in stack.read_text()
    assert r.stderr.count("every target's output is unchanged") == 2


def test_e_every_comment_is_kept(folder):
    """Finding e: every comment survives, each next to what it described: trailing comments
    of moved, renamed and dropped keys, of dissolved table headers, comments inside and
    between dissolved tables, above a header a new table is put before, and after the
    last key of the file (eleven of the thirty-two were dropped)."""
    path = folder / "commented.job.toml"
    path.write_text(COMMENTED)
    r = migrate("--write", str(path))
    assert r.returncode == 0, r.stderr
    new = path.read_text()
    lines = new.splitlines()
    for n in range(1, 33):
        tag = f"# c{n:02d} "
        assert sum(tag in line for line in lines) == 1, (tag, new)
    doc = tomli.loads(new)
    assert "env" not in doc and doc["b00t"]["env"] == {"GREETING": "hi"}

    def at(tag: str) -> int:
        return next(i for i, line in enumerate(lines) if tag in line)

    # next to what they describe
    assert at("c04") == at("image =") and at("c22") == at("gpu_count =") and at("c25") == at("budget_daily_limit =")
    assert at("c05") == at("command = \"sh\"") - 1
    assert at("c10") == at("requires_stacks =") - 1 and at("c17") == at("cpu =") - 1
    assert at("c08") == at("[b00t.orchestration]") - 1, "the orchestration header keeps its comment"
    assert at("c15") < at("c17") < at("c21") < at("gpu_count =")
    assert at("c23") < at("budget_daily_limit =")
    assert at("c26") < at("[[b00t.usage]]") and at("c28") < at("c29") < at("c30") == at("GREETING =") - 1
    assert at("c03") == at("[b00t.container]") - 1, "a header a new table is put before keeps its comment"
    assert "W0" not in r.stderr and "lost" not in r.stderr
