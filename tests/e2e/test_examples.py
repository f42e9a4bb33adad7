"""Issue 15: "examples/ deploys with --orchestrator direct and docker-compose in the
e2e tests." The flagship job (examples/llm-batch-job.job.toml) is deployed as a user
would, on the real Docker engine (conftest.py's private dockerd): deploy brings its
required stack up first (n8n and the Python inference API), the job's wait helpers let it
start once both answer, the job reaches n8n through its endpoint reference, and its exit
code is deploy's.

What the machine cannot give is stood in, and only that:
- the images cannot be pulled: n8nio/n8n, python:3.11-slim and the batch processor are
  the local busybox root filesystem tagged with those names, n8n's command an httpd on
  5678, and ``python`` a script that serves ``-m http.server PORT`` with httpd and runs
  ``-m batch_processor`` as a fetch of ``$MODEL_ENDPOINT`` (on the direct target the job
  runs on this host: the same script first on PATH, with busybox's wget);
- there is no GPU here (test-runtimes.md): the copy of the job drops its three gpu_ lines.
Everything else is the examples as they are."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.e2e.machine import IMPORT_CHANGES, ports_lock
from tests.e2e.probe import IMAGE, port_in_use

ROOT = Path(__file__).resolve().parents[2]
PORTS = (5678, 8000)  # the examples' published host ports

PYTHON = """#!/bin/sh
# b00tc e2e: a stand-in for the examples' Python programs (no Python in the test image)
case "$2" in
  http.server) exec httpd -f -p "$3" -h /www ;;
  batch_processor)
    WGET ${WGET_FLAGS} -O - "$MODEL_ENDPOINT" >/dev/null || exit 3
    echo "batch of $BATCH_SIZE processed with $4 via $MODEL_ENDPOINT"
    exit 0 ;;
esac
echo "stand-in python: $*" >&2
exit 2
"""


def _stand_in(wget: str) -> bytes:
    return PYTHON.replace("WGET ${WGET_FLAGS}", f"{wget} -q").encode()


def _images(engine, rootfs: Path, work: Path) -> None:
    """The rootfs plus /usr/local/bin/python and /www/index.html, imported as the
    examples' images."""
    tar = work / "examples-rootfs.tar"
    shutil.copy(rootfs, tar)
    with tarfile.open(tar, "a") as t:
        for name, data, mode in (("usr/local/bin/python", _stand_in("wget"), 0o755),
                                 ("www/index.html", b"n8n stand-in\n", 0o644)):
            for d in ("usr/local", "usr/local/bin", "www"):
                if d not in t.getnames():
                    info = tarfile.TarInfo(d)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    t.addfile(info)
            info = tarfile.TarInfo(name)
            info.mode, info.size = mode, len(data)
            t.addfile(info, io.BytesIO(data))
    engine.docker("import", *IMPORT_CHANGES, "--change", 'CMD ["httpd", "-f", "-p", "5678", "-h", "/www"]',
                  tar, "n8nio/n8n:latest")
    engine.docker("import", *IMPORT_CHANGES, "--change", 'CMD ["/bin/sh"]', tar, "python:3.11-slim")
    engine.docker("tag", "python:3.11-slim", "ghcr.io/my-org/llm-batch-processor:latest")
    engine.docker("tag", IMAGE, "busybox:1.36")  # the wait helpers' image (deploy has no --helper-image)


@pytest.fixture
def examples(docker_engine, rootfs_tar, tmp_path):
    folder = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", folder)
    job = folder / "llm-batch-job.job.toml"
    text = job.read_text()
    kept = [line for line in text.splitlines(keepends=True) if not line.startswith("gpu_")]
    assert len(kept) == len(text.splitlines()) - 3, "the example's gpu lines changed: update this test"
    job.write_text("".join(kept))
    _images(docker_engine, Path(rootfs_tar), tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_bytes(_stand_in("/bin/busybox wget"))
    (bin_dir / "python").chmod(0o755)
    with ports_lock():
        busy = [p for p in PORTS if port_in_use(p)]
        if busy:
            pytest.fail(f"host ports {busy} are in use: free them and rerun", pytrace=False)
        yield folder, bin_dir


def _b00tc(engine, folder: Path, bin_dir: Path, *args) -> subprocess.CompletedProcess:
    env = {**engine.env, "B00TC_CONFIG": str(folder / "c.toml"), "PYTHONPATH": str(ROOT),
           "B00TC_STATE_DIR": str(folder / "state"), "B00TC_PROBE_TIMEOUT": "60",
           "PATH": f"{bin_dir}:{engine.env.get('PATH', '/usr/bin:/bin')}"}
    return subprocess.run([sys.executable, "-m", "b00tc", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=folder, timeout=600)


def _members(engine) -> list[str]:
    out = engine.docker("ps", "--filter", "label=app.kubernetes.io/part-of=llm-inference-pipeline",
                        "--format", '{{.Label "app.kubernetes.io/name"}}')
    return sorted(out.stdout.decode().split())  # a second copy of a member would be listed twice


@pytest.mark.parametrize("orchestrator", ["docker-compose", "direct"])
def test_the_flagship_job_deploys_with_its_stack(docker_engine, examples, orchestrator):
    folder, bin_dir = examples
    job = folder / "llm-batch-job.job.toml"
    stack = folder / "llm-inference-pipeline.stack.toml"
    try:
        r = _b00tc(docker_engine, folder, bin_dir, "deploy", job, "--orchestrator", orchestrator, "-o", folder / "out")
        assert r.returncode == 0, r.stdout + r.stderr
        endpoint = "http://n8n:5678" if orchestrator == "docker-compose" else "http://localhost:5678"
        assert f"batch of 32 processed with llama-70b-q4 via {endpoint}" in r.stdout, r.stdout + r.stderr
        assert _members(docker_engine) == ["n8n", "python"]
        again = _b00tc(docker_engine, folder, bin_dir, "deploy", job, "--orchestrator", orchestrator,
                       "-o", folder / "out2")
        assert again.returncode == 0, again.stdout + again.stderr
        assert _members(docker_engine) == ["n8n", "python"]  # one copy of each, still
    finally:
        _b00tc(docker_engine, folder, bin_dir, "down", job, "--orchestrator", orchestrator)
        _b00tc(docker_engine, folder, bin_dir, "down", stack, "--orchestrator", orchestrator, "--volumes")
        ids = docker_engine.docker("ps", "-aq", "--filter", "label=app.kubernetes.io/managed-by=b00tc").stdout.split()
        if ids:
            docker_engine.docker("rm", "-f", *[i.decode() for i in ids], check=False)
