"""Session fixtures of the end-to-end tests: run what b00tc writes on real runtimes
(``pytest tests/e2e`` runs them alone).

On a Debian machine where the tests run as root, the session (tests/e2e/machine.py):

1. installs what is missing, once: ``apt-get install -y --no-install-recommends docker.io
   docker-compose podman runc busybox-static`` (``apt-get update`` only if that fails);
2. builds a root filesystem holding ``/bin/busybox`` (busybox-static) and its applet links,
   ``/etc/passwd``, ``/etc/group``, ``/etc/hosts``, ``/tmp`` and ``/pause`` (podman's pod
   infra process) and imports it as ``localhost/busybox:test`` (``docker import``, ``podman
   import``): no image is ever pulled (no registry is reachable here); every datum and every
   wait helper (``--helper-image``) uses that image;
3. starts a PRIVATE Docker engine (its own data root, exec root, pid file and socket in a
   temp folder; ``DOCKER_HOST`` points at it for every docker and docker-compose call) with
   ``--iptables=false --ip-masq=false``, plus ``--bridge=none`` and its own
   ``--default-address-pool`` so that it shares neither ``docker0`` nor subnets with any
   other engine on the machine (e.g. one at /tmp/dk, which it never touches);
4. sets podman up with private storage, run root, temp dir, network config folder and a
   ``containers.conf`` (``[containers] default_ulimits = []``; ``[engine] runtime =
   "runc"``, as crun refuses this cgroup layout; ``cgroup_manager = "cgroupfs"``, as PID 1
   is not systemd; an infra image built from the same root filesystem);
5. at the end removes every container, pod and network it created, stops dockerd by its
   pid, stops by pid any process still running from its temp folders, unmounts what is left
   mounted there and deletes them.

Where the tests cannot run (not Linux, not root, not Debian) every e2e test is skipped, with
one loud line saying why; with ``CI=true`` they fail instead.

Every fixture here is package-scoped: the engine and podman state live while the tests of
tests/e2e run, not for the rest of a longer pytest session. The runs themselves
(tests/e2e/runs.py) are fixtures too: each deploys, observes and tears down once, and both
its own test module and the cross-target comparison (test_targets_agree.py) read the same
observation.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.e2e import machine, probe

E2E_DIR = Path(__file__).resolve().parent


def _is_e2e(item) -> bool:
    return E2E_DIR in Path(str(item.fspath)).resolve().parents


def pytest_collection_modifyitems(config, items):
    """The one loud line, printed once, before any e2e test runs."""
    reason = machine.unsupported()
    if reason is None or not any(_is_e2e(i) for i in items):
        return
    what = "FAIL (CI=true)" if machine.in_ci() else "are SKIPPED"
    line = f"b00tc e2e tests {what}: {reason}. Run them as root on Debian: pytest tests/e2e"
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.write_line(line, yellow=not machine.in_ci(), red=machine.in_ci(), bold=True)
    else:
        print(line, file=sys.stderr)


SKIP_PREFIX = "b00tc e2e tests cannot run: "


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Every e2e test skipped for the same reason reports one location (this conftest), so
    that ``-ra`` folds them into one line instead of one per test."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and isinstance(rep.longrepr, tuple) and SKIP_PREFIX in str(rep.longrepr[2]) and _is_e2e(item):
        rep.longrepr = (os.path.relpath(__file__, item.config.rootpath), 1, rep.longrepr[2])


def pytest_terminal_summary(terminalreporter):
    """The comparison table of test_targets_agree.py, whatever ``-s`` says."""
    for title, text in machine.SUMMARY:
        terminalreporter.write_sep("=", title)
        for line in text.splitlines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="package", autouse=True)
def e2e_machine():
    """Skip (with CI=true: fail) where the tests cannot run; else install, once, what is
    missing."""
    reason = machine.unsupported()
    if reason is not None:
        if machine.in_ci():
            pytest.fail(f"{SKIP_PREFIX}{reason} (CI=true: failing instead of skipping)", pytrace=False)
        pytest.skip(f"{SKIP_PREFIX}{reason}")
    missing = machine.missing_packages()
    if missing:
        machine.install(missing)
    for tool in ("dockerd", "docker", "docker-compose", "podman", "runc"):
        assert shutil.which(tool), f"{tool} is not on PATH after installing {machine.PACKAGES}"
    assert Path("/bin/busybox").exists(), "busybox-static did not install /bin/busybox"


@pytest.fixture(scope="package")
def rootfs_tar(e2e_machine):
    work = machine.private_dir("b00tc-e2e-rootfs-")
    try:
        yield machine.rootfs_tarball(work / "rootfs.tar")
    finally:
        machine.remove(work)


@pytest.fixture(scope="package")
def docker_engine(e2e_machine, rootfs_tar):
    """The private Docker engine, with localhost/busybox:test imported."""
    root = machine.private_dir("b00tc-e2e-dk-")
    engine = machine.Docker(root)
    try:
        engine.start()
        engine.docker("import", *machine.IMPORT_CHANGES, "--change", 'CMD ["/bin/sh"]', rootfs_tar, probe.IMAGE)
        yield engine
    finally:
        engine.stop()
        machine.remove(root)


@pytest.fixture(scope="package")
def podman(e2e_machine, rootfs_tar):
    """podman with private state, localhost/busybox:test and the infra image imported, and
    the network of the k8s test (machine.Podman writes its config)."""
    root = machine.private_dir("b00tc-e2e-pm-")
    pm = machine.Podman(root)
    try:
        pm.podman("import", "-q", *machine.IMPORT_CHANGES, "--change", 'CMD ["/bin/sh"]', rootfs_tar, probe.IMAGE)
        pm.podman("import", "-q", *machine.IMPORT_CHANGES, "--change", 'CMD ["/pause"]', rootfs_tar, machine.INFRA_IMAGE)
        assert machine.PODMAN_NETWORK in pm.podman("network", "ls", "--format", "{{.Name}}").stdout.decode().split()
        yield pm
    finally:
        pm.stop()
        machine.remove(root)


@pytest.fixture(scope="package")
def built(e2e_machine, tmp_path_factory):
    """The conformance datums compiled by the real CLI, one output folder per target."""
    return machine.Builds(tmp_path_factory.mktemp("built"))


# -- the runs (each deploys, observes, and tears down before it returns) --------------------

@pytest.fixture(scope="package")
def compose_run(docker_engine, built):
    from tests.e2e import runs

    return runs.run_compose(docker_engine, built)


@pytest.fixture(scope="package")
def k8s_run(podman, built):
    from tests.e2e import runs

    return runs.run_k8s(podman, built)


@pytest.fixture(scope="package")
def bash_runs(docker_engine, built):
    from tests.e2e import runs

    return runs.run_bash(docker_engine, built)
