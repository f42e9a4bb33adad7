"""Literal values, from the datum text through the real compiler to each target's own
reading of its output.

The README promises that "literal values reach the process byte for byte on every
target". The backend tests check that with IR built by hand; these tests start from the
datum files of tests/cases (hostile-literals.job.toml, hostile.stack.toml with its member
echo.docker.toml, host-vars.job.toml), compile them with the real compiler
(``tests.helpers.compile_``: TOML front end, lark references, passes, backends) and read
every env value and every command/args element back the way each target reads it:

- k8s: PyYAML, then what the kubelet does (``kubelet_view`` of tests/backends/test_k8s.py):
  each ``secretKeyRef`` read from the build's Secrets as deploy resolves them
  (``resolve_store``), and Kubernetes' dependent-variable expansion (``k8s_expand``,
  current and pre-UTF-8-fix flavours) with every variable name the strings spell defined;
- compose: ``docker-compose -f FILE config`` (interpolation by docker-compose itself),
  its ``$$`` output escaping undone (``interpolated`` of tests/backends/test_compose.py);
- nomad: python-hcl2 plus the reference decoders of tests/backends/test_nomad.py (HCL
  quoted templates, the task-start evaluation of driver config, ReplaceEnv of the env
  block, Go text/template and go-envparse of env templates);
- bash: the generated script is RUN; the program it starts is a stand-in found on PATH
  that records the argv and environment it got (nothing in the script is replaced), and
  two variants of the datum (``printf '%s\\0'`` and ``env -0``) built from the same
  literals show the whole argv and environment;
- systemd: the reference reader of tests/backends/test_systemd.py (``Parsed``), the
  decoded argv run, and systemd's own parser (``systemd --test``) compared with it.

Expected values are never written by hand: they are read from the datum with tomllib and
decoded by the datum language's own rule (``$$`` -> ``$``, ``$${`` -> ``${``, a lone ``$``
literal), i.e. ``b00tc.frontend.refs.parse_value`` with its ``Lit`` parts joined. The one
reference in the job (``${STACK:hostile:echo:endpoint}``) becomes what the README's table
says it becomes on each target, built from the member's published port.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import hcl2
import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as the PyPI package b00tc uses
    import tomli as tomllib

from b00tc.frontend.refs import parse_value
from b00tc.ir import HostVar, Lit, Ref
from tests.backends.test_compose import compose_config, interpolated
from tests.backends.test_k8s import k8s_expand, k8s_secrets, kubelet_view
from tests.backends.test_nomad import (
    attrs,
    check_jobspec,
    hcl_decode,
    hcl_raw,
    job_parts,
    nomad_config_eval,
    one,
    replace_env,
    s,
    task_env,
)
from tests.backends.test_systemd import Parsed, dollars, dump_commands, environment, read_env_file, systemd_dump
from tests.helpers import GOLDEN_ENV, compile_, files, rendered

ROOT = Path(__file__).resolve().parent.parent
JOB = "tests/cases/hostile-literals.job.toml"
STACK = "tests/cases/hostile.stack.toml"
MEMBER = "tests/cases/echo.docker.toml"
HOST_VARS = "tests/cases/host-vars.job.toml"
BASH = shutil.which("bash") or "/bin/bash"

needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose (v1) is the judge of what compose makes of the file",
)


# ---------------------------------------------------------------------------
# The datums and the values they mean


@lru_cache(maxsize=None)
def _toml_text(path: str) -> str:
    return (ROOT / path).read_text(encoding="utf-8")


def datum(path: str) -> dict:
    """A datum as TOML says it is (a fresh copy each time)."""
    return tomllib.loads(_toml_text(path))


def literal(text: str, refs: dict[tuple[str, str, str], str] | None = None) -> str:
    """The value the datum language gives ``text``: the parts ``parse_value`` finds, the
    ``Lit`` texts joined. A reference is replaced by ``refs``; anything else (a host
    variable) is not a literal and fails here."""
    out = []
    for part in parse_value(text).parts:
        if type(part) is Lit:
            out.append(part.text)
        elif type(part) is Ref and refs is not None:
            out.append(refs[(part.stack, part.service, part.field)])
        else:
            raise AssertionError(f"{text!r}: {part!r} is not a literal")
    return "".join(out)


def published() -> tuple[int, int]:
    """(host port, container port) of the echo member's ``-p HOST:CONTAINER``."""
    args = datum(MEMBER)["b00t"]["docker_args"]
    host, container = args[args.index("-p") + 1].split(":")
    return int(host), int(container)


def endpoint(target: str) -> str:
    """What ``${STACK:hostile:echo:endpoint}`` becomes (README, "How each intent lands on
    each target"): the Service / compose service name and the service port on k8s and
    compose (a published docker port makes the member a service of protocol http, on its
    container port), the first instance Nomad's catalog returns (NOMAD_SERVICES) on Nomad,
    and localhost with the published host port on bash and systemd."""
    host_port, port = published()
    return {
        "k8s": f"http://echo:{port}",
        "compose": f"http://echo:{port}",
        "nomad": "http://%s:%d" % NOMAD_SERVICES["echo"][0],
        "bash": f"http://localhost:{host_port}",
        "systemd": f"http://localhost:{host_port}",
    }[target]


#: the catalog Nomad's ``nomadService`` answers from in these tests
NOMAD_SERVICES = {"echo": [("10.0.0.7", 28080)]}


class Expect(NamedTuple):
    """What the process gets: its argv (command + args) and its environment."""

    argv: list[str]
    env: dict[str, str]


def job_expected(target: str) -> Expect:
    b = datum(JOB)["b00t"]
    refs = {("hostile", "echo", "endpoint"): endpoint(target)}
    c = b["container"]
    return Expect(
        argv=[literal(v, refs) for v in c["command"] + c["args"]],
        env={k: literal(v, refs) for k, v in b["env"].items()},
    )


def member_expected() -> Expect:
    """The echo member of stack hostile: the stack's env, then the member's own (README:
    "a member's own env wins"); the member's command + args."""
    stack, member = datum(STACK)["b00t"], datum(MEMBER)["b00t"]
    assert stack["members"] == ["echo.docker"]
    env = {k: literal(v) for k, v in stack.get("env", {}).items()}
    env.update({k: literal(v) for k, v in member.get("env", {}).items()})
    return Expect(argv=[literal(v) for v in member["command"] + member["args"]], env=env)


_NAME_PATTERNS = (r"\$\(([^)$]*)\)", r"\$\{([^}$:?\-]*)", r"\$([A-Za-z_][A-Za-z0-9_]*)")


