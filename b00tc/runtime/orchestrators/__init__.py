"""Orchestrators: one module per orchestrator, registered by name, imported only when used
(like b00tc.backends).

An orchestrator is a class (base.Orchestrator) with ``name``, ``aliases``, the ``target``
it compiles to, an availability probe, the commands and MCP tool calls of a plan and of
day two, and deploy, status, logs and down; what differs between orchestrators is said by
its methods and class constants (capabilities), never by comparing names elsewhere.

``REGISTRY`` is in detection order: the first available one is the default when none is
configured.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from b00tc.runtime.model import UnknownOrchestrator

if TYPE_CHECKING:
    from b00tc.runtime.orchestrators.base import Orchestrator

REGISTRY: dict[str, str] = {
    "kubernetes": "b00tc.runtime.orchestrators.kubernetes:Kubernetes",
    "docker-compose": "b00tc.runtime.orchestrators.compose:DockerCompose",
    "nomad": "b00tc.runtime.orchestrators.nomad:Nomad",
    "direct": "b00tc.runtime.orchestrators.direct:Direct",
}

#: each class's ``aliases``, listed here so that names resolve without importing them
ALIASES: dict[str, str] = {
    "k8s": "kubernetes",
    "compose": "docker-compose",
    "bash": "direct",
}

NAMES: list[str] = list(REGISTRY)

#: the one used when nothing else is detected (bash runs wherever b00tc does)
FALLBACK = "direct"

_LOADED: dict[str, "Orchestrator"] = {}


def get(name: str) -> "Orchestrator":
    """The orchestrator of a name or alias; KeyError else."""
    name = ALIASES.get(name, name)
    if name not in _LOADED:
        module, _, cls = REGISTRY[name].partition(":")
        _LOADED[name] = getattr(importlib.import_module(module), cls)()
    return _LOADED[name]


def all_orchestrators() -> list["Orchestrator"]:
    """Every orchestrator, in detection order."""
    return [get(name) for name in NAMES]


def resolve(name: str) -> "Orchestrator":
    """An orchestrator by name or alias; UnknownOrchestrator (with a did-you-mean) else."""
    if ALIASES.get(name, name) in REGISTRY:
        return get(name)
    from b00tc.diagnostics import did_you_mean

    guess = did_you_mean(name, NAMES + list(ALIASES))
    raise UnknownOrchestrator(
        f"unknown orchestrator {name!r}"
        + (f" (did you mean {ALIASES.get(guess, guess)!r}?)" if guess else "")
        + f"; choose from {', '.join(NAMES)}"
    )
