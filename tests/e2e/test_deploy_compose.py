"""b00tc deploy on a real Docker engine (the private dockerd of conftest.py, reached through
DOCKER_HOST): a job deployed with the compose CLI gives back its exit code and output, and
a stack deployed through a real docker MCP server (npm @0xshariq/docker-mcp-server, whose
`docker-compose` tool runs `docker-compose -f FILE -p PROJECT up -d`) ends up running.

Detection runs for real too: `b00tc orchestrator list` sees the engine answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.probe import IMAGE

ROOT = Path(__file__).resolve().parents[2]

JOB = f"""[b00t]
name = "deployed"
type = "job"

[b00t.container]
image = "{IMAGE}"
command = "sh"
args = ["-c", "echo \\"deployed with $GREETING\\"; exit 3"]

[b00t.env]
GREETING = "b00tc"
"""

MEMBER = f"""[b00t]
name = "pong"
type = "docker"
image = "{IMAGE}"
command = "sh"
args = ["-c", "echo up; exec sleep 600"]
"""

STACK = """[b00t]
name = "pongs"
type = "stack"
members = ["pong.docker"]
"""


def b00tc(engine, *args, config: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**engine.env, "B00TC_CONFIG": str(config), "PYTHONPATH": str(ROOT),
           # detection asks the engine (docker info): on a loaded machine it may take over
           # the default 5 s, and the orchestrator would be reported unavailable (exit 3)
           "B00TC_PROBE_TIMEOUT": "60"}
    return subprocess.run([sys.executable, "-m", "b00tc", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_orchestrator_list_sees_the_engine(docker_engine, tmp_path):
    r = b00tc(docker_engine, "orchestrator", "list", config=tmp_path / "c.toml", cwd=tmp_path)
    line = next(x for x in r.stdout.splitlines() if " docker-compose " in x)
    assert line.startswith("✅ docker-compose ("), r.stdout


def test_compose_deploy_runs_the_job_and_returns_its_exit_code(docker_engine, tmp_path):
    (tmp_path / "deployed.job.toml").write_text(JOB)
    out = tmp_path / "out"
    try:
        r = b00tc(docker_engine, "job", "deploy", "deployed", "--orchestrator", "docker-compose", "-o", out,
                  config=tmp_path / "c.toml", cwd=tmp_path)
        assert r.returncode == 3, r.stdout + r.stderr
        assert "deployed with b00tc" in r.stdout, r.stdout + r.stderr
        containers = docker_engine.docker("ps", "-a", "--filter", "label=com.docker.compose.project=deployed",
                                          "--format", "{{.Status}}").stdout.decode().splitlines()
        assert len(containers) == 1 and containers[0].startswith("Exited (3)"), containers
    finally:
        docker_engine.compose("deployed", out / "deployed.compose.yaml", "down", check=False)


def test_compose_stack_deploy_through_a_real_docker_mcp_server(docker_engine, tmp_path):
    from tests.test_mcp import SERVERS, _install

    kind, spec, command = SERVERS["docker-mcp-server"]
    server = command(_install(kind, spec, "docker-mcp-server"))
    (tmp_path / "pong.docker.toml").write_text(MEMBER)
    (tmp_path / "pongs.stack.toml").write_text(STACK)
    config = tmp_path / "c.toml"
    config.write_text(
        "[mcp.docker-compose]\n"
        'profile = "docker-mcp-server"\n'
        f"command = {json.dumps(server)}\n"
    )
    out = tmp_path / "out"
    try:
        r = b00tc(docker_engine, "stack", "deploy", "pongs", "--orchestrator", "compose", "--via", "mcp", "-o", out,
                  config=config, cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "docker-mcp-server docker-compose: ok" in r.stderr
        deadline = time.monotonic() + 30
        while True:
            running = docker_engine.docker("ps", "--filter", "label=com.docker.compose.project=pongs",
                                           "--format", "{{.Names}}").stdout.decode().split()
            if running or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(running) == 1 and "pong" in running[0], running
    finally:
        docker_engine.compose("pongs", out / "pongs.compose.yaml", "down", check=False)


# -- deploy-time values: the secret reaches the container exactly --------------------------

#: quotes, $ and ${...} (compose must not interpolate a value), a backslash, a newline, a
#: tab, unicode, a trailing space
HOSTILE = "p'a\"s$s ${HOME} $$ `id` \\n\\\nline2\tü "

SECRET_JOB = f"""[b00t]
name = "secretjob"
type = "job"

