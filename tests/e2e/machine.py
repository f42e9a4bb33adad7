"""The machine under the end-to-end tests: Debian packages, the busybox image, a private
Docker engine, podman with private state, and compiling with the real CLI. conftest.py
turns these into session fixtures; no test in here."""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from tests.e2e import probe

PACKAGES = ["docker.io", "docker-compose", "podman", "runc", "busybox-static"]
APPLETS = [
    "sh", "ash", "env", "nc", "httpd", "wget", "sleep", "cat", "echo", "test", "[", "printf",
    "mkdir", "date", "expr", "ls", "id", "true", "false", "nslookup", "hostname", "grep",
    "sed", "head", "tr", "wc", "kill", "ps",
]
#: This session's names and addresses: unique per run, so that two sessions on one machine
#: (or another engine's networks) never share a bridge, a subnet or CNI state.
SESSION = f"{os.getpid() % 100000:05d}"
_OCTETS = random.Random().sample(range(100, 250), 2)
#: the podman network of the k8s test, its own bridge, and the fixed addresses its stack
#: pods get. The image's /etc/hosts maps ``page`` to the page pod: podman (CNI, no dnsname
#: plugin here) has no cluster DNS, and this is the stand-in for the Service name (see
#: test_k8s_podman.py).
PODMAN_NETWORK = f"b00tc-e2e-{SESSION}"
PODMAN_BRIDGE = f"b00te2e{SESSION}"
PODMAN_SUBNET = f"10.89.{_OCTETS[0]}.0/24"
PAGE_POD_IP = f"10.89.{_OCTETS[0]}.10"
SIDE_POD_IP = f"10.89.{_OCTETS[0]}.11"
INFRA_IMAGE = "localhost/b00tc-e2e-infra:test"
#: the private Docker engine's own address pool
DOCKER_POOL = f"base=10.{_OCTETS[1]}.0.0/16,size=24"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unsupported() -> str | None:
    """Why the e2e tests cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return f"this is not Linux ({sys.platform})"
    if os.geteuid() != 0:
        return "not running as root (they install Debian packages and start a private Docker engine and podman)"
    if not Path("/etc/debian_version").exists() or not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        return "this is not a Debian machine (no /etc/debian_version, apt-get or dpkg-query)"
    return None


#: (title, text) sections printed at the end of the run (conftest.pytest_terminal_summary)
SUMMARY: list[tuple[str, str]] = []


def run(cmd, *, env=None, check=True, timeout=120, input=None, cwd=None) -> subprocess.CompletedProcess:
    """Run ``cmd``; bytes out; on ``check`` a failure shows everything it printed."""
    r = subprocess.run([str(c) for c in cmd], env=env, input=input, cwd=cwd, capture_output=True, timeout=timeout)
    if check and r.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} exited {r.returncode}\n--- stdout\n{r.stdout.decode(errors='replace')}"
            f"\n--- stderr\n{r.stderr.decode(errors='replace')}",
            pytrace=False,
        )
    return r


#: flock(2)ed while a run publishes the datums' host ports (left in place, as lock files are)
LOCK_FILE = "/tmp/b00tc-e2e-ports.lock"


@contextlib.contextmanager
def ports_lock(timeout: float = 600):
    """Hold the machine-wide lock of the host ports the conformance datums publish, so that
    two e2e sessions on one machine take turns instead of failing on a busy port."""
    with open(LOCK_FILE, "a+") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another b00tc e2e session held {LOCK_FILE} for {timeout:.0f} s", pytrace=False)
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# -- packages ------------------------------------------------------------------------------

def missing_packages() -> list[str]:
    out = []
    for p in PACKAGES:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if r.stdout.strip() != "install ok installed":
            out.append(p)
    return out


def install(packages: list[str]) -> None:
    """apt-get install; apt-get update first only when the install fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        pytest.fail(f"could not install {' '.join(packages)}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}", pytrace=False)


# -- private folders and what is left in them -----------------------------------------------

