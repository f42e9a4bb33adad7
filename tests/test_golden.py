"""Every target's output for every case, kept as real files under golden/ (syrupy), and
the warnings of each case under golden/warnings/. The validators of tests/test_validate.py
judge the same files; `pytest --snapshot-update` rewrites them."""

from __future__ import annotations

import pytest

from tests.helpers import TARGETS, compile_, rendered

D = "tests/data/b00t-datums"
CASES = {
    # the datums of architecture.md, canonical shape
    "examples-llm-batch-job": (["examples/llm-batch-job.job.toml"], []),
    "examples-llm-inference-pipeline": (["examples/llm-inference-pipeline.stack.toml"], []),
    # b00t's real files, as its users write them (legacy shape)
    "real-llm-batch-job": ([f"{D}/llm-batch-job.job.toml"], []),
    "real-llm-inference-pipeline": ([f"{D}/llm-inference-pipeline.stack.toml"], []),
    "real-n8n": ([f"{D}/n8n.docker.toml"], []),
    "real-ollama": ([f"{D}/ollama.docker.toml"], []),
    "real-redis": ([f"{D}/redis.docker.toml"], []),
    "real-phase2-gpu-observability": ([f"{D}/phase2-gpu-observability.stack.toml"], []),
    "older-llm-batch-job": (["tests/data/older/llm-batch-job.job.toml"], [D]),
    # cases written for b00tc
    "hostile-literals": (["tests/cases/hostile-literals.job.toml"], []),
    "host-vars": (["tests/cases/host-vars.job.toml"], []),
    "small": (["tests/cases/small.job.toml"], []),
    "shop": (["tests/cases/shop.stack.toml"], []),
    # Helm chart members (Flux on k8s, skipped elsewhere) beside a docker member
    "observability": (["tests/cases/observability.stack.toml"], []),
}

#: stacks of Helm chart members only: written on k8s, nothing elsewhere (W0104)
CHARTS_ONLY = {"real-phase2-gpu-observability"}


def golden_name(target: str, case: str, path: str, count: int) -> str:
    if count == 1:
        # the datum name is the file's stem up to its extension(s): keep the extensions
        ext = path[path.index(".") :]
        return f"{target}/{case}{ext}"
    return f"{target}/{case}/{path}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, golden):
    paths, includes = CASES[case]
    result = compile_(paths, includes=includes)
    assert result.ok, rendered(result)
    for target in TARGETS:
        outs = [f for t, f in result.outputs if t == target]
        # a stack with no deployable member on a target writes nothing there (W0104)
        assert bool(outs) != (case in CHARTS_ONLY and target != "k8s"), f"{target}: {case}"
        for f in outs:
            assert f.content.endswith("\n") and "\r" not in f.content
            assert f.content == golden(name=golden_name(target, case, f.path, len(outs)))
    assert rendered(result) == golden(name=f"warnings/{case}.txt")


def test_same_input_same_bytes():
    """Two builds of the same input give byte-identical output (and warnings)."""
    for case, (paths, includes) in CASES.items():
        a = compile_(paths, includes=includes)
        b = compile_(paths, includes=includes)
        assert [(t, f) for t, f in a.outputs] == [(t, f) for t, f in b.outputs], case
        assert rendered(a) == rendered(b)


@pytest.mark.parametrize("name", ["llm-batch-job.job.toml", "llm-inference-pipeline.stack.toml"])
def test_legacy_and_canonical_shapes_compile_identically(name):
    """tests/data/canonical/ holds b00t's real legacy files rewritten by hand in the
    canonical shape of datum-language.md. The front end normalises both into one IR, so
    every target's bytes are identical."""
    legacy = compile_([f"{D}/{name}"])
    canonical = compile_([f"tests/data/canonical/{name}"])
    assert legacy.ok and canonical.ok
    assert len(legacy.outputs) == len(canonical.outputs) >= 5
    for (t1, f1), (t2, f2) in zip(legacy.outputs, canonical.outputs):
        assert (t1, f1.path) == (t2, f2.path)
        assert f1.content == f2.content, f"{t1}/{f1.path} differs between the shapes"


def test_real_datums_that_cannot_compile_say_why(snapshot):
    """Of b00t's real files: postgres-dev-stack names two members that were never authored
    (PROVENANCE.md says so), the workflow job is compiled for bash and systemd and gives no
    image for the container targets (E0707 on k8s, compose and Nomad: issue 17), and the
    .mcp/.k8s datums are not buildable types. Each gives its own error, golden-tested."""
    expected = {
        "postgres-dev-stack.stack.toml": ["E0302", "E0302"],
        "mesh3d-cloud.job.toml": ["E0707", "E0707", "E0707"],
        "kubernetes.mcp.toml": ["E0107"],
        "nvidia-gpu-operator.k8s.toml": ["E0107"],
    }
    for name, codes in expected.items():
        result = compile_([f"{D}/{name}"])
        assert not result.ok
        written = sorted({t for t, _ in result.outputs})
        assert written == (["bash", "systemd"] if name == "mesh3d-cloud.job.toml" else [])
        assert [d.code for d in result.diags if d.is_error] == codes, name
        assert rendered(result) == snapshot(name=name)
    missing = compile_([f"{D}/postgres-dev-stack.stack.toml"])
    assert {d.message for d in missing.diags} == {
        "member postgres-enhanced.docker not found on the datum search path",
        "member pgadmin.docker not found on the datum search path",
    }
