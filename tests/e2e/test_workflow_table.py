"""Issue 17's "same observable table": one workflow job, observed on bash, systemd, compose and
the Argo form; which steps ran (and how they ended), whether the two independent steps ran
at once, and the final status.

The workflow (``DAG``, mode ``dag``, ``rollback_on_failure``): ``a`` and ``b`` independent
(one second each), ``c`` after both, ``fail`` after ``c`` (exit 7), ``after`` after ``fail``
(must not run), ``cleanup`` after ``fail`` with ``when = "always"``, ``alert`` after ``fail``
with ``when = "on_failure"``, and the rollback step ``undo``. Each step appends ``NAME start
T`` and ``NAME end T`` (bash's ``$EPOCHREALTIME``) to ``events`` in the workspace; a step
that fails writes no ``end``. A second, small ``sequential`` workflow (``SEQ``) succeeds.

How each column is observed:
- **bash**: the script b00tc writes, run for real in a temporary workspace.
- **systemd**: PID 1 is not systemd here. The units b00tc writes pass ``systemd-analyze
  verify`` (when systemd is installed) and are run through the model of systemd's job
  engine of tests/test_workflow_host.py (``Manager``: Requires/Wants/After/OnFailure/
  ExecCondition; the Exec lines run for real). The model runs one unit at a time, so the
  concurrency cell is read from the units (no ``After=`` between ``a`` and ``b``: systemd
  starts both jobs at once); a failed target is what ``systemctl`` reports as status 1.
- **compose**: ``b00tc deploy --orchestrator docker-compose`` for real on the private e2e
  Docker engine (tests/e2e/conftest.py), with the bash image of test_workflow_compose.py;
  each step's outcome is its container's exit code (``docker inspect``; created and never
  started: not run), the workspace read back from the project's volume. After a failure the
  deploy itself runs, once ``up`` has ended, the ``always`` step kept out by the failure
  (``up --no-deps cleanup``), the ``on_failure`` step (``--profile on-failure up --no-deps
  alert``) and the rollback (``--profile rollback up undo``), as the file's ``x-b00tc``
  names them.
- **Argo**: no controller here. ``argo_model`` is a small interpreter of the rendered
  Workflow (see its docstring): a model, not Argo.

The cells the contract requires to agree are asserted equal; each documented divergence
(README "Workflow jobs", W0301) is asserted exactly as documented, so that a silent change
fails. The table is printed at the end of the run (conftest.pytest_terminal_summary) and is
in README's "Workflow jobs" section.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests import argo
from tests.e2e import machine
from tests.e2e.probe import table
from tests.e2e.test_workflow_compose import bash_engine  # noqa: F401  (the fixture: the engine with the bash image)
from tests.test_workflow import check_script, compile_text, step, workflow
from tests.test_workflow_host import Manager, verify

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/bash:test"  # built by test_workflow_compose.bash_engine

LOG = 'echo "{n} start $EPOCHREALTIME" >> events; {body}; echo "{n} end $EPOCHREALTIME" >> events'


def st(name: str, body: str = "true", **kw) -> str:
    return step(name, LOG.format(n=name, body=body), **kw)


def with_image(text: str) -> str:
    return text.replace('description = "a test workflow"', f'description = "a test workflow"\nimage = "{IMAGE}"', 1)


DAG = with_image(workflow(
    st("a", "sleep 1"), st("b", "sleep 1"), st("c", depends_on=["a", "b"]),
    st("fail", "exit 7", depends_on=["c"]), st("after", depends_on=["fail"]),
    st("cleanup", depends_on=["fail"], when="always"),
    st("alert", depends_on=["fail"], when="on_failure"),
    mode="dag", config="rollback_on_failure = true", rollback=[st("undo")], name="wftable"))
SEQ = with_image(workflow(st("one"), st("two"), st("three"), name="wfseq"))
STEPS = ["a", "b", "c", "fail", "after", "cleanup", "alert", "undo"]
SEQ_STEPS = ["one", "two", "three"]
#: continue_on_failure: x fails, y runs anyway on the targets that can say so
COF = with_image(workflow(st("x", "exit 4"), st("y"), config="continue_on_failure = true", name="wfcof"))
COF_STEPS = ["x", "y"]
OK, NOT_RUN = "ran/ok", "not run"


def failed(code) -> str:
    return f"ran/failed({code})"


@dataclass
class Obs:
    """One target's observation of one workflow."""
    cells: dict[str, str]  # step -> OK, failed(N), NOT_RUN
    events: list[tuple[str, str, float]] = field(default_factory=list)  # (step, start|end, time)
    final: str = ""

    def span(self, name: str) -> tuple[float, float]:
        start = [t for n, e, t in self.events if n == name and e == "start"]
        end = [t for n, e, t in self.events if n == name and e == "end"]
        return start[0], (end or start)[-1]  # a failed step writes no end

    def overlap(self, x: str, y: str) -> bool:
        (s1, e1), (s2, e2) = self.span(x), self.span(y)
        return s1 < e2 and s2 < e1

    def order(self) -> list[str]:
        """Steps by start time."""
        return [n for n, e, _ in sorted(self.events, key=lambda x: x[2]) if e == "start"]