def private_dir(prefix: str) -> Path:
    # short paths under /tmp: unix socket paths are limited to 108 bytes
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def stop_leftovers(root: Path) -> list[int]:
    """Stop, by pid, every process whose command line names ``root`` (ours alone: a fresh
    temp folder); the pids it stopped."""
    needle = str(root).encode()
    stopped = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmdline = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            try:
                os.kill(int(d.name), signal.SIGKILL)
                stopped.append(int(d.name))
            except ProcessLookupError:
                pass
    return stopped


def unmount_under(root: Path) -> None:
    prefix = str(root)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def remove(root: Path) -> None:
    unmount_under(root)
    shutil.rmtree(root, ignore_errors=True)


# -- the image -------------------------------------------------------------------------------

def rootfs_tarball(path: Path) -> Path:
    """A root filesystem: /bin/busybox (busybox-static) and its applet links,
    /usr/bin/env, /etc/passwd, /etc/group, /etc/hosts, /tmp and /pause."""

    def entry(name, kind=tarfile.REGTYPE, mode=0o644, data=b"", link=""):
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.linkname, info.size = kind, mode, link, len(data)
        return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    with tarfile.open(path, "w") as t:
        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "proc", "sys", "dev", "run"):
            t.addfile(*entry(d, tarfile.DIRTYPE, 0o755))
        t.addfile(*entry("tmp", tarfile.DIRTYPE, 0o1777))
        t.addfile(*entry("bin/busybox", mode=0o755, data=Path("/bin/busybox").read_bytes()))
        for applet in APPLETS:
            t.addfile(*entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox"))
        t.addfile(*entry("usr/bin/env", tarfile.SYMTYPE, 0o777, link="/bin/busybox"))
        t.addfile(*entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
        t.addfile(*entry("etc/group", data=b"root:x:0:\nnogroup:x:65534:\n"))
        # Docker and podman write their own /etc/hosts over this one; only a pod played
        # with --no-hosts (the k8s job, test_k8s_podman.py) reads it
        t.addfile(*entry("etc/hosts", data=f"127.0.0.1\tlocalhost\n{PAGE_POD_IP}\tpage\n".encode()))
        # podman's pod infra process (no catatonit, no pause image here): waits, and exits at
        # once on TERM
        pause = b'#!/bin/sh\ntrap "exit 0" TERM INT\nwhile :; do sleep 3600 & wait $!; done\n'
        t.addfile(*entry("pause", mode=0o755, data=pause))
    return path


IMPORT_CHANGES = ["--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin"]


# -- the private Docker engine -------------------------------------------------------------

class Docker:
    """A private dockerd (its own data root, exec root, pid file and socket under ``root``)
    and the clients pointed at it through DOCKER_HOST."""

    def __init__(self, root: Path):
        self.root = root
        self.sock = root / "docker.sock"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        self.env.update(DOCKER_HOST=f"unix://{self.sock}", DOCKER_CONFIG=str(root / "client"))
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.root / "dockerd.log", "wb") as log:
            self.proc = subprocess.Popen(
                [
                    "dockerd",
                    "--data-root", str(self.root / "data"),
                    "--exec-root", str(self.root / "exec"),
                    "--pidfile", str(self.root / "dockerd.pid"),
                    "-H", f"unix://{self.sock}",
                    "--iptables=false",
                    "--ip-masq=false",
                    # share neither docker0 nor address pools with another engine here
                    "--bridge=none",
                    "--default-address-pool", DOCKER_POOL,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self.env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            if subprocess.run(["docker", "version"], env=self.env, capture_output=True).returncode == 0:
                return
            time.sleep(0.25)
        tail = (self.root / "dockerd.log").read_text(errors="replace")[-4000:]
        pytest.fail(f"the private dockerd did not answer within 60 s (exit {self.proc.poll()}):\n{tail}", pytrace=False)

    def docker(self, *args, **kw) -> subprocess.CompletedProcess:
        return run(["docker", *args], env=self.env, **kw)

    def compose(self, project: str, file: Path, *args, **kw) -> subprocess.CompletedProcess:
        return run(["docker-compose", "-p", project, "-f", file, *args], env=self.env, **kw)

    def inspect(self, ref: str) -> dict:
        return json.loads(self.docker("inspect", ref).stdout)[0]

    def stop(self) -> None:
        """Remove every container and network of this engine, stop dockerd by its pid, and
        stop by pid whatever is left running from its folder."""
        if self.proc is not None and self.proc.poll() is None:
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", "-v", *ids, check=False, timeout=120)
            self.docker("network", "prune", "-f", check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        stop_leftovers(self.root)


# -- podman --------------------------------------------------------------------------------

class Podman:
    """podman with private storage, run root, temp dir, network config and containers.conf
    (nothing it does lands in /var/lib/containers or /etc/cni)."""

    def __init__(self, root: Path):
        self.root = root
        for d in ("storage", "run", "tmp", "volumes", "networks"):
            (root / d).mkdir()
        (root / "containers.conf").write_text(
            "[containers]\n"
            "default_ulimits = []\n"
            "\n[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'infra_image = "{INFRA_IMAGE}"\n'
            f'tmp_dir = "{root / "tmp"}"\n'
            f'volume_path = "{root / "volumes"}"\n'
            "\n[network]\n"
            f'network_config_dir = "{root / "networks"}"\n'
        )
        (root / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{root / "storage"}"\nrunroot = "{root / "run"}"\n'
        )
        # the k8s test's network, written as podman 4.3 (CNI) would write it, but with a
        # bridge of its own (``podman network create`` cannot name it in 4.3)
        gateway = PODMAN_SUBNET.rsplit(".", 1)[0] + ".1"
        conflist = {
            "cniVersion": "0.4.0",
            "name": PODMAN_NETWORK,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": PODMAN_BRIDGE,
                    "isGateway": True,
                    "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "ranges": [[{"subnet": PODMAN_SUBNET, "gateway": gateway}]],
                    },
                    "capabilities": {"ips": True},
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
                {"type": "firewall", "backend": ""},
                {"type": "tuning"},
            ],
        }
        (root / "networks" / f"{PODMAN_NETWORK}.conflist").write_text(json.dumps(conflist, indent=2))
        # no registry to search for short names: nothing can be pulled by mistake
        (root / "registries.conf").write_text("unqualified-search-registries = []\n")
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(root / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf"),
        }

    def podman(self, *args, **kw) -> subprocess.CompletedProcess:
        return run(["podman", *args], env=self.env, **kw)

    def inspect(self, ref: str) -> dict:
        return json.loads(self.podman("inspect", ref).stdout)[0]

    def stop(self) -> None:
        """Remove every pod, container, network and image of this private store, and stop
        by pid whatever is left running from its folder (conmon)."""
        self.podman("pod", "rm", "-a", "-f", "-t", "0", check=False, timeout=120)
        self.podman("rm", "-a", "-f", "-t", "0", check=False, timeout=120)
        self.podman("network", "rm", "-f", PODMAN_NETWORK, check=False)
        self.podman("rmi", "-a", "-f", check=False)
        stop_leftovers(self.root)
        # what CNI keeps outside the private folders for this session's network
        if shutil.which("ip"):
            subprocess.run(["ip", "link", "delete", PODMAN_BRIDGE], capture_output=True)
        shutil.rmtree(Path("/var/lib/cni/networks") / PODMAN_NETWORK, ignore_errors=True)


# -- compiling with the real CLI -----------------------------------------------------------

class Builds:
    """``python -m b00tc build tests/e2e/datums --target T --helper-image IMAGE -o DIR``,
    once per target; ``builds(T)`` is the output folder."""

    def __init__(self, root: Path):
        self.root = root
        self.done: dict[str, tuple[Path, str]] = {}

    def __call__(self, target: str) -> Path:
        return self.build(target)[0]

    def build(self, target: str) -> tuple[Path, str]:
        if target not in self.done:
            out = self.root / target
            r = run(
                [
                    sys.executable, "-m", "b00tc", "build", probe.DATUMS,
                    "--target", target, "--helper-image", probe.HELPER_IMAGE, "-o", out,
                ],
                cwd=probe.ROOT,
            )
            self.done[target] = (out, r.stderr.decode())
        return self.done[target]

    def warnings(self, target: str) -> str:
        return self.build(target)[1]
