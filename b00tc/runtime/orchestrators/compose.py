"""docker-compose: ``docker compose -p NAME -f FILE up -d`` (or ``docker-compose``, or an
MCP server's tools), and day two on the project b00tc named after the datum, whose
containers must all carry ``app.kubernetes.io/managed-by=b00tc``."""

from __future__ import annotations

import shlex
import shutil
from typing import Optional

from b00tc.runtime import containers
from b00tc.runtime.model import (
    MANAGED, Availability, Command, Deployed, LifecycleError, Manifest, McpCommand, ObjectState, Options, Status,
)
from b00tc.runtime.orchestrators.base import Echo, Orchestrator
from b00tc.runtime.process import Runner, answer, probe, run_captured
from b00tc.runtime.steps import ROLLBACK, STEP, by_slug, summary

SERVICE = "com.docker.compose.service"
#: the label the compose target puts on each step's service: the step's name
STEP_LABEL = "b00t.io/step"


def workflow_status(d: Deployed, orchestrator: str, infos: list[dict]) -> Status:
    """A workflow job's status from its step services' containers (``docker inspect``):
    exited 0 succeeded, exited N failed, running, created (not started: pending, or skipped
    once nothing runs); a step with no container has not been created."""
    if not infos:
        return Status(d.datum, orchestrator, "not deployed", [])
    names = by_slug(d)
    found: dict[tuple[str, bool], ObjectState] = {}
    managed_all = True
    for info in infos:
        labels = (info.get("Config") or {}).get("Labels") or {}
        managed = labels.get("app.kubernetes.io/managed-by") == "b00tc"
        managed_all = managed_all and managed
        hit = names.get(labels.get(SERVICE, ""))
        step = labels.get(STEP_LABEL)  # the step's own name, on its service's containers
        if step in d.steps:
            hit = (step, False)
        elif step in d.rollback:
            hit = (step, True)
        if hit is None:
            continue
        st = info.get("State") or {}
        status = st.get("Status", "unknown")
        if status == "exited":
            code = st.get("ExitCode", 0)
            state, detail = ("succeeded" if code == 0 else "failed"), f"exit {code}"
        elif status == "created":
            state, detail = "pending", "created, not started"
        else:
            state, detail = status, ""
        found[hit] = ObjectState(ROLLBACK if hit[1] else STEP, hit[0], state, detail, managed)
    steps = [found.get((n, i >= len(d.steps))) or ObjectState(ROLLBACK if i >= len(d.steps) else STEP, n,
                                                               "pending", "no container")
             for i, n in enumerate(d.steps + d.rollback)]
    state = summary(steps)
    if state == "running" and not any(s.state == "running" for s in steps):
        # nothing runs, nothing failed, and some have not started: when some have ended,
        # compose will not start the others (a condition kept them out)
        state = "succeeded" if any(s.state == "succeeded" for s in steps) else "pending"
    idle = not any(s.state == "running" for s in steps)
    for s in steps:
        if idle and state in ("failed", "succeeded") and s.state == "pending":
            s.state = "not run" if s.kind == ROLLBACK else "skipped"
    if not managed_all:
        return Status(d.datum, orchestrator, "unknown", steps,
                      f"the compose project {d.name} holds containers b00tc did not create")
    return Status(d.datum, orchestrator, state, steps)

#: npm @0xshariq/docker-mcp-server: one tool, docker-compose {command, filePath, projectName}
DOCKER_MCP_SERVER = "docker-mcp-server"


def _head(o: Options, project: str, path: str) -> list[str]:
    return list(o.compose) + ["-p", project, "-f", path]


def _after_failure(content: str, head: list[str], runtime: str) -> str:
    """The shell commands a workflow's deploy runs once ``up`` has ended when a step failed,
    from the compose file's ``x-b00tc`` (b00tc/backends/_workflow_compose.py): each service
    of ``after-failure`` whose container never started (``always`` steps kept out by a
    failed dependency, ``on_failure`` steps of the profile on-failure), ``up --no-deps``, in
    the workflow's order; then ``--profile rollback up LAST`` (each rollback service waits
    for the one before it). Each one's own status is not the deploy's. Empty when the file
    names none."""
    if "x-b00tc" not in content:
        return ""
    import yaml  # a runtime dependency, needed only here

    doc = yaml.safe_load(content) or {}
    ext = doc.get("x-b00tc") or {}
    services = doc.get("services") or {}
    out = []
    for name in ext.get("after-failure") or []:
        profiles = (services.get(name) or {}).get("profiles") or []
        flags = ["--profile", "on-failure"] if "on-failure" in profiles else []
        ids = shlex.join(head + flags + ["ps", "--all", "--quiet", name])
        # created and never started (a dependency failed), or no container: it did not run
        out.append(f"r=; for id in $({ids} 2>/dev/null); do [ \"$({runtime} inspect -f '{{{{.State.Status}}}}' "
                   f"\"$id\")\" = created ] || r=1; done; [ -n \"$r\" ] || "
                   f"{shlex.join(head + flags + ['up', '--no-color', '--no-deps', name])}")
    if ext.get("rollback"):
        out.append(shlex.join(head + ["--profile", "rollback", "up", "--no-color", ext["rollback"]]))
    return "; ".join(out)


def _ps(d: Deployed, o: Options) -> list[str]:
    return _head(o, d.name, o.path(d)) + ["ps", "--all", "--quiet"]


