"""The compiler's shape, held by tests: the link phase reads each datum once and the passes
read none; backends dispatch by datum kind and answer an unknown kind with a diagnostic; a
node that several outputs include reports once; no import cycle in the package."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

import b00tc.frontend.link as link_module
from b00tc.backends import REGISTRY, Backend, get_backend
from b00tc.backends._context import Context
from b00tc.compiler import BuildRequest, build
from b00tc.diagnostics import Diagnostics
from b00tc.frontend.link import link
from b00tc.ir import DATUM_KINDS, Container, Job, Stack, Unit, kind_of, lit
from b00tc.passes import PIPELINE, PassContext, run
from tests.helpers import TARGETS, compile_

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _two_jobs_one_stack(tmp_path: Path) -> Path:
    """The examples' stack and member, and two jobs that both require the stack."""
    for f in ("llm-inference-pipeline.stack.toml", "n8n.docker.toml", "python.docker.toml"):
        shutil.copy(EXAMPLES / f, tmp_path / f)
    job = (EXAMPLES / "llm-batch-job.job.toml").read_text()
    (tmp_path / "llm-batch-job.job.toml").write_text(job)
    (tmp_path / "second-job.job.toml").write_text(job.replace("llm-batch-job", "second-job"))
    return tmp_path


def test_link_reads_each_datum_file_once(tmp_path, monkeypatch):
    """Two jobs and the stack they both require, built as one folder: the stack and its
    member are read once each (before the link phase each folder context read them once,
    but a stack given on the command line and required by a job was compiled per use)."""
    folder = _two_jobs_one_stack(tmp_path)
    reads: list[str] = []
    real = link_module.read_datum

    def counting(file, text, diags, *args, **kwargs):
        reads.append(Path(file).name)
        return real(file, text, diags, *args, **kwargs)

    monkeypatch.setattr(link_module, "read_datum", counting)
    result = compile_([str(folder)])
    assert result.ok, [d.message for d in result.diags]
    assert sorted(reads) == sorted(
        ["llm-batch-job.job.toml", "second-job.job.toml", "llm-inference-pipeline.stack.toml", "n8n.docker.toml",
         "python.docker.toml"]
    )
    # and both jobs' units carry the one compiled stack
    jobs = [u.datum for u in result.units if isinstance(u.datum, Job)]
    assert len(jobs) == 2 and jobs[0].requires == jobs[1].requires


def test_passes_read_no_file(tmp_path, monkeypatch):
    """Once linked, the program is all the passes need: opening any file during them fails
    the test."""
    folder = _two_jobs_one_stack(tmp_path)
    diags = Diagnostics()
    roots = [(str(p), None) for p in sorted(folder.glob("*.job.toml"))]
    program = link(roots, diags, [], "", tuple(TARGETS))
    assert not diags.errors

    def no_io(*a, **k):
        raise AssertionError(f"a pass opened a file: {a}")

    monkeypatch.setattr("builtins.open", no_io)
    monkeypatch.setattr(Path, "read_bytes", no_io)
    monkeypatch.setattr(Path, "read_text", no_io)
    monkeypatch.setattr("os.listdir", no_io)
    program = run(program, PassContext(diags=diags, targets=tuple(TARGETS)))
    assert not diags.errors
    assert len(program.units()) == 2


def test_pipeline_is_a_tuple_of_the_pass_modules():
    """One module per pass, the function named like the module (house style)."""
    names = [p.__name__ for p in PIPELINE]
    assert names == ["resolve_references", "normalize_resources", "annotate_budget"]
    assert [p.__module__ for p in PIPELINE] == [f"b00tc.passes.{n}" for n in names]


@pytest.mark.parametrize("target", sorted(REGISTRY))
def test_each_declared_kind_has_its_renderer(target):
    backend = get_backend(target)
    assert backend.KINDS, f"{target} declares no datum kind"
    for kind in backend.KINDS:
        assert kind in DATUM_KINDS
        assert callable(getattr(backend, f"render_{kind}", None)), f"{target} lacks render_{kind}"


def test_a_kind_a_backend_does_not_render_is_a_diagnostic():
    """A target asked for a datum kind it does not declare reports E0115 naming the targets
    that do, and renders nothing; it never raises."""

    class JobsOnly(Backend):
        name = "jobs-only"
        KINDS = ("job",)

        def render_job(self, unit, job, ctx):  # pragma: no cover - not reached here
            raise AssertionError("a stack went to render_job")

    stack = Stack(name="s", file="s.stack.toml")
    ctx = Context(target="jobs-only")
    assert JobsOnly().render(Unit(datum=stack), ctx) == []
    (d,) = ctx.diagnostics
    assert (d.code, d.is_error, d.file) == ("E0115", True, "s.stack.toml")
    assert d.message == "target jobs-only does not render a stack datum"
    assert d.help == "targets that do: " + ", ".join(REGISTRY)
    job = Job(name="j", file="j.job.toml", container=Container(image=lit("x")))
    assert kind_of(job) == "job" and kind_of(stack) == "stack"


