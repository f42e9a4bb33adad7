"""Nomad through MCP, for real: the mcp-nomad server (npm @kocierik/mcp-nomad-linux-x64,
a Go binary, pinned) installed by this file with ``npm install -g --prefix`` into the test
cache, talking to a fake Nomad HTTP API on 127.0.0.1 (tests/fake_nomad.py) that records
every request. b00tc's calls are checked against the schemas the server lists, and
``b00tc deploy|status|logs|down --orchestrator nomad --via mcp`` run as a user runs them:
what reaches the API is what is asserted (the job parsed from what the server sent, the
Variable's item, the day-two requests naming the job).

The server exits at start when no Nomad leader answers, so every session here has the fake
API behind it. Where npm cannot install the package the tests are skipped (with CI=true:
failed), as tests/test_mcp.py does.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.fake_nomad import FakeNomad
from tests.test_mcp import _global_install, _unavailable

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "runtime_data"
TOKEN_JOB = DATA / "token-job.job.toml"
CASES = [DATA / "exit7.job.toml", DATA / "site.stack.toml", TOKEN_JOB, ROOT / "tests" / "cases" / "shop.stack.toml",
         ROOT / "examples" / "llm-batch-job.job.toml", ROOT / "tests" / "data" / "workflows" / "workflow-steps.job.toml"]
SPEC = "@kocierik/mcp-nomad-linux-x64@0.3.1"
PACKAGE = "@kocierik/mcp-nomad-linux-x64"
#: every kind of byte a token may hold: JSON's escapes, Go template and shell syntax, a
#: line break, non-ASCII, a C0 control character
HOSTILE = "pa$$ ${X} \"q\" 'a' {{ .Y }} \\ \n\t é 😀 \u2028 <&> \x01 -force"


@pytest.fixture(scope="module")
def prefix() -> Path:
    """npm's global prefix holding mcp-nomad (what ``npm install -g`` makes)."""
    if not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")):
        pytest.skip("the pinned mcp-nomad package is the linux-x64 binary")
    p = _global_install(SPEC)
    if not (p / "lib" / "node_modules" / PACKAGE / "bin" / "mcp-nomad").exists():
        _unavailable(f"{SPEC} installed no bin/mcp-nomad")
    return p


@pytest.fixture(scope="module")
def binary(prefix) -> str:
    return str(prefix / "lib" / "node_modules" / PACKAGE / "bin" / "mcp-nomad")


@pytest.fixture(scope="module")
def schemas(binary) -> dict[str, dict]:
    """{tool: input schema} as the real server lists them (with a fake API to start)."""
    from b00tc.runtime.mcp_client import list_tools

    with FakeNomad() as api:
        tools = list_tools([binary, "-transport", "stdio"], env={"NOMAD_ADDR": api.address}, timeout=60)
    return {t.name: t.input_schema for t in tools}


def _plan(path: Path, **kw):
    from b00tc.runtime.plan import compile_plan

    return compile_plan([str(path)], "nomad", [], False, "text", host_env={}, with_required=False, **kw)


def _b00tc(args: list[str], env: dict, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "b00tc", *args], capture_output=True, text=True, env=env,
                          timeout=180, cwd=cwd, input=stdin)


