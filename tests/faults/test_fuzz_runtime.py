"""Issue 14: fuzzing of the execution layer's other inputs, the ones that are not datums
(those are tests/test_fuzz.py's): the user config file, the state files of direct jobs, and
the arguments an agent gives b00tc's MCP server.

- ``config``: random TOML documents made of the real keys (``default_orchestrator``,
  ``[mcp.<orchestrator>]`` with ``command``, ``profile``, ``env``, ``namespace``) and random
  ones, with values of every TOML type (strings, integers, floats with inf and nan, booleans,
  offset and local datetimes, dates, times, arrays, nested tables), written in header or
  inline form; and raw random bytes, invalid UTF-8 and broken TOML. ``b00tc plan``,
  ``deploy --dry-run --via mcp`` and ``status`` (in-process through click, with
  ``$B00TC_CONFIG`` naming the file) either answer as they do without a config, or exit 1
  naming the config file; never exit 2 (a usage error or "this is a bug"), never an
  exception. A few documents also go through a real ``python -m b00tc`` (no traceback).
- ``state``: random JSON values (biased to the keys b00tc writes, with pids that are bools,
  0, 1, -1, huge, this process, or a child the test started; start times right, wrong or
  mistyped), random bytes and a symbolic link written as a job's ``state.json`` (and random
  bytes as its ``pid`` file). ``state.read`` gives None or a dict that ``state.valid``
  accepts; ``b00tc status`` and ``b00tc down`` (``--orchestrator direct``, in-process, with
  ``$B00TC_STATE_DIR`` a temporary folder; and ``logs`` and ``down --dry-run``) never exit
  2, and every signal they would send
  (os.kill and os.killpg are replaced by a recorder for the whole test: nothing is sent)
  is for the child process this test started, and only when the record names it with its
  real start time.
- ``mcp``: random argument objects for every tool of ``b00tc mcp --allow-destructive`` (and
  unknown tool names): random and real keys, wrong types, nested objects, strings that look
  like options (``--help``, ``-o/etc``), ``-``, ``..``, absolute paths, ``~``, NUL,
  newlines, lone surrogates and very long strings. ``mcp_server.call`` answers a JSON
  object (``ok``, ``diagnostics`` of the documented shape) that encodes as UTF-8 JSON, never
  an exception nor "internal error"; the child ``b00tc status|logs|down`` a day-two tool
  would run (``subprocess.run`` is replaced by a recorder that refuses what the real one
  refuses, a NUL or an unencodable string: nothing runs) gets every agent value as
  ``--key=value`` or after ``--``: click's parser, reading the recorded command line, gives
  back exactly the agent's values and no option the agent did not ask for. A few argument
  objects also go through the SDK's client to the real server, in-process.

Settings as in tests/test_fuzz.py: a fixed number of derandomized examples (config 200,
state 150, MCP 300, the TOML generator's self-check 100; the whole file takes about 30 s);
``B00TC_FUZZ_EXAMPLES=N`` runs N random ones per property, and
``--hypothesis-show-statistics`` shows what the examples reached (exit codes, records
read, signals, first diagnostic, whether a child was started).

The defects these found are fixed; their minimal reproducers are the ``test_fixed_*`` tests
at the end of this file (each failed before its fix).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
import tomli
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from b00tc.cli import cli
from b00tc.runtime import mcp_server, state

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "runtime_data"

FUZZ_N = int(os.environ.get("B00TC_FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(default: int):
    """``default`` examples, derandomized and without a database; with
    B00TC_FUZZ_EXAMPLES=N, N random ones."""
    return settings(
        max_examples=FUZZ_N or default,
        deadline=None,
        derandomize=not FUZZ_N,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.function_scoped_fixture,
        ],
    )


def invoke(argv: list[str], env: dict) -> tuple[int, str, BaseException | None]:
    """``b00tc ARGV`` in-process: (exit code, stdout and stderr, the exception that is not
    a SystemExit: on the command line it would be exit 2, "this is a bug")."""
    r = CliRunner().invoke(cli, argv, env=env, catch_exceptions=True)
    exc = r.exception if r.exception is not None and not isinstance(r.exception, SystemExit) else None
    return r.exit_code, r.output, exc


# =======================================================================================
# 1. The config file

ORCHESTRATORS = ["kubernetes", "k8s", "docker-compose", "compose", "nomad", "direct", "bash"]

_text = st.text(max_size=20)
_hostile_text = st.sampled_from([
    "", " ", "kubernetes", "direct", "nomad", "none", "mcp-server-kubernetes", "kubernetes-mcp-server",
    "npx -y kubernetes-mcp-server", "--help", "-o/etc", "a\nb", "\t", "'\"", "é", "\u202e", "x" * 300,
    "$HOME", "${X}", "..", "/",
])
_offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
_scalars = st.one_of(
    _text, _hostile_text,
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.none() | _offsets),
    st.dates(),
    st.times(),
)
_keys = st.one_of(st.sampled_from(["command", "profile", "env", "namespace", "default_orchestrator", "mcp",
                                   "KUBECONFIG", *ORCHESTRATORS]), _text)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)), max_leaves=12)


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(v) -> str:
    """A TOML literal of ``v`` (inline tables and arrays)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_string(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def toml_document(doc: dict, headers: bool) -> str:
    """``doc`` as TOML; with ``headers``, its top-level tables of tables under
    ``[a.b]`` headers (as a user writes ``[mcp.kubernetes]``), else all inline."""
    lines, tables = [], []
    for k, v in doc.items():
        if headers and isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
            tables.append((k, v))
        else:
            lines.append(f"{_string(k)} = {toml_value(v)}")
    for k, v in tables:
        for sub, table in v.items():
            lines.append(f"\n[{_string(k)}.{_string(sub)}]")
            lines += [f"{_string(kk)} = {toml_value(x)}" for kk, x in table.items()]
    return "\n".join(lines) + "\n"


_server = st.fixed_dictionaries(
    {},
    optional={
        "command": st.one_of(st.lists(st.one_of(_text, _hostile_text), max_size=4), _hostile_text, _values),
        "profile": st.one_of(st.sampled_from(["mcp-server-kubernetes", "kubernetes-mcp", "kubernetes-mcp-server",
                                              "kubectl-mcp-server", "docker-mcp-server", "none", "nope"]), _values),
        "env": st.one_of(st.dictionaries(_keys, st.one_of(_text, _hostile_text), max_size=3), _values),
        "namespace": st.one_of(_hostile_text, _values),
    },
).flatmap(lambda d: st.dictionaries(_keys, _values, max_size=2).map(lambda extra: {**extra, **d}))

config_docs = st.fixed_dictionaries(
    {},
    optional={
        "default_orchestrator": st.one_of(st.sampled_from(ORCHESTRATORS + ["KUBERNETES", "swarm", " direct"]), _values),
        "mcp": st.one_of(st.dictionaries(st.one_of(st.sampled_from(ORCHESTRATORS), _text), _server, max_size=3), _values),
    },
).flatmap(lambda d: st.dictionaries(_keys, _values, max_size=3).map(lambda extra: {**extra, **d}))


def _mutate(data: bytes, how: list[tuple[int, int, int]]) -> bytes:
    b = bytearray(data)
    for kind, at, byte in how:
        if not b:
            b.append(byte)
            continue
        at %= len(b)
        if kind == 0:
            b[at] ^= 1 << (byte % 8)
        elif kind == 1:
            b.insert(at, byte)
        elif kind == 2:
            del b[at]
        else:
            del b[at:]
    return bytes(b)


#: what a user writes: the real keys with values of their types (hostile strings included),
#: plus keys b00tc does not know (ignored)
_realistic = st.fixed_dictionaries(
    {},
    optional={
        "default_orchestrator": st.sampled_from(ORCHESTRATORS + ["swarm", "Direct"]),
        "mcp": st.dictionaries(
            st.sampled_from(ORCHESTRATORS),
            st.fixed_dictionaries(
                {"command": st.lists(st.one_of(_text, _hostile_text), min_size=1, max_size=3)},
                optional={"profile": st.sampled_from(["mcp-server-kubernetes", "kubernetes-mcp-server",
                                                      "docker-mcp-server", "none", "nope", ""]),
                          "env": st.dictionaries(_text, _text, max_size=2), "namespace": _hostile_text},
            ),
            max_size=2,
        ),
    },
).flatmap(lambda d: st.dictionaries(_text, _values, max_size=2).map(lambda extra: {**extra, **d}))
_valid_config = st.tuples(config_docs, st.booleans()).map(lambda t: toml_document(*t).encode())
config_bytes = st.one_of(
    st.tuples(_realistic, st.booleans()).map(lambda t: toml_document(*t).encode()),
    _valid_config,
    st.binary(max_size=200),
    st.tuples(_valid_config, st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.integers(0, 255)),
                                      min_size=1, max_size=4)).map(lambda t: _mutate(*t)),
    st.tuples(_valid_config, st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\x80\x80"]),
              st.integers(0, 10**6)).map(lambda t: t[0][: t[2] % (len(t[0]) + 1)] + t[1] + t[0][t[2] % (len(t[0]) + 1):]),
)

