"""The bad-input corpus: one small invalid datum per mistake a user makes, in both shapes
where the mistake has two spellings. Each file's first line names the diagnostic code it
must produce. For each: exit 1, the located diagnostic (file:line:col, the source line,
a caret, help) golden-tested, and no output written. A mistake b00t itself ignores is a
warning (b00t-keys.md): its case says ``# expect: W0105 --strict``, and builds with the
options after the code, under which the warning is an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BAD = Path(__file__).parent / "bad"
CASES = sorted(p.name for p in BAD.glob("*.toml"))


def run(*args, cwd=BAD, input=None):
    return subprocess.run(
        [sys.executable, "-m", "b00tc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, "B00TC_DEBUG": ""},
        timeout=60,
    )


def test_corpus_is_large():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case, tmp_path, snapshot):
    expected, *options = (BAD / case).read_bytes().split(b"\n", 1)[0].decode().removeprefix("# expect: ").split()
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("untouched")
    r = run("build", case, "-I", "_lib", "--target", "all", "-o", str(out), *options)
    assert r.returncode == 1, r.stderr
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    first = r.stderr.split("\n", 1)[0]
    assert first.startswith(f"error[{expected}]: "), r.stderr
    # located: --> file:line:col, then the source line and a caret under it
    lines = r.stderr.splitlines()
    arrow = next(l for l in lines if "--> " in l)
    assert arrow.split("--> ")[1].split(":")[0] in (case, f"_lib/{arrow.split('/')[-1].split(':')[0]}")
    assert any(set(l.split("|", 1)[-1].strip()) == {"^"} for l in lines if "|" in l), r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert r.stderr == snapshot


@pytest.mark.parametrize("case", ["cpu-four.job.toml", "ref-unknown-service.job.toml"])
def test_bad_input_json_format(case):
    import json

    r = run("check", case, "-I", "_lib", "--format", "json")
    assert r.returncode == 1
    diags = json.loads(r.stdout)  # check's result is its JSON, on stdout (issue 14)
    err = diags[0]
    assert err["severity"] == "error" and err["file"] == case
    assert err["line"] >= 1 and err["column"] >= 1 and err["help"]
