"""Kubernetes: ``kubectl apply`` (or an MCP server's tools), and day two by the labels
``app.kubernetes.io/managed-by=b00tc`` and, for a job, ``b00t.io/datum=<name>.job``, for a
stack ``app.kubernetes.io/part-of=<name>`` (``kubectl get|logs|delete -l``).

The Secrets the objects read (b00tc.backends._k8s_secret) are applied first, each as JSON on
``kubectl apply -f -``'s stdin, its values base64 in ``data`` (exact bytes); they carry the
labels of the object that reads them, so down deletes them. Status never lists Secrets
(``kubectl get -o json`` would print their data)."""

from __future__ import annotations

import base64
import json
import shutil
from typing import Optional

from b00tc.runtime.model import (
    MANAGED, AdapterOutput, Availability, CallOptions, Command, DeployError, Deployed, Manifest, McpCommand,
    ObjectState, Options, Profile, Status, summarize,
)
from b00tc.runtime.orchestrators.base import Orchestrator
from b00tc.runtime.process import Runner, answer, parse_json, probe, run_captured, timeout

STATUS_KINDS = ("jobs", "deployments", "services", "pods", "persistentvolumeclaims")
DOWN_KINDS = ("jobs", "deployments", "services", "secrets")
#: a stack's Helm charts (Flux): listed and deleted only for a stack that has some (a
#: cluster without Flux does not know the kinds, and `kubectl get` of one fails). A
#: HelmRelease goes before its HelmRepository: Flux uninstalls the release.
FLUX_KINDS = ("helmreleases", "helmrepositories")
FLUX_CRDS = ("helmreleases.helm.toolkit.fluxcd.io", "helmrepositories.source.toolkit.fluxcd.io")
FLUX_REQUIRED = ("Flux (the HelmRelease and HelmRepository CRDs) on the cluster: install it with "
                 "`flux install` (https://fluxcd.io/flux/installation/)")


def selector(d: Deployed) -> str:
    if d.kind == "job":
        return f"{MANAGED},b00t.io/datum={d.datum}"
    return f"{MANAGED},app.kubernetes.io/part-of={d.name}"


def _kubectl(o: Options) -> list[str]:
    return ["kubectl"] + (["--context", o.context] if o.context else [])


def _ns(o: Options) -> list[str]:
    return ["--namespace", o.namespace] if o.namespace else []


def _status_kinds(d: Deployed) -> tuple[str, ...]:
    return STATUS_KINDS + (FLUX_KINDS if d.charts else ())


def _down_kinds(o: Options, d: Optional[Deployed] = None) -> tuple[str, ...]:
    flux = FLUX_KINDS if d is not None and d.charts else ()
    return flux + DOWN_KINDS + (("persistentvolumeclaims",) if o.volumes else ())


def secret_manifest(store, values: dict[str, str]) -> dict:
    """The Secret a k8s store (``EnvFile`` of kind k8s) describes, holding ``values`` (its
    entries resolved, ``b00tc.envfiles.resolve_store``)."""
    labels = dict(store.labels)
    labels.setdefault("app.kubernetes.io/managed-by", "b00tc")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": store.path, **({"namespace": store.namespace} if store.namespace else {}),
                     "labels": labels},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in values.items()},
    }


def secret_json(store, values: dict[str, str]) -> str:
    return json.dumps(secret_manifest(store, values), separators=(",", ":"))


def _secrets(stores: list, values: list[dict[str, str]]) -> list[tuple[object, dict[str, str]]]:
    return [(s, v) for s, v in zip(stores, values) if s.kind == "k8s"]


def _what(store, values: dict[str, str]) -> str:
    n = len(values)
    return f"Secret {store.path}: {n} key{'s' * (n != 1)}"


# ---------------------------------------------------------------------------------------
# Day two through mcp-server-kubernetes (npm): kubectl_get, kubectl_logs, kubectl_delete

MCP_SERVER_KUBERNETES = "mcp-server-kubernetes"


def _mcp_server_kubernetes(op: str, d: Deployed, o: Options) -> list[tuple[str, dict]]:
    ns = o.namespace or "default"
    extra = {"context": o.context} if o.context else {}
    sel = selector(d)
    if op == "status":
        return [("kubectl_get", {"resourceType": kind, "labelSelector": sel, "namespace": ns, "output": "json", **extra})
                for kind in _status_kinds(d)]
    if op == "logs":
        if d.kind == "job":
            return [("kubectl_logs", {"resourceType": "job", "name": d.name, "namespace": ns, **extra})]
        return [("kubectl_logs", {"resourceType": "deployment", "name": m, "namespace": ns, **extra})
                for m in d.members]
    return [("kubectl_delete", {"resourceType": kind, "labelSelector": sel, "namespace": ns, **extra})
            for kind in _down_kinds(o, d)]