#: the commands that read the config (none probes an orchestrator's CLI: fast and hermetic)
CONFIG_COMMANDS = [
    ["plan", str(DATA / "exit7.job.toml"), "--orchestrator", "direct"],
    ["plan", str(DATA / "site.stack.toml"), "--orchestrator", "kubernetes"],
    ["plan", str(DATA / "exit7.job.toml"), "--orchestrator", "docker-compose", "--format", "json"],
    ["deploy", str(DATA / "exit7.job.toml"), "--orchestrator", "kubernetes", "--via", "mcp", "--dry-run"],
    ["status", str(DATA / "exit7.job.toml"), "--orchestrator", "direct"],
]


@pytest.fixture(scope="module")
def config_world(tmp_path_factory):
    """A folder for the config file and the state, and each command's exit code without a
    config (the answer a config must not change unless it is refused)."""
    base = tmp_path_factory.mktemp("config")
    env = {"B00TC_STATE_DIR": str(base / "state"), "B00TC_CONFIG": str(base / "absent.toml"),
           "B00T_DATUM_PATH": None}
    baseline = {}
    for argv in CONFIG_COMMANDS:
        code, out, exc = invoke(argv, env)
        assert exc is None and code in (0, 4), out
        baseline[tuple(argv)] = code
    return base, env, baseline