def defined_for(strings) -> dict[str, str]:
    """Every variable name the strings spell as ``$(name)``, ``${name}`` or ``$name``, each
    given a value that cannot be mistaken for the literal: any expansion that should not
    happen shows up."""
    names = set()
    for text in strings:
        for pattern in _NAME_PATTERNS:
            names.update(n for n in re.findall(pattern, text) if n)
    return {n: f"EXPANDED-{n}" for n in sorted(names)}


def hostile_strings() -> list[str]:
    job, member = job_expected("k8s"), member_expected()
    return [*job.argv, *job.env.values(), *member.argv, *member.env.values()]


def defined() -> dict[str, str]:
    return defined_for(hostile_strings())


MISSING = "<missing>"


def mismatches(seen: Expect, want: Expect, exact_env: bool = True) -> list[str]:
    """Every value that did not arrive, as ``argv[i]: ...`` / ``env NAME: ...``."""
    out = []
    if len(seen.argv) != len(want.argv):
        out.append(f"argv: {len(seen.argv)} items, want {len(want.argv)}: {seen.argv!r}")
    for i, (got, exp) in enumerate(zip(seen.argv, want.argv)):
        if got != exp:
            out.append(f"argv[{i}]: got {got!r}, want {exp!r}")
    for name, exp in want.env.items():
        got = seen.env.get(name, MISSING)
        if got != exp:
            out.append(f"env {name}: got {got!r}, want {exp!r}")
    if exact_env:
        out.extend(f"env {k}: not in the datum" for k in seen.env if k not in want.env)
    return out


def mutate(text: str, old: str, new: str) -> str:
    """A negative control's edit of an output: ``old`` must be there exactly once."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def build(paths, targets, env=None, includes=()) -> dict[str, dict[str, str]]:
    result = compile_(paths, targets=targets, env=env, includes=includes)
    assert result.ok, rendered(result)
    return {t: files(result, t) for t in targets}


def systemd_env_files(paths, host_env, includes=()) -> dict[str, dict[str, str]]:
    """What ``b00tc env --target systemd`` prints for ``paths`` with ``host_env``, each
    environment file read back with systemd.exec(5)'s documented rule."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_files

    result = compile_(paths, targets=["systemd"], env={}, includes=includes)
    assert result.ok, rendered(result)
    diags = Diagnostics()
    texts = resolve_files(result.env_files, host_env, diags)
    assert texts is not None, [d.message for d in diags]
    return {path: read_env_file(text) for path, text in texts.items()}


def nomad_variables(paths, host_env, includes=()) -> dict[str, dict[str, str]]:
    """The Nomad Variables of ``paths`` (built with an empty environment: the job files do
    not depend on it) resolved with ``host_env`` as deploy resolves them before ``nomad
    job run`` (``envfiles.resolve_store``): path -> items, what ``nomadVar`` reads."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.backends._nomadvars import variable_items
    from b00tc.envfiles import resolve_store

    result = compile_(paths, targets=["nomad"], env={}, includes=includes)
    assert result.ok, rendered(result)
    out = {}
    for store in result.env_files:
        diags = Diagnostics()
        items = resolve_store(store, host_env, diags)
        assert items is not None, [d.message for d in diags]
        out[store.path] = variable_items(items)  # the Variable deploy puts
    return out


# ---------------------------------------------------------------------------
# Readers, one per target


def _str(v) -> str:
    assert isinstance(v, str), f"read back as {type(v).__name__} {v!r}, not a string"
    return v


def k8s_container(text: str, kind: str, name: str) -> dict:
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    (obj,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    (c,) = [c for c in obj["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return c


def k8s_reading(text: str, kind: str, name: str, mapping: dict, byte_wise=False, secrets=None) -> Expect:
    """PyYAML reads the manifest; the kubelet reads each ``secretKeyRef`` from ``secrets``
    (Secret -> key -> value) and expands ``$(VAR)`` in env values, command and args
    (``k8s_expand``, with ``mapping`` as the variables it knows besides the container's
    own env); b00tc's ``B00T_`` helpers from the Secret are left out of the env."""
    argv, env = kubelet_view(k8s_container(text, kind, name), secrets or {}, mapping, byte_wise)
    return Expect(argv=argv, env=env)


def k8s_store_values(paths, host_env, includes=()) -> dict[str, dict[str, str]]:
    """The k8s Secrets of ``paths``, as deploy creates them with ``host_env`` (the build
    itself sees an empty environment: its output does not depend on it)."""
    result = compile_(paths, targets=["k8s"], env={}, includes=includes)
    assert result.ok, rendered(result)
    return k8s_secrets(result.env_files, host_env)


def compose_reading(tmp_path: Path, text: str, service: str, env: dict) -> Expect:
    """docker-compose interpolates the file with ``env`` as its environment; the process
    runs entrypoint + command with the environment mapping."""
    svc = interpolated(tmp_path, text, env)["services"][service]
    return Expect(
        argv=[_str(a) for a in (svc.get("entrypoint") or []) + (svc.get("command") or [])],
        env={k: _str(v) for k, v in (svc.get("environment") or {}).items()},
    )


def nomad_task(text: str, group: str, task: str) -> dict:
    doc = hcl2.loads(text)
    check_jobspec(doc)
    return one(one(job_parts(doc)[1], "group", group), "task", task)


def nomad_reading(text: str, group: str, task: str, mapping: dict, variables=None) -> Expect:
    """The task's environment as test_nomad's ``task_env`` reads it (env block, then the
    env templates rendered by Go text/template, ``nomadVar`` reading ``variables``, the
    resolved Nomad Variables, and parsed by go-envparse), except that Nomad's ReplaceEnv of
    the env block is given ``mapping`` (every name the strings spell) instead of nothing;
    argv is the docker driver's entrypoint (+ command) + args, each HCL-decoded and then
    evaluated again at task start with the task env and ``mapping``."""
    t = nomad_task(text, group, task)
    reference = task_env(t, NOMAD_SERVICES, variables)
    from_templates = task_env({k: v for k, v in t.items() if k != "env"}, NOMAD_SERVICES, variables)
    block = {k: s(v) for k, v in attrs(one(t, "env")).items()} if "env" in t else {}
    env = {**{k: replace_env(v, mapping) for k, v in block.items()}, **from_templates}
    assert set(env) == set(reference)
    config = one(t, "config")
    variables = {**mapping, **env}

    def arg(tok: str) -> str:
        return nomad_config_eval_token(tok, variables)

    tokens = list(config.get("entrypoint", []))
    if "command" in config:
        tokens.append(config["command"])
    tokens += list(config.get("args", []))
    return Expect(argv=[arg(tok) for tok in tokens], env=env)


