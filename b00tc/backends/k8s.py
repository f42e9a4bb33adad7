"""Kubernetes backend: a Job becomes one ``batch/v1`` Job; a Stack becomes, per member, an
``apps/v1`` Deployment, plus a ``v1`` Service per declared service and a
PersistentVolumeClaim per named volume; a Helm chart member a Flux ``HelmRepository`` (one
per repository alias) and ``HelmRelease``.

Host variables are never resolved into env, command or args: they are read from a Secret
per Job or member that deploy creates (``_k8s_secret``: ``secretKeyRef`` and
``$(B00T_<key>)``); only an image's are resolved at build time (W0303). References become
the Service DNS name (``http://<service>:<port>``), and every literal that reaches
``env[].value``, ``command`` or ``args`` is escaped against Kubernetes' dependent-variable
expansion.

Where pods may run is chosen only with labels real clusters carry (``gpu_scheduling``,
``queue``, ``affinity``): a GPU model selects NVIDIA GPU Feature Discovery's
``nvidia.com/gpu.product`` values (``GFD_PRODUCTS``) or, with ``-O k8s.gpu_label``, the
datum's gpu_type on that key; a queue is labelled only when the datum names it; a GPU group
is one pod label that the group's podAffinity selects, on jobs and stack members alike.
What cannot be named so is W0301, never a selector nothing satisfies.

Over 500 lines: one target, one module (the house style); the generator has one method per
IR node, and splitting it would split the escaping rules above from their only users.
"""

from __future__ import annotations

import re
from typing import Optional

from b00tc.backends import Backend, OutputFile, _yaml
from b00tc.backends._context import Context
from b00tc.backends._k8s_secret import SecretRefs
from b00tc.backends._meta import file_name, identity
from b00tc.backends._values import ref_text, text_of
from b00tc.backends._wait import wait_script
from b00tc.ir import (
    Container,
    Datum,
    EnvVar,
    Gpu,
    HelmChart,
    Job,
    Member,
    Mount,
    Orchestration,
    PortMap,
    Ref,
    Resources,
    ServiceDecl,
    Stack,
    Unit,
    Value,
    WaitFor,
    Workflow,
)

# Where a docker datum writes --restart and --name: the IR's Member has no path of its own.
_DOCKER_ARGS_PATH = "$.b00t.docker_args"

_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")  # Service names

#: extended resource names of the GPU device plugins; other vendors follow the common
#: ``<vendor>.com/gpu`` pattern (AMD's plugin uses it too)
_GPU_RESOURCE = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu", "intel": "gpu.intel.com/i915"}

#: NVIDIA GPU Feature Discovery's node label for the GPU model, and the values it writes per
#: model of a datum's gpu_type (``nvidia-a100`` -> ``a100``). GFD takes the NVML device name
#: and turns spaces into ``-`` (NVIDIA/k8s-device-plugin internal/lm/resource.go); its README
#: ("Generated Labels") shows the key. A value is one exact string per SKU, and a node
#: selector term has no prefix match, so a model selects ``In`` the list of its SKUs.
#: ``nvidia.com/gpu.family`` is too coarse to stand in: GFD derives it from the CUDA compute
#: major alone, so an A100, an A10G and an L4 are all ``ampere``.
GFD_PRODUCT_LABEL = "nvidia.com/gpu.product"
GFD_PRODUCTS: dict[str, tuple[str, ...]] = {
    "a100": ("NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-PCIE-40GB",
             "NVIDIA-A100-80GB-PCIe",
             # drivers before the "NVIDIA " prefix (GFD's README still shows one)
             "A100-SXM4-40GB", "A100-SXM4-80GB", "A100-PCIE-40GB"),
    "h100": ("NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H100-NVL"),
    "l4": ("NVIDIA-L4",),
    "l40": ("NVIDIA-L40",),
    "l40s": ("NVIDIA-L40S",),
    "a10": ("NVIDIA-A10",),
    "a10g": ("NVIDIA-A10G",),
    "t4": ("Tesla-T4",),
    "v100": ("Tesla-V100-SXM2-16GB", "Tesla-V100-SXM2-32GB", "Tesla-V100-PCIE-16GB",
             "Tesla-V100-PCIE-32GB"),
}
#: what GFD appends to the product of a GPU the device plugin time-slices
GFD_SHARED_SUFFIX = "-SHARED"

