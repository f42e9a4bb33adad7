"""The compose backend, judged by the compose-spec JSON schema (check-jsonschema) and by
docker-compose itself: ``config -q`` accepts the file, and ``config`` prints it with every
``$`` interpolated, which is how hostile literals and host variables are read back."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import time

import msgspec
import pytest
import yaml

from b00tc.backends import get_backend
from b00tc.backends._context import Context
from b00tc.backends.compose import ComposeBackend, cpus, escape, memory
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
    PortMap,
    Resources,
    Stack,
    Unit,
    Value,
    WaitFor,
    lit,
)
from tests.backends import ir_fixtures as fx
from tests.backends.ir_fixtures import GiB, ref, small_job

pytestmark = pytest.mark.skipif(
    not (shutil.which("docker-compose") and shutil.which("check-jsonschema")),
    reason="docker-compose v1 and check-jsonschema are the judges of this output",
)

# ---------------------------------------------------------------------------
# IR fixtures: built by hand in ir_fixtures.py; compose's variants of them


def n8n_member() -> Member:
    """n8n with a host variable compose interpolates, and a mount without a path."""
    return fx.n8n_member(
        env=(
            EnvVar(name="N8N_BASIC_AUTH_USER",
                   value=Value(parts=(HostVar(name="N8N_BASIC_AUTH_USER", op=":-", arg="admin"),))),
            EnvVar(name="N8N_PORT", value=lit("5678")),
        ),
        mounts=(Mount(source="~/.n8n", target="/home/node/.n8n", kind="bind"),),
    )


def redis_member() -> Member:
    """redis with a udp port that differs from its host port, ssh's port and a retry limit."""
    return fx.redis_member(
        ports=(
            PortMap(container=6379, host=6379, host_ip="127.0.0.1"),
            PortMap(container=53, host=5353, protocol="udp"),
            PortMap(container=9121),
            PortMap(container=22, host=22),
        ),
        restart="on-failure:3",
    )


def pipeline_stack() -> Stack:
    """The pipeline of these members, without a stack-level GPU."""
    return fx.pipeline_stack(n8n_member(), redis_member(), gpu=None)


def gpu_job() -> Job:
    """The GPU's diagnostics point at gpu_type."""
    return fx.gpu_job(gpu_path="$.b00t.resources.gpu_type")


def deps_job() -> Job:
    """Requires this module's pipeline; no PROTO env var."""
    return fx.deps_job(pipeline_stack(), protocol=False)


HOSTILE = [
    "$", "end$", "$$", "$$$", "${", "${HOME}", "$HOME", "$(x)", "$$(HOME)", "${HOME:-x}",
    "$${HOME}", "%", "%{x}", "{{ .x }}", '"', "'", "back\\slash\\", "two\nlines",
    "trailing newline\n", "tab\there", " lead", "trail ", "yes", "no", "on", "null", "~",
    "0x1F", "1e3", "0o17", "12:30", "-", "", "héllo", "$é", "日本${語}", "\u2028", "a: b",
    "#not a comment", "- item", "}",
]


def hostile_job() -> Job:
    return fx.hostile_job(HOSTILE, "%s$x")


def render(datum, annotations=(), **ctx_kw) -> tuple[str, dict, Context]:
    ctx = Context(target="compose", **ctx_kw)
    files = ComposeBackend().render(Unit(datum=datum, annotations=annotations), ctx)
    assert len(files) == 1
    return files[0].content, yaml.safe_load(files[0].content), ctx


def warnings(ctx: Context) -> list[tuple[str, str]]:
    return [(d.code, d.path) for d in ctx.diagnostics]


