"""MCP, for real: b00tc's generated tool calls validated (jsonschema) against the input
schemas that real MCP servers report in tools/list, and b00tc's own MCP server (`b00tc mcp`)
driven by the SDK's client over a stdio subprocess.

The servers are installed by this file into a cache folder ($B00TC_TEST_CACHE, else
~/.cache/b00tc-tests), pinned, once per machine:

- npm kubernetes-mcp-server (a Go binary, ~3 s): required;
- npm mcp-server-kubernetes (~30 s), PyPI kubectl-mcp-server (~35 s, into its own
  --target folder, so its dependencies never touch ours), npm @0xshariq/docker-mcp-server
  (~10 s).

Where a registry cannot be reached the test is skipped (with CI=true: failed). The
Kubernetes servers need a kubeconfig with a current context to start: a dummy one points at
a closed port on 127.0.0.1 (no apiserver can run here).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "runtime_data"
JOB = DATA / "exit7.job.toml"
STACK = DATA / "site.stack.toml"
CASES = [JOB, STACK, ROOT / "tests" / "cases" / "shop.stack.toml", ROOT / "examples" / "llm-batch-job.job.toml"]

CACHE = Path(os.environ.get("B00TC_TEST_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "b00tc-tests")

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: dummy
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: dummy
  context:
    cluster: dummy
    user: dummy
    namespace: default
current-context: dummy
users:
- name: dummy
  user:
    token: dummy
"""


def _unavailable(why: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(why)


def _install(kind: str, spec: str, exe: str) -> Path:
    """Install ``spec`` into its own cache folder unless it is there; return the folder."""
    prefix = CACHE / kind / spec.replace("/", "_").replace("@", "_")
    marker = prefix / ".installed"
    if marker.exists():
        return prefix
    if kind == "npm":
        if not shutil.which("npm"):
            _unavailable("npm is not installed: the MCP server tests need node and npm")
        argv = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix), spec]
    else:
        argv = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", str(prefix), spec]
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        _unavailable(f"installing {spec} took over 600 s")
    if r.returncode != 0:
        _unavailable(f"cannot install {spec} ({kind}): {r.stderr.strip()[-400:]}")
    marker.write_text(spec + "\n")
    return prefix


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(KUBECONFIG)
    return path