def _config_outcome(data: bytes, base: Path, env: dict, baseline: dict, argv: list[str]) -> None:
    path = base / "config.toml"
    path.write_bytes(data)
    code, out, exc = invoke(argv, {**env, "B00TC_CONFIG": str(path)})
    event(f"{argv[0]}: exit {code}" + (f" (baseline {baseline[tuple(argv)]})" if code != baseline[tuple(argv)] else ""))
    assert exc is None, f"{type(exc).__name__}: {exc}\n{out}"
    assert code != 2, out
    if code != baseline[tuple(argv)]:
        assert code == 1 and str(path) in out, (code, out)


@fuzz_settings(200)
@given(data=config_bytes, which=st.integers(0, len(CONFIG_COMMANDS) - 1), default=st.booleans())
def test_config_file_fuzz(config_world, data, which, default):
    """Whatever the config file holds, a command that reads it answers as without it, or
    exits 1 naming the file; with ``default`` and a default_orchestrator in the file, a
    plan is run without --orchestrator (the configured default chooses; plan never probes
    an orchestrator, so this stays hermetic)."""
    base, env, baseline = config_world
    argv = CONFIG_COMMANDS[which]
    if default and argv[0] == "plan":
        try:
            configured = tomli.loads(data.decode()).get("default_orchestrator")
        except ValueError:
            configured = None
        if isinstance(configured, str) and configured:  # "" would probe every orchestrator
            argv = argv[:2] + argv[4:]
            path = base / "config.toml"
            path.write_bytes(data)
            code, out, exc = invoke(argv, {**env, "B00TC_CONFIG": str(path)})
            assert exc is None, f"{type(exc).__name__}: {exc}\n{out}"
            assert code != 2, out
            event(f"plan (configured default): exit {code}")
            if code == 1:  # an unknown default (the file named), or the datum's errors for that target
                assert str(path) in out or "error[E" in out, out
            return
    _config_outcome(data, base, env, baseline, argv)


def test_config_generator_writes_valid_toml():
    """The generator itself: every generated document (no mutation) is TOML that reads back
    as the document (so the fuzz reaches past the TOML parser)."""

    @fuzz_settings(100)
    @given(config_docs, st.booleans())
    def check(doc, headers):
        back = tomli.loads(toml_document(doc, headers))
        assert set(back) == set(doc)

    check()


