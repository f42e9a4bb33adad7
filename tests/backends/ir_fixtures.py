"""IR built by hand for the backend tests: datums as the passes hand them to a backend,
with nothing parsed.

Two families, after the backends that read them:

- the cluster targets (k8s, compose): ``small_job``, ``gpu_job``, ``n8n_member``,
  ``redis_member``, ``pipeline_stack``, ``deps_job``, ``hostile_job``. The k8s tests take
  them as they are; the compose tests ask for their variants through the keyword arguments.
- the direct targets (bash, systemd), whose jobs print what they get: ``printf_job``,
  ``env_job``, ``direct_n8n_member``, ``python_member``, ``direct_pipeline_stack``,
  ``llm_job``. The bash tests take them as they are; the systemd tests ask for their
  variants through the keyword arguments.

``ref`` is a resolved reference for both (and Nomad's ``endpoint``).

Tests assert on the text, names and diagnostic paths these produce: a default changed here
must be passed explicitly by every module that relied on the old one.
"""

from __future__ import annotations

from b00tc.ir import (
    Container,
    EnvVar,
    Gpu,
    HostVar,
    Job,
    Lit,
    Member,
    Mount,
    Orchestration,
    PortMap,
    Ref,
    Resources,
    ServiceDecl,
    SkippedMember,
    Stack,
    Value,
    WaitFor,
    lit,
)

GiB = 2**30
PIPELINE = "llm-inference-pipeline"


def V(*parts, path: str = "") -> Value:
    """A value from its parts; a ``str`` part is a literal."""
    return Value(parts=tuple(Lit(text=p) if isinstance(p, str) else p for p in parts), path=path)


def ref(service: str, field: str, port: int, member: str, protocol: str = "http",
        stack: str = PIPELINE) -> Ref:
    """A reference as resolve_references leaves it, published on the same host port."""
    return Ref(stack=stack, service=service, field=field, port=port,
               protocol=protocol, host_port=port, member=member)


# ---------------------------------------------------------------------------
# The cluster targets: k8s and compose


def small_job(**kw) -> Job:
    fields = dict(
        name="hello",
        file="jobs/hello.job.toml",
        container=Container(image=lit("busybox:1.36"), command=(lit("echo"),), args=(lit("hi"),)),
    )
    fields.update(kw)
    return Job(**fields)


def gpu_job(gpu_path: str = "$.b00t.resources.gpu_count") -> Job:
    """A queued job with a shared A100; ``gpu_path`` is where the GPU's diagnostics point."""
    return Job(
        name="llm-batch-job",
        file="/abs/path/llm-batch-job.job.toml",
        container=Container(
            image=lit("ghcr.io/my-org/llm-batch-processor:latest"),
            command=(lit("python"),),
            args=(lit("-m"), lit("batch_processor")),
        ),
        env=(EnvVar(name="BATCH_SIZE", value=lit("32")),),
        resources=Resources(
            cpu_millis=2000,
            memory_bytes=8 * GiB,
            gpu=Gpu(count=1, vendor="nvidia", model="a100", type="nvidia-a100", shared=True,
                    path=gpu_path),
            path="$.b00t.resources",
        ),
        orchestration=Orchestration(
            schedule_type="queue_based", queue_name="gpu-queue", batch_group="llama-70b",
            path="$.b00t.orchestration",
        ),
    )


def n8n_member(**kw) -> Member:
    fields = dict(
        name="n8n",
        datum="n8n.docker",
        file="members/n8n.docker.toml",
        container=Container(image=lit("n8nio/n8n:latest")),
        env=(
            EnvVar(name="MODEL_NAME", value=lit("llama-70b-q4")),
            EnvVar(name="N8N_PORT", value=lit("5678")),
        ),
        ports=(PortMap(container=5678, host=5678),),
        mounts=(Mount(source="~/.n8n", target="/home/node/.n8n", kind="bind",
                      path="$.b00t.docker_args[3]"),),
        restart="unless-stopped",
        container_name="n8n",
        resources=Resources(cpu_millis=500, memory_bytes=512 * 2**20),
    )
    fields.update(kw)
    return Member(**fields)