# ---------------------------------------------------------------------------------------
# Status from `kubectl get -o json`


def _object(item: dict) -> ObjectState:
    kind, meta = item.get("kind", "?"), item.get("metadata", {})
    name, st, spec = meta.get("name", "?"), item.get("status") or {}, item.get("spec") or {}
    managed = (meta.get("labels") or {}).get("app.kubernetes.io/managed-by") == "b00tc"
    if kind == "Job":
        conds = {c.get("type"): c for c in st.get("conditions") or [] if c.get("status") == "True"}
        if "Complete" in conds or (st.get("succeeded") or 0) >= (spec.get("completions") or 1):
            return ObjectState(kind, name, "succeeded", f"{st.get('succeeded', 0)} succeeded", managed)
        if "Failed" in conds:
            return ObjectState(kind, name, "failed", conds["Failed"].get("reason", "") or f"{st.get('failed', 0)} failed", managed)
        if st.get("active"):
            return ObjectState(kind, name, "running", f"{st['active']} active", managed)
        return ObjectState(kind, name, "pending", "", managed)
    if kind in ("Deployment", "StatefulSet"):
        want, ready = spec.get("replicas", 1), st.get("readyReplicas") or 0
        return ObjectState(kind, name, "up" if ready >= want else "not ready", f"{ready}/{want} ready", managed)
    if kind == "Pod":
        phase = st.get("phase", "Unknown")
        waiting = [c.get("state", {}).get("waiting", {}).get("reason") for c in st.get("containerStatuses") or []]
        detail = ", ".join(w for w in waiting if w)
        return ObjectState(kind, name, phase.lower(), detail, managed)
    if kind == "Service":
        ports = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
        return ObjectState(kind, name, "present", f"{spec.get('type', 'ClusterIP')} {ports}".strip(), managed)
    if kind == "PersistentVolumeClaim":
        return ObjectState(kind, name, (st.get("phase") or "pending").lower(), "", managed)
    if kind in ("HelmRelease", "HelmRepository"):
        # Flux reports through its Ready condition (True, False with a reason, or not yet)
        ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") == "Unknown":
            return ObjectState(kind, name, "pending", (ready or {}).get("reason", ""), managed)
        detail = ready.get("message") or ready.get("reason") or ""
        if ready.get("status") == "True":
            return ObjectState(kind, name, "up", detail, managed)
        return ObjectState(kind, name, "failed", detail, managed)
    return ObjectState(kind, name, "present", "", managed)


