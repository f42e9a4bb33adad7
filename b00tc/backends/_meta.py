"""The labels every target that has labels puts on what b00tc generates (Kubernetes
objects and pod templates, compose services, the containers of bash and systemd stacks;
Nomad's meta says the same with its own keys). ``b00tc status|logs|down``
(b00tc/runtime/lifecycle.py) select by them."""

from __future__ import annotations

MANAGED_BY = "app.kubernetes.io/managed-by"
DATUM = "b00t.io/datum"


def identity(name: str, datum: str, part_of: str = "") -> dict[str, str]:
    """``app.kubernetes.io/name``, ``part-of`` (the root datum, for what a stack or a job
    brings along), ``managed-by: b00tc`` and ``b00t.io/datum`` (``<name>.<type>``)."""
    labels = {"app.kubernetes.io/name": name}
    if part_of:
        labels["app.kubernetes.io/part-of"] = part_of
    labels[MANAGED_BY] = "b00tc"
    labels[DATUM] = datum
    return labels


def file_name(path: str) -> str:
    """The last part of a "/"-separated path, as ``PurePosixPath(path).name`` gives it
    ("" for "/" or "."; "b" for "a/b/" and "a/b/."), without importing pathlib (and
    urllib and ipaddress with it) into every build; tests/test_parallel.py holds it to
    pathlib's answer."""
    parts = [p for p in path.split("/") if p and p != "."]
    return parts[-1] if parts else ""
