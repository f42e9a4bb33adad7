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


# -- host variables through a Secret ---------------------------------------------------------

#: what the host holds when deploy creates the Secret; none of it may be in the manifest
SECRET_HOST = {
    "PLAIN": "it's \"double\" and 'single' `tick` $HOME $(HOME) $$ \\back\\slash\\ \\n",
    "TOKEN": "  two\nlines, spaces  ünïcødé ☃ 日本 $(語) ",
    "MIXED": "$(x)$",
}
_SECRETS_BODY = """\
command = ["sh", "-c", "printf 'ARG[%s]\\\\0' \\"$@\\"; env -0; sleep 3600", "sh", "--token=${TOKEN}", "${PLAIN}", "a-${MIXED}-b", "$$(HOME) ${UNSET:-dflt}"]

[b00t.env]
PLAIN = "${PLAIN}"
TOKEN = "${TOKEN}"
MIXED = "prefix-${MIXED}-suffix $$(x)"
DEFAULTED = "${UNSET:-dflt $(x) ünï}"
LITERAL = "text $$(HOME) $$ end$"
"""
#: a job (played as a Pod: its template), and a stack whose member is a Deployment
SECRETS_DATUMS = {
    "secrets.job.toml": '[b00t]\nname = "secrets"\ntype = "job"\n\n[b00t.container]\n'
                        'image = "localhost/busybox:test"\n' + _SECRETS_BODY.replace("; sleep 3600", ""),
    "vault.docker.toml": '[b00t]\nname = "vault"\ntype = "docker"\nimage = "localhost/busybox:test"\n' + _SECRETS_BODY,
    "vaulted.stack.toml": '[b00t]\nname = "vaulted"\ntype = "stack"\nmembers = ["vault.docker"]\n',
}
#: the datum's meaning under SECRET_HOST (bash's reading of each value; written by hand)
SECRETS_ARGV = ["--token=" + SECRET_HOST["TOKEN"], SECRET_HOST["PLAIN"], "a-" + SECRET_HOST["MIXED"] + "-b",
                "$(HOME) dflt"]
SECRETS_ENV = {
    "PLAIN": SECRET_HOST["PLAIN"],
    "TOKEN": SECRET_HOST["TOKEN"],
    "MIXED": "prefix-" + SECRET_HOST["MIXED"] + "-suffix $(x)",
    "DEFAULTED": "dflt $(x) ünï",
    "LITERAL": "text $(HOME) $ end$",
}


