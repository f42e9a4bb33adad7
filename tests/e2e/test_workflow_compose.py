"""A workflow job on compose, for real: b00tc's compose file for a DAG of bash steps, run by
docker-compose v1 on the private Docker engine (conftest.py).

The image, ``localhost/bash:test``, is the e2e busybox root filesystem plus this host's
``/bin/bash`` and GNU ``timeout`` with the shared libraries ``ldd`` names (no image can be
pulled here; Debian's bash is not static). ``docker-compose -p P -f F up`` runs the steps;
its exit status is not 0 when a step failed, and each step's outcome is its container's
exit code (``docker inspect``), which is what the execution layer reads.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from b00tc.compiler import BuildRequest, build
from tests.e2e import machine

IMAGE = "localhost/bash:test"
PROJECT = "b00tc-e2e-wf"
HOSTILE_CMD = "lit $x ${y:-z} $(no) `no` {{ w }} \\ \"q\" 'a' ü %s"
HOSTILE_ENV = "$5 $(not) {x} ü \\ \"q\" 'a' %d $"


def _ldd(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return re.findall(r"(/\S+\.so[.\d]*)", out)


def bash_image_tar(base: Path, out: Path) -> Path:
    """The e2e root filesystem with /bin/bash, /usr/bin/timeout and their libraries added."""
    files = {"/bin/bash": "/bin/bash", "/usr/bin/timeout": "/usr/bin/timeout"}
    for binary in list(files):
        for lib in _ldd(binary):
            files[lib] = lib
    with tarfile.open(base) as src, tarfile.open(out, "w") as dst:
        names = set()
        for member in src.getmembers():
            if "/" + member.name in files:
                continue
            names.add(member.name)
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        for target in sorted(files):
            parts = target.strip("/").split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in names:
                    info = tarfile.TarInfo(d)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    dst.addfile(info)
                    names.add(d)
            data = Path(files[target]).resolve().read_bytes()
            info = tarfile.TarInfo(target.strip("/"))
            info.mode, info.size = 0o755, len(data)
            dst.addfile(info, io.BytesIO(data))
    return out


@pytest.fixture(scope="module")
def bash_engine(docker_engine, rootfs_tar, tmp_path_factory):
    tar = bash_image_tar(rootfs_tar, tmp_path_factory.mktemp("bash-image") / "rootfs.tar")
    docker_engine.docker("import", *machine.IMPORT_CHANGES, "--change", 'CMD ["/bin/bash"]', str(tar), IMAGE)
    return docker_engine


def s(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


#: reads what write wrote, from its cwd under the workspace; writes the env value and a
#: literal of the command's own text back for the test to compare
READ = ("grep -q hello ../shared.txt && pwd > ../read.txt && printf '%s' \"$HOSTILE\" > ../env.txt"
        " && cat > ../cmd.txt <<'EOF'\n" + HOSTILE_CMD + "\nEOF")


def datum(name: str) -> str:
    text = f"""[b00t]
name = "{name}"
type = "job"

[b00t.job]
description = "e2e"
image = "{IMAGE}"

[b00t.job.config]
mode = "dag"
retry_failed_steps = 1
rollback_on_failure = true

[b00t.job.env]
HOSTILE = {s(HOSTILE_ENV)}

[[b00t.job.steps]]
name = "write"
description = "writes into the workspace"
[b00t.job.steps.task]
type = "bash"
command = "echo hello > shared.txt; mkdir -p sub; echo run >> tries.txt"

[[b00t.job.steps]]
name = "read"
description = "reads what write wrote"
depends_on = ["write"]
[b00t.job.steps.task]
type = "bash"
cwd = "sub"
command = {s(READ)}

[[b00t.job.steps]]
name = "slow"
description = "times out, twice"
depends_on = ["write"]
[b00t.job.steps.task]
type = "bash"
command = "echo try >> slow.txt; sleep 30"
timeout_ms = 700

[[b00t.job.steps]]
name = "after slow"
description = "never runs: slow failed"
depends_on = ["slow"]
[b00t.job.steps.task]
type = "bash"
command = "touch after.txt"

[[b00t.job.rollback]]
name = "undo"
description = "runs only when started after a failure (the profile rollback)"
[b00t.job.rollback.task]
type = "bash"
command = "rm shared.txt; echo undone > undo.txt"
"""
    return text


def test_a_dag_of_steps_runs_on_the_docker_engine(bash_engine, tmp_path):
    src = tmp_path / "wf.job.toml"
    src.write_text(datum("wf"))
    r = build(BuildRequest(paths=[str(src)], targets=["compose"], host_env={}, datum_path=""))
    assert r.ok, [d.message for d in r.diags]
    ((_, out),) = r.outputs
    f = tmp_path / out.path
    f.write_text(out.content)
    engine = bash_engine
    try:
        started = time.monotonic()
        up = engine.compose(PROJECT, f, "up", check=False, timeout=300)
        took = time.monotonic() - started
        # a step failed: the exit status says so
        assert up.returncode != 0, (up.stdout + up.stderr).decode()

        def exit_code(service: str):
            ids = engine.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}",
                                "--filter", f"label=com.docker.compose.service={service}").stdout.decode().split()
            if not ids:
                return None
            state = engine.inspect(ids[0])["State"]
            # created but never started: docker's zero time
            return None if state["StartedAt"].startswith("0001-") else state["ExitCode"]

        assert exit_code("write") == 0
        assert exit_code("read") == 0
        assert exit_code("slow") == 124  # timeout's status, after its retry
        assert exit_code("after-slow") is None, "a step after a failed one must not run"
        assert took < 60, took

        def workspace(path: str) -> str:
            return engine.docker("run", "--rm", "-v", f"{PROJECT}_workspace:/workspace", IMAGE,
                                 "cat", f"/workspace/{path}").stdout.decode()

        assert workspace("read.txt") == "/workspace/sub\n"  # cwd is under the workspace
        assert workspace("env.txt") == HOSTILE_ENV  # env byte for byte
        assert workspace("cmd.txt") == HOSTILE_CMD + "\n"  # the command byte for byte
        assert workspace("slow.txt") == "try\ntry\n"  # retry_failed_steps = 1: run twice
        assert workspace("tries.txt") == "run\n"
        listing = engine.docker("run", "--rm", "-v", f"{PROJECT}_workspace:/workspace", IMAGE,
                                "ls", "/workspace").stdout.decode().split()
        assert "after.txt" not in listing and "undo.txt" not in listing  # rollback: not by default
        # the orchestrator starts the rollback steps after a failure (their profile)
        undo = engine.compose(PROJECT, f, "--profile", "rollback", "up", "undo", check=False, timeout=120)
        assert undo.returncode == 0, (undo.stdout + undo.stderr).decode()
        assert workspace("undo.txt") == "undone\n"
        assert exit_code("undo") == 0
    finally:
        engine.compose(PROJECT, f, "down", "-v", check=False, timeout=120)