@pytest.mark.parametrize("data", [
    b"default_orchestrator = \"direct\"\nx = \xff\n",
    b"[mcp.kubernetes]\ncommand = [\"npx\"]\nprofile = [1]\n",
    b"default_orchestrator = \"swarm\"\n",
    bytes(range(256)),
], ids=["not-utf8", "profile-list", "unknown-default", "every-byte"])
def test_config_file_through_the_real_cli(tmp_path, data):
    """The smoke check: a real ``python -m b00tc plan`` on a bad config exits 1 naming the
    file, no traceback, no "bug"."""
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(data)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B00TC_CONFIG": str(cfg), "B00TC_STATE_DIR": str(tmp_path / "s")}
    env.pop("B00T_DATUM_PATH", None)
    argv = [sys.executable, "-m", "b00tc", "plan", str(DATA / "site.stack.toml")]
    if not data.startswith(b"default_orchestrator"):
        argv += ["--orchestrator", "kubernetes"]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert str(cfg) in r.stderr
    assert "Traceback" not in r.stderr and "bug" not in r.stderr


# =======================================================================================
# 2. The state files of direct jobs

JOB = '[b00t]\nname = "job"\ntype = "job"\n[b00t.container]\nimage = "x"\ncommand = "true"\n'


@pytest.fixture(scope="module")
def child():
    """A process this test started (its own process group): the one process a record may
    name and b00tc may signal."""
    proc = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        start = None
        for _ in range(100):
            start = state._proc_start(proc.pid)
            if start:
                break
        yield proc.pid, start
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def signals(monkeypatch):
    """Every signal b00tc would send, recorded instead of sent (for the whole test)."""
    sent = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: sent.append(("killpg", pid, sig)))
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append(("kill", pid, sig)))
    stop = state.stop
    monkeypatch.setattr(state, "stop", lambda st, grace=10: stop(st, grace=0))  # no real wait
    return sent


def _state_values(pid: int, start: str):
    me = os.getpid()
    pids = st.one_of(
        st.sampled_from([pid, pid, me, 0, 1, -1, -pid, True, False, None, 2**31, 2**64, -(2**63), 4194304]),
        st.integers(), st.floats(allow_nan=True), st.text(max_size=8), st.just(str(pid)), st.just([pid]),
    )
    starts = st.one_of(
        st.sampled_from([start, start, None, "0", "", " " + start, start + "0", "١٢", "-1", int(start)]),
        st.text(max_size=8), st.integers(), st.floats(allow_nan=True),
    )
    codes = st.one_of(st.none(), st.integers(-300, 300), st.sampled_from([True, False, "0", 0.0, [0]]))
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=8,
    )
    records = st.fixed_dictionaries(
        {}, optional={"pid": pids, "proc_start": starts, "exit_code": codes, "started": json_values,
                      "finished": json_values, "argv": json_values},
    ).flatmap(lambda d: st.dictionaries(st.text(max_size=6), json_values, max_size=2).map(lambda e: {**e, **d}))
    # nearly what b00tc writes: the pid an int, the start time a digit string or null
    plausible = st.fixed_dictionaries(
        {"pid": st.sampled_from([pid] * 6 + [me, 1, 2, 4194304, 2**31, 2**64]),
         "proc_start": st.sampled_from([start] * 6 + [None, "0", start + "0", "١٢"])},
        optional={"exit_code": st.sampled_from([None, None, 0, 1, -9, 2**70]), "started": json_values,
                  "argv": json_values},
    )
    as_json = st.one_of(records, json_values).map(lambda v: json.dumps(v).encode())
    close = plausible.map(lambda v: json.dumps(v).encode())
    return st.one_of(close, close, close, as_json, as_json, st.binary(max_size=100),
                     as_json.map(lambda b: b"\xef\xbb\xbf" + b),
                     st.tuples(as_json, st.integers(0, 200)).map(lambda t: t[0][: t[1]]),
                     st.just(b"symlink"))


@pytest.fixture(scope="module")
def state_world(tmp_path_factory, child):
    base = tmp_path_factory.mktemp("state")
    (base / "job.job.toml").write_text(JOB)
    return base, _state_values(*child)


def _write_state(base: Path, data: bytes, pid_data: bytes) -> None:
    folder = base / "state" / "direct" / "job"
    shutil.rmtree(base / "state", ignore_errors=True)
    folder.mkdir(parents=True)
    if data == b"symlink":  # a link to a record b00tc would accept: read with O_NOFOLLOW, not followed
        (base / "elsewhere.json").write_text(json.dumps({"pid": 4242, "proc_start": "7", "exit_code": None}))
        (folder / "state.json").symlink_to(base / "elsewhere.json")
    else:
        (folder / "state.json").write_bytes(data)
    (folder / "pid").write_bytes(pid_data)


@fuzz_settings(150)
@given(data=st.data(), pid_data=st.one_of(st.binary(max_size=20), st.sampled_from([b"1\n", b"-1\n", b"0", b"1 2"])),
       op=st.sampled_from(["status", "down", "down-dry", "logs"]))
