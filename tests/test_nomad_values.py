"""Deploy-time values on Nomad: ``Nomad.value_commands`` puts each Nomad Variable of a
build with ``nomad var put``, its one item (the JSON object of the job's values,
``_nomadvars.variable_items``) as JSON on stdin, never on the command line, and says what
it puts without a value (``stdin_what``). A fake ``nomad`` on PATH records what
it is given when the command runs through ``Orchestrator.run_command``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from b00tc.backends._envfile import EnvFile
from b00tc.diagnostics import Diagnostics
from b00tc.envfiles import resolve_store
from b00tc.runtime.model import Options
from b00tc.runtime.orchestrators.nomad import Nomad
from tests.helpers import compile_

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "pa$$ ${X} \"q\" 'a' {{ .Y }} \\ \n\t é 😀 \u2028 <&> \x01 -force"


def _stores_and_values(env: dict[str, str]):
    result = compile_(["tests/cases/host-vars.job.toml"], targets=["nomad"], env={})
    assert result.ok
    stores = [s for s in result.env_files if s.kind == "nomad"]
    diags = Diagnostics()
    values = [resolve_store(s, env, diags) for s in stores]
    assert all(v is not None for v in values), [d.message for d in diags]
    return stores, values


def test_one_var_put_per_variable_reading_json_on_stdin():
    env = {"REQUIRED_TOKEN": HOSTILE, "CHECKED": "prod", "GREETING": "hi"}
    stores, values = _stores_and_values(env)
    assert [s.path for s in stores] == ["nomad/jobs/host-vars"]
    (cmd,) = Nomad().value_commands(stores, values, Options())
    assert cmd.argv == ["nomad", "var", "put", "-force", "-in=json", "-out=none", "nomad/jobs/host-vars", "-"]
    assert list(json.loads(cmd.stdin)) == ["Items"] and list(json.loads(cmd.stdin)["Items"]) == ["b00tc"]
    assert json.loads(json.loads(cmd.stdin)["Items"]["b00tc"]) == values[0]
    assert values[0]["host-vars.TOKEN"] == HOSTILE
    assert values[0]["host-vars.MIXED"] == "prefix-hi-suffix and $ literal"
    assert cmd.stdin_what == "Variable nomad/jobs/host-vars: 5 values"
    shown = cmd.text()
    assert "pa$$" not in shown and "prod" not in shown and shown.endswith("< (Variable nomad/jobs/host-vars: 5 values)")
    assert all("pa$$" not in a and "prod" not in a for a in cmd.argv)


def test_stores_of_other_kinds_and_empty_variables_are_left_out():
    stores = [EnvFile("/etc/b00t/x.env", "x", [], "systemd"), EnvFile("nomad/jobs/y", "y", [], "nomad"),
              EnvFile("nomad/jobs/z", "z", [], "nomad")]
    cmds = Nomad().value_commands(stores, [{"A": "1"}, {}, {"z.A": "2"}], Options())
    assert [c.argv[-2] for c in cmds] == ["nomad/jobs/z"]
    assert cmds[0].stdin_what == "Variable nomad/jobs/z: 1 value"


def test_the_values_reach_nomad_on_stdin_exactly_and_not_in_argv(tmp_path):
    """A fake ``nomad`` records argv and stdin; run through Orchestrator.run_command, as
    deploy runs it."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "nomad"
    fake.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do printf "%s\\0" "$a"; done > {tmp_path}/argv\n'
        f"cat > {tmp_path}/stdin\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {"REQUIRED_TOKEN": HOSTILE, "CHECKED": "c\nd", "MAYBE": ""}
    stores, values = _stores_and_values(env)
    (cmd,) = Nomad().value_commands(stores, values, Options())
    code = Nomad().run_command(cmd, env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"})
    assert code == 0
    argv = (tmp_path / "argv").read_bytes().split(b"\0")[:-1]
    assert [a.decode() for a in argv] == cmd.argv[1:]
    received = json.loads((tmp_path / "stdin").read_bytes())
    assert (tmp_path / "stdin").read_bytes().isascii()  # every other byte as an escape
    assert list(received["Items"]) == ["b00tc"]
    held = json.loads(received["Items"]["b00tc"])  # what the template's parseJSON reads
    assert held == values[0]
    assert held["host-vars.TOKEN"] == HOSTILE
    assert held["host-vars.MAYBE"] == ""
    for value in (HOSTILE, "c\nd"):
        assert all(value.encode() not in a for a in argv)
