"""Rewrite a legacy-shape datum into the canonical shape, keeping comments and key order
(tomlkit), and prove the rewrite by compiling both texts to identical output on every
target (``verify``).

The moves are the table of datum-language.md, "Legacy shape":
``[b00t] image/command/args`` -> ``[b00t.container]`` (jobs), ``[b00t.orchestration]
requires_stacks / wait_for_services`` -> ``[b00t.dependencies]``,
``resource_requirements`` and ``gpu_requirements`` -> ``[b00t.resources]``,
``budget_constraint`` -> ``budget_*`` keys of ``[b00t.orchestration]``,
``schedule_type = "gpu_affinity"`` + ``gpu_batch_group`` -> ``gpu_affinity``, and the
top-level ``[env]`` -> ``[b00t.env]``. ``${STACK:s:svc:5678}`` is canonical syntax too and
stays as written.
"""

from __future__ import annotations

from typing import Any

RESOURCE_KEYS = {"cpu": "cpu", "memory": "memory"}
GPU_KEYS = {"count": "gpu_count", "gpu_type": "gpu_type", "shared": "gpu_shared", "memory": "gpu_memory"}
BUDGET_KEYS = {
    "daily_limit": "budget_daily_limit",
    "cost_per_job": "budget_cost_per_job",
    "on_budget_exceeded": "on_budget_exceeded",
}


class MigrateError(Exception):
    pass


def migrate_text(text: str) -> tuple[str, list[str]]:
    """The canonical text and what was moved (empty when the datum is canonical already)."""
    import tomlkit

    doc = tomlkit.parse(text)
    b00t = doc.get("b00t")
    if not isinstance(b00t, dict):
        raise MigrateError("no [b00t] table")
    kind = b00t.get("type")
    moved: list[str] = []

    if kind == "job":
        keys = [k for k in ("image", "command", "args") if k in b00t]
        if keys:
            if "container" in b00t:
                raise MigrateError("both [b00t] image/command/args and [b00t.container]")
            table = tomlkit.table()
            for k in keys:
                table[k] = b00t[k]
            anchor = _index(b00t, keys[0])
            for k in keys:
                del b00t[k]
            _insert_table(b00t, "container", table, anchor)
            moved.append(f"[b00t] {', '.join(keys)} -> [b00t.container]")

    orch = b00t.get("orchestration")
    if isinstance(orch, dict):
        anchor = _index(b00t, "orchestration")
        deps = [k for k in ("requires_stacks", "wait_for_services") if k in orch]
        if deps:
            table = b00t.get("dependencies") or tomlkit.table()
            for k in deps:
                if k in table:
                    raise MigrateError(f"{k} in both [b00t.orchestration] and [b00t.dependencies]")
                table[k] = orch[k]
                del orch[k]
            if "dependencies" not in b00t:
                _insert_table(b00t, "dependencies", table, anchor)
                anchor += 1
            moved.append(f"[b00t.orchestration] {', '.join(deps)} -> [b00t.dependencies]")
        resources: list[tuple[str, Any]] = []
        for sub, mapping in (("resource_requirements", RESOURCE_KEYS), ("gpu_requirements", GPU_KEYS)):
            if sub in orch:
                src = orch[sub]
                for k, v in list(src.items()):
                    if k in mapping:
                        resources.append((mapping[k], v))
                    elif k == "gpu" and sub == "resource_requirements":
                        continue  # informational ("optional"): dropped with its table
                    else:
                        resources.append((k, v))  # b00t's informational keys travel along
                del orch[sub]
                moved.append(f"[b00t.orchestration.{sub}] -> [b00t.resources]")
        if resources:
            table = b00t.get("resources") or tomlkit.table()
            for k, v in resources:
                if k in table:
                    raise MigrateError(f"resources {k} is given twice")
                table[k] = v
            if "resources" not in b00t:
                _insert_table(b00t, "resources", table, anchor)
        if "budget_constraint" in orch:
            src = orch["budget_constraint"]
            pairs = [(BUDGET_KEYS.get(k, k), v) for k, v in src.items()]
            del orch["budget_constraint"]
            for k, v in pairs:
                if k in orch:
                    raise MigrateError(f"orchestration {k} is given twice")
                orch[k] = v
            moved.append("[b00t.orchestration.budget_constraint] -> budget_* keys")
        if "gpu_batch_group" in orch:
            group = orch["gpu_batch_group"]
            del orch["gpu_batch_group"]
            if orch.get("schedule_type") == "gpu_affinity":
                del orch["schedule_type"]
            orch["gpu_affinity"] = group
            moved.append("schedule_type/gpu_batch_group -> gpu_affinity")
        elif orch.get("schedule_type") == "gpu_affinity":
            del orch["schedule_type"]
            moved.append('schedule_type = "gpu_affinity" (no group) dropped')

    if "env" in doc and not isinstance(doc.get("env"), type(None)):
        top = doc["env"]
        env = b00t.get("env")
        if env is None:
            env = tomlkit.table()
            for k, v in top.items():
                env[k] = v
            del doc["env"]
            _insert_table(b00t, "env", env, _first_table(b00t))
        else:
            for k, v in top.items():
                if k in env:
                    raise MigrateError(f"env {k} in both [env] and [b00t.env]")
                env[k] = v
            del doc["env"]
        moved.append("[env] -> [b00t.env]")

    return tomlkit.dumps(doc), moved


def _index(table, key: str) -> int:
    for i, (k, _) in enumerate(table.value.body):
        if k is not None and k.key == key:
            return i
    return len(table.value.body)


def _first_table(table) -> int:
    from tomlkit.items import AoT, Table

    for i, (k, v) in enumerate(table.value.body):
        if isinstance(v, (Table, AoT)):
            return i
    return len(table.value.body)


def _insert_table(parent, key: str, table, anchor: int) -> None:
    """Insert a sub-table where the moved keys were, or before the first sub-table when a
    plain key follows that place (a key after a table header would belong to the table)."""
    from tomlkit.items import Comment, Whitespace

    body = parent.value.body
    first = _first_table(parent)
    at = min(anchor, len(body))
    if any(k is not None and not isinstance(v, (Comment, Whitespace)) for k, v in body[at:first]):
        at = first
    import tomlkit

    table.add(tomlkit.nl())
    if at >= len(body):
        parent.append(key, table)
    else:
        parent.value._insert_at(at, key, table)


def verify(path: str, old: str, new: str) -> list[str]:
    """Compile both texts for every target; the differences (empty when identical)."""
    from b00tc.backends import REGISTRY
    from b00tc.compiler import BuildRequest, build

    class Everything(dict):
        # every host variable set, to one placeholder: both builds resolve the same way
        def __contains__(self, key):  # noqa: D105
            return True

        def get(self, key, default=None):
            return "b00tc-migrate-check"

    results = []
    for text in (old, new):
        req = BuildRequest(paths=[], targets=list(REGISTRY), texts=[(path, text)], host_env=Everything())
        results.append(build(req))
    a, b = results
    problems = []
    if not a.ok:
        problems.append("the original does not compile: " + "; ".join(d.message for d in a.diags if d.is_error))
    if not b.ok:
        problems.append("the migrated text does not compile: " + "; ".join(d.message for d in b.diags if d.is_error))
    if problems:
        return problems
    if [(t, f.path) for t, f in a.outputs] != [(t, f.path) for t, f in b.outputs]:
        return ["the two compile to different files"]
    for (t, fa), (_, fb) in zip(a.outputs, b.outputs):
        if fa.content != fb.content:
            problems.append(f"{t}/{fa.path} differs")
    return problems
