"""Property tests: generated datums across the whole datum language, compiled for all five
targets, judged by each target's validators and read back the way each target reads them.

What is generated (``scenarios``)
---------------------------------
One example is a folder with a job ``<job>.job.toml``, a stack ``<stack>.stack.toml`` and
its 1-3 docker members ``<member>.docker.toml`` (sometimes also a ``tool.cli`` /
``kubernetes.mcp`` member, skipped with W0101), written by the TOML writer of this file
(tomllib only reads: basic strings with ``\\uXXXX`` for every control character, or
literal strings) and built in-process by ``tests.helpers.compile_`` for all five targets,
both roots in one build, with a generated host environment:

- both datum shapes, chosen section by section: ``[b00t.container]`` or ``[b00t]
  image/command/args`` (a command as one string or a list), ``[b00t.dependencies]`` or
  ``[b00t.orchestration] requires_stacks/wait_for_services``, ``[b00t.resources]`` or
  ``resource_requirements`` (table or inline, with the ignored ``gpu`` key) and
  ``gpu_requirements``, budget keys or ``budget_constraint``, ``gpu_affinity`` or
  ``schedule_type = "gpu_affinity"`` + ``gpu_batch_group``, ``[b00t.env]`` or top-level
  ``[env]``; informational keys (``version``, ``tags``, ``[b00t.learn]``, ``desires``...);
- members with ports (``-p``/``--publish``/``--publish=``/``-p=``/``-pSPEC``; host port or
  not, host IP, ``/udp``, explicit ``/tcp``), named volumes and bind mounts (absolute,
  relative, ``~/``, ``:ro``/``:rw``, paths with hostile characters), restart policies,
  ``--name``, ``--gpus N|all``, ``-e NAME=VALUE`` / ``-e NAME`` and unknown flags (W0102);
- ``[b00t.services]`` (served by a member of the same name or by none, with or without a
  protocol) and the services published ports make;
- a job that requires the stack (or not), with ``wait_for_services`` (``svc`` or
  ``svc:port``) and references ``${STACK:stack:svc:endpoint|host|port|protocol}``, also
  as ``$<STACK:...>`` and with a port number (the legacy spelling of the service's own
  port, or another published port of its member); members and the stack's env
  reference their own stack;
- shell host variables with every operator (``${V}``, ``:-``, ``-``, ``:?``, ``?``; the
  host environment has each variable unset, empty or set, and an operator is drawn that
  resolves on every target), defaults and messages with hostile text;
- resources: cpu as int, float, ``"500m"`` or a decimal string; memory with every unit
  (``Ki``..``Ti``, ``k``/``K``..``T``, ``B`` suffix, a space, halves, bytes as an int);
  GPUs (count, ``<vendor>-<model>`` of nvidia/amd/intel or none, shared, memory);
  orchestration: schedule types, queue names, batch groups, GPU affinity, budgets
  (hostile strings among them: they land in annotations, labels, meta and comments);
- hostile literals in env values, command, args, images and hints: ``$``, ``${`` (written
  ``$${``), ``$$``, ``$(``, ``%``, ``%{``, ``{{``, quotes, backslashes, newlines, tabs,
  every NUL-free control character (C0, DEL, C1), leading/trailing blanks, YAML words
  (yes/no/on/null/~/0x1F/1e3/0o17/...), bash reserved words, Unicode (astral, combining,
  bidi, U+2028, BOM) and random code points -- Unicode noncharacters in hints and
  orchestration strings only (in a value they are E0601 on systemd:
  test_cannot_carry_is_a_clear_error); each ``$`` of a literal written ``$$`` or, where
  the language allows, alone.

Properties
----------
``test_all_targets`` (every example): the build has no error; the all-canonical spelling
of the same example gives byte-identical files and the same diagnostic codes; each output
passes the in-process validators (kubernetes-validate strict 1.33 + ``check_manifests``;
the compose-spec schema vendored by check-jsonschema, through jsonschema; python-hcl2 +
``check_jobspec``; ``bash -n``; the systemd reference reader); and every value arrives:
argv, env, image of the job and of every member, ports, volumes, restart policy,
cpu/memory/GPU amounts and the orchestration strings, read back

- k8s: PyYAML + the kubelet's ``$(VAR)`` expansion (current and pre-UTF-8-fix), every name
  the literals spell defined, and each ``secretKeyRef`` read from the build's Secrets as
  deploy resolves them with the scenario's host environment
  (``tests/test_literals.k8s_reading``, ``k8s_store_values``);
- compose: docker-compose 1.29's own reading, in one long-lived worker process
  (``ComposeWorker``: the functions ``docker-compose config`` calls, as JSON), with the
  host environment and every spelled name set; the raw YAML for ports and volumes;
- Nomad: HCL decoding, Go text/template + go-envparse of the env templates, ReplaceEnv of
  the env block and the task-start evaluation of driver config (``nomad_read``, from
  ``tests/test_literals.nomad_reading`` with the example's service catalog);
- bash: the scripts RUN. The job script runs unchanged with ``BASH_ENV`` defining a
  function ``exec`` (functions take precedence over builtins outside POSIX mode): the
  script's waits (against real listening sockets), GPU check (an ``nvidia-smi`` stand-in)
  and exports all run, and the final ``exec`` records its words -- expanded by bash
  exactly as for the builtin -- and ``/usr/bin/env -0`` from the same shell, i.e. the argv
  and environment the program would get; they are read as ``exec`` and ``/usr/bin/env``
  read them (see EXEC_RECORDER for the one adjustment the wait loop needs). This covers
  the original command, which a ``printf``/``env -0`` variant of the datum would replace,
  at the cost of one bash and one env process (~10 ms). The stack script runs ``up`` with
  a recording container runtime; its ``docker run`` words are read as the docker CLI
  reads them;
- systemd: the reference reader of tests/backends/test_systemd.py (``Parsed``) for the job
  unit (through ``/usr/bin/env`` as env reads it) and the members' ``docker run``.

``test_slow_tools`` (a few examples): ``docker-compose config -q``, ``shellcheck``,
``systemd-analyze verify``, systemd's own loader (``systemd --test``) reading argv and env
of the job and member units, and the real ``docker-compose config`` command line agreeing
with the worker.

``test_nul_is_a_clear_error``: a NUL in any datum string is E0601 in that file on every
target; in a host variable's value, E0601 on k8s, Nomad and systemd.
``test_cannot_carry_is_a_clear_error``: besides NUL no character is beyond a target's
syntax except the Unicode noncharacters on systemd (bug 8 below); what depends on where a
value goes is E0601 on that target only: ``=`` in a command systemd (or bash, with a
bash-owned variable) runs through /usr/bin/env, a bash-owned variable with a command
starting with ``-`` or from a host variable, a published member whose name is not a
DNS-1035 label (k8s Service).

Bugs found (reproducers at the end of the file): all eleven have been fixed (1-7 in
b50aa09, 8 in 15cb336, 9-11 later) and their reproducers are regression tests: 9 (a
member's ``--gpus N`` with ``gpu_memory``: now N GPUs), 10 (two mounts at one container
path: now E0110; the generator makes one mount per path) and 11 (a hint with a Unicode
noncharacter in systemd's Description=: now U+FFFD there, which test_slow_tools has
systemd itself read).

Budget and longer runs
----------------------
By default each property runs a small fixed number of derandomized examples
(``DEFAULT_EXAMPLES``; the whole file takes about 60 s on 2 cores), with
``deadline=None`` and no example database. ``B00TC_PROPERTY_EXAMPLES=N`` runs N random
examples per property (N // 15, at least 5, for test_slow_tools), a fresh seed each run::

    B00TC_PROPERTY_EXAMPLES=2000 python -m pytest tests/test_properties.py -q

The last test prints how many generated examples ran per test and target.
"""

from __future__ import annotations

import collections
import json
import math
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import hcl2
import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from b00tc.frontend.refs import parse_value
from b00tc.ir import HostVar, Lit
from tests.backends.test_compose import parse_memory
from tests.backends.test_k8s import check_manifests, k8s_secrets, parse_quantity
from tests.backends.test_nomad import (
    attrs,
    blocks,
    check_jobspec,
    hcl_decode,
    job_parts,
    one,
    replace_env,
    task_env,
)
from tests.backends.test_nomad import s as hcl_str
from tests.backends.test_systemd import Parsed, dollars, dump_commands, read_env_file, systemd_dump
from tests.helpers import TARGETS, compile_, files, rendered
from tests.test_literals import (
    Expect,
    defined_for,
    env_of,
    k8s_container,
    k8s_reading,
    nomad_config_eval_token,
    nomad_task,
    nul_split,
)

ROOT = Path(__file__).resolve().parent.parent
BASH = shutil.which("bash") or "/bin/bash"

# ---------------------------------------------------------------------------
# Settings: small, derandomized and fast by default; long and random on request

PROPERTY_N = int(os.environ.get("B00TC_PROPERTY_EXAMPLES", "0") or 0)

#: examples per test in the default run (about 60 s on 2 cores for the whole file)
DEFAULT_EXAMPLES = {"all_targets": 110, "slow_tools": 5, "nul": 60, "cannot_carry": 40}


def prop_settings(kind: str):
    n = DEFAULT_EXAMPLES[kind]
    if PROPERTY_N:
        n = PROPERTY_N if kind not in ("slow_tools",) else max(5, PROPERTY_N // 15)
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=not PROPERTY_N,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.function_scoped_fixture,  # the autouse chdir of conftest.py
        ],
    )


#: generated examples that ran, per test kind and target (reported by the last test)
RAN: collections.Counter = collections.Counter()
STARTED = time.monotonic()


# ---------------------------------------------------------------------------
# Hostile literal text

#: whole values that YAML 1.1/1.2 readers type as something else than a string
YAML_WORDS = [
    "yes", "no", "on", "off", "y", "N", "true", "False", "null", "Null", "~", "0x1F", "1e3",
    "0o17", "012", "-1", "+1", ".inf", ".NaN", "12:30", "2024-01-01", "=", "<<", "", " ",
    "- x", "? x", "*a", "&a", "!tag", "%YAML", "---", "...", "#", "|", ">",
]

#: pieces of text that some layer between the datum and the process could rewrite
FRAGMENTS = [
    # the datum language's and the targets' own dollar syntax
    "$", "$", "${", "$$", "$${", "$(", "$(date)", "$HOME", "${HOME}", "$1", "$@", "$*", "$?",
    "$<", "$<STACK:", "${x", "$}", "$ ", "${node.unique.id}", "${NOMAD_TASK_DIR}",
    "$(VAR_A)", "$$(x)", "${a-b}", "${a:-b}",
    # systemd specifiers, HCL directives, Go templates
    "%", "%%", "%{", "%{x}", "%n", "%i", "%h", "%%{", "%{ if true }", "{{", "}}", "{{ .X }}",
    "{", "}", "{%", '{{ "x" }}', "{{-",
    # quoting
    "'", '"', "`", "\\", "\\n", "\\\\", "\\'", '\\"', "'\\''", "\\x41", "\\u0041",
    # control characters (NUL excepted: it is E0601, see test_nul_is_a_clear_error)
    "\n", "\t", "\r", "\r\n", "\x01", "\x1b[31m", "\x7f", "\x0b", "\x0c", "\x1f", "\x08",
    "\x85", "\x9f", "\x80",
    # shell and unit-file metacharacters
    " ", "  ", "#", ";", "&", "|", "*", "?", "!", "~", "~/", "=", ":", ": ", "- ", "-", "--",
    ">", "<", "@", ",", "[", "]", "(", ")", "^", "\\;",
    # bash reserved words, YAML words inside text
    "done", "fi", "esac", "yes", "no", "null", "0x1F", "1e3",
    # unicode
    "ünïcødé", "日本語", "🙂", "\u2028", "\u2029", "\ufeff", "\u200b", "e\u0301", "\u202e",
    "\ufffd", "\uffff", "\U0010ffff", "\xa0",
]

_ANY_CHAR = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def hostile_text(max_parts: int = 5) -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(FRAGMENTS), st.text(_ANY_CHAR, max_size=3))
    joined = st.lists(piece, max_size=max_parts).map("".join)
    padded = st.tuples(st.sampled_from([" ", "  ", "\t", "\n"]), joined,
                       st.sampled_from(["", " ", "\n", "  "])).map("".join)
    return st.one_of(joined, joined, st.sampled_from(YAML_WORDS), padded)


def no_brace(text: str) -> str:
    """A host variable's default or message ends at the first ``}`` (grammar/ref.lark)."""
    return text.replace("}", "")


# ---------------------------------------------------------------------------
# The model: what a generated example means

#: host variables: k8s, Nomad and systemd read them from the build's host environment,
#: compose and bash from the environment they run in (the same one in these tests)
HOST_VAR_NAMES = ("HV_A", "HV_B", "HV_C", "GREETING", "MAYBE", "TAG")

#: env names with a meaning of their own somewhere (bash's variables, the docker CLI's,
#: the loader's, YAML words), plus the host variables' names (a value may read the host's
#: GREETING while the datum defines its own GREETING)
SPECIAL_ENV_NAMES = (
    "HOME", "PWD", "OLDPWD", "SHLVL", "IFS", "_", "BASH_ENV", "RANDOM", "LINENO", "OPTIND",
    "PATH", "CDPATH", "PS4", "SHELLOPTS", "POSIXLY_CORRECT", "BASHOPTS", "GROUPS", "LANG",
    "TMPDIR", "HTTP_PROXY", "no_proxy", "DOCKER_HOST", "DOCKER_CONFIG", "LD_LIBRARY_PATH",
    "CUDA_VISIBLE_DEVICES", "yes", "NULL", "x", "_1",
) + HOST_VAR_NAMES

#: names this harness itself relies on when it runs the bash scripts
HARNESS_NAMES = re.compile(r"B00T_.*|LD_PRELOAD|LD_AUDIT|NOMAD_.*|BASH_FUNC.*|STACK")

#: variables bash owns (b00tc.backends.bash.BASH_OWNED, found by running bash): a job
#: whose env sets one passes it through /usr/bin/env, which cannot run every command
BASH_OWNED_NAMES = frozenset(
    """BASHOPTS BASHPID BASH_ALIASES BASH_ARGC BASH_ARGV BASH_ARGV0 BASH_CMDS BASH_COMMAND
    BASH_COMPAT BASH_ENV BASH_LINENO BASH_REMATCH BASH_SOURCE BASH_SUBSHELL BASH_VERSINFO
    BASH_VERSION BASH_XTRACEFD DIRSTACK EPOCHREALTIME EPOCHSECONDS EUID FUNCNAME GLOBIGNORE
    GROUPS HISTCMD IFS LINENO OPTIND PIPESTATUS POSIXLY_CORRECT PPID RANDOM SECONDS
    SHELLOPTS SHLVL SRANDOM UID _""".split()
)

SCHEDULE_TYPES = ("queue_based", "budget_aware", "time_based", "resource_based", "monitoring")
PROTOCOLS = ("http", "https", "postgres", "redis", "grpc", "tcp", "udp", "h2c", "s3+https")
RESTARTS = ("no", "always", "unless-stopped", "on-failure", "on-failure:3")


