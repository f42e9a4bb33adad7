"""Helm chart members at run time (kubernetes): deploy checks the cluster has Flux's CRDs
before it applies anything, plan says Flux is required, and status/down include the Flux
kinds of a stack that has charts, a HelmRelease's state read from its Ready condition.
With fake kubectl executables that record their argv (tests/test_runtime.Host)."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.test_runtime import JOB, KUBECTL_OK, Host

SEL = "app.kubernetes.io/managed-by=b00tc,app.kubernetes.io/part-of=charts"
CRD_GET = "kubectl get crd helmreleases.helm.toolkit.fluxcd.io helmrepositories.source.toolkit.fluxcd.io"


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path)
    (tmp_path / "redis.k8s.toml").write_text(
        '[b00t]\nname = "redis"\ntype = "k8s"\ndesires = "19.0.0"\nchart_path = "bitnami/redis"\n'
        'namespace = "cache"\nurl = "https://charts.bitnami.com/bitnami"\n')
    (tmp_path / "charts.stack.toml").write_text('[b00t]\nname = "charts"\ntype = "stack"\nmembers = ["redis.k8s"]\n')
    return h


def kubectl(crds: bool, answer: str = "") -> str:
    """KUBECTL_OK, and `get crd` answering as a cluster with or without Flux."""
    crd = ('echo "customresourcedefinition.apiextensions.k8s.io/helmreleases.helm.toolkit.fluxcd.io"' if crds else
           'echo \'Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io '
           '"helmreleases.helm.toolkit.fluxcd.io" not found\' >&2; exit 1')
    return KUBECTL_OK.replace('  *) exit 9 ;;', f'  "get crd") {crd} ;;\n  "get helmreleases,helmrepositories,jobs,deployments,services,pods,persistentvolumeclaims"|"get jobs,deployments,services,pods,persistentvolumeclaims,helmreleases,helmrepositories") /bin/cat "{answer}" ;;\n  "delete helmreleases,helmrepositories,jobs,deployments,services,secrets") echo deleted ;;\n  *) exit 9 ;;')


def test_deploy_without_flux_applies_nothing_and_says_how_to_install_it(host):
    host.tool("kubectl", kubectl(crds=False))
    r = host.b00tc("deploy", "charts.stack.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 3, r.stderr
    assert "no Flux CRDs" in r.stderr and "flux install" in r.stderr
    assert "https://fluxcd.io/flux/installation/" in r.stderr and "NotFound" in r.stderr
    assert CRD_GET in host.calls()
    assert not [c for c in host.calls() if c.startswith("kubectl apply")], host.calls()


def test_deploy_with_flux_applies_the_helm_objects(host):
    host.tool("kubectl", kubectl(crds=True))
    r = host.b00tc("deploy", "charts.stack.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 0, r.stderr
    calls = host.calls()
    assert calls.index(CRD_GET) < next(i for i, c in enumerate(calls) if c.startswith("kubectl apply"))
    kinds = [d["kind"] for d in yaml.safe_load_all((host.root / "applied.yaml").read_text()) if d]
    assert kinds == ["HelmRepository", "HelmRelease"]


def test_a_deploy_without_charts_does_not_ask_for_flux(host):
    host.tool("kubectl", kubectl(crds=False))
    r = host.b00tc("deploy", JOB, "--orchestrator", "kubernetes")
    assert r.returncode == 0, r.stderr
    assert CRD_GET not in host.calls()


def test_plan_says_flux_is_required(host):
    r = host.b00tc("plan", "charts.stack.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 0, r.stderr
    assert "requires (deploy checks it before applying anything):" in r.stdout
    assert "`flux install` (https://fluxcd.io/flux/installation/)" in r.stdout
    assert f"kubectl get jobs,deployments,services,pods,persistentvolumeclaims,helmreleases,helmrepositories -l {SEL}" \
        in r.stdout
    assert f"kubectl delete helmreleases,helmrepositories,jobs,deployments,services,secrets -l {SEL}" in r.stdout
    doc = json.loads(host.b00tc("plan", "charts.stack.toml", "--orchestrator", "kubernetes", "--format", "json").stdout)
    assert "Flux" in doc["requires"][0]
    job = json.loads(host.b00tc("plan", JOB, "--orchestrator", "kubernetes", "--format", "json").stdout)
    assert "requires" not in job
    dry = host.b00tc("deploy", "charts.stack.toml", "--orchestrator", "kubernetes", "--dry-run")
    assert "would check first: Flux" in dry.stdout


def release(status: str, reason: str = "", message: str = "") -> dict:
    cond = {"type": "Ready", "status": status, "reason": reason, "message": message}
    return {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "redis", "labels": {"app.kubernetes.io/managed-by": "b00tc"}},
            "status": {"conditions": [cond]}}


@pytest.mark.parametrize("status, state, code", [
    ("True", "up", 0),
    ("False", "degraded", 1),
])
def test_status_reads_the_ready_condition(host, status, state, code):
    answer = host.root / "answer.json"
    repo = {"kind": "HelmRepository", "metadata": {"name": "bitnami", "labels": {"app.kubernetes.io/managed-by": "b00tc"}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "message": "stored artifact"}]}}
    answer.write_text(json.dumps({"kind": "List", "items": [repo, release(status, "InstallFailed", "timed out")]}))
    host.tool("kubectl", kubectl(crds=True, answer=str(answer)))
    r = host.b00tc("status", "charts.stack.toml", "--orchestrator", "kubernetes", "--format", "json")
    assert r.returncode == code, r.stderr
    doc = json.loads(r.stdout)
    assert doc["state"] == state
    objects = {(o["kind"], o["state"]) for o in doc["objects"]}
    assert ("HelmRelease", "up" if status == "True" else "failed") in objects
    assert [c for c in host.calls() if c.startswith("kubectl get jobs")] == [
        f"kubectl get jobs,deployments,services,pods,persistentvolumeclaims,helmreleases,helmrepositories -l {SEL} -o json"]


def test_down_deletes_the_flux_objects_first(host):
    host.tool("kubectl", kubectl(crds=True))
    r = host.b00tc("down", "charts.stack.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 0, r.stderr
    assert f"kubectl delete helmreleases,helmrepositories,jobs,deployments,services,secrets -l {SEL} --ignore-not-found" \
        in host.calls()


def test_mcp_server_kubernetes_day_two_includes_flux_kinds():
    from b00tc.runtime.model import Deployed, Options
    from b00tc.runtime.orchestrators.kubernetes import _mcp_server_kubernetes

    d = Deployed("charts", "stack", [], None, "charts.stack.toml", charts=["redis"])
    kinds = [a["resourceType"] for _, a in _mcp_server_kubernetes("status", d, Options())]
    assert kinds[-2:] == ["helmreleases", "helmrepositories"]
    kinds = [a["resourceType"] for _, a in _mcp_server_kubernetes("down", d, Options())]
    assert kinds[:2] == ["helmreleases", "helmrepositories"]
    plain = Deployed("site", "stack", ["web"], None, "site.stack.toml")
    assert "helmreleases" not in [a["resourceType"] for _, a in _mcp_server_kubernetes("status", plain, Options())]
