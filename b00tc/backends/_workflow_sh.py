"""A workflow job as one bash script that runs its DAG: the reference semantics of
workflow jobs (../shared/design/workflow-jobs.md), which the other targets follow.

The script is started in the workspace. Each step runs in the background as soon as the
steps it waits for are finished (``dag`` and ``parallel``: its ``depends_on``;
``sequential``: the step before it in the file), as ``bash -c COMMAND`` in its ``cwd``,
with the job's env overlaid by the step's (``/usr/bin/env NAME=VALUE ... "$BASH" -c``: the
runner's own environment is never changed), under ``timeout`` when it has ``timeout_ms``,
run again up to ``retry_failed_steps`` more times when it fails. Every line it writes
comes out with ``[step-name] `` before it, stdout on stdout and stderr on stderr.

Whether a step runs is decided when the steps it waits for are finished: ``on_success`` (no
condition table) when no step has failed, ``always`` whatever happened, ``on_failure`` only
after a failure, ``on_previous`` when the steps it waits for succeeded; then its
``condition.script`` must exit 0. ``continue_on_failure``: a failed step counts as a success
for what follows, and the workflow still ends failed. After a failure, with
``rollback_on_failure``, the rollback steps run one after another. The exit status is 0 when
every step that ran succeeded, else the status of the first step that failed.

Finished steps report ``INDEX STATUS`` on a FIFO the runner reads (a line shorter than
PIPE_BUF is written at once), so that the runner wakes when any step ends, with nothing
newer than bash 3.2 (no ``wait -n``, no associative arrays). A step whose process dies
before it reports (SIGKILL, the OOM killer) would leave the runner reading for ever: after
a second with no report, the runner looks for running steps whose process is gone
(``b00t_reap``) and counts each as failed with the status ``wait`` gives it.

Each step's lifecycle, for ``b00tc status`` (b00tc.runtime.steps.from_step_events), goes to
the file named by ``B00TC_STEP_EVENTS`` when it is set (direct: the state folder's
``steps.events``; Nomad: ``/alloc/b00tc-steps``, read with ``nomad alloc fs``), never to
the output: a step's output cannot forge it, whatever it prints, and the runner unsets the
variable before any step starts. The runner truncates the file, then appends one line per
event (``printf`` to an ``O_APPEND`` file: one write each): ``- begin COUNT``; ``I
started``; ``I retry N``; ``I succeeded``; ``I failed STATUS`` (``... gone`` when its process
died unreported); ``I skipped condition|after-failure|no-failure|previous J``; ``-
interrupted``; ``- end STATUS``. ``I`` is the step's index in the steps then the rollback
steps that run, so any name (newlines, quotes, any bytes) is read back exactly.
"""

from __future__ import annotations

from typing import Optional

from b00tc.backends._bashwords import Words, _needs_sc2016, header, quote
from b00tc.backends._context import Context
from b00tc.backends._host import comment
from b00tc.ir import Step, Unit, Value, Workflow

#: seconds between the TERM that ``timeout`` sends a step and its KILL
KILL_AFTER = 10