@dataclass
class Val:
    """A datum string as parts: ("lit", text), ("var", name, op, arg), ("ref", service,
    field) with field endpoint/host/port/protocol or a port number."""

    parts: list

    def datum_text(self, stack: str, services: dict, rng=None) -> str:
        """The datum spelling. ``rng`` None is the canonical spelling (every ``$`` of a
        literal doubled, ``${STACK:...:endpoint}``); otherwise each choice the language
        allows is made at random (a lone ``$``, ``$<STACK:...>``, the legacy port number
        for the service's own port)."""
        out = []
        for p in self.parts:
            if p[0] == "lit":
                text = p[1]
                for i, c in enumerate(text):
                    nxt = text[i + 1] if i + 1 < len(text) else None
                    if c != "$":
                        out.append(c)
                    elif nxt is None or nxt in "{$<" or rng is None or rng.random() < 0.5:
                        out.append("$$")
                    else:
                        out.append("$")
            elif p[0] == "var":
                _, name, op, arg = p
                out.append(f"${{{name}{op}{arg}}}")
            else:
                _, svc, fld = p
                last = str(fld)
                if fld == "endpoint" and rng is not None and rng.random() < 0.4:
                    last = str(services[svc].port)  # the legacy spelling of the same thing
                if rng is not None and rng.random() < 0.3:
                    out.append(f"$<STACK:{stack}:{svc}:{last}>")
                else:
                    out.append(f"${{STACK:{stack}:{svc}:{last}}}")
        return "".join(out)

    @property
    def has_var(self) -> bool:
        return any(p[0] == "var" for p in self.parts)


@dataclass
class Svc:
    """A service of the stack, as the datum language defines it."""

    name: str
    port: int
    protocol: str
    member: str | None  # the member that serves it (same name), None when none does
    published: dict  # container port -> host port, of the member's -p with a host port
    ports: tuple  # every container port of the member

    def host_port(self, port: int) -> int:
        """Where the direct targets reach ``port`` on this host: the published host
        port, else the port itself (a port without a fixed host port is published on
        the same number)."""
        return self.published.get(port, port)


@dataclass
class Res:
    cpu: object = None  # the TOML value as written
    millis: int = 0
    memory: object = None
    mem_bytes: int = 0
    gpu_count: int | None = None
    gpu_type: str | None = None
    gpu_shared: bool | None = None
    gpu_memory: str | None = None


@dataclass
class Orch:
    schedule_type: str | None = None
    queue_name: str | None = None
    batch_group: str | None = None
    gpu_affinity: str | None = None
    daily_limit: object = None
    cost_per_job: object = None
    on_exceeded: str | None = None


@dataclass
class Port:
    container: int
    host: int | None
    ip: str  # "", "127.0.0.1" or "::1"
    proto: str  # "tcp" or "udp"
    spelling: tuple  # (flag style, explicit /tcp)


@dataclass
class MountM:
    source: str
    target: str
    ro: bool
    rw_written: bool
    spelling: str


@dataclass
class MemberM:
    name: str
    image: Val
    command: list
    args: list
    env: dict  # [b00t.env]
    docker_env: list  # (name, Val or None) from -e
    ports: list
    mounts: list
    restart: str | None
    cname: str | None
    gpus_flag: str | None
    unknown_args: list
    res: Res
    orch: Orch
    hint: str | None
    shape: dict


@dataclass
class StackM:
    name: str
    members: list
    skipped: list  # "<name>.cli"
    services: dict  # declared: name -> (port, protocol or None)
    env: dict
    res: Res
    orch: Orch
    hint: str | None
    shape: dict


@dataclass
class JobM:
    name: str
    image: Val
    command: list
    args: list
    env: dict
    requires: bool
    waits: list  # (service, port or None)
    res: Res
    orch: Orch
    hint: str | None
    shape: dict


@dataclass
class Scenario:
    host_env: dict
    stack: StackM
    job: JobM
    table: dict  # service name -> Svc
    seed: int
    catalog: dict = field(default_factory=dict)  # Nomad's service catalog in the readings

    @property
    def members(self) -> list:
        return self.stack.members


# ---------------------------------------------------------------------------
# Strategies

LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
ENV_NAME = st.one_of(
    st.sampled_from(SPECIAL_ENV_NAMES),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,9}", fullmatch=True),
).filter(lambda n: not HARNESS_NAMES.fullmatch(n))
PATH_CHARS = st.sampled_from(list("abcxyz0189._-") + [" ", "$", "%", "'", '"', "{", "}", "ü",
                                                        "日", "#", ";", "&", "(", "@", "+",
                                                        "=", "!", "*", "\\", "~"])
PATH_SEGMENT = st.lists(PATH_CHARS, min_size=1, max_size=6).map("".join).filter(
    lambda s: s not in (".", "..") and not s.startswith("~")
)
PATH = st.lists(PATH_SEGMENT, min_size=1, max_size=3).map("/".join)


def allowed_ops(state) -> list[str]:
    """The operators under which a host variable in this state resolves on every
    target (an unset ``${V}`` is E0401, a failing ``${V:?m}`` E0402)."""
    if state is None:
        return [":-", "-"]
    if state == "":
        return [":-", "-", "?"]
    return ["", ":-", "-", ":?", "?"]


@st.composite
def values(draw, host_env: dict, table: dict, refs: bool = True, vars_: bool = True,
           min_parts: int = 0, max_parts: int = 4, lit=None) -> Val:
    kinds = ["lit", "lit", "lit"] + (["var"] if vars_ else []) + (["ref"] if refs and table else [])
    parts: list = []
    for _ in range(draw(st.integers(min_parts, max_parts))):
        kind = draw(st.sampled_from(kinds))
        if kind == "lit":
            text = draw(lit if lit is not None else hostile_text())
            if parts and parts[-1][0] == "lit":
                parts[-1] = ("lit", parts[-1][1] + text)
            elif text:
                parts.append(("lit", text))
        elif kind == "var":
            name = draw(st.sampled_from(HOST_VAR_NAMES))
            op = draw(st.sampled_from(allowed_ops(host_env.get(name))))
            arg = "" if op == "" else draw(hostile_text(3).map(no_brace))
            parts.append(("var", name, op, arg))
        else:
            svc = table[draw(st.sampled_from(sorted(table)))]
            fld = draw(st.sampled_from(["endpoint", "host", "port", "protocol", "number"]))
            if fld == "number":
                fld = draw(st.sampled_from(sorted({svc.port, *svc.ports})))
            parts.append(("ref", svc.name, fld))
    return Val(parts)


def lit_val(text: str) -> Val:
    return Val([("lit", text)] if text else [])


@st.composite
def cpus(draw):
    millis = draw(st.one_of(st.integers(1, 4000), st.integers(1, 64).map(lambda n: n * 1000),
                            st.sampled_from([500, 250, 1500, 100])))
    if millis % 1000 == 0:
        written = draw(st.sampled_from([millis // 1000, float(millis // 1000), str(millis // 1000),
                                        f"{millis}m"]))
    else:
        dec = format((Decimal(millis) / 1000).normalize(), "f")
        written = draw(st.sampled_from([f"{millis}m", millis / 1000, dec]))
    return written, millis


MEM_UNITS = [("", 1), ("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("Ti", 2**40), ("k", 10**3),
             ("K", 10**3), ("M", 10**6), ("G", 10**9), ("T", 10**12)]


@st.composite
def memories(draw, big: bool = True):
    unit, mult = draw(st.sampled_from(MEM_UNITS if big else MEM_UNITS[:4]))
    if unit in ("Ti", "T"):
        n = Decimal(draw(st.integers(1, 4)))
    else:
        n = Decimal(draw(st.integers(1, 4096)))
        if unit and draw(st.booleans()):
            n = n + Decimal("0.5")  # whole bytes for every unit but bytes
    total = n * mult
    if unit == "" and draw(st.booleans()):
        return int(total), int(total)
    suffix = unit + ("B" if unit and draw(st.integers(0, 4)) == 0 else "")
    space = " " if draw(st.integers(0, 6)) == 0 else ""
    return f"{n}{space}{suffix}", int(total)


LABELISH = st.one_of(LABEL, st.sampled_from(["llama-70b", "gpu.batch_1", "A100", "q"]))


@st.composite
def resources(draw, gpu: bool = True) -> Res:
    r = Res()
    if draw(st.booleans()):
        r.cpu, r.millis = draw(cpus())
    if draw(st.booleans()):
        r.memory, r.mem_bytes = draw(memories())
    if gpu and draw(st.integers(0, 2)) == 0:
        r.gpu_count = draw(st.one_of(st.none(), st.integers(1, 4)))
        vendor = draw(st.sampled_from(["nvidia-", "amd-", "intel-", "", "nvidia-"]))
        model = draw(st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,6}[a-z0-9])?", fullmatch=True))
        r.gpu_type = draw(st.one_of(st.none(), st.just(vendor + model)))
        r.gpu_shared = draw(st.one_of(st.none(), st.booleans()))
        if draw(st.integers(0, 2)) == 0:
            r.gpu_memory = draw(memories(big=False))[0]
            if not isinstance(r.gpu_memory, str):
                r.gpu_memory = str(r.gpu_memory)
        if r.gpu_count is None and r.gpu_type is None and r.gpu_memory is None \
                and r.gpu_shared is None:
            r.gpu_count = 1  # (gpu_shared alone asks for no GPU)
    return r


MONEY = st.one_of(st.integers(0, 500), st.integers(0, 50000).map(lambda c: c / 100),
                  st.floats(0.001, 1000, allow_nan=False, allow_infinity=False))


@st.composite
def orchestrations(draw, budget: bool = True) -> Orch:
    o = Orch()
    odd = hostile_text(3).filter(bool)
    if draw(st.booleans()):
        o.schedule_type = draw(st.sampled_from(SCHEDULE_TYPES))
    if draw(st.integers(0, 2)) == 0:
        o.queue_name = draw(st.one_of(LABELISH, odd))
    if draw(st.integers(0, 2)) == 0:
        o.batch_group = draw(st.one_of(LABELISH, odd))
    if draw(st.integers(0, 2)) == 0:
        o.gpu_affinity = draw(st.one_of(LABELISH, odd))
    if budget and draw(st.integers(0, 2)) == 0:
        o.daily_limit = draw(st.one_of(st.none(), MONEY))
        o.cost_per_job = draw(st.one_of(st.none(), MONEY))
        o.on_exceeded = draw(st.one_of(st.none(), st.sampled_from(["defer", "reject", "alert"]),
                                       odd))
    return o


def shapes(kind: str) -> st.SearchStrategy[dict]:
    """Which shape each section of a datum is written in (False: canonical)."""
    keys = {
        "job": ["container", "scalar_command", "deps", "resources", "res_inline", "gpu",
                "budget", "affinity", "top_env", "literal_strings"],
        "stack": ["deps", "resources", "res_inline", "gpu", "budget", "affinity", "top_env",
                  "literal_strings"],
        "member": ["container", "scalar_command", "resources", "res_inline", "gpu", "top_env",
                   "literal_strings", "ignored_keys"],
    }[kind]
    return st.fixed_dictionaries({k: st.booleans() for k in keys})


@st.composite
def scenarios(draw, digit_member: bool = False) -> Scenario:
    """One example (see the module docstring). ``digit_member``: the first member's name
    starts with a digit and it publishes a port (test_cannot_carry_is_a_clear_error)."""
    seed = draw(st.integers(0, 2**32 - 1))
    # --- host environment
    host_env: dict = {}
    for name in HOST_VAR_NAMES:
        state = draw(st.sampled_from(["unset", "empty", "set", "set"]))
        if state == "empty":
            host_env[name] = ""
        elif state == "set":
            host_env[name] = draw(hostile_text(4).filter(bool))
    # --- names
    n_members = draw(st.integers(1, 3))
    n_unserved = draw(st.integers(0, 1))
    names = draw(st.lists(LABEL, min_size=2 + n_members + n_unserved,
                          max_size=2 + n_members + n_unserved, unique=True))
    stack_name, job_name, *rest = names
    member_names, unserved = rest[:n_members], rest[n_members:]
    if digit_member:
        member_names[0] = draw(st.sampled_from("0123456789")) + member_names[0]
        if member_names[0] in names:
            member_names[0] += "-9"
    if any(job_name == f"{stack_name}-{m}" for m in member_names) or any(
        n.startswith("wait-for-") for n in names
    ):
        job_name = "job-" + job_name[:40]
    host_ports = iter(draw(st.lists(st.integers(20000, 45000), min_size=12, max_size=12,
                                    unique=True)))
    volume_pool = draw(st.lists(st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,8}", fullmatch=True),
                                min_size=1, max_size=2))

    # --- members: structure first (services come from published ports)
    members = []
    for m in member_names:
        cports = draw(st.lists(st.one_of(st.integers(1024, 65535),
                                         st.sampled_from([80, 443, 5432, 8080, 6379, 9000])),
                               min_size=1 if digit_member and m == member_names[0] else 0,
                               max_size=2, unique=True))
        ports = []
        for c in cports:
            host = next(host_ports) if draw(st.integers(0, 3)) else None
            ip = draw(st.sampled_from(["", "", "", "127.0.0.1", "::1"])) if host else ""
            proto = "udp" if draw(st.integers(0, 7)) == 0 else "tcp"
            spelling = (draw(st.sampled_from(["-p", "--publish", "--publish=", "-p=", "-p+"])),
                        draw(st.booleans()))
            ports.append(Port(c, host, ip, proto, spelling))
        mounts = []
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(["volume", "abs", "rel", "home"]))
            source = {
                "volume": draw(st.sampled_from(volume_pool)),
                "abs": "/" + draw(PATH),
                "rel": "./" + draw(PATH),
                "home": "~/" + draw(PATH),
            }[kind]
            ro = draw(st.booleans())
            target = "/" + draw(PATH)
            if any(mt.target == target for mt in mounts):
                continue  # docker refuses a second mount at one path: E0110 (bug 10, fixed)
            mounts.append(MountM(source, target, ro, (not ro) and draw(st.booleans()),
                                 draw(st.sampled_from(["-v", "--volume", "--volume=", "-v+"]))))
        members.append(dict(
            name=m, ports=ports, mounts=mounts,
            restart=draw(st.one_of(st.none(), st.sampled_from(RESTARTS))),
            # docker's container names (known bug 6: b00tc takes any text)
            cname=draw(st.one_of(st.none(), st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,8}",
                                                          fullmatch=True))),
            gpus_flag=draw(st.one_of(st.none(), st.none(), st.sampled_from(["1", "2", "all"]))),
            unknown_args=draw(st.sampled_from([[], [], [], ["--init"], ["--cap-add", "NET_ADMIN"],
                                               ["--shm-size=1g"]])),
        ))

    # --- declared services: some served by a member of the same name, some by none
    declared: dict = {}
    for m in members:
        if draw(st.integers(0, 2)) == 0:
            own = [p.container for p in m["ports"]]
            port = draw(st.one_of(st.sampled_from(own), st.integers(1024, 65535))) if own else \
                draw(st.integers(1024, 65535))
            declared[m["name"]] = (port, draw(st.one_of(st.none(), st.sampled_from(PROTOCOLS))))
    for u in unserved:
        declared[u] = (draw(st.integers(1024, 65535)), draw(st.one_of(st.none(), st.sampled_from(PROTOCOLS))))
    table: dict = {}
    by_name = {m["name"]: m for m in members}
    for name, (port, proto) in declared.items():
        m = by_name.get(name)
        table[name] = Svc(name, port, proto or "http", m["name"] if m else None,
                          {p.container: p.host for p in m["ports"] if p.host} if m else {},
                          tuple(p.container for p in m["ports"]) if m else ())
    for m in members:
        if m["name"] not in declared and m["ports"]:
            first = m["ports"][0]
            table[m["name"]] = Svc(m["name"], first.container, "http", m["name"],
                                   {p.container: p.host for p in m["ports"] if p.host},
                                   tuple(p.container for p in m["ports"]))

    # --- member values (they may reference their own stack's services)
    image_val = values(host_env, {}, refs=False, min_parts=0, max_parts=2,
                       lit=st.sampled_from(["-tag", "x", "$", "1.36", "%{x}", " ", "\u00fc"]))

    def image(draw_):
        base = draw_(st.sampled_from(["busybox", "ghcr.io/org/app", "localhost:5000/x/y", "img"]))
        tail = draw_(image_val).parts
        if not tail:
            return lit_val(base)
        if tail[0][0] == "lit":
            return Val([("lit", base + ":" + tail[0][1])] + tail[1:])
        return Val([("lit", base + ":")] + tail)

    def env_names(n, taken):
        out = []
        for name in draw(st.lists(ENV_NAME, max_size=n, unique=True)):
            if name not in taken:
                out.append(name)
        return out

    member_models = []
    for m in members:
        res = draw(resources()) if draw(st.integers(0, 2)) == 0 else Res()
        env = {n: draw(values(host_env, table)) for n in env_names(3, set())}
        docker_env = []
        for n in env_names(2, set(env)):
            if draw(st.integers(0, 3)) == 0 and host_env.get(n) not in (None, "") and n in HOST_VAR_NAMES:
                docker_env.append((n, None))  # -e NAME: the host's NAME
            else:
                docker_env.append((n, draw(values(host_env, table))))
        n_cmd = draw(st.integers(0, 2))
        member_models.append(MemberM(
            name=m["name"], image=image(draw),
            command=[draw(values(host_env, table, min_parts=1)) for _ in range(n_cmd)],
            args=[draw(values(host_env, table)) for _ in range(draw(st.integers(0, 3)))],
            env=env, docker_env=docker_env, ports=m["ports"], mounts=m["mounts"],
            restart=m["restart"], cname=m["cname"], gpus_flag=m["gpus_flag"],
            unknown_args=m["unknown_args"],
            res=res,
            orch=Orch(gpu_affinity=draw(st.one_of(st.none(), LABELISH)),
                      batch_group=draw(st.one_of(st.none(), st.none(), LABELISH))),
            hint=draw(st.one_of(st.none(), hostile_text(3))),
            shape=draw(shapes("member")),
        ))

    stack = StackM(
        name=stack_name, members=member_models,
        skipped=draw(st.sampled_from([[], [], ["tool.cli"], ["kubernetes.mcp"]])),
        services={k: v for k, v in declared.items()},
        env={n: draw(values(host_env, table)) for n in env_names(3, set())},
        res=draw(resources()) if draw(st.integers(0, 3)) == 0 else Res(),
        orch=draw(orchestrations()),
        hint=draw(st.one_of(st.none(), hostile_text(3))),
        shape=draw(shapes("stack")),
    )

    # --- the job
    requires = draw(st.integers(0, 6)) > 0
    jtable = table if requires else {}
    env_list = env_names(6, set())
    command = [draw(values(host_env, jtable, min_parts=1))
               for _ in range(draw(st.integers(1, 3)))]
    first = draw(st.one_of(
        st.sampled_from(["printf", "/usr/bin/printf", "python3", "-dash", "--", "a b", "it's",
                         "run$x", "/opt/b00t/bin/run", "/a/b-c_d.e", "%n", "yes", "", "~x",
                         "日本", "/opt/tool\n", "/opt/100%", '/opt/say"', "/opt/back\\",
                         "/opt/x y", "/a=b/c"]),
        st.just(None),
    ))
    command[0] = lit_val(first) if first is not None else draw(values(host_env, {}, min_parts=1))
    word = "".join(p[1] if p[0] == "lit" else host_param(*p[1:], host_env) for p in command[0].parts)
    if "=" in word and not SYSTEMD_BARE.fullmatch(word):  # systemd: E0601 (see below)
        command[0] = lit_val("printf")
        word = "printf"
    if command[0].has_var or "=" in word or word.startswith("-"):
        # bash passes bash-owned names through /usr/bin/env, which cannot run this: E0601
        env_list = [n for n in env_list if n not in BASH_OWNED_NAMES]
    waits = []
    if requires and table:
        for svc in draw(st.lists(st.sampled_from(sorted(table)), max_size=2, unique=True)):
            choices = [None, table[svc].port, *table[svc].ports]
            waits.append((svc, draw(st.sampled_from(choices))))
    job = JobM(
        name=job_name, image=image(draw), command=command,
        args=[draw(values(host_env, jtable)) for _ in range(draw(st.integers(0, 4)))],
        env={n: draw(values(host_env, jtable)) for n in env_list},
        requires=requires, waits=waits,
        res=draw(resources()) if draw(st.booleans()) else Res(),
        orch=draw(orchestrations()),
        hint=draw(st.one_of(st.none(), hostile_text(3))),
        shape=draw(shapes("job")),
    )
    sc = Scenario(host_env=host_env, stack=stack, job=job, table=table, seed=seed)
    sc.catalog = {name: [(f"10.7.{i}.{i + 1}", 21000 + 7 * i)] for i, name in enumerate(sorted(table))}
    replace_noncharacters(sc)  # in values: E0601 on systemd
    return sc


