"""The direct target: a bash script that runs the datum on this host.

A Job becomes ``<job>.sh``: it waits for the services it names (a bounded ``/dev/tcp``
retry loop to ``localhost:<host port>``), checks the GPUs it needs, exports its
environment and ``exec``s ``command + args`` on the host (the image is not used), so the
job's exit code is the script's. A Stack becomes ``<stack>.sh`` with ``up`` (default),
``down``, ``status`` and ``logs [-f]``: each deployable member runs as a container through
``${B00T_CONTAINER_RUNTIME:-docker}``, publishing its ports so that ``localhost:<host
port>`` reaches it.

bash keeps host variables for run time with their shell meaning (``set -u`` makes a bare
``${VAR}`` of an unset variable fail with the variable's name, like ``${VAR:?}``); every
literal is quoted so that it reaches the process byte for byte.

The helpers that decide what a member's ``docker run`` publishes, mounts and labels are
in ``_host``, shared with the systemd backend, which runs stack members the same way.
"""

from __future__ import annotations

import re
from typing import Optional

from b00tc.backends import Backend, OutputFile
from b00tc.backends._bashwords import Words, _needs_sc2016, header, quote
from b00tc.backends._context import Context
from b00tc.backends._start import START
from b00tc.backends._host import (
    check_nul,
    comment,
    container_name,
    cpus,
    docker_resources,
    entrypoint,
    health_flags,
    labels,
    mount_suffix,
    network,
    publish_specs,
    ref_for_member,
    stack_resources,
    warn_container_name,
    warn_gpu_count_only,
    warn_unserved,
    warn_unserved_wait,
)
from b00tc.ir import (
    Datum,
    Gpu,
    Job,
    Lit,
    Member,
    Mount,
    Stack,
    Unit,
    Value,
    Workflow,
)

#: variables bash itself owns: exporting them from the script does not hand the value to
#: the exec'd process unchanged (readonly, dynamic or reset on exec; found by running
#: ``export NAME='zz q'; exec env`` under bash 5.2 for every variable in bash(1)). The
#: job gets them through ``/usr/bin/env NAME=value`` on the exec line instead.
BASH_OWNED = frozenset(
    """BASHOPTS BASHPID BASH_ALIASES BASH_ARGC BASH_ARGV BASH_ARGV0 BASH_CMDS BASH_COMMAND
    BASH_COMPAT BASH_ENV BASH_LINENO BASH_REMATCH BASH_SOURCE BASH_SUBSHELL BASH_VERSINFO
    BASH_VERSION BASH_XTRACEFD DIRSTACK EPOCHREALTIME EPOCHSECONDS EUID FUNCNAME GLOBIGNORE
    GROUPS HISTCMD IFS LINENO OPTIND PIPESTATUS POSIXLY_CORRECT PPID RANDOM SECONDS
    SHELLOPTS SHLVL SRANDOM UID _""".split()
)


class BashBackend(Backend):
    name = "bash"
    aliases = ("direct",)
    KEEPS_HOST_VARS = True

    KINDS = ("job", "stack", "workflow")

    def render_job(self, unit: Unit, job: Job, ctx: Context) -> list[OutputFile]:
        return _output(job, _JobScript(unit, job, ctx).render())

    def render_stack(self, unit: Unit, stack: Stack, ctx: Context) -> list[OutputFile]:
        return _output(stack, _StackScript(unit, stack, ctx).render())

    def render_workflow(self, unit: Unit, wf: Workflow, ctx: Context) -> list[OutputFile]:
        from b00tc.backends._workflow_sh import WorkflowScript

        return _output(wf, WorkflowScript(unit, wf, ctx).render())


def _output(datum: Datum, text: Optional[str]) -> list[OutputFile]:
    return [] if text is None else [OutputFile(f"{datum.name}.sh", text, 0o755)]


# ---------------------------------------------------------------------------
# Job