def redis_member(**kw) -> Member:
    fields = dict(
        name="redis",
        datum="redis.docker",
        file="members/redis.docker.toml",
        container=Container(image=lit("redis:7-alpine"), args=(lit("--appendonly"), lit("yes"))),
        ports=(
            PortMap(container=6379, host=6379, host_ip="127.0.0.1"),
            PortMap(container=6379, host=6379, protocol="udp"),
            PortMap(container=9121),
        ),
        mounts=(
            Mount(source="redis_data", target="/data", kind="volume"),
            Mount(source="/etc/redis", target="/usr/local/etc/redis", kind="bind", read_only=True),
        ),
        restart="no",
    )
    fields.update(kw)
    return Member(**fields)


PIPELINE_GPU = Gpu(count=1, type="nvidia-a100", model="a100")


def pipeline_stack(*members: Member, gpu: Gpu | None = PIPELINE_GPU) -> Stack:
    """n8n and redis (or ``members``), three services (python's has no member), stack-level
    resources with ``gpu`` and a GPU affinity."""
    return Stack(
        name=PIPELINE,
        file="stacks/llm-inference-pipeline.stack.toml",
        members=members or (n8n_member(), redis_member()),
        services=(
            ServiceDecl(name="n8n", port=5678, protocol="http", member="n8n", host_port=5678,
                        path="$.b00t.services.n8n"),
            ServiceDecl(name="cache", port=6379, protocol="tcp", member="redis", host_port=6379,
                        path="$.b00t.services.cache"),
            ServiceDecl(name="python", port=8000, protocol="http", member="", host_port=8000,
                        path="$.b00t.services.python"),
        ),
        resources=Resources(cpu_millis=4000, memory_bytes=16 * GiB, gpu=gpu,
                            path="$.b00t.orchestration.resource_requirements"),
        orchestration=Orchestration(gpu_affinity="llama-70b", path="$.b00t.orchestration"),
    )


def deps_job(stack: Stack | None = None, protocol: bool = True) -> Job:
    """A job that requires ``stack`` (``pipeline_stack()``), refers to its services in an
    arg and in env (PROTO, the protocol field, only with ``protocol``) and waits for two."""
    env = (
        EnvVar(name="MODEL_ENDPOINT",
               value=Value(parts=(ref("n8n", "endpoint", 5678, "n8n"),))),
        EnvVar(name="CACHE", value=Value(parts=(
            Lit(text="redis://"), ref("cache", "host", 6379, "redis", "tcp"),
            Lit(text=":"), ref("cache", "port", 6379, "redis", "tcp"), Lit(text="/0"),
        ))),
    )
    if protocol:
        env += (EnvVar(name="PROTO", value=Value(parts=(ref("n8n", "protocol", 5678, "n8n"),))),)
    return Job(
        name="consumer",
        file="jobs/consumer.job.toml",
        container=Container(image=lit("busybox:1.36"), command=(lit("sh"), lit("-c")),
                            args=(Value(parts=(Lit(text="wget -qO- "),
                                               ref("n8n", "endpoint", 5678, "n8n"))),)),
        env=env,
        requires=(pipeline_stack() if stack is None else stack,),
        wait_for=(
            WaitFor(stack=PIPELINE, service="n8n", port=5678, host_port=5678,
                    member="n8n", path="$.b00t.dependencies.wait_for_services[0]"),
            WaitFor(stack=PIPELINE, service="cache", port=6379, host_port=6379,
                    member="redis", path="$.b00t.dependencies.wait_for_services[1]"),
        ),
    )


def hostile_job(values, *printf_format: str) -> Job:
    """``printf [printf_format]`` with every one of ``values`` as an argument, and as the
    value of env var V<i>."""
    return small_job(
        container=Container(image=lit("busybox:1.36"),
                            command=(lit("printf"), *(lit(f) for f in printf_format)),
                            args=tuple(lit(s) for s in values)),
        env=tuple(EnvVar(name=f"V{i}", value=lit(s)) for i, s in enumerate(values)),
    )


# ---------------------------------------------------------------------------
# The direct targets: bash and systemd


def printf_job(args, env=(), **kw) -> Job:
    """A job whose process prints its arguments NUL-terminated: what it gets, exactly."""
    fields = dict(
        name="dump",
        file="jobs/dump.job.toml",
        container=Container(
            image=lit("busybox:1.36"),
            command=(lit("printf"), lit("%s\\0")),
            args=tuple(a if isinstance(a, Value) else lit(a) for a in args),
        ),
        env=tuple(env),
    )
    fields.update(kw)
    return Job(**fields)


def env_job(env, **kw) -> Job:
    """A job whose process prints its environment NUL-separated."""
    fields = dict(
        name="envdump",
        file="jobs/envdump.job.toml",
        container=Container(image=lit("busybox:1.36"), command=(lit("/usr/bin/env"), lit("-0"))),
        env=tuple(env),
    )
    fields.update(kw)
    return Job(**fields)


