"""Target options (issue 15: "Nothing cluster-specific can be set without editing a
datum"): ``-O TARGET.KEY=VALUE`` and the config file's ``[targets.TARGET]`` tables. Each
option changes the output as ``b00tc targets --options`` says, and the output is still
what the orchestrator's own validator accepts; a bad option is E0903, exit 1, nothing
written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
STACK = "examples/llm-inference-pipeline.stack.toml"  # n8n: a Deployment, a Service, a PVC
JOB = "examples/llm-batch-job.job.toml"


def b00tc(*args, config: str | None = None, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if k not in ("B00T_DATUM_PATH", "B00TC_CONFIG")}
    env.update(PYTHONPATH=str(ROOT), B00TC_CONFIG=config or "/nonexistent/b00tc.toml")
    return subprocess.run([sys.executable, "-m", "b00tc", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def k8s_docs(*args, **kw) -> list[dict]:
    r = b00tc("build", STACK, "-t", "k8s", *args, **kw)
    assert r.returncode == 0, r.stderr
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def test_k8s_options_change_every_object_as_documented(tmp_path):
    plain = k8s_docs()
    docs = k8s_docs("-O", "k8s.namespace=ml", "-O", "kubernetes.service_type=NodePort",
                    "-O", "k8s.storage_class=fast-ssd", "-O", "k8s.volume_size=20Gi",
                    "-O", "k8s.image_pull_policy=Always")
    assert [d["kind"] for d in docs] == [d["kind"] for d in plain]
    assert all(d["metadata"]["namespace"] == "ml" for d in docs)
    assert all("namespace" not in d["metadata"] for d in plain)  # unset: kubectl's context decides
    pvc = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == "fast-ssd"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    plain_pvc = next(d for d in plain if d["kind"] == "PersistentVolumeClaim")
    assert "storageClassName" not in plain_pvc["spec"] and plain_pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    svc = next(d for d in docs if d["kind"] == "Service")
    assert svc["spec"]["type"] == "NodePort" and "type" not in next(d for d in plain if d["kind"] == "Service")["spec"]
    dep = next(d for d in docs if d["kind"] == "Deployment")
    assert {c["imagePullPolicy"] for c in dep["spec"]["template"]["spec"]["containers"]} == {"Always"}
    out = tmp_path / "o.yaml"
    out.write_text(yaml.safe_dump_all(docs))
    v = subprocess.run(["kubernetes-validate", "--strict", "-k", "1.30.0", str(out)], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr


def test_nomad_datacenters_and_namespace():
    import hcl2

    def job(*args):
        r = b00tc("build", JOB, "-t", "nomad", *args)
        assert r.returncode == 0, r.stderr
        (body,) = hcl2.loads(r.stdout)["job"][0].values()
        # python-hcl2 keeps a string's quotes
        unq = lambda v: [unq(x) for x in v] if isinstance(v, list) else v.strip('"')  # noqa: E731
        return {k: unq(v) for k, v in body.items() if k in ("datacenters", "namespace")}

    plain = job()
    assert plain["datacenters"] == ["*"] and "namespace" not in plain  # Nomad's own defaults
    body = job("-O", "nomad.datacenters=eu-1, eu-2", "-O", "nomad.namespace=ml")
    assert body["datacenters"] == ["eu-1", "eu-2"] and body["namespace"] == "ml"


def test_the_config_file_sets_options_and_the_command_line_wins(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[targets.k8s]\nnamespace = "from-config"\nservice_type = "LoadBalancer"\n'
                      '[targets.nomad]\ndatacenters = ["a", "b"]\n')
    docs = k8s_docs("-O", "k8s.namespace=from-cli", config=str(config))
    assert {d["metadata"]["namespace"] for d in docs} == {"from-cli"}
    assert next(d for d in docs if d["kind"] == "Service")["spec"]["type"] == "LoadBalancer"
    r = b00tc("build", JOB, "-t", "nomad", config=str(config))
    assert 'datacenters = ["a", "b"]' in r.stdout


@pytest.mark.parametrize("option, message", [
    ("k8s.namespace=Not_A_Label", "not a DNS-1123 label"),
    ("k8s.service_type=ExternalName", "not one of ClusterIP, NodePort, LoadBalancer"),
    ("k8s.volume_size=lots", "not a quantity"),
    ("k8s.nope=1", "target k8s has no option 'nope'"),
    ("helm.namespace=x", "unknown target option 'helm.namespace'"),
    ("namespace=x", "unknown target option 'namespace'"),
    ("k8s.namespace", "needs a value"),
    ("nomad.datacenters=a,,b", "not datacenter names"),
])
def test_a_bad_option_is_E0903_and_nothing_is_written(option, message, tmp_path):
    r = b00tc("build", JOB, "-t", "k8s", "-t", "nomad", "-O", option, "-o", str(tmp_path / "out"))
    assert r.returncode == 1 and "error[E0903]" in r.stderr and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()
    c = b00tc("check", JOB, "-O", option)
    assert c.returncode == 1 and "E0903" in c.stderr


def test_a_config_option_of_the_wrong_type_names_the_config_file(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[targets.k8s]\nnamespace = 3\n")
    r = b00tc("build", JOB, "-t", "k8s", config=str(config))
    assert r.returncode == 1 and "E0903" in r.stderr and f"{config} [targets.k8s]" in r.stderr, r.stderr


def test_the_secret_deploy_writes_is_in_the_option_namespace():
    """The Secret must be in the Job's namespace: a Pod reads Secrets of its own only."""
    from b00tc.backends._envfile import EnvFile
    from b00tc.runtime.orchestrators.kubernetes import secret_manifest

    store = EnvFile("job", "job", [], kind="k8s", namespace="ml")
    assert secret_manifest(store, {"A": "1"})["metadata"]["namespace"] == "ml"
    assert "namespace" not in secret_manifest(store._replace(namespace=""), {"A": "1"})["metadata"]