[b00t.container]
image = "{IMAGE}"
command = "sh"
args = ["-c", 'printf "[%s][%s]" "$PASSWORD" "$MIXED"']

[b00t.env]
PASSWORD = "${{SECRET_PW}}"
MIXED = "a-${{SECRET_PW}}-b"
"""

SECRET_MEMBER = f"""[b00t]
name = "holder"
type = "docker"
image = "{IMAGE}"
command = "sh"
args = ["-c", 'printf "[%s][%s]\\n" "$PASSWORD" "$MIXED"; exec sleep 600']

[env]
PASSWORD = "${{SECRET_PW}}"
MIXED = "a-${{SECRET_PW}}-b"
"""

SECRET_STACK = """[b00t]
name = "secretstack"
type = "stack"
members = ["holder.docker"]
"""


def test_compose_deploy_gives_the_container_the_secret_exactly(docker_engine, tmp_path):
    """``deploy --set SECRET_PW=...``: the compose file keeps ``${SECRET_PW}`` (no value in
    it), deploy runs ``docker compose`` with the value in its environment, and the container
    prints each env value byte for byte (compose interpolates the variable once and does
    not touch the ``$`` inside its value)."""
    (tmp_path / "secretjob.job.toml").write_text(SECRET_JOB)
    out = tmp_path / "out"
    try:
        r = b00tc(docker_engine, "deploy", "secretjob.job.toml", "--orchestrator", "compose", "-o", out,
                  "--set", f"SECRET_PW={HOSTILE}", config=tmp_path / "c.toml", cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"[{HOSTILE}][a-{HOSTILE}-b]" in r.stdout, r.stdout
        written = (out / "secretjob.compose.yaml").read_text()
        assert "line2" not in written and "${SECRET_PW}" in written
        assert "line2" not in r.stderr
    finally:
        docker_engine.compose("secretjob", out / "secretjob.compose.yaml", "down", check=False)


def test_direct_deploy_gives_the_member_container_the_secret_exactly(docker_engine, tmp_path):
    """The direct target's script of a stack runs ``docker run`` for each member with the
    env values expanded by bash from deploy's environment (``--set``): the container's
    output (``docker logs``) holds each value byte for byte, and the script holds none."""
    (tmp_path / "holder.docker.toml").write_text(SECRET_MEMBER)
    (tmp_path / "secretstack.stack.toml").write_text(SECRET_STACK)
    out = tmp_path / "out"
    try:
        r = b00tc(docker_engine, "deploy", "secretstack.stack.toml", "--orchestrator", "direct", "-o", out,
                  "--set", f"SECRET_PW={HOSTILE}", config=tmp_path / "c.toml",
                  cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "line2" not in (out / "secretstack.sh").read_text()
        names = docker_engine.docker("ps", "-a", "--format", "{{.Names}}").stdout.decode().split()
        (name,) = [n for n in names if "holder" in n]
        deadline = time.monotonic() + 30
        while True:
            logs = docker_engine.docker("logs", name).stdout.decode()
            # the engine's log copier passes a line on once it ends: the value's own newline,
            # then the one printf writes last
            if logs.endswith("-b]\n") or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert logs == f"[{HOSTILE}][a-{HOSTILE}-b]\n"
    finally:
        b00tc(docker_engine, "down", "secretstack.stack.toml", "--orchestrator", "direct",
              config=tmp_path / "c.toml", cwd=tmp_path)