_WAIT_FUNCTION = r"""b00t_wait_for() {
  local service=$1 port=$2 timeout=${B00T_WAIT_TIMEOUT:-%(timeout)d}
  case $timeout in
    '' | *[!0-9]*)
      echo "b00tc: B00T_WAIT_TIMEOUT must be a whole number of seconds, not '$timeout'" >&2
      exit 2
      ;;
  esac
  local waited=0
  echo "b00tc: waiting for $service (localhost:$port)" >&2
  # ready = a connection that is not closed at once: a docker-proxy (or any port
  # forwarder) accepts on a published port before the service behind it listens, then
  # closes; a service keeps the connection open (or greets)
  until (exec 3<>"/dev/tcp/127.0.0.1/$port" && { read -r -t 1 -n 1 <&3; (($? != 1)); }) 2>/dev/null; do
    if ((waited >= 10#$timeout)); then
      echo "b00tc: timed out after $timeout s waiting for $service at localhost:$port" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}
"""


class _JobScript:
    def __init__(self, unit: Unit, job: Job, ctx: Context) -> None:
        self.unit, self.job, self.ctx = unit, job, ctx
        self.file = job.file

    def render(self) -> Optional[str]:
        job, ctx = self.job, self.ctx
        argv = job.container.command + job.container.args
        if not job.container.command:
            ctx.error(
                "E0107",
                f"job {job.name} has no command: target {ctx.target} runs the job on this host "
                "(not in its image), so it needs [b00t.container] command",
                self.file,
                job.container.path,
                help='write command = ["program", ...]; the image\'s ENTRYPOINT is not known here',
            )
            return None
        ok = all(check_nul(v, "an argument", ctx, self.file) for v in argv)
        ok = all([ok] + [check_nul(e.value, f"env {e.name}", ctx, self.file) for e in job.env])
        if not ok:
            return None

        notes = self.notes()
        body: list[str] = []
        if job.wait_for:
            body.append(_WAIT_FUNCTION % {"timeout": ctx.wait_timeout})
            for w in job.wait_for:
                warn_unserved_wait(w, self.file, ctx)
                body.append(f"b00t_wait_for {quote(w.service)} {w.host_port or w.port}")
            body.append("")
        gpu = job.resources.gpu
        env = list(job.env)
        if gpu and gpu.count:
            body.extend(self.gpu_check(gpu))
            if not any(e.name == "CUDA_VISIBLE_DEVICES" for e in env):
                devices = ",".join(str(i) for i in range(gpu.count))
                body.append(f'export CUDA_VISIBLE_DEVICES="${{CUDA_VISIBLE_DEVICES-{devices}}}"')
            body.append("")

        words = Words()
        exported = [e for e in env if e.name not in BASH_OWNED]
        passed = [e for e in env if e.name in BASH_OWNED]
        # Every value that reads a host variable is expanded before the first export, so
        # that it reads the host's environment, as on every other target, and not a value
        # this script exported a line earlier.
        snapshots: list[str] = []

        def word(value: Value, prefix: str = "") -> str:
            if not value.host_vars:
                return words.word(value, prefix)
            name = f"__b00t_v{len(snapshots) + 1}"
            rhs = words.word(value)
            snapshots.extend(words.flush())
            snapshots.append(f"{name}={rhs}")
            return f'{quote(prefix)}"${name}"' if prefix else f'"${name}"'

        export_lines = [f"export {e.name}={word(e.value)}" for e in exported]
        exec_words = ["exec"]
        if passed:
            first = job.container.command[0].literal
            if first is None or "=" in first or first.startswith("-"):
                ctx.error(
                    "E0601",
                    f"env {passed[0].name} is a variable bash owns, so the script passes it "
                    "through /usr/bin/env, which cannot run a command whose name contains '=' "
                    "or starts with '-' or a host variable",
                    self.file,
                    passed[0].path or passed[0].value.path,
                )
                return None
            exec_words.append("/usr/bin/env")
            exec_words.extend(word(e.value, prefix=f"{e.name}=") for e in passed)
        elif job.container.command[0].literal is None or job.container.command[0].literal.startswith("-"):
            exec_words.append("--")  # a command from a host variable may start with '-' too
        exec_words.extend(word(v) for v in argv)
        body.extend(snapshots)
        body.extend(words.flush())
        body.extend(export_lines)
        if exported or snapshots:
            body.append("")
        body.extend(words.flush())
        body.append(" ".join(exec_words))
        return _script(header(self.unit, notes), body, _needs_sc2016(body))

    def notes(self) -> list[str]:
        job, ctx = self.job, self.ctx
        out = [
            f"Runs {job.name} on this host: the image {_image_text(job.container.image)} is not "
            "used; the exit code is the job's.",
        ]
        for s in job.requires:
            out.append(f"requires stack {s.name}: start it first ({s.name}.sh up)")
        orch = job.orchestration
        if orch.queue_name or orch.schedule_type == "queue_based":
            out.append(
                f"queue {orch.queue_name or '(default)'}: bash has no queue, the job runs at once"
            )
        res = job.resources
        limits = []
        if res.cpu_millis:
            limits.append(f"cpu {res.cpu or cpus(res.cpu_millis)}")
        if res.memory_bytes:
            limits.append(f"memory {res.memory or res.memory_bytes}")
        if limits:
            what = " and ".join(limits)
            ctx.cannot_express(
                f"{what} limits (a script cannot bound a process's cpu or memory without "
                "breaking runtimes that reserve address space)",
                self.file,
                res.cpu_path or res.memory_path or res.path,
                help="run the job under systemd (CPUQuota=, MemoryMax=) or a container target",
            )
            out.append(f"requested {what}: not enforced")
        return out

    def gpu_check(self, gpu: Gpu) -> list[str]:
        job = self.job
        warn_gpu_count_only(gpu, self.ctx, self.file, "the script",
                            "set CUDA_VISIBLE_DEVICES to the GPUs to use before running the script")
        lines = [f"# needs {gpu.count} GPU(s)" + (f" of type {gpu.type}" if gpu.type else "")]
        if gpu.shared:
            lines[0] += ", shared"
        need = f"b00tc: {job.name} needs {gpu.count} NVIDIA GPU(s)"
        lines += [
            "if ! command -v nvidia-smi >/dev/null 2>&1; then",
            f'  echo "{need}, but nvidia-smi is not installed" >&2',
            "  exit 1",
            "fi",
            "gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)",
            f"if ((gpus < {gpu.count})); then",
            f'  echo "{need}; nvidia-smi -L lists $gpus" >&2',
            "  exit 1",
            "fi",
        ]
        return lines


