"""systemd: the units are NOT run here; they are verified offline only.

Decision: running b00tc's units for real would need a systemd instance as PID 1 of some
container, and that is not feasible within the few minutes the e2e run may take on these
machines:

- PID 1 of the machine is not systemd, so ``systemctl``/``systemd-run`` have no manager to
  talk to;
- no image registry is reachable, so there is no systemd image to run. One would have to be
  built: ``debootstrap`` of a Debian root with systemd from the apt mirror (tens of MB and
  minutes on 2 cores, and network-bound), or the host's own root filesystem, which would
  boot the host's enabled units (docker, containerd, ...) inside a privileged container;
- systemd in a container on this cgroup v1 "hybrid" layout needs a privileged container
  with the cgroup hierarchy mounted for it, and b00tc's member units run ``docker run``, so
  that container would also need a Docker engine (or its socket) and the docker CLI;
- a busybox-only image (all we can build from local files) has no systemd at all.

So the units are verified offline: tests/test_validate.py runs ``systemd-analyze verify``
on every golden unit, and tests/test_literals.py reads every Environment=/ExecStart= value
back with systemd's own parser. The test below applies the same ``systemd-analyze
verify`` to the units b00tc writes for the conformance datums of tests/e2e/datums (it
runs the real tool; nothing here pretends to be systemd).

By inspection (not run): the job unit's ``ExecStartPre`` wait is the same
``(exec 3<>/dev/tcp/127.0.0.1/PORT)`` probe as the bash target's, against a member unit
that runs ``docker run -p 28080:...``; the bug shown by test_bash.py
(``test_job_starts_only_once_its_late_service_answers``, docker-proxy accepting before the
service listens) therefore applies to it as well.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.e2e import machine


def test_conformance_units_verify_offline(built):
    if not shutil.which("systemd-analyze"):
        msg = "systemd-analyze is not installed (bash .ci/test installs the systemd package)"
        if machine.in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    out = built("systemd")
    units = sorted(p.name for p in out.iterdir())
    assert units == [
        "b00t-e2e-page.service", "b00t-e2e-side.service", "b00t-e2e.target", "b00t-limits.service",
        "b00t-probe.service",
    ]
    r = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "--recursive-errors=no", *units],
        cwd=out, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0 and r.stderr == "", r.stderr
    probe_unit = (out / "b00t-probe.service").read_text()
    assert "Requires=b00t-e2e-page.service b00t-e2e-side.service" in probe_unit
    assert "ExecStartPre=/usr/bin/env -i /bin/bash -c" in probe_unit
    limits_unit = (out / "b00t-limits.service").read_text()
    assert "CPUQuota=50%" in limits_unit and "MemoryMax=67108864" in limits_unit