def test_a_stack_required_by_several_compose_jobs_warns_once(tmp_path):
    """compose writes a stack's members into the stack's own file only (the jobs join its
    network): the stack's GPU-affinity warning (W0301) is one finding for the build, and
    its fact is in the stack's file, not in the jobs'."""
    folder = _two_jobs_one_stack(tmp_path)
    result = compile_([str(folder)], targets=["compose"])
    assert result.ok
    affinity = [d for d in result.diags if d.code == "W0301" and "GPU affinity" in d.message]
    assert len(affinity) == 1, [d.message for d in affinity]
    files = {f.path: f.content for _, f in result.outputs}
    assert len(files) == 3
    assert [p for p, text in files.items() if "b00t.io/gpu-affinity" in text] == \
        ["llm-inference-pipeline.compose.yaml"]


def test_the_direct_targets_report_a_wait_on_an_unserved_service_once(tmp_path):
    """bash and systemd both wait on localhost for the job's services; b00t's own job
    waits for `python:8000`, which no member serves (the examples before issue 15, whose
    python service was b00t's python.cli): one W0103 for the two
    targets, while each target alone reports it too."""
    from tests.helpers import unserved_wait_example

    job = unserved_wait_example(tmp_path)

    def waits(targets):
        r = compile_([job], targets=targets)
        return [d for d in r.diags if d.code == "W0103" and "localhost:8000" in d.message]

    assert len(waits(["bash", "systemd"])) == 1
    assert len(waits(["bash"])) == 1
    assert len(waits(["systemd"])) == 1


def test_a_build_twice_in_one_process_is_the_same():
    """The reporting-once record belongs to one build, not to the process."""
    req = BuildRequest(paths=[str(EXAMPLES)], targets=list(TARGETS))
    a, b = build(req), build(req)
    assert [d.message for d in a.diags] == [d.message for d in b.diags]
    assert a.outputs == b.outputs


def _imports(root: Path) -> dict[str, set[str]]:
    """Every import statement of the package (lazy ones and TYPE_CHECKING ones too)."""
    mods = {}
    for p in root.rglob("*.py"):
        rel = p.relative_to(root.parent).with_suffix("")
        name = ".".join(rel.parts)
        mods[name.removesuffix(".__init__")] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for n in ast.walk(ast.parse(p.read_text())):
            targets = []
            if isinstance(n, ast.ImportFrom) and n.module and not n.level:
                targets = [f"{n.module}.{a.name}" for a in n.names] + [n.module]
            elif isinstance(n, ast.Import):
                targets = [a.name for a in n.names]
            for t in targets:
                if t in mods and t != m:
                    graph[m].add(t)
                    break
    return graph


def test_no_import_cycles():
    """An import cycle means a type lives in the wrong module (the issue that shaped this
    layout found three). Packages importing their own submodules count: a pass importing
    ``b00tc.passes`` while ``b00tc.passes`` imports the pass is a cycle."""
    graph = _imports(ROOT / "b00tc")
    cycles = []
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert cycles == []


def test_modules_stay_small_or_say_why():
    """No module over about 500 lines (530 here) without a reason written at its top (a
    line starting ``Over 500 lines:`` in its docstring)."""
    long = []
    for p in sorted((ROOT / "b00tc").rglob("*.py")):
        text = p.read_text()
        if text.count("\n") > 530 and "Over 500 lines:" not in text[:3000]:
            long.append(f"{p.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert long == []


def test_a_finding_about_a_value_is_reported_once_for_every_target(tmp_path):
    """Only an image's host variables are resolved at build time (k8s and Nomad; their
    env entries, command and args read a Secret or a Variable, systemd's an environment
    file): an unset one is one E0401 for the build (the help names the first target that
    resolves it), not one per target."""
    job = tmp_path / "img.job.toml"
    job.write_text('[b00t]\nname = "img"\ntype = "job"\nimage = "reg/app:${TAG}"\n'
                   'command = ["run"]\n[b00t.env]\nA = "${TAG}"\n')
    r = compile_([str(job)], targets=["nomad", "k8s", "systemd"], env={})
    unset = [d for d in r.diags if d.code == "E0401"]
    assert [d.path for d in unset] == ["$.b00t.image"]
    assert "target nomad" in unset[0].help


def test_the_mcp_profile_help_names_each_orchestrators_real_default():
    """`--mcp-profile`'s help said "kubernetes-mcp (default)" while kubernetes' default is
    mcp-server-kubernetes: the help is held to the orchestrators' DEFAULT_MCP_PROFILE."""
    from click.testing import CliRunner

    from b00tc.cli import cli
    from b00tc.runtime.orchestrators import get

    # click wraps the help and breaks words after a hyphen: read it back unwrapped
    text = " ".join(CliRunner().invoke(cli, ["plan", "--help"]).output.split()).replace("- ", "-")
    for name in ("kubernetes", "docker-compose"):
        default = get(name).DEFAULT_MCP_PROFILE
        assert f"{default} (the default)" in text, (name, default, text)
