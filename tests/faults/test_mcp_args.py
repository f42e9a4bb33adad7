"""Issue 14: through ``b00tc mcp``, ``status {"path": "--help"}`` reached the child
``b00tc status`` as an option (it printed the help). Every value an agent gives now goes
as ``--key=value`` or after ``--``: a path that looks like an option is a path."""

from __future__ import annotations

import pytest

from b00tc.runtime.mcp_server import call


@pytest.mark.parametrize("tool", ["status", "logs"])
@pytest.mark.parametrize("path", ["--help", "-h", "--version", "--orchestrator=nomad"])
def test_a_path_that_looks_like_an_option_is_a_path(tool, path, tmp_path, monkeypatch):
    monkeypatch.setenv("B00TC_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("B00T_DATUM_PATH", raising=False)
    (tmp_path / path).write_text('[b00t]\nname = "x"\ntype = "job"\n')  # even when it exists
    monkeypatch.chdir(tmp_path)
    result, _ = call(tool, {"path": path, "orchestrator": "direct"}, root=str(tmp_path))
    text = str(result)
    assert "Show this message" not in text and "b00tc, version" not in text, text  # no help, no version
    assert result["exit_code"] == 1 and "E0103" in text, text  # the file was read as the datum: its errors
    # an include that looks like an option is a folder name, not an option
    result, _ = call(tool, {"path": path, "orchestrator": "direct", "include": ["--help"]}, root=str(tmp_path))
    assert "Show this message" not in str(result) and result["exit_code"] in (1, 2), result
