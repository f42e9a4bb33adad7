"""A workflow job (``[b00t.job]`` with steps) -> the ``Workflow`` IR node.

The schema is b00t's own (``b00t-cli/src/datum_job.rs``, ../shared/design/workflow-jobs.md):
every rule b00t enforces is a located error here (a missing key, an unknown mode or task
type, a ``depends_on`` naming no step, two steps of one name, a cycle), every key b00t
reads and b00tc does not carry (checkpoints, artifacts, outputs, subagents) is one warning
at that key, and a key neither reads follows b00t-keys.md (W0105). ``[b00t.job]`` is read
here rather than through ``frontend.spec``'s tables: its steps are an array of tables whose
task is tagged by ``type``, which those tables do not describe.
"""

from __future__ import annotations

from typing import Any, Optional

from b00tc.diagnostics import Diagnostics, did_you_mean, join
from b00tc.frontend import spec as S
from b00tc.frontend.build import env_vars, names, orchestration, resources, value
from b00tc.frontend.read import ENV_NAME, Raw, _ignored, _tname
from b00tc.ir import (
    WHEN,
    BashTask,
    Condition,
    EnvVar,
    Name,
    Step,
    Workflow,
    WorkflowConfig,
)

MODES = ("sequential", "parallel", "dag")
CHECKPOINT_MODES = ("auto", "manual", "off")
#: the task types b00t knows; all but bash need b00t's own runtime
TASK_TYPES = ("bash", "agent", "k0mmander", "datum", "mcp", "dagu")
RUNTIME_TASKS = {
    "agent": "an agent task (a b00t sub-agent)",
    "k0mmander": "a k0mmander task (a b00t k0mmander script)",
    "datum": "a datum task (b00t runs another datum)",
    "mcp": "an mcp task (a call to an MCP server's tool)",
    "dagu": "a dagu task (a Dagu DAG)",
}

JOB_KEYS = frozenset("description author tags config steps rollback env outputs image".split())
CONFIG_KEYS = frozenset(
    "mode checkpoint_mode checkpoint_after_each_step create_git_tag use_subagents "
    "subagent_timeout_ms subagent_type continue_on_failure retry_failed_steps "
    "rollback_on_failure".split()
)
STEP_KEYS = frozenset("name description checkpoint depends_on task condition artifacts".split())
BASH_KEYS = frozenset("type command cwd timeout_ms env image".split())
CONDITION_KEYS = frozenset(("when", "script"))
ARTIFACT_KEYS = frozenset(("paths", "archive"))
OUTPUT_KEYS = frozenset(("artifacts", "reports", "logs"))

_BAD = object()
_RUN_WITH_B00T = "run the job with `b00t job run {name}`"