def compose_config(tmp_path, text: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``docker-compose config`` in a clean environment (only PATH and ``env``)."""
    path = tmp_path / "c.compose.yaml"
    path.write_text(text)
    run_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **(env or {})}
    return subprocess.run(["docker-compose", "-f", str(path), "config"], cwd=tmp_path,
                          env=run_env, capture_output=True, text=True, timeout=60)


def interpolated(tmp_path, text: str, env: dict | None = None) -> dict:
    """The file as compose runs it. ``config`` prints each resulting string with ``$``
    escaped again as ``$$`` (so that its output is itself a valid file): undo that."""
    proc = compose_config(tmp_path, text, env)
    assert proc.returncode == 0, proc.stderr
    return _unescape(yaml.safe_load(proc.stdout))


def _unescape(node):
    if isinstance(node, str):
        return node.replace("$$", "$")
    if isinstance(node, list):
        return [_unescape(n) for n in node]
    if isinstance(node, dict):
        return {k: _unescape(v) for k, v in node.items()}
    return node


# ---------------------------------------------------------------------------
# Validation by the real tools

CASES = {
    "small": small_job,
    "gpu": gpu_job,
    "deps": deps_job,
    "stack": pipeline_stack,
    "hostile": hostile_job,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validates(case, tmp_path):
    text, _, _ = render(CASES[case]())
    path = tmp_path / f"{case}.compose.yaml"
    path.write_text(text)
    schema = subprocess.run(
        ["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=120)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    # ${N8N_BASIC_AUTH_USER:-admin} needs nothing set; -q prints nothing on success
    v1 = subprocess.run(["docker-compose", "-f", str(path), "config", "-q"], cwd=tmp_path,
                        capture_output=True, text=True, timeout=60)
    assert v1.returncode == 0 and v1.stdout == "", v1.stderr


def test_validators_can_fail(tmp_path):
    """Both judges reject what they should: the schema an unknown key, docker-compose a
    depends_on target that is not in the file and a top-level name."""
    _, doc, _ = render(deps_job())
    doc["services"]["consumer"]["restrat"] = "no"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    proc = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    _, doc, _ = render(deps_job())
    del doc["services"]["wait-for-n8n"]
    bad.write_text(yaml.safe_dump(doc))
    proc = subprocess.run(["docker-compose", "-f", str(bad), "config", "-q"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    _, doc, _ = render(small_job())
    bad.write_text(yaml.safe_dump({"name": "x", **doc}))
    proc = subprocess.run(["docker-compose", "-f", str(bad), "config", "-q"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0


# ---------------------------------------------------------------------------
# File shape


def test_file_name_header_and_determinism():
    job = deps_job()
    a = ComposeBackend().render(Unit(datum=job), Context(target="compose"))
    b = ComposeBackend().render(Unit(datum=job), Context(target="compose"))
    assert a == b
    (out,) = a
    assert out.path == "consumer.compose.yaml"
    assert out.content.startswith(
        "# Generated by b00tc from consumer.job.toml. Do not edit.\nservices:\n")
    assert out.content.endswith("\n") and not out.content.endswith("\n\n")
    (out,) = ComposeBackend().render(Unit(datum=gpu_job()), Context(target="compose"))
    assert "/abs/path" not in out.content


def test_registry_finds_backend_by_alias():
    backend = get_backend("docker-compose")
    assert isinstance(backend, ComposeBackend)
    assert backend.name == "compose" and backend.aliases == ("docker-compose",)
    assert backend.KEEPS_HOST_VARS is True


# ---------------------------------------------------------------------------
# Job


def test_small_job_shape(tmp_path):
    """entrypoint replaces the image ENTRYPOINT (and clears its CMD) like a k8s command;
    command is the args. "no" must stay a string: YAML 1.1 reads a bare no as false."""
    text, doc, ctx = render(small_job())
    assert set(doc) == {"services"}  # no top-level name (docker-compose v1 rejects it)
    assert doc["services"] == {
        "hello": {
            "image": "busybox:1.36",
            "entrypoint": ["echo"],
            "command": ["hi"],
            "restart": "no",
            "labels": {
                "app.kubernetes.io/name": "hello",
                "app.kubernetes.io/managed-by": "b00tc",
                "b00t.io/datum": "hello.job",
            },
        }
    }
    assert 'restart: "no"' in text
    assert interpolated(tmp_path, text)["services"]["hello"]["restart"] == "no"
    assert ctx.diagnostics == []


def test_gpu_job(tmp_path):
    annotations = (Annotation(key="budget-daily-limit", value="50.0"),)
    text, doc, ctx = render(gpu_job(), annotations)
    svc = doc["services"]["llm-batch-job"]
    assert svc["deploy"] == {
        "resources": {
            "limits": {"cpus": "2", "memory": "8g"},
            "reservations": {
                "devices": [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
            },
        }
    }
    assert svc["labels"] == {
        "app.kubernetes.io/name": "llm-batch-job",
        "app.kubernetes.io/managed-by": "b00tc",
        "b00t.io/datum": "llm-batch-job.job",
        "b00t.io/budget-daily-limit": "50.0",
        "b00t.io/queue-name": "gpu-queue",
        "b00t.io/batch-group": "llama-70b",
        "b00t.io/gpu-type": "nvidia-a100",
        "b00t.io/gpu-shared": "true",
    }
    assert svc["environment"] == {"BATCH_SIZE": "32"}
    # the model is the one GPU intent compose loses
    assert warnings(ctx) == [("W0301", "$.b00t.resources.gpu_type")]
    assert "a100" in ctx.diagnostics[0].message
    # docker-compose reads the reservation and the limits as written
    run = interpolated(tmp_path, text)["services"]["llm-batch-job"]["deploy"]["resources"]
    assert run["reservations"]["devices"][0]["count"] == 1
    assert parse_memory(run["limits"]["memory"]) == 8 * GiB
    assert float(run["limits"]["cpus"]) == 2


def test_non_nvidia_gpu_cannot_be_reserved():
    job = small_job(resources=Resources(gpu=Gpu(count=1, vendor="amd", path="$.g")))
    _, doc, ctx = render(job)
    assert "deploy" not in doc["services"]["hello"]
    assert warnings(ctx) == [("W0301", "$.g")]


@pytest.mark.parametrize(
    "millis, text", [(2000, "2"), (500, "0.5"), (1500, "1.5"), (250, "0.25"), (1, "0.001"),
                     (10000, "10"), (64000, "64")]
)
def test_cpus(millis, text):
    assert cpus(millis) == text


@pytest.mark.parametrize(
    "n, text", [(8 * GiB, "8g"), (512 * 2**20, "512m"), (1536 * 2**20, "1536m"),
                (2**40, "1024g"), (1024, "1k"), (123, "123b"), (GiB + 1, f"{GiB + 1}b")]
)
def test_memory_is_exact(n, text):
    assert memory(n) == text
    assert parse_memory(text) == n


def parse_memory(text: str) -> int:
    """docker's byte units (docker-py parse_bytes): b, k, m, g, powers of 1024."""
    m = re.fullmatch(r"([0-9]+)([bkmg])", text)
    assert m, text
    return int(m.group(1)) * {"b": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2)]