# ---------------------------------------------------------------------------
# Known bugs (each has an xfail(strict=True) reproducer at the end of this file). The
# generator steers clear of their triggers so that the properties stay green and keep
# looking for new bugs; delete the predicate with the reproducer when a bug is fixed.
# Bugs 1-8 were fixed (b50aa09, 15cb336) and their triggers are generated again (bug 2
# is now a W0301 that test_all_targets checks, bug 8 an E0601 that
# test_cannot_carry_is_a_clear_error checks; their reproducers are regression tests).

#: an absolute command systemd runs as written on ExecStart= (b00tc.backends.systemd);
#: any other goes through /usr/bin/env, where a '=' in it is an assignment (E0601)
SYSTEMD_BARE = re.compile(r"/[A-Za-z0-9_@+=:,./-]*[A-Za-z0-9_@+=:,.-]")


def nomad_port_ref(svc: Svc, fld) -> bool:
    """``${STACK:s:svc:<port>}`` naming another port of the serving member than the
    service's own: Nomad's service discovery knows the service's port only, so b00tc
    warns (W0301) and the value is not checked on Nomad (formerly bug 2: no warning)."""
    return isinstance(fld, int) and fld != svc.port


def is_noncharacter(c: str) -> bool:
    return 0xFDD0 <= ord(c) <= 0xFDEF or (ord(c) & 0xFFFE) == 0xFFFE


def replace_noncharacters(sc: Scenario) -> None:
    """Noncharacters replaced with U+FFFD, in place, in the example's strings and host
    environment: a value holding one is E0601 on systemd (test_cannot_carry covers it).
    Hints and orchestration strings keep them (systemd's Description= gets U+FFFD in
    their place since the fix of bug 11)."""
    fix = lambda t: t if t is None else "".join("\ufffd" if is_noncharacter(c) else c for c in t)
    for v in all_values(sc):
        v.parts[:] = [(p[0], fix(p[1])) if p[0] == "lit" else
                      (*p[:3], fix(p[3])) if p[0] == "var" else p for p in v.parts]
    sc.host_env.update({k: fix(v) for k, v in sc.host_env.items()})


# ---------------------------------------------------------------------------
# TOML: a writer (tomllib only reads)


class Inline(dict):
    """A table written inline: ``{ port = 80, protocol = "http" }``."""


def toml_str(text: str, literal: bool = False) -> str:
    """A TOML string that reads back as ``text``: a literal string ('...') when asked and
    possible, else a basic string with ``"`` and ``\\\\`` escaped and every control
    character (C0, DEL, C1) as ``\\\\uXXXX`` (TOML forbids them raw)."""
    controls = any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)
    if literal and "'" not in text and not controls:
        return "'" + text + "'"
    out = []
    for c in text:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def toml_value(v, literal: bool = False) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        assert math.isfinite(v), v
        return repr(v)
    if isinstance(v, str):
        return toml_str(v, literal)
    if isinstance(v, Inline):
        return "{ " + ", ".join(f"{k} = {toml_value(x, literal)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x, literal) for x in v) + "]"
    raise TypeError(v)


def toml_dumps(doc: dict, literal: bool = False) -> str:
    lines: list[str] = []

    def table(t: dict, prefix: list[str]) -> None:
        for k in t:
            assert re.fullmatch(r"[A-Za-z0-9_-]+", k), k
        scalars = [(k, v) for k, v in t.items() if not isinstance(v, dict) or isinstance(v, Inline)]
        if prefix and (scalars or not any(isinstance(v, dict) for v in t.values())):
            lines.append(f"[{'.'.join(prefix)}]")
        lines.extend(f"{k} = {toml_value(v, literal)}" for k, v in scalars)
        for k, v in t.items():
            if isinstance(v, dict) and not isinstance(v, Inline):
                table(v, prefix + [k])

    table(doc, [])
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Datum files of one example, in the drawn shape or all canonical


def _put_resources(r: Res, shape, b: dict, orch: dict) -> None:
    basic = {k: v for k, v in (("cpu", r.cpu), ("memory", r.memory)) if v is not None}
    gpu = {k: v for k, v in (("count", r.gpu_count), ("gpu_type", r.gpu_type),
                             ("shared", r.gpu_shared), ("memory", r.gpu_memory)) if v is not None}
    if basic:
        if shape and shape["resources"]:
            legacy = Inline(basic) if shape["res_inline"] else dict(basic)
            if shape.get("ignored_keys"):
                legacy["gpu"] = "optional"  # informational in b00t's n8n.docker.toml
            orch["resource_requirements"] = legacy
        else:
            b.setdefault("resources", {}).update(basic)
    if gpu:
        if shape and shape["gpu"]:
            orch["gpu_requirements"] = gpu
        else:
            canon = {"count": "gpu_count", "gpu_type": "gpu_type", "shared": "gpu_shared",
                     "memory": "gpu_memory"}
            b.setdefault("resources", {}).update({canon[k]: v for k, v in gpu.items()})


def _put_orchestration(o: Orch, shape, orch: dict) -> None:
    if o.schedule_type:
        orch["schedule_type"] = o.schedule_type
    if o.queue_name is not None:
        orch["queue_name"] = o.queue_name
    if o.batch_group is not None:
        orch["batch_group"] = o.batch_group
    if o.gpu_affinity is not None:
        if shape and shape.get("affinity"):
            if not o.schedule_type:
                orch["schedule_type"] = "gpu_affinity"
            orch["gpu_batch_group"] = o.gpu_affinity
        else:
            orch["gpu_affinity"] = o.gpu_affinity
    budget = {k: v for k, v in (("daily_limit", o.daily_limit), ("cost_per_job", o.cost_per_job),
                                ("on_budget_exceeded", o.on_exceeded)) if v is not None}
    if budget:
        if shape and shape.get("budget"):
            orch["budget_constraint"] = budget
        else:
            orch.update({("budget_" + k if k != "on_budget_exceeded" else k): v
                         for k, v in budget.items()})


def _container(b: dict, image: str, command: list, args: list, shape, flat_default: bool) -> None:
    c: dict = {"image": image}
    if command:
        c["command"] = command[0] if (shape and shape["scalar_command"] and len(command) == 1) \
            else command
    if args:
        c["args"] = args
    flat = flat_default if shape is None else (shape["container"] != flat_default)
    if flat:
        b.update(c)
    else:
        b["container"] = c


def _env(doc: dict, b: dict, env: dict, shape) -> None:
    if env:
        if shape and shape["top_env"]:
            doc["env"] = env
        else:
            b["env"] = env


def job_doc(sc: Scenario, shape, rng) -> dict:
    j = sc.job
    T = lambda v: v.datum_text(sc.stack.name, sc.table, rng)
    b: dict = {"name": j.name, "type": "job"}
    if j.hint is not None:
        b["hint"] = j.hint
    doc = {"b00t": b}
    _container(b, T(j.image), [T(v) for v in j.command], [T(v) for v in j.args], shape,
               flat_default=False)
    _env(doc, b, {k: T(v) for k, v in j.env.items()}, shape)
    orch: dict = {}
    deps: dict = {}
    if j.requires:
        deps["requires_stacks"] = [sc.stack.name]
    if j.waits:
        deps["wait_for_services"] = [f"{svc}:{port}" if port else svc for svc, port in j.waits]
    if deps:
        if shape and shape["deps"]:
            orch.update(deps)
        else:
            b["dependencies"] = deps
    _put_resources(j.res, shape, b, orch)
    _put_orchestration(j.orch, shape, orch)
    if orch:
        b["orchestration"] = orch
    return doc


def stack_doc(sc: Scenario, shape, rng) -> dict:
    st_ = sc.stack
    T = lambda v: v.datum_text(st_.name, sc.table, rng)
    b: dict = {"name": st_.name, "type": "stack"}
    if st_.hint is not None:
        b["hint"] = st_.hint
    b["members"] = [f"{m.name}.docker" for m in st_.members] + st_.skipped
    doc = {"b00t": b}
    _env(doc, b, {k: T(v) for k, v in st_.env.items()}, shape)
    if st_.services:
        b["services"] = {
            name: Inline({"port": port, **({"protocol": proto} if proto else {})})
            for name, (port, proto) in st_.services.items()
        }
    orch: dict = {}
    _put_resources(st_.res, shape, b, orch)
    _put_orchestration(st_.orch, shape, orch)
    if orch:
        b["orchestration"] = orch
    return doc


def port_spec(p: Port) -> str:
    spec = str(p.container)
    if p.host:
        spec = f"{p.host}:{spec}"
        if p.ip:
            spec = (f"[{p.ip}]" if ":" in p.ip else p.ip) + ":" + spec
    if p.proto == "udp":
        spec += "/udp"
    elif p.spelling[1]:
        spec += "/tcp"
    return spec


def _flag(style: str, value: str) -> list[str]:
    """``-p V``, ``--publish V``, ``--publish=V``, ``-p=V`` or (style ``-p+``) ``-pV``:
    docker_args may spell a flag each of these ways."""
    if style.endswith("="):
        return [style + value]
    if style.endswith("+"):
        return [style[:-1] + value]
    return [style, value]


def docker_args(m: MemberM, T) -> list[str]:
    args: list[str] = []
    for p in m.ports:
        args += _flag(p.spelling[0], port_spec(p))
    for mt in m.mounts:
        spec = f"{mt.source}:{mt.target}" + (":ro" if mt.ro else ":rw" if mt.rw_written else "")
        args += _flag(mt.spelling, spec)
    for i, (name, val) in enumerate(m.docker_env):
        text = name if val is None else f"{name}={T(val)}"
        args += _flag(["-e", "--env", "--env=", "-e+", "-e="][(i + len(m.ports)) % 5], text)
    if m.restart:
        args += _flag("--restart=" if len(args) % 2 else "--restart", m.restart)
    if m.cname:
        args += _flag("--name", m.cname)
    if m.gpus_flag:
        args += _flag("--gpus=" if len(args) % 2 else "--gpus", m.gpus_flag)
    return args + m.unknown_args


def member_doc(sc: Scenario, m: MemberM, shape, rng) -> dict:
    T = lambda v: v.datum_text(sc.stack.name, sc.table, rng)
    b: dict = {"name": m.name, "type": "docker"}
    if m.hint is not None:
        b["hint"] = m.hint
    doc = {"b00t": b}
    if shape and shape["ignored_keys"]:
        b.update({"version": "1.2.3", "tags": ["x", "y"], "lfmf_category": "infra",
                  "k8s_compatible": True, "learn": {"topic": "docker"}})
        doc["desires"] = "informational keys are accepted and ignored"
    _container(b, T(m.image), [T(v) for v in m.command], [T(v) for v in m.args], shape,
               flat_default=True)
    dargs = docker_args(m, T)
    if dargs:
        b["docker_args"] = dargs
    _env(doc, b, {k: T(v) for k, v in m.env.items()}, shape)
    orch: dict = {}
    _put_resources(m.res, shape, b, orch)
    _put_orchestration(m.orch, None, orch)
    if orch:
        b["orchestration"] = orch
    return doc


