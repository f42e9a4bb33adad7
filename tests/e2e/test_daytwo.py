"""Day two for real on the private Docker engine (conftest.py, reached through DOCKER_HOST):
deploy, status, logs, down and status after down, for a compose job, a compose stack and
a direct stack (its script's containers); and down refusing a compose project that holds
a container b00tc did not create.

Kubernetes and Nomad cannot run here: tests/test_daytwo.py drives them with fake kubectl
and nomad executables, and tests/test_mcp.py reaches the real mcp-server-kubernetes.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.e2e.probe import IMAGE

ROOT = Path(__file__).resolve().parents[2]

JOB = f"""[b00t]
name = "told"
type = "job"

[b00t.container]
image = "{IMAGE}"
command = "sh"
args = ["-c", "echo \\"told by $WHO\\"; echo on-stderr >&2; exit 3"]

[b00t.env]
WHO = "b00tc"
"""

MEMBER = f"""[b00t]
name = "ticker"
type = "docker"
image = "{IMAGE}"
command = "sh"
args = ["-c", "echo ticking; exec sleep 600"]
"""


def stack(name: str) -> str:
    return f'[b00t]\nname = "{name}"\ntype = "stack"\nmembers = ["ticker.docker"]\n'


def b00tc_env(engine, folder: Path) -> dict:
    return {**engine.env, "B00TC_CONFIG": str(folder / "config.toml"), "B00TC_STATE_DIR": str(folder / "state"),
           "PYTHONPATH": str(ROOT),
           # detection asks the engine (docker info): on a loaded machine it may take over
           # the default 5 s, and the orchestrator would be reported unavailable (exit 3)
           "B00TC_PROBE_TIMEOUT": "60", "B00T_CONTAINER_RUNTIME": "docker"}


def b00tc(engine, folder: Path, *args) -> subprocess.CompletedProcess:
    env = b00tc_env(engine, folder)
    return subprocess.run([sys.executable, "-m", "b00tc", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=folder, timeout=300)


def status(engine, folder: Path, name: str, orchestrator: str) -> tuple[int, dict]:
    r = b00tc(engine, folder, "status", name, "--orchestrator", orchestrator, "--format", "json")
    assert r.stdout.strip(), r.stderr
    return r.returncode, json.loads(r.stdout)


def wait_for(engine, folder, name, orchestrator, state, limit=60) -> tuple[int, dict]:
    deadline = time.monotonic() + limit
    while True:
        code, doc = status(engine, folder, name, orchestrator)
        if doc["state"] == state or time.monotonic() > deadline:
            return code, doc
        time.sleep(0.5)


def containers(engine, label: str) -> list[str]:
    return engine.docker("ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}").stdout.decode().split()


def test_compose_job_status_logs_down(docker_engine, tmp_path):
    (tmp_path / "told.job.toml").write_text(JOB)
    try:
        r = b00tc(docker_engine, tmp_path, "deploy", "told", "--orchestrator", "compose", "-o", tmp_path / "out")
        assert r.returncode == 3, r.stdout + r.stderr
        code, doc = status(docker_engine, tmp_path, "told", "compose")
        assert (code, doc["state"]) == (1, "failed"), doc
        assert {"kind": "container", "name": "told", "state": "exited", "detail": "exit 3",
                "managed_by_b00tc": True} in doc["objects"]
        r = b00tc(docker_engine, tmp_path, "logs", "told", "--orchestrator", "compose")
        assert r.returncode == 0, r.stderr
        assert "told by b00tc" in r.stdout and "on-stderr" in r.stdout
        r = b00tc(docker_engine, tmp_path, "down", "told", "--orchestrator", "compose")
        assert r.returncode == 0, r.stderr
        assert containers(docker_engine, "com.docker.compose.project=told") == []
        code, doc = status(docker_engine, tmp_path, "told", "compose")
        assert (code, doc["state"], doc["objects"]) == (4, "not deployed", [])
    finally:
        docker_engine.compose("told", tmp_path / "out" / "told.compose.yaml", "down", check=False)


def test_compose_stack_status_logs_down_and_a_project_b00tc_did_not_make(docker_engine, tmp_path):
    (tmp_path / "ticker.docker.toml").write_text(MEMBER)
    (tmp_path / "ticks.stack.toml").write_text(stack("ticks"))
    try:
        r = b00tc(docker_engine, tmp_path, "deploy", "ticks", "--orchestrator", "compose", "-o", tmp_path / "out")
        assert r.returncode == 0, r.stdout + r.stderr
        code, doc = wait_for(docker_engine, tmp_path, "ticks", "compose", "up")
        assert (code, doc["state"]) == (0, "up"), doc
        assert [(o["name"], o["state"]) for o in doc["objects"]] == [("ticker", "running")]
        r = b00tc(docker_engine, tmp_path, "logs", "ticks", "--orchestrator", "compose")
        assert "ticking" in r.stdout, r.stdout + r.stderr
        r = b00tc(docker_engine, tmp_path, "down", "ticks", "--orchestrator", "compose", "--dry-run")
        assert r.returncode == 0 and "would run: docker-compose -p ticks" in r.stderr, r.stderr
        assert status(docker_engine, tmp_path, "ticks", "compose")[1]["state"] == "up"
        # a container in the project that b00tc did not create: down touches nothing
        docker_engine.docker("create", "--name", "intruder", "--label", "com.docker.compose.project=ticks",
                             "--label", "com.docker.compose.service=ticker", "--label", "com.docker.compose.oneoff=False",
                             IMAGE, "true")
        r = b00tc(docker_engine, tmp_path, "down", "ticks", "--orchestrator", "compose")
        assert r.returncode == 1 and "holds containers b00tc did not create" in r.stderr, r.stdout + r.stderr
        assert sorted(containers(docker_engine, "com.docker.compose.project=ticks")) == ["intruder", "ticks_ticker_1"]
        docker_engine.docker("rm", "intruder")
        r = b00tc(docker_engine, tmp_path, "down", "ticks", "--orchestrator", "compose")
        assert r.returncode == 0, r.stderr
        assert containers(docker_engine, "com.docker.compose.project=ticks") == []
        code, doc = status(docker_engine, tmp_path, "ticks", "compose")
        assert (code, doc["state"]) == (4, "not deployed")
    finally:
        docker_engine.docker("rm", "-f", "intruder", check=False)
        docker_engine.compose("ticks", tmp_path / "out" / "ticks.compose.yaml", "down", check=False)


def test_direct_stack_status_logs_down(docker_engine, tmp_path):
    (tmp_path / "ticker.docker.toml").write_text(MEMBER)
    (tmp_path / "clock.stack.toml").write_text(stack("clock"))
    try:
        r = b00tc(docker_engine, tmp_path, "deploy", "clock", "--orchestrator", "direct")
        assert r.returncode == 0, r.stdout + r.stderr
        code, doc = wait_for(docker_engine, tmp_path, "clock", "direct", "up")
        assert (code, doc["state"]) == (0, "up"), doc
        assert [(o["name"], o["state"], o["managed_by_b00tc"]) for o in doc["objects"]] == [("ticker", "running", True)]
        deadline = time.monotonic() + 30
        while True:
            r = b00tc(docker_engine, tmp_path, "logs", "clock", "--orchestrator", "direct")
            if "clock-ticker | ticking" in r.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.returncode == 0 and "clock-ticker | ticking" in r.stdout, r.stdout + r.stderr
        # --follow runs the script's `logs -f` (docker logs -f of each container in the
        # background, prefixed): its first line arrives and it keeps running until stopped
        follow = subprocess.Popen([sys.executable, "-m", "b00tc", "logs", "clock", "--orchestrator", "direct", "--follow"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                  env=b00tc_env(docker_engine, tmp_path), start_new_session=True)
        try:
            lines: queue.Queue = queue.Queue()
            threading.Thread(target=lambda: lines.put(follow.stdout.readline()), daemon=True).start()
            first = lines.get(timeout=30)  # (a line-buffering bug would block here: no hang)
            time.sleep(1)
            assert first == "clock-ticker | ticking\n" and follow.poll() is None, (first, follow.poll())
        finally:
            os.killpg(follow.pid, signal.SIGTERM)
            follow.wait(timeout=30)
        r = b00tc(docker_engine, tmp_path, "down", "clock", "--orchestrator", "direct")
        assert r.returncode == 0, r.stderr
        assert containers(docker_engine, "app.kubernetes.io/part-of=clock") == []
        code, doc = status(docker_engine, tmp_path, "clock", "direct")
        assert (code, doc["state"]) == (4, "not deployed")
    finally:
        docker_engine.docker("rm", "-f", "clock-ticker", check=False)


def test_direct_stack_up_twice_keeps_the_running_stack(docker_engine, tmp_path):
    """Issue 15: the bash target's ``up`` was not idempotent: ``docker run --name`` of a
    name that exists fails, so a second deploy of a running stack failed. Now the second
    ``up`` leaves the running container alone (same id); a changed member replaces it; and
    a container of that name that b00tc did not create makes ``up`` fail, untouched."""
    (tmp_path / "ticker.docker.toml").write_text(MEMBER)
    (tmp_path / "twice.stack.toml").write_text(stack("twice"))
    ids = lambda: engine_ids(docker_engine, "app.kubernetes.io/part-of=twice")  # noqa: E731
    try:
        first = b00tc(docker_engine, tmp_path, "deploy", "twice", "--orchestrator", "direct")
        assert first.returncode == 0, first.stdout + first.stderr
        before = ids()
        again = b00tc(docker_engine, tmp_path, "deploy", "twice", "--orchestrator", "direct")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "twice-ticker: running, unchanged" in again.stderr
        assert ids() == before and len(before) == 1
        (tmp_path / "ticker.docker.toml").write_text(MEMBER.replace("ticking", "tocking"))
        changed = b00tc(docker_engine, tmp_path, "deploy", "twice", "--orchestrator", "direct")
        assert changed.returncode == 0, changed.stderr
        assert len(ids()) == 1 and ids() != before
        b00tc(docker_engine, tmp_path, "down", "twice", "--orchestrator", "direct")
        docker_engine.docker("run", "-d", "--name", "twice-ticker", IMAGE, "sleep", "600")
        theirs = b00tc(docker_engine, tmp_path, "deploy", "twice", "--orchestrator", "direct")
        assert theirs.returncode != 0 and "b00tc did not create" in theirs.stdout + theirs.stderr
    finally:
        docker_engine.docker("rm", "-f", "twice-ticker", check=False)


def engine_ids(engine, label: str) -> list[str]:
    return engine.docker("ps", "-q", "--no-trunc", "--filter", f"label={label}").stdout.decode().split()
