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
import re
import shutil
from typing import Optional

from b00tc.runtime.model import (
    MANAGED, AdapterOutput, Availability, CallOptions, Command, DeployError, Deployed, LifecycleError, Manifest,
    McpCommand, ObjectState, Options, Profile, Status, summarize,
)
from b00tc.runtime.orchestrators.base import Orchestrator
from b00tc.runtime.process import Runner, answer, parse_json, probe, run_captured, timeout
from b00tc.runtime.steps import ROLLBACK, STEP, by_argo_task

STATUS_KINDS = ("jobs", "deployments", "services", "pods", "persistentvolumeclaims")
DOWN_KINDS = ("jobs", "deployments", "services", "secrets")
#: a stack's Helm charts (Flux): listed and deleted only for a stack that has some (a
#: cluster without Flux does not know the kinds, and `kubectl get` of one fails). A
#: HelmRelease goes before its HelmRepository: Flux uninstalls the release.
FLUX_KINDS = ("helmreleases", "helmrepositories")
FLUX_CRDS = ("helmreleases.helm.toolkit.fluxcd.io", "helmrepositories.source.toolkit.fluxcd.io")
FLUX_REQUIRED = ("Flux (the HelmRelease and HelmRepository CRDs) on the cluster: install it with "
                 "`flux install` (https://fluxcd.io/flux/installation/)")
#: a workflow job is an Argo Workflow: listed, logged and deleted as one
ARGO_KIND = "workflows.argoproj.io"
ARGO_CRDS = ("workflows.argoproj.io",)
ARGO_INSTALL = ("`kubectl create namespace argo && kubectl apply -n argo -f "
                "https://github.com/argoproj/argo-workflows/releases/latest/download/install.yaml` "
                "(https://argo-workflows.readthedocs.io/en/latest/quick-start/)")
ARGO_REQUIRED = f"Argo Workflows (the Workflow CRD) on the cluster: install it with {ARGO_INSTALL}"
#: the label Argo puts on the pods of a Workflow (its name)
ARGO_POD_LABEL = "workflows.argoproj.io/workflow"
#: an Argo node's phase -> the step's state
ARGO_PHASES = {"Succeeded": "succeeded", "Failed": "failed", "Error": "failed", "Running": "running",
               "Pending": "pending", "Skipped": "skipped", "Omitted": "skipped"}


def selector(d: Deployed) -> str:
    if d.kind == "job":
        return f"{MANAGED},b00t.io/datum={d.datum}"
    return f"{MANAGED},app.kubernetes.io/part-of={d.name}"


def _kubectl(o: Options) -> list[str]:
    return ["kubectl"] + (["--context", o.context] if o.context else [])


def _ns(o: Options) -> list[str]:
    return ["--namespace", o.namespace] if o.namespace else []


def _status_kinds(d: Deployed) -> tuple[str, ...]:
    if d.workflow:  # each step's state is in the Workflow's status.nodes
        return (ARGO_KIND,)
    return STATUS_KINDS + (FLUX_KINDS if d.charts else ())


def _down_kinds(o: Options, d: Optional[Deployed] = None) -> tuple[str, ...]:
    if d is not None and d.workflow:
        return (ARGO_KIND, "secrets")
    flux = FLUX_KINDS if d is not None and d.charts else ()
    return flux + DOWN_KINDS + (("persistentvolumeclaims",) if o.volumes else ())


def has_argo_workflow(content: str) -> bool:
    """Whether a k8s manifest holds an Argo Workflow (apiVersion argoproj.io/..., kind
    Workflow, in one document)."""
    for doc in re.split(r"(?m)^---\s*$", content):
        if re.search(r"(?m)^apiVersion:\s*[\"']?argoproj\.io/", doc) and re.search(r"(?m)^kind:\s*[\"']?Workflow[\"']?\s*$", doc):
            return True
    return False


