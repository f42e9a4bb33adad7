"""The state of a datum's containers from ``docker inspect`` (docker-compose projects and
direct stacks, which run their members as labelled containers)."""

from __future__ import annotations

import re

from b00tc.runtime.model import Deployed, ObjectState, Options, Status, summarize
from b00tc.runtime.process import Runner, answer, parse_json


def _container(info: dict, service_label: str) -> ObjectState:
    labels = (info.get("Config") or {}).get("Labels") or {}
    st = info.get("State") or {}
    name = labels.get(service_label) or info.get("Name", "?").lstrip("/")
    status = st.get("Status", "unknown")
    health = (st.get("Health") or {}).get("Status")
    if status == "exited":
        code = st.get("ExitCode", 0)
        state, detail = ("exited", f"exit {code}")
    else:
        state, detail = status, ""
    if health:
        detail = f"{detail}, {health}".lstrip(", ")
    return ObjectState("container", name, state, detail, labels.get("app.kubernetes.io/managed-by") == "b00tc")


def status_from(d: Deployed, orchestrator: str, infos: list[dict], service_label: str) -> Status:
    """``infos``: ``docker inspect``'s objects; each container is named by its
    ``service_label`` (the compose service, the member's name)."""
    objects = sorted((_container(i, service_label) for i in infos), key=lambda s: s.name)
    job = None
    if d.kind == "job":
        main = next((s for s in objects if s.name == d.name), None)
        if main is not None:
            code = re.match(r"exit (\d+)", main.detail)
            state = ("succeeded" if code and code.group(1) == "0" else "failed") if main.state == "exited" else (
                "pending" if main.state == "created" else main.state)
            job = ObjectState(main.kind, main.name, state, main.detail)
    workloads = [ObjectState(s.kind, s.name, "up" if s.state == "running" and "unhealthy" not in s.detail
                             and "starting" not in s.detail else s.state) for s in objects]
    return summarize(d, orchestrator, objects, job, workloads)


def inspect(ids: list[str], o: Options, run: Runner) -> list[dict]:
    """``docker inspect`` (or the configured container runtime's) of ``ids``."""
    if not ids:
        return []
    argv = [o.runtime, "inspect", *ids]
    return parse_json(argv, answer(argv, run)) or []


def listed_status(d: Deployed, orchestrator: str, argv: list[str], o: Options, run: Runner,
                  service_label: str) -> Status:
    """The status of the containers whose ids ``argv`` prints."""
    infos = inspect(answer(argv, run).split(), o, run)
    return status_from(d, orchestrator, infos, service_label)

