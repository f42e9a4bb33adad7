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


KUBECTL = """case "$1 $2" in
  "config current-context") echo kind-dev ;;
  "version --request-timeout=1s") echo "Client Version: v1.31.0"; echo "Server Version: v1.31.0" ;;
  "apply -f") n=$(/bin/ls "$(/usr/bin/dirname "$0")/../applied" | /usr/bin/wc -l)
              /bin/cat "$3" > "$(/usr/bin/dirname "$0")/../applied/$n" ;;
  *) exit 9 ;;
esac"""

NOMAD = """case "$1 $2" in
  "version ") echo "Nomad v1.8.0" ;;
  "status ") echo "No running jobs" ;;
  "var put") n=$(/bin/ls "$(/usr/bin/dirname "$0")/../applied" | /usr/bin/wc -l)
             /bin/cat > "$(/usr/bin/dirname "$0")/../applied/$n" ;;
  "job run") n=$(/bin/ls "$(/usr/bin/dirname "$0")/../applied" | /usr/bin/wc -l)
             /bin/cat "$3" > "$(/usr/bin/dirname "$0")/../applied/$n" ;;
  *) exit 9 ;;
esac"""


def _applied(host) -> list[str]:
    folder = host.root / "applied"
    return [(folder / str(i)).read_text() for i in range(len(list(folder.iterdir())))]


def test_kubernetes_deploy_applies_the_secret_from_stdin_first(host):
    """A fake kubectl records what each ``apply -f`` reads. The first is the Secret, on
    stdin: its ``data`` decodes to the --set value exactly; the second is the Job, which
    holds no value. No argv (the call log), stdout or stderr shows the value."""
    import base64

    (host.root / "applied").mkdir()
    host.tool("kubectl", KUBECTL)
    r = host.b00tc("deploy", "vals.job.toml", "--orchestrator", "kubernetes", "--set", f"SECRET_PW={CANARY}",
                   "--env-file", "vals.env")
    assert r.returncode == 0, r.stderr
    secret_text, job_text = _applied(host)
    secret = json.loads(secret_text)
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "vals"
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert CANARY in data.values() and "from-the-file" in data.values()
    assert "kind: Job" in job_text and "c4n4ry" not in job_text
    assert "c4n4ry" not in r.stdout + r.stderr + "\n".join(host.calls())
    assert any(c.startswith("kubectl apply -f -") for c in host.calls())


def test_kubernetes_deploy_stops_on_a_required_unset_variable(host):
    """``${X:?msg}`` unset at deploy is E0402, said with the datum's line; nothing runs."""
    (host.root / "applied").mkdir()
    host.tool("kubectl", KUBECTL)
    (host.root / "req.job.toml").write_text(DATUM.replace('"vals"', '"req"').replace(
        "${SECRET_PW}", "${SECRET_PW:?set the password}"))
    r = host.b00tc("deploy", "req.job.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 1
    assert "E0402" in r.stderr and "set the password" in r.stderr and "req.job.toml:" in r.stderr
    assert _applied(host) == []


def test_nomad_deploy_puts_the_variable_from_stdin_first(host):
    """A fake nomad records what ``var put`` reads on stdin and the job ``job run`` gets:
    the Variable's one item (the JSON of the job's values) holds the --set value exactly,
    the job file none."""
    (host.root / "applied").mkdir()
    host.tool("nomad", NOMAD)
    r = host.b00tc("deploy", "vals.job.toml", "--orchestrator", "nomad", "--set", f"SECRET_PW={CANARY}")
    assert r.returncode == 0, r.stderr
    var_text, job_text = _applied(host)
    doc = json.loads(var_text)
    items = doc.get("Items", doc.get("items", doc))
    assert list(items) == ["b00tc"]
    assert CANARY in json.loads(items["b00tc"]).values()
    assert "c4n4ry" not in job_text
    assert "c4n4ry" not in r.stdout + r.stderr + "\n".join(host.calls())
