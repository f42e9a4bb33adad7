"""``b00tc graph``: a workflow's steps (depends_on, the sequential order, conditions, the
rollback subgraph) and a stack's members, included and required stacks, as Mermaid and
DOT; the same bytes for the same input; hostile names that cannot break either syntax
(DOT parsed by Graphviz's ``dot`` when it is installed, Mermaid checked line by line);
diagnostics and exit 1 with nothing on stdout for bad input; ``plan`` names the command."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_workflow import step, workflow

ROOT = Path(__file__).resolve().parent.parent


def b00tc(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "b00tc", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(text)
    return p


HOSTILE = 'a "q" [x] {y} (z) |p| <b> ;`t`# é 日本 end\nsecond -->|line| \\ %% --> n1'

#: the lines Mermaid's flowchart grammar takes, as graph writes them: every label is one
#: quoted string holding no quote, bracket, pipe, '#' or ';' but in entity codes (#34;)
LABEL = r'"(?:[^"\[\]{}|<>`#;\n]|#\d+;)*"'
MERMAID_LINE = re.compile(
    r"^(flowchart TD"
    rf"|\s+subgraph c\d+\[{LABEL}\]"
    r"|\s+end"
    rf"|\s+n\d+(\[{LABEL}\]|\({LABEL}\)|\(\[{LABEL}\]\)|\[\({LABEL}\)\])"
    rf"|\s+n\d+ (-->|-\.->)(\|{LABEL}\|)? n\d+)$"
)


def mermaid_ok(text: str) -> None:
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    for line in lines:
        assert MERMAID_LINE.match(line.replace("<br>", "")), line
    opened = sum(1 for line in lines if line.lstrip().startswith("subgraph "))
    assert opened == sum(1 for line in lines if line.strip() == "end")


def dot_ok(text: str) -> None:
    if not shutil.which("dot"):
        pytest.skip("Graphviz (dot) is not installed")
    p = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, timeout=60)
    assert p.returncode == 0 and not p.stderr, p.stderr.decode()
    assert b"<svg" in p.stdout


def test_dag_workflow_steps_edges_conditions_and_rollback(tmp_path):
    write(tmp_path, "wf.job.toml", workflow(
        step("build", "make"),
        step("test", "make test", depends_on=["build"]),
        step("lint", "make lint", depends_on=["build"]),
        step("report", "echo done", depends_on=["test", "lint"], when="always", script="test -f out"),
        mode="dag", config="rollback_on_failure = true",
        rollback=[step("undo", "make clean"), step("notify", "echo undone")]))
    r = b00tc("graph", "wf.job.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == """flowchart TD
  subgraph c1["workflow wf (dag)"]
    n1["build<br>(bash)"]
    n2["test<br>(bash)"]
    n3["lint<br>(bash)"]
    n4["report<br>(bash)<br>when: always<br>if: test -f out"]
    subgraph c2["rollback"]
      n5("undo<br>(rollback, bash)")
      n6("notify<br>(rollback, bash)")
    end
  end
  n1 --> n2
  n1 --> n3
  n2 -->|"always"| n4
  n3 -->|"always"| n4
  n5 --> n6
  n4 -.->|"on failure"| n5
