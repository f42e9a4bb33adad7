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

from collections import Counter

from tomlkit.items import InlineTable, Table

from b00tc import tomledit as te

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
    """The canonical text and what was moved (empty when the datum is canonical already).
    Every comment is kept next to what it described (b00tc/tomledit.py says where each one
    goes), and every line the rewrite does not touch keeps its line ending; new lines get
    the file's (CRLF in a CRLF file)."""
    import tomlkit

    doc = tomlkit.parse(text.replace("\r\n", "\n"))
    b00t = doc.get("b00t")
    if not isinstance(b00t, Table):
        if b00t is not None and isinstance(b00t, dict):  # tomlkit's out-of-order proxy
            raise MigrateError("the [b00t] tables are split by another table: put them together first")
        raise MigrateError("no [b00t] table")
    moved: list[str] = []
    top = te.entries(b00t)
    if b00t.get("type") == "job":
        _move_container(top, moved)
    orch = b00t.get("orchestration")
    if isinstance(orch, Table):
        oes = te.entries(orch)
        _move_orchestration(top, oes, moved)
        te.set_entries(orch, oes)
    elif isinstance(orch, InlineTable):  # no comment inside: its keys, then folded again
        oes = [te.unfold(e) for e in te.entries(orch) if e[0] is not None]
        _move_orchestration(top, oes, moved)
        i = te.find(top, "orchestration")
        folded, lines = te.fold(oes, orch.trivia)
        top[i : i + 1] = [*lines, (top[i][0], folded)]
    te.set_entries(b00t, top)

    doc_es = te.entries(doc)
    if isinstance(doc.get("env"), (Table, InlineTable)):
        carried = te.dissolve(doc_es, "env")
        top = te.entries(b00t)
        _place(top, "env", carried, te.first_table(top), "env {} in both [env] and [b00t.env]")
        te.set_entries(b00t, top)
        te.set_entries(doc, doc_es)
        moved.append("[env] -> [b00t.env]")

    return te.with_endings(text, tomlkit.dumps(doc)), moved


def lost_comments(old: str, new: str) -> list[tuple[int, str]]:
    """The comments of ``old`` that ``new`` lacks, with their line in ``old``: none, unless
    migrate_text has a bug; run_migrate warns about each one rather than drop it silently."""
    import tomlkit

    missing = Counter(te.comments(tomlkit.parse(old))) - Counter(te.comments(tomlkit.parse(new)))
    lines = old.splitlines()
    return [(next((i + 1 for i, line in enumerate(lines) if c in line), 0), c) for c in missing.elements()]


def _move_container(top: te.Entries, moved: list[str]) -> None:
    keys = [k for k in ("image", "command", "args") if te.find(top, k) is not None]
    if not keys:
        return
    if te.find(top, "container") is not None:
        raise MigrateError("both [b00t] image/command/args and [b00t.container]")
    anchor = te.find(top, keys[0])
    # a plain key after them keeps its place: the table goes before the first table, and
    # the comments above the first key go with it
    stays = any(te.is_key(e) and e[0].key not in keys for e in top[anchor : te.first_table(top)])
    carried: te.Entries = []
    for n, k in reversed(list(enumerate(keys))):  # last first: a run above a key stays its own
        carried[:0] = te.take(top, k, comments=n > 0 or stays)
    _place(top, "container", carried, te.first_table(top) if stays else anchor, "")
    moved.append(f"[b00t] {', '.join(keys)} -> [b00t.container]")


def _move_orchestration(top: te.Entries, oes: te.Entries, moved: list[str]) -> None:
    deps = [k for k in ("requires_stacks", "wait_for_services") if te.find(oes, k) is not None]
    if deps:
        carried: te.Entries = []
        for k in deps:
            carried += te.take(oes, k)
        _place(top, "dependencies", carried, te.find(top, "orchestration"),
               "{} in both [b00t.orchestration] and [b00t.dependencies]")
        moved.append(f"[b00t.orchestration] {', '.join(deps)} -> [b00t.dependencies]")
    resources: te.Entries = []
    for sub, mapping in (("resource_requirements", RESOURCE_KEYS), ("gpu_requirements", GPU_KEYS)):
        if te.find(oes, sub) is None:
            continue
        for e in te.dissolve(oes, sub):
            if e[0] is None:
                resources.append(e)
            elif e[0].key == "gpu" and sub == "resource_requirements":
                # informational ("optional"): dropped with its table, its comment kept
                if e[1].trivia.comment:
                    resources.append(te.comment_line(e[1].trivia.comment))
            else:  # b00t's informational keys travel along
                resources.append(te.rename(e, mapping[e[0].key]) if e[0].key in mapping else e)
        moved.append(f"[b00t.orchestration.{sub}] -> [b00t.resources]")
    if any(e[0] is not None for e in resources):
        _place(top, "resources", resources, te.find(top, "orchestration"), "resources {} is given twice")
    elif resources:
        te.insert_keys(oes, resources)  # comments only: they stay in [b00t.orchestration]
    if te.find(oes, "budget_constraint") is not None:
        carried = [te.rename(e, BUDGET_KEYS.get(e[0].key, e[0].key)) if e[0] is not None else e
                   for e in te.dissolve(oes, "budget_constraint")]
        _check_twice(oes, carried, "orchestration {} is given twice")
        te.insert_keys(oes, carried)
        moved.append("[b00t.orchestration.budget_constraint] -> budget_* keys")
    affinity = False
    for e in oes:
        if e[0] is not None and e[0].key == "schedule_type":
            affinity = e[1].unwrap() == "gpu_affinity"
    group = te.find(oes, "gpu_batch_group")
    if group is not None:
        if te.find(oes, "gpu_affinity") is not None:
            raise MigrateError("orchestration gpu_affinity and gpu_batch_group are both given")
        oes[group] = te.rename(oes[group], "gpu_affinity")
        if affinity:
            te.drop(oes, "schedule_type")
        moved.append("schedule_type/gpu_batch_group -> gpu_affinity")
    elif affinity:
        te.drop(oes, "schedule_type")
        moved.append('schedule_type = "gpu_affinity" (no group) dropped')


def _check_twice(es: te.Entries, carried: te.Entries, message: str) -> None:
    seen = {k.key for k, _ in es if k is not None}
    for k, _ in carried:
        if k is not None:
            if k.key in seen:
                raise MigrateError(message.format(k.key))
            seen.add(k.key)


def _place(top: te.Entries, key: str, carried: te.Entries, at: int, twice: str) -> None:
    """``carried`` into the table ``key`` of ``top``: after its last key when it exists,
    else in a new table at ``top[at]``, or before the first table when a plain key follows
    that place (a key after a table header would belong to the table)."""
    import tomlkit

    i = te.find(top, key)
    if i is not None and isinstance(top[i][1], InlineTable):  # key = { ... }: folded in
        es = [te.unfold(e) for e in te.entries(top[i][1]) if e[0] is not None]
        _check_twice(es, carried, twice)
        folded, lines = te.fold(es + carried, top[i][1].trivia)
        top[i : i + 1] = [*lines, (top[i][0], folded)]
        return
    if i is not None:
        table = top[i][1]
        es = te.entries(table)
        _check_twice(es, carried, twice)
        te.insert_keys(es, carried)
        te.set_entries(table, es)
        return
    _check_twice([], carried, twice)
    first = te.first_table(top)
    at = min(at, len(top))
    if any(te.is_key(e) for e in top[at:first]):
        at = first
    table = tomlkit.table()
    te.set_entries(table, carried)
    te.insert_table(top, key, table, at)


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