_RUNTIME = r"""# B00TC_STEP_EVENTS: a file that gets each step's lifecycle, one line per event (b00tc
# status reads it; the steps do not see the variable nor the file)
b00t_events=${B00TC_STEP_EVENTS:-}
unset B00TC_STEP_EVENTS
if [ -n "$b00t_events" ] && ! { : >"$b00t_events"; } 2>/dev/null; then
  b00t_events=
fi
b00t_tmp=$(mktemp -d "${TMPDIR:-/tmp}/b00tc-workflow.XXXXXX") || exit 125
mkfifo "$b00t_tmp/done" || exit 125
# steps report on fd 9; opened for reading and writing, it never blocks on open nor ends
exec 9<>"$b00t_tmp/done"
rm -rf -- "$b00t_tmp"

# each line of a step's output, with the step's name before it
b00t_prefix() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s%s\n' "$1" "$line"
  done
}

# b00t_out NAME command|condition I: step I's command (or condition script) with its
# stdout and stderr lines prefixed by "[NAME] "; its exit status
b00t_out() {
  local prefix="[$1] "
  { { b00t_run "$2" "$3" 8>&- 9>&- | b00t_prefix "$prefix"; } 2>&1 1>&8 | b00t_prefix "$prefix" >&2; } 8>&1
}

# b00t_event I WORDS...: a lifecycle line "I WORDS" in $b00t_events, when set; I is the
# step's index in b00t_name (or - for the workflow); one short write, O_APPEND
b00t_event() {
  if [ -n "$b00t_events" ]; then
    printf '%s\n' "$*" 2>/dev/null >>"$b00t_events"
  fi
}

# the runner's own messages
b00t_say() {
  printf 'b00tc: [%s] %s\n' "$1" "$2" >&2
}

# b00t_step I: step I's condition script (when it has one), then its command, run again
# after a failure up to b00t_retries more times; reports "I STATUS" (or "I skip") on fd 9
b00t_step() {
  local name=${b00t_name[$1]} attempt=0 status
  b00t_event "$1" started
  if [ "${b00t_if[$1]}" = 1 ] && ! b00t_out "$name" condition "$1"; then
    b00t_say "$name" "skipped: its condition.script did not exit 0"
    b00t_event "$1" skipped condition
    echo "$1 skip" >&9
    return
  fi
  while :; do
    b00t_out "$name" command "$1"
    status=$?
    if [ "$status" = 0 ] || [ "$attempt" -ge "$b00t_retries" ]; then
      break
    fi
    attempt=$((attempt + 1))
    b00t_event "$1" retry "$attempt"
    b00t_say "$name" "failed with exit status $status; running it again ($attempt of $b00t_retries)"
  done
  if [ "$status" = 0 ]; then
    b00t_event "$1" succeeded
  else
    b00t_event "$1" failed "$status"
  fi
  echo "$1 $status" >&9
}

# b00t_ready I: whether every step that step I waits for is finished
b00t_ready() {
  local d
  for d in ${b00t_deps[$1]}; do
    case ${b00t_st[d]} in
      ok | fail | skip) ;;
      *) return 1 ;;
    esac
  done
}

# b00t_decide I: whether step I runs, by its condition.when; says why when it does not
b00t_decide() {
  local d
  case ${b00t_when[$1]} in
    always) return 0 ;;
    on_success)
      [ "$b00t_failed" = 0 ] && return 0
      b00t_say "${b00t_name[$1]}" "skipped: a step before it failed"
      b00t_event "$1" skipped after-failure
      ;;
    on_failure)
      [ "$b00t_failed" = 1 ] && return 0
      b00t_say "${b00t_name[$1]}" "skipped: it runs on_failure, and no step has failed"
      b00t_event "$1" skipped no-failure
      ;;
    on_previous)
      for d in ${b00t_deps[$1]}; do
        if [ "${b00t_st[d]}" != ok ] && ! { [ "$b00t_continue" = 1 ] && [ "${b00t_st[d]}" = fail ]; }; then
          b00t_say "${b00t_name[$1]}" "skipped: it runs on_previous, and ${b00t_name[d]} did not succeed"
          b00t_event "$1" skipped previous "$d"
          return 1
        fi
      done
      return 0
      ;;
  esac
  return 1
}

# b00t_kill_tree PID: SIGTERM to PID and every process under it (Linux's /proc; elsewhere
# PID alone). A background step ignores SIGINT (bash's rule for asynchronous commands), and
# timeout runs its command in a process group of its own: neither sees a Ctrl-C
# shellcheck disable=SC2329 # called by b00t_stop
b00t_kill_tree() {
  local f k
  for f in /proc/"$1"/task/*/children; do
    [ -r "$f" ] || continue
    for k in $(<"$f"); do
      b00t_kill_tree "$k"
    done
  done
  kill -TERM "$1" 2>/dev/null
}

# b00t_stop STATUS: the runner was interrupted: stop the running steps, exit STATUS
# shellcheck disable=SC2329 # called by the traps of INT and TERM
b00t_stop() {
  local i
  trap - INT TERM
  # a trap that fires during a builtin run as IFS= read would see that IFS: the process
  # lists below are split on the usual one
  IFS=$' \t\n'
  for i in "${!b00t_st[@]}"; do
    if [ "${b00t_st[i]}" = run ]; then
      b00t_kill_tree "${b00t_pid[i]}"
    fi
  done
  b00t_say "$b00t_workflow" "interrupted: the running steps were stopped"
  b00t_event - interrupted
  exit "$1"
}

# b00t_done I STATUS: step I has finished (or was skipped by its condition.script)
b00t_done() {
  b00t_running=$((b00t_running - 1))
  b00t_left=$((b00t_left - 1))
  b00t_record "$1" "$2"
}

# b00t_next: the next report "I STATUS" of a step into b00t_i and b00t_rc, waiting a
# second at most (status 1: none came). A report is written whole, but read -t reads it a
# byte at a time and its second can end in the middle of it: what was read is kept, and
# the rest of the line is there to read
b00t_next() {
  local line="" rest=""
  if ! IFS= read -r -t 1 line <&9; then
    if [ -z "$line" ]; then
      return 1
    fi
    IFS= read -r rest <&9
    line=$line$rest
  fi
  b00t_i=${line%% *}
  b00t_rc=${line#* }
}

# b00t_reap: nothing was reported for a second: a running step whose process is gone
# without reporting (killed by SIGKILL or the OOM killer) has failed, with the status wait
# gives; a step reports before it ends, so the reports already written are read first
# (read -t 0 would block for ever on bash 3.2)
b00t_reap() {
  local i status gone=()
  for i in "${!b00t_st[@]}"; do
    if [ "${b00t_st[i]}" = run ] && ! kill -0 "${b00t_pid[i]}" 2>/dev/null; then
      gone+=("$i")
    fi
  done
  if [ "${#gone[@]}" = 0 ]; then
    return
  fi
  while b00t_next; do
    b00t_done "$b00t_i" "$b00t_rc"
  done
  for i in "${gone[@]}"; do
    if [ "${b00t_st[i]}" = run ]; then
      wait "${b00t_pid[i]}"
      status=$?
      if [ "$status" = 0 ]; then
        status=1
      fi
      b00t_say "${b00t_name[i]}" "ended without reporting its result"
      b00t_event "$i" failed "$status" gone
      b00t_done "$i" "$status"
    fi
  done
}

# b00t_record I STATUS: a finished step's outcome
b00t_record() {
  case $2 in
    skip) b00t_st[$1]=skip ;;
    0) b00t_st[$1]=ok ;;
    *)
      b00t_st[$1]=fail
      b00t_say "${b00t_name[$1]}" "failed with exit status $2"
      if [ "$b00t_status" = 0 ]; then
        b00t_status=$2
      fi
      if [ "$b00t_continue" = 0 ]; then
        b00t_failed=1
      fi
      ;;
  esac
}
"""

