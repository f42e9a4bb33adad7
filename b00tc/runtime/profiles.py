"""The MCP servers b00tc generates tool calls for, and the arguments each tool accepts.

Each profile is checked against the ``input_schema`` the real server reports in
``tools/list`` (tests/test_mcp.py installs the servers and validates with jsonschema), except
the seed's ``kubernetes-mcp``, which is the design's name for a kubectl_apply server.
"""

from __future__ import annotations

import re
from typing import Optional

from b00tc.diagnostics import did_you_mean
from b00tc.runtime.model import CallOptions, Profile, UnknownProfile


def split_documents(text: str) -> list[str]:
    """The YAML documents of a multi-document manifest, as text (byte for byte, without
    the separators and the leading comment lines)."""
    docs = []
    for chunk in re.split(r"(?m)^---[ \t]*\n", text):
        body = "\n".join(line for line in chunk.splitlines() if not line.startswith("#")).strip()
        if body:
            docs.append(body + "\n")
    return docs


def _kubectl_apply(text: str, o: CallOptions) -> list[dict]:
    return [{"manifest": text, "namespace": o.namespace}]


def _kubectl_apply_context(text: str, o: CallOptions) -> list[dict]:
    args: dict = {"manifest": text, "namespace": o.namespace}
    if o.context:
        args["context"] = o.context
    return [args]


def _kubectl_apply_dry_run(text: str, o: CallOptions) -> list[dict]:
    args: dict = {"manifest": text, "namespace": o.namespace}
    if o.context:
        args["context"] = o.context
    if o.dry_run:
        args["dryRun"] = True
    return [args]


def _create_or_update(text: str, o: CallOptions) -> list[dict]:
    # this server takes one resource a call; the namespace is the manifest's (or the
    # context's default): b00tc's manifests name none
    return [{"resource": doc} for doc in split_documents(text)]


def _compose_up(text: str, o: CallOptions) -> list[dict]:
    return [{"command": "up -d", "filePath": o.file_path, "projectName": o.project}]


def _run_job(text: str, o: CallOptions) -> list[dict]:
    # the job file as it is: the server sends HCL to Nomad's /v1/jobs/parse, then registers
    # the job it gets back (detach: Nomad's API never waits; the CLI's monitor is not run)
    return [{"job_spec": text, "detach": True}]


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "kubernetes-mcp", "kubernetes", "kubernetes-mcp",
            "the design's kubernetes-mcp server (b00t's k8s subsystem)",
            ("b00t-mcp", "kubernetes"), "kubectl_apply", _kubectl_apply, ("b00t-mcp",),
        ),
        Profile(
            "kubernetes-mcp-server", "kubernetes", "kubernetes-mcp-server",
            "npm kubernetes-mcp-server",
            ("npx", "-y", "kubernetes-mcp-server"), "resources_create_or_update", _create_or_update,
            ("kubernetes-mcp-server",),
        ),
        Profile(
            "kubectl-mcp-server", "kubernetes", "kubectl-mcp-server",
            "PyPI kubectl-mcp-server (command kubectl-mcp)",
            ("kubectl-mcp",), "kubectl_apply", _kubectl_apply_context, ("kubectl-mcp-server", "kubectl-mcp"),
        ),
        Profile(
            "mcp-server-kubernetes", "kubernetes", "mcp-server-kubernetes",
            "npm mcp-server-kubernetes",
            ("npx", "-y", "mcp-server-kubernetes"), "kubectl_apply", _kubectl_apply_dry_run,
            ("mcp-server-kubernetes",),
        ),
        Profile(
            "docker-mcp-server", "docker-compose", "docker-mcp-server",
            "npm @0xshariq/docker-mcp-server (runs docker-compose -f FILE -p PROJECT COMMAND)",
            ("npx", "-y", "@0xshariq/docker-mcp-server"), "docker-compose", _compose_up,
            ("@0xshariq/docker-mcp-server",),
        ),
        Profile(
            "mcp-nomad", "nomad", "mcp-nomad",
            "npm @kocierik/mcp-nomad-<os>-<cpu> (its bin/mcp-nomad; NOMAD_ADDR, NOMAD_TOKEN)",
            ("mcp-nomad", "-transport", "stdio"), "run_job", _run_job,
            ("@kocierik/mcp-nomad-linux-x64", "@kocierik/mcp-nomad-linux-arm64", "@kocierik/mcp-nomad-darwin-x64",
             "@kocierik/mcp-nomad-darwin-arm64", "@kocierik/mcp-nomad", "mcp-nomad"),
        ),
    )
}

#: package (npm, PyPI) or command -> the profile of the server it starts (mcp_datums)
PACKAGES: dict[str, str] = {start: p.name for p in PROFILES.values() for start in p.starts}


def for_orchestrator(orchestrator: str, name: Optional[str], default: Optional[str]) -> Optional[Profile]:
    """The profile to use for ``orchestrator`` (None: no MCP server fits; use the shell
    commands): ``name``, else its ``default`` (the orchestrator's DEFAULT_MCP_PROFILE).
    ``name`` "none" turns MCP calls off."""
    if name == "none":
        return None
    if name is None:
        return PROFILES[default] if default else None
    p = PROFILES.get(name)
    if p is None:
        guess = did_you_mean(name, list(PROFILES))
        raise UnknownProfile(
            f"unknown MCP profile {name!r}" + (f" (did you mean {guess!r}?)" if guess else "")
            + f"; choose from {', '.join(PROFILES)} or none"
        )
    if p.orchestrator != orchestrator:
        # a kubernetes profile says nothing about compose: that one keeps its default
        return for_orchestrator(orchestrator, None, default)
    return p