#: how often Flux checks the repository index and reconciles a release (drift, upgrades)
HELM_REPOSITORY_INTERVAL = "1h"
HELM_RELEASE_INTERVAL = "10m"


def repository_name(chart: HelmChart, stack: Stack) -> str:
    """The HelmRepository of a stack's charts of one alias: ``<stack>-<alias>``."""
    return f"{stack.name}-{chart.repo}"


_BINARY_SUFFIXES = (
    ("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)
)


class K8sBackend(Backend):
    name = "k8s"
    aliases = ("kubernetes",)
    KEEPS_HOST_VARS = False

    KINDS = ("job", "stack", "workflow")
    RENDERS_CHARTS = True

    def render_job(self, unit: Unit, job: Job, ctx: Context) -> list[OutputFile]:
        gen = _Generator(unit, ctx)
        return _file(job, gen.job(job), gen.secrets, ctx)

    def render_stack(self, unit: Unit, stack: Stack, ctx: Context) -> list[OutputFile]:
        gen = _Generator(unit, ctx)
        return _file(stack, gen.stack(stack), gen.secrets, ctx)

    def render_workflow(self, unit: Unit, wf: Workflow, ctx: Context) -> list[OutputFile]:
        from b00tc.backends._argo import workflow

        gen = _Generator(unit, ctx)
        docs = workflow(gen, wf, escape_expansion)
        return _file(wf, docs, gen.secrets, ctx) if docs else []


def _file(datum: Datum, docs: list, secrets: list[SecretRefs], ctx: Context) -> list[OutputFile]:
    header = f"# Generated by b00tc from {file_name(datum.file)}. Do not edit.\n"
    namespace = ctx.options["namespace"]
    if namespace:  # -O k8s.namespace: every object's, after its name
        for doc in docs:
            meta = doc["metadata"]
            doc["metadata"] = {"name": meta.pop("name"), "namespace": namespace, **meta}
    for s in secrets:
        keys = ", ".join(e.name for e in s.store.entries)
        header += (f"# {s.store.unit} reads the Secret {s.name} (keys {keys}): b00tc deploy creates it "
                   "from the host variables; kubectl apply needs it created first.\n")
    return [OutputFile(f"{datum.name}.yaml", header + _yaml.dump_all(docs))]


# ---------------------------------------------------------------------------
# Escaping and quantities


def escape_expansion(text: str) -> str:
    """Make ``text`` survive Kubernetes' dependent-variable expansion unchanged.

    The kubelet expands ``$(NAME)`` in env values, command and args and turns ``$$`` into
    ``$``; any other ``$`` is kept. Doubling a ``$`` that is followed by ``$`` or ``(`` is
    therefore exact. A ``$`` before a non-ASCII character is doubled too: expanders that
    predate the UTF-8 fix in k8s.io/kubernetes third_party/forked/golang/expansion read
    one byte there and mangle the character; ``$$`` is exact in both versions.
    """
    out = []
    for i, ch in enumerate(text):
        out.append(ch)
        if ch == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in "$(" or ord(nxt) > 0x7F:
                out.append("$")
    return "".join(out)


def cpu_quantity(millis: int) -> str:
    """``2000`` -> ``"2"``, ``500`` -> ``"500m"``."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def memory_quantity(n: int) -> str:
    """Exact bytes with the largest binary suffix that divides them: ``8Gi``, else ``123``."""
    for suffix, size in _BINARY_SUFFIXES:
        if n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def _dns_label(text: str) -> str:
    """A DNS-1123 label made from a docker name (``redis_data`` -> ``redis-data``)."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    return label or "volume"


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 2
    while candidate in used:
        tail = f"-{n}"
        candidate = name[: 63 - len(tail)].rstrip("-") + tail
        n += 1
    used.add(candidate)
    return candidate


def _endpoint(ref: Ref) -> str:
    # A Service named after the stack service exists (the stack's own output makes it).
    return ref_text(ref, ref.service, ref.port)




# ---------------------------------------------------------------------------
# One method per IR node


class _Generator:
    def __init__(self, unit: Unit, ctx: Context) -> None:
        self.unit = unit
        self.ctx = ctx
        #: the Secrets the objects read, in order (the file's header names them)
        self.secrets: list[SecretRefs] = []

    def secret_refs(self, name: str, env: tuple[EnvVar, ...], file: str, labels: dict) -> SecretRefs:
        return SecretRefs(name, name, file, self.ctx, env, escape_expansion,
                          lambda v: self.text(v, file), _endpoint, labels)

    # -- values --------------------------------------------------------------

    def text(self, value: Value, file: str) -> str:
        """Plain text (image names): no expansion applies."""
        return text_of(value, self.ctx, file, _endpoint)


    # -- metadata -----------------------------------------------------------

    def labels(self, name: str, datum: str, part_of: str = "") -> dict:
        return identity(name, datum, part_of)

    def annotations(self) -> dict:
        return {f"b00t.io/{a.key}": a.value for a in self.unit.annotations}

    def label_value(self, what: str, value: str, file: str, path: str) -> bool:
        """True if ``value`` can be a label value; else says that the label is dropped."""
        if _LABEL_VALUE.match(value):
            return True
        self.ctx.cannot_express(
            f"{what} {value!r} as a label (a label value is at most 63 characters of "
            "[A-Za-z0-9-_.], starting and ending alphanumeric); it is recorded as an annotation",
            file,
            path,
        )
        return False

    # -- resources ------------------------------------------------------------

    def resources(self, res: Resources, file: str) -> dict:
        """Requests equal to limits for cpu and memory; GPUs in limits (an extended
        resource's request defaults to its limit and may not differ from it)."""
        requests: dict = {}
        limits: dict = {}
        if res.cpu_millis:
            requests["cpu"] = limits["cpu"] = cpu_quantity(res.cpu_millis)
        if res.memory_bytes:
            requests["memory"] = limits["memory"] = memory_quantity(res.memory_bytes)
        if res.gpu and res.gpu.count:
            resource = self.gpu_resource(res.gpu, file)
            if resource:
                limits[resource] = str(res.gpu.count)
        out = {}
        if requests:
            out["requests"] = requests
        if limits:
            out["limits"] = limits
        return out

    def gpu_resource(self, gpu: Gpu, file: str) -> Optional[str]:
        vendor = gpu.vendor or "nvidia"
        resource = _GPU_RESOURCE.get(vendor)
        if resource is None and _DNS_LABEL.match(vendor):
            resource = f"{vendor}.com/gpu"
        if resource is None:
            self.ctx.cannot_express(f"GPUs of vendor {vendor!r}", file, gpu.path)
        return resource

    def gpu_scheduling(self, gpu: Optional[Gpu], file: str) -> tuple[dict, dict]:
        """(node affinity, annotations) for a GPU request.

        On ``-O k8s.gpu_label`` (default GFD's ``nvidia.com/gpu.product``): with GFD's key,
        an NVIDIA model of ``GFD_PRODUCTS`` selects ``In`` its products (and their
        ``-SHARED`` forms when ``gpu_shared``: a time-sliced GPU is a shared one); with any
        other key, whose values b00tc cannot know, the gpu_type itself as written. A model
        without known products, and any AMD or Intel GPU (AMD's node labeller writes device
        ids and family codes, not model names), selects nothing: the pod asks for the
        vendor's GPUs only, and W0301 says the model is not selected. A node selection
        b00tc cannot name a real value for would leave the pod Pending for ever.
        The datum's gpu_type stays in the ``b00t.io/gpu-type`` annotation.
        """
        if gpu is None or not gpu.count:
            return {}, {}
        requirement: Optional[dict] = None
        annotations: dict = {}
        if gpu.type:
            key = self.ctx.options["gpu_label"] or GFD_PRODUCT_LABEL
            where = gpu.type_path or gpu.path
            if key != GFD_PRODUCT_LABEL:
                if self.label_value("GPU type", gpu.type, file, where):
                    requirement = {"key": key, "operator": "In", "values": [gpu.type]}
                else:
                    annotations["b00t.io/gpu-type"] = gpu.type
            elif (gpu.vendor or "nvidia") == "nvidia" and gpu.model in GFD_PRODUCTS:
                products = list(GFD_PRODUCTS[gpu.model])
                if gpu.shared:
                    products += [p + GFD_SHARED_SUFFIX for p in GFD_PRODUCTS[gpu.model]]
                requirement = {"key": key, "operator": "In", "values": products}
            else:
                if (gpu.vendor or "nvidia") == "nvidia":
                    why = f"b00tc knows no {key} values for the model {gpu.model!r}"
                else:
                    why = f"{key} is NVIDIA's label; {gpu.vendor} GPUs carry no model name b00tc can select on"
                self.ctx.cannot_express(
                    f"GPU type {gpu.type!r} as a node selection ({why}): the pod requests "
                    f"{gpu.count} {gpu.vendor or 'nvidia'} GPU(s) of any model",
                    file,
                    where,
                    help="select on a label your nodes carry with -O k8s.gpu_label=KEY (the "
                    f"value is then gpu_type as written: kubectl label node N KEY={gpu.type})",
                )
        if gpu.shared:
            # time-slicing or MPS is node configuration; the intent is recorded
            annotations["b00t.io/gpu-shared"] = "true"
        if gpu.memory_bytes:
            self.ctx.cannot_express(
                f"a GPU memory requirement ({gpu.memory or memory_quantity(gpu.memory_bytes)})",
                file,
                gpu.memory_path or gpu.path,
                help="Kubernetes schedules whole GPUs; select a GPU model with gpu_type",
            )
        if requirement is None:
            return {}, annotations
        node_affinity = {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [requirement]}]
            }
        }
        return node_affinity, annotations

    def affinity(self, node_affinity: dict, group: str) -> dict:
        """The pod's affinity: the GPU model's node affinity, and a preference for the node
        that already runs a pod of GPU group ``group``. Every pod of the group carries the
        label ``b00t.io/gpu-affinity: <group>`` that the preference selects (a stack's
        members and a job alike), so a job and a stack naming one group prefer each
        other's node. The term has no namespaces: the group's pods are looked for in the
        pod's own namespace (-O k8s.namespace puts a build's objects in one)."""
        out: dict = {}
        if node_affinity:
            out["nodeAffinity"] = node_affinity
        if not group:
            return out
        out["podAffinity"] = {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": {"b00t.io/gpu-affinity": group}},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
        }
        return out

    def queue(self, orch: Orchestration, file: str, what: str) -> Optional[str]:
        """The Kueue LocalQueue of a queue_based datum, or None. Without queue_name no name
        is invented (a LocalQueue that does not exist keeps the workload suspended): the
        workload carries no queue label and W0301 says what Kueue then does."""
        if orch.schedule_type != "queue_based":
            return None
        path = orch.queue_path or orch.path
        if not orch.queue_name:
            self.ctx.cannot_express(
                f"a queue without its name (schedule_type = \"queue_based\", no queue_name): "
                f"no kueue.x-k8s.io/queue-name label is written on {what}; Kueue's own "
                "defaulting then applies (the namespace's LocalQueue named default, where its "
                "LocalQueueDefaulting feature is on and that LocalQueue exists), else Kueue "
                "leaves the workload unqueued",
                file,
                path,
                help="set queue_name to a LocalQueue of the namespace (kubectl get localqueues)",
            )
            return None
        if self.label_value("queue name", orch.queue_name, file, path):
            return orch.queue_name
        return None

    # -- containers -----------------------------------------------------------

    def container(
        self, name: str, container: Container, env: tuple[EnvVar, ...], res: Resources, file: str,
        labels: dict,
    ) -> dict:
        """The container ``name``; its host variables are read from the Secret ``name``,
        which carries ``labels`` (its object's: day two selects it with them)."""
        refs = self.secret_refs(name, env, file, labels)
        out: dict = {"name": name, "image": refs.image(container.image)}
        if self.ctx.options["image_pull_policy"]:
            out["imagePullPolicy"] = self.ctx.options["image_pull_policy"]
        if container.command:
            out["command"] = [refs.expanded(v) for v in container.command]
        if container.args:
            out["args"] = [refs.expanded(v) for v in container.args]
        entries = refs.env([refs.env_var(v) for v in env])
        if entries:
            out["env"] = entries
        if refs.store.entries:
            refs.register()
            self.secrets.append(refs)
        resources = self.resources(res, file)
        if resources:
            out["resources"] = resources
        return out

    def wait_for(self, wait: WaitFor, file: str) -> dict:
        if not wait.member:
            self.ctx.warn(
                "W0103",
                f"service {wait.service} of stack {wait.stack} has no deployable member: "
                f"the job waits for a Service {wait.service} that this stack does not create",
                file,
                wait.path,
                help=f"create the Service {wait.service} some other way, or remove the wait",
            )
        script = wait_script(wait.service, wait.port, self.ctx.wait_timeout, backticks=True)
        return {
            "name": f"wait-for-{wait.service}",
            "image": self.ctx.helper_image,
            "command": ["sh", "-c", escape_expansion(script)],
        }

    # -- Job ------------------------------------------------------------------

    def job(self, job: Job) -> list[dict]:
        file = job.file
        orch = job.orchestration
        labels = self.labels(job.name, f"{job.name}.job")
        pod_labels = dict(labels)
        job_labels = dict(labels)
        annotations = self.annotations()

        queue = self.queue(orch, file, f"the Job {job.name}")
        if queue:
            # Kueue reads the queue from the Job and suspends it itself (its webhook)
            job_labels["kueue.x-k8s.io/queue-name"] = queue
        elif orch.queue_name:
            annotations.setdefault("b00t.io/queue-name", orch.queue_name)
        if orch.batch_group:
            # no scheduler reads it: a label lets kubectl select the group, an annotation
            # keeps a value no label can hold
            if _LABEL_VALUE.match(orch.batch_group):
                job_labels["b00t.io/batch-group"] = orch.batch_group
                pod_labels["b00t.io/batch-group"] = orch.batch_group
            else:
                annotations.setdefault("b00t.io/batch-group", orch.batch_group)
        if job.requires:
            annotations.setdefault(
                "b00t.io/requires-stacks", ",".join(s.name for s in job.requires)
            )

        node_affinity, gpu_annotations = self.gpu_scheduling(job.resources.gpu, file)
        annotations.update(gpu_annotations)

        used: set[str] = {job.name}
        init = []
        for wait in job.wait_for:
            c = self.wait_for(wait, file)
            c["name"] = _unique(c["name"][:63].rstrip("-"), used)
            init.append(c)

        spec: dict = {"restartPolicy": "Never"}
        group = ""
        if orch.gpu_affinity:
            if self.label_value("GPU affinity", orch.gpu_affinity, file, (orch.gpu_affinity_path or orch.path)):
                group = orch.gpu_affinity
            else:
                annotations.setdefault("b00t.io/gpu-affinity", orch.gpu_affinity)
        elif orch.batch_group and _LABEL_VALUE.match(orch.batch_group):
            # A job's batch group is its GPU group: architecture.md pairs the job's
            # batch_group "llama-70b" with the stack's gpu_affinity "llama-70b", and b00t's
            # own stacks call theirs gpu_batch_group
            group = orch.batch_group
        if group:
            pod_labels["b00t.io/gpu-affinity"] = group
        affinity = self.affinity(node_affinity, group)
        if affinity:
            spec["affinity"] = affinity
        if init:
            spec["initContainers"] = init
        spec["containers"] = [
            self.container(job.name, job.container, job.env, job.resources, file, labels)
        ]

        metadata: dict = {"name": job.name, "labels": job_labels}
        if annotations:
            metadata["annotations"] = annotations
        return [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": metadata,
                "spec": {
                    "backoffLimit": 0,
                    "template": {"metadata": {"labels": pod_labels}, "spec": spec},
                },
            }
        ]

    # -- Stack ----------------------------------------------------------------

    def stack(self, stack: Stack) -> list[dict]:
        """PersistentVolumeClaims, then Services, then Deployments: the order Helm
        installs them in, so that claims exist before pods mount them and Service names
        resolve (and their environment variables are injected) when pods start."""
        annotations = self.annotations()
        annotations.update(self.stack_resources(stack))
        queue = self.queue(stack.orchestration, stack.file, f"the Deployments of the stack {stack.name}")
        claims: dict[str, dict] = {}  # docker volume name -> PVC
        claim_names: set[str] = set()
        deployments = []
        for member in stack.members:
            deployments.append(self.member(member, stack, annotations, claims, claim_names, queue))
        services = []
        served: set[str] = set()
        for decl in stack.services:
            svc = self.service_decl(decl, stack, annotations)
            if svc is not None:
                services.append(svc)
                served.add(decl.member)
        names = {s.name for s in stack.services}
        for member in stack.members:
            # published ports make a member a service even where [b00t.services] is silent
            if member.ports and member.name not in served and member.name not in names:
                svc = self.service(member.name, member, stack, [], annotations, stack.file, "")
                if svc is not None:
                    services.append(svc)
        repositories: dict[str, dict] = {}
        releases = []
        for chart in stack.charts:
            # charts of one alias share its HelmRepository (the link phase checked one URL)
            if chart.repo not in repositories:
                repositories[chart.repo] = self.helm_repository(chart, stack)
            releases.append(self.helm_release(chart, stack, annotations))
        return [*repositories.values(), *claims.values(), *services, *deployments, *releases]

    # -- Helm charts (Flux) ---------------------------------------------------

    def helm_repository(self, chart: HelmChart, stack: Stack) -> dict:
        """A Flux source-controller HelmRepository (v1) named ``<stack>-<alias>``: each stack
        has its own, so that ``down`` of one stack (by its part-of label) never deletes the
        source of another stack's releases; an ``oci://`` URL is an OCI repository
        (``type: oci``)."""
        spec: dict = {"interval": HELM_REPOSITORY_INTERVAL, "url": chart.url}
        if chart.url.startswith("oci://"):
            spec["type"] = "oci"
        return {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": {"name": repository_name(chart, stack),
                         "labels": self.labels(chart.repo, f"{stack.name}.stack", stack.name)},
            "spec": spec,
        }

    def helm_release(self, chart: HelmChart, stack: Stack, annotations: dict) -> dict:
        """A Flux helm-controller HelmRelease (v2): the chart from its HelmRepository, at
        ``desires``' version, released as the datum's name into its namespace (created on
        install), with the values file's content inline."""
        chart_spec: dict = {"chart": chart.chart}
        if chart.version:
            chart_spec["version"] = chart.version
        chart_spec["sourceRef"] = {"kind": "HelmRepository", "name": repository_name(chart, stack)}
        spec: dict = {
            "interval": HELM_RELEASE_INTERVAL,
            # Flux's default is <targetNamespace>-<name>; b00t's install scripts name the
            # release after the datum, as `helm list` then finds it
            "releaseName": chart.name,
            "chart": {"spec": chart_spec},
        }
        if chart.namespace:
            spec["targetNamespace"] = chart.namespace
            spec["install"] = {"createNamespace": True}
        if chart.values:
            spec["values"] = chart.values
        metadata: dict = {"name": chart.name, "labels": self.labels(chart.name, chart.datum, stack.name)}
        if annotations:
            metadata["annotations"] = dict(annotations)
        return {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": metadata,
            "spec": spec,
        }

    def stack_resources(self, stack: Stack) -> dict:
        res = stack.resources
        if res.empty:
            return {}
        annotations = {}
        parts = []
        if res.cpu_millis:
            annotations["b00t.io/stack-cpu"] = cpu_quantity(res.cpu_millis)
            parts.append(f"cpu {annotations['b00t.io/stack-cpu']}")
        if res.memory_bytes:
            annotations["b00t.io/stack-memory"] = memory_quantity(res.memory_bytes)
            parts.append(f"memory {annotations['b00t.io/stack-memory']}")
        if res.gpu and res.gpu.count:
            annotations["b00t.io/stack-gpu-count"] = str(res.gpu.count)
            if res.gpu.type:
                annotations["b00t.io/stack-gpu-type"] = res.gpu.type
            parts.append(f"{res.gpu.count} GPU {res.gpu.type}".rstrip())
        self.ctx.cannot_express(
            f"stack-level resource limits ({', '.join(parts)})",
            stack.file,
            res.path,
            help="declare resources on the members",
        )
        return annotations

    def member(
        self,
        member: Member,
        stack: Stack,
        annotations: dict,
        claims: dict[str, dict],
        claim_names: set[str],
        queue: Optional[str],
    ) -> dict:
        file = member.file
        selector = {"app.kubernetes.io/name": member.name, "app.kubernetes.io/part-of": stack.name}
        labels = self.labels(member.name, member.datum, stack.name)
        pod_labels = dict(labels)
        annotations = dict(annotations)

        if member.restart and member.restart.split(":")[0] in ("no", "on-failure"):
            self.ctx.cannot_express(
                f"restart policy {member.restart!r} of member {member.name} "
                "(a Deployment always restarts its pods)",
                file,
                member.restart_path or _DOCKER_ARGS_PATH,
            )
        if member.container_name:
            self.ctx.cannot_express(
                f"container name {member.container_name!r} of member {member.name} "
                f"(a Deployment names its pods {member.name}-<hash>-<id>)",
                file,
                member.container_name_path or _DOCKER_ARGS_PATH,
                help=f"reach it as the Deployment {member.name} or through its Service",
            )

        container = self.container(
            member.name, member.container, member.env, member.resources, file, labels
        )
        if member.ports:
            container["ports"] = [self.port_map(p) for p in member.ports]
        probe = self.readiness(member, stack)
        if probe:
            container["readinessProbe"] = probe
        volumes: list[dict] = []
        mounts: list[dict] = []
        used: set[str] = set()
        for mount in member.mounts:
            volume, volume_mount = self.mount(mount, member, stack, claims, claim_names, used)
            if not any(v["name"] == volume["name"] for v in volumes):
                volumes.append(volume)
            mounts.append(volume_mount)
        if mounts:
            container["volumeMounts"] = mounts

        node_affinity, gpu_annotations = self.gpu_scheduling(member.resources.gpu, file)
        annotations.update(gpu_annotations)
        spec: dict = {}
        orch, where = member.orchestration, file
        if not orch.gpu_affinity:
            orch, where = stack.orchestration, stack.file
        group, path = orch.gpu_affinity, (orch.gpu_affinity_path or orch.path)
        if group:
            if self.label_value("GPU affinity", group, where, path):
                pod_labels["b00t.io/gpu-affinity"] = group
            else:
                annotations.setdefault("b00t.io/gpu-affinity", group)
                group = ""
        affinity = self.affinity(node_affinity, group)
        if affinity:
            spec["affinity"] = affinity
        spec["containers"] = [container]
        if volumes:
            spec["volumes"] = volumes

        deployment_spec: dict = {"replicas": 1, "selector": {"matchLabels": selector}}
        if any("persistentVolumeClaim" in v for v in volumes):
            # a ReadWriteOnce claim cannot be mounted by the old and the new pod at once
            deployment_spec["strategy"] = {"type": "Recreate"}
        deployment_spec["template"] = {"metadata": {"labels": pod_labels}, "spec": spec}
        labels = dict(labels)
        if queue:
            # Kueue admits Deployments through its pod integration: the queue label on the
            # Deployment, propagated to its pods by Kueue's webhook
            labels["kueue.x-k8s.io/queue-name"] = queue
        metadata: dict = {"name": member.name, "labels": labels}
        if annotations:
            metadata["annotations"] = annotations
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata,
            "spec": deployment_spec,
        }

    def port_map(self, port: PortMap) -> dict:
        # host and host_ip publish on the docker host; in a cluster the Service does that
        return {"containerPort": port.container, "protocol": port.protocol.upper()}

    def mount(
        self,
        mount: Mount,
        member: Member,
        stack: Stack,
        claims: dict[str, dict],
        claim_names: set[str],
        used: set[str],
    ) -> tuple[dict, dict]:
        """(pod volume, volumeMount). A named volume becomes a claim of the same
        (DNS-1123) name, 1Gi ReadWriteOnce as kompose makes it; an absolute bind mount a
        hostPath; anything else an emptyDir, which loses the host's files."""
        if mount.kind == "volume":
            claim = claims.get(mount.source)
            if claim is None:
                claim = self.claim(_unique(_dns_label(mount.source), claim_names), mount, stack)
                claims[mount.source] = claim
            name = claim["metadata"]["name"]
            volume: dict = {"name": name, "persistentVolumeClaim": {"claimName": name}}
            used.add(name)
        else:
            base = _dns_label(file_name(mount.source) or "root")
            name = _unique(f"host-{base}"[:63].rstrip("-"), used)
            if mount.source.startswith("/"):
                volume = {"name": name, "hostPath": {"path": mount.source}}
            else:
                self.ctx.cannot_express(
                    f"bind mount of the non-absolute host path {mount.source!r} of member "
                    f"{member.name} (an emptyDir is mounted at {mount.target} instead)",
                    member.file,
                    mount.path,
                    help="use an absolute host path or a named volume",
                )
                volume = {"name": name, "emptyDir": {}}
        volume_mount: dict = {"name": name, "mountPath": mount.target}
        if mount.read_only:
            volume_mount["readOnly"] = True
        return volume, volume_mount

    def readiness(self, member: Member, stack: Stack) -> Optional[dict]:
        """The member's readinessProbe: its ``--health-cmd`` through ``/bin/sh -c`` (an exec
        probe, which the kubelet expands like command and args: escaped) with docker's
        timings (30 s period and timeout, 3 failures, the start period as the initial
        delay); else a TCP connect to the first port of the services it serves, so that
        its Service sends traffic only to a pod that accepts it. None when it has
        neither."""
        h = member.health
        if h is not None:
            secs = lambda ms, default: max(1, -(-(ms or default) // 1000))  # noqa: E731  (ceil, at least 1)
            probe: dict = {"exec": {"command": ["/bin/sh", "-c", escape_expansion(h.cmd)]},
                           "periodSeconds": secs(h.interval_ms, 30_000),
                           "timeoutSeconds": secs(h.timeout_ms, 30_000),
                           "failureThreshold": h.retries or 3}
            if h.start_period_ms:
                probe["initialDelaySeconds"] = secs(h.start_period_ms, 0)
            return probe
        ports = [s.port for s in stack.services if s.member == member.name]
        if ports:
            return {"tcpSocket": {"port": ports[0]}, "periodSeconds": 10}
        return None

    def claim(self, name: str, mount: Mount, stack: Stack) -> dict:
        labels = self.labels(name, f"{stack.name}.stack", stack.name)
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                **({"storageClassName": self.ctx.options["storage_class"]} if self.ctx.options["storage_class"] else {}),
                "resources": {"requests": {"storage": self.ctx.options["volume_size"] or "1Gi"}},
            },
        }

    def service_decl(self, decl: ServiceDecl, stack: Stack, annotations: dict) -> Optional[dict]:
        member = next((m for m in stack.members if m.name == decl.member), None)
        if member is None:
            self.ctx.warn(
                "W0103",
                f"service {decl.name} has no deployable member on target k8s: no Service "
                f"{decl.name} is generated",
                stack.file,
                decl.path,
                help="add a docker member that serves it, or remove the service",
            )
            return None
        protocol = "UDP" if decl.protocol == "udp" else "TCP"
        first = {
            "name": decl.protocol if decl.protocol in ("http", "https") else f"p{decl.port}",
            "protocol": protocol,
            "port": decl.port,
            "targetPort": decl.port,
        }
        return self.service(decl.name, member, stack, [first], annotations, stack.file, decl.path)

    def service(
        self,
        name: str,
        member: Member,
        stack: Stack,
        ports: list[dict],
        annotations: dict,
        file: str,
        path: str,
    ) -> Optional[dict]:
        """A ClusterIP Service selecting the member's pods: the given ports, then the
        member's other container ports."""
        if not _DNS_1035.match(name):
            self.ctx.error(
                "E0601",
                f"{name!r} cannot name a Kubernetes Service (a DNS-1035 label: lower-case "
                "letters, digits and '-', starting with a letter)",
                file,
                path,
                help="rename the service in [b00t.services] (or the member)",
            )
            return None
        ports = list(ports)
        seen = {(p["port"], p["protocol"]) for p in ports}
        for p in member.ports:
            protocol = p.protocol.upper()
            if (p.container, protocol) in seen:
                continue
            seen.add((p.container, protocol))
            suffix = "-udp" if protocol == "UDP" else ""
            ports.append(
                {
                    "name": f"p{p.container}{suffix}",
                    "protocol": protocol,
                    "port": p.container,
                    "targetPort": p.container,
                }
            )
        used: set[str] = set()
        for p in ports:  # one port may be declared over UDP and published over TCP
            base = p["name"]
            unique = base if base not in used else f"{base[:11]}-{p['protocol'].lower()}"
            n = 2
            while unique in used:
                unique, n = f"{base[:12]}-{n}", n + 1
            p["name"] = unique
            used.add(unique)
        metadata: dict = {"name": name, "labels": self.labels(name, member.datum, stack.name)}
        if annotations:
            metadata["annotations"] = dict(annotations)
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata,
            "spec": {
                # -O k8s.service_type; ClusterIP, Kubernetes' default, is left implicit
                **({"type": self.ctx.options["service_type"]}
                   if self.ctx.options["service_type"] not in (None, "ClusterIP") else {}),
                "selector": {
                    "app.kubernetes.io/name": member.name,
                    "app.kubernetes.io/part-of": stack.name,
                },
                "ports": ports,
            },
        }
