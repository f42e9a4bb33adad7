"""k8s, for real as far as podman goes: b00tc's manifests run by ``podman kube play``
(podman 4.3, with private state: conftest.py). No Kubernetes cluster can run here.

What runs:

- the stack's file (``e2e.yaml``) exactly as b00tc wrote it: podman runs each Deployment as
  a pod (one replica) and ignores the Services. The page pod serves the page (checked from
  inside the pod), with the stack's env and its own;
- the job: podman does not run ``batch/v1`` Job, so the Job's ``spec.template`` is cut out of
  b00tc's text, byte for byte, and played as a ``kind: Pod`` (``probe.pod_from_job``: the
  template's lines dedented, never re-serialised, and checked equal to the Job's template
  once parsed). podman runs its initContainer ``wait-for-page`` to completion first (its
  ``nc`` loop against ``page:28081`` while page is still asleep), then the job container,
  whose exit code comes back through ``podman wait``;
- ``page`` resolves because the job pod is played with ``--no-hosts`` on a podman network
  where the page pod has a fixed address, and the image's /etc/hosts maps ``page`` to it:
  a stand-in for cluster DNS, which podman (CNI, no dnsname plugin) does not have. The
  initContainer and the job reach the page pod directly on the service port (the Service's
  ``port`` and ``targetPort`` are both 28081), not through a Service;
- the limits job's template, as a Pod: its cpu/memory limits show in ``podman inspect``.

What podman cannot honour, and is therefore proved only offline, by the validators
(tests/test_validate.py on the golden files: kubernetes-validate in strict mode for 1.33 and
1.25, plus ``tests/backends/test_k8s.check_manifests``; applied to these datums' manifests
by ``test_manifests_pass_the_validators`` below):

- the ``v1`` Services (podman ignores them): their selector matching the Deployment's pod
  labels, port -> targetPort, and the Service-name DNS the endpoint relies on;
- the ``batch/v1`` Job object itself: ``backoffLimit: 0``, its metadata, labels and
  annotations (only its pod template runs here, so ``restartPolicy: Never`` is honoured
  by podman as a Pod's);
- the Deployments' ``replicas`` and ``selector`` (podman plays one pod per Deployment);
- requests (only limits reach podman's container);
- kubelet's own dependent-variable expansion of env values (``$(VAR)``, ``$$`` -> ``$``):
  podman 4.3 passes env values verbatim. So the test checks two things: (1) every env value
  reaches the container exactly as the manifest spells it, and (2) kubelet's rule, applied
  to what the container got (``k8s_expand`` of tests/backends/test_k8s.py, the reference
  implementation of kubelet's expansion that tests/test_literals.py also uses), yields the
  datum's value. The observation compared across targets is (2).
"""

from __future__ import annotations

import pytest

from tests.e2e import machine
from tests.e2e.probe import EXIT_CODE, LATE, MEMBER_ENV, PAGE, PAGE_PORT, env_mismatches, expected_env


def test_deployments_run_and_the_page_pod_serves(k8s_run):
    r = k8s_run
    assert r.page_pod_ip == machine.PAGE_POD_IP
    assert r.page_from_pod == PAGE
    assert {k: r.page_env.get(k) for k in MEMBER_ENV} == MEMBER_ENV
    assert r.side_running


def test_init_container_ran_to_completion_before_the_job(k8s_run):
    """podman's events (podman removes an initContainer once it has run): wait-for-page
    started, died at least LATE seconds after page started (it waited for httpd), and the
    job container started after it died."""
    from tests.e2e.runs import ts

    def when(name, status):
        return [ts(e["Time"]) for e in k8s_run.events if e.get("Name") == name and e.get("Status") == status]

    init_start, init_died = when("probe-wait-for-page", "start"), when("probe-wait-for-page", "died")
    job_start = when("probe-probe", "start")
    assert init_start and init_died and job_start, sorted({(e.get("Name"), e.get("Status")) for e in k8s_run.events})
    assert min(init_died) - k8s_run.page_started >= LATE - 0.5, "the initContainer did not wait for page"
    assert min(job_start) >= max(init_died), "the job container started before its initContainer ended"
    assert k8s_run.obs.page == PAGE and k8s_run.obs.waited


def test_job_reaches_the_service_name_through_its_endpoint(k8s_run):
    assert k8s_run.obs.endpoint == f"http://page:{PAGE_PORT}"
    assert k8s_run.obs.page == PAGE


def test_job_container_exit_code_comes_back(k8s_run):
    """... and the container is not restarted: the template's ``restartPolicy: Never``."""
    assert k8s_run.obs.exit_code == EXIT_CODE
    assert k8s_run.restart_policy == "no", k8s_run.restart_policy


def test_env_reaches_the_container_as_the_manifest_spells_it(k8s_run):
    r = k8s_run
    assert r.raw_env.keys() == expected_env("k8s").keys()
    assert not env_mismatches(r.raw_env, {k: r.manifest_env[k] for k in r.raw_env}), r.notes


def test_env_is_the_datums_value_once_kubelet_expands_it(k8s_run):
    assert not env_mismatches(k8s_run.obs.env, expected_env("k8s"))


def test_cpu_and_memory_limits_reach_the_container(k8s_run):
    r = k8s_run
    assert r.limits_exit == 0 and r.limits_logs == "limited\n"
    hc = r.limits_host_config
    cpus = hc.get("NanoCpus") / 1e9 if hc.get("NanoCpus") else hc["CpuQuota"] / hc["CpuPeriod"]
    assert cpus == pytest.approx(0.5)
    assert hc["Memory"] == 64 * 1024 * 1024


@pytest.mark.parametrize("version", ["1.33", "1.25"])
def test_manifests_pass_the_validators(built, version):
    """What podman cannot run is judged offline, as tests/test_validate.py judges the
    golden files: strict schema, then the API-server rules the schema misses (Service
    selector vs pod labels among them)."""
    import kubernetes_validate

    from tests.backends.test_k8s import check_manifests
    from tests.e2e.probe import manifest_docs

    files = sorted(built("k8s").glob("*.yaml"))
    assert [f.name for f in files] == ["e2e.yaml", "limits.yaml", "probe.yaml"]
    for f in files:
        docs = manifest_docs(f.read_text())
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)
        check_manifests(docs)
    stack = manifest_docs(built("k8s").joinpath("e2e.yaml").read_text())
    service = next(d for d in stack if d["kind"] == "Service")
    page = next(d for d in stack if d["kind"] == "Deployment" and d["metadata"]["name"] == "page")
    labels = page["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())
    assert service["metadata"]["name"] == "page"
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(PAGE_PORT, PAGE_PORT)]
    assert page["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == PAGE_PORT
