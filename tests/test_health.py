"""Issue 15: "No health: k8s Deployments have no probes, Nomad services no checks. A docker
datum's healthcheck (--health-cmd and friends in docker_args) and each declared service
port should give each target its native readiness check."

- compose: ``healthcheck`` (CMD-SHELL, docker's own check, with the datum's timings);
- k8s: a readinessProbe: the health command as an exec probe through ``/bin/sh -c``, else
  a TCP connect to the first port of the services the member serves;
- Nomad: a ``tcp`` check on every registered service (Nomad's own checks are http and tcp
  only: a health command is W0301);
- bash and systemd run ``docker run`` and give it the same ``--health-*`` flags.

The command is a literal ``docker run`` word: it reaches ``/bin/sh -c`` byte for byte on
every target, read back the way each target reads its file (docker-compose config, the
kubelet's expansion, bash running the script, systemd's Exec parsing)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml

from tests.backends.test_bash import FAKE_RUNTIME, nul_split, run
from tests.backends.test_compose import interpolated
from tests.backends.test_k8s import k8s_expand
from tests.backends.test_systemd import Parsed
from tests.helpers import compile_, files

ROOT = Path(__file__).resolve().parent.parent

HOSTILE = "test -n \"$HOME\" && echo 'q' \"$(id -u)\" $((1+1)) 100% \\\\ `true` ${X:-d} $$ $(X) %h\t; exit 0"


def _datums(tmp_path, health_args: list[str], services: str = 'web = { port = 80, protocol = "http" }\n'):
    args = ["-p", "8080:80", *health_args]
    (tmp_path / "web.docker.toml").write_text(
        '[b00t]\nname = "web"\ntype = "docker"\nimage = "nginx:1"\n'
        f"docker_args = {json.dumps(args)}\n")
    (tmp_path / "db.docker.toml").write_text('[b00t]\nname = "db"\ntype = "docker"\nimage = "postgres:16"\n')
    (tmp_path / "site.stack.toml").write_text(
        '[b00t]\nname = "site"\ntype = "stack"\nmembers = ["web.docker", "db.docker"]\n'
        f"[b00t.services]\n{services}db = {{ port = 5432, protocol = \"tcp\" }}\n")
    return str(tmp_path / "site.stack.toml")


HEALTH = ["--health-cmd", HOSTILE, "--health-interval=15s", "--health-timeout", "1500ms",
          "--health-retries", "4", "--health-start-period", "1m30s"]


def test_the_health_command_reaches_sh_exactly_on_compose(tmp_path):
    r = compile_([_datums(tmp_path, HEALTH)], targets=["compose"])
    (text,) = files(r, "compose").values()
    svc = interpolated(tmp_path, text)["services"]["web"]
    assert svc["healthcheck"]["test"] == ["CMD-SHELL", HOSTILE]
    assert (svc["healthcheck"]["interval"], svc["healthcheck"]["timeout"], svc["healthcheck"]["retries"],
            svc["healthcheck"]["start_period"]) == ("15s", "1500ms", 4, "90s")
    assert "healthcheck" not in interpolated(tmp_path, text)["services"]["db"]


def test_k8s_probes(tmp_path):
    """The exec probe, after the kubelet's $(VAR) expansion (exec probes are expanded like
    command and args: kubelet prober.go, ExpandContainerCommandOnlyStatic), runs
    ``/bin/sh -c HOSTILE``; timings in whole seconds (1500 ms -> 2, never 0); the member
    without a health command gets a TCP probe on the port of the service it serves."""
    r = compile_([_datums(tmp_path, HEALTH)], targets=["k8s"])
    (text,) = files(r, "k8s").values()
    deps = {d["metadata"]["name"]: d for d in yaml.safe_load_all(text) if d and d["kind"] == "Deployment"}
    web = deps["web"]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert [k8s_expand(a, {"X": "!"}) for a in web["exec"]["command"]] == ["/bin/sh", "-c", HOSTILE]
    assert (web["periodSeconds"], web["timeoutSeconds"], web["failureThreshold"], web["initialDelaySeconds"]) == (
        15, 2, 4, 90)
    db = deps["db"]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert db == {"tcpSocket": {"port": 5432}, "periodSeconds": 10}
    out = tmp_path / "k.yaml"
    out.write_text(text)
    v = subprocess.run(["kubernetes-validate", "--strict", "-k", "1.30.0", str(out)], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr


def _services_checked_everywhere(paths):
    """Every Service's pods have a readinessProbe (k8s); every Nomad service has a check."""
    r = compile_(paths, targets=["k8s", "nomad"])
    assert r.ok, [d.message for d in r.diags]
    n = 0
    for text in files(r, "k8s").values():
        docs = [d for d in yaml.safe_load_all(text) if d]
        for svc in (d for d in docs if d["kind"] == "Service"):
            sel = svc["spec"]["selector"]
            (dep,) = [d for d in docs if d["kind"] == "Deployment"
                      and sel.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
            assert all("readinessProbe" in c for c in dep["spec"]["template"]["spec"]["containers"]), svc
            n += 1
    for text in files(r, "nomad").values():
        for job in hcl2.loads(text).get("job", []):
            for body in job.values():
                for group in body.get("group", []):
                    for g in group.values():
                        for service in g.get("service", []):
                            assert service.get("check"), service
                            n += 1
    return n


def test_every_declared_service_has_a_readiness_check(tmp_path):
    assert _services_checked_everywhere([_datums(tmp_path, [])]) == 4  # web, db on k8s and on Nomad
    cases = sorted(str(p) for p in (ROOT / "tests" / "cases").glob("*.stack.toml"))
    cases += sorted(str(p) for p in (ROOT / "examples").glob("*.stack.toml"))
    assert _services_checked_everywhere(cases) > 4


def test_nomad_checks_and_says_what_it_cannot(tmp_path):
    r = compile_([_datums(tmp_path, HEALTH)], targets=["nomad"])
    (text,) = files(r, "nomad").values()
    (job,) = hcl2.loads(text)["job"]
    checks = [svc["check"][0] for g in next(iter(job.values()))["group"] for body in g.values() for svc in body.get("service", [])]
    assert len(checks) == 2 and all(c["type"].strip('"') == "tcp" for c in checks)
    assert {c["interval"].strip('"') for c in checks} == {"15s", "10s"}  # web's own interval; db's default
    assert [d.code for d in r.diags if d.code == "W0301" and "health command" in d.message] == ["W0301"]
    assert HOSTILE not in text


def test_bash_passes_the_health_flags_to_docker_run_exactly(tmp_path):
    r = compile_([_datums(tmp_path, HEALTH)], targets=["bash"])
    (text,) = files(r, "bash").values()
    script = tmp_path / "site.sh"
    script.write_text(text)
    log = tmp_path / "calls"
    log.mkdir()
    tool = tmp_path / "fake-docker"
    tool.write_text(FAKE_RUNTIME)
    tool.chmod(0o755)
    done = run(script, "up", env={"B00T_CONTAINER_RUNTIME": str(tool), "FAKE_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    runs = [c for c in (nul_split(p.read_bytes()) for p in sorted(log.iterdir())) if c[0] == "run"]
    web = next(c for c in runs if "web" in c[c.index("--name") + 1])
    i = web.index("--health-cmd")
    assert web[i:i + 10] == ["--health-cmd", HOSTILE, "--health-interval", "15s", "--health-timeout", "1500ms",
                             "--health-start-period", "90s", "--health-retries", "4"]


def test_systemd_passes_the_health_flags_to_docker_run_exactly(tmp_path):
    r = compile_([_datums(tmp_path, HEALTH)], targets=["systemd"])
    unit = next(t for p, t in files(r, "systemd").items() if p.endswith("web.service"))
    (_, argv), = Parsed(unit).exec("ExecStart")
    i = argv.index("--health-cmd")
    assert argv[i:i + 2] == ["--health-cmd", HOSTILE]


@pytest.mark.parametrize("args, message", [
    (["--health-cmd", "true", "--health-interval", "soon"], "cannot read --health-interval 'soon'"),
    (["--health-cmd", "true", "--health-retries", "0"], "cannot read --health-retries '0'"),
    (["--health-cmd", " "], "--health-cmd needs a command"),
])
def test_unreadable_health_flags_are_located_errors(tmp_path, args, message):
    r = compile_([_datums(tmp_path, args)], targets=["compose"])
    errors = [d for d in r.diags if d.is_error]
    assert [d.code for d in errors] == ["E0110"] and message in errors[0].message
    assert errors[0].path.startswith("$.b00t.docker_args[")


def test_timings_without_a_command_are_a_warning(tmp_path):
    r = compile_([_datums(tmp_path, ["--health-interval", "5s"])], targets=["compose"])
    assert [d.code for d in r.diags if "without --health-cmd" in d.message] == ["W0102"]
    (text,) = files(r, "compose").values()
    assert "healthcheck" not in text


def test_nomad_warns_of_a_wait_on_a_service_nothing_serves(tmp_path):
    """Issue 15: the flagship example waited for python:8000, whose member (b00t's
    python.cli) is skipped on every target; every target said so (W0103) but Nomad, whose
    wait task would block on a nomadService that is never registered."""
    from tests.helpers import unserved_wait_example

    r = compile_([unserved_wait_example(tmp_path)], targets=["nomad"])
    found = [d for d in r.diags if d.code == "W0103" and "service python" in d.message]
    assert len(found) == 1 and found[0].path.startswith("$.b00t.dependencies.wait_for_services"), found
