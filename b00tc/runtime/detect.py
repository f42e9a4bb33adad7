"""Is an orchestrator usable on this host? Judged by exit status and output, with a timeout
on every probe: a binary that exists but fails, prints nothing, or hangs is not usable, and
neither is a kube context whose cluster does not answer.

Probes, in detection order (the first usable one is the default when none is configured):

- kubernetes: ``kubectl config current-context`` (exit 0, a name on stdout), then
  ``kubectl version --request-timeout=Ns`` (exit 0: the cluster answered);
- docker-compose: ``docker compose version`` (else ``docker-compose version``), then
  ``docker info`` when a docker CLI exists (the engine answers);
- nomad: ``nomad version``, then ``nomad status`` (an agent answers at NOMAD_ADDR);
- direct: bash, always.

Each probe has ``B00TC_PROBE_TIMEOUT`` seconds (default 5).
"""

from __future__ import annotations

import os
import shutil
from typing import Optional

from b00tc.runtime.model import Availability
from b00tc.runtime.orchestrators import BY_NAME, ORCHESTRATORS
from b00tc.runtime.process import probe as run
from b00tc.runtime.process import timeout


def kubernetes() -> Availability:
    if not shutil.which("kubectl"):
        return Availability("kubernetes", False, "not installed")
    ctx = run(["kubectl", "config", "current-context"])
    if ctx.timed_out:
        return Availability("kubernetes", False, ctx.why())
    if not ctx.ok or not ctx.stdout.strip():
        return Availability("kubernetes", False, "no current context")
    name = ctx.stdout.strip().splitlines()[0]
    server_limit = max(1, int(timeout()))
    ver = run(["kubectl", "version", f"--request-timeout={server_limit}s"])
    if not ver.ok:
        return Availability("kubernetes", False, f"context {name} does not answer: {ver.why()}")
    return Availability("kubernetes", True, f"kubectl configured, context {name}", ["kubectl"])


def docker_compose() -> Availability:
    found: Optional[list[str]] = None
    failures: list[str] = []
    if shutil.which("docker"):
        p = run(["docker", "compose", "version"])
        if p.ok and p.stdout.strip():
            found = ["docker", "compose"]
        else:
            failures.append(p.why())
    if found is None and shutil.which("docker-compose"):
        p = run(["docker-compose", "version"])
        if p.ok and p.stdout.strip():
            found = ["docker-compose"]
        else:
            failures.append(p.why())
    if found is None:
        if not failures:
            return Availability("docker-compose", False, "not installed")
        return Availability("docker-compose", False, "; ".join(failures))
    label = " ".join(found)
    if shutil.which("docker"):
        info = run(["docker", "info", "--format", "{{.ServerVersion}}"])
        if not info.ok or not info.stdout.strip():
            return Availability("docker-compose", False, f"{label} found, but the Docker engine does not answer: {info.why()}")
    return Availability("docker-compose", True, f"{label} found", found)


def nomad() -> Availability:
    if not shutil.which("nomad"):
        return Availability("nomad", False, "not installed")
    ver = run(["nomad", "version"])
    if not ver.ok:
        return Availability("nomad", False, ver.why())
    status = run(["nomad", "status"])
    if not status.ok:
        addr = os.environ.get("NOMAD_ADDR", "http://127.0.0.1:4646")
        return Availability("nomad", False, f"no Nomad agent answers at {addr}: {status.why()}")
    return Availability("nomad", True, "nomad agent answers", ["nomad"])


def direct() -> Availability:
    if not shutil.which("bash"):
        return Availability("direct", False, "bash not installed")
    return Availability("direct", True, "always available", ["bash"])


PROBES = {"kubernetes": kubernetes, "docker-compose": docker_compose, "nomad": nomad, "direct": direct}


def detect(name: str) -> Availability:
    return PROBES[BY_NAME[name].name]()


def detect_all() -> list[Availability]:
    return [PROBES[o.name]() for o in ORCHESTRATORS]


def choose(explicit: Optional[str], configured: Optional[str]) -> tuple[str, str]:
    """The orchestrator to use and why: the option, else the configured default, else the
    first available in detection order (direct is always available)."""
    from b00tc.runtime.orchestrators import resolve

    if explicit:
        return resolve(explicit).name, "--orchestrator"
    if configured:
        return resolve(configured).name, "the configured default"
    for o in ORCHESTRATORS:
        a = detect(o.name)
        if a.available:
            return o.name, f"detected: {a.reason}"
    return "direct", "nothing else detected"