# ---------------------------------------------------------------------------
# Stack


class _StackScript:
    def __init__(self, unit: Unit, stack: Stack, ctx: Context) -> None:
        self.unit, self.stack, self.ctx = unit, stack, ctx
        self.words = Words(ref_for_member(stack))

    def render(self) -> Optional[str]:
        stack, ctx = self.stack, self.ctx
        notes = [f"Usage: {stack.name}.sh [up|down|status|logs [-f]]   (up is the default)"]
        notes += [f"{s.datum}: not a container datum, skipped" for s in stack.skipped]
        notes += warn_unserved(stack, ctx)
        notes += stack_resources(stack, ctx)

        runs: list[str] = []
        ok = True
        for member in stack.members:
            lines = self.member(member)
            if lines is None:
                ok = False
            else:
                runs.extend(lines)
        if not ok:
            return None
        names = [container_name(stack, m) for m in stack.members]
        body = ['runtime=${B00T_CONTAINER_RUNTIME:-docker}', ""] + (START if runs else []) + ["up() {"]
        net = network(stack)
        if runs:
            body.append(f'  "$runtime" network inspect {net} >/dev/null 2>&1 || "$runtime" network create '
                        f'--label app.kubernetes.io/managed-by=b00tc --label app.kubernetes.io/part-of={stack.name} '
                        f'{net} >/dev/null')
        body.extend(runs or ["  :"])
        body.append("}")
        body.append("")
        body.append("down() {")
        body.append(f'  "$runtime" rm -f {" ".join(names)}' if names else "  :")
        if names:
            body.append(f'  "$runtime" network rm {net} >/dev/null 2>&1 || true')
        body.append("}")
        body.append("")
        body.append("status() {")
        body.append(
            '  "$runtime" ps --all --filter label=app.kubernetes.io/managed-by=b00tc '
            f"--filter label=app.kubernetes.io/part-of={stack.name}"
        )
        body.append("}")
        body.append("")
        # each container's output with its name before every line; -f follows them all
        # a read loop, not sed: sed buffers its output on a pipe, and `logs -f` would show
        # nothing until 4 KiB had come
        body.append("log_of() {")
        body.append("  local c=$1 line")
        body.append("  shift")
        body.append('  "$runtime" logs "$@" "$c" 2>&1 | while IFS= read -r line || [ -n "$line" ]; do')
        body.append("    printf '%s | %s\\n' \"$c\" \"$line\"")
        body.append("  done")
        body.append("}")
        body.append("")
        body.append("logs() {")
        if names:
            body.append('  if [ "${1:-}" = -f ]; then')
            body.extend(f"    log_of {n} -f &" for n in names)
            body.append("    wait")
            body.append("  else")
            body.extend(f"    log_of {n}" for n in names)
            body.append("  fi")
        else:
            body.append("  :")
        body.append("}")
        body.append("")
        body.append('case "${1:-up}" in')
        body.append("  up) up ;;")
        body.append("  down) down ;;")
        body.append("  status) status ;;")
        body.append('  logs) logs "${2:-}" ;;')
        body.append("  *)")
        body.append(f'    echo "usage: {stack.name}.sh [up|down|status|logs [-f]]" >&2')
        body.append("    exit 2")
        body.append("    ;;")
        body.append("esac")
        return _script(header(self.unit, notes), body, _needs_sc2016(runs))

    def member(self, member: Member) -> Optional[list[str]]:
        """The member's ``start NAME <docker run options and arguments>`` line."""
        stack, ctx = self.stack, self.ctx
        file = member.file
        c = member.container
        values = [c.image, *c.command, *c.args] + [e.value for e in member.env]
        if not all([check_nul(v, f"a value of member {member.name}", ctx, file) for v in values]):
            return None
        warn_container_name(stack, member, ctx)

        comments = [f"  # {comment(member.name)} ({comment(member.datum)})"]
        if member.hint:
            comments.append(f"  # {comment(member.hint)}")
        opts: list[str] = ["--name", container_name(stack, member)]
        opts += ["--network", network(stack), "--network-alias", member.name]
        for label in labels(stack, member):
            opts += ["--label", quote(label)]
        for spec in publish_specs(stack, member):
            opts += ["-p", quote(spec)]
        for mount in member.mounts:
            opts += ["-v", self.volume(mount)]
        for e in member.env:
            opts += ["-e", self.words.word(e.value, prefix=f"{e.name}=")]
        if member.restart:
            opts += ["--restart", quote(member.restart)]
        opts += [w for flag, val in health_flags(member) for w in (flag, quote(val))]
        opts += docker_resources(member, ctx)
        entry, rest = entrypoint(c)
        if entry is not None:
            opts += ["--entrypoint", self.words.word(entry)]

        args = [self.words.word(c.image)] + [self.words.word(v) for v in rest]
        pairs = _pairs(opts) + [" ".join(args)]
        lines = comments + self.words.flush("  ") + [f"  start {container_name(stack, member)} \\"]
        lines += [f"    {p} \\" for p in pairs[:-1]] + [f"    {pairs[-1]}"]
        return lines

    def volume(self, mount: Mount) -> str:
        """``-v source:target[:ro]``; a bind source starting with ``~`` keeps its tilde
        prefix unquoted so that bash expands it (docker does not)."""
        suffix = mount_suffix(mount)
        m = re.fullmatch(r"(~[A-Za-z0-9._-]*)(/.*)?", mount.source, re.S)
        if mount.kind == "bind" and m:
            rest = (m.group(2) or "/")[1:]
            # the tilde prefix ends at the first unquoted '/': keep that slash bare
            return m.group(1) + "/" + quote(rest + suffix)
        return quote(mount.source + suffix)


def _pairs(opts: list[str]) -> list[str]:
    """Flags with their values, one per line: ``--name x``."""
    return [f"{opts[i]} {opts[i + 1]}" for i in range(0, len(opts), 2)]


def _image_text(image: Value) -> str:
    return comment("".join(p.text if type(p) is Lit else "${...}" for p in image.parts))


def _script(head: list[str], body: list[str], literal_dollars: bool) -> str:
    lines = ["#!/usr/bin/env bash"] + [f"# {comment(h)}".rstrip() for h in head]
    if literal_dollars:
        lines.append("# shellcheck disable=SC2016 # literals are single-quoted on purpose")
    lines += ["set -euo pipefail", ""]
    lines += body
    return "\n".join(lines).rstrip("\n") + "\n"
