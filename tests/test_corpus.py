"""b00t's own datums (tests/data/b00t-corpus, copied byte for byte from b00t's public
repository, see its ORIGIN.md), each root compiled alone for every target and every output
judged by the tool that consumes it, as tests/test_validate.py judges the golden files:

- k8s: kubernetes-validate in strict mode (1.33) and the API-server rules the schema misses
  (tests/backends/test_k8s.check_manifests); Flux objects (HelmRepository, HelmRelease),
  which kubernetes-validate does not know, against the openAPIV3Schema of Flux's own CRDs
  (schemas/flux-*.crd.yaml, strictly: tests/flux.py);
- compose: the compose-spec schema (check-jsonschema's vendored copy, in-process) and
  ``docker-compose config -q``;
- Nomad: python-hcl2 parses it and tests/backends/test_nomad.check_jobspec holds;
- bash: ``bash -n`` and shellcheck with no findings;
- systemd: ``systemd-analyze verify`` of the units with those of the stacks they require.

``EXPECT`` says, per root datum, what it compiles to: the number of files per target, or
the error(s) it gets and why b00t itself cannot deploy it either; a workflow job of bash
steps (``WORKFLOW``) is one file for bash, a unit per step and a target for systemd, and
E0707 on k8s, compose and Nomad (b00t's workflows name no image for their steps'
containers; tests/test_workflow_containers.py builds them with one). A datum b00t accepts and
that has something deployable builds on every target where it has something to deploy.
The search path is the corpus folder; the host environment is empty (host variables with
no default are kept as references by every target, never resolved here).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from b00tc.compiler import BuildRequest, build
from tests.helpers import rendered

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "b00t-corpus"
TARGETS = ("k8s", "compose", "nomad", "bash", "systemd")

#: files per target, in TARGETS' order
ONE = (1, 1, 1, 1, 2)  # a stack of one container: systemd adds its network unit
#: nothing deployable on any target: W0104 says so, no file
NONE = (0, 0, 0, 0, 0)
#: Helm chart members only: Flux objects on k8s; skipped elsewhere (W0101, W0104)
CHARTS = (1, 0, 0, 0, 0)

#: a workflow job ([b00t.job] with steps, ../shared/design/workflow-jobs.md) of bash steps:
#: compiled for the host targets (bash: the reference semantics, deploy --orchestrator
#: direct runs it; systemd: a unit per step); the container targets need an image, which
#: b00t's files do not give (b00t runs them on its own host): one error each, E0707
WORKFLOW_WHY = ("a workflow job: compiled for the host targets (bash, systemd); k8s, compose and Nomad run "
                "its steps in containers of an image, which b00t's workflows do not name")


def WORKFLOW(units: int) -> tuple:
    """A workflow of bash steps: one script for bash, ``units`` files for systemd (a unit
    per step and rollback step, and the target); the error code of each target with none."""
    return (0, 0, 0, 1, units, ({"k8s": "E0707", "compose": "E0707", "nomad": "E0707"}, WORKFLOW_WHY))


def RUNTIME_STEPS(code: str, n: int, why: str) -> tuple:
    """A workflow with ``n`` steps b00t's own runtime runs (agent, mcp, k0mmander; or a task
    type b00t does not know): ``n`` errors on every target, from the front end."""
    return ((code,) * n, why)


NO_IMAGE = ("E0103", "a docker datum with no image (only a hint, or a [[b00t.docker.run]] table b00t's "
            "reader does not know): b00t's own `docker run` has nothing to run either")

#: datum file -> files per target (TARGETS' order), or (the one error code, why)
EXPECT: dict[str, object] = {
    "alpine.docker.toml": NO_IMAGE,
    "ansible-demo.stack.toml": NONE,  # members are ansible/cli datums: W0101 each, W0104
    "ansible.stack.toml": NONE,
    "build-and-test.job.toml": WORKFLOW(9),
    "cvat.docker.toml": ONE,
    "demo-langchain-agent.job.toml": RUNTIME_STEPS("E0704", 1, "an agent step: b00t's runtime runs it"),
    "demo-mcp-tools.job.toml": RUNTIME_STEPS("E0704", 3, "three mcp steps: b00t's runtime calls MCP tools"),
    "epoch-progression.job.toml": WORKFLOW(3),
    "example-workflow.job.toml": RUNTIME_STEPS("E0704", 2, "an agent and a k0mmander step"),
    "github-backlog-pull.job.toml": WORKFLOW(3),
    "grok.stack.toml": (1, 1, 1, 1, 3),
    "helix-db.docker.toml": ("E0107", "its type is 'cli' (the type in the file decides, W0107): b00t "
                             "installs it with its install script; a cli datum is nothing to deploy"),
    "k0s-kata.stack.toml": NONE,
    # its phase stacks are included: phase2's and phase3's Helm charts on k8s, each stack
    # in its own file (the platform itself has no member of its own: no file)
    "k8s-complete-platform.stack.toml": (2, 0, 0, 0, 0),
    "llm-batch-job.job.toml": (1, 1, 1, 1, 1),
    "llm-inference-pipeline.stack.toml": (1, 1, 1, 1, 2),
    "mesh3d-cloud-warm.job.toml": WORKFLOW(4),
    "mesh3d-cloud.job.toml": WORKFLOW(3),
    "n8n.docker.toml": ONE,
    "obsidian-mcp.docker.toml": NO_IMAGE,
    "ollama.docker.toml": ONE,
    "pachyderm.docker.toml": NO_IMAGE,
    "parallel-tasks.job.toml": WORKFLOW(9),
    "pgadmin.docker.toml": ONE,
    "phase1-devex.stack.toml": NONE,  # cli members only
    "phase2-gpu-observability.stack.toml": CHARTS,  # three Helm charts
    "phase3-workflows.stack.toml": CHARTS,  # argo-workflows (a chart) and a cli member
    "phase4-gitops.stack.toml": NONE,  # flux-cd.k8s has no chart_path: nothing b00tc deploys
    "pi-gemma4-hive.stack.toml": NONE,
    "plantuml-b00t.stack.toml": NONE,
    "plantuml-queue.stack.toml": (1, 1, 1, 1, 3),
    "plantuml-server-b00t.docker.toml": ONE,
    "postgres-dev-stack.stack.toml": (1, 1, 1, 1, 4),
    "postgres-enhanced.docker.toml": ONE,
    "postgres.docker.toml": ONE,
    "qdrant.docker.toml": ONE,
    "ralph-stack.stack.toml": NONE,
    "redis.docker.toml": ONE,
    "rustfs.docker.toml": ONE,
    "squid.docker.toml": NO_IMAGE,
    "test-agent-simple.job.toml": RUNTIME_STEPS("E0704", 1, "an agent step"),
    "test-apalis.job.toml": WORKFLOW(4),
    "test-workflow.job.toml": WORKFLOW(3),
    "togaf-download-datasheets.job.toml": RUNTIME_STEPS("E0704", 1, "an mcp step"),
    "togaf-generate-diagram.job.toml": RUNTIME_STEPS(
        "E0706", 1, "task type 'mcp-plantuml', which b00t's own reader rejects (its task is tagged by type)"),
    "togaf.stack.toml": NONE,
    "valkey.docker.toml": ONE,
    "virtfs.stack.toml": NONE,
}


def test_the_table_covers_every_root_of_the_corpus():
    """Every job and stack of the corpus, and every docker datum of b00t's folder, is in
    EXPECT (ORIGIN.md lists the 15 jobs, 17 stacks and 16 docker datums copied as roots)."""
    origin = (CORPUS / "ORIGIN.md").read_text()
    roots = {line.split("|")[1].strip() for line in origin.splitlines() if "| root (" in line}
    assert len(roots) == 48
    assert roots == set(EXPECT), sorted(roots ^ set(EXPECT))


@lru_cache(maxsize=None)
def build_one(name: str, target: str):
    return build(BuildRequest(paths=[str(CORPUS / name)], targets=[target], includes=[str(CORPUS)],
                              host_env={}, datum_path=""))


CASES = [(name, t) for name in sorted(EXPECT) for t in TARGETS]


@pytest.mark.parametrize("name,target", CASES, ids=[f"{n}-{t}" for n, t in CASES])
def test_corpus_datum(name, target, tmp_path):
    want = EXPECT[name]
    r = build_one(name, target)
    errors = [d for d in r.diags if d.is_error]
    if len(want) == 6:  # files per target, and the error of the targets with none
        count, (code, why) = want[TARGETS.index(target)], want[5]
        if not count:
            code = code[target] if isinstance(code, dict) else code
            assert [d.code for d in errors] == [code] and why, rendered(r)
            assert r.outputs == []
            return
        want = want[:5]
    if isinstance(want[0], (str, tuple)):
        codes, why = want
        assert [d.code for d in errors] == ([codes] if isinstance(codes, str) else list(codes)), rendered(r)
        assert why  # the table says why b00t cannot deploy it either
        assert r.outputs == []
        return
    assert errors == [], rendered(r)
    outs = {f.path: f.content for t, f in r.outputs if t == target}
    assert len(outs) == want[TARGETS.index(target)], (sorted(outs), rendered(r))
    if outs:
        JUDGE[target](outs, tmp_path, name)


# -- the judges --------------------------------------------------------------------------

def judge_k8s(outs: dict[str, str], tmp_path: Path, name: str) -> None:
    import kubernetes_validate

    from tests import argo, flux
    from tests.backends.test_k8s import check_manifests

    for content in outs.values():
        docs = [d for d in yaml.safe_load_all(content) if d is not None]
        core = []
        for doc in docs:
            if flux.is_flux(doc):  # Flux's own CRDs, strictly (tests/flux.py)
                flux.validate(doc)
            elif argo.is_argo(doc):  # Argo's own schema (tests/argo.py)
                argo.validate(doc)
                core.append(doc)
            else:
                kubernetes_validate.validate(doc, "1.33", strict=True)
                core.append(doc)
        check_manifests(core)


def judge_compose(outs: dict[str, str], tmp_path: Path, name: str) -> None:
    from tests.test_properties import compose_schema_validator

    for path, content in outs.items():
        compose_schema_validator().validate(yaml.safe_load(content))
        if shutil.which("docker-compose"):
            f = tmp_path / path
            f.write_text(content)
            # host variables with no default must be set for `config` to interpolate
            env = {**os.environ, **{v: "x" for v in _unset_vars(content)}}
            r = subprocess.run(["docker-compose", "-f", str(f), "--project-directory", str(tmp_path), "config", "-q"],
                               capture_output=True, text=True, env=env)
            assert r.returncode == 0, r.stderr


def _unset_vars(content: str) -> set[str]:
    import re

    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?\?[^}]*)?\}", content))


def judge_nomad(outs: dict[str, str], tmp_path: Path, name: str) -> None:
    import hcl2

    from tests.backends.test_nomad import check_jobspec

    for content in outs.values():
        check_jobspec(hcl2.loads(content))


def judge_bash(outs: dict[str, str], tmp_path: Path, name: str) -> None:
    for path, content in outs.items():
        f = tmp_path / path
        f.write_text(content)
        r = subprocess.run(["bash", "-n", str(f)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        r = subprocess.run(["shellcheck", "-s", "bash", str(f)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout


def judge_systemd(outs: dict[str, str], tmp_path: Path, name: str) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd is installed by .ci/test")
    from b00tc.backends import get_backend
    from b00tc.backends._context import Context
    from b00tc.ir import Job, Unit

    folder = tmp_path / "units"
    folder.mkdir()
    for path, content in outs.items():
        (folder / path).write_text(content)
    for unit in build_one(name, "systemd").units:  # the stacks a job requires: Requires= names them
        if isinstance(unit.datum, Job):
            for stack in unit.datum.requires:
                for f in get_backend("systemd").render(Unit(datum=stack), Context(target="systemd")):
                    (folder / f.path).write_text(f.content)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no",
                        *sorted(str(p) for p in folder.iterdir())],
                       capture_output=True, text=True, cwd=folder, timeout=120)
    assert r.stderr == "" and r.returncode == 0, r.stderr


JUDGE = {"k8s": judge_k8s, "compose": judge_compose, "nomad": judge_nomad, "bash": judge_bash,
         "systemd": judge_systemd}


def test_the_judges_are_not_rubber_stamps(tmp_path):
    """Each judge rejects a broken output of a corpus datum: a misspelt k8s field, a compose
    service with an unknown key, a Nomad job without a task driver, a bash syntax error."""
    import jsonschema
    import kubernetes_validate

    k8s = build_one("redis.docker.toml", "k8s").outputs[0][1].content.replace(" image:", " imaeg:")
    with pytest.raises(kubernetes_validate.ValidationError):
        judge_k8s({"x.yaml": k8s}, tmp_path, "redis.docker.toml")
    compose = build_one("redis.docker.toml", "compose").outputs[0][1].content.replace("    image:", "    imaeg:", 1)
    with pytest.raises(jsonschema.ValidationError):
        judge_compose({"x.yaml": compose}, tmp_path, "redis.docker.toml")
    nomad = build_one("redis.docker.toml", "nomad").outputs[0][1].content.replace('driver = "docker"', "")
    with pytest.raises((AssertionError, KeyError)):
        judge_nomad({"x.hcl": nomad}, tmp_path, "redis.docker.toml")
    with pytest.raises(AssertionError):
        judge_bash({"x.sh": "#!/usr/bin/env bash\nif then\n"}, tmp_path, "redis.docker.toml")


def test_summary_counts():
    """The figures of the closing note: datums that build for every target where they have
    something to deploy, builds that succeed, datums with one error."""
    ok = sum(1 for name, t in CASES if not build_one(name, t).diags.errors)
    errors = sum(1 for w in EXPECT.values() if isinstance(w[0], (str, tuple)))
    workflows = sum(1 for w in EXPECT.values() if len(w) == 6)  # built for bash and systemd
    assert ok == 5 * (len(EXPECT) - errors - workflows) + 2 * workflows
    print(json.dumps({"datums": len(EXPECT), "builds_ok": ok, "builds": len(CASES), "errors": errors,
                      "workflows_for_bash_and_systemd": workflows}))


def _cells() -> list[object]:
    """Each (datum, target) of EXPECT as the number of files it writes, or "error"."""
    out: list[object] = []
    for want in EXPECT.values():
        for i in range(len(TARGETS)):
            if len(want) == 6:
                out.append(want[i] if want[i] else "error")
            elif isinstance(want[0], (str, tuple)):
                out.append("error")
            else:
                out.append(want[i])
    return out


def test_the_readme_states_this_table():
    """README's "Compatibility with b00t" gives the corpus figures: they are this table's
    (each cell of which test_corpus_datum checks against a real build)."""
    import re

    text = (ROOT / "README.md").read_text()
    m = re.search(r"\((\d+) roots x 5 targets = (\d+) builds\): (\d+) builds write files, (\d+) build with\s+"
                  r"nothing to deploy on that target \(W0104\), (\d+) are one error each", text)
    assert m, "README's Compatibility with b00t section gives the corpus figures"
    cells = _cells()
    files = sum(1 for c in cells if c != "error" and c > 0)
    nothing = sum(1 for c in cells if c == 0)
    errors = cells.count("error")
    assert tuple(int(g) for g in m.groups()) == (len(EXPECT), len(cells), files, nothing, errors)
