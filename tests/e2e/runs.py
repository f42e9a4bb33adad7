"""The runs: each deploys what b00tc wrote for one target, runs the conformance job, records
what it observed, and tears everything down before it returns (conftest.py wraps each as a
session fixture, so every test module and the cross-target comparison share one run)."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e import probe
from tests.e2e.machine import PAGE_POD_IP, PODMAN_NETWORK, SIDE_POD_IP, ports_lock, run
from tests.e2e.probe import HOST_PORT, LATE, PAGE, PAGE_PORT, Observation, observe


def ts(text: str) -> float:
    """An RFC 3339 time (nanoseconds allowed) as seconds since the epoch."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text.strip())
    assert m, f"not an RFC 3339 time: {text!r}"
    zone = "+00:00" if m[3] == "Z" else m[3]
    return datetime.fromisoformat(m[1] + zone).timestamp() + float(m[2] or 0)


def need_free(*ports: int) -> None:
    for p in ports:
        if probe.port_in_use(p):
            pytest.fail(
                f"host port {p} is in use: the e2e datums (tests/e2e/datums) publish it; free it and rerun",
                pytrace=False,
            )


def env_list(entries: list[str]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in entries)


# -- compose on the private Docker engine ---------------------------------------------------

@dataclass
class ComposeRun:
    obs: Observation
    file_text: str
    page_started: float
    probe_started: float
    wait_exit: int
    wait_logs: str
    page_env: dict[str, str]
    side_running: bool
    host_page: str | None
    limits_exit: int
    limits_logs: str
    limits_host_config: dict


def _run_compose(engine, built) -> ComposeRun:
    out = built("compose")
    stack, job, limits = out / "e2e.compose.yaml", out / "probe.compose.yaml", out / "limits.compose.yaml"
    need_free(HOST_PORT)
    stack_project, project, limits_project = "b00tce2estack", "b00tce2e", "b00tce2elimits"

    def cid(p, f, service):
        ident = engine.compose(p, f, "ps", "-q", service).stdout.decode().strip()
        assert ident, f"docker-compose has no container for {service}"
        return ident

    try:
        t0 = time.monotonic()
        # the stack first, in its own project (its network b00t-e2e), as deploy does; then
        # the job, which joins that network, after its wait helper
        engine.compose(stack_project, stack, "up", "-d", timeout=300)
        engine.compose(project, job, "up", "-d", "probe", timeout=300)
        probe_id = cid(project, job, "probe")
        code = int(engine.docker("wait", probe_id, timeout=300).stdout)
        seconds = time.monotonic() - t0
        stdout = engine.docker("logs", probe_id).stdout
        page_i = engine.inspect(cid(stack_project, stack, "page"))
        probe_i = engine.inspect(probe_id)
        wait_id = cid(project, job, "wait-for-page")
        wait_i = engine.inspect(wait_id)
        wl = engine.docker("logs", wait_id)
        side_i = engine.inspect(cid(stack_project, stack, "side"))
        host_page = probe.fetch(f"http://127.0.0.1:{HOST_PORT}/index.html")
        page_started, probe_started = ts(page_i["State"]["StartedAt"]), ts(probe_i["State"]["StartedAt"])
        obs = observe("compose", stdout, code, seconds=seconds)
        obs.waited = obs.page == PAGE and probe_started - page_started >= LATE - 0.5 and wait_i["State"]["ExitCode"] == 0

        engine.compose(limits_project, limits, "up", "-d", "limits", timeout=120)
        limits_id = cid(limits_project, limits, "limits")
        limits_exit = int(engine.docker("wait", limits_id, timeout=120).stdout)
        limits_logs = engine.docker("logs", limits_id).stdout.decode()
        limits_hc = engine.inspect(limits_id)["HostConfig"]
        return ComposeRun(
            obs=obs,
            file_text=job.read_text(),
            page_started=page_started,
            probe_started=probe_started,
            wait_exit=wait_i["State"]["ExitCode"],
            wait_logs=(wl.stdout + wl.stderr).decode(errors="replace"),
            page_env=env_list(page_i["Config"]["Env"]),
            side_running=side_i["State"]["Running"],
            host_page=host_page,
            limits_exit=limits_exit,
            limits_logs=limits_logs,
            limits_host_config=limits_hc,
        )
    finally:
        engine.compose(project, job, "down", "-v", "-t", "0", "--remove-orphans", check=False, timeout=120)
        engine.compose(stack_project, stack, "down", "-v", "-t", "0", "--remove-orphans", check=False, timeout=120)
        engine.compose(limits_project, limits, "down", "-v", "-t", "0", "--remove-orphans", check=False, timeout=120)


# -- k8s under podman kube play --------------------------------------------------------------

