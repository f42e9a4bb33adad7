"""Argo Workflows objects judged by Argo's own JSON schema (schemas/argo-workflows.schema.json,
PROVENANCE.md): a Workflow against ``#/definitions/io.argoproj.workflow.v1alpha1.Workflow``
with ``jsonschema``, and strictly: the schema does not forbid unknown fields, so a field no
definition declares is an error here (the API server would prune it; kubernetes-validate
knows no Argo kinds)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from tests.strict_schema import undeclared

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "argo-workflows.schema.json"
GROUP = "argoproj.io"
KINDS = {("argoproj.io/v1alpha1", "Workflow"): "io.argoproj.workflow.v1alpha1.Workflow"}


def is_argo(doc: dict) -> bool:
    return doc.get("apiVersion", "").split("/")[0] == GROUP


@lru_cache(maxsize=None)
def _schema() -> dict:
    return json.loads(SCHEMA.read_text())


def _resolve(schema: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = _schema()["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def validate(doc: dict) -> None:
    """jsonschema.ValidationError or AssertionError when ``doc`` is not a valid object of
    its Argo kind."""
    import jsonschema

    name = KINDS[(doc["apiVersion"], doc["kind"])]
    root = _schema()
    schema = {"$ref": f"#/definitions/{name}", "definitions": root["definitions"]}
    jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)
    extra = undeclared(doc, {"$ref": f"#/definitions/{name}"}, "$", resolve=_resolve)
    assert not extra, f"fields Argo's schema does not declare: {extra}"
    check_workflow(doc)


def check_workflow(doc: dict) -> None:
    """What the schema does not say: the entrypoint and every task's template exist, names
    are unique, ``depends`` names tasks of the DAG, and no string outside ``when`` holds
    an Argo expression b00tc did not mean."""
    spec = doc["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    assert len(templates) == len(spec["templates"]), "two templates of one name"
    assert spec["entrypoint"] in templates
    if "onExit" in spec:
        assert spec["onExit"] in templates
    for t in spec["templates"]:
        tasks = t.get("dag", {}).get("tasks", [])
        names = [task["name"] for task in tasks]
        assert len(set(names)) == len(names), "two tasks of one name"
        for task in tasks:
            assert task["template"] in templates, task
            for word in task.get("depends", "").replace("(", " ").replace(")", " ").split():
                if word not in ("&&", "||", "!"):
                    assert word.rsplit(".", 1)[0] in names, (task["name"], word)
        for group in t.get("steps", []):
            for step in group:
                assert step["template"] in templates, step

    def strings(x, path):
        if isinstance(x, dict):
            for k, v in x.items():
                yield from strings(v, f"{path}.{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                yield from strings(v, f"{path}[{i}]")
        elif isinstance(x, str):
            yield path, x

    for path, text in strings(spec, "$.spec"):
        if "{{" in text:
            assert path.endswith(".when") and text == "{{workflow.status}} != Succeeded", (path, text)