def nomad_config_eval_token(tok: str, variables: dict) -> str:
    """test_nomad's reading of a config string token: one that is a bare ``${B00T...}``
    interpolation is kept as source by the jobspec parser, anything else is an HCL quoted
    template; both are then evaluated at task start."""
    text = hcl_raw(tok) if tok.startswith('"${B00T') else hcl_decode(tok)
    return nomad_config_eval(text, variables)


def systemd_reading(text: str) -> Expect:
    """The reference reader: Environment= lines and the ExecStart argv after unquoting,
    specifiers and ``$$``."""
    unit = Parsed(text)
    ((prefix, argv),) = unit.exec("ExecStart")
    assert prefix == ""
    return Expect(argv=argv, env=unit.env)


DOCKER_FLAGS = {"-d", "--rm"}
DOCKER_OPTIONS = {"--name", "--network", "--network-alias", "--label", "-p", "-v", "-e",
                  "--restart", "--entrypoint", "--cpus", "--memory", "--gpus"}


def docker_run_reading(argv: list[str], env: dict[str, str], image: str) -> Expect:
    """``docker run`` as the docker CLI reads it: ``-e NAME=value`` sets the value, ``-e
    NAME`` passes the CLI's own ``NAME`` (left out when unset); the container runs
    ``--entrypoint`` + the words after the image."""
    assert argv[:2] == ["docker", "run"], argv
    i, seen_env, entrypoint = 2, {}, []
    while argv[i].startswith("-"):
        opt = argv[i]
        if opt in DOCKER_FLAGS:
            i += 1
            continue
        assert opt in DOCKER_OPTIONS, f"unexpected docker run option {opt}"
        value = argv[i + 1]
        i += 2
        if opt == "-e":
            name, eq, val = value.partition("=")
            if eq:
                seen_env[name] = val
            elif name in env:
                seen_env[name] = env[name]
        elif opt == "--entrypoint":
            entrypoint = [value]
    assert argv[i] == image, (argv[i], image)
    return Expect(argv=entrypoint + argv[i + 1 :], env=seen_env)


# ---------------------------------------------------------------------------
# Running: a stand-in program, a listener, bash


STAND_IN = """#!{python} -I
# Stand-in program: records the argv it got (argv[0] as the name it was found under) and
# its environment, NUL-separated, in numbered files under $B00T_TEST_LOG.
import os, sys
log = os.environ["B00T_TEST_LOG"]
n = sum(1 for f in os.listdir(log) if f.endswith(".argv"))
base = os.path.join(log, "%04d" % n)
with open(base + ".env", "wb") as f:
    f.write(b"".join(k + b"=" + v + b"\\0" for k, v in os.environb.items()))
with open(base + ".argv", "wb") as f:
    words = [os.path.basename(sys.argv[0])] + sys.argv[1:]
    f.write(b"".join(os.fsencode(a) + b"\\0" for a in words))
"""