def test_state_file_fuzz(state_world, child, signals, monkeypatch, data, pid_data, op):
    base, values = state_world
    signals.clear()  # an example that failed before its end (hypothesis shrinking) left its own
    monkeypatch.setenv("B00TC_STATE_DIR", str(base / "state"))
    raw = data.draw(values, label="state.json")
    _write_state(base, raw, pid_data)
    rec = state.read("job")
    assert rec is None or (isinstance(rec, dict) and state.valid(rec)), rec
    if rec is not None:
        state.alive(rec), state.running(rec)  # never raise on what read gives
    argv = {"status": ["status", "job.job.toml"], "down": ["down", "job.job.toml"],
            "down-dry": ["down", "job.job.toml", "--dry-run"], "logs": ["logs", "job.job.toml"]}[op]
    monkeypatch.chdir(base)
    code, out, exc = invoke(argv + ["--orchestrator", "direct"], {"B00TC_STATE_DIR": str(base / "state"),
                                                                  "B00T_DATUM_PATH": None})
    assert exc is None, f"{type(exc).__name__}: {exc}\n{out}"
    assert code != 2 and "bug" not in out, (code, out)
    pid, start = child
    # the child's own record (its pid and start time); an exit code recorded does not make
    # it another process's: down stops what still runs of a job that ended (issue 14)
    ours = rec is not None and rec["pid"] == pid and rec.get("proc_start") == start
    event(f"{op}: exit {code}, record {'none' if rec is None else 'ours' if ours else 'valid'}, "
          f"{len(signals)} signals")
    for _, target, _ in signals:
        assert type(target) is int and target > 1 and target == pid, signals
        assert ours and op == "down", (rec, signals)
    signals.clear()


def test_state_fuzz_sees_the_signals_of_a_real_record(state_world, child, signals, monkeypatch):
    """The recorder is not blind: the record of the child this test started, as b00tc
    writes it, makes ``down`` signal its group and then the child itself (SIGTERM, then
    SIGKILL), and nothing else. The signals are only recorded, so the child does not die:
    ``down`` then says so (exit 1, the pid named) instead of reporting success."""
    base, _ = state_world
    monkeypatch.setenv("B00TC_STATE_DIR", str(base / "state"))
    pid, start = child
    _write_state(base, json.dumps({"pid": pid, "proc_start": start, "exit_code": None}).encode(), b"")
    monkeypatch.chdir(base)
    code, out, exc = invoke(["down", "job.job.toml", "--orchestrator", "direct"],
                            {"B00TC_STATE_DIR": str(base / "state"), "B00T_DATUM_PATH": None})
    assert exc is None and code == 1 and f"processes {pid} of job job did not stop" in out, out
    assert signals[0] == ("killpg", pid, signal.SIGTERM)
    assert {s[1] for s in signals} == {pid} and {s[2] for s in signals} == {signal.SIGTERM, signal.SIGKILL}


# =======================================================================================
# 3. The MCP server's arguments

_HOSTILE = [
    "--help", "-h", "--version", "-o/etc", "-o", "--orchestrator=nomad", "--include=/etc", "--", "-", "--dry-run",
    "..", "../..", "a/../../b", "/", "/etc/passwd", "~", "~root", "~/x", ".", "x\x00y", "\x00", "a\nb", "\r\n",
    "exit7.job.toml", "exit7", "site", "site.stack.toml", "web.docker.toml", "job", "a" * 5000, "é/ü", "\ud800",
    "$(id)", "`id`", "'; rm -rf /", " ", "json", "--format", "direct",
]
_KEYS = ["path", "text", "target", "include", "orchestrator", "namespace", "context", "dry_run", "volumes"]
_mcp_strings = st.one_of(st.sampled_from(_HOSTILE), st.sampled_from(_HOSTILE), st.text(min_size=1, max_size=12),
                         st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("\x00\ud800"),
                                 max_size=6))
_mcp_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _mcp_strings,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_VALID = {
    "target": st.sampled_from(["k8s", "kubernetes", "compose", "nomad", "bash", "systemd"]),
    "orchestrator": st.sampled_from(ORCHESTRATORS),
    "path": _mcp_strings,
    "text": st.one_of(_mcp_strings, st.just(JOB), st.just((DATA / "exit7.job.toml").read_text())),
    "include": st.lists(_mcp_strings, max_size=3),
    "namespace": _mcp_strings,
    "context": _mcp_strings,
    "dry_run": st.booleans(),
    "volumes": st.booleans(),
}