@pytest.mark.parametrize("root, kind, secret_name, labels", [
    ("secrets.job.toml", "Job", "secrets", {"b00t.io/datum": "secrets.job"}),
    ("vaulted.stack.toml", "Deployment", "vault", {"app.kubernetes.io/part-of": "vaulted"}),
])
def test_host_variables_reach_the_container_through_a_secret(podman, tmp_path, root, kind, secret_name, labels):
    """A job, and a stack member, whose env, command and args use host variables with
    hostile values, built with none of them set (the manifest holds no value), the Secret
    made by deploy's own ``Kubernetes.value_commands`` from the values ``resolve_store``
    gives, and the Job's template played as a Pod (the Deployment as b00tc wrote it) by
    ``podman kube play``. The container prints its args and environment, NUL-separated;
    ``podman logs`` gives them back.

    The Secret reaches podman through ``podman secret create NAME -`` fed the Secret's
    ``data`` (the JSON map of key -> base64 that value_commands wrote), not through
    ``podman kube play`` of the Secret itself: podman 4.3.1 plays a ``kind: Secret`` by
    storing the Secret as YAML, while its own ``secretKeyRef`` reader wants that JSON map
    and refuses it ("Error: cannot set env B00T_K: secret s1 is not valid JSON: invalid
    character 'a' looking for beginning of value").

    podman resolves ``secretKeyRef`` (the values arrive byte for byte: proved here), but
    does not apply the kubelet's ``$(VAR)`` expansion to env values, command or args: it
    passes them verbatim. So, as for the conformance job above, the test checks that every
    such string arrives exactly as the manifest spells it, and that the kubelet's rule
    (``k8s_expand``) applied to it, with the environment the container really got, gives
    the datum's value."""
    import json
    import os
    import subprocess
    import sys

    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_store
    from b00tc.runtime.model import Options
    from b00tc.runtime.orchestrators.kubernetes import Kubernetes
    from tests.e2e.probe import ROOT, manifest_docs, pod_from_job
    from tests.helpers import compile_, files

    for name, text in SECRETS_DATUMS.items():
        (tmp_path / name).write_text(text)
    datum, out = tmp_path / root, tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in SECRET_HOST and k != "UNSET"}
    built = subprocess.run([sys.executable, "-m", "b00tc", "build", str(datum), "-t", "k8s", "-o", str(out)],
                           env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0 and built.stderr == "", built.stderr
    (path,) = out.glob("*.yaml")
    text = path.read_text()
    result = compile_([str(datum)], targets=["k8s"], env=SECRET_HOST)
    assert files(result, "k8s")[path.name] == text  # the same bytes whatever the environment
    for value in SECRET_HOST.values():
        assert value not in text

    (store,) = result.env_files
    diags = Diagnostics()
    values = resolve_store(store, SECRET_HOST, diags)
    assert values is not None, [d.message for d in diags]
    assert list(values) == ["TOKEN", "PLAIN", "MIXED", "UNSET", "UNSET.2"]
    (cmd,) = Kubernetes().value_commands([store], [values], Options())
    assert cmd.argv == ["kubectl", "apply", "-f", "-"] and cmd.stdin_what == f"Secret {secret_name}: 5 keys"
    secret = json.loads(cmd.stdin)
    assert secret["metadata"]["name"] == secret_name
    (obj,) = [d for d in manifest_docs(text) if d["kind"] == kind]
    assert secret["metadata"]["labels"] == obj["metadata"]["labels"]
    assert labels.items() <= secret["metadata"]["labels"].items()
    (c,) = obj["spec"]["template"]["spec"]["containers"]
    podman.podman("secret", "create", secret_name, "-", input=json.dumps(secret["data"]).encode())
    try:
        if kind == "Job":
            manifest, pod, ctr = tmp_path / "secrets.pod.yaml", "secrets", "secrets-secrets"
            manifest.write_text(pod_from_job(text))
        else:  # podman names a Deployment's one pod <name>-pod-0, its container <pod>-<container>
            manifest, pod, ctr = path, "vault-pod-0", "vault-pod-0-vault"
        podman.podman("kube", "play", "--network", machine.PODMAN_NETWORK, manifest, timeout=120)
        if kind == "Job":
            assert int(podman.podman("wait", ctr, timeout=120).stdout) == 0
        logs = _logs_until(podman, ctr, len(SECRETS_ARGV) + len(c["env"]))
    finally:
        podman.podman("pod", "rm", "-f", "-t", "0", pod, check=False)
        podman.podman("secret", "rm", secret_name, check=False)
    _check_secrets_container(c, values, logs)


def _logs_until(podman, ctr: str, items: int, seconds: float = 60) -> str:
    import time

    deadline = time.monotonic() + seconds
    while True:
        logs = podman.podman("logs", ctr, check=False).stdout.decode("utf-8")
        if logs.count("\0") >= items or time.monotonic() > deadline:
            return logs
        time.sleep(0.5)


def _check_secrets_container(c: dict, values: dict, logs: str) -> None:
    from tests.backends.test_k8s import k8s_expand

    items = logs.split("\0")
    assert items[-1] in ("", "\n"), items[-1]
    args = [i[4:-1] for i in items[:-1] if i.startswith("ARG[") and i.endswith("]")]
    got_env = dict(i.split("=", 1) for i in items[len(args):-1])
    # (1) podman: each secretKeyRef is the Secret's value, byte for byte
    for e in c["env"]:
        if "valueFrom" in e:
            assert got_env[e["name"]] == values[e["valueFrom"]["secretKeyRef"]["key"]], e["name"]
    assert got_env["PLAIN"] == SECRET_HOST["PLAIN"] and got_env["TOKEN"] == SECRET_HOST["TOKEN"]
    # (2) podman: every value and arg as the manifest spells it
    for e in c["env"]:
        if "value" in e:
            assert got_env[e["name"]] == e["value"], e["name"]
    assert args == c["command"][4:]
    # (3) the kubelet's expansion of (2), with what the container got, is the datum's value
    # (a secretKeyRef is not expanded; a value only with the variables defined before it)
    kubelet_env: dict[str, str] = {}
    for e in c["env"]:
        got = got_env[e["name"]]
        kubelet_env[e["name"]] = k8s_expand(got, dict(kubelet_env)) if "value" in e else got
    assert {k: kubelet_env[k] for k in SECRETS_ENV} == SECRETS_ENV
    assert [k8s_expand(a, kubelet_env) for a in args] == SECRETS_ARGV