# ---------------------------------------------------------------------------
# Requires, references and waits


def test_job_file_holds_the_job_and_joins_its_stacks(tmp_path):
    """One wait helper per wait, then the job, which depends on them; the required
    stack's members are not in the file (the stack runs in its own project): every
    service joins the stack's network, declared external by its fixed name."""
    text, doc, ctx = render(deps_job(), helper_image="registry.local/busybox:1.36", wait_timeout=42)
    services = doc["services"]
    assert list(services) == ["wait-for-n8n", "wait-for-cache", "consumer"]
    job = services["consumer"]
    assert job["depends_on"] == {
        "wait-for-n8n": {"condition": "service_completed_successfully"},
        "wait-for-cache": {"condition": "service_completed_successfully"},
    }
    wait = services["wait-for-cache"]
    assert wait["image"] == "registry.local/busybox:1.36"
    assert wait["restart"] == "no"
    assert "depends_on" not in wait  # the member is in another project
    assert wait["entrypoint"][:2] == ["sh", "-c"]
    # the host is the compose service (the member), the port the service's network port
    assert "nc -z -w 2 redis 6379" in wait["entrypoint"][2]
    assert "within 42s" in wait["entrypoint"][2]
    for svc in services.values():
        assert svc["networks"] == ["b00t-llm-inference-pipeline"]
    assert doc["networks"] == {
        "b00t-llm-inference-pipeline": {"name": "b00t-llm-inference-pipeline", "external": True}}
    assert "volumes" not in doc
    # the stack's own dropped intents are reported with the stack's file, not here
    assert warnings(ctx) == []
    assert interpolated(tmp_path, text)["networks"]["b00t-llm-inference-pipeline"]["external"] is True


