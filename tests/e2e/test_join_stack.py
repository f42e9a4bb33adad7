"""Stacks are shared and long-running; jobs come and go (issue 15). On the real Docker
engine (conftest.py's private dockerd): deploying a stack, then a job that requires it,
runs ONE copy of each stack member (the job's compose file holds only the job and its wait
helper, which join the stack's network b00t-<stack>; a second copy would clash on the
member's host port), the job reaches the member by its service name and its exit code is
deploy's; deploying the job while the stack is down brings the stack up first; the job's
day two leaves the stack running. The same flow with ``--orchestrator direct`` (the stack's
script, a job on this host reaching the member's published port)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.machine import ports_lock
from tests.e2e.probe import IMAGE, port_in_use
from tests.e2e.test_deploy_compose import b00tc

#: the member's published host port: a second copy of the member could not start
HOST_PORT = 28093
JOB_EXIT = 5

MEMBER = f"""[b00t]
name = "board"
type = "docker"
image = "{IMAGE}"
command = ["busybox", "sh", "-c"]
args = ["busybox sleep 2; busybox mkdir -p /tmp/www; echo 'board: one copy' > /tmp/www/index.html; exec busybox httpd -f -p 8088 -h /tmp/www"]
docker_args = ["-p", "{HOST_PORT}:8088"]
"""

STACK = """[b00t]
name = "boards"
type = "stack"
members = ["board.docker"]

[b00t.services]
board = { port = 8088, protocol = "http" }
"""

JOB = f"""[b00t]
name = "reader"
type = "job"

[b00t.container]
image = "{IMAGE}"
command = ["busybox", "sh", "-c"]
args = ["echo \\"endpoint ${{STACK:boards:board:endpoint}}\\"; busybox wget -q -O - ${{STACK:boards:board:endpoint}}/index.html || echo 'fetch failed'; exit {JOB_EXIT}"]

[b00t.dependencies]
requires_stacks = ["boards"]
wait_for_services = ["board:8088"]
"""


@pytest.fixture
def datums(docker_engine, tmp_path):
    """The datums in tmp_path; the wait helper's default image (busybox:1.36, which deploy
    uses: it has no --helper-image) is the local busybox; the host port free and held."""
    (tmp_path / "board.docker.toml").write_text(MEMBER)
    (tmp_path / "boards.stack.toml").write_text(STACK)
    (tmp_path / "reader.job.toml").write_text(JOB)
    docker_engine.docker("tag", IMAGE, "busybox:1.36")
    with ports_lock():
        if port_in_use(HOST_PORT):
            pytest.fail(f"host port {HOST_PORT} is in use: free it and rerun", pytrace=False)
        yield tmp_path


def run(engine, folder: Path, *args) -> "subprocess.CompletedProcess":  # noqa: F821
    return b00tc(engine, *args, config=folder / "c.toml", cwd=folder)


def board_containers(engine) -> list[tuple[str, str, str]]:
    """(id, compose project, else the stack it is part of, state) of every container of
    the member board, counted by its labels."""
    out = engine.docker("ps", "-a", "--filter", "label=b00t.io/datum=board.docker", "--format",
                        '{{.ID}}|{{.Label "com.docker.compose.project"}}|{{.Label "app.kubernetes.io/part-of"}}'
                        '|{{.State}}')
    rows = [line.split("|") for line in out.stdout.decode().splitlines()]
    return [(ident, project or part_of, state) for ident, project, part_of, state in rows]


def compose_down(engine, folder: Path, project: str, file: Path) -> None:
    if file.exists():
        engine.compose(project, file, "down", "-v", "-t", "0", "--remove-orphans", check=False, timeout=120)


def test_compose_stack_then_job_runs_one_copy_and_returns_the_jobs_exit_code(docker_engine, datums):
    stack_out, job_out = datums / "stack-out", datums / "job-out"
    try:
        r = run(docker_engine, datums, "deploy", "boards.stack.toml", "--orchestrator", "docker-compose",
                "-o", stack_out)
        assert r.returncode == 0, r.stdout + r.stderr
        [(first, project, state)] = board_containers(docker_engine)
        assert (project, state) == ("boards", "running")

        r = run(docker_engine, datums, "deploy", "reader.job.toml", "--orchestrator", "docker-compose",
                "-o", job_out)
        assert r.returncode == JOB_EXIT, r.stdout + r.stderr
        assert "endpoint http://board:8088" in r.stdout
        assert "board: one copy" in r.stdout, r.stdout + r.stderr
        # the stack's up -d again (deploy brings required stacks up first): left running
        assert f"-p boards -f {job_out}/boards.compose.yaml up -d" in r.stderr
        assert board_containers(docker_engine) == [(first, "boards", "running")]
        # the job's project: the wait helper and the job, nothing of the stack
        services = docker_engine.docker(
            "ps", "-a", "--filter", "label=com.docker.compose.project=reader", "--format",
            '{{.Label "com.docker.compose.service"}}').stdout.decode().split()
        assert sorted(services) == ["reader", "wait-for-board"]
        written = yaml.safe_load((job_out / "reader.compose.yaml").read_text())
        assert list(written["services"]) == ["wait-for-board", "reader"]
        assert written["networks"] == {"b00t-boards": {"name": "b00t-boards", "external": True}}

        # day two of the job leaves the stack alone
        r = run(docker_engine, datums, "down", "reader.job.toml", "--orchestrator", "docker-compose")
        assert r.returncode == 0, r.stdout + r.stderr
        assert board_containers(docker_engine) == [(first, "boards", "running")]
        assert not docker_engine.docker("ps", "-aq", "--filter",
                                        "label=com.docker.compose.project=reader").stdout.strip()
    finally:
        compose_down(docker_engine, datums, "reader", job_out / "reader.compose.yaml")
        compose_down(docker_engine, datums, "boards", stack_out / "boards.compose.yaml")
        compose_down(docker_engine, datums, "boards", job_out / "boards.compose.yaml")


def test_compose_job_deploy_brings_its_stack_up_first(docker_engine, datums):
    out = datums / "out"
    try:
        assert board_containers(docker_engine) == []
        r = run(docker_engine, datums, "deploy", "reader.job.toml", "--orchestrator", "docker-compose", "-o", out)
        assert r.returncode == JOB_EXIT, r.stdout + r.stderr
        assert "board: one copy" in r.stdout, r.stdout + r.stderr
        lines = [x for x in r.stderr.splitlines() if x.startswith("+ ")]
        assert "-p boards" in lines[0] and "-p reader" in lines[1], lines
        [(_, project, state)] = board_containers(docker_engine)
        assert (project, state) == ("boards", "running")
        # the stack's own day two sees it (it is the stack's project, not the job's)
        r = run(docker_engine, datums, "status", "boards.stack.toml", "--orchestrator", "docker-compose")
        assert r.returncode == 0, r.stdout + r.stderr
        # and takes it down, network included, while the exited job still sits on it
        r = run(docker_engine, datums, "down", "boards.stack.toml", "--orchestrator", "docker-compose")
        assert r.returncode == 0, r.stdout + r.stderr
        assert board_containers(docker_engine) == []
        nets = docker_engine.docker("network", "ls", "--format", "{{.Name}}").stdout.decode().split()
        assert "b00t-boards" not in nets, nets
    finally:
        compose_down(docker_engine, datums, "reader", out / "reader.compose.yaml")
        compose_down(docker_engine, datums, "boards", out / "boards.compose.yaml")


def test_direct_stack_then_job_runs_one_copy_and_returns_the_jobs_exit_code(docker_engine, datums):
    """The direct job runs on this host (its image unused): it reaches the member through
    the published port, after the stack's script brought the stack up (or left it)."""
    try:
        r = run(docker_engine, datums, "deploy", "reader.job.toml", "--orchestrator", "direct", "-o", datums / "a")
        assert r.returncode == JOB_EXIT, r.stdout + r.stderr
        assert "board: one copy" in r.stdout, r.stdout + r.stderr
        [(first, stack, state)] = board_containers(docker_engine)
        assert (stack, state) == ("boards", "running")
        r = run(docker_engine, datums, "deploy", "reader.job.toml", "--orchestrator", "direct", "-o", datums / "b")
        assert r.returncode == JOB_EXIT, r.stdout + r.stderr
        assert "board: one copy" in r.stdout
        assert board_containers(docker_engine) == [(first, "boards", "running")]
        r = run(docker_engine, datums, "down", "reader.job.toml", "--orchestrator", "direct")
        assert r.returncode == 0, r.stdout + r.stderr
        assert board_containers(docker_engine) == [(first, "boards", "running")]
    finally:
        run(docker_engine, datums, "down", "reader.job.toml", "--orchestrator", "direct")
        run(docker_engine, datums, "down", "boards.stack.toml", "--orchestrator", "direct")
        deadline = time.monotonic() + 30
        while board_containers(docker_engine) and time.monotonic() < deadline:
            time.sleep(0.5)


