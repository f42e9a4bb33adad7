"""The orchestrators b00tc deploys to, in detection order, and the target each compiles to."""

from __future__ import annotations

from dataclasses import dataclass

from b00tc.runtime.model import UnknownOrchestrator


@dataclass(frozen=True)
class Orchestrator:
    name: str
    target: str  # the backend that compiles for it
    short: str  # the seed's file-name tag: <datum>-<short>.<ext> (job to-manifest)
    ext: str
    how_to_get: str


#: detection order: the first available one is the default when none is configured
ORCHESTRATORS: tuple[Orchestrator, ...] = (
    Orchestrator(
        "kubernetes", "k8s", "k8s", "yaml",
        "install kubectl (https://kubernetes.io/docs/tasks/tools/) and point it at a cluster "
        "that answers: `kubectl config use-context NAME` (a local one: kind, k3d, minikube)",
    ),
    Orchestrator(
        "docker-compose", "compose", "compose", "yaml",
        "install Docker with compose (Debian: apt-get install docker.io docker-compose; or the "
        "docker compose plugin) and start the Docker engine",
    ),
    Orchestrator(
        "nomad", "nomad", "nomad", "hcl",
        "install Nomad (https://developer.hashicorp.com/nomad/install) and start an agent "
        "(`nomad agent -dev` for a local one) or set NOMAD_ADDR",
    ),
    Orchestrator(
        "direct", "bash", "direct", "sh",
        "install bash",
    ),
)

BY_NAME: dict[str, Orchestrator] = {o.name: o for o in ORCHESTRATORS}

ALIASES: dict[str, str] = {
    "k8s": "kubernetes",
    "compose": "docker-compose",
    "bash": "direct",
}

NAMES: list[str] = [o.name for o in ORCHESTRATORS]


def resolve(name: str) -> Orchestrator:
    """An orchestrator by name or alias; UnknownOrchestrator (with a did-you-mean) else."""
    canon = ALIASES.get(name, name)
    if canon in BY_NAME:
        return BY_NAME[canon]
    from b00tc.diagnostics import did_you_mean

    guess = did_you_mean(name, NAMES + list(ALIASES))
    raise UnknownOrchestrator(
        f"unknown orchestrator {name!r}"
        + (f" (did you mean {ALIASES.get(guess, guess)!r}?)" if guess else "")
        + f"; choose from {', '.join(NAMES)}"
    )
