"""Is an orchestrator usable on this host, and which one to use.

Each orchestrator probes itself (``available()`` in its module: exit status and output,
with ``B00TC_PROBE_TIMEOUT`` seconds, default 5, for each probe): a binary that exists but
fails, prints nothing, or hangs is not usable, and neither is a kube context whose cluster
does not answer. Probes run in detection order (b00tc.runtime.orchestrators.REGISTRY).
"""

from __future__ import annotations

from typing import Optional

from b00tc.runtime import orchestrators
from b00tc.runtime.model import Availability


def detect(name: str) -> Availability:
    return orchestrators.get(name).available()


def detect_all() -> list[Availability]:
    return [o.available() for o in orchestrators.all_orchestrators()]


def choose(explicit: Optional[str], configured: Optional[str]) -> tuple[str, str]:
    """The orchestrator to use and why: the option, else the configured default, else the
    first available in detection order (direct is always available)."""
    if explicit:
        return orchestrators.resolve(explicit).name, "--orchestrator"
    if configured:
        return orchestrators.resolve(configured).name, "the configured default"
    for name in orchestrators.NAMES:  # imported one by one: the first available one ends it
        o = orchestrators.get(name)
        a = o.available()
        if a.available:
            return o.name, f"detected: {a.reason}"
    return orchestrators.FALLBACK, "nothing else detected"
