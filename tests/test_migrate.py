"""b00tc migrate: b00t's real legacy datums rewritten into the canonical shape, proved by
compiling both texts to identical output on every target."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomli

from b00tc.migrate import migrate_text, verify

ROOT = Path(__file__).resolve().parent.parent
LEGACY = ["llm-batch-job.job.toml", "llm-inference-pipeline.stack.toml", "n8n.docker.toml"]
LEGACY_KEYS = {
    ("b00t", "image"),
    ("b00t", "orchestration", "requires_stacks"),
    ("b00t", "orchestration", "resource_requirements"),
    ("b00t", "orchestration", "gpu_requirements"),
    ("b00t", "orchestration", "budget_constraint"),
    ("b00t", "orchestration", "gpu_batch_group"),
    ("env",),
}


def has(doc: dict, path: tuple) -> bool:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return False
        doc = doc[key]
    return True


@pytest.fixture
def folder(tmp_path):
    dst = tmp_path / "datums"
    shutil.copytree(ROOT / "tests/data/b00t-datums", dst)
    for p in dst.iterdir():
        p.chmod(0o644)
    return dst


@pytest.mark.parametrize("name", LEGACY)
def test_migrated_text_is_canonical_and_compiles_identically(name, folder):
    path = folder / name
    old = path.read_text()
    new, moved = migrate_text(old)
    assert moved
    doc = tomli.loads(new)
    assert not [k for k in LEGACY_KEYS if has(doc, k) and not (k == ("b00t", "image") and doc["b00t"]["type"] == "docker")]
    # comments and untouched keys survive
    for line in old.splitlines():
        if line.startswith("# ") and ("Environment" in line or "Docker configuration" in line):
            assert line in new
    assert verify(str(path), old, new) == []
    # a wrong rewrite would be caught: the proof compares every target's bytes
    broken = new.replace('"32"', '"33"').replace('"4Gi"', '"5Gi"').replace('"defer"', '"drop"')
    assert broken != new and verify(str(path), old, broken)
    # migrating the canonical text again changes nothing
    assert migrate_text(new)[1] == []


def test_cli_migrate_write_and_diff(folder):
    files = [str(folder / n) for n in LEGACY]
    before = {f: Path(f).read_text() for f in files}
    r = subprocess.run([sys.executable, "-m", "b00tc", "migrate", *files], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("+++ ") == 3 and "+[b00t.container]" in r.stdout
    assert {f: Path(f).read_text() for f in files} == before, "without --write nothing changes"
    r = subprocess.run([sys.executable, "-m", "b00tc", "migrate", "--write", *files], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("every target's output is unchanged") == 3
    r = subprocess.run([sys.executable, "-m", "b00tc", "check", str(folder / "llm-batch-job.job.toml")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0


def test_cli_migrate_refuses_what_it_cannot_prove(folder):
    """postgres-dev-stack names members that do not exist: neither text compiles, so the
    rewrite cannot be proved and is refused (exit 1, the file untouched)."""
    path = folder / "postgres-dev-stack.stack.toml"
    before = path.read_text()
    r = subprocess.run([sys.executable, "-m", "b00tc", "migrate", "--write", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and "the original does not compile" in r.stderr
    assert path.read_text() == before


def test_keys_moved_into_existing_tables_keep_their_comments_and_lines():
    """Keys moved into tables that exist already go after their last key, with their
    comments; a last line without a newline still ends its line once moved; [b00t] split by
    another table is refused with a reason."""
    from b00tc.migrate import MigrateError, lost_comments

    old = (
        '[b00t]\nname = "x"\ntype = "job"\n\n[b00t.env]\nB = "2"  # b\n# tail of env\n'
        '[b00t.dependencies]\nwait_for_services = ["s"]\n\n[b00t.resources]\ncpu = "1"\n\n'
        '[b00t.orchestration]\n# rs\nrequires_stacks = ["st"]  # rs2\n'
        '[b00t.orchestration.resource_requirements]  # hdr\nmemory = "1Gi"  # mem\n\n[env]\n# a\nA = "1"'
    )
    new, moved = migrate_text(old)
    assert len(moved) == 3 and lost_comments(old, new) == []
    assert 'B = "2"  # b\n# a\nA = "1"\n# tail of env\n' in new
    assert 'wait_for_services = ["s"]\n# rs\nrequires_stacks = ["st"]  # rs2\n' in new
    assert 'cpu = "1"\n# hdr\nmemory = "1Gi"  # mem\n' in new
    assert tomli.loads(new)["b00t"]["env"] == {"A": "1", "B": "2"}
    with pytest.raises(MigrateError, match="split by another table"):
        migrate_text('[b00t]\nname = "x"\n[other]\n[b00t.env]\nA = "1"\n')


def test_inline_orchestration_and_env_are_migrated():
    """``orchestration = { ... }`` and a top-level ``env = { ... }`` are legacy too: their
    keys move as from tables, what stays of the orchestration stays inline."""
    old = (
        'env = { A = "1" }  # e\n[b00t]\nname = "x"\ntype = "job"\n'
        'orchestration = { requires_stacks = ["s"], queue_name = "q", resource_requirements = { cpu = "1" } }  # o\n'
    )
    new, moved = migrate_text(old)
    assert len(moved) == 3
    doc = tomli.loads(new)
    assert doc == {"b00t": {"name": "x", "type": "job", "orchestration": {"queue_name": "q"},
                            "dependencies": {"requires_stacks": ["s"]}, "resources": {"cpu": "1"}, "env": {"A": "1"}}}
    assert 'orchestration = {queue_name = "q"}  # o\n' in new and "# e\n" in new


def test_keys_moved_into_an_inline_table_are_folded_in_their_comments_above_it():
    """``dependencies = { ... }`` exists already: the moved key joins it (the rewrite made
    invalid TOML of it before) and its comments, which an inline table cannot hold, go
    above the table's line."""
    from b00tc.migrate import lost_comments

    old = (
        '[b00t]\nname = "x"\ntype = "job"\ndependencies = { wait_for_services = ["w"] }  # d\n'
        '[b00t.orchestration]\n# c\nrequires_stacks = ["s"]  # t\n'
    )
    new, moved = migrate_text(old)
    assert moved and lost_comments(old, new) == []
    assert '# c\n# t\ndependencies = {wait_for_services = ["w"], requires_stacks = ["s"]}  # d\n' in new
    assert tomli.loads(new)["b00t"]["dependencies"] == {"wait_for_services": ["w"], "requires_stacks": ["s"]}