class DockerCompose(Orchestrator):
    name = "docker-compose"
    aliases = ("compose",)
    target = "compose"
    suffix = ".compose.yaml"
    short = "compose"
    ext = "yaml"
    how_to_get = ("install Docker with compose (Debian: apt-get install docker.io docker-compose; or the "
                  "docker compose plugin) and start the Docker engine")
    DAY_TWO_NEEDS_FILE = True
    KEPT_FOLDER_NOTE = "b00tc: the compose files are in {folder} (docker compose -p NAME -f FILE down stops them)"
    DEFAULT_MCP_PROFILE = DOCKER_MCP_SERVER
    MCP_DATUMS = ("docker-compose", "compose", "docker")

    def available(self) -> Availability:
        """``docker compose version`` (else ``docker-compose version``), then ``docker
        info`` when a docker CLI exists (the engine answers)."""
        found: Optional[list[str]] = None
        failures: list[str] = []
        if shutil.which("docker"):
            p = probe(["docker", "compose", "version"])
            if p.ok and p.stdout.strip():
                found = ["docker", "compose"]
            else:
                failures.append(p.why())
        if found is None and shutil.which("docker-compose"):
            p = probe(["docker-compose", "version"])
            if p.ok and p.stdout.strip():
                found = ["docker-compose"]
            else:
                failures.append(p.why())
        if found is None:
            if not failures:
                return Availability(self.name, False, "not installed")
            return Availability(self.name, False, "; ".join(failures))
        label = " ".join(found)
        if shutil.which("docker"):
            info = probe(["docker", "info", "--format", "{{.ServerVersion}}"])
            if not info.ok or not info.stdout.strip():
                return Availability(self.name, False, f"{label} found, but the Docker engine does not answer: {info.why()}")
        return Availability(self.name, True, f"{label} found", found)

    def cli_command(self, avail: Availability) -> Optional[list[str]]:
        return list(avail.command) if avail.available else None

    def deploy_commands(self, m: Manifest, path: str, o: Options) -> list[Command]:
        head = _head(o, m.datum, path)
        if m.workflow:
            # every step's one-shot service, attached until all have stopped (compose starts
            # each when the ones it depends_on completed); then the exit status of a failed
            # step's container, else compose's own. After a failure, what the file's x-b00tc
            # names (_after_failure) runs first, and the status stays the failed step's.
            ps = shlex.join(head + ["ps", "--all", "--quiet"])
            runtime = shlex.quote(o.runtime)
            after = _after_failure(m.content, head, runtime)
            up = shlex.join(head + ['up', '--no-color'])
            find = (f"for id in $({ps}); do c=$({runtime} inspect -f '{{{{.State.ExitCode}}}}' \"$id\") "
                    '|| continue; if [ "$c" != 0 ]; then f=$c; break; fi; done')
            if not after:
                return [Command([f'{up}; s=$?; f=; {find}; exit "${{f:-$s}}"'], shell=True, is_job=True)]
            return [Command([f'{up}; s=$?; f=; {find}; if [ -n "$f" ]; then {after}; exit "$f"; fi; exit "$s"'],
                            shell=True, is_job=True)]
        if m.kind != "job":
            return [Command(head + ["up", "-d"])]
        # follow the job's output until it stops, then exit with its exit code
        ps = shlex.join(head + ["ps", "-q", m.datum])
        return [Command(head + ["up", "-d", m.datum]),
                Command([f'id=$({ps}) && docker logs -f "$id" && exit "$(docker wait "$id")"'],
                        shell=True, is_job=True)]

    def commands(self, d: Deployed, op: str, o: Options) -> list[Command]:
        head = _head(o, d.name, o.path(d))
        if op == "status":
            return [Command([f"{o.runtime} inspect $({shlex.join(_ps(d, o))})"], shell=True)]
        if op == "logs":
            return [Command(head + ["logs", "--no-color"] + (["--follow"] if o.follow else []))]
        return [Command(head + ["down", "--remove-orphans"] + (["--volumes"] if o.volumes else []))]

    def mcp_calls(self, d: Deployed, op: str, o: Options, profile) -> list[McpCommand]:
        if profile is None or profile.name != DOCKER_MCP_SERVER:
            return []
        command = {"status": "ps", "logs": "logs --no-color",
                   "down": "down --remove-orphans" + (" --volumes" if o.volumes else "")}[op]
        return [McpCommand(profile.server, "docker-compose",
                           {"command": command, "filePath": o.path(d), "projectName": d.name})]

    def status(self, d: Deployed, o: Options, run: Runner = run_captured) -> Status:
        if d.workflow:
            infos = containers.inspect(answer(_ps(d, o), run).split(), o, run)
            return workflow_status(d, self.name, infos)
        return containers.listed_status(d, self.name, _ps(d, o), o, run, "com.docker.compose.service")

    def down_checks(self, d: Deployed) -> list[str]:
        return [f"would check that every container of the compose project {d.name} carries {MANAGED}"]

    def check_down(self, d: Deployed, o: Options, echo: Echo, run: Runner) -> bool:
        st = containers.listed_status(d, self.name, _ps(d, o), o, run, SERVICE)
        foreign = [s.name for s in st.objects if not s.managed]
        if foreign:
            raise LifecycleError(
                f"the compose project {d.name} holds containers b00tc did not create ({', '.join(foreign)}): "
                "not taking it down")
        return True