VIEWER = f"""[b00t]
name = "viewer"
type = "docker"
image = "{IMAGE}"
command = ["busybox", "sh", "-c"]
args = ["until busybox wget -q -O - ${{STACK:boards:board:endpoint}}/index.html; do busybox sleep 1; done; exec busybox sleep 600"]
"""

VIEWERS = """[b00t]
name = "viewers"
type = "stack"
members = ["viewer.docker"]

[b00t.dependencies]
requires_stacks = ["boards"]
"""


def test_compose_stack_requiring_a_stack_brings_it_up_first_and_joins_it(docker_engine, datums):
    """A stack that requires another is a project of its own too: its member stays on its
    network (b00t-viewers) and joins b00t-boards, where it reaches board by name."""
    (datums / "viewer.docker.toml").write_text(VIEWER)
    (datums / "viewers.stack.toml").write_text(VIEWERS)
    out = datums / "out"
    try:
        r = run(docker_engine, datums, "deploy", "viewers.stack.toml", "--orchestrator", "docker-compose", "-o", out)
        assert r.returncode == 0, r.stdout + r.stderr
        [(_, project, state)] = board_containers(docker_engine)
        assert (project, state) == ("boards", "running")
        viewer = docker_engine.docker("ps", "-q", "--filter", "label=com.docker.compose.project=viewers").stdout.decode().split()
        assert len(viewer) == 1
        deadline = time.monotonic() + 60
        while True:
            logs = docker_engine.docker("logs", viewer[0]).stdout.decode()
            if "board: one copy" in logs or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "board: one copy" in logs, logs
        nets = docker_engine.inspect(viewer[0])["NetworkSettings"]["Networks"]
        assert sorted(nets) == ["b00t-boards", "b00t-viewers"]
    finally:
        compose_down(docker_engine, datums, "viewers", out / "viewers.compose.yaml")
        compose_down(docker_engine, datums, "boards", out / "boards.compose.yaml")
