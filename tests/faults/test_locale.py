"""Issue 14: under ``LC_ALL=C`` a datum's non-ASCII text ended in "internal error:
UnicodeEncodeError" (exit 2). Python 3.7+ turns on UTF-8 mode by itself in the C locale,
but not when ``PYTHONUTF8=0`` is set or ``PYTHONIOENCODING`` names another codec: then
its standard streams are ASCII (reproduced on this machine with the released CLI, exit 2).

b00tc's output is YAML, JSON, HCL and shell, which are UTF-8 and are piped to tools that
read UTF-8, so b00tc writes UTF-8 whatever the locale says: the bytes printed are the
bytes ``-o`` writes to a file, which is what these tests compare."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DATUM = """\
[b00t]
name = "u"
type = "job"
command = ["echo", "héllo ✓ 日本"]

[b00t.container]
image = "alpine:3"
"""

ASCII_ENVS = [
    {"LC_ALL": "C", "PYTHONUTF8": "0"},
    {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "ascii"},
    {"LC_ALL": "POSIX", "PYTHONUTF8": "0", "PYTHONIOENCODING": "latin-1"},
]


def _run(args, extra, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIO", "PYTHONUTF8"))}
    env.update(extra, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "b00tc", *args], capture_output=True, cwd=cwd, env=env, timeout=120)


@pytest.mark.parametrize("extra", ASCII_ENVS, ids=["C", "C-ascii", "POSIX-latin1"])
@pytest.mark.parametrize("target", ["k8s", "compose", "nomad", "bash", "systemd"])
def test_printed_output_is_the_utf8_that_o_writes(extra, target, tmp_path):
    (tmp_path / "u.job.toml").write_text(DATUM, encoding="utf-8")
    printed = _run(["build", "u.job.toml", "-t", target], extra, tmp_path)
    assert printed.returncode == 0, printed.stderr.decode("utf-8", "replace")
    written = _run(["build", "u.job.toml", "-t", target, "-o", "out"], extra, tmp_path)
    assert written.returncode == 0, written.stderr.decode("utf-8", "replace")
    files = sorted(p for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert files and "héllo ✓ 日本".encode() in printed.stdout
    for f in files:  # printed output holds each file's bytes exactly
        assert f.read_bytes().rstrip(b"\n") in printed.stdout


@pytest.mark.parametrize("extra", ASCII_ENVS, ids=["C", "C-ascii", "POSIX-latin1"])
def test_diagnostics_plan_and_json_in_the_c_locale(extra, tmp_path):
    """A diagnostic quoting a non-ASCII source line, the plan and ``check --format json``:
    no internal error, and the non-ASCII text is there as UTF-8."""
    (tmp_path / "u.job.toml").write_text(DATUM.replace('name = "u"', 'name = "ü"'), encoding="utf-8")
    bad = _run(["check", "u.job.toml"], extra, tmp_path)
    assert bad.returncode == 1 and "ü".encode() in bad.stderr and b"internal error" not in bad.stderr, bad.stderr
    as_json = _run(["check", "u.job.toml", "--format", "json"], extra, tmp_path)
    assert as_json.returncode == 1 and b"internal error" not in as_json.stderr, as_json.stderr
    (tmp_path / "u.job.toml").write_text(DATUM, encoding="utf-8")
    plan = _run(["plan", "u.job.toml", "--orchestrator", "direct"], extra, tmp_path)
    assert plan.returncode == 0 and b"u.sh" in plan.stdout and not plan.stderr, plan.stderr


def test_a_path_that_is_not_utf8_is_said_with_its_own_bytes(tmp_path):
    """A file name that is not UTF-8 (Latin-1 ``é``): Python decodes it with surrogateescape,
    and it is written back as the same bytes, not as an encoding error."""
    name = b"caf\xe9.job.toml"
    (tmp_path / os.fsdecode(name)).write_text(DATUM, encoding="utf-8")
    p = _run(["check", os.fsdecode(name)], {"LC_ALL": "C", "PYTHONUTF8": "0"}, tmp_path)
    assert b"internal error" not in p.stderr and b"Traceback" not in p.stderr, p.stderr
    # its name says "café", the datum says "u": warning W0108, and it builds
    assert p.returncode == 0 and b"W0108" in p.stderr, p.stderr