def _arguments(tool: str):
    """Mostly the tool's own keys with hostile values, some of the wrong type, some keys
    unknown; sometimes not an object at all."""
    schema = mcp_server.TOOLS[tool][1] if tool in mcp_server.TOOLS else {"properties": dict.fromkeys(_KEYS)}
    one_source = "oneOf" in schema  # path xor text
    required = schema.get("required", [])
    fitting = st.fixed_dictionaries(
        {k: _VALID[k] for k in required},
        optional={k: _VALID[k] for k in schema["properties"]
                  if k not in required and not (one_source and k in ("path", "text"))})
    if one_source:
        source = st.one_of(st.fixed_dictionaries({"path": _VALID["path"]}), st.fixed_dictionaries({"text": _VALID["text"]}))
        fitting = st.tuples(fitting, source).map(lambda t: {**t[0], **t[1]})
    wrong = st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), _mcp_values, max_size=4)
    return st.one_of(fitting, fitting, fitting, fitting, fitting,
                     st.tuples(fitting, wrong).map(lambda t: {**t[0], **t[1]}), wrong, st.none())


TOOL_NAMES = mcp_server.tool_names(allow_destructive=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The folder the server serves: a direct job, a stack and its member."""
    root = tmp_path_factory.mktemp("served")
    for name in ("exit7.job.toml", "site.stack.toml", "web.docker.toml"):
        shutil.copy(DATA / name, root / name)
    (root / "job.job.toml").write_text(JOB)
    (root / "sub").mkdir()
    return root


@pytest.fixture
def children(monkeypatch):
    """Every child a day-two tool would start, recorded instead of run; an argv the real
    subprocess.run refuses (a NUL, a string the file system encoding cannot take) is
    refused the same way."""
    started = []

    def run(argv, *a, **kw):
        for x in argv:
            if "\x00" in x:
                raise ValueError("embedded null byte")
            os.fsencode(x)  # UnicodeEncodeError on a lone surrogate
        started.append(list(argv))
        return subprocess.CompletedProcess(argv, 4, stdout="", stderr="")

    monkeypatch.setattr(subprocess, "run", run)
    return started


DIAGNOSTIC_KEYS = {"severity", "code", "message", "file", "line", "column", "end", "path", "help"}


def _well_formed(result, is_error) -> None:
    assert isinstance(result, dict) and isinstance(is_error, bool), (result, is_error)
    assert isinstance(result.get("ok"), bool), result
    diags = result.get("diagnostics")
    assert isinstance(diags, list), result
    for d in diags:
        assert isinstance(d, dict) and set(d) == DIAGNOSTIC_KEYS, d
    text = json.dumps(result, ensure_ascii=False)
    text.encode("utf-8")  # what the SDK puts on the stream
    assert "internal error" not in text, text[:2000]


def _child_read_back(op: str, argv: list[str], args: dict) -> None:
    """click's parser, reading the child's command line, gives back exactly the agent's
    values, each as the value it was given for: none of them became an option. (The
    parser's raw reading: the values' own checks, such as an include that is a file, are
    the child's to make.)"""
    import click

    assert argv[:4] == [sys.executable, "-m", "b00tc", op], argv
    command = cli.commands[op]
    p, rest, _ = command.make_parser(click.Context(command, info_name=op)).parse_args(list(argv[4:]))
    assert rest == [] and p["target"] == args["path"], (argv, p)
    assert p["orchestrator"] == args["orchestrator"]
    assert p.get("includes", []) == list(args.get("include", [])), (argv, p)
    assert p.get("namespace") == args.get("namespace") and p.get("kube_context") == args.get("context"), (argv, p)
    allowed = {"target", "orchestrator", "includes", "namespace", "kube_context"} | (
        {"fmt"} if op == "status" else {"dry_run", "volumes"} if op == "down" else set())
    assert set(p) <= allowed, (argv, p)
    if op == "down":
        assert bool(p.get("dry_run")) == bool(args.get("dry_run")) and bool(p.get("volumes")) == bool(args.get("volumes"))


@fuzz_settings(300)
@given(data=st.data(), tool=st.sampled_from(TOOL_NAMES * 3 + ["status", "logs", "down"] * 3 + ["nope", "", "../down"]))
def test_mcp_arguments_fuzz(served, children, monkeypatch, data, tool):
    monkeypatch.chdir(served)
    monkeypatch.setenv("B00TC_STATE_DIR", str(served / "state"))
    children.clear()  # the fixture lives for the whole test: one example's children only
    args = data.draw(_arguments(tool), label="arguments")
    result, is_error = mcp_server.call(tool, args, root=str(served), allow_destructive=True)
    _well_formed(result, is_error)
    first = (result["diagnostics"] or [{"code": "-", "message": ""}])[0]
    first = first["code"] + " " + first["message"].split(":")[0].split(" '")[0][:24]
    event(f"{tool}: ok {result['ok']}, first {first}, child {bool(children)}")
    if tool in ("status", "logs", "down") and children:
        assert len(children) == 1, children
        _child_read_back(tool, children[0], args)


def test_mcp_arguments_through_the_sdk(served, children, monkeypatch):
    """A few hostile argument objects through the SDK's client to the real server
    (in-process): each is a tool result (is_error set when refused), never a JSON-RPC
    error for arguments that are an object."""
    import anyio
    from mcp import Client

    monkeypatch.chdir(served)
    cases = [
        ("status", {"path": "--help", "orchestrator": "direct"}),
        ("down", {"path": "x\x00y", "orchestrator": "direct"}),
        ("check", {"path": "a", "include": ["\x00"]}),
        ("build", {"path": "../..", "target": "k8s"}),
        ("logs", {"path": "exit7", "orchestrator": "bash", "namespace": "-o/etc", "context": "--help"}),
        ("plan", {"path": ["x"], "orchestrator": 5}),
        ("list_targets", {"x": {"y": [1]}}),
        ("nope", {}),
    ]

    async def main():
        server = mcp_server.make_server(allow_destructive=True)
        out = []
        with anyio.fail_after(60):
            async with Client(server) as c:
                for name, args in cases:
                    out.append(await c.call_tool(name, args))
        return out

    for (name, args), r in zip(cases, anyio.run(main)):
        data = json.loads(r.content[0].text)
        _well_formed(data, bool(r.is_error))
        assert r.structured_content == data


# =======================================================================================
# Reproducers of the defects the fuzzing found (each failed before its fix)


def _plan_with_config(tmp_path, text: bytes, *extra: str) -> tuple[int, str, BaseException | None]:
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(text)
    return invoke(["plan", str(DATA / "site.stack.toml"), *extra],
                  {"B00TC_CONFIG": str(cfg), "B00TC_STATE_DIR": str(tmp_path / "s"), "B00T_DATUM_PATH": None})


def test_fixed_config_file_not_utf8(tmp_path):
    """A config file that is not UTF-8 was exit 2 ("internal error: UnicodeDecodeError ...
    this is a bug"): tomli decodes before it parses, and its UnicodeDecodeError is not a
    TOMLDecodeError."""
    code, out, exc = _plan_with_config(tmp_path, b'default_orchestrator = "direct"\nx = "\xff"\n',
                                       "--orchestrator", "direct")
    assert exc is None and code == 1, (exc, out)
    assert f"cannot read the config file {tmp_path / 'config.toml'}" in out


@pytest.mark.parametrize("entry", ['profile = [1]', 'profile = 5', 'profile = {a = 1}', 'namespace = 5',
                                   'namespace = ["a"]'])
def test_fixed_config_profile_and_namespace_must_be_strings(tmp_path, entry):
    """``[mcp.kubernetes] profile = [1]`` was exit 2 (TypeError: unhashable type, looking
    the profile up); ``namespace = 5`` went into the MCP calls' arguments as a number."""
    code, out, exc = _plan_with_config(tmp_path, f'[mcp.kubernetes]\ncommand = ["npx"]\n{entry}\n'.encode(),
                                       "--orchestrator", "kubernetes")
    assert exc is None and code == 1, (exc, out)
    assert str(tmp_path / "config.toml") in out and "[mcp.kubernetes]" in out, out


def test_fixed_unknown_configured_default_orchestrator(tmp_path):
    """``default_orchestrator = "swarm"`` was exit 2, a usage error blaming an
    --orchestrator the user never gave ("Invalid value for --orchestrator"), not the file."""
    code, out, exc = _plan_with_config(tmp_path, b'default_orchestrator = "swarm"\n')
    assert exc is None and code == 1, (exc, out)
    assert str(tmp_path / "config.toml") in out and "swarm" in out, out
    assert "Invalid value for --orchestrator" not in out
    code, out, exc = _plan_with_config(tmp_path, b'default_orchestrator = "direct"\n', "--orchestrator", "swarm")
    assert code == 2 and "Invalid value for --orchestrator" in out  # the option's own value: click's usage error


def test_fixed_a_record_without_proc_start_of_a_live_pid(tmp_path, child, signals, monkeypatch):
    """``{"pid": <a live pid>}`` (no proc_start: valid() takes a missing one as null) was
    exit 2 for status and down (KeyError: 'proc_start' in state.alive). It is a record of
    no running job: no signal."""
    monkeypatch.setenv("B00TC_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "job.job.toml").write_text(JOB)
    _write_state(tmp_path, json.dumps({"pid": child[0]}).encode(), b"")
    assert state.read("job") is not None and not state.alive(state.read("job"))
    monkeypatch.chdir(tmp_path)
    env = {"B00TC_STATE_DIR": str(tmp_path / "state"), "B00T_DATUM_PATH": None}
    code, out, exc = invoke(["status", "job.job.toml", "--orchestrator", "direct"], env)
    assert exc is None and code != 2 and "gone" in out, (exc, out)
    code, out, exc = invoke(["down", "job.job.toml", "--orchestrator", "direct"], env)
    assert exc is None and code == 0, (exc, out)
    assert signals == []


def test_fixed_logs_of_a_record_without_its_output_log(tmp_path, monkeypatch):
    """A job's record with no output.log beside it (removed, or the record written by
    hand) was exit 2 for logs (FileNotFoundError); now exit 1 naming the log."""
    monkeypatch.setenv("B00TC_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "job.job.toml").write_text(JOB)
    _write_state(tmp_path, json.dumps({"pid": 4242, "proc_start": "7", "exit_code": 0}).encode(), b"")
    monkeypatch.chdir(tmp_path)
    code, out, exc = invoke(["logs", "job.job.toml", "--orchestrator", "direct"],
                            {"B00TC_STATE_DIR": str(tmp_path / "state"), "B00T_DATUM_PATH": None})
    assert exc is None and code == 1, (exc, out)
    assert "output.log" in out, out


@pytest.mark.parametrize("args", [
    {"tool": "build", "path": "a\x00b", "target": "k8s"},
    {"tool": "check", "text": "[b00t]", "include": ["\x00"]},
    {"tool": "check", "path": "\ud800.job.toml"},
    {"tool": "status", "path": "exit7.job.toml", "orchestrator": "direct", "namespace": "a\x00"},
    {"tool": "down", "path": "exit7.job.toml", "orchestrator": "direct", "context": "\ud800"},
], ids=["build-path-nul", "check-include-nul", "check-path-surrogate", "status-namespace-nul",
        "down-context-surrogate"])
def test_fixed_mcp_values_no_file_name_or_argument_can_hold(served, children, monkeypatch, args):
    """A NUL in a path, include, namespace or context, or a lone surrogate (JSON's
    "\\ud800"), was "internal error in b00tc: ValueError: embedded null byte" (or
    UnicodeEncodeError), from os.path.realpath or the child's argv: now refused as bad
    arguments (E0901) before anything is read or run."""
    monkeypatch.chdir(served)
    args = dict(args)
    tool = args.pop("tool")
    result, is_error = mcp_server.call(tool, args, root=str(served), allow_destructive=True)
    _well_formed(result, is_error)
    assert is_error and result["diagnostics"][0]["code"] == "E0901", result
    assert children == []


def test_fixed_mcp_datum_not_utf8(tmp_path, monkeypatch):
    """Found beside the config's: an MCP datum on the search path that is not UTF-8
    (kubernetes.mcp.toml) made ``plan --orchestrator kubernetes`` exit 2 (the same
    UnicodeDecodeError); now it is a datum that cannot be read, said in the plan."""
    shutil.copy(DATA / "exit7.job.toml", tmp_path / "exit7.job.toml")
    (tmp_path / "kubernetes.mcp.toml").write_bytes(b'[b00t]\ntype = "mcp"\nx = "\xff"\n')
    monkeypatch.chdir(tmp_path)
    code, out, exc = invoke(["plan", "exit7.job.toml", "--orchestrator", "kubernetes"],
                            {"B00TC_CONFIG": str(tmp_path / "absent.toml"), "B00T_DATUM_PATH": None})
    assert exc is None and code == 0, (exc, out)
    assert "cannot read the MCP datum" in out and "kubernetes.mcp.toml" in out, out
