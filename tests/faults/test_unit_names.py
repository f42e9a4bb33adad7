"""Issue 14: systemd units were named after the datum alone, so a job called ``sshd`` wrote
``sshd.service``, a stack called ``multi-user`` wrote ``multi-user.target`` and a stack
``systemd`` with a member ``journald`` wrote ``systemd-journald.service``: installed into
/etc/systemd/system, b00tc's output shadowed the system's own units (a file there wins
over /lib/systemd/system). Every unit b00tc writes is now in a namespace of its own:
``b00t-<job>.service``, ``b00t-<stack>.target``, ``b00t-<stack>-<member>.service``, and
every reference to one of them (After=, Requires=, Wants=, PartOf=, WantedBy=) and each
environment file (/etc/b00t/<unit>.env, ``b00tc env``) is named the same way.

No system unit starts with ``b00t-``: on the machine these tests were written on (Debian 12,
systemd 252) none of the 246 files under /lib/systemd/system (= /usr/lib/systemd/system),
none under /etc/systemd/system and none of the 225 units ``systemctl list-unit-files``
lists does; ``test_no_system_unit_is_in_the_namespace`` checks it again wherever it runs.

A datum name is a DNS-1123 label (E0105: ``[a-z0-9-]``, at most 63 characters), and every
one of those characters is allowed in a unit name as it is (systemd.unit(5): "ASCII
letters, digits, ":", "-", "_", ".", and "\\""; at most 255 characters), so no name needs
systemd's escaping: the longest, ``b00t-<63>-<63>.service``, has 140 characters, and
``systemd-analyze verify`` loads it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT_DIRS = [Path("/lib/systemd/system"), Path("/usr/lib/systemd/system"), Path("/etc/systemd/system"),
             Path("/run/systemd/system")]
#: the system units b00tc's units refer to
SYSTEM_REFS = {"network-online.target", "docker.service", "multi-user.target"}
REF_KEYS = ("After", "Before", "Requires", "Wants", "BindsTo", "PartOf", "WantedBy", "RequiredBy")
UNIT_SUFFIX = re.compile(r"\.(service|target|socket|timer|mount|path|slice|scope|device|swap|automount)$")

DATUMS = {
    # shadowed sshd.service (Debian's alias of ssh.service)
    "sshd.job.toml": """
[b00t]
name = "sshd"
type = "job"
[b00t.container]
image = "alpine:3.20"
command = ["/usr/bin/true"]
[b00t.env]
TOKEN = "${TOKEN:-x}"
[b00t.dependencies]
requires_stacks = ["multi-user", "systemd"]
""",
    # shadowed docker.service, which every member unit is After=
    "docker.job.toml": """
[b00t]
name = "docker"
type = "job"
[b00t.container]
image = "alpine:3.20"
command = ["/usr/bin/true"]
""",
    # shadowed multi-user.target, which every unit is WantedBy=
    "multi-user.stack.toml": """
[b00t]
name = "multi-user"
type = "stack"
members = ["getty.docker"]
""",
    "getty.docker.toml": """
[b00t]
name = "getty"
type = "docker"
image = "alpine:3.20"
docker_args = ["-p", "8080:80"]
[b00t.env]
TOKEN = "${TOKEN:-x}"
""",
    # <stack>-<member>: shadowed systemd-journald.service
    "systemd.stack.toml": """
[b00t]
name = "systemd"
type = "stack"
members = ["journald.docker"]
""",
    "journald.docker.toml": """
