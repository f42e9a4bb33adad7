"""Compiling in-process for tests, with a controlled host environment."""

from __future__ import annotations

from b00tc.compiler import BuildRequest, BuildResult, build
from b00tc.diagnostics import render_text

TARGETS = ["k8s", "compose", "nomad", "bash", "systemd"]

#: the host variables golden builds see (never the test runner's own environment)
GOLDEN_ENV = {
    "N8N_BASIC_AUTH_PASSWORD": "golden-secret",
    "REQUIRED_TOKEN": "tok$en %i \"q\"",
    "CHECKED": "staging",
}


def compile_(paths, targets=TARGETS, includes=(), env=None, strict=False) -> BuildResult:
    return build(
        BuildRequest(
            paths=list(paths),
            targets=list(targets),
            includes=list(includes),
            host_env=dict(GOLDEN_ENV if env is None else env),
            strict=strict,
        )
    )


def rendered(result: BuildResult) -> str:
    return "\n\n".join(render_text(d, result.diags.sources) for d in result.diags) + (
        "\n" if result.diags else ""
    )


def files(result: BuildResult, target: str) -> dict[str, str]:
    return {f.path: f.content for t, f in result.outputs if t == target}


def unserved_wait_example(folder) -> str:
    """The examples as they were before issue 15: the stack's python service is b00t's
    python.cli member, which no container target deploys, and the job waits for
    python:8000. Written into ``folder``; returns the job's path."""
    import shutil
    from pathlib import Path

    examples = Path(__file__).resolve().parent.parent / "examples"
    folder = Path(folder)
    for name in ("llm-batch-job.job.toml", "n8n.docker.toml"):
        shutil.copy(examples / name, folder / name)
    stack = (examples / "llm-inference-pipeline.stack.toml").read_text()
    (folder / "llm-inference-pipeline.stack.toml").write_text(
        stack.replace('members = ["python.docker", "n8n.docker"]', 'members = ["python.cli", "n8n.docker"]'))
    return str(folder / "llm-batch-job.job.toml")
