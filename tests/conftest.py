from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    """Every test runs from the repository root, so paths in diagnostics and goldens are
    relative and stable."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("B00T_DATUM_PATH", raising=False)


@pytest.fixture
def golden(snapshot):
    from tests.golden_ext import GoldenFile

    return snapshot.use_extension(GoldenFile)
