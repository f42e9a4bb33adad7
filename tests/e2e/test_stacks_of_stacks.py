"""Stacks of stacks (issue 16) on the real Docker engine (conftest.py's private dockerd):
deploying a stack that includes another (``members = ["boards.stack", ...]``) brings the
included stack up as itself (its own project or containers, its own labels) before the
parent; the parent's members reach it by name (compose); ``status`` and ``down`` of the
parent cover it. With ``--orchestrator docker-compose`` and ``direct``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.machine import ports_lock
from tests.e2e.probe import IMAGE, port_in_use
from tests.e2e.test_deploy_compose import b00tc
from tests.e2e.test_join_stack import HOST_PORT, MEMBER, STACK, compose_down

VIEWER = f"""[b00t]
name = "viewer"
type = "docker"
image = "{IMAGE}"
command = ["busybox", "sh", "-c"]
args = ["{{probe}} exec busybox sleep 600"]
"""

#: the compose viewer reaches board by its name on b00t-boards, then stays
REACH = "until busybox wget -q -O - ${STACK:boards:board:endpoint}/index.html; do busybox sleep 1; done;"

SITE = """[b00t]
name = "site"
type = "stack"
members = ["viewer.docker", "boards.stack"]
"""


@pytest.fixture
def site(docker_engine, tmp_path):
    (tmp_path / "board.docker.toml").write_text(MEMBER)
    (tmp_path / "boards.stack.toml").write_text(STACK)
    (tmp_path / "site.stack.toml").write_text(SITE)
    with ports_lock():
        if port_in_use(HOST_PORT):
            pytest.fail(f"host port {HOST_PORT} is in use: free it and rerun", pytrace=False)
        yield tmp_path


def run(engine, folder: Path, *args):
    return b00tc(engine, *args, config=folder / "c.toml", cwd=folder)


def containers(engine) -> list[tuple[str, str, str]]:
    """(member, stack it is part of, state) of every container b00tc made, sorted."""
    out = engine.docker("ps", "-a", "--filter", "label=app.kubernetes.io/managed-by=b00tc", "--format",
                        '{{.Label "app.kubernetes.io/name"}}|{{.Label "app.kubernetes.io/part-of"}}|{{.State}}')
    return sorted(tuple(line.split("|")) for line in out.stdout.decode().splitlines())  # type: ignore[misc]


def test_compose_deploys_the_included_stack_as_its_own_project_and_down_takes_both(docker_engine, site):
    (site / "viewer.docker.toml").write_text(VIEWER.replace("{probe}", REACH))
    out = site / "out"
    try:
        r = run(docker_engine, site, "deploy", "site.stack.toml", "--orchestrator", "docker-compose", "-o", out)
        assert r.returncode == 0, r.stdout + r.stderr
        ups = [x for x in r.stderr.splitlines() if x.startswith("+ ")]
        assert "-p boards" in ups[0] and "-p site" in ups[1], ups
        assert containers(docker_engine) == [("board", "boards", "running"), ("viewer", "site", "running")]
        viewer = docker_engine.docker("ps", "-q", "--filter", "label=com.docker.compose.project=site").stdout.decode().split()
        deadline = time.monotonic() + 60
        while True:
            logs = docker_engine.docker("logs", viewer[0]).stdout.decode()
            if "board: one copy" in logs or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "board: one copy" in logs, logs
        r = run(docker_engine, site, "status", "site.stack.toml", "--orchestrator", "docker-compose")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "boards.stack" in r.stdout and "site.stack" in r.stdout, r.stdout
        r = run(docker_engine, site, "down", "site.stack.toml", "--orchestrator", "docker-compose")
        assert r.returncode == 0, r.stdout + r.stderr
        assert containers(docker_engine) == []
        nets = docker_engine.docker("network", "ls", "--format", "{{.Name}}").stdout.decode().split()
        assert "b00t-boards" not in nets and "b00t-site" not in nets, nets
    finally:
        compose_down(docker_engine, site, "site", out / "site.compose.yaml")
        compose_down(docker_engine, site, "boards", out / "boards.compose.yaml")


def test_direct_deploys_the_included_stack_by_its_script_and_down_takes_both(docker_engine, site):
    (site / "viewer.docker.toml").write_text(VIEWER.replace("{probe}", ""))
    try:
        r = run(docker_engine, site, "deploy", "site.stack.toml", "--orchestrator", "direct", "-o", site / "out")
        assert r.returncode == 0, r.stdout + r.stderr
        assert containers(docker_engine) == [("board", "boards", "running"), ("viewer", "site", "running")]
        r = run(docker_engine, site, "status", "site.stack.toml", "--orchestrator", "direct")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "boards.stack" in r.stdout and "site.stack" in r.stdout, r.stdout
        r = run(docker_engine, site, "down", "site.stack.toml", "--orchestrator", "direct")
        assert r.returncode == 0, r.stdout + r.stderr
        assert containers(docker_engine) == []
    finally:
        run(docker_engine, site, "down", "site.stack.toml", "--orchestrator", "direct")
