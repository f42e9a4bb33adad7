"""The JSON Schema of every datum b00tc reads (job, stack, docker, k8s; both shapes), generated
from the same key table the front end checks datums against (``frontend/spec.py``), so the
schema cannot drift from the compiler. ``schemas/datum.schema.json`` is this output;
tests/test_schema.py fails when the two differ."""

from __future__ import annotations

import json

from b00tc.frontend import spec as S

DNS1123 = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"

_KINDS = {
    S.STR: {"type": "string"},
    S.STRLIST: {"type": "array", "items": {"type": "string"}},
    S.ARGV: {
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
        ]
    },
    S.INT: {"type": "integer"},
    S.NUM: {"type": "number"},
    S.BOOL: {"type": "boolean"},
    S.QTY: {"type": ["number", "string"]},
}

_DESCRIPTIONS = {
    "name": "A DNS-1123 label; the file is <name>.<type>.toml.",
    "cpu": 'Cores: 2, 0.5 or "500m".',
    "memory": 'Bytes, or with a unit: "8Gi", "512Mi", "1G".',
    "gpu_memory": 'GPU memory: "48Gi".',
    "gpu_type": '"<vendor>-<model>", e.g. "nvidia-a100".',
    "members": 'Stack members as "<name>.<type>"; docker members are deployed.',
    "requires_stacks": "Stacks this datum needs running (and may reference).",
    "wait_for_services": '"service:port" of a required stack, waited for before start.',
    "docker_args": "docker run flags: -p, -v, -e, --name, --restart, --gpus.",
    "image": "The container image.",
    "command": "Overrides the image's ENTRYPOINT: a list, or one string as one argument.",
    "args": "Overrides the image's CMD.",
    "chart_path": 'A Helm chart: "<repository-alias>/<chart>" (k8s datums, deployed on k8s only).',
    "namespace": "The namespace the chart is released into (created on install).",
    "values_file": "The chart's values (YAML), beside the datum or on the datum search path.",
    "url": "The Helm repository's URL; else the install script's `helm repo add <alias> <url>`.",
}


def _leaf(name: str, leaf: S.Leaf) -> dict:
    out = dict(_KINDS[leaf.kind])
    if leaf.choices:  # b00t takes any string; b00tc warns on another (W0106)
        out = {"type": "string", "examples": list(leaf.choices)}
    if name == "name":
        out = {"type": "string", "pattern": DNS1123, "maxLength": 63}
    if name in _DESCRIPTIONS:
        out["description"] = _DESCRIPTIONS[name]
    return out


def _env() -> dict:
    return {
        "type": "object",
        "description": "Environment variables: string values, with ${STACK:...} references "
        "and ${VAR} host variables; $$ is a literal $.",
        "propertyNames": {"pattern": ENV_NAME},
        "additionalProperties": {"type": "string"},
    }


def _services() -> dict:
    return {
        "type": "object",
        "propertyNames": {"pattern": DNS1123, "maxLength": 63},
        "additionalProperties": {
            "type": "object",
            "properties": {
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "protocol": {"type": "string", "pattern": "^[a-z][a-z0-9+.-]*$", "default": "http"},
            },
            "required": ["port"],
            "additionalProperties": False,
        },
    }


def _table(table: S.Table, informational: bool = True) -> dict:
    props: dict = {}
    required = []
    for key, sub in table.keys.items():
        if isinstance(sub, S.Table):
            props[key] = _table(sub)
        elif isinstance(sub, S.EnvMap):
            props[key] = _env()
        elif isinstance(sub, S.Services):
            props[key] = _services()
        else:
            props[key] = _leaf(key, sub)
            if sub.required:
                required.append(key)
    for key in sorted(table.ignored | (S.INFORMATIONAL if informational else frozenset())):
        props.setdefault(key, {"description": "informational: accepted and ignored"})
    for key in sorted(table.b00t or ()):
        props.setdefault(key, {"description": "read by b00t; b00tc ignores it"})
    # an unknown key is an error in a table b00tc defines, a warning (W0105) in one of
    # b00t's: an editor flags both
    out: dict = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _datum(kind: str, table: S.Table) -> dict:
    b00t = _table(table)
    b00t["properties"]["type"] = {"const": kind}
    if kind == "job":
        # the image is under [b00t.container] (canonical) or [b00t] (legacy)
        b00t["anyOf"] = [
            {"required": ["container"], "properties": {"container": {"required": ["image"]}}},
            {"required": ["image"]},
        ]
        b00t["not"] = {"required": ["job"]}
    elif kind == "docker":
        b00t["anyOf"] = [
            {"required": ["image"]},
            {"required": ["oci_uri"]},
            {"required": ["container"], "properties": {"container": {"required": ["image"]}}},
        ]
    props = {"b00t": b00t, "env": _env()}
    for key in sorted(set(S.TOP_LEVEL_KEYS) - set(props)):
        props[key] = {"description": "read by b00t; b00tc ignores it"}
    for key in sorted(S.INFORMATIONAL):
        props[key] = {"description": "informational: accepted and ignored"}
    return {
        "title": f"b00t {kind} datum",
        "type": "object",
        "properties": props,
        "required": ["b00t"],
        "additionalProperties": False,
    }


def datum_schema() -> dict:
    kinds = [(k, S.BY_TYPE[k]) for k in ("job", "stack", "docker")] + list(S.MEMBER_TYPES.items())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "b00t datum, as b00tc reads it",
        "description": "A job, stack or docker datum, in the canonical or the legacy shape, or a "
        "k8s datum (a Helm chart stack member). "
        "Generated by `b00tc schema` from b00tc's own key table.",
        "type": "object",
        "required": ["b00t"],
        "properties": {"b00t": {"type": "object", "required": ["name", "type"]}},
        "oneOf": [
            {
                "if": {"properties": {"b00t": {"properties": {"type": {"const": k}}}}},
                "then": _datum(k, t),
                "else": False,
            }
            for k, t in kinds
        ],
        "$comment": "One branch per datum type, chosen by [b00t] type.",
    }


def render() -> str:
    return json.dumps(datum_schema(), indent=2, ensure_ascii=False) + "\n"