def direct_n8n_member(*extra_env: EnvVar, hostile: str = "a b'c\"$d\n`e`\\", **kw) -> Member:
    """n8n with a host variable, env var HOSTILE=``hostile`` then ``extra_env``, a bind
    mount under ``~`` and a read-only volume."""
    fields = dict(
        name="n8n",
        datum="n8n.docker",
        file="datums/n8n.docker.toml",
        container=Container(image=lit("n8nio/n8n:latest")),
        env=(
            EnvVar(name="N8N_HOST", value=V(HostVar(name="N8N_HOST", op=":-", arg="localhost"))),
            EnvVar(name="N8N_PORT", value=lit("5678")),
            EnvVar(name="HOSTILE", value=lit(hostile)),
            *extra_env,
        ),
        ports=(PortMap(container=5678, host=5678, path="$.b00t.docker_args[1]"),),
        mounts=(
            Mount(source="~/.n8n", target="/home/node/.n8n", kind="bind"),
            Mount(source="n8n_data", target="/data", read_only=True),
        ),
        restart="unless-stopped",
        container_name="n8n",
    )
    fields.update(kw)
    return Member(**fields)


def python_member(**kw) -> Member:
    fields = dict(
        name="python",
        datum="python.docker",
        file="datums/python.docker.toml",
        container=Container(
            image=lit("python:3.11"),
            command=(lit("python"), lit("-m")),
            args=(lit("http.server"), lit("8000")),
        ),
        ports=(
            PortMap(container=8000),
            PortMap(container=53, host=5353, host_ip="127.0.0.1", protocol="udp"),
        ),
        resources=Resources(
            cpu_millis=500, memory_bytes=GiB, gpu=Gpu(count=1, type="nvidia", vendor="nvidia")
        ),
    )
    fields.update(kw)
    return Member(**fields)


def direct_pipeline_stack(**kw) -> Stack:
    fields = dict(
        name=PIPELINE,
        file="datums/llm-inference-pipeline.stack.toml",
        hint="LLM inference services",
        members=(direct_n8n_member(), python_member()),
        skipped=(SkippedMember(datum="python.cli", kind="cli", path="$.b00t.members[0]"),),
        services=(
            ServiceDecl(name="n8n", port=5678, member="n8n", host_port=5678),
            ServiceDecl(name="python", port=8000, member="python", host_port=8000),
            ServiceDecl(name="metrics", port=9100, member="python", host_port=9100),
        ),
    )
    fields.update(kw)
    return Stack(**fields)


def llm_job(stack: Stack | None = None, *, gpus: int = 1,
            cpu_path: str = "$.b00t.resources.cpu", **kw) -> Job:
    """The batch job of datums/llm-batch-job.job.toml: it requires ``stack``
    (``direct_pipeline_stack()``), refers to its n8n, waits for n8n and python, and asks
    for ``gpus`` shared A100s."""
    stack = direct_pipeline_stack() if stack is None else stack
    fields = dict(
        name="llm-batch-job",
        file="datums/llm-batch-job.job.toml",
        hint="Batch inference job for LLM pipeline",
        container=Container(
            image=lit("ghcr.io/my-org/llm-batch-processor:latest"),
            command=(lit("python"),),
            args=(lit("-m"), lit("batch_processor")),
        ),
        env=(
            EnvVar(name="MODEL_ENDPOINT", value=V(ref("n8n", "endpoint", 5678, "n8n",
                                                      stack=stack.name))),
            EnvVar(name="BATCH_SIZE", value=lit("32")),
        ),
        requires=(stack,),
        wait_for=(
            WaitFor(stack=stack.name, service="n8n", port=5678, host_port=5678, member="n8n"),
            WaitFor(stack=stack.name, service="python", port=8000, host_port=8000, member="python"),
        ),
        resources=Resources(
            cpu_millis=2000,
            memory_bytes=8 * GiB,
            cpu="2",
            memory="8Gi",
            cpu_path=cpu_path,
            gpu=Gpu(count=gpus, vendor="nvidia", model="a100", type="nvidia-a100", shared=True,
                    type_path="$.b00t.resources.gpu_type"),
        ),
        orchestration=Orchestration(schedule_type="queue_based", queue_name="gpu-queue"),
    )
    fields.update(kw)
    return Job(**fields)