[b00t]
name = "journald"
type = "docker"
image = "alpine:3.20"
""",
}


def installed_units() -> set[str]:
    """Every unit name this machine's systemd knows: the unit files of the system unit
    folders, and what ``systemctl list-unit-files`` lists where systemctl is there."""
    names = {p.name for d in UNIT_DIRS if d.is_dir() for p in d.iterdir()}
    if shutil.which("systemctl"):
        done = subprocess.run(["systemctl", "list-unit-files", "--no-pager", "--no-legend"],
                              capture_output=True, text=True, timeout=60, check=False)
        if done.returncode == 0:
            names |= {line.split()[0] for line in done.stdout.splitlines() if line.split()}
    return {n for n in names if UNIT_SUFFIX.search(n)}


def b00tc(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "b00tc", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120, check=False)


@pytest.fixture
def built(tmp_path) -> Path:
    src = tmp_path / "datums"
    src.mkdir()
    for name, text in DATUMS.items():
        (src / name).write_text(text.lstrip(), encoding="utf-8")
    out = tmp_path / "out"
    done = b00tc("build", str(src), "--target", "systemd", "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


def references(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in REF_KEYS:
            out += [(key, name) for name in value.split()]
    return out


def test_no_system_unit_is_in_the_namespace():
    installed = installed_units()
    assert installed, "no system unit found: the test would prove nothing"
    assert not [n for n in installed if n.startswith("b00t-")]


def test_no_unit_shadows_a_system_unit(built):
    written = sorted(p.name for p in built.iterdir())
    assert not set(written) & installed_units()
    assert all(name.startswith("b00t-") for name in written), written
    assert written == [
        "b00t-docker.service",
        "b00t-multi-user-getty.service",
        "b00t-multi-user.target",
        "b00t-sshd.service",
        "b00t-systemd-journald.service",
        "b00t-systemd.target",
    ]


def test_every_reference_is_a_written_or_a_system_unit(built):
    written = {p.name for p in built.iterdir()}
    seen = set()
    for path in built.iterdir():
        for key, name in references(path.read_text(encoding="utf-8")):
            assert name in written or name in SYSTEM_REFS, f"{path.name}: {key}={name}"
            seen.add((path.name, key, name))
    assert ("b00t-sshd.service", "Requires", "b00t-multi-user-getty.service") in seen
    assert ("b00t-sshd.service", "After", "b00t-systemd-journald.service") in seen
    assert ("b00t-multi-user.target", "Wants", "b00t-multi-user-getty.service") in seen
    assert ("b00t-multi-user-getty.service", "PartOf", "b00t-multi-user.target") in seen
    assert ("b00t-multi-user-getty.service", "WantedBy", "b00t-multi-user.target") in seen
    assert ("b00t-multi-user-getty.service", "After", "docker.service") in seen
    assert ("b00t-multi-user.target", "WantedBy", "multi-user.target") in seen
    # the containers keep their names: only the units are in the namespace
    getty = (built / "b00t-multi-user-getty.service").read_text(encoding="utf-8")
    assert "--name multi-user-getty " in getty
    assert "docker stop multi-user-getty\n" in getty


def test_environment_files_are_named_after_their_unit(built, tmp_path):
    lines = {p.name: [line for line in p.read_text(encoding="utf-8").splitlines()
                      if line.startswith("EnvironmentFile=")] for p in built.iterdir()}
    assert lines["b00t-sshd.service"] == ["EnvironmentFile=/etc/b00t/b00t-sshd.env"]
    assert lines["b00t-multi-user-getty.service"] == ["EnvironmentFile=/etc/b00t/b00t-multi-user-getty.env"]
    env_dir = tmp_path / "env"
    done = b00tc("env", str(tmp_path / "datums"), "--target", "systemd", "-o", str(env_dir))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in env_dir.iterdir()) == ["b00t-multi-user-getty.env", "b00t-sshd.env"]
    assert "# for b00t-sshd.service;" in (env_dir / "b00t-sshd.env").read_text(encoding="utf-8")


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd is installed by .ci/test")
def test_the_longest_names_load(tmp_path):
    """A 63-character stack with a 63-character member, and a 63-character job:
    ``systemd-analyze verify`` takes every unit, and says nothing."""
    stack, member, job = "s" * 62 + "1", "m-" * 31 + "2", "j" * 63
    src = tmp_path / "datums"
    src.mkdir()
    (src / f"{stack}.stack.toml").write_text(
        f'[b00t]\nname = "{stack}"\ntype = "stack"\nmembers = ["{member}.docker"]\n', encoding="utf-8")
    (src / f"{member}.docker.toml").write_text(
        f'[b00t]\nname = "{member}"\ntype = "docker"\nimage = "alpine:3.20"\n', encoding="utf-8")
    (src / f"{job}.job.toml").write_text(
        f'[b00t]\nname = "{job}"\ntype = "job"\n[b00t.container]\nimage = "alpine:3.20"\n'
        f'command = ["/usr/bin/true"]\n[b00t.dependencies]\nrequires_stacks = ["{stack}"]\n', encoding="utf-8")
    out = tmp_path / "out"
    done = b00tc("build", str(src), "--target", "systemd", "-o", str(out))
    assert done.returncode == 0, done.stderr
    units = sorted(out.iterdir())
    assert [p.name for p in units] == [f"b00t-{job}.service", f"b00t-{stack}-{member}.service",
                                       f"b00t-{stack}.target"]
    assert len(units[1].name) == 140
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no",
                           *(str(p) for p in units)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and not done.stderr, done.stderr