def test_references_use_the_member_service_name(tmp_path):
    """A reference names a stack service; in compose the host is the member that serves
    it (service `cache` is served by member `redis`)."""
    text, _, _ = render(deps_job())
    job = interpolated(tmp_path, text)["services"]["consumer"]
    assert job["environment"] == {"MODEL_ENDPOINT": "http://n8n:5678",
                                  "CACHE": "redis://redis:6379/0"}
    assert job["command"] == ["wget -qO- http://n8n:5678"]
    assert job["entrypoint"] == ["sh", "-c"]


def test_wait_for_a_service_without_member_warns():
    job = msgspec.structs.replace(deps_job(), wait_for=(
        WaitFor(stack="llm-inference-pipeline", service="python", port=8000,
                path="$.b00t.dependencies.wait_for_services[0]"),))
    _, doc, ctx = render(job)
    assert ("W0103", "$.b00t.dependencies.wait_for_services[0]") in warnings(ctx)
    assert "depends_on" not in doc["services"]["wait-for-python"]
    assert "nc -z -w 2 python 8000" in doc["services"]["wait-for-python"]["entrypoint"][2]


def _fake_nc(tmp_path, exit_code: int) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nc = bin_dir / "nc"
    nc.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/nc.log"\nexit {exit_code}\n')
    nc.chmod(nc.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


@pytest.mark.parametrize("reachable", [True, False])
def test_wait_helper_runs_and_is_bounded(tmp_path, reachable):
    """The helper's entrypoint as docker-compose hands it to the container (its `$$`
    unescaped by compose), run by /bin/sh with a stand-in nc."""
    text, _, _ = render(deps_job(), wait_timeout=1)
    argv = interpolated(tmp_path, text)["services"]["wait-for-n8n"]["entrypoint"]
    env = _fake_nc(tmp_path, 0 if reachable else 1)
    start = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert (tmp_path / "nc.log").read_text().splitlines()[0] == "-z -w 2 n8n 5678"
    if reachable:
        assert proc.returncode == 0 and "n8n:5678 is up" in proc.stdout
    else:
        assert proc.returncode == 1, proc.stderr
        assert "n8n:5678 did not accept connections within 1s" in proc.stderr
        assert time.monotonic() - start < 10


def test_a_job_named_like_a_member_of_its_stack_is_reported():
    """The job would answer to the member's name on the stack's network."""
    job = msgspec.structs.replace(deps_job(), name="redis")
    _, doc, ctx = render(job)
    assert list(doc["services"]) == ["wait-for-n8n", "wait-for-cache", "redis"]
    assert ("W0301", "$.b00t.name") in warnings(ctx)
    _, _, ctx = render(deps_job())
    assert ("W0301", "$.b00t.name") not in warnings(ctx)


def test_required_stacks_are_joined_transitively(tmp_path):
    """A stack's members stay on its own network (named b00t-<stack>) and join the
    networks of the stacks it requires, transitively, each once, a required one first;
    the required stacks' members are in their own files."""
    base = Stack(name="base", file="base.stack.toml", members=(redis_member(),))
    mid = Stack(name="mid", file="mid.stack.toml", members=(n8n_member(),), requires=(base,))
    top = Stack(name="top", file="top.stack.toml", requires=(mid, base), members=(Member(
        name="web", datum="web.docker", file="web.docker.toml",
        container=Container(image=lit("nginx:1")),
        env=(EnvVar(name="UP", value=Value(parts=(ref("n8n", "endpoint", 5678, "n8n"),))),)),))
    text, doc, ctx = render(top)
    assert list(doc["services"]) == ["web"]
    assert doc["services"]["web"]["environment"] == {"UP": "http://n8n:5678"}
    assert doc["services"]["web"]["networks"] == ["default", "b00t-base", "b00t-mid"]
    assert doc["networks"] == {"default": {"name": "b00t-top"},
                               "b00t-base": {"name": "b00t-base", "external": True},
                               "b00t-mid": {"name": "b00t-mid", "external": True}}
    assert ctx.diagnostics == []
    assert interpolated(tmp_path, text)["services"]["web"]["environment"]["UP"] == "http://n8n:5678"
    _, doc, _ = render(base)
    assert doc["networks"] == {"default": {"name": "b00t-base"}}
    assert "networks" not in doc["services"]["redis"]
    job = small_job(requires=(mid,))
    _, doc, _ = render(job)
    assert list(doc["services"]) == ["hello"]
    assert "depends_on" not in doc["services"]["hello"]
    assert doc["services"]["hello"]["networks"] == ["b00t-base", "b00t-mid"]
    _, doc, _ = render(small_job())
    assert "networks" not in doc and "networks" not in doc["services"]["hello"]


def test_gpu_warnings_point_at_what_was_written():
    gpu = Gpu(count=1, model="a100", type="nvidia-a100", memory_bytes=48 * GiB, memory="48Gi",
              path="$.r.gpu_count", type_path="$.r.gpu_type", memory_path="$.r.gpu_memory")
    _, _, ctx = render(small_job(resources=Resources(gpu=gpu)))
    assert warnings(ctx) == [("W0301", "$.r.gpu_type"), ("W0301", "$.r.gpu_memory")]
    assert "(48Gi)" in ctx.diagnostics[1].message


# ---------------------------------------------------------------------------
# Literals and host variables


def test_hostile_literals_round_trip(tmp_path):
    """docker-compose interpolates every string; what it would run is exactly the datum's
    text, in the environment, the entrypoint and the command."""
    text, _, ctx = render(hostile_job())
    env = {"HOME": "/home/x", "x": "X", "語": "Y"}
    svc = interpolated(tmp_path, text, env)["services"]["hello"]
    assert svc["entrypoint"] == ["printf", "%s$x"]
    assert svc["command"] == HOSTILE
    assert svc["environment"] == {f"V{i}": s for i, s in enumerate(HOSTILE)}
    assert ctx.diagnostics == []


def test_hostile_literals_would_break_unescaped(tmp_path):
    """The round trip above can fail: written unescaped, compose changes or rejects them."""
    doc = {"services": {"a": {"image": "busybox", "environment": {"A": "${HOME}", "B": "$HOME"}}}}
    proc = compose_config(tmp_path, yaml.safe_dump(doc), {"HOME": "/home/x"})
    assert "/home/x" in proc.stdout
    doc["services"]["a"]["environment"] = {"A": "${"}
    assert compose_config(tmp_path, yaml.safe_dump(doc)).returncode != 0


def test_hostile_literals_everywhere_compose_interpolates(tmp_path):
    """image, container_name, labels, volumes and ports are interpolated too."""
    member = Member(
        name="m", datum="m.docker", file="m.docker.toml",
        container=Container(image=lit("reg.local:5000/img$x:1")),
        container_name="name$x",
        mounts=(Mount(source="./data$x", target="/d$x", kind="bind"),),
        ports=(PortMap(container=80, host=8080, host_ip="127.0.0.1"),),
    )
    stack = Stack(name="s", file="s.stack.toml", members=(member,))
    text, _, _ = render(stack, (Annotation(key="note", value="costs $5 ${X}"),))
    svc = interpolated(tmp_path, text, {"x": "BAD", "X": "BAD"})["services"]["m"]
    assert svc["image"] == "reg.local:5000/img$x:1"
    assert svc["container_name"] == "name$x"
    assert svc["labels"]["b00t.io/note"] == "costs $5 ${X}"
    # docker-compose prints bind sources as absolute paths, resolved against the file
    assert svc["volumes"] == [f"{tmp_path}/data$x:/d$x:rw"]


def host_var_job() -> Job:
    def var(name, op="", arg=""):
        return Value(parts=(HostVar(name=name, op=op, arg=arg),))

    return small_job(
        container=Container(
            image=Value(parts=(Lit(text="busybox:"), HostVar(name="TAG", op=":-", arg="1.36"))),
            command=(lit("echo"),),
            args=(Value(parts=(Lit(text="$x="), HostVar(name="USER_NAME"), Lit(text="$"))),),
        ),
        env=(
            EnvVar(name="PLAIN", value=var("USER_NAME")),
            EnvVar(name="COLON_DEFAULT", value=var("EMPTY", ":-", "d1")),
            EnvVar(name="DASH_DEFAULT", value=var("EMPTY", "-", "d2")),
            EnvVar(name="UNSET_DASH", value=var("UNSET", "-", "d3 x")),
            EnvVar(name="MIXED", value=Value(parts=(Lit(text="${lit}/"), HostVar(name="USER_NAME"),
                                                    Lit(text="/$$")))),
        ),
    )


def test_host_variables_resolve_at_run_time(tmp_path):
    """compose keeps `${VAR}` for run time with the shell meaning: `:-` replaces an empty
    value, `-` only an unset one."""
    text, doc, ctx = render(host_var_job())
    assert doc["services"]["hello"]["environment"]["PLAIN"] == "${USER_NAME}"
    svc = interpolated(tmp_path, text, {"USER_NAME": "ada $x", "EMPTY": ""})["services"]["hello"]
    assert svc["image"] == "busybox:1.36"
    assert svc["command"] == ["$x=ada $x$"]
    assert svc["environment"] == {
        "PLAIN": "ada $x",
        "COLON_DEFAULT": "d1",
        "DASH_DEFAULT": "",
        "UNSET_DASH": "d3 x",
        "MIXED": "${lit}/ada $x/$$",
    }
    svc = interpolated(tmp_path, text, {"USER_NAME": "bob", "EMPTY": "e", "TAG": "1.37",
                                        "UNSET": "u"})["services"]["hello"]
    assert svc["image"] == "busybox:1.37"
    assert svc["environment"]["COLON_DEFAULT"] == "e"
    assert svc["environment"]["DASH_DEFAULT"] == "e"
    assert svc["environment"]["UNSET_DASH"] == "u"
    assert ctx.diagnostics == []


@pytest.mark.parametrize("op", [":?", "?"])
def test_required_host_variable_fails_at_run_time_with_its_message(tmp_path, op):
    job = small_job(env=(EnvVar(name="A", value=Value(parts=(
        HostVar(name="TOKEN", op=op, arg="set TOKEN to the API token"),))),))
    text, _, _ = render(job)
    proc = compose_config(tmp_path, text)
    assert proc.returncode != 0
    assert "set TOKEN to the API token" in proc.stderr
    svc = interpolated(tmp_path, text, {"TOKEN": "t0k"})["services"]["hello"]
    assert svc["environment"] == {"A": "t0k"}
    if op == ":?":
        assert compose_config(tmp_path, text, {"TOKEN": ""}).returncode != 0


def test_default_with_dollar_is_escaped_for_compose_spec():
    """Compose-spec readers (docker compose v2, compose-go) interpolate a default, so a
    `$` in it is written `$$`. (docker-compose v1 keeps a default verbatim, so it would
    print `$$` there: the spec is the contract.)"""
    job = small_job(env=(EnvVar(name="A", value=Value(parts=(
        HostVar(name="V", op=":-", arg="p$w"),))),))
    _, doc, ctx = render(job)
    assert doc["services"]["hello"]["environment"]["A"] == "${V:-p$$w}"
    assert ctx.diagnostics == []


def test_default_with_closing_brace_is_an_error():
    job = small_job(env=(EnvVar(name="A", value=Value(parts=(
        HostVar(name="V", op=":-", arg="a}b"),), path="$.b00t.env.A")),))
    _, _, ctx = render(job)
    assert [(d.code, d.path, d.is_error) for d in ctx.diagnostics] == [
        ("E0601", "$.b00t.env.A", True)]


@pytest.mark.parametrize("text", ["a$b", "$$", "${X}", "no dollar"])
def test_escape_doubles_every_dollar(text):
    assert escape(text).replace("$$", "\0").count("$") == 0
    assert escape(text).replace("$$", "$") == text


# ---------------------------------------------------------------------------
# Stack


def test_stack_services(tmp_path):
    text, doc, _ = render(pipeline_stack(), (Annotation(key="budget-daily-limit", value="100.0"),))
    assert set(doc) == {"services", "volumes", "networks"}
    assert doc["networks"] == {"default": {"name": "b00t-llm-inference-pipeline"}}
    n8n = doc["services"]["n8n"]
    assert n8n == {
        "image": "n8nio/n8n:latest",
        "container_name": "n8n",
        "restart": "unless-stopped",
        "ports": ["5678:5678"],
        "volumes": ["~/.n8n:/home/node/.n8n"],
        "environment": {"N8N_BASIC_AUTH_USER": "${N8N_BASIC_AUTH_USER:-admin}", "N8N_PORT": "5678"},
        "labels": {
            "app.kubernetes.io/name": "n8n",
            "app.kubernetes.io/part-of": "llm-inference-pipeline",
            "app.kubernetes.io/managed-by": "b00tc",
            "b00t.io/datum": "n8n.docker",
            "b00t.io/gpu-affinity": "llama-70b",
            "b00t.io/stack-cpu": "4",
            "b00t.io/stack-memory": "16g",
            "b00t.io/budget-daily-limit": "100.0",
        },
        "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "512m"}}},
    }
    redis = doc["services"]["redis"]
    assert redis["command"] == ["--appendonly", "yes"]
    assert "entrypoint" not in redis
    assert redis["restart"] == "on-failure:3"
    assert redis["ports"] == ["127.0.0.1:6379:6379", "5353:53/udp", "9121", "22:22"]
    assert redis["volumes"] == ["redis_data:/data", "/etc/redis:/usr/local/etc/redis:ro"]
    # name: keeps the docker volume `docker run -v redis_data:/data` uses
    assert doc["volumes"] == {"redis_data": {"name": "redis_data"}}

    run = interpolated(tmp_path, text)["services"]
    assert run["n8n"]["environment"]["N8N_BASIC_AUTH_USER"] == "admin"
    # "22:22" reaches compose as a string, not as YAML 1.1's sexagesimal 1342
    assert [_port(p) for p in run["redis"]["ports"]] == [
        ("127.0.0.1", 6379, 6379, "tcp"), ("", 5353, 53, "udp"), ("", 0, 9121, "tcp"),
        ("", 22, 22, "tcp")]
    assert run["redis"]["volumes"] == ["redis_data:/data:rw", "/etc/redis:/usr/local/etc/redis:ro"]
    # `~` is the home folder of whoever runs compose, as it is for `docker run -v ~/...`
    assert run["n8n"]["volumes"] == [f"{tmp_path}/.n8n:/home/node/.n8n:rw"]


def _port(p) -> tuple:
    """docker-compose v1 prints a port back either as a mapping or as a string."""
    if isinstance(p, dict):
        return ("", p.get("published", 0), p["target"], p.get("protocol", "tcp"))
    m = re.fullmatch(r"(?:(.+):)?([0-9]+):([0-9]+)/(tcp|udp)", p)
    assert m, p
    return (m.group(1) or "", int(m.group(2)), int(m.group(3)), m.group(4))


def test_stack_without_deployable_member(tmp_path):
    """Every member skipped: an empty project, still a file both tools accept."""
    stack = Stack(name="empty", file="empty.stack.toml")
    text, doc, ctx = render(stack)
    assert doc["services"] == {}
    path = tmp_path / "empty.compose.yaml"
    path.write_text(text)
    assert subprocess.run(["docker-compose", "-f", str(path), "config", "-q"],
                          capture_output=True, timeout=60).returncode == 0
    assert subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec",
                           str(path)], capture_output=True, timeout=120).returncode == 0
    assert ctx.diagnostics == []


def test_stack_warnings():
    _, _, ctx = render(pipeline_stack())
    assert warnings(ctx) == [
        ("W0301", "$.b00t.orchestration"),  # gpu_affinity
        ("W0301", "$.b00t.orchestration.resource_requirements"),
        ("W0103", "$.b00t.services.python"),
    ]
    assert "stack-level resource limits (cpus 4, memory 16g)" in ctx.diagnostics[1].message
