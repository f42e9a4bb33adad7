"""Deploy-time values: ``plan`` and ``deploy`` take ``--env-file`` and ``--set`` like
``build``; the plan and the dry run name each host variable with ``<set>`` or ``<unset>``,
never its value; a real direct deploy gives the job each value byte for byte.

The fake tools and the private PATH are tests/test_runtime.py's ``Host``."""

from __future__ import annotations

import json

import pytest

from tests.test_runtime import ORCHESTRATORS, Host

#: a value no output, plan or log may show: quotes, $, a newline, a backslash, unicode
CANARY = "c4n4ry 'q' \"d\" $HOME `x` \\n\nline2 ü"

DATUM = """[b00t]
name = "vals"
type = "job"

[b00t.container]
image = "localhost/busybox:test"
command = "sh"
args = ["-c", 'printf "%s|%s|%s" "$PASSWORD" "$MIXED" "$FROM_FILE"']

[b00t.env]
PASSWORD = "${SECRET_PW}"
MIXED = "a-${SECRET_PW:-none}-b"
FROM_FILE = "${FILE_VAR:-unset}"
"""


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path)
    (tmp_path / "vals.job.toml").write_text(DATUM)
    (tmp_path / "vals.env").write_text("FILE_VAR=from-the-file\n")
    return h


@pytest.mark.parametrize("orchestrator", ORCHESTRATORS)
def test_plan_shows_set_and_unset_never_a_value(host, orchestrator):
    """SECRET_PW comes from --set, FILE_VAR from --env-file: both <set>. In JSON the same
    under ``host_variables``. The canary value is in neither stdout nor stderr."""
    r = host.b00tc("plan", "vals.job.toml", "--orchestrator", orchestrator, "--set", f"SECRET_PW={CANARY}",
                   "--env-file", "vals.env")
    assert r.returncode == 0, r.stderr
    assert "  FILE_VAR <set>\n  SECRET_PW <set>\n" in r.stdout
    assert "c4n4ry" not in r.stdout + r.stderr
    r = host.b00tc("plan", "vals.job.toml", "--orchestrator", orchestrator, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["host_variables"] == {"FILE_VAR": "<unset>", "SECRET_PW": "<unset>"}
    r = host.b00tc("plan", "vals.job.toml", "--orchestrator", orchestrator, "--format", "json",
                   SECRET_PW=CANARY)
    assert json.loads(r.stdout)["host_variables"]["SECRET_PW"] == "<set>"
    assert "c4n4ry" not in r.stdout + r.stderr


def test_dry_run_shows_set_and_unset(host):
    r = host.b00tc("deploy", "vals.job.toml", "--orchestrator", "direct", "--dry-run", "--set", f"SECRET_PW={CANARY}")
    assert r.returncode == 0, r.stderr
    assert "host variable SECRET_PW: <set>\n" in r.stdout
    assert "host variable FILE_VAR: <unset>\n" in r.stdout
    assert "c4n4ry" not in r.stdout + r.stderr


def test_direct_deploy_gives_the_job_each_value_exactly(host):
    """The direct target keeps ``${VAR}`` for run time: deploy runs the script with the
    environment, --env-file and --set, so the job prints the --set value byte for byte,
    the mixed value around it, and the file's value (bash's own expansion of the script)."""
    r = host.b00tc("deploy", "vals.job.toml", "--orchestrator", "direct", "--set", f"SECRET_PW={CANARY}",
                   "--env-file", "vals.env")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{CANARY}|a-{CANARY}-b|from-the-file"
    assert "c4n4ry" not in r.stderr


def test_set_wins_over_the_env_file_and_the_environment(host):
    (host.root / "more.env").write_text("SECRET_PW=from-file\n")
    r = host.b00tc("deploy", "vals.job.toml", "--orchestrator", "direct", "--env-file", "more.env",
                   "--set", "SECRET_PW=from-set", SECRET_PW="from-env")
    assert r.stdout.startswith("from-set|"), r.stderr
    r = host.b00tc("deploy", "vals.job.toml", "--orchestrator", "direct", "--env-file", "more.env",
                   SECRET_PW="from-env")
    assert r.stdout.startswith("from-file|"), r.stderr


@pytest.mark.parametrize("command", ["plan", "deploy"])
def test_a_bad_set_or_env_file_is_an_input_error(host, command):
    """Like build: --set without '=' is E0901, a missing --env-file is said; exit 1, nothing run."""
    r = host.b00tc(command, "vals.job.toml", "--orchestrator", "direct", "--set", "NOEQUALS")
    assert r.returncode == 1
    assert "E0901" in r.stderr and "NOEQUALS" in r.stderr
    assert r.stdout == ""
    r = host.b00tc(command, "vals.job.toml", "--orchestrator", "direct", "--env-file", "missing.env")
    assert r.returncode in (1, 2), r.stderr
    assert "missing.env" in r.stderr
    assert r.stdout == ""
