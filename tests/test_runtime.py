"""The execution layer (b00tc/runtime): orchestrator detection with fake kubectl, docker,
docker-compose and nomad executables on PATH, the default orchestrator in the user config,
plans and dry runs for every orchestrator, a real direct deploy, and deploys through fake
orchestrator CLIs that record what they were asked to do.

A compose deploy on a real Docker engine is in tests/e2e/test_deploy_compose.py; the MCP
calls are checked against real servers in tests/test_mcp.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "runtime_data"
JOB = DATA / "exit7.job.toml"
STACK = DATA / "site.stack.toml"
ORCHESTRATORS = ["kubernetes", "docker-compose", "nomad", "direct"]


class Host:
    """A PATH holding only bash and the fake tools a test writes, a private config file,
    and a log the fakes append their argv to."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "calls.log"
        self.log.write_text("")
        self.config = root / "config" / "b00tc.toml"
        for tool in ("bash", "sh"):  # the direct target's script and the test job's command
            os.symlink(shutil.which(tool), self.bin / tool)

    def tool(self, name: str, body: str) -> None:
        """A fake executable: logs its argv, then runs ``body`` (sh, $1.. are its args)."""
        path = self.bin / name
        path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{self.log}"\n{body}\n')
        path.chmod(0o755)

    def env(self, **extra) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("B00TC_", "XDG_", "DOCKER_", "KUBECONFIG", "NOMAD_"))}
        env.update(PATH=str(self.bin), B00TC_CONFIG=str(self.config), B00TC_PROBE_TIMEOUT="1",
                   B00TC_STATE_DIR=str(self.root / "state"))
        env.update(extra)
        return env

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()

    def b00tc(self, *args, **env) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "b00tc", *map(str, args)],
            capture_output=True, text=True, env=self.env(**env), cwd=self.root, timeout=120,
        )


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


KUBECTL_OK = """case "$1 $2" in
  "config current-context") echo kind-dev ;;
  "version --request-timeout=1s") echo "Client Version: v1.31.0"; echo "Server Version: v1.31.0" ;;
  "apply -f") /bin/cat "$3" > "$(/usr/bin/dirname "$0")/../applied.yaml"; echo "job.batch/exit7 created" ;;
  *) exit 9 ;;
esac"""

DOCKER_OK = """case "$1 $2" in
  "compose version") echo "Docker Compose version v2.29.0" ;;
  "info --format") echo 27.1.0 ;;
  *) exit 9 ;;
esac"""

NOMAD_OK = """case "$1" in
  version) echo "Nomad v1.8.0" ;;
  status) echo "No running jobs" ;;
  job) /bin/cp "$3" "$(/usr/bin/dirname "$0")/../submitted.hcl"; echo "==> Evaluation complete" ;;
  *) exit 9 ;;
esac"""


def lines(out: str) -> dict[str, str]:
    """`orchestrator list` output: name -> its line."""
    got = {}
    for line in out.splitlines():
        mark, name = line.split()[:2]
        assert mark in ("✅", "❌"), line
        got[name] = line
    return got


# -- detection ------------------------------------------------------------------------------


def test_nothing_installed_leaves_only_direct(host):
    r = host.b00tc("orchestrator", "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "❌ kubernetes (not installed)",
        "❌ docker-compose (not installed)",
        "❌ nomad (not installed)",
        "✅ direct (always available)",
    ]


def test_everything_answers(host):
    host.tool("kubectl", KUBECTL_OK)
    host.tool("docker", DOCKER_OK)
    host.tool("nomad", NOMAD_OK)
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["kubernetes"].startswith("✅ kubernetes (kubectl configured")
    assert "kind-dev" in got["kubernetes"]
    assert got["docker-compose"] == "✅ docker-compose (docker compose found)"
    assert got["nomad"].startswith("✅ nomad")
    assert got["direct"] == "✅ direct (always available)"
    # judged by running them: the context was read and the cluster asked
    assert "kubectl config current-context" in host.calls()
    assert "kubectl version --request-timeout=1s" in host.calls()
    assert "docker info --format {{.ServerVersion}}" in host.calls()


def test_kubectl_without_a_current_context(host):
    host.tool("kubectl", 'echo "error: current-context is not set" >&2; exit 1')
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["kubernetes"] == "❌ kubernetes (no current context)"