_SCHEDULER = r"""b00t_failed=0   # a failure the steps after it see (not with continue_on_failure)
b00t_status=0   # the exit status of the first step that failed
b00t_running=0
b00t_pid=()
b00t_left=${#b00t_st[@]}
trap 'b00t_stop 130' INT
trap 'b00t_stop 143' TERM
b00t_event - begin "${#b00t_name[@]}"
while [ "$b00t_left" -gt 0 ]; do
  b00t_again=1
  while [ "$b00t_again" = 1 ]; do
    b00t_again=0
    for b00t_i in "${!b00t_st[@]}"; do
      if [ "${b00t_st[b00t_i]}" = wait ] && b00t_ready "$b00t_i"; then
        b00t_again=1
        if b00t_decide "$b00t_i"; then
          b00t_st[b00t_i]=run
          b00t_running=$((b00t_running + 1))
          b00t_step "$b00t_i" &
          b00t_pid[b00t_i]=$!
        else
          b00t_st[b00t_i]=skip
          b00t_left=$((b00t_left - 1))
        fi
      fi
    done
  done
  if [ "$b00t_running" = 0 ]; then
    break
  fi
  if b00t_next; then
    b00t_done "$b00t_i" "$b00t_rc"
  else
    b00t_reap
  fi
done
wait
"""


