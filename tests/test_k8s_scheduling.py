"""Issue 15, "output that works on a real cluster": where the k8s backend's pods may run.

Each test evaluates the generated selectors the way the scheduler does (nodeSelector and
required nodeAffinity against node labels, a podAffinity labelSelector against other pods'
labels), not by comparing strings, and every output passes
``kubernetes-validate --strict -k 1.30.0``.

The node labels are those NVIDIA GPU Feature Discovery (GFD) writes. Its README ("Generated
Labels", NVIDIA/k8s-device-plugin docs/gpu-feature-discovery/README.md) lists
``nvidia.com/gpu.product`` (model of the GPU), ``nvidia.com/gpu.family`` (architecture),
``nvidia.com/gpu.memory`` (MiB); its source (internal/lm/resource.go) makes the product
value from the NVML device name with spaces turned into ``-`` (``NVIDIA A100-SXM4-80GB`` ->
``NVIDIA-A100-SXM4-80GB``, ``Tesla T4`` -> ``Tesla-T4``), appends ``-SHARED`` when the
device plugin time-slices the GPU, and derives the family from the CUDA compute major
version alone: every 8.x GPU is ``ampere``, so an A100 (8.0), an A10G (8.6) and an L4 (8.9)
all carry ``nvidia.com/gpu.family: ampere``. The family therefore cannot pick an A100; the
product can, but only as one of the exact strings GFD writes. b00tc maps a datum's model
(``nvidia-a100`` -> ``a100``) to those strings and selects with ``In``.

AMD's node labeller (RadeonOpenCompute k8s-device-plugin, cmd/k8s-node-labeller) writes
device ids, VRAM, compute-unit counts and two-letter family codes, not model names, and
Intel's GPU NFD hook likewise: an AMD or Intel gpu_type, like an NVIDIA model b00tc has no
products for, requests the GPU count only, with W0301 naming ``-O k8s.gpu_label``.

Kueue: for its built-in integrations a workload without ``kueue.x-k8s.io/queue-name`` gets
the namespace's LocalQueue ``default`` only where the LocalQueueDefaulting feature is on and
that LocalQueue exists; b00tc never writes a name the cluster may not have.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from b00tc.backends._options import defaults
from b00tc.compiler import BuildRequest, build
from tests.helpers import rendered

# Nodes as GFD labels them (values from its README and resource.go; memory in MiB as NVML
# reports it).
A100_SXM = {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu.family": "ampere",
            "nvidia.com/gpu.memory": "81920", "nvidia.com/gpu.count": "8"}
A100_PCIE = {"nvidia.com/gpu.product": "NVIDIA-A100-80GB-PCIe", "nvidia.com/gpu.family": "ampere",
             "nvidia.com/gpu.memory": "81920", "nvidia.com/gpu.count": "2"}
A100_SLICED = {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB-SHARED",
               "nvidia.com/gpu.family": "ampere", "nvidia.com/gpu.replicas": "4"}
A10G = {"nvidia.com/gpu.product": "NVIDIA-A10G", "nvidia.com/gpu.family": "ampere",
        "nvidia.com/gpu.memory": "23028"}
L4 = {"nvidia.com/gpu.product": "NVIDIA-L4", "nvidia.com/gpu.family": "ampere",
      "nvidia.com/gpu.memory": "23034"}
T4 = {"nvidia.com/gpu.product": "Tesla-T4", "nvidia.com/gpu.family": "turing",
      "nvidia.com/gpu.memory": "15360"}
H100 = {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.family": "hopper"}
GKE_A100 = {"cloud.google.com/gke-accelerator": "nvidia-tesla-a100"}
NODES = {"a100-sxm": A100_SXM, "a100-pcie": A100_PCIE, "a100-sliced": A100_SLICED,
         "a10g": A10G, "l4": L4, "t4": T4, "h100": H100, "gke-a100": GKE_A100}


def job_toml(name: str, resources: str = "", orchestration: str = "") -> str:
    return (f'[b00t]\nname = "{name}"\ntype = "job"\n\n[b00t.container]\nimage = "busybox:1.36"\n'
            f'command = ["true"]\n\n[b00t.resources]\n{resources}\n[b00t.orchestration]\n{orchestration}\n')


def build_k8s(paths=(), texts=(), **options):
    opts = defaults("k8s")
    opts.update(options)
    result = build(BuildRequest(paths=list(paths), texts=list(texts), targets=["k8s"],
                                host_env={}, target_options={"k8s": opts}))
    assert result.ok, rendered(result)
    docs = [d for _, f in result.outputs for d in yaml.safe_load_all(f.content) if d]
    return docs, result


def job_of(docs) -> dict:
    return next(d for d in docs if d["kind"] == "Job")


def pod_template(doc: dict) -> dict:
    return doc["spec"]["template"]


def validate(docs, tmp_path) -> None:
    out = tmp_path / "out.yaml"
    out.write_text(yaml.safe_dump_all(docs))
    v = subprocess.run(["kubernetes-validate", "--strict", "-k", "1.30.0", str(out)],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr


# -- the scheduler's own matching rules ---------------------------------------------------


def node_requirement_holds(expr: dict, labels: dict) -> bool:
    """A NodeSelectorRequirement (k8s.io/api core/v1; In, NotIn, Exists, DoesNotExist, Gt,
    Lt: Gt and Lt compare the label as an integer)."""
    key, op, values = expr["key"], expr["operator"], expr.get("values", [])
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt"):
        if key not in labels:
            return False
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    raise AssertionError(f"unknown operator {op}")


def schedulable_on(pod_spec: dict, labels: dict) -> bool:
    """nodeSelector (every pair) AND required nodeAffinity (any term, each term's every
    expression): what the scheduler's NodeAffinity filter checks."""
    if any(labels.get(k) != v for k, v in pod_spec.get("nodeSelector", {}).items()):
        return False
    required = (pod_spec.get("affinity", {}).get("nodeAffinity", {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(all(node_requirement_holds(e, labels) for e in term.get("matchExpressions", []))
               for term in required["nodeSelectorTerms"])


def selector_matches(selector: dict, labels: dict) -> bool:
    """A metav1.LabelSelector: matchLabels AND matchExpressions (In, NotIn, Exists,
    DoesNotExist); an empty selector matches everything."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        key, op, values = e["key"], e["operator"], e.get("values", [])
        ok = {"In": key in labels and labels.get(key) in values,
              "NotIn": key not in labels or labels[key] not in values,
              "Exists": key in labels,
              "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def affinity_selectors(pod_spec: dict) -> list[dict]:
    pod_affinity = pod_spec.get("affinity", {}).get("podAffinity", {})
    terms = [t["podAffinityTerm"] for t in
             pod_affinity.get("preferredDuringSchedulingIgnoredDuringExecution", [])]
    terms += pod_affinity.get("requiredDuringSchedulingIgnoredDuringExecution", [])
    return [t["labelSelector"] for t in terms]


def nodes_for(pod_spec: dict) -> set[str]:
    return {name for name, labels in NODES.items() if schedulable_on(pod_spec, labels)}


# -- 1. GPU model selection ------------------------------------------------------------------


def test_a100_job_schedules_on_gfd_a100_nodes_only(tmp_path):
    """The architecture.md job (gpu_type = "nvidia-a100", gpu_shared = true) may run on
    every GFD-labelled A100 node, time-sliced ones included, and on no other GPU; the
    family label would also admit the A10G and the L4 (both ``ampere``). The datum's value
    stays in the ``b00t.io/gpu-type`` annotation."""
    docs, _ = build_k8s(["examples/llm-batch-job.job.toml", "examples/llm-inference-pipeline.stack.toml"])
    job = job_of(docs)
    assert nodes_for(pod_template(job)["spec"]) == {"a100-sxm", "a100-pcie", "a100-sliced"}
    assert job["metadata"]["annotations"]["b00t.io/gpu-type"] == "nvidia-a100"
    validate(docs, tmp_path)


@pytest.mark.parametrize("gpu_type, shared, nodes", [
    ("nvidia-a100", "false", {"a100-sxm", "a100-pcie"}),  # a time-sliced GPU is shared
    ("nvidia-a100", "true", {"a100-sxm", "a100-pcie", "a100-sliced"}),
    ("nvidia-l4", "false", {"l4"}),
    ("nvidia-t4", "false", {"t4"}),
    ("a10g", "false", {"a10g"}),  # vendor left out: nvidia
    ("nvidia-h100", "false", {"h100"}),
])
def test_gpu_model_maps_to_gfd_products(gpu_type, shared, nodes, tmp_path):
    text = job_toml("g", f'gpu_count = 1\ngpu_type = "{gpu_type}"\ngpu_shared = {shared}\n')
    docs, result = build_k8s(texts=[("g.job.toml", text)])
    assert nodes_for(pod_template(job_of(docs))["spec"]) == nodes
    assert not list(result.diags)
    validate(docs, tmp_path)


def test_gpu_label_option_selects_the_value_as_written(tmp_path):
    """-O k8s.gpu_label=KEY: a label b00tc knows no values for, so the datum's gpu_type is
    the value (GKE's accelerator label holds such names)."""
    text = job_toml("g", 'gpu_count = 1\ngpu_type = "nvidia-tesla-a100"\n')
    docs, result = build_k8s(texts=[("g.job.toml", text)], gpu_label="cloud.google.com/gke-accelerator")
    assert nodes_for(pod_template(job_of(docs))["spec"]) == {"gke-a100"}
    assert not list(result.diags)
    validate(docs, tmp_path)


@pytest.mark.parametrize("gpu_type, resource", [
    ("nvidia-rtx-9999", "nvidia.com/gpu"),  # a model b00tc has no GFD products for
    ("amd-mi300x", "amd.com/gpu"),  # AMD's node labeller writes device ids, not models
    ("intel-max-1550", "gpu.intel.com/i915"),
])
def test_gpu_type_without_known_node_values_requests_the_count_and_warns(gpu_type, resource, tmp_path):
    """No node carries a value b00tc could name: the pod requests the GPUs only (the
    device plugin still puts it on a node with that vendor's GPUs) and W0301 says the
    model is not selected, with the way to select it."""
    text = job_toml("g", f'gpu_count = 2\ngpu_type = "{gpu_type}"\n')
    docs, result = build_k8s(texts=[("g.job.toml", text)])
    pod = pod_template(job_of(docs))["spec"]
    assert pod["containers"][0]["resources"] == {"limits": {resource: "2"}}
    assert nodes_for(pod) == set(NODES)  # no node constraint at all
    diags = list(result.diags)
    assert [d.code for d in diags] == ["W0301"]
    assert gpu_type in diags[0].message and "k8s.gpu_label" in diags[0].help
    validate(docs, tmp_path)


# -- 2. queues -------------------------------------------------------------------------------


def test_queue_based_without_a_name_invents_no_queue(tmp_path):
    """No LocalQueue name is invented: without queue_name the Job carries no
    kueue.x-k8s.io/queue-name label (Kueue's LocalQueueDefaulting then applies, if on)
    and W0301 says so; a named queue is labelled as before."""
    docs, result = build_k8s(texts=[("q.job.toml", job_toml("q", "", 'schedule_type = "queue_based"\n'))])
    job = job_of(docs)
    assert "kueue.x-k8s.io/queue-name" not in job["metadata"]["labels"]
    assert "b00t.io/queue-name" not in job["metadata"].get("annotations", {})
    diags = list(result.diags)
    assert [d.code for d in diags] == ["W0301"]
    assert "LocalQueueDefaulting" in diags[0].message and "queue_name" in diags[0].help
    validate(docs, tmp_path)
    named = job_toml("q", "", 'schedule_type = "queue_based"\nqueue_name = "gpu-queue"\n')
    docs, result = build_k8s(texts=[("q.job.toml", named)])
    assert job_of(docs)["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "gpu-queue"
    assert not list(result.diags)


def test_queue_based_stack_without_a_name_invents_no_queue(tmp_path):
    stack = ('[b00t]\nname = "s"\ntype = "stack"\nmembers = ["a.docker", "b.docker"]\n\n'
             '[b00t.orchestration]\nschedule_type = "queue_based"\n')
    member = '[b00t]\nname = "{0}"\ntype = "docker"\nimage = "busybox:1.36"\n'
    (tmp_path / "s.stack.toml").write_text(stack)
    for name in "ab":
        (tmp_path / f"{name}.docker.toml").write_text(member.format(name))
    docs, result = build_k8s([str(tmp_path / "s.stack.toml")])
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert len(deployments) == 2
    assert all("kueue.x-k8s.io/queue-name" not in d["metadata"]["labels"] for d in deployments)
    assert [d.code for d in result.diags] == ["W0301"]  # once for the stack
    validate(docs, tmp_path)


def test_compose_invents_no_queue_name():
    result = build(BuildRequest(paths=[], texts=[("q.job.toml", job_toml("q", "", 'schedule_type = "queue_based"\n'))],
                                targets=["compose"], host_env={}))
    assert result.ok, rendered(result)
    (doc,) = [yaml.safe_load(f.content) for _, f in result.outputs]
    assert "b00t.io/queue-name" not in doc["services"]["q"]["labels"]


# -- 3. GPU affinity -------------------------------------------------------------------------


def pods(docs) -> list[tuple[str, dict]]:
    return [(d["metadata"]["name"], pod_template(d)) for d in docs if d["kind"] in ("Job", "Deployment")]


@pytest.mark.parametrize("key", ["batch_group", "gpu_affinity"])
def test_job_and_stack_of_one_gpu_group_select_each_other(key, tmp_path):
    """architecture.md's pair: the job's batch_group "llama-70b" and the stack's
    gpu_affinity "llama-70b" name one group (b00t's own legacy shape calls the stack's
    ``gpu_batch_group``). Each side's podAffinity selector matches the other side's pod
    labels, so the job prefers the inference stack's node and the stack the job's."""
    job = job_toml("batch", 'gpu_count = 1\ngpu_type = "nvidia-a100"\n', f'{key} = "llama-70b"\n')
    docs, _ = build_k8s(["examples/llm-inference-pipeline.stack.toml"], texts=[("batch.job.toml", job)])
    by_name = dict(pods(docs))
    job_pod, stack_pod = by_name["batch"], by_name["n8n"]
    (job_sel,) = affinity_selectors(job_pod["spec"])
    (stack_sel,) = affinity_selectors(stack_pod["spec"])
    assert selector_matches(stack_sel, job_pod["metadata"]["labels"])
    assert selector_matches(job_sel, stack_pod["metadata"]["labels"])
    validate(docs, tmp_path)


def test_other_groups_do_not_match():
    job = job_toml("batch", "", 'batch_group = "other"\n')
    docs, _ = build_k8s(["examples/llm-inference-pipeline.stack.toml"], texts=[("batch.job.toml", job)])
    by_name = dict(pods(docs))
    (stack_sel,) = affinity_selectors(by_name["n8n"]["spec"])
    (job_sel,) = affinity_selectors(by_name["batch"]["spec"])
    assert not selector_matches(stack_sel, by_name["batch"]["metadata"]["labels"])
    assert not selector_matches(job_sel, by_name["n8n"]["metadata"]["labels"])


def test_example_pair_matches(tmp_path):
    """The examples themselves, built together as a user would."""
    docs, _ = build_k8s(["examples/llm-batch-job.job.toml", "examples/llm-inference-pipeline.stack.toml"])
    by_name = dict(pods(docs))
    (stack_sel,) = affinity_selectors(by_name["n8n"]["spec"])
    assert selector_matches(stack_sel, by_name["llm-batch-job"]["metadata"]["labels"])