def test_a_context_whose_cluster_does_not_answer_is_not_available(host):
    host.tool("kubectl", """case "$1" in
  config) echo prod ;;
  version) echo "The connection to the server 10.0.0.1:6443 was refused" >&2; exit 1 ;;
esac""")
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["kubernetes"].startswith("❌ kubernetes (context prod does not answer")
    assert "was refused" in got["kubernetes"]


@pytest.mark.parametrize("which", ["config", "version"])
def test_a_hanging_kubectl_is_not_available_and_does_not_hang_b00tc(host, which):
    host.tool("kubectl", f"""case "$1" in
  {which}) exec /bin/sleep 60 ;;
  config) echo ctx ;;
esac""")
    start = time.monotonic()
    r = host.b00tc("orchestrator", "list")
    took = time.monotonic() - start
    got = lines(r.stdout)
    assert got["kubernetes"].startswith("❌ kubernetes ("), got
    assert "did not answer within 1 s" in got["kubernetes"]
    assert took < 15, took


def test_a_hanging_wrapper_whose_child_holds_the_pipes_is_killed(host):
    # the probe kills the whole process group: a sleeping grandchild cannot keep it waiting
    host.tool("docker", '/bin/sleep 60 & /bin/sleep 60; echo late')
    start = time.monotonic()
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["docker-compose"].startswith("❌ docker-compose (`docker compose version` did not answer")
    assert time.monotonic() - start < 15


def test_docker_without_compose_falls_back_to_docker_compose_v1(host):
    host.tool("docker", """case "$1" in
  compose) echo "docker: unknown command: docker compose" >&2; exit 1 ;;
  info) echo 24.0.7 ;;
esac""")
    host.tool("docker-compose", 'echo "docker-compose version 1.29.2, build unknown"')
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["docker-compose"] == "✅ docker-compose (docker-compose found)"


def test_compose_without_an_engine_is_not_available(host):
    host.tool("docker", """case "$1" in
  compose) echo "Docker Compose version v2.29.0" ;;
  info) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1 ;;
esac""")
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["docker-compose"].startswith("❌ docker-compose (docker compose found, but the Docker engine does not answer")


def test_a_failing_compose_is_not_available(host):
    host.tool("docker-compose", 'echo "boom" >&2; exit 3')
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["docker-compose"] == "❌ docker-compose (`docker-compose version` exited 3: boom)"


def test_nomad_without_an_agent_and_a_failing_nomad(host):
    host.tool("nomad", """case "$1" in
  version) echo "Nomad v1.8.0" ;;
  status) echo "Error querying jobs: connection refused" >&2; exit 1 ;;
esac""")
    got = lines(host.b00tc("orchestrator", "list", NOMAD_ADDR="http://10.9.9.9:4646").stdout)
    assert got["nomad"].startswith("❌ nomad (no Nomad agent answers at http://10.9.9.9:4646")
    host.tool("nomad", "exit 2")
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["nomad"] == "❌ nomad (`nomad version` exited 2)"


def test_a_hanging_nomad_is_not_available(host):
    host.tool("nomad", "exec /bin/sleep 60")
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["nomad"] == "❌ nomad (`nomad version` did not answer within 1 s)"


# -- the default orchestrator ---------------------------------------------------------------


def test_set_default_persists_in_the_config_file_and_list_marks_it(host):
    r = host.b00tc("orchestrator", "set-default", "compose")
    assert r.returncode == 0, r.stderr
    assert "docker-compose" in r.stdout and str(host.config) in r.stdout
    assert 'default_orchestrator = "docker-compose"' in host.config.read_text()
    got = lines(host.b00tc("orchestrator", "list").stdout)
    assert got["docker-compose"].endswith("[default]")
    assert not got["direct"].endswith("[default]")


def test_set_default_keeps_the_rest_of_the_config(host):
    host.config.parent.mkdir(parents=True)
    host.config.write_text('# mine\n[mcp.kubernetes]\ncommand = ["kmcp"]\n')
    assert host.b00tc("orchestrator", "set-default", "nomad").returncode == 0
    text = host.config.read_text()
    assert "# mine" in text and 'command = ["kmcp"]' in text
    import tomli

    doc = tomli.loads(text)
    assert doc["default_orchestrator"] == "nomad"
    assert doc["mcp"]["kubernetes"]["command"] == ["kmcp"]


