"""b00tc where users run it, exercised with the real tools: make (with --depfile),
pre-commit (the hooks of .pre-commit-hooks.yaml, through `pre-commit try-repo`) and git."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
B00TC = f"{sys.executable} -m b00tc"


def make(folder: Path) -> list[str]:
    """Run make; return the b00tc commands it ran."""
    r = subprocess.run(
        ["make", f"B00TC={B00TC}"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return [line for line in r.stdout.splitlines() if " -m b00tc build " in line]


@pytest.mark.skipif(not shutil.which("make"), reason="make is installed by .ci/test")
def test_make_rebuilds_exactly_what_a_touched_datum_feeds(tmp_path):
    """examples/Makefile with b00tc's depfiles: a first run builds every output; a second
    builds nothing; touching the n8n member rebuilds exactly the outputs compiled from it
    (the job and the stack, for both targets, not the unrelated small job); then nothing."""
    folder = tmp_path / "datums"
    shutil.copytree(ROOT / "examples", folder)
    shutil.copy(ROOT / "tests/cases/small.job.toml", folder)
    first = make(folder)
    assert len(first) == 6  # 3 roots x (k8s, nomad)
    assert (folder / "out/k8s/llm-batch-job.d").read_text().startswith(
        "out/k8s/llm-batch-job.yaml: llm-batch-job.job.toml llm-inference-pipeline.stack.toml n8n.docker.toml"
        " python.docker.toml\n"
    )
    assert make(folder) == []
    time.sleep(1.1)  # make compares mtimes; some filesystems keep whole seconds
    (folder / "n8n.docker.toml").touch()
    rebuilt = make(folder)
    assert sorted(c.split(" build ")[1].split(" --target ")[0] + " " + c.split(" --target ")[1].split()[0] for c in rebuilt) == [
        "llm-batch-job.job.toml k8s",
        "llm-batch-job.job.toml nomad",
        "llm-inference-pipeline.stack.toml k8s",
        "llm-inference-pipeline.stack.toml nomad",
    ]
    assert make(folder) == []


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """A copy of this repository as a git repository with one commit: what a user's
    .pre-commit-config.yaml would point at (try-repo takes a path)."""
    repo = tmp_path_factory.mktemp("hooks") / "b00tc"
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis", "out")
    shutil.copytree(ROOT, repo, ignore=ignore)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "b00tc")
    return repo


def try_repo(hook_repo: Path, user_repo: Path, hook: str, *args: str):
    env = {**os.environ, "PRE_COMMIT_HOME": str(hook_repo.parent / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook, "--all-files", *args],
        cwd=user_repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")
def test_pre_commit_hooks(hook_repo, tmp_path):
    """The b00tc-check hook passes on good datums and fails with the located diagnostic on
    a bad one; b00tc-build fails when it had to regenerate a committed output and passes
    once the outputs are committed."""
    user = tmp_path / "user"
    shutil.copytree(ROOT / "examples", user / "datums", ignore=shutil.ignore_patterns("Makefile", "out"))
    git(user, "init", "-q")
    git(user, "add", "-A")
    git(user, "commit", "-qm", "datums")

    r = try_repo(hook_repo, user, "b00tc-check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout

    (user / "datums" / "bad.job.toml").write_text(
        '[b00t]\nname = "bad"\ntype = "job"\n[b00t.container]\nimage = "x"\n[b00t.resources]\ncpu = "four"\n'
    )
    git(user, "add", "-A")
    r = try_repo(hook_repo, user, "b00tc-check")
    assert r.returncode == 1
    assert "error[E0201]: expected a core count, got 'four'" in r.stdout
    assert "datums/bad.job.toml:7:7" in r.stdout and "^^^^^^" in r.stdout
    (user / "datums" / "bad.job.toml").unlink()
    git(user, "add", "-A")

    # b00tc-build, configured as a user would: the first run writes deploy/ (files
    # modified by the hook: pre-commit fails it), the next passes once they are committed
    config = user / ".pre-commit-config.yaml"
    config.write_text(
        "repos:\n"
        f"  - repo: {hook_repo}\n"
        f"    rev: {subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=hook_repo, capture_output=True, text=True).stdout.strip()}\n"
        "    hooks:\n"
        "      - id: b00tc-build\n"
        "        args: [datums/, --target, k8s, -o, deploy/]\n"
    )
    git(user, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(hook_repo.parent / "cache")}
    run = lambda: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=user, capture_output=True, text=True, env=env, timeout=600,
    )
    r = run()
    assert r.returncode == 1, r.stdout
    assert (user / "deploy" / "llm-batch-job.yaml").exists()
    git(user, "add", "-A")
    r = run()
    assert r.returncode == 0, r.stdout  # committed outputs are up to date: nothing changes
    # a datum change makes the committed output stale: the hook rewrites it and fails
    p = user / "datums" / "llm-batch-job.job.toml"
    p.write_text(p.read_text().replace('BATCH_SIZE = "32"', 'BATCH_SIZE = "64"'))
    git(user, "add", "-A")
    r = run()
    assert r.returncode == 1
    assert 'value: "64"' in (user / "deploy" / "llm-batch-job.yaml").read_text()


def test_shell_completion_through_click():
    """The README's completion line: click's completion protocol, run for real."""
    env = {**os.environ, "_B00TC_COMPLETE": "bash_complete", "COMP_WORDS": "b00tc bu", "COMP_CWORD": "1"}
    r = subprocess.run([sys.executable, "-m", "b00tc"], env=env, capture_output=True, text=True)
    assert r.returncode == 0
    assert "plain,build" in r.stdout.splitlines()
    env.update(COMP_WORDS="b00tc build x.job.toml --tar", COMP_CWORD="3")
    r = subprocess.run([sys.executable, "-m", "b00tc"], env=env, capture_output=True, text=True)
    assert "plain,--target" in r.stdout.splitlines()


def test_every_emitted_code_is_documented():
    """Codes are a stable contract: every code the source emits is in the CODES table and
    in the README's table, and the two tables agree."""
    import re

    from b00tc.diagnostics import CODES

    source = "\n".join(p.read_text() for p in (ROOT / "b00tc").rglob("*.py"))
    emitted = set(re.findall(r'"([EW]\d{4})"', source))
    missing = sorted(c for c in emitted if c not in CODES)
    assert not missing, missing
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"\b([EW]\d{4})\b", readme.split("## Diagnostic codes", 1)[1].split("\n## ", 1)[0]))
    assert set(CODES) == documented, sorted(set(CODES) ^ documented)
