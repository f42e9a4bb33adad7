"""Every golden file judged by the tools of its target (../shared/design/test-runtimes.md):

- k8s: kubernetes-validate in strict mode against 1.33 and the oldest supported 1.25,
  plus the API-server rules the schema misses (tests/backends/test_k8s.check_manifests);
- compose: the official compose-spec schema (check-jsonschema's vendored copy) and
  `docker-compose config -q`;
- Nomad: python-hcl2 parses it, and the structural jobspec check of
  tests/backends/test_nomad.check_jobspec holds;
- bash: `bash -n` and shellcheck with no findings;
- systemd: `systemd-analyze verify` with nothing on stderr.

The golden files are the outputs of tests/test_golden.py, so this judges exactly what b00tc
writes for every case.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def golden(target: str, pattern: str) -> list[Path]:
    return sorted((GOLDEN / target).rglob(pattern))


def ids(paths):
    return [str(p.relative_to(GOLDEN)) for p in paths]


K8S = golden("k8s", "*.yaml")
COMPOSE = golden("compose", "*.yaml")
NOMAD = golden("nomad", "*.hcl")
BASH = golden("bash", "*.sh")


def test_every_target_has_golden_files():
    assert len(K8S) >= 10 and len(COMPOSE) >= 10 and len(NOMAD) >= 10 and len(BASH) >= 10
    assert len(golden("systemd", "*.service")) >= 10


@pytest.mark.parametrize("path", K8S, ids=ids(K8S))
@pytest.mark.parametrize("version", ["1.33", "1.25"])
def test_k8s(path, version):
    import kubernetes_validate

    from tests.backends.test_k8s import check_manifests

    from tests import argo, flux

    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for doc in docs:
        if flux.is_flux(doc):  # a CRD kubernetes-validate does not know: its own schema
            flux.validate(doc)
        elif argo.is_argo(doc):  # an Argo Workflow: Argo's own schema
            argo.validate(doc)
            continue
        else:
            kubernetes_validate.validate(doc, version, strict=True)
    check_manifests(docs)


FLUX = [p for p in K8S if any(flux_doc for flux_doc in p.read_text().split("\n---\n")
                              if "toolkit.fluxcd.io/" in flux_doc)]


def test_flux_golden_files_exist():
    assert len(FLUX) >= 2, ids(FLUX)


@pytest.mark.parametrize("path", FLUX, ids=ids(FLUX))
def test_flux_objects_against_their_crds(path):
    """Every HelmRepository and HelmRelease b00tc writes, against the CRD of its version."""
    from tests import flux

    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None and flux.is_flux(d)]
    assert {d["kind"] for d in docs} == {"HelmRepository", "HelmRelease"}
    for doc in docs:
        flux.validate(doc)


def test_flux_validator_rejects_a_bad_object():
    """The CRD schemas are not a rubber stamp: a misspelt field, a bad interval and a
    missing url fail."""
    import jsonschema

    from tests import flux

    docs = [d for d in yaml.safe_load_all((GOLDEN / "k8s" / "observability.yaml").read_text()) if d]
    release = next(d for d in docs if d["kind"] == "HelmRelease")
    repo = next(d for d in docs if d["kind"] == "HelmRepository")
    flux.validate(release)
    flux.validate(repo)
    bad = yaml.safe_load(yaml.safe_dump(release))
    bad["spec"]["targetNamspace"] = "x"
    with pytest.raises(AssertionError):
        flux.validate(bad)
    bad = yaml.safe_load(yaml.safe_dump(release))
    bad["spec"]["interval"] = "ten minutes"
    with pytest.raises(jsonschema.ValidationError):
        flux.validate(bad)
    bad = yaml.safe_load(yaml.safe_dump(repo))
    del bad["spec"]["url"]
    with pytest.raises(jsonschema.ValidationError):
        flux.validate(bad)


def test_k8s_validator_rejects_a_bad_manifest():
    """The strict schema is not a rubber stamp: an unknown field fails."""
    import kubernetes_validate

    doc = yaml.safe_load((GOLDEN / "k8s" / "small.yaml").read_text().split("---", 1)[1])
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, "1.33", strict=True)


@pytest.mark.parametrize("path", COMPOSE, ids=ids(COMPOSE))
def test_compose_schema(path):
    r = subprocess.run(
        ["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose is installed by .ci/test")
@pytest.mark.parametrize("path", COMPOSE, ids=ids(COMPOSE))
def test_docker_compose_config(path, tmp_path):
    # host variables with no default must be set for `config` to interpolate
    env = {**os.environ, "N8N_BASIC_AUTH_PASSWORD": "x", "REQUIRED_TOKEN": "x", "CHECKED": "x"}
    r = subprocess.run(
        ["docker-compose", "-f", str(path), "--project-directory", str(tmp_path), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("path", NOMAD, ids=ids(NOMAD))
def test_nomad(path):
    import hcl2

    from tests.backends.test_nomad import check_jobspec

    check_jobspec(hcl2.loads(path.read_text()))


@pytest.mark.parametrize("path", BASH, ids=ids(BASH))
def test_bash(path):
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["shellcheck", "-s", "bash", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


SYSTEMD_CASES = sorted({p.relative_to(GOLDEN / "systemd").parts[0].split(".")[0] for p in (GOLDEN / "systemd").iterdir()})


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd is installed by .ci/test")
@pytest.mark.parametrize("case", SYSTEMD_CASES)
def test_systemd(case, tmp_path):
    """The case's golden units, verified in one folder together with the units of the stacks
    a job requires (rendered here by the same backend: `Requires=` names them)."""
    from b00tc.backends import get_backend
    from b00tc.backends._context import Context
    from b00tc.ir import Job, Unit
    from tests.helpers import compile_
    from tests.test_golden import CASES

    folder = tmp_path / "units"
    folder.mkdir()
    root = GOLDEN / "systemd"
    units = sorted((root / case).iterdir()) if (root / case).is_dir() else sorted(root.glob(f"{case}.*"))
    for u in units:
        name = u.name if u.parent.name == case else u.name.replace(case, _datum_name(case), 1)
        (folder / name).write_text(u.read_text())
    result = compile_(*CASES[case][:1], includes=CASES[case][1])
    for unit in result.units:
        if isinstance(unit.datum, Job):
            for stack in unit.datum.requires:
                for f in get_backend("systemd").render(Unit(datum=stack), Context(target="systemd")):
                    (folder / f.path).write_text(f.content)
    r = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "--recursive-errors=no", *sorted(str(p) for p in folder.iterdir())],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
    )
    assert r.stderr == "" and r.returncode == 0, r.stderr


def _datum_name(case: str) -> str:
    from tests.helpers import compile_
    from tests.test_golden import CASES

    return compile_(*CASES[case][:1], includes=CASES[case][1]).units[0].datum.name