@pytest.fixture(scope="session")
def server_env(kubeconfig, tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return {"KUBECONFIG": str(kubeconfig), "HOME": str(home), "MCP_TELEMETRY": "false"}


SERVERS = {
    # profile -> (kind, pinned spec, how to start it from the install folder)
    "kubernetes-mcp-server": ("npm", "kubernetes-mcp-server@0.0.67", lambda p: [str(p / "node_modules/.bin/kubernetes-mcp-server")]),
    "mcp-server-kubernetes": ("npm", "mcp-server-kubernetes@4.1.7", lambda p: [str(p / "node_modules/.bin/mcp-server-kubernetes")]),
    "kubectl-mcp-server": ("pypi", "kubectl-mcp-server==2.0.0", lambda p: [sys.executable, str(p / "bin/kubectl-mcp")]),
    "docker-mcp-server": ("npm", "@0xshariq/docker-mcp-server@2.0.4",
                          lambda p: ["node", str(p / "node_modules/@0xshariq/docker-mcp-server/dist/index.js")]),
}


@pytest.fixture(scope="session")
def real_server(server_env):
    """profile -> (command, env, {tool name: input schema}) of the real server, listed
    once per session over stdio with the SDK's client."""
    from b00tc.runtime.mcp_client import list_tools

    seen: dict[str, tuple] = {}

    def get(profile: str):
        if profile not in seen:
            kind, spec, command = SERVERS[profile]
            prefix = _install(kind, spec, profile)
            env = dict(server_env)
            if kind == "pypi":
                env["PYTHONPATH"] = str(prefix)
            cmd = command(prefix)
            tools = list_tools(cmd, env=env, timeout=120)
            seen[profile] = (cmd, env, {t.name: t.input_schema for t in tools})
        return seen[profile]

    return get


def _plan(path: Path, orchestrator: str, **kw):
    from b00tc.compiler import BuildRequest, build
    from b00tc.runtime.orchestrators import get
    from b00tc.runtime.plan import make_plan

    result = build(BuildRequest(paths=[str(path)], targets=[get(orchestrator).target], host_env={"N8N_BASIC_AUTH_PASSWORD": "x"}))
    assert result.ok, [d.message for d in result.diags]
    return make_plan(result, orchestrator, **kw)


@pytest.mark.parametrize("profile", ["kubernetes-mcp-server", "mcp-server-kubernetes", "kubectl-mcp-server"])
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_kubernetes_calls_fit_the_real_servers_schemas(real_server, profile, case):
    _, _, schemas = real_server(profile)
    variants = [{}, {"namespace": "batch", "context": "dummy", "dry_run": True}]
    for kw in variants:
        plan = _plan(case, "kubernetes", profile=profile, **kw)
        assert plan.mcp_commands, "a kubernetes plan always has tool calls"
        for call in plan.mcp_commands:
            assert call.server == profile
            assert call.tool in schemas, f"{profile} has no tool {call.tool}: {sorted(schemas)}"
            jsonschema.validate(call.arguments, schemas[call.tool])


@pytest.mark.parametrize("profile", ["kubernetes-mcp-server", "mcp-server-kubernetes", "kubectl-mcp-server"])
def test_secret_calls_fit_the_real_servers_schemas(real_server, profile):
    """``value_mcp_calls``: the k8s Secret through the same apply tool, accepted too."""
    from b00tc.backends._envfile import EnvFile
    from b00tc.runtime.model import Options
    from b00tc.runtime.orchestrators.kubernetes import Kubernetes
    from b00tc.runtime.profiles import PROFILES

    _, _, schemas = real_server(profile)
    store = EnvFile("n8n", "n8n", [], kind="k8s", labels=(("app.kubernetes.io/part-of", "p"),))
    for o in (Options(), Options(namespace="batch", context="dummy")):
        calls = Kubernetes().value_mcp_calls([store], [{"K": "v'$(x)\n"}], o, PROFILES[profile])
        assert calls
        for call in calls:
            assert call.server == profile and call.tool in schemas
            jsonschema.validate(call.arguments, schemas[call.tool])


def test_the_schemas_checked_are_not_vacuous(real_server):
    """The real schemas do reject a wrong call: the validation above means something."""
    _, _, schemas = real_server("kubernetes-mcp-server")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"manifest": "kind: Job"}, schemas["resources_create_or_update"])
    _, _, schemas = real_server("kubectl-mcp-server")
    with pytest.raises(jsonschema.ValidationError):  # additionalProperties: false
        jsonschema.validate({"manifest": "a: 1", "dryRun": True}, schemas["kubectl_apply"])


def test_one_resource_per_call_for_kubernetes_mcp_server(real_server):
    import yaml

    plan = _plan(STACK, "kubernetes", profile="kubernetes-mcp-server")
    kinds = [yaml.safe_load(c.arguments["resource"])["kind"] for c in plan.mcp_commands]
    assert sorted(kinds) == ["Deployment", "Service"]
    docs = [d for d in yaml.safe_load_all(plan.manifests[0].content) if d]
    assert [yaml.safe_load(c.arguments["resource"]) for c in plan.mcp_commands] == docs


@pytest.mark.parametrize("case", [JOB, STACK], ids=lambda p: p.name)
def test_compose_calls_fit_the_real_docker_servers_schema(real_server, case):
    _, _, schemas = real_server("docker-mcp-server")
    plan = _plan(case, "docker-compose", base="/srv/b00tc")
    [call] = plan.mcp_commands
    assert (call.server, call.tool) == ("docker-mcp-server", "docker-compose")
    jsonschema.validate(call.arguments, schemas["docker-compose"])
    assert call.arguments["filePath"] == f"/srv/b00tc/{plan.manifests[0].path}"