def stand_in(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A stand-in program called ``name`` in tmp_path/bin; returns (bin dir, log dir)."""
    assert "/" not in name and name, name
    bindir, log = tmp_path / "bin", tmp_path / "log"
    bindir.mkdir(exist_ok=True)
    log.mkdir(exist_ok=True)
    prog = bindir / name
    prog.write_text(STAND_IN.format(python=sys.executable))
    prog.chmod(0o755)
    return bindir, log


def nul_split(data: bytes) -> list[str]:
    assert data.endswith(b"\0") or data == b"", data
    return [p.decode() for p in data.split(b"\0")[:-1]]


def env_of(data: bytes) -> dict[str, str]:
    return dict(item.split("=", 1) for item in nul_split(data))


def recorded(log: Path) -> list[tuple[list[str], dict[str, str]]]:
    return [(nul_split(p.read_bytes()), env_of(p.with_suffix(".env").read_bytes()))
            for p in sorted(log.glob("*.argv"))]


def run_script(tmp_path: Path, name: str, text: str, env: dict, *args: str):
    path = tmp_path / name
    path.write_text(text)
    return subprocess.run([BASH, str(path), *args], env=env, cwd=tmp_path,
                          capture_output=True, timeout=60)


@pytest.fixture
def echo_listener():
    """A real listening socket on 127.0.0.1 at the echo member's published port, which the
    job's generated wait loop (``/dev/tcp/127.0.0.1/<port>``) must reach before it runs
    the job. Connections are accepted and greeted, as a service would (a connection closed
    at once without a byte is what a port forwarder does before its service listens, and
    the wait does not count it as ready)."""
    port = published()[0]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as e:
        sock.close()
        pytest.skip(f"127.0.0.1:{port} is busy ({e}); the job's wait loop needs a listener there")
    sock.listen(16)
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                try:
                    conn.sendall(b"echo\n")
                finally:
                    conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join(5)
    sock.close()


def bash_job_env(log: Path, bindir: Path | None = None) -> dict[str, str]:
    """The environment the job script runs in: every variable name the literals spell is
    set (an expansion that should not happen shows up; ``set -u`` would not hide it), a
    short wait timeout, the stand-in's log."""
    return {
        **defined(),
        "PATH": f"{bindir}:/usr/bin:/bin" if bindir else "/usr/bin:/bin",
        "B00T_WAIT_TIMEOUT": "5",
        "B00T_TEST_LOG": str(log),
    }


def bash_job_reading(tmp_path: Path, script: str) -> tuple[Expect, list[str]]:
    """Run the generated job script unchanged. Its command is ``/usr/bin/env -- PROGRAM
    ARGS...``: env treats ``--`` as the end of its options and runs PROGRAM (args[1])
    found on PATH. A stand-in of that exact name records what it got, so the file lookup
    itself checks PROGRAM byte for byte. Returns (what PROGRAM got, problems)."""
    want = job_expected("bash")
    assert want.argv[:2] == ["/usr/bin/env", "--"], want.argv
    bindir, log = stand_in(tmp_path, want.argv[2])
    done = run_script(tmp_path, "job.sh", script, bash_job_env(log, bindir))
    if done.returncode != 0:
        return Expect([], {}), [f"exit {done.returncode}: {done.stderr.decode()[-2000:]}"]
    ((argv, env),) = recorded(log)
    return Expect(argv, env), []


# ---------------------------------------------------------------------------
# The hostile job: every value, every target


def test_expected_values_follow_the_datum_language():
    """The expectations are the datum language's reading, not the raw TOML text: ``$$`` is
    one ``$`` and ``$${`` a literal ``${`` (DOLLARS, the ``$${NOT_A_VAR}`` arg, the
    ``$$HOME`` arg), a lone ``$`` stays (``$5``), everything without ``$`` is itself, and
    the reference is the target's endpoint. The spelled names are the ones the literals
    could be mistaken for, so the mappings below really define them."""
    raw = datum(JOB)["b00t"]
    want = job_expected("k8s")
    assert raw["env"]["DOLLARS"].count("$") == want.env["DOLLARS"].count("$") + 5
    assert want.env["ENDPOINT"].startswith("http://echo:") and "?q=$x" in want.env["ENDPOINT"]
    for k, v in raw["env"].items():
        if "$" not in v:
            assert want.env[k] == v
    assert len(want.argv) == 10 and len(want.env) == 20
    assert member_expected().env["LONE_DOLLAR"] == raw_member_env()["LONE_DOLLAR"]
    assert {"HOME", "NOT_A_VAR", "date", "x"} <= set(defined())


def raw_member_env() -> dict[str, str]:
    return datum(MEMBER)["b00t"]["env"]


@pytest.mark.parametrize("byte_wise", [False, True], ids=["current", "pre-utf8-fix"])
def test_k8s_job(byte_wise):
    """PyYAML reads the Job (so ``yes``/``no``/``0x1F``/``1e3``/``~``/``null`` must be
    quoted strings) and the kubelet's expansion runs over every env value, command and
    arg with every spelled name defined (so ``$(date)`` and ``$$`` must be escaped): each
    of the 10 argv words and 20 env values is the datum's literal."""
    text = build([JOB], ["k8s"])["k8s"]["hostile-literals.yaml"]
    seen = k8s_reading(text, "Job", "hostile-literals", defined(), byte_wise)
    assert mismatches(seen, job_expected("k8s")) == []


@needs_compose
def test_compose_job(tmp_path):
    """docker-compose interpolates every string of the file with every spelled name set
    in its environment (so each ``$`` must be written ``$$``): entrypoint + command and
    the environment of the job's service are the datum's literals."""
    text = build([JOB], ["compose"])["compose"]["hostile-literals.compose.yaml"]
    seen = compose_reading(tmp_path, text, "hostile-literals", defined())
    assert mismatches(seen, job_expected("compose")) == []


def test_nomad_job():
    """HCL-decoded, config strings evaluated again at task start, the env block through
    ReplaceEnv with every spelled name known, the env template rendered and parsed (the
    reference ENDPOINT and the ``${HOME}`` value of DOLLARS go there): every value is the
    datum's literal."""
    text = build([JOB], ["nomad"])["nomad"]["hostile-literals.nomad.hcl"]
    seen = nomad_reading(text, "hostile-literals", "hostile-literals", defined())
    assert mismatches(seen, job_expected("nomad")) == []


def test_bash_job_runs_unchanged(tmp_path, echo_listener):
    """The generated script, run as written: it waits for the listener, exports the env
    and execs ``/usr/bin/env -- PROGRAM ARGS``. PROGRAM (the first literal after ``--``) is
    found on PATH only if its name arrived byte for byte; it records the 7 words after it
    and its environment, which hold the datum's 20 env values."""
    script = build([JOB], ["bash"])["bash"]["hostile-literals.sh"]
    want = job_expected("bash")
    seen, problems = bash_job_reading(tmp_path, script)
    assert problems == []
    assert mismatches(seen, Expect(want.argv[2:], want.env), exact_env=False) == []


def variant(tmp_path: Path, path: str, container: dict) -> str:
    """The datum at ``path`` re-written into tmp_path (same file name, so the name check
    holds) with its [b00t.container] replaced by ``container``; everything else, the
    literals included, is the data tomllib read from the original."""
    data = datum(path)
    data["b00t"]["container"] = container
    text = toml_dumps(data)
    assert tomllib.loads(text) == data
    out = tmp_path / Path(path).name
    out.write_text(text, encoding="utf-8")
    return str(out)


def toml_dumps(data: dict) -> str:
    """Enough TOML for a datum: tables with bare keys, strings, lists, ints, bools."""
    lines: list[str] = []

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        assert isinstance(v, str), v
        esc = {'"': '\\"', "\\": "\\\\"}
        return '"' + "".join(
            esc.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
            for c in v
        ) + '"'

    def table(t: dict, prefix: list[str]) -> None:
        for k in t:
            assert re.fullmatch(r"[A-Za-z0-9_-]+", k), k
        if prefix:
            lines.append(f"[{'.'.join(prefix)}]")
        lines.extend(f"{k} = {value(v)}" for k, v in t.items() if not isinstance(v, dict))
        for k, v in t.items():
            if isinstance(v, dict):
                table(v, prefix + [k])

    table(data, [])
    return "\n".join(lines) + "\n"


def test_bash_job_argv_variant(tmp_path, echo_listener):
    """A variant of the datum whose command is ``printf '%s\\0'`` and whose args are the
    original args (read from it with tomllib): printf prints each argument it got and a
    NUL, so the whole list of 9 args, ``--`` included, arrives byte for byte."""
    c = datum(JOB)["b00t"]["container"]
    path = variant(tmp_path, JOB, {**c, "command": ["printf", "%s\\0"]})
    (script,) = build([path], ["bash"], includes=["tests/cases"])["bash"].values()
    done = run_script(tmp_path, "argv.sh", script, bash_job_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert nul_split(done.stdout) == job_expected("bash").argv[1:]


def test_bash_job_env_variant(tmp_path, echo_listener):
    """A variant whose command is ``/usr/bin/env -0`` (no args): env prints the whole
    environment it got, NUL-separated; the datum's 20 env values are there byte for
    byte."""
    c = datum(JOB)["b00t"]["container"]
    path = variant(tmp_path, JOB, {"image": c["image"], "command": ["/usr/bin/env", "-0"]})
    (script,) = build([path], ["bash"], includes=["tests/cases"])["bash"].values()
    done = run_script(tmp_path, "env.sh", script, bash_job_env(tmp_path))
    assert done.returncode == 0, done.stderr
    want = job_expected("bash")
    assert mismatches(Expect(want.argv, env_of(done.stdout)), want, exact_env=False) == []


def test_systemd_job_reference_reader_and_run(tmp_path):
    """The unit read back with systemd's documented rules (quoting, C escapes, ``%%``,
    ``$$``) gives the datum's 10 argv words and 20 env values; the decoded argv run with
    that environment reaches a stand-in PROGRAM (as in the bash test) with the same."""
    text = build([JOB], ["systemd"])["systemd"]["b00t-hostile-literals.service"]
    want = job_expected("systemd")
    seen = systemd_reading(text)
    assert mismatches(seen, want) == []
    bindir, log = stand_in(tmp_path, want.argv[2])
    done = subprocess.run(seen.argv, env={**seen.env, "PATH": f"{bindir}:/usr/bin:/bin",
                                          "B00T_TEST_LOG": str(log)}, capture_output=True)
    assert done.returncode == 0, done.stderr
    ((argv, env),) = recorded(log)
    assert mismatches(Expect(argv, env), Expect(want.argv[2:], want.env), exact_env=False) == []


def systemd_units_of_job() -> dict[str, str]:
    """The job's unit and the units of its required stack (systemd refuses to load a unit
    whose Requires= units are missing)."""
    job = build([JOB], ["systemd"])["systemd"]
    stack = build([STACK], ["systemd"])["systemd"]
    return {**job, **stack}


def systemd_own_reading(dump: str) -> Expect:
    """systemd's own parse, from the ``systemd --test`` dump of a unit: the ExecStart argv
    (printed before run-time ``$$``, which is then applied as documented) and the
    environment (printed raw, one ``Environment: NAME=value`` per variable; a value ends
    where the next dump line, indented by two tabs, starts)."""
    (argv,) = dump_commands(dump)["ExecStart"]
    env = dict(re.findall(r"^\t\tEnvironment: ([A-Za-z_][A-Za-z0-9_]*)=(.*?)\n(?=\t\t|\t-> |\Z)",
                          dump, re.M | re.S))
    return Expect([dollars(a) for a in argv], env)


def test_systemd_job_systemd_itself():
    """systemd 252's own loader reads the same 10 argv words and 20 env values."""
    dump = systemd_dump(systemd_units_of_job(), "b00t-hostile-literals.service")
    want = job_expected("systemd")
    assert mismatches(systemd_own_reading(dump), want) == []
    for k, v in want.env.items():  # the plain form test_systemd checks, too
        assert f"\t\tEnvironment: {k}={v}\n" in dump, k


# ---------------------------------------------------------------------------
# The stack member: every value, every target


def test_k8s_member():
    """The echo Deployment's container, read and expanded like the job's: the stack's and
    the member's env (3 values: ``$$`` -> ``$``, a lone ``$5``, ``%`` untouched) and its 4
    argv words."""
    text = build([STACK], ["k8s"])["k8s"]["hostile.yaml"]
    for byte_wise in (False, True):
        seen = k8s_reading(text, "Deployment", "echo", defined(), byte_wise)
        assert mismatches(seen, member_expected()) == []


@needs_compose
def test_compose_member(tmp_path):
    """docker-compose's reading of the echo service, in the stack's own file (the only one
    that holds it: the job's file joins the stack's network)."""
    stack = build([STACK], ["compose"])["compose"]["hostile.compose.yaml"]
    job = build([JOB], ["compose"])["compose"]["hostile-literals.compose.yaml"]
    seen = compose_reading(tmp_path, stack, "echo", defined())
    assert mismatches(seen, member_expected()) == []
    assert "echo" not in yaml.safe_load(job)["services"]


def test_nomad_member():
    """The echo group's task, read like the job's task."""
    text = build([STACK], ["nomad"])["nomad"]["hostile.nomad.hcl"]
    assert mismatches(nomad_reading(text, "echo", "echo", defined()), member_expected()) == []


def test_bash_member_runs(tmp_path):
    """``hostile.sh up`` run with a stand-in container runtime: the ``docker run`` it got,
    read as the docker CLI reads it, gives the member's env and argv."""
    (script,) = build([STACK], ["bash"])["bash"].values()
    bindir, log = stand_in(tmp_path, "docker")
    done = run_script(tmp_path, "hostile.sh", script,
                      {**defined(), "PATH": "/usr/bin:/bin", "B00T_TEST_LOG": str(log),
                       "B00T_CONTAINER_RUNTIME": str(bindir / "docker")}, "up")
    assert done.returncode == 0, done.stderr
    (argv, env), = [(a, e) for a, e in recorded(log) if a[1:2] == ["run"]]
    seen = docker_run_reading(argv, env, datum(MEMBER)["b00t"]["image"])
    assert mismatches(seen, member_expected()) == []


def test_systemd_member_reference_reader_and_run(tmp_path):
    """b00t-hostile-echo.service read back with the reference reader; its ExecStart (``docker
    run ... -e NAME``) run with the unit's environment reaches a stand-in docker, whose
    argv and environment, read as docker reads them, give the member's env and argv."""
    units = build([STACK], ["systemd"])["systemd"]
    unit = Parsed(units["b00t-hostile-echo.service"])
    ((prefix, argv),) = unit.exec("ExecStart")
    assert prefix == "" and argv[0] == "/usr/bin/env"
    image = datum(MEMBER)["b00t"]["image"]
    assert mismatches(docker_run_reading(argv[1:], unit.env, image), member_expected()) == []
    bindir, log = stand_in(tmp_path, "docker")
    done = subprocess.run(argv, env={**unit.env, "PATH": f"{bindir}:/usr/bin:/bin",
                                     "B00T_TEST_LOG": str(log)}, capture_output=True)
    assert done.returncode == 0, done.stderr
    ((got_argv, got_env),) = recorded(log)
    assert mismatches(docker_run_reading(got_argv, got_env, image), member_expected()) == []


def test_systemd_member_systemd_itself():
    """systemd's own parse of b00t-hostile-echo.service: the environment holds the member's 3
    values, and the ExecStart argv equals the reference reader's."""
    units = build([STACK], ["systemd"])["systemd"]
    seen = systemd_own_reading(systemd_dump(units, "b00t-hostile-echo.service"))
    ((_, argv),) = Parsed(units["b00t-hostile-echo.service"]).exec("ExecStart")
    assert seen.argv == argv
    assert mismatches(Expect([], seen.env), Expect([], member_expected().env)) == []


# ---------------------------------------------------------------------------
# Negative controls: the checks above catch a wrong value


def _caught(check) -> list[str]:
    """The problems a check reports; a decoder that refuses the text counts as one."""
    try:
        return check()
    except AssertionError as e:
        return [f"refused: {e}"]


NEGATIVE = {
    # target: [(what, old, new, the problem it must cause)]
    "k8s": [("unescaped $(", "$$(date)", "$(date)", "env DOLLARS:")],
    "compose": [("unescaped ${", "$${HOME}", "${HOME}", "env DOLLARS:")],
    "nomad": [("one $ less", '"$$${NOT_A_VAR}"', '"$${NOT_A_VAR}"', "argv[8]:")],
    "bash": [("unquoted ~", "export WORD_TILDE=\\~", "export WORD_TILDE=~", "env WORD_TILDE:")],
    "systemd": [("one \\ less", r"\\n is not", r"\n is not", "env BACKSLASH:")],
}
for _t in NEGATIVE:
    NEGATIVE[_t].append(("one character flipped", "ünïcødé", "ünïcodé", "env UNICODE:"))

OUTPUT = {"k8s": "hostile-literals.yaml", "compose": "hostile-literals.compose.yaml",
          "nomad": "hostile-literals.nomad.hcl", "bash": "hostile-literals.sh",
          "systemd": "b00t-hostile-literals.service"}


@pytest.mark.parametrize(
    "target, what, old, new, problem",
    [(t, *m) for t, ms in NEGATIVE.items() for m in ms],
    ids=[f"{t}-{m[0]}" for t, ms in NEGATIVE.items() for m in ms],
)
def test_negative_control(target, what, old, new, problem, tmp_path, request):
    """Each target's check, given its real output edited in one place (an escape the
    target needs removed, or one character of a literal flipped), reports the value that
    no longer arrives; the unedited output passes the same check. So the tests above can
    fail."""
    if target == "compose" and shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed")
    if target == "bash":
        request.getfixturevalue("echo_listener")
    text = build([JOB], [target])[target][OUTPUT[target]]
    want = job_expected(target)
    checks = {
        "k8s": lambda t: mismatches(k8s_reading(t, "Job", "hostile-literals", defined()), want),
        "compose": lambda t: mismatches(
            compose_reading(tmp_path, t, "hostile-literals", defined()), want),
        "nomad": lambda t: mismatches(
            nomad_reading(t, "hostile-literals", "hostile-literals", defined()), want),
        "bash": lambda t: _bash_check(tmp_path, t, want),
        "systemd": lambda t: mismatches(systemd_reading(t), want),
    }
    assert _caught(lambda: checks[target](text)) == []
    bad = _caught(lambda: checks[target](mutate(text, old, new)))
    assert any(p.startswith(problem) for p in bad), bad


def _bash_check(tmp_path: Path, text: str, want: Expect) -> list[str]:
    run_dir = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    run_dir.mkdir()
    seen, problems = bash_job_reading(run_dir, text)
    return problems or mismatches(seen, Expect(want.argv[2:], want.env), exact_env=False)


def test_negative_control_systemd_itself():
    """systemd's own parse sees the edited unit's wrong value too: ``\\n`` where the
    output had ``\\\\n`` is a newline in systemd's environment, not the datum's
    backslash-n."""
    units = systemd_units_of_job()
    units["b00t-hostile-literals.service"] = mutate(units["b00t-hostile-literals.service"],
                                               r"\\n is not", r"\n is not")
    seen = systemd_own_reading(systemd_dump(units, "b00t-hostile-literals.service"))
    bad = mismatches(seen, job_expected("systemd"))
    assert [p.split(":")[0] for p in bad] == ["env BACKSLASH"], bad


# ---------------------------------------------------------------------------
# Host variables: shell semantics at build time (k8s, nomad, systemd) and at run time
# (compose, bash)

HOSTILE_TOKEN = "a $b ${HOME} $(x) %h %{y} {{ .z }} \\ \"q\" 's' `t`\tend\nline2"

HOST_ENVS = {
    # GREETING, MAYBE, BUSYBOX_TAG unset: every default is used
    "golden": dict(GOLDEN_ENV),
    # set but empty: `:-` uses its default, `-` keeps the empty value
    "set-empty": {**GOLDEN_ENV, "GREETING": "", "MAYBE": "", "BUSYBOX_TAG": "1.37",
                  "REQUIRED_TOKEN": HOSTILE_TOKEN, "CHECKED": "prod 100% $x"},
    # all set: no default is used
    "all-set": {**GOLDEN_ENV, "GREETING": "hi there", "MAYBE": "m'aybe",
                "BUSYBOX_TAG": "1.38", "REQUIRED_TOKEN": "t0k", "CHECKED": "dev"},
}


@lru_cache(maxsize=None)
def _shell_word(name: str, op: str, arg: str, env_items: tuple) -> str | None:
    """bash's own value of ``${name<op>arg}`` in double quotes, with the host environment
    ``env_items`` (arg is passed through a variable, so it is used as-is); None when bash
    refuses (``set -u`` for a bare unset ``${name}``, ``:?``/``?`` firing)."""
    expr = "${%s%s${B00T_WORD}}" % (name, op) if op else "${%s}" % name
    done = subprocess.run([BASH, "-uc", f'printf "%s" "{expr}"'],
                          env={"PATH": "/usr/bin:/bin", **dict(env_items), "B00T_WORD": arg},
                          capture_output=True, timeout=30)
    return done.stdout.decode() if done.returncode == 0 else None


def shell_value(text: str, host_env: dict[str, str]) -> str | None:
    """The datum string with each host variable given bash's meaning against the host
    environment (literal parts as the datum language reads them)."""
    out = []
    for part in parse_value(text).parts:
        if type(part) is Lit:
            out.append(part.text)
        else:
            assert type(part) is HostVar, part
            word = _shell_word(part.name, part.op, part.arg, tuple(sorted(host_env.items())))
            if word is None:
                return None
            out.append(word)
    return "".join(out)


class HostExpect(NamedTuple):
    image: str
    run: Expect


def host_expected(host_env: dict[str, str]) -> HostExpect:
    b = datum(HOST_VARS)["b00t"]
    c = b["container"]
    return HostExpect(
        image=shell_value(c["image"], host_env),
        run=Expect([shell_value(v, host_env) for v in c["command"] + c.get("args", [])],
                   {k: shell_value(v, host_env) for k, v in b["env"].items()}),
    )


def host_defined(host_env) -> dict[str, str]:
    want = host_expected(host_env).run
    return defined_for([*want.argv, *want.env.values()])


def test_shell_semantics_oracle():
    """The expectations are bash's: unset GREETING and MAYBE take their defaults; set but
    empty, ``${GREETING:-...}`` still takes its default while ``${MAYBE-...}`` keeps the
    empty value; set, neither default is used. ``$$`` in MIXED is one ``$``, and MIXED's
    ``${GREETING:-x}`` reads the host's GREETING, not the datum's own GREETING."""
    golden = host_expected(HOST_ENVS["golden"]).run.env
    empty = host_expected(HOST_ENVS["set-empty"]).run.env
    full = host_expected(HOST_ENVS["all-set"]).run.env
    assert golden["GREETING"] == empty["GREETING"] != full["GREETING"] == "hi there"
    assert golden["MAYBE"] != empty["MAYBE"] == ""
    assert golden["TOKEN"] == GOLDEN_ENV["REQUIRED_TOKEN"] and empty["TOKEN"] == HOSTILE_TOKEN
    assert golden["MIXED"].endswith(" and $ literal") and "-x-" in golden["MIXED"]
    assert shell_value("${CHECKED:?m}", {}) is None and shell_value("${CHECKED:?m}", {"CHECKED": ""}) is None


@pytest.mark.parametrize("case", sorted(HOST_ENVS))
@pytest.mark.parametrize("target", ["k8s", "nomad", "systemd"])
def test_host_vars_baked_at_build_time(target, case):
    """Only an image's host variables are resolved when b00tc runs (k8s W0303, Nomad
    W0304); the baked values are then literals, escaped like any other. Each target's
    reading gives bash's value of each env entry, the command, and (k8s, Nomad) the image:
    systemd's unit read with the environment file that ``b00tc env`` resolves with
    ``host_env``, k8s's Job with the Secret and Nomad's job with the Nomad Variable that
    deploy resolves with it (the hostile REQUIRED_TOKEN of ``set-empty`` included)."""
    host_env = HOST_ENVS[case]
    # the image is resolved at build time on Nomad (W0304): its variable only
    build_env = {} if target == "systemd" else \
        {k: v for k, v in host_env.items() if k == "BUSYBOX_TAG"} if target == "nomad" else host_env
    out = build([HOST_VARS], [target], env=build_env)[target]
    want = host_expected(host_env)
    mapping = host_defined(host_env)
    if target == "k8s":
        text = out["host-vars.yaml"]
        assert text == build([HOST_VARS], [target], env={"BUSYBOX_TAG": host_env.get("BUSYBOX_TAG", "1.36")})[target]["host-vars.yaml"]
        for value in host_env.values():
            assert len(value) < 5 or value not in text
        seen = k8s_reading(text, "Job", "host-vars", mapping, secrets=k8s_store_values([HOST_VARS], host_env))
        image = k8s_container(text, "Job", "host-vars")["image"]
    elif target == "nomad":
        text = out["host-vars.nomad.hcl"]
        for name, value in host_env.items():
            assert name == "BUSYBOX_TAG" or len(value) < 4 or value not in text
        seen = nomad_reading(text, "host-vars", "host-vars", mapping,
                             nomad_variables([HOST_VARS], host_env))
        image = nomad_config_eval_token(one(nomad_task(text, "host-vars", "host-vars"),
                                            "config")["image"], mapping)
    else:
        text = out["b00t-host-vars.service"]
        for value in host_env.values():
            assert len(value) < 4 or value not in text
        unit = Parsed(text, env_files=systemd_env_files([HOST_VARS], host_env))
        ((prefix, argv),) = unit.exec("ExecStart")
        seen = Expect(argv=argv, env=unit.env)
        # an absolute command runs directly, any other through /usr/bin/env (PATH lookup)
        assert seen.argv[0] == "/usr/bin/env"
        seen = Expect(seen.argv[1:], seen.env)
        image = want.image  # systemd runs on the host: no image
    assert image == want.image
    assert mismatches(seen, want.run) == []


@pytest.mark.parametrize("case", sorted(HOST_ENVS))
def test_host_vars_systemd_itself(case):
    """systemd's own parse of the unit (its Environment= and argv, and the path of its
    EnvironmentFile=), with that file (as ``b00tc env`` resolves it, read with the
    documented rule: systemd reads it only when the service starts) has the same
    environment and argv."""
    host_env = HOST_ENVS[case]
    units = build([HOST_VARS], ["systemd"], env={})["systemd"]
    dump = systemd_dump(units, "b00t-host-vars.service")
    seen = systemd_own_reading(dump)
    (path,) = re.findall(r"^\t\tEnvironmentFile: (\S+)", dump, re.M)
    env = {**seen.env, **systemd_env_files([HOST_VARS], host_env)[path]}
    want = host_expected(host_env).run
    assert mismatches(Expect(seen.argv[1:], env), want) == []


@needs_compose
@pytest.mark.parametrize("case", sorted(HOST_ENVS))
def test_host_vars_compose_at_run_time(case, tmp_path):
    """compose keeps ``${VAR...}`` for run time; ``docker-compose config`` with the host
    environment gives bash's value of each env entry, the command and the image."""
    host_env = HOST_ENVS[case]
    text = build([HOST_VARS], ["compose"], env=host_env)["compose"]["host-vars.compose.yaml"]
    want = host_expected(host_env)
    seen = compose_reading(tmp_path, text, "host-vars", host_env)
    assert mismatches(seen, want.run) == []
    assert interpolated(tmp_path, text, host_env)["services"]["host-vars"]["image"] == want.image


def _bash_host_params():
    """Every env entry under every host environment. MIXED reads ${GREETING}, which the
    datum also defines: the script must expand it against the host (as every other target
    does), not against the GREETING it exports (a bug found by this test, now fixed: the
    script expands every value before its first export)."""
    return [
        pytest.param(case, name, id=f"{case}-{name}")
        for case in sorted(HOST_ENVS)
        for name in ["argv", *datum(HOST_VARS)["b00t"]["env"]]
    ]


@pytest.mark.parametrize("case, name", _bash_host_params())
def test_host_vars_bash_at_run_time(case, name, tmp_path):
    """The script, run with the host environment, execs ``sh -c ...`` through PATH: a
    stand-in ``sh`` records the argv and environment the job gets, which must be bash's
    value of each entry read against the host environment (the same as compose)."""
    host_env = HOST_ENVS[case]
    (script,) = build([HOST_VARS], ["bash"], env=host_env)["bash"].values()
    want = host_expected(host_env).run
    bindir, log = stand_in(tmp_path, want.argv[0])
    done = run_script(tmp_path, "host-vars.sh", script,
                      {**host_env, "PATH": f"{bindir}:/usr/bin:/bin", "B00T_TEST_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    ((argv, env),) = recorded(log)
    if name == "argv":
        assert argv == want.argv
    else:
        assert env.get(name, MISSING) == want.env[name]


@pytest.mark.parametrize("case", sorted(HOST_ENVS))
def test_host_vars_bash_job_output(case, tmp_path):
    """With the real ``sh``, the job prints ``$GREETING`` (the datum's literal ``$G...``
    reached sh unexpanded), which is bash's value of the GREETING entry."""
    host_env = HOST_ENVS[case]
    (script,) = build([HOST_VARS], ["bash"], env=host_env)["bash"].values()
    done = run_script(tmp_path, "host-vars.sh", script, {**host_env, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == host_expected(host_env).run.env["GREETING"] + "\n"


def test_negative_control_host_vars_bash(tmp_path):
    """The bash host-variable check can fail: the script with ``${MAYBE-`` edited to
    ``${MAYBE:-`` gives the default where the host set MAYBE empty."""
    host_env = HOST_ENVS["set-empty"]
    (script,) = build([HOST_VARS], ["bash"], env=host_env)["bash"].values()
    want = host_expected(host_env).run
    bindir, log = stand_in(tmp_path, want.argv[0])
    done = run_script(tmp_path, "bad.sh", mutate(script, "${MAYBE-", "${MAYBE:-"),
                      {**host_env, "PATH": f"{bindir}:/usr/bin:/bin", "B00T_TEST_LOG": str(log)})
    ((_, env),) = recorded(log)
    assert done.returncode == 0 and env["MAYBE"] != want.env["MAYBE"] == ""


def test_negative_control_host_vars_baked():
    """The check can fail: the k8s Job read with the Secret resolved against a different
    host environment gives values that differ from this environment's expectations."""
    out = build([HOST_VARS], ["k8s"], env=HOST_ENVS["golden"])["k8s"]["host-vars.yaml"]
    want = host_expected(HOST_ENVS["golden"])
    secrets = k8s_store_values([HOST_VARS], HOST_ENVS["all-set"])
    assert not mismatches(k8s_reading(out, "Job", "host-vars", {},
                                      secrets=k8s_store_values([HOST_VARS], HOST_ENVS["golden"])), want.run)
    bad = mismatches(k8s_reading(out, "Job", "host-vars", {}, secrets=secrets), want.run)
    assert {p.split(":")[0] for p in bad} == {"env GREETING", "env TOKEN", "env MAYBE",
                                                "env CHECKED", "env MIXED"}, bad


# ---------------------------------------------------------------------------
# ${CHECKED:?message} with CHECKED unset (or empty)

NO_CHECKED = {k: v for k, v in GOLDEN_ENV.items() if k != "CHECKED"}


def checked_message() -> str:
    (part,) = parse_value(datum(HOST_VARS)["b00t"]["env"]["CHECKED"]).parts
    assert type(part) is HostVar and part.op == ":?"
    return part.arg


@pytest.mark.parametrize("checked", [None, ""], ids=["unset", "empty"])
@pytest.mark.parametrize("target", ["systemd", "k8s", "nomad"])
def test_checked_unset_is_an_error_when_the_values_are_resolved(target, checked):
    """systemd, k8s and Nomad build without the env's host variables; ``b00tc env``
    resolving systemd's environment file, deploy resolving k8s's Secret or Nomad's
    Variable (``envfiles.resolve_store``), fails with E0402 at the CHECKED entry, carrying
    the datum's message (``:?`` fires on an empty value too)."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_files, resolve_store

    env = dict(NO_CHECKED) if checked is None else {**NO_CHECKED, "CHECKED": checked}
    result = compile_([HOST_VARS], targets=[target], env=env)
    assert result.ok, rendered(result)
    diags = Diagnostics()
    if target != "systemd":
        (store,) = result.env_files
        assert store.kind == target and resolve_store(store, env, diags) is None
    else:
        assert resolve_files(result.env_files, env, diags) is None
    assert [(d.code, d.path) for d in diags if d.is_error] == [("E0402", "$.b00t.env.CHECKED")]
    assert checked_message() in diags[0].message


@pytest.mark.parametrize("target", ["k8s", "nomad", "systemd"])
def test_checked_unset_cli_writes_nothing(target, tmp_path):
    """The command line, with CHECKED missing from its environment: exit 1 (errors in the
    input), the E0402 diagnostic with the datum's message on stderr, and no file written
    (README: "1 errors in the input (nothing is written)"). systemd, k8s and Nomad build
    without it (exit 0): their values are resolved later (``b00tc env``, deploy)."""
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "b00tc", "build", HOST_VARS, "--target", target, "-o", str(out)],
        env={**NO_CHECKED, "PATH": os.environ["PATH"]}, cwd=ROOT, capture_output=True,
        text=True, timeout=120)
    if target == "nomad":  # the build needs no env host variable; deploy's Variable does
        assert done.returncode == 0, done.stderr
        assert "E0402" not in done.stderr and any(out.rglob("*.nomad.hcl"))
        return
    if target == "systemd":  # the build needs no host variable; b00tc env does
        assert done.returncode == 0, done.stderr
        done = subprocess.run(
            [sys.executable, "-m", "b00tc", "env", HOST_VARS, "--target", target],
            env={**NO_CHECKED, "PATH": os.environ["PATH"]}, cwd=ROOT, capture_output=True,
            text=True, timeout=120)
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert "error[E0402]" in done.stderr and checked_message() in done.stderr
        return
    if target == "k8s":  # the build needs no host variable; deploy's Secret does
        assert done.returncode == 0 and "E0402" not in done.stderr, done.stderr
        assert "secretKeyRef" in (out / "host-vars.yaml").read_text()
        return
    assert done.returncode == 1, done.stderr
    assert "error[E0402]" in done.stderr and checked_message() in done.stderr
    assert not out.exists() or not any(out.rglob("*"))


@pytest.mark.parametrize("checked", [None, ""], ids=["unset", "empty"])
def test_checked_unset_bash_script_fails(checked, tmp_path):
    """bash keeps the variable for run time: the build succeeds, and the script run
    without CHECKED exits non-zero with bash's ``CHECKED: <message>`` before the job
    starts (the stand-in ``sh`` never runs)."""
    (script,) = build([HOST_VARS], ["bash"])["bash"].values()
    bindir, log = stand_in(tmp_path, "sh")
    env = {**NO_CHECKED, "PATH": f"{bindir}:/usr/bin:/bin", "B00T_TEST_LOG": str(log)}
    if checked is not None:
        env["CHECKED"] = checked
    done = run_script(tmp_path, "host-vars.sh", script, env)
    assert done.returncode != 0
    assert f"CHECKED: {checked_message()}" in done.stderr.decode()
    assert recorded(log) == [] and done.stdout == b""


@needs_compose
@pytest.mark.parametrize("checked", [None, ""], ids=["unset", "empty"])
def test_checked_unset_compose_fails(checked, tmp_path):
    """compose keeps the variable for run time: ``docker-compose config`` refuses the file
    with the datum's message."""
    (text,) = build([HOST_VARS], ["compose"])["compose"].values()
    env = dict(NO_CHECKED) if checked is None else {**NO_CHECKED, "CHECKED": checked}
    done = compose_config(tmp_path, text, env)
    assert done.returncode != 0
    assert checked_message() in done.stderr
