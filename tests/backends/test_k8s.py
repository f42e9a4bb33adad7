"""The k8s backend, judged by kubernetes-validate (1.25 and 1.33 schemas, strict), by the
checks that schema cannot make (names, ports, selectors), by PyYAML reading the output back
and by Kubernetes' own dependent-variable expansion algorithm applied to what it read."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time

import kubernetes_validate
import msgspec
import pytest
import yaml

from b00tc.backends import get_backend
from b00tc.backends._context import Context
from b00tc.backends._options import defaults
from b00tc.backends.k8s import K8sBackend, cpu_quantity, escape_expansion, memory_quantity
from b00tc.ir import (
    Annotation,
    Container,
    EnvVar,
    Gpu,
    HostVar,
    Job,
    Lit,
    Member,
    Mount,
    Orchestration,
    Resources,
    Stack,
    Unit,
    Value,
    WaitFor,
    lit,
)
from tests.backends import ir_fixtures as fx
from tests.backends.ir_fixtures import (
    GiB,
    deps_job,
    gpu_job,
    pipeline_stack,
    redis_member,
    ref,
    small_job,
)

VERSIONS = ("1.25", "1.33")  # the oldest schema kubernetes-validate ships, and current

# ---------------------------------------------------------------------------
# IR fixtures: built by hand in ir_fixtures.py, taken as they are; hostile_job over these strings

# Strings that some layer between the datum and the process could take for syntax.
HOSTILE = [
    "$", "end$", "$$", "$$$", "${", "${HOME}", "$HOME", "$(x)", "$(HOME)", "$$(HOME)",
    "$$$(x)", "$(unterminated", "$((1+2))", "%", "%{x}", "%%", "{{ .x }}", '"', "'",
    "back\\slash\\", "\\$(x)", "two\nlines", "trailing newline\n", "tab\there", " lead",
    "trail ", "yes", "no", "on", "null", "~", "0x1F", "1e3", "0o17", "12:30", "-", "",
    "héllo", "$é", "$(é)", "日本$(語)", "\u2028", "a: b", "#not a comment", "- item",
]

# Variables the expansion knows: every name a hostile string could spell.
DEFINED = {"x": "EXPANDED-x", "HOME": "EXPANDED-HOME", "é": "EXPANDED-é", "語": "EXPANDED-語",
           "unterminated": "EXPANDED-u", "(1+2": "EXPANDED-arith"}


def hostile_job() -> Job:
    return fx.hostile_job(HOSTILE)


def render(datum, annotations=(), **ctx_kw) -> tuple[str, list[dict], Context]:
    ctx = Context(target="k8s", **ctx_kw)
    files = K8sBackend().render(Unit(datum=datum, annotations=annotations), ctx)
    assert len(files) == 1
    text = files[0].content
    return text, list(yaml.safe_load_all(text)), ctx


def warnings(ctx: Context) -> list[tuple[str, str]]:
    return [(d.code, d.path) for d in ctx.diagnostics]


# ---------------------------------------------------------------------------
# Kubernetes' dependent-variable expansion, from
# k8s.io/kubernetes third_party/forked/golang/expansion/expand.go (current: rune-aware).
# ``byte_wise`` reproduces the releases before the UTF-8 fix, which read one byte after `$`
# and turned it into a rune (Go's string(byte)).


def k8s_expand(text: str, mapping: dict[str, str], byte_wise: bool = False) -> str:
    data = text.encode()
    out = bytearray()
    checkpoint = 0
    cursor = 0
    while cursor < len(data):
        if data[cursor] == ord("$") and cursor + 1 < len(data):
            out += data[checkpoint:cursor]
            read, is_var, advance = _read_name(data[cursor + 1:], byte_wise)
            if is_var:
                name = read.decode(errors="surrogateescape")
                out += mapping[name].encode() if name in mapping else b"$(" + read + b")"
            else:
                out += read
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return (bytes(out) + data[checkpoint:]).decode(errors="replace")


def _read_name(rest: bytes, byte_wise: bool) -> tuple[bytes, bool, int]:
    if byte_wise:
        first, size = chr(rest[0]).encode(), 1
    else:
        size = _rune_size(rest)
        first = rest[:size]
    if rest[:1] == b"$":
        return b"$", False, 1
    if rest[:1] == b"(":
        for i in range(1, len(rest)):
            if rest[i:i + 1] == b")":
                return rest[1:i], True, i + 1
        return b"$(", False, 1
    return b"$" + first, False, size


def _rune_size(b: bytes) -> int:
    lead = b[0]
    return 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


#: the env names b00tc defines from a Secret (b00tc.backends._k8s_secret.PREFIX)
OWN_PREFIX = "B00T_"


def kubelet_view(c: dict, secrets: dict[str, dict[str, str]], mapping: dict, byte_wise: bool = False,
                 own: bool = False) -> tuple[list[str], dict[str, str]]:
    """What the kubelet gives a container's process: the env in list order, a ``value``
    expanded with ``mapping`` (what else the kubelet knows: service links) and the
    variables defined before it, a ``secretKeyRef`` read from ``secrets`` (Secret name ->
    key -> value, as deploy creates them; a missing one fails the container's start); then
    command + args expanded with the whole env. b00tc's own ``B00T_`` names read from a
    Secret are left out of the env returned unless ``own``."""
    env: dict[str, str] = {}
    ours: set[str] = set()
    for e in c.get("env", []):
        if "valueFrom" in e:
            ref = e["valueFrom"]["secretKeyRef"]
            data = secrets.get(ref["name"], {})
            assert ref["key"] in data, f"the Secret {ref['name']} has no key {ref['key']} ({e['name']})"
            env[e["name"]] = data[ref["key"]]
            if e["name"].startswith(OWN_PREFIX):
                ours.add(e["name"])
        else:
            assert isinstance(e["value"], str), e
            env[e["name"]] = k8s_expand(e["value"], {**mapping, **env}, byte_wise=byte_wise)
    full = {**mapping, **env}
    argv = []
    for a in c.get("command", []) + c.get("args", []):
        assert isinstance(a, str), a
        argv.append(k8s_expand(a, full, byte_wise=byte_wise))
    return argv, {k: v for k, v in env.items() if own or k not in ours}


def k8s_secrets(stores, host_env: dict[str, str]) -> dict[str, dict[str, str]]:
    """The build's k8s Secrets (``EnvFile`` of kind k8s) resolved as deploy resolves them."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_store

    out = {}
    for store in stores:
        if store.kind == "k8s":
            diags = Diagnostics()
            values = resolve_store(store, host_env, diags)
            assert values is not None, [d.message for d in diags]
            out[store.path] = values
    return out


def test_reference_expansion_matches_upstream_cases():
    """A few of upstream's expand_test.go cases: the reference is only a witness if it
    expands like the kubelet does."""
    m = {"VAR_A": "A", "VAR_B": "B"}
    cases = {
        "$$(VAR_B)_$(VAR_A)": "$(VAR_B)_A",
        "f000-$$VAR_A": "f000-$VAR_A",
        "$$$$$$(BIG_MONEY)": "$$$(BIG_MONEY)",
        "$$$$$$$(VAR_A)": "$$$A",
        "$(VAR_DNE)": "$(VAR_DNE)",
        "foo$(VAR_Awhoops!": "foo$(VAR_Awhoops!",
        "$(VAR_A)foobarzab$": "Afoobarzab$",
        "--$($($($($--": "--$($($($($--",
        "${VAR_A}": "${VAR_A}",
    }
    for given, expected in cases.items():
        assert k8s_expand(given, m) == expected, given


# ---------------------------------------------------------------------------
# Validation: the schema and what the schema cannot see

DNS_1123_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")
DNS_1035_LABEL = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def check_manifests(docs: list[dict]) -> None:
    """Rules the API server enforces but the JSON schema does not."""
    pod_label_sets = []
    for doc in docs:
        name = doc["metadata"]["name"]
        pattern = DNS_1035_LABEL if doc["kind"] == "Service" else DNS_1123_LABEL
        assert pattern.match(name), name
        for value in doc["metadata"].get("labels", {}).values():
            assert LABEL_VALUE.match(value), value
        if doc["kind"] in ("Job", "Deployment"):
            template = doc["spec"]["template"]
            pod = template["spec"]
            for value in template["metadata"]["labels"].values():
                assert LABEL_VALUE.match(value), value
            containers = pod.get("initContainers", []) + pod["containers"]
            names = [c["name"] for c in containers]
            assert len(names) == len(set(names))
            assert all(DNS_1123_LABEL.match(n) for n in names), names
            for c in containers:
                for p in c.get("ports", []):
                    assert 1 <= p["containerPort"] <= 65535
                limits = c.get("resources", {}).get("limits", {})
                requests = c.get("resources", {}).get("requests", {})
                for key in ("nvidia.com/gpu", "amd.com/gpu"):
                    assert key not in requests or requests[key] == limits[key]
            volumes = [v["name"] for v in pod.get("volumes", [])]
            assert len(volumes) == len(set(volumes))
            for c in pod["containers"]:
                for vm in c.get("volumeMounts", []):
                    assert vm["name"] in volumes
        if doc["kind"] == "Job":
            assert doc["spec"]["template"]["spec"]["restartPolicy"] == "Never"
            assert doc["spec"]["backoffLimit"] == 0
        if doc["kind"] == "Deployment":
            selector = doc["spec"]["selector"]["matchLabels"]
            pod_labels = doc["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= pod_labels.items()
            pod_label_sets.append(pod_labels)
    for doc in docs:
        if doc["kind"] == "Service":
            selector = doc["spec"]["selector"]
            assert any(selector.items() <= labels.items() for labels in pod_label_sets), selector
            ports = doc["spec"]["ports"]
            assert all(1 <= p["port"] <= 65535 and 1 <= p["targetPort"] <= 65535 for p in ports)
            assert len({p["name"] for p in ports}) == len(ports)
            assert len({(p["port"], p["protocol"]) for p in ports}) == len(ports)
            assert all(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", p["name"]) and
                       len(p["name"]) <= 15 for p in ports)


CASES = {
    "small": small_job,
    "gpu": gpu_job,
    "deps": deps_job,
    "stack": pipeline_stack,
    "hostile": hostile_job,
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_validates(case, version):
    _, docs, _ = render(CASES[case]())
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)
    check_manifests(docs)


def test_the_checks_can_fail():
    """The own checks reject what the schema lets through: a selector that matches no pod
    and an out-of-range port (kubernetes-validate passes both)."""
    _, docs, _ = render(pipeline_stack())
    svc = next(d for d in docs if d["kind"] == "Service")
    svc["spec"]["selector"] = {"app.kubernetes.io/name": "nobody"}
    kubernetes_validate.validate(svc, "1.33", strict=True)
    with pytest.raises(AssertionError):
        check_manifests(docs)
    _, docs, _ = render(pipeline_stack())
    dep = next(d for d in docs if d["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 99999
    with pytest.raises(AssertionError):
        check_manifests(docs)


def test_strict_schema_rejects_unknown_fields():
    """strict=True is what makes the validation above meaningful for typos."""
    _, docs, _ = render(small_job())
    docs[0]["spec"]["template"]["spec"]["restartPolcy"] = "Never"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(docs[0], "1.33", strict=True)


# ---------------------------------------------------------------------------
# File shape


def test_file_name_header_and_determinism():
    job = gpu_job()
    a = K8sBackend().render(Unit(datum=job), Context(target="k8s"))
    b = K8sBackend().render(Unit(datum=job), Context(target="k8s"))
    assert a == b
    (out,) = a
    assert out.path == "llm-batch-job.yaml"
    # basename only: the absolute folder of the datum must not leak into the output
    assert out.content.startswith(
        "# Generated by b00tc from llm-batch-job.job.toml. Do not edit.\n---\n")
    assert "/abs/path" not in out.content
    assert out.content.endswith("\n") and not out.content.endswith("\n\n")
    assert "\r" not in out.content
    assert out.mode == 0o644


def test_registry_finds_backend_by_alias():
    backend = get_backend("kubernetes")
    assert isinstance(backend, K8sBackend)
    assert backend.name == "k8s" and backend.aliases == ("kubernetes",)
    assert backend.KEEPS_HOST_VARS is False


# ---------------------------------------------------------------------------
# Job


def test_small_job_shape():
    """command overrides ENTRYPOINT, args the CMD: the k8s meaning b00tc's IR uses."""
    _, (doc,), ctx = render(small_job())
    assert doc["apiVersion"] == "batch/v1" and doc["kind"] == "Job"
    labels = {
        "app.kubernetes.io/name": "hello",
        "app.kubernetes.io/managed-by": "b00tc",
        "b00t.io/datum": "hello.job",
    }
    assert doc["metadata"]["labels"] == labels
    assert doc["spec"]["template"]["metadata"]["labels"] == labels
    pod = doc["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"] == [
        {"name": "hello", "image": "busybox:1.36", "command": ["echo"], "args": ["hi"]}
    ]
    assert "annotations" not in doc["metadata"]
    assert ctx.diagnostics == []


def test_gpu_job_resources_queue_and_annotations():
    annotations = (Annotation(key="budget-daily-limit", value="50.0"),
                   Annotation(key="on-budget-exceeded", value="defer"))
    _, (doc,), ctx = render(gpu_job(), annotations)
    meta = doc["metadata"]
    assert meta["labels"]["kueue.x-k8s.io/queue-name"] == "gpu-queue"
    assert meta["labels"]["b00t.io/batch-group"] == "llama-70b"
    assert "kueue.x-k8s.io/queue-name" not in doc["spec"]["template"]["metadata"]["labels"]
    assert "suspend" not in doc["spec"]  # Kueue's webhook suspends the Job itself
    assert meta["annotations"] == {
        "b00t.io/budget-daily-limit": "50.0",
        "b00t.io/on-budget-exceeded": "defer",
        "b00t.io/gpu-shared": "true",
    }
    pod = doc["spec"]["template"]["spec"]
    # GFD's product label, In the A100 products (and their time-sliced forms: gpu_shared);
    # tests/test_k8s_scheduling.py matches it against GFD-labelled nodes
    (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"]
    (expr,) = term["matchExpressions"]
    assert expr["key"] == "nvidia.com/gpu.product" and expr["operator"] == "In"
    assert "NVIDIA-A100-SXM4-80GB" in expr["values"] and "NVIDIA-A100-SXM4-80GB-SHARED" in expr["values"]
    assert "nodeSelector" not in pod
    res = pod["containers"][0]["resources"]
    assert res == {
        "requests": {"cpu": "2", "memory": "8Gi"},
        "limits": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"},
    }
    assert pod["containers"][0]["env"] == [{"name": "BATCH_SIZE", "value": "32"}]
    assert ctx.diagnostics == []


def test_queue_without_name_invents_no_queue():
    """No LocalQueue name is invented (one that does not exist would hold the Job
    suspended): Kueue's own defaulting applies, and W0301 says so."""
    job = small_job(orchestration=Orchestration(schedule_type="queue_based", path="$.o"))
    _, (doc,), ctx = render(job)
    assert "kueue.x-k8s.io/queue-name" not in doc["metadata"]["labels"]
    assert warnings(ctx) == [("W0301", "$.o")]
    job = small_job(orchestration=Orchestration(schedule_type="budget_aware", queue_name="q"))
    _, (doc,), _ = render(job)
    assert "kueue.x-k8s.io/queue-name" not in doc["metadata"]["labels"]


def test_batch_group_that_cannot_be_a_label_is_an_annotation():
    job = small_job(orchestration=Orchestration(batch_group="llama 70b / q4"))
    _, (doc,), ctx = render(job)
    assert "b00t.io/batch-group" not in doc["metadata"]["labels"]
    assert doc["metadata"]["annotations"]["b00t.io/batch-group"] == "llama 70b / q4"
    kubernetes_validate.validate(doc, "1.33", strict=True)
    check_manifests([doc])


@pytest.mark.parametrize(
    "vendor, resource", [("nvidia", "nvidia.com/gpu"), ("amd", "amd.com/gpu"),
                         ("intel", "gpu.intel.com/i915")]
)
def test_gpu_vendor_resource(vendor, resource):
    job = small_job(resources=Resources(gpu=Gpu(count=2, vendor=vendor)))
    _, (doc,), ctx = render(job)
    res = doc["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert res == {"limits": {resource: "2"}}
    assert "nodeSelector" not in doc["spec"]["template"]["spec"]  # no gpu_type written
    assert ctx.diagnostics == []


def test_gpu_memory_cannot_be_expressed():
    job = small_job(resources=Resources(gpu=Gpu(count=1, memory_bytes=48 * GiB, path="$.g")))
    _, _, ctx = render(job)
    assert warnings(ctx) == [("W0301", "$.g")]
    assert "48Gi" in ctx.diagnostics[0].message
    gpu = Gpu(count=1, memory_bytes=48 * GiB, memory="48 GiB?", path="$.g", memory_path="$.m")
    _, _, ctx = render(small_job(resources=Resources(gpu=gpu)))
    assert warnings(ctx) == [("W0301", "$.m")]
    assert "(48 GiB?)" in ctx.diagnostics[0].message


def test_gpu_type_that_cannot_be_a_label():
    """On a label b00tc knows no values for (-O k8s.gpu_label) gpu_type is the value; one
    that cannot be a label value is kept as an annotation."""
    gpu = Gpu(count=1, type="NVIDIA A100 (80GB)", path="$.g", type_path="$.t")
    options = {**defaults("k8s"), "gpu_label": "example.com/gpu"}
    _, (doc,), ctx = render(small_job(resources=Resources(gpu=gpu)), options=options)
    assert "affinity" not in doc["spec"]["template"]["spec"]
    assert doc["metadata"]["annotations"] == {"b00t.io/gpu-type": "NVIDIA A100 (80GB)"}
    assert warnings(ctx) == [("W0301", "$.t")]
    kubernetes_validate.validate(doc, "1.33", strict=True)


def test_job_gpu_affinity_prefers_the_groups_node():
    job = small_job(orchestration=Orchestration(gpu_affinity="llama-70b"))
    _, (doc,), _ = render(job)
    pod = doc["spec"]["template"]
    assert pod["metadata"]["labels"]["b00t.io/gpu-affinity"] == "llama-70b"
    term = pod["spec"]["affinity"]["podAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["weight"] == 100
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == {
        "b00t.io/gpu-affinity": "llama-70b"}
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


@pytest.mark.parametrize(
    "millis, text", [(2000, "2"), (1000, "1"), (500, "500m"), (1500, "1500m"), (1, "1m"),
                     (64000, "64")]
)
def test_cpu_quantity(millis, text):
    assert cpu_quantity(millis) == text
    assert parse_quantity(text) * 1000 == millis


@pytest.mark.parametrize(
    "n, text", [(8 * GiB, "8Gi"), (512 * 2**20, "512Mi"), (1536 * 2**20, "1536Mi"),
                (1024, "1Ki"), (123, "123"), (1000, "1000"), (2**40, "1Ti"), (3 * 2**50, "3Pi"),
                (2**60, "1Ei"), (GiB + 1, str(GiB + 1))]
)
def test_memory_quantity_is_exact(n, text):
    assert memory_quantity(n) == text
    assert parse_quantity(text) == n


def parse_quantity(text: str):
    """Kubernetes' quantity suffixes (resource.Quantity), enough to check exactness."""
    from fractions import Fraction

    suffixes = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
                "m": Fraction(1, 1000), "": 1}
    m = re.fullmatch(r"([0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|)", text)
    assert m, text
    return int(m.group(1)) * suffixes[m.group(2)]


# ---------------------------------------------------------------------------
# References and waits


def test_references_become_service_dns_names():
    """The Service named after the stack service exists in the stack's own output, so
    its DNS name and the service port reach it."""
    _, (doc,), ctx = render(deps_job())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {
        "MODEL_ENDPOINT": "http://n8n:5678",
        "CACHE": "redis://cache:6379/0",
        "PROTO": "http",
    }
    assert container["command"] == ["sh", "-c"]
    assert container["args"] == ["wget -qO- http://n8n:5678"]
    assert doc["metadata"]["annotations"] == {"b00t.io/requires-stacks": "llm-inference-pipeline"}
    # only the job: the stack is deployed from its own datum
    assert [d["kind"] for d in [doc]] == ["Job"]
    assert ctx.diagnostics == []


def test_waits_are_init_containers():
    _, (doc,), _ = render(deps_job(), helper_image="registry.local/busybox:1.36",
                          wait_timeout=42)
    init = doc["spec"]["template"]["spec"]["initContainers"]
    assert [c["name"] for c in init] == ["wait-for-n8n", "wait-for-cache"]
    for c, (host, port) in zip(init, [("n8n", 5678), ("cache", 6379)]):
        assert c["image"] == "registry.local/busybox:1.36"
        assert c["command"][:2] == ["sh", "-c"]
        script = c["command"][2]
        assert f"nc -z -w 2 {host} {port}" in script
        assert "+ 42`" in script and "within 42s" in script
        # nothing in the script is Kubernetes expansion syntax: it runs as written
        assert k8s_expand(script, DEFINED) == script


def test_wait_for_a_service_without_member_warns():
    job = deps_job()
    import msgspec

    job = msgspec.structs.replace(job, wait_for=(
        WaitFor(stack="llm-inference-pipeline", service="python", port=8000,
                path="$.b00t.dependencies.wait_for_services[0]"),))
    _, (doc,), ctx = render(job)
    assert warnings(ctx) == [("W0103", "$.b00t.dependencies.wait_for_services[0]")]
    assert doc["spec"]["template"]["spec"]["initContainers"][0]["name"] == "wait-for-python"


def _fake_nc(tmp_path, exit_code: int) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nc = bin_dir / "nc"
    nc.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/nc.log"\nexit {exit_code}\n')
    nc.chmod(nc.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


@pytest.mark.parametrize("reachable", [True, False])
def test_wait_script_runs_and_is_bounded(tmp_path, reachable):
    """The initContainer's command, as the kubelet would expand it, run by /bin/sh with a
    stand-in nc: it returns at once when the port answers and fails with a clear message
    once wait_timeout has passed when it does not."""
    _, (doc,), _ = render(deps_job(), wait_timeout=1)
    argv = [k8s_expand(a, DEFINED) for a in
            doc["spec"]["template"]["spec"]["initContainers"][0]["command"]]
    env = _fake_nc(tmp_path, 0 if reachable else 1)
    start = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - start
    assert (tmp_path / "nc.log").read_text().splitlines()[0] == "-z -w 2 n8n 5678"
    if reachable:
        assert proc.returncode == 0 and "n8n:5678 is up" in proc.stdout
    else:
        assert proc.returncode == 1
        assert "n8n:5678 did not accept connections within 1s" in proc.stderr
        assert elapsed < 10


# ---------------------------------------------------------------------------
# Literals and host variables


def test_hostile_literals_round_trip():
    """Read back with PyYAML, then expanded the way the kubelet expands env values and
    args, with every name the strings spell defined: each literal survives."""
    _, (doc,), ctx = render(hostile_job())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    for i, s in enumerate(HOSTILE):
        assert k8s_expand(env[f"V{i}"], DEFINED) == s, repr(s)
        assert k8s_expand(container["args"][i], DEFINED) == s, repr(s)
        # clusters from before the UTF-8 fix in the expander, too
        assert k8s_expand(container["args"][i], DEFINED, byte_wise=True) == s, repr(s)
    assert ctx.diagnostics == []


def test_hostile_literals_would_break_unescaped():
    """The round trip above can fail: without escaping, expansion changes these."""
    changed = [s for s in HOSTILE if k8s_expand(s, DEFINED) != s]
    assert {"$$", "$(x)", "$(HOME)", "$$(HOME)", "$((1+2))", "日本$(語)"} <= set(changed)
    assert k8s_expand("$é", DEFINED, byte_wise=True) != "$é"


@pytest.mark.parametrize(
    "text, escaped",
    [("$(x)", "$$(x)"), ("$$", "$$$"), ("$HOME", "$HOME"), ("${HOME}", "${HOME}"),
     ("end$", "end$"), ("$é", "$$é"), ("100%", "100%")],
)
def test_escape_is_minimal(text, escaped):
    """Only a `$` the expander would act on is doubled, so ordinary shell text in args
    stays readable."""
    assert escape_expansion(text) == escaped


def test_image_is_not_expanded_but_is_kept_verbatim():
    job = small_job(container=Container(image=lit("reg.local:5000/a$b:1.0")))
    _, (doc,), _ = render(job)
    assert doc["spec"]["template"]["spec"]["containers"][0]["image"] == "reg.local:5000/a$b:1.0"


def test_host_variables_are_read_from_a_secret():
    """No value of a host variable is written: an env entry that is one variable reads
    the Secret's key, the image's variables are resolved (W0303); the Secret, resolved
    as deploy resolves it, gives each entry the variable's value under its operator."""
    job = small_job(
        container=Container(image=Value(parts=(Lit(text="repo/app:"), HostVar(name="TAG")), path="$.i")),
        env=(
            EnvVar(name="A", value=Value(parts=(HostVar(name="SECRET"),))),
            EnvVar(name="B", value=Value(parts=(HostVar(name="UNSET", op=":-", arg="dflt $(x)"),))),
            EnvVar(name="C", value=Value(parts=(HostVar(name="EMPTY", op="-", arg="d"),))),
            EnvVar(name="D", value=Value(parts=(HostVar(name="EMPTY", op=":-", arg="d"),))),
        ),
    )
    host = {"TAG": "1.2", "SECRET": "p$(w)d", "EMPTY": ""}
    text, (doc,), ctx = render(job, env=host)
    container = doc["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "repo/app:1.2"
    assert "p$(w)d" not in text and "dflt" not in text
    assert container["env"][0] == {"name": "A", "valueFrom": {"secretKeyRef": {"name": "hello", "key": "SECRET"}}}
    _, env = kubelet_view(container, k8s_secrets(ctx.env_files, host), DEFINED)
    assert env == {"A": "p$(w)d", "B": "dflt $(x)", "C": "", "D": "d"}
    assert [(d.code, d.path) for d in ctx.diagnostics] == [("W0303", "$.i")]
    assert "TAG" in ctx.diagnostics[0].message
    (store,) = ctx.env_files
    assert (store.kind, store.path, store.unit) == ("k8s", "hello", "hello")
    assert [e.name for e in store.entries] == ["SECRET", "UNSET", "EMPTY", "EMPTY.2"]
    assert text.splitlines()[1].startswith("# hello reads the Secret hello (keys SECRET, UNSET, EMPTY, EMPTY.2)")


def test_unset_host_variable_is_an_error_at_deploy_not_at_build():
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_store

    job = small_job(env=(EnvVar(name="A", value=Value(parts=(HostVar(name="NOPE"),),
                                                        path="$.b00t.env.A")),))
    _, _, ctx = render(job)
    assert ctx.diagnostics == []
    diags = Diagnostics()
    assert resolve_store(ctx.env_files[0], {}, diags) is None
    assert [(d.code, d.path, d.is_error) for d in diags] == [("E0401", "$.b00t.env.A", True)]


def _var(name, op="", arg=""):
    return HostVar(name=name, op=op, arg=arg)


def test_mixed_values_command_and_args_use_defined_env_vars():
    """Text around a variable stays escaped; the variable is ``$(B00T_<key>)``, an env var
    defined from the Secret before every entry; command and args the same."""
    job = small_job(
        container=Container(
            image=lit("busybox"),
            command=(Value(parts=(Lit(text="$(x)-"), _var("CMD"))),),
            args=(Value(parts=(Lit(text="--pw="), _var("PW"), Lit(text=" $$"))), lit("$(HOME)")),
        ),
        env=(
            EnvVar(name="MIXED", value=Value(parts=(Lit(text="pre-"), _var("PW", ":-", "d"), Lit(text="-$(x)")))),
            EnvVar(name="PLAIN", value=Value(parts=(_var("PW"),))),
        ),
    )
    host = {"CMD": "c$(x)'\"", "PW": "p w\n$$"}
    text, (doc,), ctx = render(job, env=host)
    c = doc["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["$$(x)-$(B00T_CMD)"]
    assert c["args"] == ["--pw=$(B00T_PW) $$$", "$$(HOME)"]
    assert [e["name"] for e in c["env"]] == ["B00T_CMD", "B00T_PW", "B00T_PW.2", "MIXED", "PLAIN"]
    assert c["env"][3]["value"] == "pre-$(B00T_PW.2)-$$(x)"
    for value in host.values():
        assert value not in text
    argv, env = kubelet_view(c, k8s_secrets(ctx.env_files, host), DEFINED)
    assert argv == ["$(x)-c$(x)'\"", "--pw=p w\n$$ $$", "$(HOME)"]
    assert env == {"MIXED": "pre-p w\n$$-$(x)", "PLAIN": "p w\n$$"}
    assert ctx.diagnostics == []
    for version in VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)


def test_a_dollar_before_a_host_variable_stays_a_dollar():
    """Found by test_properties: a literal ending in ``$`` then ``$(B00T_X)`` read as
    ``$$(B00T_X)``, the literal text ``$(B00T_X)``."""
    job = small_job(
        container=Container(image=lit("busybox"), args=(Value(parts=(Lit(text="a$"), _var("X"), Lit(text="$"))),)),
        env=(EnvVar(name="E", value=Value(parts=(Lit(text="$"), _var("X"), Lit(text="$$")))),),
    )
    _, (doc,), ctx = render(job)
    c = doc["spec"]["template"]["spec"]["containers"][0]
    for byte_wise in (False, True):
        argv, env = kubelet_view(c, k8s_secrets(ctx.env_files, {"X": "v"}), DEFINED, byte_wise)
        assert (argv, env) == (["a$v$"], {"E": "$v$$"})


def test_key_per_operator_form_in_order_of_first_appearance():
    forms = [_var("X"), _var("X", ":-", "a"), _var("Y"), _var("X", "-", "a"), _var("X", ":-", "a"), _var("X")]
    job = small_job(env=tuple(EnvVar(name=f"E{i}", value=Value(parts=(v,))) for i, v in enumerate(forms)))
    _, (doc,), ctx = render(job)
    keys = [e["valueFrom"]["secretKeyRef"]["key"] for e in doc["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert keys == ["X", "X.2", "Y", "X.3", "X.2", "X"]
    store = ctx.env_files[0]
    assert [(e.name, e.value.parts[0]) for e in store.entries] == [
        ("X", forms[0]), ("X.2", forms[1]), ("Y", forms[2]), ("X.3", forms[3])]
    assert all(re.fullmatch(r"[-._a-zA-Z0-9]+", e.name) for e in store.entries)


def test_a_datum_env_name_b00tc_defines_is_an_error():
    job = small_job(env=(
        EnvVar(name="B00T_PW", value=lit("mine"), path="$.b00t.env.B00T_PW"),
        EnvVar(name="URL", value=Value(parts=(Lit(text="x-"), _var("PW")), path="$.b00t.env.URL")),
    ))
    _, _, ctx = render(job)
    assert [(d.code, d.path, d.is_error) for d in ctx.diagnostics] == [("E0601", "$.b00t.env.B00T_PW", True)]
    assert "B00T_PW" in ctx.diagnostics[0].message and "Secret hello" in ctx.diagnostics[0].message


def test_a_datum_env_name_b00tc_does_not_define_is_fine():
    job = small_job(env=(EnvVar(name="B00T_PW", value=lit("mine")), EnvVar(name="PW", value=Value(parts=(_var("PW"),)))))
    _, _, ctx = render(job)
    assert ctx.diagnostics == []


def test_members_read_their_own_secret():
    stack = pipeline_stack()
    n8n = stack.members[0]
    env = (*n8n.env, EnvVar(name="PASS", value=Value(parts=(_var("N8N_PW"),))))
    stack = msgspec.structs.replace(stack, members=(msgspec.structs.replace(n8n, env=env), *stack.members[1:]))
    text, docs, ctx = render(stack, env={"N8N_PW": "hidden"})
    assert "hidden" not in text
    dep = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == n8n.name)
    refs = [e["valueFrom"]["secretKeyRef"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]
            if "valueFrom" in e]
    assert refs == [{"name": n8n.name, "key": "N8N_PW"}]
    assert [(s.kind, s.path, s.unit) for s in ctx.env_files] == [("k8s", n8n.name, n8n.name)]


def test_output_is_the_same_whatever_the_environment_holds():
    job = small_job(env=(
        EnvVar(name="A", value=Value(parts=(_var("A"),))),
        EnvVar(name="B", value=Value(parts=(Lit(text="b-"), _var("B", ":?", "need B")))),
    ), container=Container(image=lit("busybox"), args=(Value(parts=(_var("C", ":-", "c"),)),)))
    texts = {render(job, env=env)[0] for env in ({}, {"A": "1", "B": "2", "C": "3"}, {"A": "", "B": "$(x)\n"})}
    assert len(texts) == 1


# ---------------------------------------------------------------------------
# Stack


def test_stack_objects_and_order():
    """Claims, then Services, then Deployments, each group in datum order."""
    _, docs, _ = render(pipeline_stack())
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("PersistentVolumeClaim", "redis-data"),
        ("Service", "n8n"),
        ("Service", "cache"),
        ("Deployment", "n8n"),
        ("Deployment", "redis"),
    ]


def test_stack_deployments():
    _, docs, _ = render(pipeline_stack(), (Annotation(key="budget-daily-limit", value="100.0"),))
    deps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    n8n = deps["n8n"]
    assert n8n["spec"]["replicas"] == 1
    assert n8n["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "n8n", "app.kubernetes.io/part-of": "llm-inference-pipeline"}
    assert n8n["metadata"]["labels"]["b00t.io/datum"] == "n8n.docker"
    assert n8n["metadata"]["annotations"] == {
        "b00t.io/budget-daily-limit": "100.0",
        "b00t.io/stack-cpu": "4",
        "b00t.io/stack-memory": "16Gi",
        "b00t.io/stack-gpu-count": "1",
        "b00t.io/stack-gpu-type": "nvidia-a100",
    }
    pod = n8n["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["name"] == "n8n" and c["image"] == "n8nio/n8n:latest"
    assert "command" not in c and "args" not in c
    assert c["ports"] == [{"containerPort": 5678, "protocol": "TCP"}]
    assert c["env"] == [{"name": "MODEL_NAME", "value": "llama-70b-q4"},
                        {"name": "N8N_PORT", "value": "5678"}]
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "512Mi"},
                              "limits": {"cpu": "500m", "memory": "512Mi"}}
    # ~/.n8n is not an absolute path on the node: an emptyDir stands in, with a warning
    assert pod["volumes"] == [{"name": "host-n8n", "emptyDir": {}}]
    assert c["volumeMounts"] == [{"name": "host-n8n", "mountPath": "/home/node/.n8n"}]
    assert "strategy" not in n8n["spec"]
    # stack GPU affinity: every member's pod carries the label and prefers its node
    assert n8n["spec"]["template"]["metadata"]["labels"]["b00t.io/gpu-affinity"] == "llama-70b"
    assert pod["affinity"]["podAffinity"]

    redis = deps["redis"]
    pod = redis["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["args"] == ["--appendonly", "yes"]
    assert c["ports"] == [{"containerPort": 6379, "protocol": "TCP"},
                          {"containerPort": 6379, "protocol": "UDP"},
                          {"containerPort": 9121, "protocol": "TCP"}]
    assert pod["volumes"] == [
        {"name": "redis-data", "persistentVolumeClaim": {"claimName": "redis-data"}},
        {"name": "host-redis", "hostPath": {"path": "/etc/redis"}},
    ]
    assert c["volumeMounts"] == [
        {"name": "redis-data", "mountPath": "/data"},
        {"name": "host-redis", "mountPath": "/usr/local/etc/redis", "readOnly": True},
    ]
    # a ReadWriteOnce claim: the old pod must go before the new one mounts it
    assert redis["spec"]["strategy"] == {"type": "Recreate"}


def test_stack_services_and_claims():
    _, docs, _ = render(pipeline_stack())
    svcs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    assert svcs["n8n"]["spec"] == {
        "selector": {"app.kubernetes.io/name": "n8n",
                     "app.kubernetes.io/part-of": "llm-inference-pipeline"},
        "ports": [{"name": "http", "protocol": "TCP", "port": 5678, "targetPort": 5678}],
    }
    # the declared port first, then the member's other container ports
    assert svcs["cache"]["spec"]["selector"]["app.kubernetes.io/name"] == "redis"
    assert svcs["cache"]["spec"]["ports"] == [
        {"name": "p6379", "protocol": "TCP", "port": 6379, "targetPort": 6379},
        {"name": "p6379-udp", "protocol": "UDP", "port": 6379, "targetPort": 6379},
        {"name": "p9121", "protocol": "TCP", "port": 9121, "targetPort": 9121},
    ]
    (pvc,) = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert pvc["spec"] == {"accessModes": ["ReadWriteOnce"],
                           "resources": {"requests": {"storage": "1Gi"}}}


def test_stack_warnings():
    """Each intent the manifests drop is named once, at its place in its datum."""
    _, _, ctx = render(pipeline_stack())
    assert warnings(ctx) == [
        ("W0301", "$.b00t.orchestration.resource_requirements"),  # stack-level resources
        ("W0301", "$.b00t.docker_args"),  # n8n --name
        ("W0301", "$.b00t.docker_args[3]"),  # ~/.n8n bind mount
        ("W0301", "$.b00t.docker_args"),  # redis --restart no
        ("W0103", "$.b00t.services.python"),  # no member serves python
    ]
    files = [d.file for d in ctx.diagnostics]
    assert files == ["stacks/llm-inference-pipeline.stack.toml", "members/n8n.docker.toml",
                     "members/n8n.docker.toml", "members/redis.docker.toml",
                     "stacks/llm-inference-pipeline.stack.toml"]
    messages = [d.message for d in ctx.diagnostics]
    assert "stack-level resource limits (cpu 4, memory 16Gi, 1 GPU nvidia-a100)" in messages[0]
    assert "'~/.n8n'" in messages[2]
    assert "'no'" in messages[3]


def test_member_with_ports_and_no_declared_service_gets_one():
    stack = Stack(name="s", file="s.stack.toml", members=(redis_member(),))
    _, docs, _ = render(stack)
    (svc,) = [d for d in docs if d["kind"] == "Service"]
    assert svc["metadata"]["name"] == "redis"
    assert [p["name"] for p in svc["spec"]["ports"]] == ["p6379", "p6379-udp", "p9121"]
    check_manifests(docs)


def test_volume_names_become_unique_dns_labels():
    """docker allows `_` and `.` in volume names, Kubernetes does not; two docker names
    that map to the same label get distinct claims."""
    member = Member(
        name="db", datum="db.docker", file="db.docker.toml",
        container=Container(image=lit("postgres:16")),
        mounts=(Mount(source="pg_data", target="/a"), Mount(source="pg.data", target="/b"),
                Mount(source="pg_data", target="/c", read_only=True)),
    )
    _, docs, _ = render(Stack(name="s", file="s.stack.toml", members=(member,)))
    claims = [d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert claims == ["pg-data", "pg-data-2"]
    (dep,) = [d for d in docs if d["kind"] == "Deployment"]
    mounts = dep["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert [m["name"] for m in mounts] == ["pg-data", "pg-data-2", "pg-data"]
    check_manifests(docs)
    for doc in docs:
        kubernetes_validate.validate(doc, "1.25", strict=True)


def test_stack_member_references_and_host_variables():
    member = Member(
        name="worker", datum="worker.docker", file="worker.docker.toml",
        container=Container(image=lit("busybox:1.36"), command=(lit("sh"),)),
        env=(EnvVar(name="UP", value=Value(parts=(ref("n8n", "endpoint", 5678, "n8n"),))),
             EnvVar(name="PW", value=Value(parts=(HostVar(name="PW", op=":-", arg="admin"),)))),
    )
    stack = Stack(name="s", file="s.stack.toml", members=(member,))
    _, docs, ctx = render(stack)
    c = docs[-1]["spec"]["template"]["spec"]["containers"][0]
    assert c["env"] == [{"name": "UP", "value": "http://n8n:5678"},
                        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "worker", "key": "PW"}}}]
    assert kubelet_view(c, k8s_secrets(ctx.env_files, {}), {})[1] == {"UP": "http://n8n:5678", "PW": "admin"}
    assert ctx.diagnostics == []