class _Reader:
    def __init__(self, raw: Raw, diags: Diagnostics) -> None:
        self.raw, self.diags, self.file = raw, diags, raw.file

    # -- checks of one value --------------------------------------------------------

    def typed(self, table: dict, key: str, kind: str, path: str, default: Any = None) -> Any:
        """``table[key]`` when it is of ``kind`` (a spec leaf kind), else E0102 and
        ``_BAD``; ``default`` when the key is not there."""
        if key not in table:
            return default
        val = table[key]
        kpath = join(path, key)
        ok = {
            S.STR: lambda v: isinstance(v, str),
            S.BOOL: lambda v: isinstance(v, bool),
            S.INT: lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**53,
            S.STRLIST: lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "a table": lambda v: isinstance(v, dict),
            "an array of tables": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
        }[kind](val)
        if not ok:
            what = "a whole number, 0 or more" if kind == S.INT else kind
            got = f"{val!r:.40}" if kind == S.INT and isinstance(val, int) else _tname(val)
            self.diags.error("E0102", f"{key} must be {what}, got {got}", self.file, kpath)
            return _BAD
        if kind == S.STR and "\x00" in val:
            self.diags.error("E0601", f"{key} contains a NUL character, which no target can carry",
                             self.file, kpath)
            return _BAD
        return val

    def choice(self, table: dict, key: str, choices: tuple, path: str, what: str) -> Any:
        val = self.typed(table, key, S.STR, path)
        if val is None or val is _BAD or val in choices:
            return val
        guess = did_you_mean(val, choices)
        self.diags.error(
            "E0706",
            f"{what} {val!r} is not one b00t knows",
            self.file,
            join(path, key),
            help=(f"did you mean {guess!r}? " if guess else "") + f"write one of: {', '.join(choices)}",
        )
        return _BAD

    def required(self, table: dict, key: str, path: str, what: str, help: str = "") -> bool:
        if key in table:
            return True
        self.diags.error("E0103", f"{what} has no {key}", self.file, path, key=True, help=help)
        return False

    def unknown(self, table: dict, known: frozenset, path: str) -> None:
        for key in table:
            if key not in known and key not in S.INFORMATIONAL:
                _ignored(key, path, known, self.raw, self.diags)

    def not_carried(self, path: str, what: str, help: str = "") -> None:
        self.diags.warn(
            "W0702",
            f"{what}: a feature of b00t's own runner that b00tc does not carry; the workflow "
            "runs without it",
            self.file,
            path,
            key=True,
            help=help or "remove it, or run the job with `b00t job run` where it matters",
        )

    def env(self, table: Any, path: str) -> tuple[EnvVar, ...]:
        if not isinstance(table, dict):
            self.diags.error("E0102", "env must be a table of strings", self.file, path)
            return ()
        out = []
        for name, text in table.items():
            vpath = join(path, name)
            if not ENV_NAME.match(name):
                self.diags.error(
                    "E0109", f"{name!r} is not a valid environment variable name", self.file, vpath,
                    key=True, help="env names are letters, digits and '_', not starting with a digit",
                )
            elif not isinstance(text, str):
                self.diags.error(
                    "E0102", f"env {name} must be a string, got {_tname(text)}", self.file, vpath,
                    help=f'quote it: {name} = "{text}"' if isinstance(text, (int, float, bool)) else "",
                )
            else:
                out.append(EnvVar(name=name, value=value(self.raw, text, vpath, self.diags), path=vpath))
        return tuple(out)

    # -- the tables -----------------------------------------------------------------

    def workflow(self, job: dict) -> Optional[Workflow]:
        raw, diags = self.raw, self.diags
        before = diags.errors
        path = "$.b00t.job"
        for key in ("image", "command", "args"):
            if raw.get("container", key) is not None:
                where = raw.path("container", key)
                diags.error(
                    "E0705",
                    f"job {raw.name} has both a container ({where[2:]}) and workflow steps "
                    "([b00t.job]): a job is one or the other",
                    self.file,
                    where,
                    key=True,
                    help="make it two datums: a container job, and a workflow whose step runs it",
                )
                break
        self.unknown({k: v for k, v in job.items() if k not in CONFIG_KEYS}, JOB_KEYS, path)
        description = self.typed(job, "description", S.STR, path)
        self.required(job, "description", path, "[b00t.job]", 'add description = "what the workflow does"')
        self.typed(job, "author", S.STR, path)
        self.typed(job, "tags", S.STRLIST, path)
        image = self.typed(job, "image", S.STR, path)
        config = self.config(job, path)
        if "outputs" in job:
            outputs = self.typed(job, "outputs", "a table", path)
            if outputs is not _BAD:
                opath = join(path, "outputs")
                self.unknown(outputs, OUTPUT_KEYS, opath)
                for key in OUTPUT_KEYS & set(outputs):
                    self.typed(outputs, key, S.STRLIST, opath)
                self.not_carried(opath, "[b00t.job.outputs] (the artifacts, reports and logs b00t collects)")
        steps = self.steps(job, "steps", path, config)
        self.required(job, "steps", path, "[b00t.job]",
                      'add the steps: [[b00t.job.steps]] name, description, [b00t.job.steps.task] type = "bash", command')
        rollback = self.steps(job, "rollback", path, config)
        env = env_vars(raw, diags)
        if "env" in job:
            own = self.env(job["env"], join(path, "env"))
            names_ = {e.name for e in own}
            env = tuple(e for e in env if e.name not in names_) + own
        waits = raw.get("dependencies", "wait_for_services")
        if waits:
            self.not_carried(raw.path("dependencies", "wait_for_services"),
                             "wait_for_services on a workflow job",
                             "wait in a first step (a bash loop on the port), or run the job with b00t")
        if steps is _BAD or rollback is _BAD or config is None or diags.errors > before:
            return None
        self.graph(steps, config, "steps")
        self.graph(rollback, config, "rollback")
        if diags.errors > before:
            return None
        return Workflow(
            name=raw.name,
            file=raw.file,
            description=description if isinstance(description, str) else "",
            hint=raw.get("hint", default=""),
            config=config,
            steps=steps,
            rollback=rollback,
            env=env,
            image=value(raw, image, join(path, "image"), diags) if isinstance(image, str) else None,
            requires_stacks=names(raw, ("dependencies", "requires_stacks"), diags),
            resources=resources(raw),
            orchestration=orchestration(raw),
        )

    def config(self, job: dict, path: str) -> Optional[WorkflowConfig]:
        diags = self.diags
        for key in CONFIG_KEYS & set(job):
            diags.warn(
                "W0701",
                f"{key} is read in [b00t.job.config], not in [b00t.job]: b00t ignores it here, "
                "and so does b00tc"
                + (" (the workflow runs in the mode [b00t.job.config] gives, sequential by default)"
                   if key == "mode" else ""),
                self.file,
                join(path, key),
                key=True,
                help=f"move {key} under [b00t.job.config]",
            )
        if not self.required(job, "config", path, "[b00t.job]",
                             'add [b00t.job.config] (every key has a default: mode = "sequential")'):
            return None
        cpath = join(path, "config")
        table = self.typed(job, "config", "a table", path)
        if table is _BAD:
            return None
        self.unknown(table, CONFIG_KEYS, cpath)
        mode = self.choice(table, "mode", MODES, cpath, "mode")
        checkpoints = self.choice(table, "checkpoint_mode", CHECKPOINT_MODES, cpath, "checkpoint_mode")
        if checkpoints in ("auto", "manual"):
            self.not_carried(join(cpath, "checkpoint_mode"), f"checkpoint_mode {checkpoints!r} (git commits after steps)")
        for key, what in (
            ("checkpoint_after_each_step", "checkpoint_after_each_step (a git commit after each step)"),
            ("create_git_tag", "create_git_tag (a git tag at each checkpoint)"),
            ("use_subagents", "use_subagents (b00t's sub-agents)"),
        ):
            if self.typed(table, key, S.BOOL, cpath) is True:
                self.not_carried(join(cpath, key), what)
        self.typed(table, "subagent_timeout_ms", S.INT, cpath)
        self.typed(table, "subagent_type", S.STR, cpath)
        cont = self.typed(table, "continue_on_failure", S.BOOL, cpath, False)
        retries = self.typed(table, "retry_failed_steps", S.INT, cpath, 0)
        rollback = self.typed(table, "rollback_on_failure", S.BOOL, cpath, False)
        if _BAD in (mode, checkpoints, cont, retries, rollback):
            return None
        return WorkflowConfig(
            mode=mode or "sequential",
            continue_on_failure=cont,
            retry_failed_steps=retries,
            rollback_on_failure=rollback,
            path=cpath,
        )

    def steps(self, job: dict, key: str, path: str, config: Optional[WorkflowConfig]) -> Any:
        if key not in job:
            return ()
        tables = self.typed(job, key, "an array of tables", path)
        if tables is _BAD:
            return _BAD
        out = []
        bad = False
        for i, table in enumerate(tables):
            step = self.step(table, join(join(path, key), i))
            if step is None:
                bad = True
            else:
                out.append(step)
        return _BAD if bad else tuple(out)

    def step(self, table: dict, path: str) -> Optional[Step]:
        diags = self.diags
        before = diags.errors
        self.unknown(table, STEP_KEYS, path)
        name = self.typed(table, "name", S.STR, path)
        what = f"step {name!r}" if isinstance(name, str) else "a step"
        self.required(table, "name", path, what, 'add name = "..." (what dependencies and the output call it)')
        if name == "":
            diags.error("E0103", "a step's name is empty", self.file, join(path, "name"),
                        help="name the step: other steps' depends_on and the output use it")
        self.typed(table, "description", S.STR, path)
        self.required(table, "description", path, what, 'add description = "what the step does"')
        depends = self.typed(table, "depends_on", S.STRLIST, path, [])
        if "checkpoint" in table and self.typed(table, "checkpoint", S.STR, path) is not _BAD:
            self.not_carried(join(path, "checkpoint"), f"the checkpoint of {what} (a git commit after it)")
        if "artifacts" in table:
            art = self.typed(table, "artifacts", "a table", path)
            if art is not _BAD:
                self.unknown(art, ARTIFACT_KEYS, join(path, "artifacts"))
                self.not_carried(join(path, "artifacts"), f"the artifacts of {what} (files b00t archives after it)")
        condition = Condition()
        if "condition" in table:
            cond = self.typed(table, "condition", "a table", path)
            if cond is not _BAD:
                cpath = join(path, "condition")
                self.unknown(cond, CONDITION_KEYS, cpath)
                when = self.choice(cond, "when", WHEN, cpath, "condition.when")
                script = self.typed(cond, "script", S.STR, cpath, "")
                if when is not _BAD and script is not _BAD:
                    # inside a condition table, when defaults to always (b00t's serde default)
                    condition = Condition(when=when or "always", script=script, path=cpath)
        self.required(table, "task", path, what,
                      'add [b00t.job.steps.task] type = "bash" and command = "..."')
        task = self.task(table, path, what) if "task" in table else None
        if diags.errors > before or task is None or not isinstance(name, str):
            return None
        dpath = join(path, "depends_on")
        return Step(
            name=name,
            description=table.get("description", ""),
            task=task,
            depends_on=tuple(Name(value=d, path=join(dpath, i)) for i, d in enumerate(depends)),
            condition=condition,
            path=path,
        )

    def task(self, step: dict, path: str, what: str) -> Optional[BashTask]:
        diags = self.diags
        table = self.typed(step, "task", "a table", path)
        if table is _BAD:
            return None
        tpath = join(path, "task")
        if not self.required(table, "type", tpath, f"{what}'s task", 'add type = "bash" (and command = "...")'):
            return None
        kind = self.choice(table, "type", TASK_TYPES, tpath, "task type")
        if kind is _BAD:
            return None
        if kind in RUNTIME_TASKS:
            diags.error(
                "E0704",
                f"{what} is {RUNTIME_TASKS[kind]}: only b00t's own runtime runs it, and b00tc "
                "compiles bash tasks only, for every target",
                self.file,
                join(tpath, "type"),
                help=_RUN_WITH_B00T.format(name=self.raw.name)
                + ', or make the step a bash task (type = "bash", command = "...")',
            )
            return None
        self.unknown(table, BASH_KEYS, tpath)
        command = self.typed(table, "command", S.STR, tpath)
        self.required(table, "command", tpath, f"{what}'s bash task", 'add command = "..." (bash source)')
        cwd = self.typed(table, "cwd", S.STR, tpath, "")
        timeout = self.typed(table, "timeout_ms", S.INT, tpath, 0)
        image = self.typed(table, "image", S.STR, tpath)  # for the container targets
        env = self.env(table["env"], join(tpath, "env")) if "env" in table else ()
        if not isinstance(command, str) or cwd is _BAD or timeout is _BAD or image is _BAD:
            return None
        return BashTask(
            command=command,
            cwd=cwd,
            timeout_ms=timeout,
            env=env,
            image=value(self.raw, image, join(tpath, "image"), diags) if isinstance(image, str) else None,
            path=tpath,
            command_path=join(tpath, "command"),
            timeout_path=join(tpath, "timeout_ms"),
        )

    # -- the graph ------------------------------------------------------------------

    def graph(self, steps: tuple[Step, ...], config: WorkflowConfig, key: str) -> None:
        """Names once each; in dag and parallel mode every depends_on names a step and
        there is no cycle. Sequential mode runs the file's order, as b00t does: a
        depends_on that names no earlier step is ignored there, with W0703."""
        diags = self.diags
        first: dict[str, Step] = {}
        for s in steps:
            if s.name in first:
                diags.error(
                    "E0702",
                    f"two steps are named {s.name!r} (the first at {first[s.name].path[2:]})",
                    self.file,
                    join(s.path, "name"),
                    help="give each step its own name: depends_on and the output name steps by it",
                )
            else:
                first[s.name] = s
        if key == "rollback":
            return  # rollback steps run in their order, after a failure
        order = {s.name: i for i, s in enumerate(steps)}
        for i, s in enumerate(steps):
            for d in s.depends_on:
                if d.value in order and (config.mode != "sequential" or order[d.value] < i):
                    continue
                if config.mode == "sequential":
                    known = d.value in order
                    diags.warn(
                        "W0703",
                        f"step {s.name!r} depends on {d.value!r}, "
                        + ("a step after it" if known and order[d.value] > i else "itself" if known else "which is no step of the workflow")
                        + ": sequential mode runs the steps in the file's order, and b00t ignores "
                        "this depends_on there; so does b00tc",
                        self.file,
                        d.path,
                        help=_near(d.value, order) + 'use mode = "dag" in [b00t.job.config] to run by dependencies'
                        if not known else 'move the step, or use mode = "dag" in [b00t.job.config]',
                    )
                    continue
                diags.error(
                    "E0701",
                    f"step {s.name!r} depends on {d.value!r}, which is no step of the workflow",
                    self.file,
                    d.path,
                    help=_near(d.value, order) + f"the steps: {', '.join(order) or 'none'}",
                )
        if config.mode == "sequential":
            return
        by_name = {s.name: s for s in steps}
        state: dict[str, int] = {}  # 1: on the path, 2: done
        for root in steps:
            if root.name in state:
                continue
            # iterative: a workflow of thousands of steps in a chain must not recurse
            trail: list[str] = [root.name]
            todo = [iter(root.depends_on)]
            state[root.name] = 1
            while todo:
                d = next(todo[-1], None)
                if d is None:
                    todo.pop()
                    state[trail.pop()] = 2
                elif d.value not in by_name:
                    continue
                elif state.get(d.value) == 1:
                    cycle = trail[trail.index(d.value):] + [d.value]
                    diags.error(
                        "E0703",
                        f"steps depend on each other in a cycle: {' -> '.join(cycle)}",
                        self.file,
                        d.path,
                        help="a step cannot wait for itself, directly or through others: remove "
                        "one depends_on of the cycle",
                    )
                elif d.value not in state:
                    state[d.value] = 1
                    trail.append(d.value)
                    todo.append(iter(by_name[d.value].depends_on))


def _near(word: str, choices) -> str:
    guess = did_you_mean(word, choices)
    return f"did you mean {guess!r}? " if guess else ""


def build_workflow(raw: Raw, job: dict, diags: Diagnostics) -> Optional[Workflow]:
    """The Workflow of a job datum whose ``[b00t.job]`` is ``job``; None on error (the
    errors are in ``diags``)."""
    return _Reader(raw, diags).workflow(job)