"""
    mermaid_ok(r.stdout)
    d = b00tc("graph", "wf.job.toml", "--format", "dot", cwd=tmp_path)
    assert d.returncode == 0, d.stderr
    assert "subgraph cluster_c2 {" in d.stdout and 'n2 -> n4 [label="always"];' in d.stdout
    assert 'n4 -> n5 [label="on failure", style=dashed];' in d.stdout
    dot_ok(d.stdout)


def test_sequential_order_is_drawn_and_unrun_rollback_is_said(tmp_path):
    write(tmp_path, "wf.job.toml", workflow(
        step("one", "true"), step("two", "true"), step("three", "true", when="on_failure"),
        rollback=[step("undo", "true")]))
    r = b00tc("graph", "wf.job.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "  n1 --> n2\n" in r.stdout and '  n2 -->|"on_failure"| n3\n' in r.stdout
    assert "rollback (not run: rollback_on_failure is not set)" in r.stdout
    mermaid_ok(r.stdout)


def test_same_input_same_bytes(tmp_path):
    write(tmp_path, "wf.job.toml", workflow(*(step(f"s{i}", "true", depends_on=[f"s{i - 1}"] if i else ())
                                              for i in range(12)), mode="dag"))
    outs = {b00tc("graph", "wf.job.toml", "--format", f, cwd=tmp_path).stdout for f in ("dot",) * 3}
    assert len(outs) == 1
    outs = {b00tc("graph", "wf.job.toml", cwd=tmp_path).stdout for _ in range(3)}
    assert len(outs) == 1


def test_hostile_step_names_break_neither_syntax(tmp_path):
    other = "x\"]\n}; digraph { evil"
    write(tmp_path, "wf.job.toml", workflow(
        step(HOSTILE, "true", description="d"),
        step(other, "true", depends_on=[HOSTILE], script='[ "$A" = "]" ] && echo "|"'),
        mode="dag", config="rollback_on_failure = true", rollback=[step("un\"do\n[", "true")]))
    r = b00tc("graph", "wf.job.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    mermaid_ok(r.stdout)
    assert "#34;q#34; #91;x#93; #123;y#125; (z) #124;p#124; #60;b#62; #59;#96;t#96;#35; é 日本 end<br>second" in r.stdout
    d = b00tc("graph", "wf.job.toml", "--format", "dot", cwd=tmp_path)
    assert d.returncode == 0, d.stderr
    assert '\\"q\\" [x] {y} (z) |p| <b> ;`t`# é 日本 end\\nsecond -->|line| \\\\ %% --> n1' in d.stdout
    # three step nodes, one edge between them and one to the rollback: no name made more
    assert len(re.findall(r"^\s+n\d+ \[label=", d.stdout, re.M)) == 3
    assert len(re.findall(r"^\s+n\d+ -> n\d+", d.stdout, re.M)) == 2
    dot_ok(d.stdout)


def test_stack_members_included_and_required_stacks(tmp_path):
    for name, image in (("web", "nginx:1"), ("db", "postgres:16"), ("cache", "redis:7")):
        write(tmp_path, f"{name}.docker.toml", f'[b00t]\nname = "{name}"\ntype = "docker"\nimage = "{image}"\n')
    write(tmp_path, "shared.stack.toml", '[b00t]\nname = "shared"\ntype = "stack"\nmembers = ["cache.docker"]\n')
    write(tmp_path, "data.stack.toml", '[b00t]\nname = "data"\ntype = "stack"\nmembers = ["db.docker"]\n')
    write(tmp_path, "app.stack.toml", '[b00t]\nname = "app"\ntype = "stack"\nmembers = ["web.docker", "data.stack"]\n'
          '[b00t.dependencies]\nrequires_stacks = ["shared"]\n')
    r = b00tc("graph", "app.stack.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    mermaid_ok(r.stdout)
    assert '(["stack app"])' in r.stdout and '(["stack data"])' in r.stdout and '(["stack shared"])' in r.stdout
    assert '["web<br>(container: nginx:1)"]' in r.stdout and '["db<br>(container: postgres:16)"]' in r.stdout
    assert '["cache<br>(container: redis:7)"]' in r.stdout
    edges = [line.strip() for line in r.stdout.splitlines() if "->" in line]
    assert sum('|"includes"|' in e for e in edges) == 1 and sum('-.->|"requires"|' in e for e in edges) == 1
    assert sum('|"member"|' in e for e in edges) == 3
    dot_ok(b00tc("graph", "app.stack.toml", "--format", "dot", cwd=tmp_path).stdout)


def test_container_job_with_required_stack(tmp_path):
    r = b00tc("graph", "-I", ROOT / "examples", ROOT / "examples" / "llm-batch-job.job.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    mermaid_ok(r.stdout)
    assert 'job llm-batch-job<br>(container: ghcr.io/my-org/llm-batch-processor:latest)' in r.stdout
    assert '-.->|"requires"|' in r.stdout and '-.->|"waits for n8n:5678"|' in r.stdout


def test_bad_input_is_diagnosed_and_writes_nothing(tmp_path):
    write(tmp_path, "wf.job.toml", workflow(step("a", "true", depends_on=["nope"]), mode="dag"))
    r = b00tc("graph", "wf.job.toml", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert "error[" in r.stderr and "nope" in r.stderr
    r = b00tc("graph", "missing.job.toml", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == "" and "E0002" in r.stderr
    r = b00tc("graph", "wf.job.toml", "--format", "svg", cwd=tmp_path)
    assert r.returncode == 2 and "mermaid" in r.stderr


def test_plan_names_the_graph_command(tmp_path):
    write(tmp_path, "wf.job.toml", workflow(step("a", "true")))
    r = b00tc("plan", "wf.job.toml", "--orchestrator", "direct", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "\ngraph: b00tc graph wf.job.toml\n" in r.stdout


def test_b00t_workflows_draw_or_name_the_steps_b00tc_cannot_run(tmp_path):
    """b00t's own workflows: each draws (DOT that Graphviz reads), or fails only on steps
    whose task needs b00t's runtime (E0704) or is of a type b00t does not know (E0706),
    with nothing on stdout."""
    corpus = ROOT / "tests" / "data" / "b00t-corpus"
    drawn = 0
    for f in sorted(corpus.glob("*.job.toml")):
        if "[[b00t.job.steps]]" not in f.read_text():
            continue
        r = b00tc("graph", f, "--format", "dot", cwd=tmp_path)
        if r.returncode == 0:
            drawn += 1
            dot_ok(r.stdout)
        else:
            assert r.stdout == "" and set(re.findall(r"error\[(E\d+)\]", r.stderr)) <= {"E0704", "E0706"}, (f, r.stderr)
    assert drawn >= 8