def write_example(sc: Scenario, folder: Path, canonical: bool) -> dict[str, str]:
    """Write the example's datum files; returns {file name: text}. The TOML read back
    with tomllib must be the data written, and each datum string read back with the
    datum language's parser (``parse_value``) must be the parts the model generated."""
    import random

    rng = None if canonical else random.Random(sc.seed)
    docs = {
        f"{sc.job.name}.job.toml": (job_doc(sc, None if canonical else sc.job.shape, rng),
                                    sc.job.shape),
        f"{sc.stack.name}.stack.toml": (stack_doc(sc, None if canonical else sc.stack.shape, rng),
                                        sc.stack.shape),
    }
    for m in sc.members:
        docs[f"{m.name}.docker.toml"] = (member_doc(sc, m, None if canonical else m.shape, rng),
                                         m.shape)
    folder.mkdir(parents=True, exist_ok=True)
    texts = {}
    for name, (doc, shape) in docs.items():
        text = toml_dumps(doc, literal=not canonical and shape["literal_strings"])
        assert tomllib.loads(text) == doc, text
        (folder / name).write_text(text, encoding="utf-8")
        texts[name] = text
    check_model_reading(sc, rng)
    return texts


def check_model_reading(sc: Scenario, rng) -> None:
    """The generator's sanity: every value as written parses to the model's parts."""
    import random

    rng2 = None if rng is None else random.Random(sc.seed)
    for v in all_values(sc):
        text = v.datum_text(sc.stack.name, sc.table, rng2)
        got = []
        for p in parse_value(text).parts:
            if type(p) is Lit:
                got.append(("lit", p.text))
            elif type(p) is HostVar:
                got.append(("var", p.name, p.op, p.arg))
            else:
                assert p.stack == sc.stack.name, (text, p)
                svc = sc.table[p.service]
                fld = p.field if not p.port else (p.port if p.port != svc.port else "endpoint")
                got.append(("ref", p.service, fld))
        want = [("ref", p[1], "endpoint" if p[0] == "ref" and p[2] == sc.table[p[1]].port else p[2])
                if p[0] == "ref" else p for p in v.parts]
        assert got == want, (text, got, want)


def all_values(sc: Scenario) -> list[Val]:
    j, stk = sc.job, sc.stack
    out = [j.image, *j.command, *j.args, *j.env.values(), *stk.env.values()]
    for m in stk.members:
        out += [m.image, *m.command, *m.args, *m.env.values()]
        out += [v for _, v in m.docker_env if v is not None]
    return out


# ---------------------------------------------------------------------------
# What each target must deliver: the datum language's reading of each value


def host_param(name: str, op: str, arg: str, env: dict, compose_v1: bool = False) -> str:
    """A host variable with shell semantics (POSIX parameter expansion, the semantics
    the README gives them): ``${V}`` the value, ``:-``/``-`` the default when V is
    unset-or-empty/unset, ``:?``/``?`` the value (the generator sets V where these would
    fire). ``compose_v1``: docker-compose 1.x, the compose judge installed here, keeps a
    default verbatim where compose-spec readers interpolate it, so the ``$$`` b00tc writes
    for a ``$`` in a default arrives as ``$$`` (the known v1 divergence documented in
    tests/backends/test_compose.py, test_default_with_dollar_is_escaped_for_compose_spec)."""
    is_set = name in env
    val = env.get(name, "")
    if op == "":
        assert is_set, name
        return val
    if op in (":-", "-"):
        use_default = (not val) if op == ":-" else not is_set
        if use_default:
            return arg.replace("$", "$$") if compose_v1 else arg
        return val
    assert (val if op == ":?" else is_set), (name, op)
    return val


def ref_value(sc: Scenario, svc_name: str, fld, target: str, where: str) -> str | None:
    """A reference as the README's table says each target delivers it ("How each intent
    lands on each target"): k8s and compose the service name and its port in the
    cluster/compose network; Nomad the first instance of the service in Nomad's catalog;
    bash and systemd jobs ``localhost`` and the published host port; a stack's own
    members on bash and systemd the member's name on the stack's docker network."""
    svc = sc.table[svc_name]
    port = fld if isinstance(fld, int) else svc.port
    kind = "endpoint" if isinstance(fld, int) else fld
    if target in ("k8s", "compose"):
        host = svc.name
    elif target == "nomad":
        if nomad_port_ref(svc, fld):
            return None  # W0301 (see nomad_port_ref)
        host, port = sc.catalog[svc.name][0]
    elif where == "member" and svc.member:
        host = svc.member
    else:
        host, port = "localhost", svc.host_port(port)
    return {"endpoint": f"{svc.protocol}://{host}:{port}", "host": host, "port": str(port),
            "protocol": svc.protocol}[kind]


def expect(sc: Scenario, v: Val, target: str, where: str) -> str | None:
    """What the process gets for value ``v`` on ``target`` (None: not checked, a known
    bug). Literals are themselves; host variables read ``sc.host_env`` (at build time on
    k8s, Nomad and systemd, at run time on compose and bash: the same environment here)."""
    out = []
    for p in v.parts:
        if p[0] == "lit":
            out.append(p[1])
        elif p[0] == "var":
            out.append(host_param(*p[1:], sc.host_env, compose_v1=(target == "compose")))
        else:
            text = ref_value(sc, p[1], p[2], target, where)
            if text is None:
                return None
            out.append(text)
    return "".join(out)


def job_expect(sc: Scenario, target: str) -> Expect:
    j = sc.job
    return Expect([expect(sc, v, target, "job") for v in j.command + j.args],
                  {k: expect(sc, v, target, "job") for k, v in j.env.items()})


def member_env(sc: Scenario, m: MemberM, target: str) -> dict:
    """The stack's env, then the member's own (README: a member's own env wins), then
    its ``-e`` docker arguments (``-e NAME`` alone passes the host's NAME)."""
    env = {k: expect(sc, v, target, "member") for k, v in sc.stack.env.items()}
    env.update({k: expect(sc, v, target, "member") for k, v in m.env.items()})
    for name, v in m.docker_env:
        env[name] = sc.host_env[name] if v is None else expect(sc, v, target, "member")
    return env


def member_expect(sc: Scenario, m: MemberM, target: str) -> Expect:
    return Expect([expect(sc, v, target, "member") for v in m.command + m.args],
                  member_env(sc, m, target))


#: variables Nomad's env template adds for argv words that hold a reference (read back
#: by the task config's interpolation, see b00tc/backends/nomad.py)
NOMAD_HELPER_ENV = re.compile(r"B00T_(CMD|ARG)_\d+|B00T_IMAGE")


def compare(what: str, seen: Expect, want: Expect, exact_env: bool = True,
            extra_ok: frozenset = frozenset()) -> list[str]:
    """Every value that did not arrive (a None expectation is not checked)."""
    out = []
    if len(seen.argv) != len(want.argv):
        out.append(f"{what} argv: {len(seen.argv)} words, want {len(want.argv)}: "
                   f"{seen.argv!r} != {want.argv!r}")
    else:
        for i, (got, exp) in enumerate(zip(seen.argv, want.argv)):
            if exp is not None and got != exp:
                out.append(f"{what} argv[{i}]: got {got!r}, want {exp!r}")
    for name, exp in want.env.items():
        if exp is None:
            continue
        got = seen.env.get(name, "<missing>")
        if got != exp:
            out.append(f"{what} env {name}: got {got!r}, want {exp!r}")
    if exact_env:
        out += [f"{what} env {k}: not in the datum" for k in seen.env
                if k not in want.env and k not in extra_ok
                and not (what.startswith("nomad") and NOMAD_HELPER_ENV.fullmatch(k))]
    return out


def spelled(strings) -> dict[str, str]:
    """Every variable name the expected strings spell (``$(x)``, ``${x}``, ``$x``, and
    Nomad's ``${a.b-c}``), each given a value that cannot be mistaken for the literal:
    an expansion that should not happen shows up."""
    strings = [x for x in strings if x is not None]
    names = dict(defined_for(strings))
    for text in strings:
        for n in re.findall(r"\$\{([a-zA-Z0-9_\-.]+)\}", text):
            names.setdefault(n, f"EXPANDED-{n}")
    return names


def expected_strings(sc: Scenario, target: str) -> list:
    out = [*job_expect(sc, target).argv, *job_expect(sc, target).env.values()]
    for m in sc.members:
        e = member_expect(sc, m, target)
        out += [*e.argv, *e.env.values(), expect(sc, m.image, target, "member")]
    return out + [expect(sc, sc.job.image, target, "job")]


#: names the harness must not get from ``spelled`` (they steer bash or the harness)
RUN_DENY = re.compile(r"PATH|HOME|IFS|ENV|CDPATH|GLOBIGNORE|PS4|TERM|SHELLOPTS|BASHOPTS|"
                      r"POSIXLY_CORRECT|TMPDIR|CUDA_VISIBLE_DEVICES|(B00T_|LD_|LC_|BASH).*")


def run_env_spelled(sc: Scenario) -> dict:
    names = spelled(expected_strings(sc, "bash") + expected_strings(sc, "compose"))
    return {k: v for k, v in names.items()
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) and not RUN_DENY.fullmatch(k)
            and k not in HOST_VAR_NAMES}


# ---------------------------------------------------------------------------
# Resources and orchestration: what they must become


def gpu_count(r: Res, flag: str | None = None) -> int:
    """GPUs asked for: gpu_count, else a member's ``--gpus`` (``all`` is one: W0102; the
    count whatever gpu_type/gpu_memory say: bug 9), else one when gpu_type or gpu_memory
    describes it (README; gpu_memory since the fix of bug 5); gpu_shared alone asks for
    none."""
    if r.gpu_count is not None:
        return r.gpu_count
    if flag:
        return 1 if flag == "all" else int(flag)
    if r.gpu_type is not None or r.gpu_memory is not None:
        return 1
    return 0


def gpu_vendor(r: Res) -> str:
    head = (r.gpu_type or "").partition("-")[0]
    return head if head in ("nvidia", "amd", "intel") else "nvidia"


def notes(o: Orch) -> dict[str, object]:
    """The orchestration strings every target with metadata records as written."""
    out: dict = {}
    if o.schedule_type:
        out["schedule-type"] = o.schedule_type
    if o.queue_name:  # a queue's name is never invented
        out["queue-name"] = o.queue_name
    if o.batch_group:
        out["batch-group"] = o.batch_group
    if o.gpu_affinity:
        out["gpu-affinity"] = o.gpu_affinity
    if o.daily_limit is not None:
        out["budget-daily-limit"] = float(o.daily_limit)
    if o.cost_per_job is not None:
        out["budget-cost-per-job"] = float(o.cost_per_job)
    if o.on_exceeded:
        out["on-budget-exceeded"] = o.on_exceeded
    return out


def check_notes(what: str, seen: dict, want: dict, key=lambda k: k) -> list[str]:
    out = []
    for k, v in want.items():
        got = seen.get(key(k), "<missing>")
        ok = (got != "<missing>" and float(got) == v) if isinstance(v, float) else got == v
        if not ok:
            out.append(f"{what} {key(k)}: got {got!r}, want {v!r}")
    return out


# ---------------------------------------------------------------------------
# Readers

def _eq(what: str, got, want) -> list[str]:
    return [] if want is None or got == want else [f"{what}: got {got!r}, want {want!r}"]


_PORT_SPEC = re.compile(r"(?:(?P<ip>\[[^\]]*\]|\d{1,3}(?:\.\d{1,3}){3}):)?(?:(?P<host>\d+)?:)?"
                        r"(?P<c>\d+)(?:/(?P<proto>\w+))?")


def read_port(spec: str) -> tuple:
    """A ``-p``/compose short port spec as docker reads it: (ip, host port, container
    port, protocol)."""
    m = _PORT_SPEC.fullmatch(spec)
    assert m, f"cannot read port spec {spec!r}"
    return ((m["ip"] or "").strip("[]"), int(m["host"]) if m["host"] else None, int(m["c"]),
            m["proto"] or "tcp")


def read_volume(spec: str) -> tuple:
    parts = spec.split(":")
    assert len(parts) in (2, 3) and parts[2:] in ([], ["ro"], ["rw"]), spec
    return parts[0], parts[1], parts[2:] == ["ro"]


def want_ports(sc: Scenario, m: MemberM, direct: bool) -> list[tuple]:
    """What a member publishes: its ``-p`` ports; on the direct targets (bash, systemd) a
    port without a host port on the same number, and the declared services it serves that
    no ``-p`` publishes (where the README says localhost reaches them)."""
    out = [(p.ip, (p.host or p.container) if direct else p.host, p.container, p.proto)
           for p in m.ports]
    if direct:
        seen = {(p.container, p.proto) for p in m.ports}
        for svc in sc.table.values():
            if svc.member == m.name and (svc.port, "tcp") not in seen:
                out.append(("", svc.host_port(svc.port), svc.port, "tcp"))
                seen.add((svc.port, "tcp"))
    return out


def want_volumes(m: MemberM, home: str | None) -> list[tuple]:
    """``source:target[:ro]``; ``home`` given: a ``~/`` source is expanded (bash expands
    it, systemd writes ``%h``), as the docker CLI does not expand it."""
    out = []
    for mt in m.mounts:
        src = mt.source
        if home is not None and src.startswith("~/"):
            src = home + src[1:]
        out.append((src, mt.target, mt.ro))
    return out


DOCKER_FLAGS = {"-d", "--rm"}
DOCKER_OPTIONS = {"--name", "--network", "--network-alias", "--label", "-p", "-v", "-e",
                  "--restart", "--entrypoint", "--cpus", "--memory", "--gpus"}


def docker_run(argv: list[str], cli_env: dict) -> dict:
    """``docker run`` as the docker CLI reads it (the options b00tc writes): ``-e N=V``
    sets the value, ``-e N`` passes the CLI's own N (left out when unset); the container
    runs ``--entrypoint`` + the words after the image."""
    assert argv[:2] == ["docker", "run"], argv
    i, opts = 2, []
    while argv[i].startswith("-"):
        if argv[i] in DOCKER_FLAGS:
            i += 1
            continue
        assert argv[i] in DOCKER_OPTIONS, f"unexpected docker run option {argv[i]}"
        opts.append((argv[i], argv[i + 1]))
        i += 2
    env = {}
    for o, v in opts:
        if o == "-e":
            name, eq, val = v.partition("=")
            if eq:
                env[name] = val
            elif name in cli_env:
                env[name] = cli_env[name]
    entry = [v for o, v in opts if o == "--entrypoint"]
    return {"opts": opts, "env": env, "image": argv[i], "argv": entry + argv[i + 1:]}


def opt_values(run: dict, opt: str) -> list[str]:
    return [v for o, v in run["opts"] if o == opt]


def check_docker_run(what: str, run: dict, sc: Scenario, m: MemberM, target: str,
                     home: str, skip_tilde: bool = False) -> list[str]:
    """(systemd restarts the container itself: ``Restart=``, no ``--restart``.)"""
    """A member's ``docker run`` (bash and systemd): image, argv, env, ports, volumes,
    restart and the resources docker enforces."""
    out = compare(what, Expect(run["argv"], run["env"]), member_expect(sc, m, target))
    out += _eq(f"{what} image", run["image"], expect(sc, m.image, target, "member"))
    out += _eq(f"{what} ports", [read_port(v) for v in opt_values(run, "-p")],
               want_ports(sc, m, direct=True))
    got_volumes = [read_volume(v) for v in opt_values(run, "-v")]
    want = want_volumes(m, home)
    if skip_tilde and len(got_volumes) == len(m.mounts):
        keep = [i for i, mt in enumerate(m.mounts) if not mt.source.startswith("~")]
        got_volumes, want = [got_volumes[i] for i in keep], [want[i] for i in keep]
    out += _eq(f"{what} volumes", got_volumes, want)
    out += _eq(f"{what} restart", opt_values(run, "--restart"),
               [m.restart] if m.restart and target == "bash" else [])
    out += _eq(f"{what} --cpus", [Decimal(v) for v in opt_values(run, "--cpus")],
               [Decimal(m.res.millis) / 1000] if m.res.millis else [])
    out += _eq(f"{what} --memory", opt_values(run, "--memory"),
               [str(m.res.mem_bytes)] if m.res.mem_bytes else [])
    gpus = gpu_count(m.res, m.gpus_flag)
    out += _eq(f"{what} --gpus", opt_values(run, "--gpus"), [str(gpus)] if gpus else [])
    return out


