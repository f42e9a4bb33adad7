"""The target options' table (pure data: the backends' Context reads its defaults, and
b00tc.target_options reads values for it from the command line and the config file)."""

from __future__ import annotations

import re
from typing import Callable, NamedTuple, Optional

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?\Z")
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?\Z")
_NOMAD_NAME = re.compile(r"[A-Za-z0-9*][-A-Za-z0-9_.*]{0,127}\Z")


def _one_of(*choices: str) -> Callable[[str], Optional[str]]:
    def check(value: str) -> Optional[str]:
        return None if value in choices else f"one of {', '.join(choices)}"
    check.choices = choices  # type: ignore[attr-defined]
    return check


def _matching(pattern: re.Pattern, what: str) -> Callable[[str], Optional[str]]:
    def check(value: str) -> Optional[str]:
        return None if pattern.match(value) else what
    return check


class Option(NamedTuple):
    target: str
    key: str
    #: the value when none is given; None: the output leaves the field out (the
    #: orchestrator's own default then applies, as the help says)
    default: Optional[str]
    #: None when the value is good, else what a good value is
    check: Callable[[str], Optional[str]]
    help: str
    #: a comma-separated list (given as a TOML array in the config file)
    is_list: bool = False


OPTIONS: tuple[Option, ...] = (
    Option("k8s", "namespace", None, _matching(_DNS_LABEL, "a DNS-1123 label (a-z, 0-9, '-', at most 63)"),
           "metadata.namespace of every object; unset: the namespace of kubectl's context"),
    Option("k8s", "service_type", "ClusterIP", _one_of("ClusterIP", "NodePort", "LoadBalancer"),
           "spec.type of every Service"),
    Option("k8s", "image_pull_policy", None, _one_of("Always", "IfNotPresent", "Never"),
           "imagePullPolicy of every container; unset: Kubernetes' (Always for :latest, else IfNotPresent)"),
    Option("k8s", "storage_class", None, _matching(_DNS_LABEL, "a StorageClass name (a DNS-1123 label)"),
           "storageClassName of every PersistentVolumeClaim; unset: the cluster's default StorageClass"),
    Option("k8s", "volume_size", "1Gi", _matching(_QUANTITY, "a quantity such as 512Mi, 10Gi"),
           "the storage every PersistentVolumeClaim requests"),
    Option("k8s", "gpu_label", "nvidia.com/gpu.product",
           _matching(_LABEL_KEY, "a label key such as nvidia.com/gpu.product"),
           "the node label a gpu_type selects on: NVIDIA GPU Feature Discovery's by default (the "
           "model mapped to its product names); another key takes gpu_type as written"),
    Option("nomad", "datacenters", "*", _matching(_NOMAD_NAME, "datacenter names or globs (a-z, 0-9, -_.*)"),
           "the job's datacenters (globs allowed); default: every datacenter", is_list=True),
    Option("nomad", "namespace", None, _matching(_NOMAD_NAME, "a Nomad namespace name"),
           "the job's namespace; unset: the default namespace (or NOMAD_NAMESPACE at run time)"),
)

_BY_KEY = {(o.target, o.key): o for o in OPTIONS}


class Options(dict):
    """One target's options: given values over the defaults (``opts["namespace"]``: the
    value, or None when unset and without a default)."""

    def __missing__(self, key: str) -> Optional[str]:
        return None


def defaults(target: str) -> Options:
    return Options({o.key: o.default for o in OPTIONS if o.target == target})