@dataclass
class K8sRun:
    obs: Observation  # env as kubelet would give it (see test_k8s_podman.py)
    raw_env: dict[str, str]  # env as the container under podman saw it
    manifest_env: dict[str, str]  # env values as the manifest spells them
    pod_text: str
    page_pod_ip: str
    page_from_pod: str
    page_env: dict[str, str]
    side_running: bool
    events: list[dict]
    restart_policy: str  # of the job container
    page_started: float
    limits_exit: int
    limits_logs: str
    limits_host_config: dict
    notes: list[str] = field(default_factory=list)


def _containers(pm, name: str) -> list[dict]:
    """The (non-infra) containers whose app.kubernetes.io/name label is ``name``."""
    rows = json.loads(pm.podman("ps", "-a", "--format", "json").stdout or b"[]")
    return [r for r in rows if not r.get("IsInfra") and (r.get("Labels") or {}).get("app.kubernetes.io/name") == name]


def _one(pm, name: str) -> str:
    rows = _containers(pm, name)
    assert len(rows) == 1, f"expected one container of {name}, got {rows}"
    return rows[0]["Names"][0]


def _run_k8s(pm, built) -> K8sRun:
    from tests.backends.test_k8s import k8s_expand

    out = built("k8s")
    stack, job, limits = out / "e2e.yaml", out / "probe.yaml", out / "limits.yaml"
    # podman 4.3 publishes every containerPort on the host's same port
    need_free(PAGE_PORT)
    work = out.parent / "k8s-pods"
    work.mkdir(exist_ok=True)
    try:
        # the stack's Deployments as b00tc wrote them (podman ignores the Service)
        pm.podman("kube", "play", "--network", PODMAN_NETWORK, "--ip", PAGE_POD_IP, "--ip", SIDE_POD_IP, stack, timeout=120)
        page_ctr, side_ctr = _one(pm, "page"), _one(pm, "side")
        page_i = pm.inspect(page_ctr)
        page_ip = page_i["NetworkSettings"]["Networks"][PODMAN_NETWORK]["IPAddress"]

        # the Job's pod template, unchanged, as a Pod; --no-hosts: the image's /etc/hosts
        # (``page`` -> the page pod) stands in for cluster DNS
        pod_text = probe.pod_from_job(job.read_text())
        pod_file = work / "probe.pod.yaml"
        pod_file.write_text(pod_text)
        t0 = time.monotonic()
        pm.podman("kube", "play", "--network", PODMAN_NETWORK, "--no-hosts", pod_file, timeout=400)
        code = int(pm.podman("wait", "probe-probe", timeout=300).stdout)
        seconds = time.monotonic() - t0
        stdout = pm.podman("logs", "probe-probe").stdout
        restart_policy = pm.inspect("probe-probe")["HostConfig"]["RestartPolicy"]["Name"]
        events = [
            json.loads(line)
            for line in pm.podman("events", "--stream=false", "--format", "json", "--filter", "pod=probe").stdout.splitlines()
            if line.strip()
        ]
        events += [
            json.loads(line)
            for name in ("probe-wait-for-page", "probe-probe")
            for line in pm.podman(
                "events", "--stream=false", "--format", "json", "--filter", f"container={name}"
            ).stdout.splitlines()
            if line.strip()
        ]
        page_from_pod = pm.podman(
            "exec", page_ctr, "busybox", "wget", "-q", "-O", "-", f"http://127.0.0.1:{PAGE_PORT}/index.html"
        ).stdout.decode()
        side_running = pm.inspect(side_ctr)["State"]["Running"]

        raw = observe("k8s", stdout, code, seconds=seconds)
        job_doc = next(d for d in probe.manifest_docs(job.read_text()) if d["kind"] == "Job")
        container = next(c for c in job_doc["spec"]["template"]["spec"]["containers"] if c["name"] == "probe")
        manifest_env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
        defined = {k: f"<kubelet expanded {k}>" for k in manifest_env}
        kubelet, notes = {}, []
        for k, v in raw.env.items():
            if v == manifest_env.get(k):
                # podman gave the manifest's value verbatim: kubelet would apply its
                # dependent-variable expansion ($(VAR), $$) to it
                kubelet[k] = k8s_expand(v, defined)
            else:
                kubelet[k] = v
                notes.append(f"{k}: podman did not pass the manifest's value verbatim ({v!r} vs {manifest_env.get(k)!r})")
        obs = Observation("k8s", code, raw.page, kubelet, seconds=seconds, notes=notes)

        def when(name, status):
            return [ts(e["Time"]) for e in events if e.get("Name") == name and e.get("Status") == status]

        init_start, init_died = when("probe-wait-for-page", "start"), when("probe-wait-for-page", "died")
        probe_start = when("probe-probe", "start")
        page_started = ts(page_i["State"]["StartedAt"])
        obs.waited = bool(
            obs.page == PAGE
            and init_start and init_died and probe_start
            and min(init_died) - page_started >= LATE - 0.5
            and min(probe_start) >= max(init_died)
        )

        limits_file = work / "limits.pod.yaml"
        limits_file.write_text(probe.pod_from_job(limits.read_text()))
        pm.podman("kube", "play", "--network", PODMAN_NETWORK, limits_file, timeout=120)
        limits_exit = int(pm.podman("wait", "limits-limits", timeout=120).stdout)
        limits_logs = pm.podman("logs", "limits-limits").stdout.decode()
        limits_hc = pm.inspect("limits-limits")["HostConfig"]
        return K8sRun(
            obs=obs,
            raw_env=raw.env,
            manifest_env=manifest_env,
            pod_text=pod_text,
            page_pod_ip=page_ip,
            page_from_pod=page_from_pod,
            page_env=env_list(page_i["Config"]["Env"]),
            side_running=side_running,
            events=events,
            restart_policy=restart_policy,
            page_started=page_started,
            limits_exit=limits_exit,
            limits_logs=limits_logs,
            limits_host_config=limits_hc,
            notes=notes,
        )
    finally:
        pm.podman("pod", "rm", "-a", "-f", "-t", "0", check=False, timeout=120)