def env_reading(words: list[str]) -> tuple[list[str], dict, list[str]]:
    """``/usr/bin/env ARGS`` as GNU env reads it: ``--`` ends its options (any other word
    starting with ``-`` is an option), then ``NAME=VALUE`` words set variables, then the
    program and its arguments. Returns (argv, assignments, problems)."""
    assert words[0] == "/usr/bin/env", words
    rest, problems = words[1:], []
    if rest[:1] == ["--"]:
        rest = rest[1:]
    elif rest and rest[0].startswith("-"):
        problems.append(f"/usr/bin/env reads {rest[0]!r} as an option")
    assigns = {}
    while rest and "=" in rest[0]:
        name, _, val = rest[0].partition("=")
        assigns[name] = val
        rest = rest[1:]
    return rest, assigns, problems


def exec_reading(words: list[str]) -> tuple[list[str], dict, list[str]]:
    """The words of bash's ``exec``: ``--`` ends exec's options, a first word starting
    with ``-`` is an option of exec (not the program); a first word ``/usr/bin/env`` is
    b00tc's pass-through of bash-owned variables (the generator never makes it the
    job's own command), read as env reads it."""
    problems = []
    if words[:1] == ["--"]:
        words = words[1:]
    elif words and words[0].startswith("-") and words[0] != "-":
        problems.append(f"bash's exec reads {words[0]!r} as an option")
    if words[:1] == ["/usr/bin/env"]:
        argv, assigns, more = env_reading(words)
        return argv, assigns, problems + more
    return words, {}, problems


# --- compose: docker-compose's own reading, amortised over one long-lived process

COMPOSE_PYTHON = "/usr/bin/python3"  # docker-compose 1.x is Debian's python3-compose
COMPOSE_WORKER = r"""
import json, os, sys
from compose.cli.command import get_config_from_options
from compose.config.serialize import denormalize_config

def plain(o):
    return o.repr() if hasattr(o, "repr") else str(o)

for line in sys.stdin:
    req = json.loads(line)
    os.environ.clear()
    os.environ.update(req["env"])
    os.chdir(req["dir"])
    options = {"--file": [req["file"]], "--project-directory": req["dir"]}
    try:
        config = get_config_from_options(".", options, {"--no-interpolate": False})
        reply = {"code": 0, "config": denormalize_config(config)}
    except Exception as e:
        reply = {"code": 1, "error": "%s: %s" % (type(e).__name__, getattr(e, "msg", e))}
    sys.stdout.write(json.dumps(reply, default=plain) + "\n")
    sys.stdout.flush()
"""