class Kubernetes(Orchestrator):
    name = "kubernetes"
    aliases = ("k8s",)
    target = "k8s"
    suffix = ".yaml"
    short = "k8s"
    ext = "yaml"
    how_to_get = ("install kubectl (https://kubernetes.io/docs/tasks/tools/) and point it at a cluster "
                  "that answers: `kubectl config use-context NAME` (a local one: kind, k3d, minikube)")
    #: b00t's kubernetes.mcp datum starts `npx mcp-server-kubernetes`
    DEFAULT_MCP_PROFILE = MCP_SERVER_KUBERNETES
    MCP_DATUMS = ("kubernetes", "k8s")
    BUNDLED_MCP_DATUM = "kubernetes.mcp.toml"

    def available(self) -> Availability:
        """``kubectl config current-context`` (exit 0, a name on stdout), then ``kubectl
        version --request-timeout=Ns`` (exit 0: the cluster answered)."""
        if not shutil.which("kubectl"):
            return Availability(self.name, False, "not installed")
        ctx = probe(["kubectl", "config", "current-context"])
        if ctx.timed_out:
            return Availability(self.name, False, ctx.why())
        if not ctx.ok or not ctx.stdout.strip():
            return Availability(self.name, False, "no current context")
        name = ctx.stdout.strip().splitlines()[0]
        server_limit = max(1, int(timeout()))
        ver = probe(["kubectl", "version", f"--request-timeout={server_limit}s"])
        if not ver.ok:
            return Availability(self.name, False, f"context {name} does not answer: {ver.why()}")
        return Availability(self.name, True, f"kubectl configured, context {name}", ["kubectl"])

    def prerequisites(self, deployed: list[Deployed]) -> list[str]:
        """Flux, when a stack has Helm chart members (HelmRelease, HelmRepository)."""
        return [FLUX_REQUIRED] if any(d.charts for d in deployed) else []

    def check_prerequisites(self, plan: AdapterOutput, o: Options, run: Runner = run_captured) -> None:
        """With Helm charts in the plan, the cluster must know Flux's CRDs (``kubectl get
        crd``), else nothing is applied: a DeployError (exit 3) that says how to install it."""
        if FLUX_REQUIRED not in plan.requires:
            return
        argv = _kubectl(o) + ["get", "crd", *FLUX_CRDS]
        try:
            p = run(argv)
        except OSError as e:
            raise DeployError(f"cannot run kubectl: {e.strerror or e}; {self.how_to_get}") from None
        if p.returncode != 0:
            why = (p.stderr or p.stdout or "").strip().splitlines()
            raise DeployError(
                "the build has Helm charts (Flux HelmReleases) but the cluster has no Flux CRDs"
                + (f" ({why[-1]})" if why else "")
                + "; nothing was applied. Install Flux first: `flux install` "
                "(https://fluxcd.io/flux/installation/), then deploy again"
            )

    def deploy_commands(self, m: Manifest, path: str, o: Options) -> list[Command]:
        return [Command(_kubectl(o) + ["apply", "-f", path] + _ns(o))]

    def value_commands(self, stores: list, values: list[dict[str, str]], o: Options) -> list[Command]:
        """One ``kubectl apply -f -`` per Secret, the Secret (JSON) on its stdin."""
        return [Command(_kubectl(o) + ["apply", "-f", "-"] + _ns(o), stdin=secret_json(s, v).encode("utf-8"),
                        stdin_what=_what(s, v))
                for s, v in _secrets(stores, values)]

    def value_mcp_calls(self, stores: list, values: list[dict[str, str]], o: Options,
                        profile: Profile) -> list[McpCommand]:
        """Each Secret through the profile's apply tool, as its manifest argument (the
        arguments hold the values, base64: never print them)."""
        if profile is None:
            return []
        opts = CallOptions(namespace=o.namespace or "default", context=o.context)
        return [McpCommand(profile.server, profile.tool, args)
                for s, v in _secrets(stores, values) for args in profile.arguments(secret_json(s, v), opts)]

    def commands(self, d: Deployed, op: str, o: Options) -> list[Command]:
        sel = selector(d)
        if op == "status":
            return [Command(_kubectl(o) + ["get", ",".join(_status_kinds(d)), "-l", sel, "-o", "json"] + _ns(o))]
        if op == "logs":
            follow = ["--follow", "--max-log-requests=50"] if o.follow else []
            return [Command(_kubectl(o) + ["logs", "-l", sel, "--all-containers", "--prefix", "--tail=-1"]
                            + follow + _ns(o))]
        return [Command(_kubectl(o) + ["delete", ",".join(_down_kinds(o, d)), "-l", sel, "--ignore-not-found"] + _ns(o))]

    def mcp_calls(self, d: Deployed, op: str, o: Options, profile) -> list[McpCommand]:
        if profile is None or profile.name != MCP_SERVER_KUBERNETES:
            return []
        return [McpCommand(profile.server, tool, args) for tool, args in _mcp_server_kubernetes(op, d, o)]

    def status_of(self, d: Deployed, items: list[dict]) -> Status:
        """The status from the objects ``kubectl get -o json`` lists."""
        objects = [_object(i) for i in items]
        job = next((s for s in objects if s.kind == "Job" and s.name == d.name), None)
        return summarize(d, self.name, objects, job,
                         [s for s in objects if s.kind in ("Deployment", "StatefulSet", "HelmRelease")])

    def status(self, d: Deployed, o: Options, run: Runner = run_captured) -> Status:
        argv = self.commands(d, "status", o)[0].argv
        return self.status_of(d, (parse_json(argv, answer(argv, run)) or {}).get("items") or [])

    def status_from_mcp(self, d: Deployed, profile: Optional[str], outcomes) -> Optional[Status]:
        """mcp-server-kubernetes's kubectl_get answers are ``kubectl get -o json``'s."""
        if profile != MCP_SERVER_KUBERNETES:
            return None
        items: list[dict] = []
        for o in outcomes:
            if o.text.strip():
                try:
                    items += json.loads(o.text).get("items") or []
                except ValueError:
                    pass
        return self.status_of(d, items)