# -- bash: the direct target's scripts --------------------------------------------------------

@dataclass
class Script:
    code: int
    stdout: bytes
    stderr: str
    seconds: float


@dataclass
class BashRuns:
    late: Observation  # stack up, job started at once: does its wait hold it back?
    late_run: Script
    ready: Observation  # stack up and serving (the test waited for it), then the job
    ready_run: Script
    up_seconds: float
    status: str
    page_env: dict[str, str]
    left_after_down: str
    timeout_run: Script  # nothing listening, B00T_WAIT_TIMEOUT=2
    bad_timeout_run: Script  # B00T_WAIT_TIMEOUT=soon
    limits_run: Script
    limits_warnings: str


def _run_bash(engine, built) -> BashRuns:
    out = built("bash")
    stack, job = out / "e2e.sh", out / "probe.sh"
    stack_env = {**engine.env, "B00T_CONTAINER_RUNTIME": "docker"}
    # the job runs on this host, in a small known environment (not the test runner's)
    job_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root", "LC_ALL": "C.UTF-8"}

    def script(path: Path, *args, env, timeout=400) -> Script:
        t0 = time.monotonic()
        r = run(["bash", path, *args], env=env, check=False, timeout=timeout)
        return Script(r.returncode, r.stdout, r.stderr.decode(errors="replace"), time.monotonic() - t0)

    def up():
        t0 = time.monotonic()
        run(["bash", stack, "up"], env=stack_env, timeout=120)
        return time.monotonic() - t0

    def down():
        run(["bash", stack, "down"], env=stack_env, check=False, timeout=120)

    need_free(HOST_PORT)
    try:
        up()
        late_run = script(job, env=job_env)
        late = observe("bash", late_run.stdout, late_run.code, seconds=late_run.seconds)
        late.waited = late.page == PAGE
        down()

        up_seconds = up()
        served = probe.wait_for_page(f"http://127.0.0.1:{HOST_PORT}/index.html", 60)
        assert served == PAGE, f"the bash stack's page member did not serve within 60 s: {served!r}"
        status = run(["bash", stack, "status"], env=stack_env).stdout.decode()
        page_env = env_list(engine.inspect("e2e-page")["Config"]["Env"])
        ready_run = script(job, env=job_env)
        ready = observe("bash", ready_run.stdout, ready_run.code, seconds=ready_run.seconds)
        down()
        left = engine.docker("ps", "-a", "--filter", "label=app.kubernetes.io/part-of=e2e", "--format", "{{.Names}}").stdout.decode()
        left += engine.docker("network", "ls", "--filter", "name=b00t-e2e", "--format", "{{.Name}}").stdout.decode()

        need_free(HOST_PORT)
        timeout_run = script(job, env={**job_env, "B00T_WAIT_TIMEOUT": "2"}, timeout=60)
        bad_timeout_run = script(job, env={**job_env, "B00T_WAIT_TIMEOUT": "soon"}, timeout=60)
        limits_run = script(out / "limits.sh", env=job_env, timeout=60)
        return BashRuns(
            late=late,
            late_run=late_run,
            ready=ready,
            ready_run=ready_run,
            up_seconds=up_seconds,
            status=status,
            page_env=page_env,
            left_after_down=left,
            timeout_run=timeout_run,
            bad_timeout_run=bad_timeout_run,
            limits_run=limits_run,
            limits_warnings=built.warnings("bash"),
        )
    finally:
        down()


def run_compose(engine, built) -> ComposeRun:
    with ports_lock():
        return _run_compose(engine, built)


def run_k8s(pm, built) -> K8sRun:
    with ports_lock():
        return _run_k8s(pm, built)


def run_bash(engine, built) -> BashRuns:
    with ports_lock():
        return _run_bash(engine, built)