def _seconds(ms: int) -> str:
    """Milliseconds as ``timeout``'s DURATION (seconds, a decimal point when needed)."""
    whole, frac = divmod(ms, 1000)
    return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") if frac else str(whole)


class WorkflowScript:
    def __init__(self, unit: Unit, wf: Workflow, ctx: Context, where: str = "") -> None:
        """``where``: the header's note on where the script runs (Nomad runs it in a
        container); the rest of the script is the same on every target."""
        self.unit, self.wf, self.ctx = unit, wf, ctx
        self.where = where or "Runs on this host, in the folder it is started in (the workspace)"
        self.words = Words()
        #: assignments of every value that reads a host variable, made before any step
        #: starts (set -u stops the script there when one is unset, before anything ran)
        self.snapshots: list[str] = []
        self.seen: dict = {}

    def word(self, value: Value) -> str:
        """A bash word for an env value; one that reads a host variable is read once into
        a variable at the top (``self.snapshots``), and that variable is the word."""
        if not value.host_vars:
            return self.words.word(value)
        key = (value.path, value)
        if key not in self.seen:
            rhs = self.words.word(value)
            self.snapshots.extend(self.words.flush())
            name = f"b00t_v{len(self.seen) + 1}"
            self.snapshots.append(f"{name}={rhs}")
            self.seen[key] = f'"${name}"'
        return self.seen[key]

    def render(self) -> Optional[str]:
        wf = self.wf
        cfg = wf.config
        steps = list(wf.steps)
        rollback = list(wf.rollback) if cfg.rollback_on_failure else []
        everything = steps + rollback
        index = {s.name: i for i, s in enumerate(steps)}

        # what each step waits for, and whose success on_previous needs: the step before it
        # (sequential), or its depends_on (dag, parallel)
        deps: list[str] = []
        for i, s in enumerate(steps):
            if cfg.mode == "sequential":
                deps.append(str(i - 1) if i else "")
            else:
                deps.append(" ".join(dict.fromkeys(str(index[d.value]) for d in s.depends_on)))

        commands = ["b00t_command() {", "  case $1 in"]
        conditions = ["b00t_condition() {", "  case $1 in"]
        for i, s in enumerate(everything):
            what = "rollback step" if i >= len(steps) else "step"
            commands.append(f"    {i})  # {what} {comment(s.name)}: {comment(s.description)}".rstrip(": "))
            commands.extend(f"      {line}" for line in self.run_lines(s, s.task.command, s.task.timeout_ms))
            commands.append("      ;;")
            if s.condition.script:
                conditions.append(f"    {i})  # {comment(s.name)}")
                conditions.extend(f"      {line}" for line in self.run_lines(s, s.condition.script, 0))
                conditions.append("      ;;")
        commands += ["  esac", "}"]
        conditions += ["  esac", "}"]

        def array(name: str, items: list[str]) -> str:
            return f"{name}=(" + " ".join(items) + ")"

        tables = [
            "# each step: its name, the steps it waits for (whose success on_previous needs), its",
            "# condition.when, whether it has a condition.script; rollback steps come after",
            array("b00t_name", [quote(s.name) for s in everything]),
            array("b00t_deps", [quote(d) for d in deps]),
            array("b00t_when", [s.condition.when for s in steps]),
            array("b00t_if", ["1" if s.condition.script else "0" for s in everything]),
            array("b00t_st", ["wait"] * len(steps)),
            f"b00t_workflow={quote(wf.name)}",
            f"b00t_retries={cfg.retry_failed_steps}",
            f"b00t_continue={1 if cfg.continue_on_failure else 0}",
        ]

        body: list[str] = []
        if self.snapshots:
            body += ["# values that read host variables, read once before any step starts"]
            body += self.snapshots + [""]
        body += _RUNTIME.rstrip("\n").split("\n") + [""]
        body += commands + [""]
        has_conditions = len(conditions) > 4
        if has_conditions:
            body += conditions + [""]
            body += ["b00t_run() {", '  if [ "$1" = condition ]; then', '    b00t_condition "$2"', "  else",
                     '    b00t_command "$2"', "  fi", "}", ""]
        else:
            body += ["b00t_run() {", '  b00t_command "$2"', "}", ""]
        body += tables + [""]
        body += _SCHEDULER.rstrip("\n").split("\n")
        if rollback:
            first = len(steps)
            body += [
                "# b00t_undo I: rollback step I, in the foreground",
                "b00t_undo() {",
                '  b00t_step "$1"',
                "  read -r b00t_i b00t_rc <&9",
                '  if [ "$b00t_rc" != 0 ] && [ "$b00t_rc" != skip ]; then',
                '    b00t_say "${b00t_name[$1]}" "failed with exit status $b00t_rc"',
                "  fi",
                "}",
                'if [ "$b00t_status" != 0 ]; then',
                "  # rollback_on_failure: the rollback steps, one after another",
            ]
            body += [f"  b00t_undo {first + k}" for k in range(len(rollback))]
            body += ["fi"]
        body += ['b00t_event - end "$b00t_status"', 'exit "$b00t_status"']
        notes = self.notes()
        lines = ["#!/usr/bin/env bash"] + [f"# {comment(h)}".rstrip() for h in header(self.unit, notes)]
        if _needs_sc2016(body):
            lines.append("# shellcheck disable=SC2016 # literals are single-quoted on purpose")
        lines += ["set -uo pipefail", ""] + body
        return "\n".join(lines).rstrip("\n") + "\n"

    def run_lines(self, step: Step, source: str, timeout_ms: int) -> list[str]:
        """The lines that run ``source`` as step ``step`` runs: in its cwd, with the
        job's env overlaid by its own, under ``timeout`` when it has one (exec: the
        subshell of b00t_out becomes the step's process)."""
        out = []
        cwd = step.task.cwd
        if cwd:
            out.append(f"cd -- {quote(cwd)} || exit")
        words = ["exec"]
        if timeout_ms:
            words += ["timeout", "-k", str(KILL_AFTER), _seconds(timeout_ms)]
        env: dict[str, str] = {}
        for e in self.wf.env + step.task.env:  # the step's own win
            env[e.name] = f"{e.name}={self.word(e.value)}"
        if env:
            words.append("/usr/bin/env")
            words += list(env.values())
        words += ['"$BASH"', "-c", quote(source)]
        out.extend(self.words.flush())
        out.append(" ".join(words))
        return out

    def notes(self) -> list[str]:
        wf, cfg = self.wf, self.wf.config
        order = {
            "sequential": "sequential: each step starts when the one before it in the file is finished",
            "parallel": "parallel: each step starts at once, or when the steps it depends_on are finished",
            "dag": "dag: each step starts as soon as the steps it depends_on are finished",
        }[cfg.mode]
        out = [
            f"Workflow {wf.name}" + (f": {wf.description}" if wf.description else ""),
            f"{self.where}; mode {order}.",
            "Each line a step writes is prefixed by [its name]. A step runs when no step before it "
            "failed, unless its condition.when says otherwise (always, on_failure, on_previous).",
            "Exit status: 0 when every step that ran succeeded, else the first failed step's.",
        ]
        if cfg.retry_failed_steps:
            out.append(f"retry_failed_steps = {cfg.retry_failed_steps}: a failed step runs again, up to "
                       f"{cfg.retry_failed_steps} more times")
        if cfg.continue_on_failure:
            out.append("continue_on_failure: the steps after a failed one run as if it had succeeded; "
                       "the workflow still ends failed")
        if wf.rollback and not cfg.rollback_on_failure:
            out.append("rollback steps are not run: rollback_on_failure is not set")
        for s in wf.requires:
            out.append(f"requires stack {s.name}: start it first ({s.name}.sh up)")
        return out