def test_set_default_rejects_an_unknown_name(host):
    r = host.b00tc("orchestrator", "set-default", "kuberentes")
    assert r.returncode == 2
    assert "unknown orchestrator 'kuberentes'" in r.stderr
    assert "did you mean 'kubernetes'" in r.stderr
    assert not host.config.exists()


def test_config_lives_in_the_xdg_config_dir_without_b00tc_config(host):
    env = host.env(XDG_CONFIG_HOME=str(host.root / "xdg"))
    del env["B00TC_CONFIG"]
    r = subprocess.run([sys.executable, "-m", "b00tc", "orchestrator", "set-default", "direct"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert (host.root / "xdg" / "b00tc" / "config.toml").read_text() == 'default_orchestrator = "direct"\n'


def test_the_registry_says_what_each_orchestrator_class_says():
    """REGISTRY and ALIASES name orchestrators without importing their modules: they must
    agree with each class, whose target is a backend b00tc has."""
    from b00tc.backends import REGISTRY as BACKENDS
    from b00tc.runtime import orchestrators

    assert orchestrators.NAMES == ORCHESTRATORS  # detection order
    aliases = {}
    for name in orchestrators.NAMES:
        o = orchestrators.get(name)
        assert o.name == name and o.target in BACKENDS
        aliases.update({a: name for a in o.aliases})
    assert aliases == orchestrators.ALIASES
    assert orchestrators.get(orchestrators.FALLBACK).available().available


def test_choose_option_then_config_then_detection(monkeypatch, host):
    from b00tc.runtime.detect import choose

    monkeypatch.setenv("PATH", str(host.bin))
    assert choose("k8s", "nomad")[0] == "kubernetes"
    assert choose(None, "nomad")[0] == "nomad"
    assert choose(None, None)[0] == "direct"
    host.tool("docker", DOCKER_OK)
    assert choose(None, None) == ("docker-compose", "detected: docker compose found")


# -- plans ----------------------------------------------------------------------------------


@pytest.mark.parametrize("orchestrator", ORCHESTRATORS)
def test_plan_json_is_one_object_with_manifests_commands_and_mcp_calls(host, orchestrator):
    r = host.b00tc("plan", JOB, "--orchestrator", orchestrator, "--format", "json")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert list(plan) == ["orchestrator", "manifests", "commands", "mcp_commands", "host_variables", "day_two"]
    assert plan["orchestrator"] == orchestrator
    [m] = plan["manifests"]
    assert set(m) == {"path", "content"}
    assert m["path"] == {"kubernetes": "exit7.yaml", "docker-compose": "exit7.compose.yaml",
                         "nomad": "exit7.nomad.hcl", "direct": "exit7.sh"}[orchestrator]
    expected_commands = {
        "kubernetes": ["kubectl apply -f exit7.yaml"],
        "docker-compose": [
            "docker compose -p exit7 -f exit7.compose.yaml up -d exit7",
            'id=$(docker compose -p exit7 -f exit7.compose.yaml ps -q exit7) && docker logs -f "$id" && exit "$(docker wait "$id")"',
        ],
        "nomad": ["nomad job run exit7.nomad.hcl"],
        "direct": ["bash exit7.sh"],
    }
    assert plan["commands"] == expected_commands[orchestrator]
    calls = plan["mcp_commands"]
    if orchestrator == "kubernetes":  # b00t's kubernetes.mcp datum: npx mcp-server-kubernetes
        assert calls == [{"server": "mcp-server-kubernetes", "tool": "kubectl_apply",
                          "arguments": {"manifest": m["content"], "namespace": "default"}}]
    elif orchestrator == "docker-compose":
        assert calls == [{"server": "docker-mcp-server", "tool": "docker-compose",
                          "arguments": {"command": "up -d", "filePath": "exit7.compose.yaml", "projectName": "exit7"}}]
    elif orchestrator == "nomad":  # mcp-nomad: the job file, as it is
        assert calls == [{"server": "mcp-nomad", "tool": "run_job",
                          "arguments": {"job_spec": m["content"], "detach": True}}]
    else:  # no MCP server fits: the shell commands are the way
        assert calls == []
    assert host.calls() == []  # a plan runs nothing


def test_plan_text_and_profiles(host):
    r = host.b00tc("plan", STACK, "--orchestrator", "k8s", "--mcp-profile", "kubernetes-mcp-server", "--namespace", "web")
    assert r.returncode == 0, r.stderr
    assert "orchestrator: kubernetes" in r.stdout
    assert "kubectl apply -f site.yaml --namespace web" in r.stdout
    assert r.stdout.count("kubernetes-mcp-server resources_create_or_update") == 2  # Service + Deployment
    r = host.b00tc("plan", STACK, "--orchestrator", "k8s", "--mcp-profile", "kubectl-mcp")
    assert r.returncode == 2 and "did you mean 'kubectl-mcp-server'" in r.stderr


def test_plan_reports_datum_errors_like_check(host, tmp_path):
    bad = tmp_path / "bad.job.toml"
    bad.write_text('[b00t]\nname = "bad"\ntype = "job"\n[b00t.container]\nimage = "a"\ncommand = "x"\n[b00t.resources]\ncpu = "four"\n')
    r = host.b00tc("plan", bad, "--orchestrator", "direct")
    assert r.returncode == 1
    assert "error[E0201]" in r.stderr and r.stdout == ""


def test_plan_compiles_without_probing(monkeypatch):
    """Planning is compiling plus data: nothing is spawned."""
    from b00tc.compiler import BuildRequest, build
    from b00tc.runtime.plan import make_plan

    def refuse(*a, **k):
        raise AssertionError("a plan must not run anything")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    result = build(BuildRequest(paths=[str(STACK)], targets=["compose"]))
    p = make_plan(result, "docker-compose", base="/srv/deploy")
    assert [c.text() for c in p.commands] == ["docker compose -p site -f /srv/deploy/site.compose.yaml up -d"]


def test_profile_splits_documents_byte_for_byte():
    from b00tc.runtime.profiles import split_documents

    text = "# header\n---\na: 1\nb: '#x'\n---\nc: 2\n"
    assert split_documents(text) == ["a: 1\nb: '#x'\n", "c: 2\n"]


# -- dry runs -------------------------------------------------------------------------------


@pytest.mark.parametrize("orchestrator", ORCHESTRATORS)
def test_dry_run_prints_the_plan_and_changes_nothing(host, orchestrator):
    host.tool("kubectl", KUBECTL_OK)
    host.tool("docker", DOCKER_OK)
    host.tool("nomad", NOMAD_OK)
    work = host.root / "work"
    r = host.b00tc("deploy", JOB, "--orchestrator", orchestrator, "--dry-run", "-o", work)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == f"would deploy to {orchestrator} via cli"
    assert out[1].startswith(f"would write {work}/exit7")
    assert any(line.startswith("would run: ") for line in out)
    assert "hello from" not in r.stdout + r.stderr
    assert not work.exists()
    # only the probes ran: nothing was applied, started or submitted
    assert not [c for c in host.calls() if " apply " in c or " up " in c or c.startswith("nomad job")]


def test_dry_run_via_mcp_shows_the_tool_calls(host):
    r = host.b00tc("deploy", JOB, "--orchestrator", "kubernetes", "--via", "mcp", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "would start the MCP server: (none: " in r.stdout
    assert "kubernetes.mcp.toml: no MCP server entry can start here" in r.stdout  # no node here
    assert 'would call mcp-server-kubernetes kubectl_apply {"manifest": "<' in r.stdout


def test_dry_run_of_a_missing_orchestrator_says_how_to_get_it(host):
    r = host.b00tc("deploy", JOB, "--orchestrator", "nomad", "--dry-run")
    assert r.returncode == 0
    assert "note: nomad is not available here (not installed)" in r.stderr
    assert "would run: nomad job run" in r.stdout


# -- deploys --------------------------------------------------------------------------------


def test_direct_deploy_runs_the_job_here_and_returns_its_exit_code(host):
    r = host.b00tc("deploy", JOB, "--orchestrator", "direct")
    assert r.returncode == 7, r.stderr
    assert r.stdout == "hello from b00tc\n"


def test_job_deploy_finds_the_datum_by_name_and_uses_the_default(host):
    assert host.b00tc("orchestrator", "set-default", "direct").returncode == 0
    r = host.b00tc("job", "deploy", "exit7", "-I", DATA)
    assert r.returncode == 7, r.stderr
    assert r.stdout == "hello from b00tc\n"
    r = host.b00tc("job", "deploy", "exit8", "-I", DATA)
    assert r.returncode == 1
    assert "no job datum 'exit8'" in r.stderr and "did you mean 'exit7'" in r.stderr


def test_a_missing_orchestrator_is_a_clear_error(host):
    r = host.b00tc("deploy", JOB, "--orchestrator", "kubernetes")
    assert r.returncode == 3
    assert "kubernetes is not available here (not installed)" in r.stderr
    assert "install kubectl" in r.stderr
    r = host.b00tc("deploy", JOB, "--orchestrator", "swarm")
    assert r.returncode == 2 and "unknown orchestrator 'swarm'" in r.stderr


def test_kubernetes_deploy_applies_the_written_manifest_with_kubectl(host):
    host.tool("kubectl", KUBECTL_OK)
    r = host.b00tc("deploy", JOB, "--orchestrator", "kubernetes")
    assert r.returncode == 0, r.stderr
    applied = [c for c in host.calls() if c.startswith("kubectl apply")]
    assert len(applied) == 1 and applied[0].endswith("/exit7.yaml")
    plan = json.loads(host.b00tc("plan", JOB, "--orchestrator", "kubernetes", "--format", "json").stdout)
    assert (host.root / "applied.yaml").read_text() == plan["manifests"][0]["content"]
    assert "job.batch/exit7 created" in r.stdout


def test_nomad_deploy_runs_nomad_job_run(host):
    host.tool("nomad", NOMAD_OK)
    r = host.b00tc("deploy", JOB, "--orchestrator", "nomad", "-o", host.root / "out")
    assert r.returncode == 0, r.stderr
    assert f"nomad job run {host.root}/out/exit7.nomad.hcl" in host.calls()
    assert (host.root / "submitted.hcl").read_text().startswith("# Generated by b00tc")


def test_compose_deploy_with_a_fake_engine_returns_the_jobs_exit_code(host):
    """docker compose v2 CLI faked: up -d, then the job's logs and exit code."""
    host.tool("docker", """case "$1 $2" in
  "compose version") echo "Docker Compose version v2.29.0" ;;
  "info --format") echo 27.1.0 ;;
  compose\\ *) case "$*" in *" ps -q exit7") echo c0ffee ;; esac ;;
  "logs -f") echo "hello from the container" ;;
  "wait c0ffee") echo 5 ;;
  *) exit 9 ;;
esac""")
    r = host.b00tc("deploy", JOB, "--orchestrator", "docker-compose", "-o", host.root / "out")
    assert r.returncode == 5, r.stderr
    f = f"{host.root}/out/exit7.compose.yaml"
    assert [c for c in host.calls() if "version" not in c and "info" not in c] == [
        f"docker compose -p exit7 -f {f} up -d exit7",
        f"docker compose -p exit7 -f {f} ps -q exit7",
        "docker logs -f c0ffee",
        "docker wait c0ffee",
    ]
    assert "hello from the container" in r.stdout


def test_compose_stack_deploy_uses_docker_compose_v1_when_that_is_what_there_is(host):
    host.tool("docker", """case "$1" in
  compose) exit 1 ;;
  info) echo 24.0.7 ;;
esac""")
    host.tool("docker-compose", 'case "$1" in version) echo "docker-compose version 1.29.2" ;; esac')
    r = host.b00tc("stack", "deploy", "site", "-I", DATA, "--orchestrator", "compose", "-o", host.root / "out")
    assert r.returncode == 0, r.stderr
    assert f"docker-compose -p site -f {host.root}/out/site.compose.yaml up -d" in host.calls()


def test_deploy_via_mcp_without_a_configured_server_says_what_to_write(host):
    r = host.b00tc("deploy", JOB, "--orchestrator", "docker-compose", "--via", "mcp")
    assert r.returncode == 3
    assert "no MCP server is configured for docker-compose" in r.stderr
    assert "docker-compose.mcp.toml" in r.stderr
    assert "[mcp.docker-compose]" in r.stderr and "--via cli" in r.stderr
    # Nomad's server is mcp-nomad, found installed or else named with how to install it
    # (PATH here holds no node and no mcp-nomad; npm's prefix is an empty folder)
    r = host.b00tc("deploy", JOB, "--orchestrator", "nomad", "--via", "mcp", npm_config_prefix=str(host.root / "npm"))
    assert r.returncode == 3 and "no MCP server for nomad is installed" in r.stderr
    assert "npm install -g @kocierik/mcp-nomad-" in r.stderr and "nomad.mcp.toml" in r.stderr
    r = host.b00tc("deploy", JOB, "--orchestrator", "direct", "--via", "mcp")
    assert r.returncode == 2 and "no MCP server fits direct" in r.stderr


FAKE_K8S_MCP = '''
import json, sys
from mcp.server.mcpserver import MCPServer

server = MCPServer("fake-kubernetes-mcp")

@server.tool()
def kubectl_apply(manifest: str, namespace: str = "default") -> str:
    with open(sys.argv[1], "a") as f:
        f.write(json.dumps({"manifest": manifest, "namespace": namespace}) + "\\n")
    return "job.batch/exit7 created"

server.run("stdio")
'''


def test_a_deploy_that_runs_nothing_leaves_no_temporary_folder(host):
    """Errors in the datum, an unknown --mcp-profile, an MCP deploy that cannot start (of
    compose, whose folder a deploy that ran keeps): the folder is not left behind."""
    tmp = host.root / "tmp"
    tmp.mkdir()
    bad = host.root / "bad.job.toml"
    bad.write_text('[b00t]\nname = "bad"\ntype = "job"\n[b00t.container]\nimage = "a"\ncommand = "x"\n'
                   '[b00t.resources]\ncpu = "four"\n')
    for args, code in [((bad, "--orchestrator", "direct"), 1),
                       ((JOB, "--orchestrator", "direct", "--mcp-profile", "nope"), 2),
                       ((JOB, "--orchestrator", "compose", "--via", "mcp"), 3)]:
        r = host.b00tc("deploy", *args, TMPDIR=str(tmp))
        assert r.returncode == code, r.stderr
        assert list(tmp.iterdir()) == [], args


def test_deploy_via_mcp_calls_the_configured_server(host):
    """A stand-in for the seed's kubernetes-mcp server (kubectl_apply {manifest,
    namespace}), started by the MCP client over stdio from the config file."""
    script = host.root / "fake_mcp.py"
    script.write_text(FAKE_K8S_MCP)
    received = host.root / "received.jsonl"
    host.config.parent.mkdir(parents=True)
    host.config.write_text(
        "[mcp.kubernetes]\n"
        'profile = "kubernetes-mcp"\n'
        f"command = {json.dumps([sys.executable, str(script), str(received)])}\n"
        'namespace = "batch"\n'
    )
    r = host.b00tc("job", "deploy", "exit7", "-I", DATA, "--orchestrator", "kubernetes", "--via", "mcp")
    assert r.returncode == 0, r.stderr
    assert "kubernetes-mcp kubectl_apply: ok" in r.stderr
    [call] = [json.loads(line) for line in received.read_text().splitlines()]
    plan = json.loads(host.b00tc("plan", JOB, "--orchestrator", "kubernetes", "--format", "json").stdout)
    assert call == {"manifest": plan["manifests"][0]["content"], "namespace": "batch"}


# -- the seed's to-manifest -----------------------------------------------------------------


def test_to_manifest_writes_the_seeds_file_names(host):
    for orchestrator, name in [("kubernetes", "exit7-k8s.yaml"), ("docker-compose", "exit7-compose.yaml"),
                               ("nomad", "exit7-nomad.hcl"), ("direct", "exit7-direct.sh")]:
        r = host.b00tc("job", "to-manifest", "exit7", "--orchestrator", orchestrator, "-I", DATA)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"./{name}"
        assert (host.root / name).read_text().startswith("#")
    assert os.access(host.root / "exit7-direct.sh", os.X_OK)
    r = host.b00tc("stack", "to-manifest", "site", "--orchestrator", "k8s", "-I", DATA)
    assert r.returncode == 0 and (host.root / "site-k8s.yaml").exists()


def test_runtime_stays_out_of_the_compiler():
    """`import b00tc.cli` and a build load neither the runtime nor the MCP SDK."""
    code = (
        "import sys, b00tc.cli\n"
        "from b00tc.compiler import BuildRequest, build\n"
        f"build(BuildRequest(paths=[{str(JOB)!r}], targets=['k8s','compose','nomad','bash','systemd']))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('b00tc.runtime', 'mcp'))))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
