"""Strict reading of an OpenAPI/JSON schema for objects the API server prunes: the paths of
``data`` that no ``properties`` (or ``additionalProperties`` schema) of ``schema``
declares. jsonschema accepts them (the schemas of CRDs and of Argo do not forbid unknown
fields); the API server drops them, so a field b00tc writes there would be lost. Used by
tests/flux.py (Flux's CRDs) and tests/argo.py (Argo's schema)."""

from __future__ import annotations

from typing import Callable


def undeclared(data, schema: dict, path: str = "$", resolve: Callable[[dict], dict] = lambda s: s) -> list[str]:
    """``resolve`` follows a ``$ref`` (Argo's definitions); a schema with
    ``x-kubernetes-preserve-unknown-fields`` keeps whatever is under it (Flux's values)."""
    schema = resolve(schema)
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    out = []
    if isinstance(data, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for k, v in data.items():
            if props is not None and k in props:
                out += undeclared(v, props[k], f"{path}.{k}", resolve)
            elif isinstance(extra, dict):
                out += undeclared(v, extra, f"{path}.{k}", resolve)
            elif props is not None or extra is False:
                out.append(f"{path}.{k}")
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(data):
            out += undeclared(item, schema["items"], f"{path}[{i}]", resolve)
    return out
