"""Flux objects judged by the CRDs of schemas/ (PROVENANCE.md): each HelmRepository and
HelmRelease b00tc writes against ``spec.versions[].schema.openAPIV3Schema`` of its
apiVersion's version, with ``jsonschema``, and strictly: a field the schema does not
declare is an error, as the API server prunes it (kubernetes-validate knows no CRDs)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tests.strict_schema import undeclared

import yaml

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

#: (apiVersion, kind) -> the CRD file
CRDS = {
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"): "flux-helmreleases.crd.yaml",
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"): "flux-helmrepositories.crd.yaml",
}
GROUPS = {"helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io"}


def is_flux(doc: dict) -> bool:
    return doc.get("apiVersion", "").split("/")[0] in GROUPS


@lru_cache(maxsize=None)
def schema_of(api_version: str, kind: str) -> dict:
    crd = yaml.safe_load((SCHEMAS / CRDS[(api_version, kind)]).read_text())
    group, version = api_version.split("/")
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind
    (v,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    assert v["served"]
    return v["schema"]["openAPIV3Schema"]


def validate(doc: dict) -> None:
    """jsonschema.ValidationError or AssertionError when ``doc`` is not a valid object of
    its CRD version."""
    import jsonschema

    schema = schema_of(doc["apiVersion"], doc["kind"])
    jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)
    # metadata is ObjectMeta, which the CRD leaves open: checked here
    assert set(doc["metadata"]) <= {"name", "namespace", "labels", "annotations"}, doc["metadata"]
    extra = undeclared({k: v for k, v in doc.items() if k != "metadata"}, schema, "$")
    assert not extra, f"fields the CRD does not declare: {extra}"