def workflow_status(d: Deployed, item: Optional[dict], orchestrator: str) -> Status:
    """A workflow job's status from its Argo Workflow (``kubectl get -o json``): the
    Workflow's ``status.phase``, and each step's from ``status.nodes`` (by its task name,
    ``steps.by_argo_task``; a retried step's Retry node holds its final phase)."""
    if item is None:
        return Status(d.datum, orchestrator, "not deployed", [])
    meta, st = item.get("metadata") or {}, item.get("status") or {}
    managed = (meta.get("labels") or {}).get("app.kubernetes.io/managed-by") == "b00tc"
    phase = st.get("phase") or "Pending"
    state = ARGO_PHASES.get(phase, "unknown")
    finished = state in ("succeeded", "failed")
    wf = ObjectState("Workflow", meta.get("name", d.name), state, st.get("message", "") or phase, managed)
    names = by_argo_task(d)
    found: dict[tuple[str, bool], ObjectState] = {}
    for node in sorted((st.get("nodes") or {}).values(), key=lambda n: str(n.get("id", ""))):
        if node.get("type") in ("DAG", "Steps", "StepGroup", "TaskGroup"):
            continue
        shown = str(node.get("displayName") or "")
        hit = names.get(shown)
        if hit is None:
            continue
        prev = found.get(hit)
        if prev is not None and node.get("type") != "Retry":
            continue  # a retried step: its Retry node is the step, its pods attempts
        detail = node.get("message", "") or ""
        if node.get("type") == "Retry":
            n = len(node.get("children") or [])
            detail = f"{detail}; {n} attempts".lstrip("; ") if n > 1 else detail
        found[hit] = ObjectState(ROLLBACK if hit[1] else STEP, hit[0], ARGO_PHASES.get(node.get("phase", ""), "unknown"),
                                 detail, managed)
    steps = []
    for i, name in enumerate(d.steps + d.rollback):
        key = (name, i >= len(d.steps))
        if key in found:
            steps.append(found[key])
        elif finished:
            steps.append(ObjectState(key[1] and ROLLBACK or STEP, name,
                                     "not run" if key[1] else "skipped", "no node in the Workflow's status", managed))
        else:
            steps.append(ObjectState(key[1] and ROLLBACK or STEP, name, "pending", "", managed))
    note = "" if managed else f"the Workflow {wf.name} was not created by b00tc"
    return Status(d.datum, orchestrator, state if managed else "unknown", [wf] + steps, note)


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
        if d.workflow:
            return [("kubectl_logs", {"resourceType": "pod", "labelSelector": f"{ARGO_POD_LABEL}={d.name}",
                                      "container": "main", "namespace": ns, **extra})]
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
        """Flux, when a stack has Helm chart members (HelmRelease, HelmRepository); Argo
        Workflows, when a manifest holds an Argo Workflow (a workflow job)."""
        out = [FLUX_REQUIRED] if any(d.charts for d in deployed) else []
        if any(d.manifest is not None and has_argo_workflow(d.manifest.content) for d in deployed):
            out.append(ARGO_REQUIRED)
        return out

    def check_prerequisites(self, plan: AdapterOutput, o: Options, run: Runner = run_captured) -> None:
        """With Helm charts in the plan, the cluster must know Flux's CRDs, with a workflow
        job Argo's (``kubectl get crd``), else nothing is applied: a DeployError (exit 3)
        that says how to install what is missing."""
        if FLUX_REQUIRED in plan.requires:
            self._need_crds(FLUX_CRDS, o, run,
                            "the build has Helm charts (Flux HelmReleases) but the cluster has no Flux CRDs",
                            "Install Flux first: `flux install` (https://fluxcd.io/flux/installation/)")
        if ARGO_REQUIRED in plan.requires:
            self._need_crds(ARGO_CRDS, o, run,
                            "the build has a workflow job (an Argo Workflow) but the cluster has no Argo "
                            "Workflows CRD (workflows.argoproj.io)",
                            f"Install Argo Workflows first: {ARGO_INSTALL}")

    def _need_crds(self, crds: tuple[str, ...], o: Options, run: Runner, what: str, fix: str) -> None:
        argv = _kubectl(o) + ["get", "crd", *crds]
        try:
            p = run(argv)
        except OSError as e:
            raise DeployError(f"cannot run kubectl: {e.strerror or e}; {self.how_to_get}") from None
        if p.returncode != 0:
            why = (p.stderr or p.stdout or "").strip().splitlines()
            raise DeployError(what + (f" ({why[-1]})" if why else "") + f"; nothing was applied. {fix}, then deploy again")

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
            if d.workflow:  # the steps' pods, by Argo's label; their step container is main
                return [Command(_kubectl(o) + ["logs", "-l", f"{ARGO_POD_LABEL}={d.name}", "--container", "main",
                                               "--prefix", "--tail=-1"] + follow + _ns(o))]
            return [Command(_kubectl(o) + ["logs", "-l", sel, "--all-containers", "--prefix", "--tail=-1"]
                            + follow + _ns(o))]
        if d.workflow:  # the Workflow (its pods go with it), then any pod left of it
            return [Command(_kubectl(o) + ["delete", ",".join(_down_kinds(o, d)), "-l", sel, "--ignore-not-found"] + _ns(o)),
                    Command(_kubectl(o) + ["delete", "pods", "-l", f"{ARGO_POD_LABEL}={d.name}", "--ignore-not-found"]
                            + _ns(o))]
        return [Command(_kubectl(o) + ["delete", ",".join(_down_kinds(o, d)), "-l", sel, "--ignore-not-found"] + _ns(o))]

    def mcp_calls(self, d: Deployed, op: str, o: Options, profile) -> list[McpCommand]:
        if profile is None or profile.name != MCP_SERVER_KUBERNETES:
            return []
        return [McpCommand(profile.server, tool, args) for tool, args in _mcp_server_kubernetes(op, d, o)]

    def status_of(self, d: Deployed, items: list[dict]) -> Status:
        """The status from the objects ``kubectl get -o json`` lists."""
        if d.workflow:
            wfs = [i for i in items if i.get("kind") == "Workflow"]
            item = next((i for i in wfs if (i.get("metadata") or {}).get("name") == d.name), wfs[0] if wfs else None)
            return workflow_status(d, item, self.name)
        objects = [_object(i) for i in items]
        job = next((s for s in objects if s.kind == "Job" and s.name == d.name), None)
        return summarize(d, self.name, objects, job,
                         [s for s in objects if s.kind in ("Deployment", "StatefulSet", "HelmRelease")])

    def status(self, d: Deployed, o: Options, run: Runner = run_captured) -> Status:
        argv = self.commands(d, "status", o)[0].argv
        return self.status_of(d, (parse_json(argv, answer(argv, run)) or {}).get("items") or [])

    def down_checks(self, d: Deployed) -> list[str]:
        if not d.workflow:
            return []
        return [f"would check that the Workflow {d.name}, if there is one, carries {MANAGED} (its pods are "
                f"deleted by {ARGO_POD_LABEL}={d.name})"]

    def check_down(self, d: Deployed, o: Options, echo, run: Runner) -> bool:
        """A workflow job: its pods are deleted by Argo's label of the Workflow's name,
        so a Workflow of that name that b00tc did not create is refused."""
        if not d.workflow:
            return True
        argv = _kubectl(o) + ["get", ARGO_KIND, d.name, "--ignore-not-found", "-o", "json"] + _ns(o)
        item = parse_json(argv, answer(argv, run))
        labels = ((item or {}).get("metadata") or {}).get("labels") or {}
        if item and labels.get("app.kubernetes.io/managed-by") != "b00tc":
            raise LifecycleError(f"the Workflow {d.name} was not created by b00tc (no {MANAGED} label): "
                                 "not deleting it or its pods")
        return True

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
