"""The names the container targets give a workflow's steps, shared by the backends that
write them (b00tc.backends._workflow_compose, b00tc.backends._argo) and by day two, which
finds each step's container or Argo node by them (b00tc.runtime.steps). One rule, one
place: a backend naming a step otherwise than status looks for it would lose its state."""

from __future__ import annotations

import re


def slugs(names: list[str], limit: int = 63) -> list[str]:
    """A DNS-1123 label for each step name (lowercase letters, digits and '-'), each
    distinct: the compose service names. The step's own name is kept in a label."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[: limit - 4].strip("-") or "step"
        slug, n = base, 1
        while slug in seen:
            n += 1
            slug = f"{base}-{n}"
        seen.add(slug)
        out.append(slug)
    return out


def argo_task_names(names: list[str]) -> list[str]:
    """The Argo DAG task of each step: a slug of at most 59 characters, ``s-`` before one
    that does not start with a letter (``depends`` expressions read them as names)."""
    return [t if t[0].isalpha() else f"s-{t}" for t in slugs(names, limit=59)]
