"""systemd unit names of workflow steps and stack members (issue 17): a workflow ``a`` with a
step ``b-c`` and a stack ``a-b`` with a member ``c`` both make ``b00t-a-b-c.service``.
In one build that is E0114 (two datums write one output file, whichever comes first),
located at the step's name, with a help that says how the unit names are made; nothing is
written. (Separate builds cannot see each other: README's workflow section says so.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from b00tc.compiler import BuildRequest, build
from tests.helpers import rendered

WF = """[b00t]
name = "a"
type = "job"
[b00t.job]
description = "a workflow"
[b00t.job.config]
mode = "sequential"
[[b00t.job.steps]]
name = "first"
description = "a step"
[b00t.job.steps.task]
type = "bash"
command = "true"
[[b00t.job.steps]]
name = "b-c"
description = "the step whose unit is the member's"
[b00t.job.steps.task]
type = "bash"
command = "true"
"""

STACK = """[b00t]
name = "a-b"
type = "stack"
members = ["c.docker"]
"""

MEMBER = """[b00t]
name = "c"
type = "docker"
image = "alpine:3.20"
"""


def _build(tmp_path: Path, order: list[str], targets=("systemd",)):
    (tmp_path / "a.job.toml").write_text(WF)
    (tmp_path / "a-b.stack.toml").write_text(STACK)
    (tmp_path / "c.docker.toml").write_text(MEMBER)
    return build(BuildRequest(paths=[str(tmp_path / p) for p in order], targets=list(targets), host_env={},
                              datum_path=""))


@pytest.mark.parametrize("order", [["a.job.toml", "a-b.stack.toml"], ["a-b.stack.toml", "a.job.toml"]])
def test_a_step_unit_and_a_member_unit_of_one_name_are_a_located_error(tmp_path, order):
    r = _build(tmp_path, order)
    errors = [d for d in r.diags if d.is_error]
    assert [d.code for d in errors] == ["E0114"], rendered(r)
    (e,) = errors
    assert "both write b00t-a-b-c.service" in e.message
    assert e.file.endswith("a.job.toml") and e.path == "$.b00t.job.steps[1].name", rendered(r)
    assert "b00t-<stack>-<member>" in e.help and "b00t-<workflow>-<step>" in e.help
    text = rendered(r)
    assert 'name = "b-c"' in text  # the caret is on the step's name


def test_the_other_targets_have_no_clash(tmp_path):
    r = _build(tmp_path, ["a.job.toml", "a-b.stack.toml"], targets=("bash",))
    assert not [d for d in r.diags if d.is_error], rendered(r)


def test_two_datums_of_one_name_keep_their_help(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "one" / "a.job.toml").write_text(WF)
    (tmp_path / "two" / "a.job.toml").write_text(WF)
    r = build(BuildRequest(paths=[str(tmp_path / "one" / "a.job.toml"), str(tmp_path / "two" / "a.job.toml")],
                           targets=["systemd"], host_env={}, datum_path=""))
    errors = [d for d in r.diags if d.is_error and d.code == "E0114"]
    assert errors and all(e.help == "datum names must be unique within one build" for e in errors), rendered(r)