def _env(tmp_path: Path, prefix: Path, api: FakeNomad, **extra) -> dict:
    """A user's environment: no config file, npm's global prefix holding mcp-nomad, and
    NOMAD_ADDR naming the fake API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOMAD_", "npm_config_", "NPM_CONFIG_"))}
    return {**env, "B00TC_CONFIG": str(tmp_path / "none.toml"), "npm_config_prefix": str(prefix),
            "NOMAD_ADDR": api.address, "PYTHONPATH": str(ROOT), **extra}


# -- the calls fit the server -------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_every_call_fits_the_real_servers_schemas(schemas, case):
    """Deploy's calls (create_variable, run_job) and day two's, those made from earlier
    answers included (their placeholders are strings where the server wants strings),
    validate against the input schemas mcp-nomad lists."""
    plan = _plan(case)
    assert plan.profile is not None and plan.profile.name == "mcp-nomad"
    calls = list(plan.mcp_commands) + [c for op in ("status", "logs", "down") for c in plan.day_two[op][1]]
    assert [c.tool for c in plan.mcp_commands][-1] == "run_job"
    assert {c.tool for c in calls} >= {"run_job", "get_job", "get_job_allocations", "get_allocation_logs", "stop_job"}
    for c in calls:
        assert c.server == "mcp-nomad"
        jsonschema.validate(c.arguments, schemas[c.tool])
    (run_job,) = [c for c in plan.mcp_commands if c.tool == "run_job"]
    assert run_job.arguments["job_spec"] == plan.manifests[0].content  # the compiled HCL, byte for byte


def test_a_secret_is_one_create_variable_before_run_job_and_is_shown_redacted(schemas):
    """The Variable's one item (the JSON of the job's values: a plan holds them unresolved,
    empty) goes in create_variable's arguments (at nomad/jobs/<job>, the namespace of -O
    nomad.namespace), before run_job, and nowhere else: the job spec holds only the
    template that reads it; the plan (text and JSON) shows <redacted>."""
    plan = _plan(TOKEN_JOB, options=["nomad.namespace=batch"])
    assert [c.tool for c in plan.mcp_commands] == ["create_variable", "run_job"]
    var = plan.mcp_commands[0]
    assert var.arguments == {"path": "nomad/jobs/token-job", "key": "b00tc", "value": '{"token-job.API_TOKEN":""}',
                             "namespace": "batch"}
    jsonschema.validate(var.arguments, schemas["create_variable"])
    assert var.shown()["value"] == "<redacted>"
    assert '"value": "<redacted>"' in plan.text()
    assert plan.to_json()["mcp_commands"][0]["arguments"]["value"] == "<redacted>"
    assert [c.arguments.get("namespace") for c in plan.day_two["status"][1]] == ["batch", "batch"]


def test_the_schemas_checked_are_not_vacuous(schemas):
    """What the server requires is really required: a check that accepted anything would
    make the tests above prove nothing."""
    for tool, bad in (("run_job", {"detach": True}), ("create_variable", {"path": "p", "key": "k"}),
                      ("get_allocation_logs", {"allocation_id": "a", "task": "t", "type": "both"}),
                      ("stop_job", {"purge": True})):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schemas[tool])


# -- deploy, status, logs, down through the real server ----------------------------------------------


def test_deploy_status_logs_down_via_mcp(prefix, tmp_path):
    """b00tc finds mcp-nomad under npm's global folder (no config, no MCP datum), deploys
    the job with its secret, then status, logs and down; the fake API records what the
    real server sent it."""
    out = tmp_path / "out"
    with FakeNomad() as api:
        env = _env(tmp_path, prefix, api, API_TOKEN=HOSTILE)
        r = _b00tc(["deploy", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp", "--dry-run"], env, tmp_path)
        assert r.returncode == 0 and api.requests == [], r.stdout + r.stderr  # a dry run asks nothing
        assert "would start the MCP server: " + str(prefix / "lib" / "node_modules" / PACKAGE / "bin" / "mcp-nomad") in r.stdout
        assert 'would call mcp-nomad create_variable {"path": "nomad/jobs/token-job", "key": "b00tc", "value": "<redacted>"}' \
            in r.stdout and "pa$$" not in r.stdout + r.stderr
        r = _b00tc(["deploy", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp", "-o", str(out)], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "mcp-nomad create_variable: ok" in r.stderr and "mcp-nomad run_job: ok" in r.stderr
        hcl = (out / "token-job.nomad.hcl").read_text()
        # the Variable's item, byte for byte, at the job's path, before the job is parsed
        (put,) = api.asked("PUT", "/v1/var/")
        assert put["path"] == "/v1/var/nomad/jobs/token-job"
        assert list(put["body"]["Items"]) == ["b00tc"]
        assert json.loads(put["body"]["Items"]["b00tc"]) == {"token-job.API_TOKEN": HOSTILE}
        (parse,) = api.asked("POST", "/v1/jobs/parse")
        assert api.requests.index(put) < api.requests.index(parse)
        assert parse["body"]["JobHCL"] == hcl
        # the job Nomad registered is b00tc's: parsed from what the server sent
        (register,) = [q for q in api.asked("POST", "/v1/jobs") if q["path"] == "/v1/jobs"]
        job = register["body"]["Job"]
        assert job["ID"] == "token-job" and job["Type"] == "batch"
        assert job["Meta"] == {"b00t_name": "token-job", "b00t_managed_by": "b00tc", "b00t_datum": "token-job.job"}
        assert [t["Name"] for g in job["TaskGroups"] for t in g["Tasks"]] == ["token-job"]
        # the secret is in the Variable only: not in the job, not in what b00tc printed
        for text in (json.dumps(parse["body"]), json.dumps(register["body"]), hcl, r.stdout, r.stderr):
            assert "pa$$" not in text and "{{ .Y }}" not in text

        api.requests.clear()
        r = _b00tc(["status", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp", "--format", "json"], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        st = json.loads(r.stdout)
        assert (st["datum"], st["state"]) == ("token-job.job", "running")
        assert [o["kind"] for o in st["objects"]] == ["job", "alloc"]
        assert [(q["method"], q["path"]) for q in api.requests if q["path"] != "/v1/status/leader"] == [
            ("GET", "/v1/job/token-job"), ("GET", "/v1/job/token-job/allocations")]

        api.requests.clear()
        r = _b00tc(["logs", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        alloc = "00000000-aaaa-bbbb-cccc-token-job000"
        assert r.stdout == f"stdout of token-job in {alloc}\nstderr of token-job in {alloc}\n"
        logs = api.asked("GET", "/v1/client/fs/logs/")
        assert [(q["path"], q["query"]["task"], q["query"]["type"]) for q in logs] == [
            (f"/v1/client/fs/logs/{alloc}", "token-job", "stdout"), (f"/v1/client/fs/logs/{alloc}", "token-job", "stderr")]

        api.requests.clear()
        r = _b00tc(["logs", "--follow", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 2 and "use --via cli for --follow" in r.stderr, r.stdout + r.stderr

        r = _b00tc(["down", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        (delete,) = api.asked("DELETE", "/v1/job/")
        assert (delete["path"], delete["query"]) == ("/v1/job/token-job", {"purge": "true"})
        assert api.asked("GET", "/v1/job/token-job") and api.requests.index(api.asked("GET", "/v1/job/token-job")[0]) < \
            api.requests.index(delete)

        r = _b00tc(["status", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 4, r.stdout + r.stderr  # not deployed: get_job's 404 is an answer
        assert "token-job.job on nomad: not deployed" in r.stdout
        r = _b00tc(["down", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 0 and "no Nomad job token-job: nothing to stop" in r.stderr, r.stderr


def test_a_job_whose_variable_cannot_be_written_is_not_run(prefix, tmp_path):
    """create_variable comes first and the session stops at its error: with a token that
    may not write Variables (Nomad's 403), the job is never parsed nor registered, and
    deploy exits 1 with the server's message."""
    with FakeNomad() as api:
        api.deny_variables = True
        env = _env(tmp_path, prefix, api, API_TOKEN=HOSTILE)
        r = _b00tc(["deploy", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "mcp-nomad create_variable: error" in r.stderr and "403" in r.stderr
        assert api.asked("PUT", "/v1/var/") and api.asked("POST", "/v1/jobs") == []
        assert "pa$$" not in r.stdout + r.stderr


def test_a_stacks_logs_read_each_members_newest_allocation(prefix, tmp_path):
    """A stack is one job, a group per member: logs reads each member's task in the
    newest allocation of its group, stdout then stderr."""
    stack = DATA / "site.stack.toml"
    with FakeNomad() as api:
        env = _env(tmp_path, prefix, api)
        r = _b00tc(["deploy", str(stack), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert api.asked("PUT", "/v1/var/") == []  # no secret: no Variable
        r = _b00tc(["logs", str(stack), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        tasks = [(q["query"]["task"], q["query"]["type"]) for q in api.asked("GET", "/v1/client/fs/logs/")]
        assert tasks == [("web", "stdout"), ("web", "stderr")]


def test_a_workflow_jobs_status_reads_its_steps_from_its_tasks_output(prefix, tmp_path):
    """A workflow job is one task running b00tc's step runner; through mcp-nomad (which has
    no tool to read the alloc dir), status reads each step's state from the runner's lines
    in the task's stdout and stderr (get_allocation_logs), as the CLI path does when
    ``nomad alloc fs`` has nothing."""
    wf = ROOT / "tests" / "data" / "workflows" / "workflow-steps.job.toml"
    with FakeNomad() as api:
        env = _env(tmp_path, prefix, api)
        r = _b00tc(["deploy", str(wf), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        api.task_state = ("dead", True)
        api.logs[("workflow-steps", "stdout")] = "[build] wrote out/artifact.txt\n"
        api.logs[("workflow-steps", "stderr")] = "b00tc: [Unit tests] failed with exit status 3\n"
        r = _b00tc(["status", str(wf), "--orchestrator", "nomad", "--via", "mcp", "--format", "json"], env, tmp_path)
        assert r.returncode == 1, r.stdout + r.stderr
        st = json.loads(r.stdout)
        steps = {s["name"]: (s["state"], s["detail"]) for s in st["steps"]}
        assert st["state"] == "failed" and steps["Unit tests"] == ("failed", "exit 3"), st
        assert steps["build"][0] == "succeeded", st
        assert [(q["query"]["task"], q["query"]["type"]) for q in api.asked("GET", "/v1/client/fs/logs/")] == [
            ("workflow-steps", "stdout"), ("workflow-steps", "stderr")]


def test_down_refuses_a_job_b00tc_did_not_deploy(prefix, tmp_path):
    """As on the CLI path: a job of the datum's name whose meta is not b00tc's is not
    stopped; nothing is deleted, exit 1."""
    with FakeNomad() as api:
        api.jobs["token-job"] = {"ID": "token-job", "Name": "token-job", "Type": "batch", "Status": "running",
                                 "Meta": {"owner": "someone else"}, "TaskGroups": []}
        env = _env(tmp_path, prefix, api)
        r = _b00tc(["down", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "the Nomad job token-job was not deployed by b00tc for token-job.job" in r.stderr
        assert "not stopping it" in r.stderr and "Traceback" not in r.stderr
        assert api.asked("DELETE", "/") == []
        r = _b00tc(["status", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 1 and "not deployed by b00tc" in r.stdout, r.stdout + r.stderr


def test_a_jobs_values_are_one_create_variable_read_back_byte_for_byte(prefix, tmp_path):
    """mcp-nomad's create_variable writes a Variable of one item (a second call to the path
    replaces the first) and refuses an empty value, so a job's values travel as one item,
    their JSON object: five values, an empty one and a hostile one among them, are one call
    and one PUT. What the API stored, read by the job's own template (consul-template's
    parseJSON and toJSON, then go-envparse, as tests/backends/test_nomad.py renders them),
    gives each env entry its value byte for byte."""
    from tests.backends.test_nomad import blocks, envparse, go_render, one, s

    with FakeNomad() as api:
        env = _env(tmp_path, prefix, api, REQUIRED_TOKEN=HOSTILE, CHECKED="prod", MAYBE="", GREETING="hi")
        r = _b00tc(["deploy", str(ROOT / "tests" / "cases" / "host-vars.job.toml"), "--orchestrator", "nomad",
                    "--via", "mcp", "-o", str(tmp_path / "out")], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        (put,) = api.asked("PUT", "/v1/var/")
        assert put["path"] == "/v1/var/nomad/jobs/host-vars" and list(put["body"]["Items"]) == ["b00tc"]
        hcl = (tmp_path / "out" / "host-vars.nomad.hcl").read_text()
        assert "pa$$" not in hcl and "pa$$" not in r.stdout + r.stderr
        import hcl2

        doc = hcl2.loads(hcl)
        task = one(one(one(doc, "job", "host-vars"), "group", "host-vars"), "task", "host-vars")
        ((_, tmpl),) = blocks(task, "template")
        variables = {path: v["Items"] for path, v in api.variables.items()}
        got = envparse(go_render(s(tmpl["data"]), {}, variables))
    assert got == {"GREETING": "hi", "TOKEN": HOSTILE, "MAYBE": "", "CHECKED": "prod",
                   "MIXED": "prefix-hi-suffix and $ literal"}


# -- which server ---------------------------------------------------------------------------------


def test_a_nomad_mcp_datum_on_the_search_path_wins(prefix, binary, tmp_path):
    """b00t's convention: nomad.mcp.toml beside the datum names the server, and its
    [b00t.mcp.stdio.env] reaches it (here NOMAD_ADDR: the user's environment names no
    API at all)."""
    datums = tmp_path / "datums"
    datums.mkdir()
    (datums / "token-job.job.toml").write_bytes(TOKEN_JOB.read_bytes())
    with FakeNomad() as api:
        (datums / "nomad.mcp.toml").write_text(
            '[b00t]\nname = "nomad"\ntype = "mcp"\nhint = "Nomad via MCP"\n\n[[b00t.mcp.stdio]]\n'
            f'command = {json.dumps(binary)}\nargs = ["-transport", "stdio"]\npriority = 0\n\n'
            f'[b00t.mcp.stdio.env]\nNOMAD_ADDR = {json.dumps(api.address)}\n')
        env = _env(tmp_path, tmp_path / "no-npm", api, API_TOKEN="t0ken")
        del env["NOMAD_ADDR"]
        r = _b00tc(["plan", str(datums / "token-job.job.toml"), "--orchestrator", "nomad"], env, tmp_path)
        assert f"mcp server: {binary} -transport stdio (datum {datums}/nomad.mcp.toml, entry 1 (priority 0))" in r.stdout
        r = _b00tc(["deploy", "token-job", "-I", str(datums), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert api.asked("PUT", "/v1/var/")[0]["body"] == {"Items": {"b00tc": '{"token-job.API_TOKEN":"t0ken"}'}}


def test_without_a_server_deploy_says_how_to_install_it(tmp_path):
    """No config, no datum, mcp-nomad nowhere (PATH holds no node and no mcp-nomad, npm's
    prefix is empty): exit 3, naming the npm package to install; plan says the same."""
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path), "B00TC_CONFIG": str(tmp_path / "none.toml"),
           "npm_config_prefix": str(tmp_path / "empty"), "PYTHONPATH": str(ROOT), "API_TOKEN": "x"}
    r = _b00tc(["deploy", str(TOKEN_JOB), "--orchestrator", "nomad", "--via", "mcp"], env, tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "no MCP server for nomad is installed" in r.stderr
    package = "@kocierik/mcp-nomad-linux-x64" if platform.machine() in ("x86_64", "AMD64") else "@kocierik/mcp-nomad-"
    assert f"npm install -g {package}" in r.stderr and str(tmp_path / "empty" / "lib" / "node_modules") in r.stderr
    r = _b00tc(["plan", str(TOKEN_JOB), "--orchestrator", "nomad"], env, tmp_path)
    assert r.returncode == 0 and "mcp server: no MCP server for nomad is installed" in r.stdout


def test_npms_prefix_is_read_from_npmrc_and_a_fifo_there_is_left_alone(tmp_path, monkeypatch):
    """``prefix=`` in ~/.npmrc names npm's global folder (as npm reads it); a ~/.npmrc that
    is a FIFO (a hostile or broken home) is not opened for reading: b00tc does not hang."""
    from b00tc.runtime.orchestrators.nomad import npm_global_roots

    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("npm_config_prefix", "NPM_CONFIG_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no node: the roots come from .npmrc alone
    (tmp_path / ".npmrc").write_text("registry=https://r.example\nprefix = ~/npm-g\n")
    assert npm_global_roots() == [str(tmp_path / "npm-g" / "lib" / "node_modules")]
    (tmp_path / ".npmrc").unlink()
    os.mkfifo(tmp_path / ".npmrc")
    assert npm_global_roots() == []


# -- what b00tc makes of the server's answers (no server needed) ----------------------------


def test_get_jobs_errors_other_than_not_found_are_said():
    """A 404 is "no such job"; a 403 (a token without read-job) is an error, not "not
    deployed"."""
    from b00tc.runtime.mcp_client import ToolOutcome
    from b00tc.runtime.model import Deployed, LifecycleError, Options
    from b00tc.runtime.orchestrators.nomad import Nomad
    from b00tc.runtime.profiles import PROFILES

    n, d, p = Nomad(), Deployed("j", "job"), PROFILES["mcp-nomad"]
    get = n.mcp_calls(d, "down", Options(), p)[0]
    said: list[str] = []
    missing = ToolOutcome("get_job", False, "Failed to get job: nomad API error GET job/j: HTTP 404 (job not found)")
    assert n.mcp_next(d, "down", Options(), p, [(get, missing)], said.append) == [] and "nothing to stop" in said[0]
    denied = ToolOutcome("get_job", False, "Failed to get job: nomad API error GET job/j: HTTP 403 (Permission denied)")
    with pytest.raises(LifecycleError, match="HTTP 403"):
        n.mcp_next(d, "status", Options(), p, [(get, denied)], said.append)


def test_logs_read_the_newest_allocation_of_each_task():
    from b00tc.runtime.orchestrators.nomad import _latest_allocs

    allocs = [{"ID": "old", "CreateIndex": 5, "TaskStates": {"a": {}, "b": {}}},
              {"ID": "new", "CreateIndex": 9, "TaskStates": {"a": {}}},
              {"ID": "other", "CreateIndex": 12, "TaskStates": {"c": {}}}]
    assert _latest_allocs(allocs, ["a", "b", "d"]) == [("new", "a"), ("old", "b")]