def test_targets_lists_every_option():
    from b00tc.target_options import OPTIONS

    r = b00tc("targets", "--options")
    assert r.returncode == 0
    for o in OPTIONS:
        assert f"-O {o.target}.{o.key}=" in r.stdout


def test_plan_deploy_and_day_two_take_the_options_too(tmp_path):
    """What deploy applies and where day two looks is what build wrote with the same
    options: ``plan -O k8s.namespace=ml`` writes the namespace into every object and gives
    every kubectl command (apply, and status/logs/down) ``--namespace ml``; ``down`` asks
    there too; Nomad's datacenters reach the jobs deploy runs."""
    import json

    r = b00tc("plan", JOB, "--orchestrator", "kubernetes", "-O", "k8s.namespace=ml", "--format", "json")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert all("namespace: ml" in m["content"] for m in plan["manifests"])
    commands = plan["commands"] + [c for op in plan["day_two"].values() for c in op["commands"]]
    assert commands and all(" --namespace ml" in c for c in commands if c.startswith("kubectl")), commands
    down = b00tc("down", JOB, "--orchestrator", "kubernetes", "-O", "k8s.namespace=ml", "--dry-run")
    assert down.returncode == 0 and "--namespace ml" in down.stdout + down.stderr, down.stderr
    r = b00tc("plan", JOB, "--orchestrator", "nomad", "-O", "nomad.datacenters=eu-1", "--format", "json")
    assert all('datacenters = ["eu-1"]' in m["content"] for m in json.loads(r.stdout)["manifests"])


@pytest.mark.parametrize("command", [["plan", "--orchestrator", "nomad"], ["deploy", "--orchestrator", "nomad", "--dry-run"],
                                     ["status", "--orchestrator", "direct"], ["down", "--orchestrator", "direct", "--dry-run"]])
def test_a_bad_option_stops_every_command_that_compiles(command):
    r = b00tc(command[0], JOB, *command[1:], "-O", "nomad.nope=1")
    assert r.returncode == 1 and "error[E0903]" in r.stderr and "Traceback" not in r.stderr, r.stderr
