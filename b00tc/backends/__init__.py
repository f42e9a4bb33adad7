"""Backends: one module per target, registered by name, imported only when used.

A backend is a class with ``name``, ``aliases``, ``KEEPS_HOST_VARS`` and ``KINDS``, the
datum kinds it renders, each by its method ``render_<kind>(unit, datum, ctx) ->
list[OutputFile]``; ``render`` dispatches on the unit's kind, and a kind the backend does not
declare is error E0115, never an exception. Add a backend by writing its module and one line
in ``REGISTRY`` (or an entry point in the group ``b00tc.backends``, scanned only when a
target name is not found here).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable, ClassVar, NamedTuple

if TYPE_CHECKING:
    from b00tc.backends._context import Context
    from b00tc.ir import Datum, Unit

REGISTRY: dict[str, str] = {
    "k8s": "b00tc.backends.k8s:K8sBackend",
    "compose": "b00tc.backends.compose:ComposeBackend",
    "nomad": "b00tc.backends.nomad:NomadBackend",
    "bash": "b00tc.backends.bash:BashBackend",
    "systemd": "b00tc.backends.systemd:SystemdBackend",
}

ALIASES: dict[str, str] = {
    "kubernetes": "k8s",
    "docker-compose": "compose",
    "direct": "bash",
}

DESCRIPTIONS: dict[str, str] = {
    "k8s": "Kubernetes YAML: batch/v1 Job, apps/v1 Deployment + v1 Service",
    "compose": "docker-compose YAML (compose-spec)",
    "nomad": "Nomad job specification (HCL)",
    "bash": "a bash script that runs the datum on this host",
    "systemd": "systemd service units",
}


class OutputFile(NamedTuple):
    path: str  # relative, "/"-separated, derived from validated datum names only
    content: str
    mode: int = 0o644


class Backend:
    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    #: compose and bash keep ``${VAR}`` host variables for run time; the others resolve
    #: them at build time from --env-file / --set / the environment.
    KEEPS_HOST_VARS: ClassVar[bool] = False
    #: the datum kinds (``b00tc.ir.DATUM_KINDS``) this target renders
    KINDS: ClassVar[tuple[str, ...]] = ()
    #: renders a stack's Helm chart members (``Stack.charts``); a target that does not
    #: skips them (the link phase said so, W0101)
    RENDERS_CHARTS: ClassVar[bool] = False

    def render(self, unit: "Unit", ctx: "Context") -> list[OutputFile]:
        from b00tc.ir import kind_of

        datum = unit.datum
        kind = kind_of(datum)
        if kind == "workflow" and kind not in self.KINDS:
            ctx.error(
                "E0106",
                f"{datum.name} is a workflow job ([b00t.job] with steps): b00tc compiles workflow "
                f"jobs for {', '.join(sorted(renderers(kind)))} so far, not for {self.name}",
                datum.file,
                "$.b00t.job",
                help="build it with --target bash (deploy --orchestrator direct runs that script); "
                f"{self.name} comes with a later part of issue 17",
            )
            return []
        if kind not in self.KINDS:
            ctx.error(
                "E0115",
                f"target {self.name} does not render a {kind} datum",
                datum.file,
                "$.b00t",
                help=f"targets that do: {', '.join(renderers(kind)) or 'none yet'}",
            )
            return []
        render: Callable[["Unit", "Datum", "Context"], list[OutputFile]] = getattr(self, f"render_{kind}")
        return render(unit, datum, ctx)


def renderers(kind: str) -> list[str]:
    """The built-in targets that render datums of ``kind``."""
    return [name for name in REGISTRY if kind in get_backend(name).KINDS]


def canonical_target(name: str) -> str | None:
    name = ALIASES.get(name, name)
    if name in REGISTRY:
        return name
    if name in _entry_points():
        return name
    return None


def get_backend(name: str) -> Backend:
    name = ALIASES.get(name, name)
    spec = REGISTRY.get(name) or _entry_points().get(name)
    if spec is None:
        raise KeyError(name)
    module, _, cls = spec.partition(":")
    return getattr(importlib.import_module(module), cls)()


_EP_CACHE: dict[str, str] | None = None


def _entry_points() -> dict[str, str]:
    global _EP_CACHE
    if _EP_CACHE is None:
        from importlib.metadata import entry_points

        _EP_CACHE = {ep.name: ep.value for ep in entry_points(group="b00tc.backends")}
    return _EP_CACHE
