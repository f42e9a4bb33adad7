"""Secrets are the user's: no value of a host variable reaches an output file, a plan, a
dry run or a diagnostic.

Every host variable named anywhere in the test datums and the real ones (``${NAME...}``
in tests/cases, tests/data and examples) is set to a canary value that names it; each
target builds every root datum of those folders, each orchestrator plans and dry-runs
them, and the canary must appear nowhere.

systemd refers to an EnvironmentFile (``b00tc env`` prints it; tests/test_systemd_secrets.py).
Nomad refers to the job's Nomad Variable (deploy puts it with ``nomad var put``); only a
host variable in an image is still resolved at build time, with warning W0304, which the
check allows on the ``image`` line alone. The targets that still resolve host variables at
build time write the value into their output (issue "Secrets stay secret": k8s must refer
to a Secret); they are strict xfails here, so that the test fails the day they stop
leaking and the marker has to go.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = [ROOT / "tests" / "cases", ROOT / "tests" / "data" / "b00t-datums", ROOT / "tests" / "data" / "canonical",
           ROOT / "tests" / "data" / "older", ROOT / "examples"]
CANARY = "B00TC-CANARY"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
#: not canaries: ``${STACK:...}`` is a reference, and HOME is where b00tc itself keeps
#: state (the direct orchestrator's plan names $HOME/.local/state/b00tc/...)
_NOT_SECRET = {"STACK", "HOME"}

#: targets and orchestrators whose output still holds the values (issue 13), by name
LEAKS_TARGET = {"k8s": "k8s bakes host variables into env values"}
#: where a target still writes a value, by design and with a warning: Nomad resolves a host
#: variable of an image at build time (W0304); its env entries and command words read the
#: job's Nomad Variable
IMAGE_AT_BUILD_TIME = {"nomad": ("W0304", re.compile(r'^\s*image\s*=\s*".*"$', re.M))}
LEAKS_PLAN = {"kubernetes": "the plan carries the k8s manifests", "nomad": "the plan carries the Nomad job"}


def _canary_env() -> dict[str, str]:
    names = set()
    for folder in FOLDERS:
        for f in folder.glob("*.toml"):
            names.update(_VAR.findall(f.read_text(encoding="utf-8", errors="replace")))
    names -= _NOT_SECRET
    assert len(names) >= 5, names  # the datums do name host variables
    env = {k: v for k, v in os.environ.items() if not any(k == n for n in names)}
    env.update({n: f"{CANARY}-{n}-$x'\"y" for n in names})
    return env


ENV = _canary_env()


def _roots(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.toml") if p.name.endswith((".job.toml", ".stack.toml", ".docker.toml")))


def _b00tc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(ENV, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "b00tc", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def _mark(table: dict[str, str], name: str):
    return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=table[name])) if name in table else name


@pytest.mark.parametrize("target", [_mark(LEAKS_TARGET, t) for t in ("k8s", "compose", "nomad", "bash", "systemd")])
def test_no_output_file_holds_a_host_variables_value(target, tmp_path):
    built = 0
    for folder in FOLDERS:
        for root in _roots(folder):
            out = tmp_path / f"{Path(root).name}-out"
            r = _b00tc("build", root, "-t", target, "-o", str(out), cwd=tmp_path)
            assert CANARY not in r.stdout + r.stderr, (root, r.stdout + r.stderr)
            for f in out.rglob("*") if out.exists() else ():
                if f.is_file():
                    built += 1
                    text = f.read_text(errors="replace")
                    if target in IMAGE_AT_BUILD_TIME:
                        code, image_line = IMAGE_AT_BUILD_TIME[target]
                        for line in image_line.findall(text):
                            if CANARY in line:  # only with the warning naming the variable
                                (name,) = re.findall(CANARY + r"-([A-Za-z0-9_]+)", line)
                                assert f"warning[{code}]: host variable {name} " in r.stderr, (root, line)
                        text = image_line.sub("", text)
                    assert CANARY not in text, f"{f.name} of {root} holds a value"
    assert built >= 10  # the check read real output


@pytest.mark.parametrize("orchestrator", [_mark(LEAKS_PLAN, o) for o in ("kubernetes", "docker-compose", "nomad", "direct")])
def test_plan_and_dry_run_print_no_value(orchestrator, tmp_path):
    checked = 0
    for folder in FOLDERS:
        for root in _roots(folder):
            for args in (("plan", root, "--format", "json"), ("plan", root), ("deploy", root, "--dry-run")):
                r = _b00tc(*args, "--orchestrator", orchestrator, cwd=tmp_path)
                checked += 1
                assert CANARY not in r.stdout + r.stderr, (args, (r.stdout + r.stderr)[:2000])
    assert checked >= 30