class ComposeWorker:
    """docker-compose 1.29's own reading of a file in one long-lived process: the
    functions ``docker-compose config`` calls (``get_config_from_options`` -- the file
    loaded, validated and interpolated with the environment -- and
    ``denormalize_config``), returned as JSON. This is the reading of
    tests/backends/test_compose.interpolated without 0.5 s of start-up per file, and
    without ``config``'s YAML printing, which is lossy by itself: PyYAML folds a NEL
    (U+0085) or U+2028/U+2029 written in a single-quoted scalar into a space when the
    printed YAML is read back. test_slow_tools checks the worker against the command line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([COMPOSE_PYTHON, "-c", COMPOSE_WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, encoding="utf-8")

    def config(self, folder: Path, text: str, env: dict) -> dict:
        path = folder / "c.compose.yaml"
        path.write_text(text, encoding="utf-8")
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), **env}
        self.proc.stdin.write(json.dumps({"env": env, "dir": str(folder), "file": str(path)}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the docker-compose worker died"
        reply = json.loads(line)
        assert reply["code"] == 0, reply["error"][-3000:]
        return reply["config"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def unescape_compose(node):
    """``config`` prints each interpolated string with ``$`` escaped again as ``$$``."""
    if isinstance(node, str):
        return node.replace("$$", "$")
    if isinstance(node, list):
        return [unescape_compose(n) for n in node]
    if isinstance(node, dict):
        return {k: unescape_compose(v) for k, v in node.items()}
    return node


def compose_cli_config(folder: Path, text: str, env: dict, quiet: bool = False):
    path = folder / "cli.compose.yaml"
    path.write_text(text, encoding="utf-8")
    run_env = {"PATH": os.environ["PATH"], "HOME": str(folder), **env}
    return subprocess.run(["docker-compose", "-f", str(path), "--project-directory", str(folder),
                           "config", *(["-q"] if quiet else [])], check=False,
                          cwd=folder, env=run_env, capture_output=True, text=True, timeout=120)


_COMPOSE_AVAILABLE: bool | None = None


def compose_available() -> bool:
    global _COMPOSE_AVAILABLE
    if _COMPOSE_AVAILABLE is None:
        _COMPOSE_AVAILABLE = bool(shutil.which("docker-compose")) and subprocess.run(
            [COMPOSE_PYTHON, "-c", "import compose.cli.main"], check=False, capture_output=True).returncode == 0
    return _COMPOSE_AVAILABLE


_COMPOSE_SCHEMA = None


def compose_schema_validator():
    """check-jsonschema's vendored compose-spec schema, validated in-process (what
    ``check-jsonschema --builtin-schema vendor.compose-spec`` does, with format checks)."""
    global _COMPOSE_SCHEMA
    if _COMPOSE_SCHEMA is None:
        import check_jsonschema
        import jsonschema

        path = Path(check_jsonschema.__file__).parent / "builtin_schemas/vendor/compose-spec.json"
        schema = json.loads(path.read_text())
        cls = jsonschema.validators.validator_for(schema)
        _COMPOSE_SCHEMA = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return _COMPOSE_SCHEMA


# --- bash: the generated scripts are run

#: read by bash before the job script (BASH_ENV): a function named ``exec`` takes
#: precedence over the builtin (bash looks functions up first outside POSIX mode), so the
#: script runs as written up to its final ``exec WORDS``, whose words -- expanded by bash
#: exactly as for the builtin -- are recorded with the environment the program would get
#: (``/usr/bin/env -0`` started from the same shell), and the script ends there. The wait
#: loop's ``(exec 3<>/dev/tcp/127.0.0.1/PORT && { read -t 1 -n 1 <&3; ...; })`` still
#: connects (bash opens the redirection before it calls the function: no listener, no
#: call), but a redirection made for a function call is undone when it returns, so fd 3
#: is opened here first on /dev/urandom: the loop then reads a byte at once, as from a
#: service that greets (the listeners of these tests accept nothing, and a read that
#: times out would cost a second per wait).
EXEC_RECORDER = """exec 3</dev/urandom
exec() {
  if (($# == 0)); then return 0; fi
  printf '%s\\0' "$@" > "$B00T_TEST_LOG/exec.argv"
  /usr/bin/env -0 > "$B00T_TEST_LOG/exec.env"
  builtin exit 0
}
"""

#: the container runtime of the stack scripts (B00T_CONTAINER_RUNTIME): records its argv
RUNTIME_RECORDER = """#!/bin/bash
n=0
while [ -e "$B00T_TEST_LOG/run$n" ]; do n=$((n + 1)); done
printf '%s\\0' "$@" > "$B00T_TEST_LOG/run$n"
"""

NVIDIA_SMI = "#!/bin/sh\n[ \"$1\" = -L ] || exit 9\n" + "".join(
    f"echo 'GPU {i}: NVIDIA A100 (UUID: GPU-{i})'\n" for i in range(8))


def harness(folder: Path) -> dict:
    """Helper programs and files for one run: bin/ (nvidia-smi with 8 GPUs, the runtime
    recorder), the exec recorder, a HOME and a log folder."""
    bindir, log, home = folder / "bin", folder / "log", folder / "home"
    for d in (bindir, log, home):
        d.mkdir(parents=True, exist_ok=True)
    for name, text in (("nvidia-smi", NVIDIA_SMI), ("runtime", RUNTIME_RECORDER)):
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    (folder / "exec-recorder.bash").write_text(EXEC_RECORDER)
    return {"bin": bindir, "log": log, "home": home, "recorder": folder / "exec-recorder.bash"}


def listeners(ports) -> list[socket.socket]:
    """A listening socket on 127.0.0.1 at each port the job's wait loop must reach (the
    kernel completes the handshakes; no accept is needed for a few probes)."""
    socks = []
    for port in ports:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(64)
            socks.append(sock)
        except OSError:  # something listens there already, which the loop accepts too
            sock.close()
    return socks


def run_job_script(script: str, folder: Path, env: dict, ports=()) -> tuple[list[str], dict, str]:
    """Run a job script as written (its final exec recorded) with ``env`` and listeners
    on ``ports``: (exec words, environment, error)."""
    h = harness(folder)
    path = folder / "job.sh"
    path.write_text(script, encoding="utf-8")
    env = {**env, "PATH": f"{h['bin']}:/usr/bin:/bin", "HOME": str(h["home"]),
           "B00T_TEST_LOG": str(h["log"]), "B00T_WAIT_TIMEOUT": "20",
           "BASH_ENV": str(h["recorder"])}
    socks = listeners(ports)
    try:
        done = subprocess.run([BASH, str(path)], check=False, env=env, cwd=folder, capture_output=True,
                              timeout=120)
    finally:
        for sock in socks:
            sock.close()
    argv_file = h["log"] / "exec.argv"
    if done.returncode != 0 or not argv_file.exists():
        return [], {}, f"exit {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}"
    return nul_split(argv_file.read_bytes()), env_of((h["log"] / "exec.env").read_bytes()), ""


def run_bash_job(sc: Scenario, script: str, folder: Path) -> tuple[list[str], dict, str]:
    ports = [sc.table[s].host_port(p or sc.table[s].port) for s, p in sc.job.waits]
    return run_job_script(script, folder, {**run_env_spelled(sc), **sc.host_env}, ports)


def run_bash_stack(sc: Scenario, script: str, folder: Path) -> tuple[list[list[str]], dict, str]:
    h = harness(folder)
    path = folder / "stack.sh"
    path.write_text(script, encoding="utf-8")
    env = {**run_env_spelled(sc), **sc.host_env, "PATH": "/usr/bin:/bin", "HOME": str(h["home"]),
           "B00T_TEST_LOG": str(h["log"]), "B00T_CONTAINER_RUNTIME": str(h["bin"] / "runtime")}
    done = subprocess.run([BASH, str(path), "up"], check=False, env=env, cwd=folder, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    calls = [nul_split((h["log"] / f"run{i}").read_bytes())
             for i in range(len(list(h["log"].glob("run*"))))]
    return calls, env, str(h["home"])


# ---------------------------------------------------------------------------
# Per-target judges: the cheap validators, then every value read back


GPU_RESOURCE = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu", "intel": "gpu.intel.com/i915"}


def k8s_resources(what: str, c: dict, r: Res, gpus: int) -> list[str]:
    res = c.get("resources", {})
    req, lim = res.get("requests", {}), res.get("limits", {})
    out = []
    for key, amount in (("cpu", Fraction(r.millis, 1000)), ("memory", r.mem_bytes)):
        if amount:
            out += _eq(f"{what} requests.{key}", parse_quantity(req.get(key, "0")), amount)
            out += _eq(f"{what} limits.{key}", parse_quantity(lim.get(key, "0")), amount)
        elif key in req or key in lim:
            out.append(f"{what}: unexpected {key}")
    if gpus:
        out += _eq(f"{what} GPU limit", lim.get(GPU_RESOURCE[gpu_vendor(r)]), str(gpus))
    return out


def k8s_store_values(sc: Scenario, result) -> dict[str, dict[str, str]]:
    """The Secrets the objects read, as deploy creates them with the scenario's host
    environment (``resolve_store``)."""
    return k8s_secrets(result.env_files, dict(sc.host_env)) if result is not None else {}


def check_k8s(sc: Scenario, out: dict, folder: Path, result=None) -> list[str]:
    import kubernetes_validate

    for text in out.values():
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        for d in docs:
            kubernetes_validate.validate(d, "1.33", strict=True)
        check_manifests(docs)
    problems: list[str] = []
    mapping = spelled(expected_strings(sc, "k8s"))
    secrets = k8s_store_values(sc, result)
    j = sc.job
    text = out[f"{j.name}.yaml"]
    for byte_wise in (False, True):
        what = "k8s job" + (" (pre-UTF-8-fix kubelet)" if byte_wise else "")
        problems += compare(what, k8s_reading(text, "Job", j.name, mapping, byte_wise, secrets),
                            job_expect(sc, "k8s"))
    c = k8s_container(text, "Job", j.name)
    problems += _eq("k8s job image", c["image"], expect(sc, j.image, "k8s", "job"))
    problems += k8s_resources("k8s job", c, j.res, gpu_count(j.res))
    (doc,) = [d for d in yaml.safe_load_all(text) if d is not None]
    problems += check_notes("k8s job annotation", doc["metadata"].get("annotations", {}),
                            notes(j.orch), key=lambda k: f"b00t.io/{k}")
    init = doc["spec"]["template"]["spec"].get("initContainers", [])
    problems += _eq("k8s wait initContainers", len(init), len(j.waits))
    text = out[f"{sc.stack.name}.yaml"]
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    for m in sc.members:
        for byte_wise in (False, True):
            problems += compare(f"k8s member {m.name}",
                                k8s_reading(text, "Deployment", m.name, mapping, byte_wise, secrets),
                                member_expect(sc, m, "k8s"))
        c = k8s_container(text, "Deployment", m.name)
        problems += _eq(f"k8s member {m.name} image", c["image"],
                        expect(sc, m.image, "k8s", "member"))
        problems += k8s_resources(f"k8s member {m.name}", c, m.res, gpu_count(m.res, m.gpus_flag))
        problems += _eq(f"k8s member {m.name} ports",
                        [(p["containerPort"], p["protocol"]) for p in c.get("ports", [])],
                        [(p.container, p.proto.upper()) for p in m.ports])
        problems += _eq(f"k8s member {m.name} mounts",
                        [(v["mountPath"], v.get("readOnly", False)) for v in c.get("volumeMounts", [])],
                        [(mt.target, mt.ro) for mt in m.mounts])
        (dep,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == m.name]
        volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"].get("volumes", [])}
        for vm, mt in zip(c.get("volumeMounts", []), m.mounts):
            if mt.source.startswith("/"):
                problems += _eq(f"k8s member {m.name} hostPath",
                                volumes[vm["name"]].get("hostPath", {}).get("path"), mt.source)
        problems += check_notes(f"k8s member {m.name} annotation",
                                dep["metadata"].get("annotations", {}), notes(sc.stack.orch),
                                key=lambda k: f"b00t.io/{k}")
    return problems


def compose_service_checks(what: str, sc: Scenario, svc: dict, raw: dict, m: MemberM) -> list[str]:
    argv = (svc.get("entrypoint") or []) + (svc.get("command") or [])
    out = compare(what, Expect(argv, svc.get("environment") or {}), member_expect(sc, m, "compose"))
    out += _eq(f"{what} image", svc["image"], expect(sc, m.image, "compose", "member"))
    out += _eq(f"{what} restart", svc.get("restart"), m.restart)
    out += _eq(f"{what} container_name", svc.get("container_name"), m.cname)
    out += _eq(f"{what} ports (as written)",
               [read_port(unescape_compose(p)) for p in raw.get("ports", [])],
               want_ports(sc, m, direct=False))
    out += _eq(f"{what} volumes (as written)",
               [read_volume(unescape_compose(v)) for v in raw.get("volumes", [])],
               want_volumes(m, None))
    limits = raw.get("deploy", {}).get("resources", {}).get("limits", {})
    out += _eq(f"{what} cpus", Decimal(limits["cpus"]) if "cpus" in limits else None,
               Decimal(m.res.millis) / 1000 if m.res.millis else None)
    out += _eq(f"{what} memory", parse_memory(limits["memory"]) if "memory" in limits else None,
               m.res.mem_bytes or None)
    return out


def check_compose(sc: Scenario, out: dict, folder: Path, worker: ComposeWorker | None) -> list[str]:
    validator = compose_schema_validator()
    for text in out.values():
        validator.validate(yaml.safe_load(text))
    if worker is None:
        return []
    problems: list[str] = []
    env = {**run_env_spelled(sc), **sc.host_env}
    j = sc.job
    text = out[f"{j.name}.compose.yaml"]
    raw = yaml.safe_load(text)["services"]
    services = worker.config(folder, text, env)["services"]
    svc = services[j.name]
    argv = (svc.get("entrypoint") or []) + (svc.get("command") or [])
    problems += compare("compose job", Expect(argv, svc.get("environment") or {}),
                        job_expect(sc, "compose"))
    problems += _eq("compose job image", svc["image"], expect(sc, j.image, "compose", "job"))
    problems += _eq("compose job restart", svc.get("restart"), "no")
    problems += check_notes("compose job label", svc.get("labels", {}), notes(j.orch),
                            key=lambda k: f"b00t.io/{k}")
    gpus = gpu_count(j.res)
    devices = raw[j.name].get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices")
    problems += _eq("compose job GPUs", devices[0]["count"] if devices else 0,
                    gpus if gpus and gpu_vendor(j.res) == "nvidia" else 0)
    waits = {k for k, v in (svc.get("depends_on") or {}).items()
             if v.get("condition") == "service_completed_successfully"}
    problems += _eq("compose job waits", waits, {f"wait-for-{s}" for s, _ in j.waits})
    if j.requires:  # the job joins the stack's network; the members are the stack's file's
        problems += _eq("compose job file services", set(raw),
                        {j.name, *(f"wait-for-{s}" for s, _ in j.waits)})
        problems += _eq("compose job networks", raw[j.name].get("networks"), [f"b00t-{sc.stack.name}"])
    text = out[f"{sc.stack.name}.compose.yaml"]
    raw = yaml.safe_load(text)["services"]
    services = worker.config(folder, text, env)["services"]
    for m in sc.members:
        what = f"compose member {m.name}"
        problems += compose_service_checks(what, sc, services[m.name], raw[m.name], m)
        want = notes(sc.stack.orch)
        if m.orch.gpu_affinity:  # the member's own wins
            want["gpu-affinity"] = m.orch.gpu_affinity
        problems += check_notes(f"{what} label", services[m.name].get("labels", {}), want,
                                key=lambda k: f"b00t.io/{k}")
    return problems


def nomad_variables(sc: Scenario, result) -> dict[str, dict[str, str]]:
    """The build's Nomad Variables as deploy resolves them with the scenario's host
    environment (``envfiles.resolve_store``): path -> items, what ``nomadVar`` reads."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.backends._nomadvars import variable_items
    from b00tc.envfiles import resolve_store

    out = {}
    for store in result.env_files if result is not None else ():
        if store.kind == "nomad":
            diags = Diagnostics()
            items = resolve_store(store, dict(sc.host_env), diags)
            assert items is not None, [d.message for d in diags]
            out[store.path] = variable_items(items)  # the Variable deploy puts
    return out


def nomad_read(text: str, group: str, task: str, mapping: dict, services: dict, variables=None):
    """tests/test_literals.nomad_reading with the example's service catalog: the task's
    env (env block through ReplaceEnv with every spelled name known, env templates through
    Go text/template, ``nomadVar`` reading ``variables``, and go-envparse), its argv, image
    and volumes (HCL-decoded, then evaluated again at task start with the task env)."""
    t = nomad_task(text, group, task)
    from_templates = task_env({k: v for k, v in t.items() if k != "env"}, services, variables)
    # every key of the env block: test_nomad.attrs would drop names starting with "__",
    # which python-hcl2 uses for its own markers (``__is_block__``)
    block = {k: hcl_str(v) for k, v in one(t, "env").items() if k != "__is_block__"} \
        if "env" in t else {}
    env = {**{k: replace_env(v, mapping) for k, v in block.items()}, **from_templates}
    config = one(t, "config")
    variables = {**mapping, **env}
    tokens = list(config.get("entrypoint", []))
    if "command" in config:
        tokens.append(config["command"])
    tokens += list(config.get("args", []))
    argv = [nomad_config_eval_token(tok, variables) for tok in tokens]
    image = nomad_config_eval_token(config["image"], variables)
    volumes = [nomad_config_eval_token(tok, variables) for tok in config.get("volumes", [])]
    return Expect(argv, env), image, volumes, t


def nomad_resources(what: str, t: dict, r: Res, gpus: int) -> list[str]:
    res = blocks(t, "resources")
    body = res[0][1] if res else {}
    out = []
    if r.millis:
        got = body.get("cores", 0) * 1000 if "cores" in body else body.get("cpu")
        out += _eq(f"{what} cpu (1 core = 1000 MHz)", got, r.millis)
    if r.mem_bytes:
        out += _eq(f"{what} memory MiB", body.get("memory"), max(-(-r.mem_bytes // 2**20), 10))
    if gpus:
        devices = blocks(body, "device")
        out += _eq(f"{what} GPU device", [(ls, d["count"]) for ls, d in devices],
                   [((f"{gpu_vendor(r)}/gpu",), gpus)])
    return out


def nomad_meta(doc_body: dict) -> dict:
    metas = blocks(doc_body, "meta")
    return {k: hcl_decode(v) for k, v in attrs(metas[0][1]).items()} if metas else {}


def check_nomad(sc: Scenario, out: dict, folder: Path, result=None) -> list[str]:
    for text in out.values():
        check_jobspec(hcl2.loads(text))
    problems: list[str] = []
    variables = nomad_variables(sc, result)
    mapping = spelled(expected_strings(sc, "nomad"))
    j = sc.job
    text = out[f"{j.name}.nomad.hcl"]
    seen, image, _, t = nomad_read(text, j.name, j.name, mapping, sc.catalog, variables)
    problems += compare("nomad job", seen, job_expect(sc, "nomad"))
    problems += _eq("nomad job image", image, expect(sc, j.image, "nomad", "job"))
    problems += nomad_resources("nomad job", t, j.res, gpu_count(j.res))
    _, job_body = job_parts(hcl2.loads(text))
    problems += check_notes("nomad job meta", nomad_meta(job_body), notes(j.orch),
                            key=lambda k: "b00t_" + k.replace("-", "_"))
    (_, group), = blocks(job_body, "group")
    prestart = [ls for ls, task in blocks(group, "task") if "lifecycle" in task]
    problems += _eq("nomad wait tasks", sorted(prestart), sorted((f"wait-for-{s}",) for s, _ in j.waits))
    text = out[f"{sc.stack.name}.nomad.hcl"]
    _, stack_body = job_parts(hcl2.loads(text))
    problems += check_notes("nomad stack meta", nomad_meta(stack_body), notes(sc.stack.orch),
                            key=lambda k: "b00t_" + k.replace("-", "_"))
    for m in sc.members:
        what = f"nomad member {m.name}"
        seen, image, volumes, t = nomad_read(text, m.name, m.name, mapping, sc.catalog, variables)
        problems += compare(what, seen, member_expect(sc, m, "nomad"))
        problems += _eq(f"{what} image", image, expect(sc, m.image, "nomad", "member"))
        problems += nomad_resources(what, t, m.res, gpu_count(m.res, m.gpus_flag))
        # relative and ~ bind sources cannot be carried (W0301): the others, as written
        problems += _eq(f"{what} volumes", [read_volume(v) for v in volumes],
                        [v for v in want_volumes(m, None) if not v[0].startswith((".", "~"))])
    return problems


def check_bash(sc: Scenario, out: dict, folder: Path) -> list[str]:
    for name, text in out.items():
        done = subprocess.run([BASH, "-n"], check=False, input=text.encode(), capture_output=True)
        assert done.returncode == 0, f"bash -n {name}: {done.stderr.decode()}"
    problems: list[str] = []
    j = sc.job
    words, env, err = run_bash_job(sc, out[f"{j.name}.sh"], folder / "job-run")
    if err:
        return [f"bash job script: {err}"]
    argv, assigns, problems = exec_reading(words)
    want = job_expect(sc, "bash")
    problems += compare("bash job", Expect(argv, {**env, **assigns}), want, exact_env=False)
    gpus = gpu_count(j.res)
    if gpus and "CUDA_VISIBLE_DEVICES" not in j.env:
        problems += _eq("bash job CUDA_VISIBLE_DEVICES", env.get("CUDA_VISIBLE_DEVICES"),
                        ",".join(str(i) for i in range(gpus)))
    calls, cli_env, home = run_bash_stack(sc, out[f"{sc.stack.name}.sh"], folder / "stack-run")
    runs = [docker_run(["docker", *c], cli_env) for c in calls if c[:1] == ["run"]]
    by_alias = {opt_values(r, "--network-alias")[0]: r for r in runs}
    problems += _eq("bash stack members started", sorted(by_alias), sorted(m.name for m in sc.members))
    for m in sc.members:
        if m.name in by_alias:
            problems += check_docker_run(f"bash member {m.name}", by_alias[m.name], sc, m,
                                         "bash", home)
    return problems


def systemd_job_reading(unit: Parsed) -> tuple[Expect, list[str]]:
    ((prefix, argv),) = unit.exec("ExecStart")
    problems = [f"ExecStart prefix {prefix!r}"] if prefix else []
    env = unit.env
    if argv[0] == "/usr/bin/env":
        argv, assigns, more = env_reading(argv)
        env = {**env, **assigns}
        problems += more
    return Expect(argv, env), problems


def systemd_env_files(sc: Scenario, result) -> dict[str, dict[str, str]]:
    """The environment files the units read, as ``b00tc env`` resolves them with the
    scenario's host environment, read back by the reader systemd.exec(5) documents."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_files

    diags = Diagnostics()
    texts = resolve_files(result.env_files, dict(sc.host_env), diags)
    assert texts is not None, [d.message for d in diags]
    return {path: read_env_file(text) for path, text in texts.items()}


def check_systemd(sc: Scenario, out: dict, folder: Path, result=None) -> list[str]:
    envs = systemd_env_files(sc, result) if result is not None else {}
    units = {name: Parsed(text, env_files=envs) for name, text in out.items()}
    for unit in units.values():  # every Exec line reads back
        for key in ("ExecStart", "ExecStartPre", "ExecStop"):
            unit.exec(key)
    problems: list[str] = []
    j = sc.job
    unit = units[f"b00t-{j.name}.service"]
    seen, problems = systemd_job_reading(unit)
    gpus = gpu_count(j.res)
    extra = frozenset({"CUDA_VISIBLE_DEVICES"}) if gpus else frozenset()
    problems += compare("systemd job", seen, job_expect(sc, "systemd"), extra_ok=extra)
    if gpus and "CUDA_VISIBLE_DEVICES" not in j.env:
        problems += _eq("systemd job CUDA_VISIBLE_DEVICES", seen.env.get("CUDA_VISIBLE_DEVICES"),
                        ",".join(str(i) for i in range(gpus)))
    problems += _eq("systemd job CPUQuota", unit.get("Service", "CPUQuota"),
                    [format(Decimal(j.res.millis) / 10, "f") + "%"] if j.res.millis else [])
    problems += _eq("systemd job MemoryMax", unit.get("Service", "MemoryMax"),
                    [str(j.res.mem_bytes)] if j.res.mem_bytes else [])
    problems += _eq("systemd job ExecStartPre", len(unit.get("Service", "ExecStartPre")),
                    len(j.waits) + bool(gpus))
    for m in sc.members:
        unit = units[f"b00t-{sc.stack.name}-{m.name}.service"]
        ((prefix, argv),) = unit.exec("ExecStart")
        assert prefix == "" and argv[0] == "/usr/bin/env", argv
        run = docker_run(argv[1:], unit.env)
        problems += check_docker_run(f"systemd member {m.name}", run, sc, m, "systemd", "/root")
        want_restart = {"always": "always", "unless-stopped": "always", "on-failure": "on-failure",
                        "no": "no"}[(m.restart or "no").split(":")[0]]
        problems += _eq(f"systemd member {m.name} Restart", unit.get("Service", "Restart"),
                        [want_restart])
    return problems


CHECKS = {"k8s": check_k8s, "nomad": check_nomad, "bash": check_bash, "systemd": check_systemd}


# ---------------------------------------------------------------------------
# The tests

WORK: Path | None = None
WORKER: ComposeWorker | None = None


@pytest.fixture(scope="module", autouse=True)
def _work_folder():
    """One folder for every example's files, and the docker-compose worker."""
    global WORK, WORKER
    WORK = Path(tempfile.mkdtemp(prefix="b00tc-properties-"))
    WORKER = ComposeWorker() if compose_available() else None
    yield
    if WORKER is not None:
        WORKER.close()
    shutil.rmtree(WORK, ignore_errors=True)


def example_folder() -> Path:
    return Path(tempfile.mkdtemp(dir=WORK))


def build(sc: Scenario, folder: Path, targets=TARGETS, env=None):
    paths = [str(folder / f"{sc.job.name}.job.toml"), str(folder / f"{sc.stack.name}.stack.toml")]
    return compile_(paths, targets=targets, env=sc.host_env if env is None else env)


def outputs(result) -> dict:
    return {(t, f.path): f.content for t, f in result.outputs}


def compile_example(sc: Scenario, folder: Path):
    """Write the example (drawn shapes) and build it for every target: no error; the
    all-canonical spelling of the same example gives byte-identical files."""
    texts = write_example(sc, folder / "drawn", canonical=False)
    for name, text in texts.items():
        note(f"--- {name}\n{text}")
    note(f"host environment: {sc.host_env!r}")
    result = build(sc, folder / "drawn")
    assert result.ok and not any(d.is_error for d in result.diags), rendered(result)
    write_example(sc, folder / "canonical", canonical=True)
    canonical = build(sc, folder / "canonical")
    assert canonical.ok, rendered(canonical)
    drawn, canon = outputs(result), outputs(canonical)
    assert drawn.keys() == canon.keys()
    differ = [k for k in drawn if drawn[k] != canon[k]]
    assert not differ, f"the legacy/alternative spelling changes {differ}"
    assert sorted(d.code for d in result.diags) == sorted(d.code for d in canonical.diags)
    return result


def judge(sc: Scenario, result, folder: Path, kind: str) -> list[str]:
    problems = []
    for target in TARGETS:
        out = files(result, target)
        try:
            if target == "compose":
                problems += check_compose(sc, out, folder, WORKER)
            elif target in ("systemd", "k8s", "nomad"):
                problems += CHECKS[target](sc, out, folder, result)
            else:
                problems += CHECKS[target](sc, out, folder)
        except Exception as e:  # noqa: BLE001 (a validator or a reader refused the output)
            import traceback

            problems.append(f"{target}: {type(e).__name__}: {e}\n"
                            + "".join(traceback.format_exception(e)[-3:]))
        if target == "nomad":  # a reference Nomad cannot resolve is a warning
            port_refs = any(p[0] == "ref" and nomad_port_ref(sc.table[p[1]], p[2])
                            for v in all_values(sc) for p in v.parts)
            warned = any(d.code == "W0301" and "reference to port" in d.message
                         for d in result.diags)
            if port_refs != warned:
                problems.append(f"nomad: a reference to a non-service port, W0301 {warned}")
        RAN[(kind, target)] += 1
        if target == "compose" and WORKER is not None:
            RAN[(kind, "compose (docker-compose reading)")] += 1
    return problems


@prop_settings("all_targets")
@given(scenarios())
def test_all_targets(sc):
    """Every generated example builds without an error, in either shape with identical
    bytes; every output passes its target's in-process validators (kubernetes-validate
    strict 1.33 + check_manifests, the compose-spec schema, python-hcl2 + check_jobspec,
    ``bash -n``, the systemd reference reader); and every value -- argv, env, image,
    ports, volumes, restart policy, resources, orchestration metadata -- is what the
    target's own reading delivers to the process."""
    folder = example_folder()
    try:
        result = compile_example(sc, folder)
        problems = judge(sc, result, folder, "fast")
        assert problems == [], "\n".join(problems)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _verify_units(sc: Scenario, units: dict, folder: Path) -> str:
    unit_dir = folder / "units"
    unit_dir.mkdir()
    for name, text in units.items():
        (unit_dir / name).write_text(text, encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no",
                           *sorted(str(p) for p in unit_dir.iterdir())], check=False,
                          capture_output=True, text=True, cwd=unit_dir, timeout=120)
    # the job's own absolute command is not installed on this host: not b00tc's doing
    first = expect(sc, sc.job.command[0], "systemd", "job")
    lines = [ln for ln in done.stderr.splitlines()
             if not (first and first.startswith("/") and f"Command {first} is not executable" in ln)]
    return "\n".join(lines)


@pytest.mark.skipif(not (shutil.which("docker-compose") and shutil.which("shellcheck")
                         and shutil.which("systemd-analyze")),
                    reason="docker-compose, shellcheck and systemd-analyze are installed by .ci/test")
@prop_settings("slow_tools")
@given(scenarios())
def test_slow_tools(sc):
    """A few examples judged by the subprocess tools of tests/test_validate.py:
    ``docker-compose config -q``, ``shellcheck``, ``systemd-analyze verify``; systemd's
    own loader (``systemd --test``) reads the job's and the members' units like the
    reference reader; and the real ``docker-compose config`` command line reads the files
    exactly as the long-lived worker of test_all_targets does."""
    if any(is_noncharacter(c) for d in [sc.job, sc.stack, *sc.members] for c in d.hint or ""):
        RAN[("slow", "systemd: hints with noncharacters (bug 11)")] += 1
    folder = example_folder()
    try:
        result = compile_example(sc, folder)
        problems = judge(sc, result, folder, "slow")
        env = {**run_env_spelled(sc), **sc.host_env}
        for name, text in files(result, "compose").items():
            done = compose_cli_config(folder, text, env, quiet=True)
            if done.returncode != 0:
                problems.append(f"docker-compose config -q {name}: {done.stderr}")
            cli = compose_cli_config(folder, text, env)
            if WORKER is not None and cli.returncode == 0:
                problems += same_reading(f"docker-compose CLI vs worker, {name}",
                                         unescape_compose(yaml.safe_load(cli.stdout)),
                                         WORKER.config(folder, text, env))
        RAN[("slow", "compose: docker-compose config -q")] += 1
        for name, text in files(result, "bash").items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            done = subprocess.run(["shellcheck", "-s", "bash", str(path)], check=False, capture_output=True,
                                  text=True, timeout=120)
            if done.returncode != 0:
                problems.append(f"shellcheck {name}: {done.stdout}")
        RAN[("slow", "bash: shellcheck")] += 1
        units = files(result, "systemd")
        err = _verify_units(sc, units, folder)
        if err:
            problems.append(f"systemd-analyze verify: {err}")
        RAN[("slow", "systemd: systemd-analyze verify")] += 1
        problems += systemd_itself(sc, units, systemd_env_files(sc, result))
        RAN[("slow", "systemd: systemd --test")] += 1
        assert problems == [], "\n".join(problems)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_LOSSY_YAML = re.compile("[\x85\u2028\u2029]")


def same_reading(what: str, cli, worker) -> list[str]:
    """The command line's printed config is the worker's, except where its YAML printing
    is lossy (see ComposeWorker) and where the worker has the objects the printing turns
    into short syntax (volumes, ports: compared by the checks of test_all_targets)."""
    if isinstance(worker, str):
        return [] if _LOSSY_YAML.search(worker) or cli == worker else \
            [f"{what}: {cli!r} != {worker!r}"]
    if isinstance(worker, dict) and isinstance(cli, dict):
        out = []
        for k in worker.keys() | cli.keys():
            if k in ("volumes", "ports", "version"):
                continue
            out += same_reading(f"{what}.{k}", cli.get(k), worker.get(k))
        return out
    if isinstance(worker, list) and isinstance(cli, list) and len(worker) == len(cli):
        return [p for i, (c, w) in enumerate(zip(cli, worker))
                for p in same_reading(f"{what}[{i}]", c, w)]
    return [] if cli == worker else [f"{what}: {cli!r} != {worker!r}"]


def systemd_itself(sc: Scenario, units: dict, envs: dict[str, dict[str, str]]) -> list[str]:
    """systemd's own parse (``systemd --test`` dump) of the job's unit and the members'
    units: argv and environment as the process gets them. The dump names a unit's
    EnvironmentFile= (systemd reads it only when the service starts): ``envs`` is that file
    as ``b00tc env`` resolves it, whose values win over Environment= (systemd.exec(5)) and
    replace the ``${B00T_*}`` words of the Exec line (systemd.service(5))."""

    def own(dump: str) -> Expect:
        (argv,) = dump_commands(dump)["ExecStart"]
        env = dict(re.findall(r"^\t\tEnvironment: ([A-Za-z_][A-Za-z0-9_]*)=(.*?)\n(?=\t\t|\t-> |\Z)",
                              dump, re.M | re.S))  # as systemd_own_reading reads it
        for path in re.findall(r"^\t\tEnvironmentFile: (\S+)", dump, re.M):
            env.update(envs[path])
        argv = [dollars(a, env) for a in argv]
        # the ${B00T_*} words' variables are in the process's environment too (b00tc's
        # names, documented; a datum env entry of the same name is E0601): not the datum's
        words = {m for a in dump_commands(dump)["ExecStart"][0] for m in re.findall(r"^\$\{(B00T_\w+)\}$", a)}
        return Expect(argv, {k: v for k, v in env.items() if k not in words})

    problems = []
    j = sc.job
    seen = own(systemd_dump(units, f"b00t-{j.name}.service"))
    argv = [a for a in seen.argv]
    env = dict(seen.env)
    if argv[:1] == ["/usr/bin/env"]:
        argv, assigns, more = env_reading(argv)
        env.update(assigns)
        problems += more
    extra = frozenset({"CUDA_VISIBLE_DEVICES"}) if gpu_count(j.res) else frozenset()
    problems += compare("systemd --test job", Expect(argv, env), job_expect(sc, "systemd"),
                        extra_ok=extra)
    for m in sc.members:
        name = f"b00t-{sc.stack.name}-{m.name}.service"
        seen = own(systemd_dump(units, name))
        run = docker_run(seen.argv[1:], seen.env)
        # %h is the home of the manager that runs the unit; the test-mode manager here runs
        # as nobody, whose home systemd resolves in its own way, so ~ mounts are compared by
        # the reference reader above (home /root) and left out here
        problems += check_docker_run(f"systemd --test member {m.name}", run, sc, m, "systemd", "/",
                                     skip_tilde=True)
    return problems


# ---------------------------------------------------------------------------
# What no target can carry: a clear error (E0601), never a mangled value


def value_files(sc: Scenario) -> list[tuple[Val, str]]:
    """Every datum string of the example with the file it is written in."""
    j, stk = sc.job, sc.stack
    out = [(v, f"{j.name}.job.toml") for v in [j.image, *j.command, *j.args, *j.env.values()]]
    out += [(v, f"{stk.name}.stack.toml") for v in stk.env.values()]
    for m in stk.members:
        vals = [m.image, *m.command, *m.args, *m.env.values()]
        vals += [v for _, v in m.docker_env if v is not None]
        out += [(v, f"{m.name}.docker.toml") for v in vals]
    return out


@st.composite
def nul_examples(draw):
    """A generated example with a NUL put in one of its strings: in a literal, in a host
    variable's default or message, or after everything; or (file None) in the value of
    a host variable that a string reads (as ``--env-file`` could hold it)."""
    sc = draw(scenarios())
    used = sorted({p[1] for v in all_values(sc) for p in v.parts
                   if p[0] == "var" and sc.host_env.get(p[1])})
    if used and draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(used))
        at = draw(st.integers(0, len(sc.host_env[name])))
        sc.host_env[name] = sc.host_env[name][:at] + "\0" + sc.host_env[name][at:]
        return sc, None
    val, file = draw(st.sampled_from(value_files(sc)))
    spots = [i for i, p in enumerate(val.parts) if p[0] == "lit" or (p[0] == "var" and p[2])]
    if spots and draw(st.booleans()):
        i = draw(st.sampled_from(spots))
        part = val.parts[i]
        text = part[1] if part[0] == "lit" else part[3]
        at = draw(st.integers(0, len(text)))
        text = text[:at] + "\0" + text[at:]
        val.parts[i] = ("lit", text) if part[0] == "lit" else (*part[:3], text)
    elif val.parts and val.parts[-1][0] == "lit":
        val.parts[-1] = ("lit", val.parts[-1][1] + "\0")
    else:
        val.parts.append(("lit", "\0"))
    return sc, file


def resolving_errors(sc: Scenario, result) -> set[str]:
    """``resolved_errors`` with the scenario's host environment."""
    return resolved_errors(result, sc.host_env)


@prop_settings("nul")
@given(nul_examples())
def test_nul_is_a_clear_error(example):
    """A NUL in any datum string (a literal, a host variable's default or message; an
    env value, a command or args element, an image, a ``-e`` docker argument, of the
    job, the stack or a member) cannot reach a process on any target (argv and
    environment strings end at NUL): the build fails with E0601 in that file, for every
    target, and writes nothing. A NUL in a host variable's value is E0601 on the targets
    that read it when b00tc runs (systemd in ``b00tc env``, k8s and Nomad at build for an
    image, when deploy resolves the Secret or the job's Variable otherwise); compose and
    bash read it at run time, from an environment that cannot hold one."""
    sc, file = example
    folder = example_folder()
    try:
        write_example(sc, folder, canonical=False)
        if file is None:  # a host variable's value: only where it is read at build time
            for target in TARGETS:
                result = build(sc, folder, targets=[target])
                codes = {d.code for d in result.diags if d.is_error} | resolving_errors(sc, result)
                # systemd reads a value only where a unit uses it: a job runs its command on
                # the host, so a variable used only in a job's image is never read there
                reads = target in ("k8s", "nomad") or target == "systemd" and _systemd_reads(result, sc.host_env)
                assert codes == ({"E0601"} if reads else set()), f"{target}: {rendered(result)}"
                RAN[("nul", f"{target} (host variable value)")] += 1
            return
        result = build(sc, folder)
        errors = [d for d in result.diags if d.is_error]
        assert errors and not result.outputs, rendered(result)
        assert {d.code for d in errors} == {"E0601"}, rendered(result)
        assert {os.path.basename(d.file) for d in errors} == {file}, rendered(result)
        RAN[("nul", "all five (one build)")] += 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@st.composite
def cannot_carry_examples(draw):
    kind = draw(st.sampled_from(["equals", "bash-owned", "service-name", "noncharacter"]))
    sc = draw(scenarios(digit_member=kind == "service-name"))
    j = sc.job
    sane = lambda t: "".join("\ufffd" if is_noncharacter(c) else c for c in t)
    if kind == "noncharacter":
        # U+FDD0-U+FDEF, U+xFFFE, U+xFFFF in a literal of one of the example's strings
        val, _ = draw(st.sampled_from(value_files(sc)))
        char = chr(draw(st.one_of(st.integers(0xFDD0, 0xFDEF),
                                  st.integers(0, 16).map(lambda p: p * 0x10000 + 0xFFFE),
                                  st.integers(0, 16).map(lambda p: p * 0x10000 + 0xFFFF))))
        lits = [i for i, p in enumerate(val.parts) if p[0] == "lit"]
        if lits:
            i = draw(st.sampled_from(lits))
            at = draw(st.integers(0, len(val.parts[i][1])))
            val.parts[i] = ("lit", val.parts[i][1][:at] + char + val.parts[i][1][at:])
        else:
            val.parts.append(("lit", char))
    elif kind == "equals":
        # a command name with '=' that is not a bare absolute path: systemd runs it
        # through /usr/bin/env, which would read it as an assignment
        text = draw(hostile_text(3).map(lambda t: sane(t.replace("=", ""))))
        at = draw(st.integers(0, len(text)))
        text = text[:at] + "=" + text[at:]
        if text.startswith("/"):
            text = "x" + text
        j.command[0] = lit_val(text)
        if draw(st.booleans()):
            j.env[draw(st.sampled_from(sorted(BASH_OWNED_NAMES)))] = lit_val("1")
    elif kind == "bash-owned":
        # a variable bash owns goes through /usr/bin/env, which cannot run a command
        # starting with '-' nor one whose name is only known at run time
        j.env[draw(st.sampled_from(["SHLVL", "IFS", "_", "BASH_ENV", "RANDOM", "LINENO"]))] = \
            lit_val(sane(draw(hostile_text(2))))
        j.command[0] = draw(st.sampled_from([lit_val("-x"), lit_val("--"), lit_val("-"),
                                             Val([("var", "B00T_PROP_CMD", ":-", "run")])]))
    return kind, sc


@prop_settings("cannot_carry")
@given(cannot_carry_examples())
def test_cannot_carry_is_a_clear_error(example):
    """Besides NUL, one class of characters is beyond a target: the 66 Unicode
    noncharacters (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF), which systemd refuses in a unit
    (``noncharacter``: E0601 on systemd, and the other targets deliver every value; found
    by test_slow_tools as bug 8). test_all_targets generates every other code point.
    What else a target cannot carry depends on where a value goes, each a clear E0601 on
    that target only:

    - ``equals``: a command name with ``=`` that is not a bare absolute path -- systemd
      runs it through /usr/bin/env, which would take it for an assignment; so does bash
      when the job sets a variable bash owns (passed through /usr/bin/env);
    - ``bash-owned``: such a variable with a command starting with ``-`` (or ``-``
      itself) or coming from a host variable (bash only);
    - ``service-name``: a member named with a leading digit that publishes a port is a
      service, and a Kubernetes Service name is a DNS-1035 label (k8s only).

    The other targets build the example, and (k8s) deliver the command as written."""
    kind, sc = example
    folder = example_folder()
    try:
        write_example(sc, folder, canonical=False)
        owned = bool(set(sc.job.env) & BASH_OWNED_NAMES)
        refused = {"equals": {"systemd"} | ({"bash"} if owned else set()),
                   "bash-owned": {"bash"}, "service-name": {"k8s"},
                   "noncharacter": {"systemd"}}[kind]
        if kind == "noncharacter" and any(is_noncharacter(ch) for p in sc.job.image.parts if p[0] == "lit"
                                          for ch in p[1]):
            refused = set()  # systemd runs the job on the host: its image is only named in a comment
        for target in TARGETS:
            result = build(sc, folder, targets=[target])
            codes = {d.code for d in result.diags if d.is_error}
            if target in refused:  # (the command line then writes nothing: exit 1)
                # (a host variable's value: b00tc env or deploy says it, where it is resolved)
                codes |= resolving_errors(sc, result)
                assert codes == {"E0601"}, f"{target}: {rendered(result)}"
            else:
                assert result.ok, f"{target}: {rendered(result)}"
            RAN[("cannot-carry", target)] += 1
        if kind == "noncharacter":  # the other targets deliver it, like any character
            others = [t for t in TARGETS if t not in refused]
            result = build(sc, folder, targets=others)
            problems = []
            for t in others:
                out = files(result, t)
                problems += (check_compose(sc, out, folder, WORKER) if t == "compose"
                             else CHECKS[t](sc, out, folder, result) if t in ("systemd", "k8s", "nomad")
                             else CHECKS[t](sc, out, folder))
            assert problems == [], "\n".join(problems)
        elif "k8s" not in refused:
            result = build(sc, folder, targets=["k8s"])
            text = files(result, "k8s")[f"{sc.job.name}.yaml"]
            seen = k8s_reading(text, "Job", sc.job.name, spelled(expected_strings(sc, "k8s")),
                               secrets=k8s_store_values(sc, result))
            assert seen.argv[0] == expect(sc, sc.job.command[0], "k8s", "job")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------
# Bugs found by these properties: minimal reproducers (xfail strict: a fix makes them
# XPASS, which fails the run; then delete the marker and the known_bug_* predicate).
# All are fixed now: they stay as regression tests.


def write_datums(tmp_path: Path, datums: dict[str, str]) -> list[str]:
    for name, text in datums.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return [str(tmp_path / n) for n in datums if n.endswith((".job.toml", ".stack.toml"))]


def one_job(command: str, env: str = "", extra: str = "") -> dict[str, str]:
    return {"t.job.toml": f'[b00t]\nname = "t"\ntype = "job"\n[b00t.container]\n'
                          f'image = "busybox"\ncommand = {command}\n{extra}'
                          + (f"[b00t.env]\n{env}\n" if env else "")}


@pytest.mark.parametrize("first", ["/opt/tool\n", "/opt/tool ", "/opt/100%", '/opt/say"',
                                   "/opt/back\\"])
def test_fixed_bug_systemd_absolute_command_with_special_last_character(first, tmp_path):
    """``command = ["/opt/tool\\n", "arg"]`` -> ``ExecStart=/opt/tool`` + newline +
    `` arg`` (an unparsable line); ``"/opt/tool "`` -> argv[0] ``/opt/tool``;
    ``"/opt/100%"`` -> an invalid specifier; ``/opt/say"`` -> an unbalanced quote."""
    paths = write_datums(tmp_path, one_job(f"[{toml_str(first)}, \"arg\"]"))
    result = compile_(paths, targets=["systemd"], env={})
    assert result.ok, rendered(result)
    seen, problems = systemd_job_reading(Parsed(files(result, "systemd")["b00t-t.service"]))
    assert problems == [] and seen.argv == [first, "arg"]


NOMAD_PORT_STACK = {
    "web.docker.toml": '[b00t]\nname = "web"\ntype = "docker"\nimage = "nginx"\n'
                       'docker_args = ["-p", "8080:80", "-p", "9000"]\n',
    "st.stack.toml": '[b00t]\nname = "st"\ntype = "stack"\nmembers = ["web.docker"]\n'
                     '[b00t.services]\nweb = { port = 80 }\n',
}


def test_fixed_bug_nomad_port_number_reference(tmp_path):
    """Job env ``API = "${STACK:st:web:9000}"``, ``WEB = "${STACK:st:web:80}"``: k8s and
    compose give ``http://web:9000`` / ``http://web:80``, Nomad's env template renders
    both from ``nomadService "web"`` (the port-80 instance), so API gets the address
    of port 80. A target that cannot reach port 9000 should say so (W0301/E0601)."""
    datums = {**NOMAD_PORT_STACK, **one_job(
        '["run"]', env='API = "${STACK:st:web:9000}"\nWEB = "${STACK:st:web:80}"',
        extra='[b00t.dependencies]\nrequires_stacks = ["st"]\n')}
    write_datums(tmp_path, datums)
    result = compile_([str(tmp_path / "t.job.toml")], targets=["nomad"], env={})
    assert result.ok, rendered(result)
    said = [d for d in result.diags if d.path.endswith("env.API")]
    services = {"web": [("10.0.0.7", 28080)]}
    seen, _, _, _ = nomad_read(files(result, "nomad")["t.nomad.hcl"], "t", "t", {}, services)
    assert said or seen.env["API"] != seen.env["WEB"], seen.env


def test_fixed_bug_bash_host_variable_command_starting_with_dash(tmp_path):
    """``command = ["${TOOL}", "arg"]`` with ``TOOL=-v`` in the environment: the script
    ends ``exec "$__b00t_v1" arg`` and bash answers ``exec: -v: invalid option``."""
    paths = write_datums(tmp_path, one_job('["${TOOL}", "arg"]'))
    result = compile_(paths, targets=["bash"], env={})
    assert result.ok, rendered(result)
    words, _, err = run_job_script(files(result, "bash")["t.sh"], tmp_path / "run", {"TOOL": "-v"})
    assert not err, err
    argv, _, problems = exec_reading(words)
    assert problems == [] and argv == ["-v", "arg"]


def _systemd_reads(result, host_env) -> bool:
    """A unit of the build reads one of ``host_env``'s variables (at build time, an error
    said; at run time, from its environment file)."""
    if not result.ok:
        return True
    names = set(host_env)
    return any(var.name in names for store in result.env_files for e in store.entries for var in e.value.host_vars)


def resolved_errors(result, host_env) -> set[str]:
    """The error codes of resolving a successful build's deploy-time values with
    ``host_env``: k8s's Secrets and Nomad's Variables (deploy's step) and systemd's
    environment files (``b00tc env``)."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_files, resolve_store

    if not result.ok:
        return set()
    diags = Diagnostics()
    for store in result.env_files:
        if store.kind in ("k8s", "nomad"):
            resolve_store(store, dict(host_env), diags)
    resolve_files(result.env_files, dict(host_env), diags)
    return {d.code for d in diags if d.is_error}


@pytest.mark.parametrize("target", ["k8s", "nomad", "systemd"])
def test_fixed_bug_nul_in_host_variable_value(target, tmp_path):
    """``A = "${TOKEN}"`` built with ``TOKEN=a<NUL>b`` (``b00tc build ... --env-file F``
    where F holds ``TOKEN=a\\0b``): k8s writes ``value: "a\\0b"``, Nomad
    ``A = "a\\u0000b"``, systemd ``Environment="A=a\\x00b"`` (which systemd rejects).
    systemd now resolves host variables in ``b00tc env`` only (its environment file), k8s
    and Nomad when deploy resolves the Secret or the job's Variable: the error is there."""
    paths = write_datums(tmp_path, one_job('["run"]', env='A = "${TOKEN}"'))
    result = compile_(paths, targets=[target], env={"TOKEN": "a\0b"})
    assert result.ok, rendered(result)
    assert resolved_errors(result, {"TOKEN": "a\0b"}) == {"E0601"}


GPU_MEMBER = {
    "gpu.docker.toml": '[b00t]\nname = "gpu"\ntype = "docker"\nimage = "cuda"\n'
                       'docker_args = ["--gpus", "2"]\n[b00t.resources]\ngpu_memory = "24Gi"\n',
    "g.stack.toml": '[b00t]\nname = "g"\ntype = "stack"\nmembers = ["gpu.docker"]\n',
}


@pytest.mark.parametrize("case", [
    "member --gpus 2 + gpu_memory",  # bug 9 (fixed): one GPU, gpu_memory's implied count won
    "job gpu_memory alone",
])
def test_fixed_bug_gpu_memory_without_count_drops_the_gpus(case, tmp_path):
    """A member with ``docker_args = ["--gpus", "2"]`` and ``gpu_memory = "24Gi"``: the
    loader builds a Gpu of count 0 from gpu_memory, so --gpus is ignored and normalising
    drops the GPU: no nvidia.com/gpu limit, no ``--gpus``, no ``device``, no diagnostic.
    A job with only ``gpu_memory = "24Gi"``: the same, silently."""
    if case.startswith("member"):
        paths = write_datums(tmp_path, GPU_MEMBER)
        name, kind, file = "gpu", "Deployment", "g.yaml"
    else:
        paths = write_datums(tmp_path, one_job('["run"]', extra='[b00t.resources]\n'
                                                                 'gpu_memory = "24Gi"\n'))
        name, kind, file = "t", "Job", "t.yaml"
    result = compile_(paths, targets=["k8s"], env={})
    assert result.ok, rendered(result)
    c = k8s_container(files(result, "k8s")[file], kind, name)
    # (k8s warns W0301 that it cannot select by GPU memory: not an answer to the count)
    assert c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu") == \
        ("2" if case.startswith("member") else "1")


@pytest.mark.parametrize("name", ["x", "web$1", "my web"])
def test_fixed_bug_container_name_not_validated(name, tmp_path):
    """``docker_args = ["--name", "x"]``: compose gets ``container_name: x``, which the
    compose-spec schema refuses (its pattern needs two characters); ``web$1`` (written
    ``web$$1``) and ``my web`` pass the schema, whose pattern is not anchored, but docker
    refuses them (``[a-zA-Z0-9][a-zA-Z0-9_.-]+``)."""
    paths = write_datums(tmp_path, {
        "web.docker.toml": '[b00t]\nname = "web"\ntype = "docker"\nimage = "nginx"\n'
                           f'docker_args = ["--name", {toml_str(name)}]\n',
        "s.stack.toml": '[b00t]\nname = "s"\ntype = "stack"\nmembers = ["web.docker"]\n'})
    result = compile_(paths, targets=["compose"], env={})
    if not result.ok:
        assert "E0110" in {d.code for d in result.diags if d.is_error}
        return
    doc = yaml.safe_load(files(result, "compose")["s.compose.yaml"])
    compose_schema_validator().validate(doc)  # fails for "x"
    # docker's own rule (daemon/names.go validContainerNamePattern), anchored
    assert re.fullmatch(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+", doc["services"]["web"]["container_name"])


def test_fixed_bug_k8s_duplicate_service_port_names(tmp_path):
    """``dns = { port = 53, protocol = "udp" }`` served by a member with ``-p 5353:53``:
    the Service lists ``{name: p53, protocol: UDP}`` and ``{name: p53, protocol: TCP}``."""
    paths = write_datums(tmp_path, {
        "dns.docker.toml": '[b00t]\nname = "dns"\ntype = "docker"\nimage = "coredns/coredns"\n'
                           'docker_args = ["-p", "5353:53"]\n',
        "net.stack.toml": '[b00t]\nname = "net"\ntype = "stack"\nmembers = ["dns.docker"]\n'
                          '[b00t.services]\ndns = { port = 53, protocol = "udp" }\n'})
    result = compile_(paths, targets=["k8s"], env={})
    assert result.ok, rendered(result)
    check_manifests([d for d in yaml.safe_load_all(files(result, "k8s")["net.yaml"]) if d])


@pytest.mark.parametrize("where", ["env", "arg"])
@pytest.mark.parametrize("char", ["\uffff", "\ufdd0", "\U0010ffff"])
def test_fixed_bug_systemd_noncharacter(char, where, tmp_path):
    """``A = "x\uffffy"`` -> ``Environment="A=x\uffffy"`` (raw; written as the escape
    ``\uffff`` systemd refuses it too): systemd 252 logs "String is not UTF-8 clean,
    ignoring assignment" and the job runs without A. The other targets carry it."""
    value = toml_str(f"x{char}y")
    job = one_job(f'["run", {value}]' if where == "arg" else '["run"]',
                  env=f"A = {value}" if where == "env" else "")
    paths = write_datums(tmp_path, job)
    for target in ("k8s", "compose", "nomad", "bash"):
        assert compile_(paths, targets=[target], env={}).ok
    result = compile_(paths, targets=["systemd"], env={})
    assert [d.code for d in result.diags if d.is_error] == ["E0601"], rendered(result)


@pytest.mark.parametrize("second", ["data:/a", "data:/a:rw", "/srv:/a", "other:/a/"])
def test_fixed_bug_duplicate_mount_point(second, tmp_path):
    """``docker_args = ["-v", "data:/a", "-v", SECOND]``: for ``data:/a`` (or
    ``data:/a:rw``, written without ``:rw``) compose gets ``volumes: [data:/a, data:/a]``,
    which fails the schema; ``/srv:/a`` passes the schema but no target can run it. An
    argument docker refuses is E0110 elsewhere (a bad volume name, a container name).
    ``other:/a/`` is the same path: docker cleans mount targets (filepath.Clean) before
    it compares them. Fixed: E0110 on the second -v, located at it."""
    paths = write_datums(tmp_path, {
        "web.docker.toml": '[b00t]\nname = "web"\ntype = "docker"\nimage = "nginx"\n'
                           f'docker_args = ["-v", "data:/a", "-v", {toml_str(second)}]\n',
        "s.stack.toml": '[b00t]\nname = "s"\ntype = "stack"\nmembers = ["web.docker"]\n'})
    result = compile_(paths, targets=["compose"], env={})
    errors = [d for d in result.diags if d.is_error]
    assert [d.code for d in errors] == ["E0110"], rendered(result)
    assert errors[0].path.endswith("docker_args[3]"), errors[0].path


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd is installed by .ci/test")
@pytest.mark.parametrize("char", ["\uffff", "\ufdd0"])
def test_fixed_bug_systemd_noncharacter_in_hint(char, tmp_path):
    """``hint = "nightly\uffff"``: ``Description=nightly\uffff``; ``systemd-analyze
    verify`` says "Unit b00t-t.service failed to load properly". The bash script and the
    Nomad file keep the hint in comments, where it is harmless. Fixed: the description is
    for people, so the noncharacter becomes U+FFFD there and systemd loads the unit."""
    paths = write_datums(tmp_path, one_job('["/bin/true"]', extra=""))
    text = (tmp_path / "t.job.toml").read_text().replace(
        'type = "job"\n', f'type = "job"\nhint = {toml_str("nightly" + char)}\n')
    (tmp_path / "t.job.toml").write_text(text, encoding="utf-8")
    result = compile_(paths, targets=["systemd"], env={})
    assert result.ok, rendered(result)
    unit = files(result, "systemd")["b00t-t.service"]
    assert "Description=nightly\ufffd\n" in unit
    (tmp_path / "b00t-t.service").write_text(unit, encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "b00t-t.service")],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr


# ---------------------------------------------------------------------------


def test_zz_report_examples_per_target(capsys):
    """How many generated examples ran per target in this run (printed even without -s)."""
    with capsys.disabled():
        print(f"\n\ntests/test_properties.py: generated examples per test and target "
              f"(B00TC_PROPERTY_EXAMPLES={PROPERTY_N or 'unset'}, "
              f"{time.monotonic() - STARTED:.0f} s since the module loaded)")
        for (kind, target), n in sorted(RAN.items()):
            print(f"  {kind:<14} {target:<40} {n:>5}")


def test_a_nul_in_a_variable_only_a_job_image_uses(tmp_path):
    """Found by test_nul_is_a_clear_error in a full run: a host variable used only in a
    job's image, its value holding a NUL. k8s and Nomad resolve the image at build time:
    E0601. systemd runs a job's command on the host and never uses the image (its unit
    says so), so nothing reads the value: no error, as for compose and bash at run time."""
    from b00tc.compiler import BuildRequest, build as compile_build

    (tmp_path / "p.job.toml").write_text('[b00t]\nname = "p"\ntype = "job"\n[b00t.container]\n'
                                         'image = "busybox:${MAYBE-}"\ncommand = ["true"]\n')
    for target, expected in (("k8s", {"E0601"}), ("nomad", {"E0601"}), ("systemd", set())):
        r = compile_build(BuildRequest(paths=[str(tmp_path / "p.job.toml")], targets=[target],
                                       host_env={"MAYBE": "a\x00b"}))
        codes = {d.code for d in r.diags if d.is_error} | resolved_errors(r, {"MAYBE": "a\x00b"})
        assert codes == expected, (target, [d.message for d in r.diags])
        assert not _systemd_reads(r, {"MAYBE": "x"}) or target != "systemd"