def read_events(text: str) -> list[tuple[str, str, float]]:
    out = []
    for line in text.splitlines():
        name, what, t = line.split()
        out.append((name, what, float(t)))
    return out


def built(text: str, folder: Path, target: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    r = compile_text(text, folder, target, name=re.search(r'name = "(\w+)"', text).group(1))
    assert r.ok, [d.message for d in r.diags]
    return {f.path: f.content for _, f in r.outputs}


def w0301(text: str, folder: Path, target: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    r = compile_text(text, folder, target, name=re.search(r'name = "(\w+)"', text).group(1))
    return [d.message for d in r.diags if d.code == "W0301"]


# -- bash -----------------------------------------------------------------------------------

def run_bash(text: str, folder: Path, steps: list[str]) -> Obs:
    files = built(text, folder, "bash")
    (name,) = files
    script = folder / name
    script.write_text(files[name])
    check_script(script)
    ws = folder / "ws"
    ws.mkdir()
    p = subprocess.run(["bash", str(script)], cwd=ws, capture_output=True, text=True, timeout=120, check=False)
    events = read_events((ws / "events").read_text())
    status = {m[0]: int(m[1]) for m in re.findall(r"\[(\w+)\] failed with exit status (\d+)", p.stderr)}
    cells = {}
    for s in steps:
        what = {e for n, e, _ in events if n == s}
        cells[s] = NOT_RUN if not what else OK if "end" in what else failed(status.get(s, "?"))
    return Obs(cells, events, "ok (0)" if p.returncode == 0 else f"failed ({p.returncode})")


# -- systemd (the job-engine model) ---------------------------------------------------------

class StatusManager(Manager):
    """tests/test_workflow_host.Manager, keeping each ExecStart's exit status."""

    def run(self, name: str) -> str:
        if name.endswith(".target"):
            return "done"
        unit = self.units[name]
        env = {**unit.env, "PATH": os.environ["PATH"]}
        for _, argv in unit.exec("ExecCondition"):
            if subprocess.run(argv, cwd=self.ws, env=env, check=False).returncode:
                return "skipped"
        self.ran.append(name)
        for _, argv in unit.exec("ExecStart"):
            code = subprocess.run(argv, cwd=self.ws, env=env, capture_output=True, check=False).returncode
            if code:
                self.status[name] = code
                return "failed"
        return "done"


def run_systemd(text: str, folder: Path, job: str, steps: list[str], rollback=("undo",)) -> Obs:
    units = built(text, folder, "systemd")
    if shutil.which("systemd-analyze"):
        verify(units, folder)
    ws = folder / "ws"
    ws.mkdir()
    m = StatusManager(units, ws)
    m.status = {}
    ok = m.start(f"b00t-{job}.target")
    cells = {}
    for s in steps:
        unit = f"b00t-{job}-rollback-{s}.service" if s in rollback else f"b00t-{job}-{s}.service"
        r = m.result.get(unit)
        cells[s] = OK if r == "done" else failed(m.status[unit]) if r == "failed" else NOT_RUN
    ev = ws / "events"
    return Obs(cells, read_events(ev.read_text()) if ev.exists() else [], "ok (0)" if ok else "failed (1)"), units


def after(units: dict[str, str], job: str, u: str, v: str) -> bool:
    """Unit ``u`` is ordered After= unit ``v`` (step names; ``undo`` is the rollback step)."""
    from tests.backends.test_systemd import Parsed

    def unit(n):
        return f"b00t-{job}-rollback-{n}.service" if n == "undo" else f"b00t-{job}-{n}.service"

    return any(unit(v) in w.split() for w in Parsed(units[unit(u)]).get("Unit", "After"))


def unordered(units: dict[str, str], job: str, x: str, y: str) -> bool:
    """No After= between the two step units, either way: systemd runs their jobs at once."""
    return not after(units, job, x, y) and not after(units, job, y, x)


# -- Argo (a model) -------------------------------------------------------------------------

PHASE = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned")


def depends_true(expr: str, phases: dict[str, str]) -> bool:
    """Argo's ``depends`` expression over the finished tasks' phases: ``T.Phase`` is true
    when T ended in that phase; a bare ``T`` means ``T.Succeeded || T.Skipped ||
    T.Daemoned`` (Argo's docs, "Enhanced Depends Logic"); ``&&``, ``||``, ``!``, ``( )``."""
    def atom(m):
        task, phase = m.group(1), m.group(2)
        if phase:
            assert phase[1:] in PHASE, phase
            return str(phases[task] == phase[1:])
        return str(phases[task] in ("Succeeded", "Skipped", "Daemoned"))

    py = re.sub(r"([A-Za-z0-9][-A-Za-z0-9]*)(\.[A-Za-z]+)?", atom, expr)
    py = py.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
    return bool(eval(py, {"__builtins__": {}}))  # only True/False/and/or/not/( ) are left


def deps_of(expr: str) -> set[str]:
    return {n for n in re.findall(r"([A-Za-z0-9][-A-Za-z0-9]*)(?:\.[A-Za-z]+)?", expr) if n not in PHASE}


def argo_model(doc: dict, ws: Path) -> tuple[dict[str, str], dict[str, int], str]:
    """A MODEL of how Argo's controller runs the Workflow b00tc rendered, NOT Argo:
    - the entrypoint's DAG is run in waves: every task whose ``depends`` tasks have all
      ended is decided; its ``depends`` false: ``Omitted``; else its container's
      ``command + args`` run here with bash in ``ws`` (the template's ``workingDir`` under
      ``/workspace`` mapped to ``ws``), all tasks of a wave at the same time (threads);
      exit 0 ``Succeeded``, else ``Failed`` (``retryStrategy.limit`` more attempts);
    - ``failFast`` (Argo's default: true): after a wave with a failed task no new task
      starts;
    - the DAG's phase as Argo's assessDAGPhase: over the leaf tasks, an omitted task takes
      its dependencies' branch phase (Failed before Succeeded); a leaf whose branch failed
      fails the DAG unless the task ``continueOn`` that phase;
    - ``onExit``: a ``steps`` template, each step run when its ``when`` holds with
      ``{{workflow.status}}`` replaced by the DAG's phase (only ``X == Y``/``X != Y``).
    Not modelled (asserted absent): ``when`` on DAG tasks, ``dependencies``, ``withItems``,
    ``activeDeadlineSeconds``, pods, artifacts. Returns (task -> phase, task -> exit
    status, workflow phase)."""
    spec = doc["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    dag = templates[spec["entrypoint"]]["dag"]
    tasks = {t["name"]: t for t in dag["tasks"]}
    for t in tasks.values():
        assert not {"when", "dependencies", "withItems", "withParam"} & set(t), t
    fail_fast = dag.get("failFast", True)
    phases: dict[str, str] = {}
    codes: dict[str, int] = {}

    def run(template: str) -> int:
        tmpl = templates[template]
        assert "activeDeadlineSeconds" not in tmpl, "not modelled"
        c = tmpl["container"]
        cwd = ws / os.path.relpath(c.get("workingDir", "/workspace"), "/workspace")
        cwd.mkdir(parents=True, exist_ok=True)
        env = {"PATH": os.environ["PATH"], **{e["name"]: e["value"] for e in c.get("env", []) if "value" in e}}
        for _ in range(1 + int(tmpl.get("retryStrategy", {}).get("limit", 0))):
            code = subprocess.run([*c["command"], *c.get("args", [])], cwd=cwd, env=env,
                                  capture_output=True, timeout=60, check=False).returncode
            if code == 0:
                break
        return code

    stopped = False
    while len(phases) < len(tasks) and not stopped:
        ready = [n for n, t in tasks.items() if n not in phases and deps_of(t.get("depends", "")) <= set(phases)]
        assert ready, "a cycle"
        start = [n for n in ready if not tasks[n].get("depends") or depends_true(tasks[n]["depends"], phases)]
        for n in set(ready) - set(start):
            phases[n] = "Omitted"
        with ThreadPoolExecutor(max(1, len(start))) as pool:
            for n, code in zip(start, pool.map(lambda n: run(tasks[n]["template"]), start)):
                codes[n] = code
                phases[n] = "Succeeded" if code == 0 else "Failed"
        stopped = fail_fast and any(phases[n] == "Failed" for n in start)

    def branch(n: str) -> str:
        if n not in phases:
            return "Failed"  # never started (failFast): the DAG fails
        if phases[n] != "Omitted":
            return phases[n]
        parents = [branch(d) for d in deps_of(tasks[n].get("depends", ""))]
        return next((p for p in parents if p in ("Failed", "Errored")), "Succeeded")

    depended = {d for t in tasks.values() for d in deps_of(t.get("depends", ""))}
    status = "Succeeded"
    for leaf in (n for n in tasks if n not in depended):
        b = branch(leaf)
        if b in ("Failed", "Errored") and not tasks[leaf].get("continueOn", {}).get(b.lower()):
            status = "Failed"
    if "onExit" in spec:
        for group in templates[spec["onExit"]]["steps"]:
            for s in group:
                when = s.get("when", "true").replace("{{workflow.status}}", status)
                m = re.fullmatch(r"\s*(\w+)\s*(==|!=)\s*(\w+)\s*", when)
                go = when == "true" or (m and ((m[1] == m[3]) == (m[2] == "==")))
                if go:
                    codes[s["name"]] = run(s["template"])
                    phases[s["name"]] = "Succeeded" if codes[s["name"]] == 0 else "Failed"
                else:
                    phases[s["name"]] = "Skipped"
    return phases, codes, status


def run_argo(text: str, folder: Path, steps: list[str]) -> Obs:
    files = built(text, folder, "k8s")
    docs = [d for content in files.values() for d in yaml.safe_load_all(content) if d]
    (doc,) = [d for d in docs if d.get("kind") == "Workflow"]
    argo.validate(doc)
    ws = folder / "ws"
    ws.mkdir()
    phases, codes, status = argo_model(doc, ws)
    cells = {s: OK if phases.get(s) == "Succeeded" else failed(codes[s]) if phases.get(s) == "Failed"
             else NOT_RUN for s in steps}
    ev = ws / "events"
    return Obs(cells, read_events(ev.read_text()) if ev.exists() else [], status)


# -- compose (for real) ---------------------------------------------------------------------

def b00tc(engine, *args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**engine.env, "B00TC_CONFIG": str(cwd / "c.toml"), "PYTHONPATH": str(ROOT), "B00TC_PROBE_TIMEOUT": "60"}
    return subprocess.run([sys.executable, "-m", "b00tc", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300, check=False)


class ComposeRun:
    def __init__(self, engine, text: str, folder: Path, job: str):
        self.engine, self.job = engine, job
        folder.mkdir(parents=True)
        (folder / f"{job}.job.toml").write_text(text)
        self.out = folder / "out"
        self.folder = folder
        self.file = self.out / f"{job}.compose.yaml"

    def deploy(self) -> subprocess.CompletedProcess:
        return b00tc(self.engine, "deploy", f"{self.job}.job.toml", "--orchestrator", "docker-compose",
                     "-o", self.out, cwd=self.folder)

    def exit_code(self, service: str):
        ids = self.engine.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.job}",
                                 "--filter", f"label=com.docker.compose.service={service}").stdout.decode().split()
        if not ids:
            return None
        state = self.engine.inspect(ids[0])["State"]
        return None if state["StartedAt"].startswith("0001-") else state["ExitCode"]

    def cells(self, steps: list[str]) -> dict[str, str]:
        out = {}
        for s in steps:
            code = self.exit_code(s)
            out[s] = NOT_RUN if code is None else OK if code == 0 else failed(code)
        return out

    def events(self):
        p = self.engine.docker("run", "--rm", "-v", f"{self.job}_workspace:/workspace", IMAGE,
                               "cat", "/workspace/events", check=False)
        return read_events(p.stdout.decode())

    def down(self):
        if self.file.exists():
            self.engine.compose(self.job, self.file, "down", "-v", check=False, timeout=120)


# -- the table ------------------------------------------------------------------------------

COLUMNS = ["bash", "systemd", "compose", "Argo (model)"]


@pytest.fixture(scope="module")
def observed(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("wftable")
    obs: dict[str, dict[str, Obs]] = {"dag": {}, "seq": {}, "cof": {}}
    extra: dict[str, object] = {}
    obs["dag"]["bash"] = run_bash(DAG, tmp / "bash", STEPS)
    obs["seq"]["bash"] = run_bash(SEQ, tmp / "bash-seq", SEQ_STEPS)
    obs["dag"]["systemd"], units = run_systemd(DAG, tmp / "systemd", "wftable", STEPS)
    obs["seq"]["systemd"], _ = run_systemd(SEQ, tmp / "systemd-seq", "wfseq", SEQ_STEPS)
    obs["cof"]["bash"] = run_bash(COF, tmp / "bash-cof", COF_STEPS)
    obs["cof"]["systemd"], _ = run_systemd(COF, tmp / "systemd-cof", "wfcof", COF_STEPS)
    obs["cof"]["Argo (model)"] = run_argo(COF, tmp / "argo-cof", COF_STEPS)
    extra["W0301 cof"] = {t: w0301(COF, tmp / f"wc-{t}", t) for t in ("compose", "systemd", "k8s")}
    extra["systemd unordered a,b"] = unordered(units, "wftable", "a", "b")
    # the model runs one unit at a time, so the rollback's place is read from the units too
    extra["systemd undo after"] = [s for s in STEPS[:-1] if after(units, "wftable", "undo", s)]
    obs["dag"]["Argo (model)"] = run_argo(DAG, tmp / "argo", STEPS)
    obs["seq"]["Argo (model)"] = run_argo(SEQ, tmp / "argo-seq", SEQ_STEPS)
    extra["W0301"] = {t: w0301(DAG, tmp / f"w-{t}", t) for t in ("compose", "systemd", "k8s")}
    # compose last: it needs the Docker engine, and skips (CI=true: fails) without it
    try:
        engine = request.getfixturevalue("bash_engine")
    except pytest.skip.Exception as e:
        extra["compose skipped"] = str(e)
        return obs, extra
    for key, text, job, steps in (("dag", DAG, "wftable", STEPS), ("seq", SEQ, "wfseq", SEQ_STEPS),
                                  ("cof", COF, "wfcof", COF_STEPS)):
        run = ComposeRun(engine, text, tmp / f"compose-{job}", job)
        try:
            started = time.monotonic()
            p = run.deploy()
            extra[f"compose deploy {key}"] = p
            extra[f"compose seconds {key}"] = time.monotonic() - started
            o = Obs(run.cells(steps), run.events(), "ok (0)" if p.returncode == 0 else f"failed ({p.returncode})")
            obs[key]["compose"] = o
        finally:
            run.down()
    return obs, extra


def render(obs, extra) -> str:
    dag, seq, cof = obs["dag"], obs["seq"], obs["cof"]
    cols = [c for c in COLUMNS if c in dag]

    def conc(c):
        if c == "systemd":
            return "yes (units)" if extra["systemd unordered a,b"] else "no (units)"
        return "yes" if dag[c].overlap("a", "b") else "no"

    def rollback_last(c):
        if c == "systemd":
            return "no (units)" if extra["systemd undo after"] != STEPS[:-1] else "yes (units)"
        o = dag[c]
        if o.cells["undo"] == NOT_RUN:
            return "-"
        others = [o.span(s)[0] for s in STEPS[:-1] if o.cells[s] != NOT_RUN]
        return "yes" if o.span("undo")[0] > max(others) else "no"

    rows = [("step (dag workflow)", *cols)]
    rows += [(s, *(dag[c].cells[s] for c in cols)) for s in STEPS]
    rows.append(("concurrent a,b", *(conc(c) for c in cols)))
    def c_after(c):
        o = dag[c]
        if NOT_RUN in (o.cells["a"], o.cells["b"], o.cells["c"]):
            return "-"
        return "yes" if o.span("c")[0] >= max(o.span("a")[1], o.span("b")[1]) else "no"

    rows.append(("c after a and b end", *(c_after(c) for c in cols)))
    rows.append(("undo after every other step", *(rollback_last(c) for c in cols)))
    rows.append(("final status", *(dag[c].final for c in cols)))
    rows.append(("sequential wf: steps", *(" ".join(seq[c].order()) if c in seq else "-" for c in cols)))
    rows.append(("sequential wf: final status", *(seq[c].final if c in seq else "-" for c in cols)))
    rows.append(("continue_on_failure wf: x, y", *(f"{cof[c].cells['x']}, {cof[c].cells['y']}" if c in cof else "-"
                                                  for c in cols)))
    rows.append(("continue_on_failure wf: final", *(cof[c].final if c in cof else "-" for c in cols)))
    text = table(rows)
    if "compose skipped" in extra:
        text += f"\ncompose: SKIPPED ({extra['compose skipped']})"
    return text


def test_the_same_workflow_on_every_target(observed):
    obs, extra = observed
    dag, seq, cof = obs["dag"], obs["seq"], obs["cof"]
    text = render(obs, extra)
    print("\n" + text)
    machine.SUMMARY.append(("b00tc e2e: one workflow job on each target (issue 17)", text))

    # the reference: the bash script
    b = dag["bash"]
    assert b.cells == {"a": OK, "b": OK, "c": OK, "fail": failed(7), "after": NOT_RUN,
                       "cleanup": OK, "alert": OK, "undo": OK}, b.cells
    assert b.final == "failed (7)"
    assert b.overlap("a", "b")
    assert b.order()[-1] == "undo"

    # what must agree on every target: the steps before the failure, the failure, the
    # dependent of the failed step, and that the workflow failed
    for c, o in dag.items():
        for s in ("a", "b", "c", "fail", "after"):
            assert o.cells[s] == b.cells[s], (c, s, o.cells[s])
        assert o.final.startswith("failed") or o.final == "Failed", (c, o.final)
        assert o.span("c")[0] >= max(o.span("a")[1], o.span("b")[1]), c  # never before its depends_on
        assert o.span("fail")[0] >= o.span("c")[1], c
    for c, o in seq.items():
        assert o.cells == {s: OK for s in SEQ_STEPS} and o.order() == SEQ_STEPS, (c, o.cells, o.order())
        assert o.final in ("ok (0)", "Succeeded"), (c, o.final)
        spans = [o.span(s) for s in SEQ_STEPS]
        assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1)), c  # one after another

    # continue_on_failure: the step after the failed one runs, and the workflow still ends
    # failed (bash, systemd); Argo's continueOn ends the Workflow Succeeded (W0301)
    assert cof["bash"].cells == {"x": failed(4), "y": OK} and cof["bash"].final == "failed (4)"
    assert cof["systemd"].cells == cof["bash"].cells and cof["systemd"].final == "failed (1)"
    assert cof["Argo (model)"].cells == cof["bash"].cells and cof["Argo (model)"].final == "Succeeded"
    assert any("continue_on_failure" in w and "ends Succeeded" in w for w in extra["W0301 cof"]["k8s"])

    # systemd: the same steps ran; systemctl's status is 1 (README); rollback starts as soon
    # as a step fails (W0301), so undo is not last
    s = dag["systemd"]
    assert s.cells == b.cells, s.cells
    assert s.final == "failed (1)"
    assert extra["systemd unordered a,b"]
    # OnFailure= of fail pulls undo in, ordered after no step: it starts at once
    assert extra["systemd undo after"] == [], extra["systemd undo after"]
    assert any("rollback steps" in w and "as soon as a step fails" in w for w in extra["W0301"]["systemd"])

    # Argo (model): the same steps ran, rollback as onExit after the DAG, phase Failed;
    # failFast is off here, as W0301 says (always/on_failure steps in dag mode)
    a = dag["Argo (model)"]
    assert a.cells == b.cells, a.cells
    assert a.final == "Failed" and a.overlap("a", "b") and a.order()[-1] == "undo"
    assert any("Argo's failFast off" in w for w in extra["W0301"]["k8s"])

    # compose: after a failure the deploy runs the always step the failure kept out, the
    # on_failure step (profile on-failure) and the rollback (profile rollback), once the
    # whole up has ended; W0301 says what still differs; the deploy's status is the step's
    w = extra["W0301"]["compose"]
    assert any("'cleanup'" in x and "b00tc deploy runs it once the whole up has ended" in x for x in w), w
    assert any("'alert'" in x and "profile on-failure, which b00tc deploy starts" in x for x in w), w
    assert any("rollback_on_failure" in x and "profile rollback, which b00tc deploy starts" in x
               and "a failed rollback step stops the ones after it" in x for x in w), w
    if "compose skipped" in extra:
        pytest.skip(f"compose column: {extra['compose skipped']}")
    # compose cannot express continue_on_failure (W0301): a failed step stops the steps that
    # wait for it
    assert any("continue_on_failure" in w and "stops the steps that wait for it" in w
               for w in extra["W0301 cof"]["compose"])
    assert cof["compose"].cells == {"x": failed(4), "y": NOT_RUN} and cof["compose"].final == "failed (4)"
    c = dag["compose"]
    deployed = extra["compose deploy dag"]
    assert c.cells == b.cells, (c.cells, deployed.stdout + deployed.stderr)
    assert c.final == "failed (7)", deployed.stdout + deployed.stderr  # the failed step's, as bash
    assert c.overlap("a", "b")
    # in the workflow's order, after the failure, and the rollback last (as bash)
    assert c.span("fail")[0] < c.span("cleanup")[0] < c.span("alert")[0] < c.span("undo")[0], c.order()
    assert c.order()[-1] == "undo"