def test_deploy_via_mcp_reaches_the_real_server(real_server, tmp_path):
    """b00tc deploy --via mcp starts the real kubernetes-mcp-server from the config file and
    calls resources_create_or_update; with no apiserver behind the dummy kubeconfig the
    server answers with an error, which b00tc reports (exit 1) instead of crashing."""
    cmd, env, _ = real_server("kubernetes-mcp-server")
    config = tmp_path / "config.toml"
    config.write_text(
        "[mcp.kubernetes]\n"
        'profile = "kubernetes-mcp-server"\n'
        f"command = {json.dumps(cmd)}\n"
        "env = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in env.items()) + " }\n"
    )
    run_env = {**os.environ, "B00TC_CONFIG": str(config)}
    r = subprocess.run([sys.executable, "-m", "b00tc", "deploy", str(JOB), "--orchestrator", "kubernetes", "--via", "mcp"],
                       capture_output=True, text=True, env=run_env, timeout=180, cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "kubernetes-mcp-server resources_create_or_update: error" in r.stderr
    assert "127.0.0.1:1" in r.stderr or "refused" in r.stderr
    assert "Traceback" not in r.stderr


# -- day two through MCP, and the server chosen from b00t's MCP datums ------------------------


@pytest.mark.parametrize("case", [JOB, STACK], ids=lambda p: p.name)
def test_day_two_calls_fit_the_real_servers_schemas(real_server, case):
    """status (kubectl_get), logs (kubectl_logs) and down (kubectl_delete) of
    mcp-server-kubernetes, and the docker server's docker-compose ps/logs/down, are
    accepted by the schemas the real servers list."""
    for orchestrator, profile in (("kubernetes", "mcp-server-kubernetes"), ("docker-compose", "docker-mcp-server")):
        _, _, schemas = real_server(profile)
        plan = _plan(case, orchestrator, base="/srv/b00tc", namespace="batch")
        for op in ("status", "logs", "down"):
            _, calls = plan.day_two[op]
            assert calls, (orchestrator, op)
            for call in calls:
                assert call.server == profile
                jsonschema.validate(call.arguments, schemas[call.tool])


def _global_install(spec: str) -> Path:
    """``npm install -g --prefix`` into the cache: `npx <bin>` then runs it, unprompted,
    with npm_config_prefix pointing there (what an installed server looks like to npx)."""
    prefix = CACHE / "npm-global" / spec.replace("/", "_").replace("@", "_")
    marker = prefix / ".installed"
    if not marker.exists():
        if not shutil.which("npm"):
            _unavailable("npm is not installed: the MCP server tests need node and npm")
        prefix.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["npm", "install", "-g", "--prefix", str(prefix), "--no-audit", "--no-fund", spec],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            _unavailable(f"cannot install {spec}: {r.stderr.strip()[-400:]}")
        marker.write_text(spec + "\n")
    return prefix


def test_status_via_mcp_starts_the_real_server_from_b00ts_kubernetes_datum(server_env, tmp_path):
    """No config: `b00tc status --via mcp` reads b00t's own kubernetes.mcp datum (here a
    copy of ../shared/b00t-datums/_b00t_/kubernetes.mcp.toml on the search path, byte for
    byte, as tests/data/b00t-datums holds it), starts its entry `npx mcp-server-kubernetes` (requires node) over stdio, checks
    the five kubectl_get calls against the schemas the server lists and calls them; with no
    apiserver behind the dummy kubeconfig the server's error comes back as b00tc's (exit 3)."""
    _, spec, _ = SERVERS["mcp-server-kubernetes"]
    prefix = _global_install(spec)
    real = ROOT / "tests" / "data" / "b00t-datums" / "kubernetes.mcp.toml"  # b00t's, copied
    datums = tmp_path / "datums"
    datums.mkdir()
    shutil.copy(real, datums / "kubernetes.mcp.toml")
    shutil.copy(JOB, datums / "exit7.job.toml")
    env = {**os.environ, **server_env, "npm_config_prefix": str(prefix), "B00TC_CONFIG": str(tmp_path / "none.toml")}
    r = subprocess.run([sys.executable, "-m", "b00tc", "plan", str(datums / "exit7.job.toml"), "--orchestrator", "kubernetes"],
                       capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path)
    assert f"mcp server: npx mcp-server-kubernetes (datum {datums}/kubernetes.mcp.toml, entry 1 (priority 0))" in r.stdout
    r = subprocess.run([sys.executable, "-m", "b00tc", "status", "exit7", "-I", str(datums), "--orchestrator", "kubernetes",
                        "--via", "mcp"], capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "error: mcp-server-kubernetes kubectl_get:" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    # the same server, asked for a tool call whose arguments do not fit its schema, is
    # refused by b00tc before any call: the schemas really were fetched from it
    from b00tc.runtime.mcp_client import McpCallError, call_tools

    with pytest.raises(McpCallError, match="do not fit the server's input schema"):
        call_tools(["npx", "mcp-server-kubernetes"], [("kubectl_logs", {"name": "x"})],
                   env={**server_env, "npm_config_prefix": str(prefix)})


# -- b00tc as an MCP server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def b00tc_mcp():
    """Run the calls of a test against `python -m b00tc mcp` over stdio."""
    import tempfile

    import anyio
    from mcp import Client, StdioServerParameters

    state = tempfile.mkdtemp(prefix="b00tc-mcp-state-")

    def session(body, *flags):
        async def main():
            params = StdioServerParameters(command=sys.executable, args=["-m", "b00tc", "mcp", *flags],
                                           env={**os.environ, "PYTHONPATH": str(ROOT), "B00TC_STATE_DIR": state},
                                           cwd=str(ROOT))
            with anyio.fail_after(120):
                async with Client(params) as client:
                    return await body(client)

        return anyio.run(main)

    session.state = state
    return session


def _result(r) -> dict:
    data = json.loads(r.content[0].text)
    assert r.structured_content == data
    return data


def test_b00tc_mcp_lists_its_tools_with_precise_schemas(b00tc_mcp):
    async def body(c):
        return {t.name: t for t in (await c.list_tools()).tools}

    safe = b00tc_mcp(body)
    assert set(safe) == {"build", "check", "plan", "list_targets", "status", "logs"}  # no down
    for t in safe.values():
        assert t.annotations.read_only_hint is True and not t.annotations.destructive_hint
    tools = b00tc_mcp(body, "--allow-destructive")
    assert set(tools) == {"build", "check", "plan", "list_targets", "status", "logs", "down"}
    assert tools["down"].annotations.destructive_hint is True
    assert tools["down"].annotations.read_only_hint is False
    schemas = {n: t.input_schema for n, t in tools.items()}
    for s in schemas.values():
        assert s["type"] == "object" and s["additionalProperties"] is False
        jsonschema.Draft202012Validator.check_schema(s)
    build = jsonschema.Draft202012Validator(schemas["build"])
    assert build.is_valid({"path": "a.job.toml", "target": "k8s"})
    assert build.is_valid({"text": "[b00t]", "target": "docker-compose", "include": ["lib"]})
    assert not build.is_valid({"path": "a", "text": "b", "target": "k8s"})  # path xor text
    assert not build.is_valid({"target": "k8s"})
    assert not build.is_valid({"path": "a", "target": "swarm"})
    assert not build.is_valid({"path": "a", "target": "k8s", "extra": 1})
    assert jsonschema.Draft202012Validator(schemas["plan"]).is_valid({"path": "a", "orchestrator": "nomad"})
    assert not jsonschema.Draft202012Validator(schemas["plan"]).is_valid({"path": "a"})
    assert schemas["list_targets"]["properties"] == {}
    down = jsonschema.Draft202012Validator(schemas["down"])
    assert down.is_valid({"path": "a.job.toml", "orchestrator": "direct", "dry_run": True})
    assert not down.is_valid({"path": "a.job.toml"})
    assert not jsonschema.Draft202012Validator(schemas["logs"]).is_valid({"path": "a", "orchestrator": "nomad", "follow": True})


def test_b00tc_mcp_round_trip(b00tc_mcp):
    bad_text = '[b00t]\nname = "bad"\ntype = "job"\n[b00t.container]\nimage = "a"\ncommand = "x"\n[b00t.resources]\ncpu = "four"\n'

    async def body(c):
        out = {}
        out["build"] = await c.call_tool("build", {"path": "tests/runtime_data/exit7.job.toml", "target": "kubernetes"})
        out["build_text"] = await c.call_tool("build", {"text": JOB.read_text(), "target": "bash"})
        out["build_bad"] = await c.call_tool("build", {"text": bad_text, "target": "nomad"})
        out["check_ok"] = await c.call_tool("check", {"text": STACK.read_text(), "include": ["tests/runtime_data"]})
        out["check_missing"] = await c.call_tool("check", {"path": "no/such.job.toml"})
        out["plan"] = await c.call_tool("plan", {"path": "tests/runtime_data/site.stack.toml", "orchestrator": "compose"})
        out["list"] = await c.call_tool("list_targets", {})
        out["misuse"] = await c.call_tool("build", {"path": "x.job.toml", "text": "y", "target": "k8s"})
        out["unknown_key"] = await c.call_tool("check", {"path": "x", "strict": True})
        return out

    out = b00tc_mcp(body)

    r = _result(out["build"])
    assert not out["build"].is_error and r["ok"]
    [f] = r["files"]
    assert f["target"] == "k8s" and f["path"] == "exit7.yaml" and "kind: Job" in f["content"]

    r = _result(out["build_text"])
    assert r["ok"] and r["files"][0]["path"] == "exit7.sh"

    r = _result(out["build_bad"])
    assert not r["ok"] and r["files"] == []
    [d] = r["diagnostics"]
    assert (d["severity"], d["code"], d["line"], d["column"]) == ("error", "E0201", 8, 7)
    assert "four" in d["message"] and d["help"]

    assert _result(out["check_ok"]) == {"ok": True, "diagnostics": []}

    r = _result(out["check_missing"])
    assert not r["ok"] and r["diagnostics"][0]["code"] == "E0002"

    r = _result(out["plan"])
    assert r["ok"] and r["plan"]["orchestrator"] == "docker-compose"
    assert r["plan"]["commands"] == ["docker compose -p site -f site.compose.yaml up -d"]
    assert r["plan"]["mcp_commands"][0]["tool"] == "docker-compose"

    r = _result(out["list"])
    assert [t["name"] for t in r["targets"]] == ["k8s", "compose", "nomad", "bash", "systemd"]
    assert [o["name"] for o in r["orchestrators"]] == ["kubernetes", "docker-compose", "nomad", "direct"]

    for key in ("misuse", "unknown_key"):
        assert out[key].is_error
        r = _result(out[key])
        assert not r["ok"] and r["diagnostics"][0]["code"] == "E0901"
        assert "Traceback" not in out[key].content[0].text
    assert "exactly one of path or text" in _result(out["misuse"])["diagnostics"][0]["message"]
    assert "strict" in _result(out["unknown_key"])["diagnostics"][0]["message"]


def test_b00tc_mcp_plan_calls_validate_against_a_real_server(b00tc_mcp, real_server):
    """What an agent gets from b00tc's plan tool is accepted by the real server's schema."""
    _, _, schemas = real_server("docker-mcp-server")

    async def body(c):
        return await c.call_tool("plan", {"path": "tests/runtime_data/exit7.job.toml", "orchestrator": "docker-compose"})

    r = _result(b00tc_mcp(body))
    for call in r["plan"]["mcp_commands"]:
        jsonschema.validate(call["arguments"], schemas[call["tool"]])


def test_b00tc_mcp_day_two_tools(b00tc_mcp):
    """status, logs and down as b00tc's own tools (down: the server started with
    --allow-destructive): a direct job deployed with the CLI
    (recorded in the state folder the server uses too) is failed with exit 7, its logs
    are its output, down with dry_run changes nothing, down takes it away, and status
    then says not deployed."""
    job = "tests/runtime_data/exit7.job.toml"
    where = {"path": job, "orchestrator": "direct"}

    async def ask(c, tool, **extra):
        return _result(await c.call_tool(tool, {**where, **extra}))

    async def before(c):
        return await ask(c, "status")

    r = b00tc_mcp(before)
    assert r["exit_code"] == 4 and r["status"]["state"] == "not deployed" and not r["ok"]
    deployed = subprocess.run([sys.executable, "-m", "b00tc", "deploy", job, "--orchestrator", "direct"],
                              capture_output=True, text=True, cwd=ROOT, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "B00TC_STATE_DIR": b00tc_mcp.state})
    assert deployed.returncode == 7, deployed.stderr

    async def after(c):
        return [await ask(c, "status"), await ask(c, "logs"), await ask(c, "down", dry_run=True),
                await ask(c, "status"), await ask(c, "down"), await ask(c, "status")]

    status, logs, dry, still, down, gone = b00tc_mcp(after, "--allow-destructive")
    assert status["exit_code"] == 1 and status["status"]["state"] == "failed"
    assert "exit 7" in status["status"]["objects"][0]["detail"]
    assert logs["ok"] and logs["output"] == "hello from b00tc\n"
    assert dry["ok"] and "would remove" in dry["messages"]
    assert still["status"]["state"] == "failed"
    assert down["ok"] and "removed" in down["messages"]
    assert gone["exit_code"] == 4 and gone["status"]["state"] == "not deployed"
