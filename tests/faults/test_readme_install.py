"""Issue 14: the README's quick start said ``pip install .``, which Debian's own Python
refuses (PEP 668, externally managed). The quick start's two commands are run here as the
README writes them, with Debian's ``/usr/bin/python3`` first on PATH, in a copy of the
repository: a venv, the package installed into it as a user installs it, then the build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.findall(r"```sh\n(.*?)```", section.split("\n## ", 1)[0], re.S)[0]  # then the tests' own
    return [line for line in block.splitlines() if line.strip()]


@pytest.mark.skipif(not Path("/usr/lib/python3.11/EXTERNALLY-MANAGED").exists() and
                    not list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED")),
                    reason="needs a Debian Python that is externally managed")
def test_the_quick_start_works_on_debians_python(tmp_path):
    lines = _quick_start()
    assert len(lines) == 2 and "pip install ." in lines[0] and "b00tc build examples/" in lines[1]
    repo = tmp_path / "b00tc"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", ".hypothesis",
                                                           "*.egg-info", "build", "out"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env["PATH"] = "/usr/bin:/bin"  # Debian's python3, not a development one
    first = subprocess.run(["bash", "-c", lines[0]], cwd=repo, env=env, capture_output=True, text=True,
                           timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    second = subprocess.run(["bash", "-c", lines[1]], cwd=repo, env=env, capture_output=True, text=True,
                            timeout=120)
    assert second.returncode == 0, second.stderr[-3000:]
    assert sorted(p.name for p in (repo / "out").iterdir()) == [
        "llm-batch-job.nomad.hcl", "llm-inference-pipeline.nomad.hcl"]
    # and the plain ``pip install .`` the README said before is what Debian refuses
    refused = subprocess.run(["python3", "-m", "pip", "install", "--dry-run", "."], cwd=repo, env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stdout + refused.stderr
