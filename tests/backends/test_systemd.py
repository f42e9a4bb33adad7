"""The systemd backend, judged three ways.

1. ``systemd-analyze verify --man=no --recursive-errors=no`` on every output, all units of
   a case in one folder (a job's required stack units beside it); any stderr fails.
2. A reference reader written from the man pages (quoted below, systemd 252 as shipped
   here) turns each Environment= and Exec line back into strings; hostile literals must
   come back byte for byte, and the recovered argv is then RUN (``printf '%s\\0'``,
   ``env -0``, the wait loop against a real socket, docker through a fake).
3. Where possible, systemd itself: ``systemd --test --system`` (run as an unprivileged
   user; it refuses to run as root) loads the units with systemd's own parser and dumps
   the argv and environment it will use. PID 1 on the test machines is not systemd, so
   nothing is started by systemd; the dump is systemd's parse, and the runs are ours.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from b00tc.backends import get_backend
from b00tc.backends._context import Context
from b00tc.backends.systemd import SystemdBackend
from b00tc.ir import (
    Annotation,
    Container,
    EnvVar,
    Gpu,
    HostVar,
    Job,
    Member,
    Mount,
    PortMap,
    Resources,
    ServiceDecl,
    SkippedMember,
    Stack,
    Unit,
    WaitFor,
    lit,
)
from tests.backends import ir_fixtures as fx
from tests.backends.ir_fixtures import (
    GiB,
    V,
    direct_n8n_member,
    direct_pipeline_stack,
    env_job,
    printf_job,
    python_member,
)

#: literals that some layer between the datum and the process could rewrite
HOSTILE = [
    "$",
    "${",
    "$$",
    "$(x)",
    "${HOME}",
    "$HOME",
    "`id`",
    "%",
    "%%",
    "%{",
    "%h",
    "{{ .x }}",
    '"',
    "'",
    "'\"",
    "\\",
    "a\\",
    "\\'",
    "\\x41",
    "line1\nline2",
    "tab\there",
    "  lead and trail  ",
    "yes",
    "no",
    "null",
    "0x1F",
    "1e3",
    "ünïcödé ✓",
    "",
    "-n",
    ";",
    "\\;",
    "#x",
    ";x",
    "*",
    "~",
    "}",
    "\r\x01\x1b\x7f",
    "\u0085\u2028",
]


# ---------------------------------------------------------------------------
# Reference reader, from the documentation


WS = " \t\n\r"
C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
             "\\": "\\", '"': '"', "'": "'", "s": " "}


def unit_entries(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) in file order, per systemd.syntax(7):

    "Each file is a plain text file divided into sections, with configuration entries in
    the style key=value. Whitespace immediately before or after the "=" is ignored. Empty
    lines and lines starting with "#" or ";" are ignored, which may be used for
    commenting. Lines ending in a backslash are concatenated with the following line
    while reading and the backslash is replaced by a space character. [...] When a
    comment line or lines follow a line ending with a backslash, the comment block is
    ignored, so the continued line is concatenated with whatever follows the comment
    block."
    """
    out, section, pending = [], None, None
    for raw in text.split("\n"):
        stripped = raw.strip(WS)
        if stripped.startswith(("#", ";")) or (not stripped and pending is None):
            continue
        line = raw if pending is None else pending + raw
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = None
        line = line.strip(WS)
        if line.startswith("["):
            assert line.endswith("]"), line
            section = line[1:-1]
            continue
        key, eq, value = line.partition("=")
        assert eq and section, f"not an assignment in a section: {line!r}"
        out.append((section, key.strip(WS), value.strip(WS)))
    assert pending is None, "file ends in a continuation"
    return out


def unescape(text: str, i: int) -> tuple[str, int]:
    """The escape at text[i] == "\\\\", per the table "Supported escapes" of
    systemd.syntax(7) ("\\\\xxx character number xx in hexadecimal encoding", "\\\\nnn
    [...] octal", "\\\\unnnn", "\\\\Unnnnnnnn" and the single-letter ones). "Only escape
    patterns which match the syntax in the table are allowed": anything else fails."""
    c = text[i + 1]
    if c in C_ESCAPES:
        return C_ESCAPES[c], i + 2
    for letter, width, base in (("x", 2, 16), ("u", 4, 16), ("U", 8, 16)):
        if c == letter:
            code = int(text[i + 2 : i + 2 + width], base)
            assert letter != "x" or code < 0x80, "a \\x byte above 0x7f is half a character"
            return chr(code), i + 2 + width
    if c in "01234567":
        return chr(int(text[i + 1 : i + 4], 8)), i + 4
    raise AssertionError(f"unknown escape \\{c}")


def items(value: str) -> list[tuple[str, bool]]:
    """Split a value into (item, was_quoted) per systemd.syntax(7), "Quoting": "double
    quotes ("...") and single quotes ('...') may be used to wrap a whole item (the opening
    quote may appear only at the beginning or after whitespace that is not quoted, and
    the closing quote must be followed by whitespace or the end of line), in which case
    everything until the next matching quote becomes part of the same item. Quotes
    themselves are removed. C-style escapes are supported." b00tc never puts a quote in
    the middle of a word, so this reader refuses one."""
    out, i, n = [], 0, len(value)
    while True:
        while i < n and value[i] in WS:
            i += 1
        if i >= n:
            return out
        quote = value[i] if value[i] in "\"'" else ""
        i += bool(quote)
        buf = []
        while True:
            assert i < n or not quote, f"unbalanced quote in {value!r}"
            if i >= n:
                break
            c = value[i]
            if c == "\\":
                ch, i = unescape(value, i)
                buf.append(ch)
            elif quote and c == quote:
                i += 1
                assert i >= n or value[i] in WS, "closing quote must be followed by whitespace"
                break
            elif not quote and c in WS:
                break
            else:
                assert quote or c not in "\"'", f"quote inside a word in {value!r}"
                buf.append(c)
                i += 1
        out.append(("".join(buf), bool(quote)))


def specifiers(text: str, home: str = "/root") -> str:
    """systemd.unit(5), "Specifiers": "%%" is "Single percent sign"; "%h" is the "User
    home directory". b00tc writes no other specifier, so any other one fails here."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "%":
            spec = text[i + 1 : i + 2]
            assert spec in ("%", "h"), f"unexpected specifier %{spec} in {text!r}"
            out.append("%" if spec == "%" else home)
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def dollars(text: str, env: dict[str, str] | None = None) -> str:
    """systemd.service(5), "Command lines": "Use "${FOO}" as part of a word, or as a word
    of its own, on the command line, in which case it will be erased and replaced by the
    exact value of the environment variable (if any) including all whitespace it contains,
    always resulting in exactly a single argument. Use "$FOO" as a separate word [...] To
    pass a literal dollar sign, use "$$"." b00tc writes only "$$" and, for a value from the
    unit's environment file, ``${B00T_...}`` as a word of its own (replaced from ``env``,
    the unit's environment); any other "$" fails here."""
    ref = re.fullmatch(r"\$\{(B00T_[A-Za-z0-9_]+)\}", text)
    if ref and env is not None:
        return env.get(ref.group(1), "")
    out, i = [], 0
    while i < len(text):
        if text[i] == "$":
            assert text[i + 1 : i + 2] == "$", f"unescaped $ in {text!r}"
            out.append("$")
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def exec_argv(value: str, home: str = "/root", env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """An Exec line: its prefix characters ("-", "@", ":", "+", "!") and its argv, after
    unquoting, specifiers and "$$". "Multiple command lines may be concatenated in a single
    directive by separating them with semicolons (these semicolons must be passed as
    separate words). Lone semicolons may be escaped as "\\\\;"." b00tc never writes two
    commands on one line, so an unquoted lone ";" fails here."""
    words = items(value)
    assert not any(w == ";" and not quoted for w, quoted in words), "an unquoted ; separates commands"
    prefix = re.match(r"[-@:+!]*", words[0][0]).group(0)
    argv = [words[0][0][len(prefix):]] + [w for w, _ in words[1:]]
    return prefix, [dollars(specifiers(a, home), env) for a in argv]


def environment(values: list[str]) -> dict[str, str]:
    """Environment= lines, per systemd.exec(5): "Takes a space-separated list of variable
    assignments. [...] Variable expansion is not performed inside the strings, however,
    specifier expansion is possible. The "$" character has no special meaning." """
    env = {}
    for value in values:
        for item, _ in items(value):
            name, eq, val = specifiers(item).partition("=")
            assert eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), item
            env[name] = val
    return env


def read_env_file(text: str) -> dict[str, str]:
    """An environment file as systemd.exec(5), EnvironmentFile=, documents its reading:
    "Empty lines, lines without an "=" separator, or lines starting with ";" or "#" will be
    ignored [...] an unquoted value after the "=" is parsed with the same backslash-escape
    rules as POSIX shell unquoted text, but unlike in a shell, interior whitespace is
    preserved [...] Leading and trailing whitespace (space, tab, carriage return) is
    discarded [...] A line ending with a backslash will be continued to the following one,
    with the newline itself discarded. A backslash "\\" followed by any character other than
    newline will preserve the following character [...] a single-quoted value after the "="
    can span multiple lines and contain any character verbatim other than single quote [...]
    a double-quoted value after the "=" can span multiple lines, and the same escape
    sequences are recognized as in POSIX shell double-quoted strings. A backslash ("\\")
    followed by any of ""\\`$" will preserve that character. A backslash followed by
    newline is a line continuation, and the newline itself is discarded. A backslash
    followed by any other character is ignored; both the backslash and the following
    character are preserved verbatim. Leading and trailing whitespace outside of the double
    quotes is discarded." (systemd 252 has no way to read an environment file without
    starting a service, which needs PID 1: this reader is the documented rule.)"""
    env: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        end = text.find("\n", i)
        end = n if end < 0 else end
        line = text[i:end]
        stripped = line.lstrip(" \t\r")
        if not stripped or stripped[0] in "#;" or "=" not in line:
            i = end + 1
            continue
        eq = text.index("=", i)
        key = text[i:eq].strip(" \t\r")
        i = eq + 1
        while i < n and text[i] in " \t\r":
            i += 1
        value: list[str] = []
        tail = 0  # how many of the last characters are unquoted whitespace (discarded)
        while i < n and text[i] != "\n":
            c = text[i]
            if c == "'":
                close = text.index("'", i + 1)
                value.append(text[i + 1 : close])
                i, tail = close + 1, 0
            elif c == '"':
                i += 1
                while text[i] != '"':
                    if text[i] == "\\":
                        nxt = text[i + 1]
                        if nxt in '"\\`$':
                            value.append(nxt)
                        elif nxt != "\n":
                            value.append("\\" + nxt)
                        i += 2
                    else:
                        value.append(text[i])
                        i += 1
                i, tail = i + 1, 0
            elif c == "\\":
                if text[i + 1 : i + 2] != "\n":
                    value.append(text[i + 1 : i + 2])
                i, tail = i + 2, 0
            else:
                value.append(c)
                i, tail = i + 1, (tail + 1 if c in " \t\r" else 0)
        env[key] = "".join(value[: len(value) - tail])
        i += 1
    return env


def env_files(datum, host_env: dict[str, str] | None = None, annotations=()) -> dict[str, dict[str, str]]:
    """``b00tc env`` for ``datum``: each environment file its units read, read back."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_files

    _, ctx = render(datum, annotations)
    diags = Diagnostics()
    files = resolve_files(ctx.env_files, host_env or {}, diags)
    assert files is not None, diags
    return {path: read_env_file(text) for path, text in files.items()}


class Parsed:
    def __init__(self, text: str, home: str = "/root",
                 env_files: dict[str, dict[str, str]] | None = None) -> None:
        """``env_files``: the environment files the unit reads, by path (``env_files``)."""
        self.entries = unit_entries(text)
        self.home = home
        self.files = env_files or {}

    def get(self, section: str, key: str) -> list[str]:
        return [v for s, k, v in self.entries if (s, k) == (section, key)]

    def one(self, section: str, key: str) -> str:
        (v,) = self.get(section, key)
        return v

    def exec(self, key: str) -> list[tuple[str, list[str]]]:
        env = {**self.env, **self.file_env}
        return [exec_argv(v, self.home, env) for v in self.get("Service", key)]

    @property
    def file_env(self) -> dict[str, str]:
        """What the unit's EnvironmentFile= lines bring (they win over Environment=,
        systemd.exec(5)); b00tc's own ``B00T_*`` variables among them."""
        out: dict[str, str] = {}
        for path in self.get("Service", "EnvironmentFile"):
            out.update(self.files[path])
        return out

    @property
    def env(self) -> dict[str, str]:
        """The environment the process gets: Environment= and the environment files,
        without b00tc's ``B00T_*`` (which the Exec lines use, and the process gets too)."""
        env = environment(self.get("Service", "Environment"))
        env.update({k: v for k, v in self.file_env.items() if not k.startswith("B00T_")})
        return env


# ---------------------------------------------------------------------------
# systemd's own parser: ``systemd --test`` dumps what it loaded


SYSTEMD = "/lib/systemd/systemd"


def systemd_dump(units: dict[str, str], name: str) -> str:
    """The dump of unit ``name`` as systemd 252 loads it from a folder holding ``units``.
    systemd refuses test mode as root, so it runs as nobody (setpriv) over a folder
    nobody can read."""
    if not os.access(SYSTEMD, os.X_OK):
        pytest.skip(f"{SYSTEMD} is not installed")
    prefix = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("setpriv is needed to run systemd --test unprivileged")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    folder = tempfile.mkdtemp(prefix="b00tc-systemd-", dir="/tmp")
    try:
        os.chmod(folder, 0o755)
        for fname, text in units.items():
            p = Path(folder, fname)
            p.write_text(text)
            p.chmod(0o644)
        done = subprocess.run(
            prefix + ["env", "-i", f"SYSTEMD_UNIT_PATH={folder}:", SYSTEMD, "--test",
                      "--system", f"--unit={name}", "--no-pager"],
            capture_output=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(folder)
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert folder not in done.stderr.decode(), done.stderr.decode()  # no complaint about ours
    m = re.search(rf"^\t-> Unit {re.escape(name)}:\n(.*?)(?=^\t-> Unit |\Z)", out, re.M | re.S)
    assert m, f"{name} not in the dump"
    return m.group(1)


def dump_commands(dump: str) -> dict[str, list[list[str]]]:
    """Exec* command lines of a dump, each decoded from systemd's quote_command_line()
    (an argument with special characters in double quotes, ``\\\\ " $ ` `` backslashed,
    control characters as C escapes or three octal digits)."""
    out: dict[str, list[list[str]]] = {}
    kind = None
    for line in dump.split("\n"):
        m = re.match(r"\t\t-> (Exec\w+):$", line)
        if m:
            kind = m.group(1)
        elif line.startswith("\t\t\tCommand Line: ") and kind:
            out.setdefault(kind, []).append(decode_command_line(line.split(": ", 1)[1]))
        elif re.match(r"\t\t\S", line):
            kind = None
    return out


def decode_command_line(line: str) -> list[str]:
    data, out, i = line.encode(), [], 0
    escapes = {b"a": b"\a", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t",
               b"v": b"\v"}
    while i < len(data):
        if data[i : i + 1] == b'"':
            i += 1
            buf = bytearray()
            while data[i : i + 1] != b'"':
                if data[i : i + 1] == b"\\":
                    nxt = data[i + 1 : i + 2]
                    if nxt and nxt in b"01234567":
                        buf.append(int(data[i + 1 : i + 4], 8))
                        i += 4
                    else:
                        buf += escapes.get(nxt, nxt)
                        i += 2
                else:
                    buf.append(data[i])
                    i += 1
            i += 1
        else:
            j = data.find(b" ", i)
            j = len(data) if j < 0 else j
            buf = bytearray(data[i:j])
            i = j
        out.append(buf.decode())
        if i < len(data):
            assert data[i : i + 1] == b" "
            i += 1
    return out


# ---------------------------------------------------------------------------
# IR fixtures: built by hand in ir_fixtures.py; systemd's variants of them


def pipeline_stack(**kw) -> Stack:
    """The direct targets' stack as the systemd tests know it: n8n's env holds systemd's
    ``%h`` and variables a unit could mistake for its own, its port has no path and its
    hint needs quoting; python restarts on failure; the skipped member has no path and no
    member serves metrics."""
    fields = dict(
        members=(
            direct_n8n_member(
                EnvVar(name="DOCKER_HOST", value=lit("unix:///x y")),
                EnvVar(name="PATH", value=lit("/opt/n8n/bin:/usr/bin")),
                hostile="a b'c\"$d%h\n`e`\\",
                ports=(PortMap(container=5678, host=5678),),
                hint="n8n: 100% workflow\nautomation \\",
            ),
            python_member(restart="on-failure:3"),
        ),
        skipped=(SkippedMember(datum="python.cli", kind="cli"),),
        services=(
            ServiceDecl(name="n8n", port=5678, member="n8n", host_port=5678),
            ServiceDecl(name="python", port=8000, member="python", host_port=8000),
        ),
    )
    fields.update(kw)
    return direct_pipeline_stack(**fields)


def llm_job(**kw) -> Job:
    """The batch job requiring this module's stack, with two GPUs and no path on its cpu."""
    return fx.llm_job(pipeline_stack(), gpus=2, cpu_path="", **kw)


ANNOTATIONS = (Annotation(key="budget-daily-limit", value="50.0"),
               Annotation(key="batch-group", value="llama-70b\n[Service]\nExecStart=/bin/false"))


def render(datum, annotations=(), **ctx_kw):
    ctx = Context(target="systemd", **ctx_kw)
    files = SystemdBackend().render(Unit(datum=datum, annotations=annotations), ctx)
    return {f.path: f for f in files}, ctx


def texts(datum, annotations=(), **ctx_kw) -> dict[str, str]:
    files, ctx = render(datum, annotations, **ctx_kw)
    assert files and not [d for d in ctx.diagnostics if d.is_error], ctx.diagnostics
    return {p: f.content for p, f in files.items()}


def verify(units: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    assert shutil.which("systemd-analyze"), "systemd-analyze (Debian package systemd) is needed"
    folder = tmp_path / "units"
    folder.mkdir(exist_ok=True)
    for name, text in units.items():
        (folder / name).write_text(text)
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "--recursive-errors=no",
         *sorted(str(folder / n) for n in units)],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
    )


def nul_split(data: bytes) -> list[str]:
    assert data.endswith(b"\0") or data == b"", data
    return [p.decode() for p in data.split(b"\0")[:-1]]


# ---------------------------------------------------------------------------
# systemd-analyze verify


def cases() -> dict[str, dict[str, str]]:
    stack_units = texts(pipeline_stack(), ANNOTATIONS)
    return {
        "small-job": texts(printf_job(["hi"])),
        "llm-job-with-its-stack": {**texts(llm_job(), ANNOTATIONS), **stack_units},
        "hostile-args": texts(printf_job(HOSTILE, hint="100% \"hint\"\n[Unit]\\")),
        "hostile-env": texts(env_job([EnvVar(name=f"H{i}", value=lit(h)) for i, h in enumerate(HOSTILE)])),
        "absolute-command": texts(printf_job(["x"], container=Container(
            image=lit("x"), command=(lit("/usr/bin/printf"),), args=(lit("%s"), lit("$y"))))),
        "fractional-cpu": texts(printf_job(["x"], resources=Resources(cpu_millis=333, memory_bytes=1))),
        "stack": stack_units,
        "empty-stack": texts(Stack(name="empty", file="empty.stack.toml")),
    }


@pytest.mark.parametrize("case", sorted(cases()))
def test_units_pass_systemd_analyze_verify(case, tmp_path):
    """``systemd-analyze verify`` loads each unit with systemd's parser (unknown keys,
    bad quoting, bad escapes, unknown specifiers, missing executables all print) and
    says nothing."""
    done = verify(cases()[case], tmp_path)
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr


def test_verify_does_complain_about_a_broken_unit(tmp_path):
    """The check above can fail: verify reports unbalanced quotes, unknown escapes and
    unknown specifiers on stderr."""
    bad = "[Service]\nType=oneshot\nExecStart=/usr/bin/env echo \"a\\qb\" %y 'open\n"
    done = verify({"bad.service": bad}, tmp_path)
    assert done.stderr != ""


def test_output_is_deterministic_with_header():
    a, _ = render(llm_job(), ANNOTATIONS)
    b, _ = render(llm_job(), ANNOTATIONS)
    assert a == b
    f = a["b00t-llm-batch-job.service"]
    assert f.mode == 0o644
    assert f.content.startswith("# Generated by b00tc from llm-batch-job.job.toml. Do not edit.\n")
    assert f.content.endswith("\n") and not f.content.endswith("\n\n")
    assert "# b00t.io/budget-daily-limit: 50.0\n" in f.content


def test_registry():
    assert isinstance(get_backend("systemd"), SystemdBackend)
    assert (SystemdBackend.name, SystemdBackend.aliases, SystemdBackend.KEEPS_HOST_VARS) == (
        "systemd", (), False)


# ---------------------------------------------------------------------------
# Hostile values: the reference reader, systemd's parser, and running the result


def test_exec_start_round_trips_hostile_args_and_runs(tmp_path):
    """Read back with the documented rules, ExecStart is /usr/bin/env printf '%s\\0' and
    every hostile literal; running that argv prints exactly the literals."""
    unit = Parsed(texts(printf_job(HOSTILE))["b00t-dump.service"])
    ((prefix, argv),) = unit.exec("ExecStart")
    assert prefix == ""
    assert argv == ["/usr/bin/env", "printf", "%s\\0", *HOSTILE]
    done = subprocess.run(argv, capture_output=True, env={"PATH": "/usr/bin:/bin"})
    assert nul_split(done.stdout) == HOSTILE


def test_environment_round_trips_hostile_values(tmp_path):
    """Environment= read back with the documented rules gives each literal; the job run
    with that environment (as systemd would start it) sees exactly those values."""
    env = {f"H{i}": h for i, h in enumerate(HOSTILE)}
    unit = Parsed(texts(env_job([EnvVar(name=k, value=lit(v)) for k, v in env.items()]))["b00t-envdump.service"])
    assert unit.env == env
    ((_, argv),) = unit.exec("ExecStart")
    done = subprocess.run(argv, capture_output=True, env={**unit.env, "PATH": "/usr/bin:/bin"})
    got = dict(item.split("=", 1) for item in nul_split(done.stdout))
    assert {k: got[k] for k in env} == env


def test_systemd_itself_parses_hostile_values_the_same_way():
    """systemd 252's own loader (``systemd --test``) yields the argv the reference reader
    yields (its dump is before run-time ``$$`` expansion, so that step is the documented
    one) and the environment values byte for byte. PID 1 is not systemd here: this is
    systemd's parser, not a started service."""
    units = texts(printf_job(HOSTILE))
    dump = systemd_dump(units, "b00t-dump.service")
    (argv,) = dump_commands(dump)["ExecStart"]
    assert [dollars(a) for a in argv] == ["/usr/bin/env", "printf", "%s\\0", *HOSTILE]

    env = {f"H{i}": h for i, h in enumerate(HOSTILE)}
    units = texts(env_job([EnvVar(name=k, value=lit(v)) for k, v in env.items()]))
    dump = systemd_dump(units, "b00t-envdump.service")
    for k, v in env.items():
        assert f"\t\tEnvironment: {k}={v}\n" in dump, k


def test_systemd_reads_the_llm_job_like_the_reference():
    units = texts(llm_job(), ANNOTATIONS)
    # systemd refuses to load a job whose Requires= units are missing: write them too
    dump = systemd_dump({**units, **texts(pipeline_stack())}, "b00t-llm-batch-job.service")
    ref = Parsed(units["b00t-llm-batch-job.service"])
    commands = dump_commands(dump)
    for key in ("ExecStart", "ExecStartPre"):
        assert [[dollars(a) for a in argv] for argv in commands[key]] == [a for _, a in ref.exec(key)]
    assert "Description: Batch inference job for LLM pipeline\n" in dump
    assert "\t\tType: oneshot\n" in dump


# ---------------------------------------------------------------------------
# The job unit's structure


def test_job_unit_structure():
    """[Unit] orders after and requires every member unit of the required stack; the
    service is oneshot; cpu 2 -> CPUQuota=200% (percent of one CPU), 8Gi -> MemoryMax in
    bytes; the reference becomes localhost:<host port>; two GPUs -> devices 0,1; it is
    never installed into a boot target; annotations are comments, and one holding newlines and
    a fake section stays a comment (the reader finds no second ExecStart)."""
    unit = Parsed(texts(llm_job(), ANNOTATIONS)["b00t-llm-batch-job.service"])
    members = "b00t-llm-inference-pipeline-n8n.service b00t-llm-inference-pipeline-python.service"
    assert unit.one("Unit", "Description") == "Batch inference job for LLM pipeline"
    assert unit.one("Unit", "After") == f"network-online.target {members}"
    assert unit.one("Unit", "Wants") == "network-online.target"
    assert unit.one("Unit", "Requires") == members
    assert unit.one("Service", "Type") == "oneshot"
    assert unit.one("Service", "CPUQuota") == "200%"
    assert unit.one("Service", "MemoryMax") == str(8 * GiB)
    assert unit.env == {"MODEL_ENDPOINT": "http://localhost:5678", "BATCH_SIZE": "32",
                        "CUDA_VISIBLE_DEVICES": "0,1"}
    assert [a for _, a in unit.exec("ExecStart")] == [
        ["/usr/bin/env", "python", "-m", "batch_processor"]]
    # issue 15: no [Install]: enabled, WantedBy=multi-user.target ran the job at every boot
    assert not [e for e in unit.entries if e[0] == "Install"]
    pre = [a for _, a in unit.exec("ExecStartPre")]
    assert [a[:4] for a in pre] == [["/usr/bin/env", "-i", "/bin/bash", "-c"]] * 3
    assert "nvidia-smi -L" in pre[0][4] and "gpus < 2" in pre[0][4]
    assert "/dev/tcp/127.0.0.1/5678" in pre[1][4] and "/dev/tcp/127.0.0.1/8000" in pre[2][4]


@pytest.mark.parametrize("millis, quota", [(1000, "100%"), (1500, "150%"), (250, "25%"),
                                           (333, "33.3%"), (1, "0.1%")])
def test_cpu_quota_is_millicores_over_ten_percent(millis, quota):
    """systemd.resource-control(5): "CPUQuota=20% ensures that the executed processes will
    never get more than 20% CPU time on one CPU": 1000 millicores is 100%."""
    unit = Parsed(texts(printf_job(["x"], resources=Resources(cpu_millis=millis)))["b00t-dump.service"])
    assert unit.one("Service", "CPUQuota") == quota


def test_absolute_command_is_run_directly_and_dash_command_through_env():
    unit = Parsed(texts(printf_job(["x"], container=Container(
        image=lit("x"), command=(lit("/usr/bin/printf"),), args=(lit("%s"),))))["b00t-dump.service"])
    assert [a for _, a in unit.exec("ExecStart")] == [["/usr/bin/printf", "%s"]]
    unit = Parsed(texts(printf_job(["x"], container=Container(
        image=lit("x"), command=(lit("-tool"),))))["b00t-dump.service"])
    assert [a for _, a in unit.exec("ExecStart")] == [["/usr/bin/env", "--", "-tool"]]


def test_host_vars_are_read_from_the_env_file():
    """No unit holds a host variable's value: the env entries that use one are lines of
    /etc/b00t/b00t-<job>.env, resolved by ``b00tc env`` (b00tc.envfiles) from its environment
    with shell semantics (an unset one without default is E0401 there, never at build
    time); a command word that uses one is ``${B00T_ARG_<i>}``, a word of its own."""
    job = env_job([
        EnvVar(name="A", value=V("<", HostVar(name="SET"), ">")),
        EnvVar(name="B", value=V(HostVar(name="UNSET", op=":-", arg="d%$"))),
        EnvVar(name="C", value=V(HostVar(name="EMPTY", op="-", arg="d"))),
        EnvVar(name="D", value=lit("plain")),
    ])
    text = texts(job, env={"SET": "secret-value"})["b00t-envdump.service"]
    assert "secret-value" not in text
    unit = Parsed(text)
    assert unit.get("Service", "EnvironmentFile") == ["/etc/b00t/b00t-envdump.env"]
    assert environment(unit.get("Service", "Environment")) == {"D": "plain"}
    files = env_files(job, {"SET": 'v "%h" $x\n#\\', "EMPTY": ""})
    unit = Parsed(text, env_files=files)
    assert unit.env == {"A": '<v "%h" $x\n#\\>', "B": "d%$", "C": "", "D": "plain"}
    files, ctx = render(env_job([EnvVar(name="A", value=V(HostVar(name="NOPE"), path="$.env.A"))]))
    assert not ctx.diagnostics
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_files

    diags = Diagnostics()
    assert resolve_files(ctx.env_files, {}, diags) is None
    (d,) = diags
    assert (d.code, d.path, d.is_error) == ("E0401", "$.env.A", True)


def test_host_vars_in_command_words_refer_to_the_env_file(tmp_path):
    """Every word and the program itself: ``${B00T_ARG_<i>}``; the program then runs
    through ``/usr/bin/env --`` (a value with a leading ``-`` is the program, as GNU env
    reads it after ``--``; ``b00tc env`` refuses a program with ``=``, which env still
    reads as an assignment there: ``env -- A=b printenv A`` prints b)."""
    job = printf_job(["x"], container=Container(
        image=V("img:", HostVar(name="TAG")),
        command=(V(HostVar(name="PROG", op=":-", arg="/usr/bin/printf")),),
        args=(lit("[%s]"), V("a ", HostVar(name="ARG"), " b"), lit("$x"))))
    text = texts(job, env={"ARG": "nope"})["b00t-dump.service"]
    assert "nope" not in text and "img:${TAG}" in text  # the image only in the header comment
    unit = Parsed(text, env_files=env_files(job, {"ARG": "1 \"2\" $3\n'4'"}))
    ((_, argv),) = unit.exec("ExecStart")
    assert argv == ["/usr/bin/env", "--", "/usr/bin/printf", "[%s]", "a 1 \"2\" $3\n'4' b", "$x"]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.stdout == "[a 1 \"2\" $3\n'4' b][$x]"
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_files

    _, ctx = render(job)
    diags = Diagnostics()
    assert resolve_files(ctx.env_files, {"PROG": "A=b", "ARG": ""}, diags) is None
    assert [d.code for d in diags] == ["E0601"]
    assert resolve_files(ctx.env_files, {"PROG": "-x", "ARG": ""}, diags := Diagnostics()) is not None
    assert diags == []


@pytest.mark.parametrize("value", [
    "", " lead and trail ", "a\nb\r\n", "\\", "\\\n", "\\n", '"', "'", "`x`", "$x ${y} $$",
    "# not a comment", "; nor this", "a=b=c", "\t", "\x01\x7f\u0085\u00e9\u2028", "x\\",
])
def test_env_file_lines_read_back_exactly(value):
    """``env_line`` read with the documented rule (``read_env_file``)."""
    from b00tc.backends._envfile import env_line

    text = "# /etc/b00t/x.env\n" + env_line("A", value) + "\n" + env_line("B", "next") + "\n"
    assert read_env_file(text) == {"A": value, "B": "next"}


def test_env_file_noncharacter_and_nul_are_errors():
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_files

    _, ctx = render(env_job([EnvVar(name="A", value=V(HostVar(name="X")))]))
    for bad in ("a\ufdd0", "a\x00b"):
        diags = Diagnostics()
        assert resolve_files(ctx.env_files, {"X": bad}, diags) is None
        assert [d.code for d in diags] == ["E0601"]


def test_job_errors():
    files, ctx = render(Job(name="nocmd", file="nocmd.job.toml",
                            container=Container(image=lit("x"), path="$.b00t.container")))
    assert files == {} and [(d.code, d.path) for d in ctx.diagnostics] == [("E0107", "$.b00t.container")]
    files, ctx = render(printf_job([lit("a\0b", path="$.args[0]")]))
    assert files == {} and [(d.code, d.path) for d in ctx.diagnostics] == [("E0601", "$.args[0]")]
    files, ctx = render(printf_job([], container=Container(
        image=lit("x"), command=(lit("A=b", path="$.command[0]"),))))
    assert files == {} and [(d.code, d.path) for d in ctx.diagnostics] == [("E0601", "$.command[0]")]


def test_gpu_model_is_reported_as_not_expressible():
    _, ctx = render(llm_job())
    assert [(d.code, d.path) for d in ctx.diagnostics] == [("W0301", "$.b00t.resources.gpu_type")]
    assert "model a100" in ctx.diagnostics[0].message


# ---------------------------------------------------------------------------
# ExecStartPre, run: the wait loop and the GPU check


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_argv(port: int, timeout: int) -> list[str]:
    job = printf_job(["x"], wait_for=(WaitFor(stack="s", service="svc", port=80, host_port=port,
                                              member="svc"),))
    unit = Parsed(texts(job, wait_timeout=timeout)["b00t-dump.service"])
    ((prefix, argv),) = unit.exec("ExecStartPre")
    assert prefix == ""
    return argv


def test_wait_exec_start_pre_waits_for_a_real_listener():
    """The ExecStartPre argv, read back and run: it retries until a listener appears
    1.5 s later, then succeeds."""
    port = free_port()
    argv = wait_argv(port, 20)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def listen():
        listener.bind(("127.0.0.1", port))
        listener.listen(8)

    timer = threading.Timer(1.5, listen)
    start = time.monotonic()
    timer.start()
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30)
    finally:
        timer.cancel()
        listener.close()
    assert done.returncode == 0, done.stderr
    assert f"b00tc: waiting for svc (localhost:{port})" in done.stderr.decode()
    assert time.monotonic() - start >= 1.4


def test_wait_exec_start_pre_times_out():
    """Nobody listens and the timeout is 2 s: exit 1 with the message, within bounds."""
    port = free_port()
    argv = wait_argv(port, 2)
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, timeout=30)
    assert done.returncode == 1
    assert f"b00tc: timed out after 2 s waiting for svc at localhost:{port}" in done.stderr.decode()
    assert 1.5 <= time.monotonic() - start < 10


@pytest.mark.parametrize("listed, code", [(1, 1), (2, 0)])
def test_gpu_exec_start_pre_counts_gpus(listed, code, tmp_path):
    """The GPU check, read back and run under bash with a fake nvidia-smi first on PATH
    (the unit runs it with ``env -i``; here the PATH is set so the fake is found)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "nvidia-smi"
    tool.write_text("#!/bin/sh\n" + "".join(f"echo 'GPU {i}: A100'\n" for i in range(listed)))
    tool.chmod(0o755)
    unit = Parsed(texts(llm_job(wait_for=()))["b00t-llm-batch-job.service"])
    ((_, argv),) = unit.exec("ExecStartPre")
    assert argv[:2] == ["/usr/bin/env", "-i"]
    done = subprocess.run(argv[2:], capture_output=True, env={"PATH": f"{bindir}:/usr/bin:/bin"})
    assert done.returncode == code
    if code:
        assert "llm-batch-job needs 2 NVIDIA GPU(s); nvidia-smi -L lists 1" in done.stderr.decode()


# ---------------------------------------------------------------------------
# Stack units


def test_stack_files_and_target():
    """One service per member named b00t-<stack>-<member>, and b00t-<stack>.target that
    wants them all; the target records what no member unit carries (skipped members)."""
    units = texts(pipeline_stack(), ANNOTATIONS)
    assert sorted(units) == [
        "b00t-llm-inference-pipeline-n8n.service",
        "b00t-llm-inference-pipeline-python.service",
        "b00t-llm-inference-pipeline.target",
    ]
    target = Parsed(units["b00t-llm-inference-pipeline.target"])
    assert target.one("Unit", "Wants") == (
        "b00t-llm-inference-pipeline-n8n.service b00t-llm-inference-pipeline-python.service")
    assert target.one("Unit", "Description") == "LLM inference services"
    assert target.one("Install", "WantedBy") == "multi-user.target"
    assert "# python.cli: not a container datum, skipped\n" in units["b00t-llm-inference-pipeline.target"]


def test_member_unit_runs_docker_with_exact_argv():
    """Read back: docker rm -f may fail (``-`` prefix) before docker run --rm; the run's
    argv has the name, labels, ports, volumes (``~`` as %h, the manager's home), ``-e
    NAME`` for values that come from Environment= (quoted once, by systemd) and ``-e
    NAME=value`` for variables the docker CLI itself reads (DOCKER_HOST, PATH); the
    restart policy is systemd's."""
    units = texts(pipeline_stack(), ANNOTATIONS)
    unit = Parsed(units["b00t-llm-inference-pipeline-n8n.service"], home="/root",
                  env_files=env_files(pipeline_stack(), annotations=ANNOTATIONS))
    # N8N_HOST is ${N8N_HOST:-localhost}: from the member's environment file
    assert unit.get("Service", "EnvironmentFile") == ["/etc/b00t/b00t-llm-inference-pipeline-n8n.env"]
    assert "N8N_HOST" not in environment(unit.get("Service", "Environment"))
    # the stack's members share a docker network (created once; later creates fail and
    # are ignored), where each answers to its member name
    assert unit.exec("ExecStartPre") == [
        ("-", ["/usr/bin/env", "docker", "network", "create", "--label", "app.kubernetes.io/managed-by=b00tc",
               "--label", "app.kubernetes.io/part-of=llm-inference-pipeline", "b00t-llm-inference-pipeline"]),
        ("-", ["/usr/bin/env", "docker", "rm", "-f", "llm-inference-pipeline-n8n"]),
    ]
    ((_, run),) = unit.exec("ExecStart")
    assert run == [
        "/usr/bin/env", "docker", "run", "--rm",
        "--name", "llm-inference-pipeline-n8n",
        "--network", "b00t-llm-inference-pipeline", "--network-alias", "n8n",
        "--label", "app.kubernetes.io/name=n8n",
        "--label", "app.kubernetes.io/part-of=llm-inference-pipeline",
        "--label", "app.kubernetes.io/managed-by=b00tc",
        "--label", "b00t.io/datum=n8n.docker",
        "-p", "5678:5678",
        "-v", "/root/.n8n:/home/node/.n8n",
        "-v", "n8n_data:/data:ro",
        "-e", "N8N_HOST",
        "-e", "N8N_PORT",
        "-e", "HOSTILE",
        "-e", "DOCKER_HOST=unix:///x y",
        "-e", "PATH=/opt/n8n/bin:/usr/bin",
        "n8nio/n8n:latest",
    ]
    assert unit.env == {"N8N_HOST": "localhost", "N8N_PORT": "5678", "HOSTILE": "a b'c\"$d%h\n`e`\\"}
    assert unit.exec("ExecStop") == [("", ["/usr/bin/env", "docker", "stop",
                                          "llm-inference-pipeline-n8n"])]
    assert unit.one("Service", "Restart") == "always"
    assert unit.one("Unit", "PartOf") == "b00t-llm-inference-pipeline.target"
    assert unit.one("Install", "WantedBy") == "b00t-llm-inference-pipeline.target"
    assert specifiers(unit.one("Unit", "Description")) == "n8n: 100% workflow automation"


def test_member_with_entrypoint_resources_and_gpu():
    unit = Parsed(texts(pipeline_stack())["b00t-llm-inference-pipeline-python.service"])
    ((_, run),) = unit.exec("ExecStart")
    assert run[run.index("-p"):] == [
        "-p", "8000:8000",
        "-p", "127.0.0.1:5353:53/udp",
        "--cpus", "0.5",
        "--memory", str(GiB),
        "--gpus", "1",
        "--entrypoint", "python",
        "python:3.11", "-m", "http.server", "8000",
    ]
    assert unit.one("Service", "Restart") == "on-failure"


@pytest.mark.parametrize("docker, systemd", [("always", "always"), ("unless-stopped", "always"),
                                             ("on-failure", "on-failure"), ("on-failure:5", "on-failure"),
                                             ("no", "no"), ("", "no")])
def test_restart_mapping(docker, systemd):
    stack = pipeline_stack(members=(Member(name="m", datum="m.docker", file="m.docker.toml",
                                           container=Container(image=lit("i")), restart=docker),),
                           services=())
    unit = Parsed(texts(stack)["b00t-llm-inference-pipeline-m.service"])
    assert unit.one("Service", "Restart") == systemd


def test_member_exec_start_runs_docker_with_the_values(tmp_path):
    """The member's ExecStart, read back and run with the unit's environment, reaches a
    fake docker: the values of ``-e NAME`` are in its environment byte for byte, and the
    docker CLI's own PATH is not the container's."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    out = tmp_path / "out"
    fake = bindir / "docker"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > {out}.argv\n/usr/bin/env -0 > {out}.env\n")
    fake.chmod(0o755)
    unit = Parsed(texts(pipeline_stack())["b00t-llm-inference-pipeline-n8n.service"],
                  env_files=env_files(pipeline_stack(), {"N8N_HOST": "h o\"st"}))
    ((_, argv),) = unit.exec("ExecStart")
    done = subprocess.run(argv, env={**unit.env, "PATH": f"{bindir}:/usr/bin:/bin"},
                          capture_output=True)
    assert done.returncode == 0, done.stderr
    got_env = dict(i.split("=", 1) for i in nul_split(Path(f"{out}.env").read_bytes()))
    got_argv = nul_split(Path(f"{out}.argv").read_bytes())
    for name in [got_argv[i + 1] for i, a in enumerate(got_argv) if a == "-e"]:
        if "=" not in name:
            assert got_env[name] == unit.env[name]
    assert got_env["HOSTILE"] == "a b'c\"$d%h\n`e`\\"
    assert got_env["N8N_HOST"] == "h o\"st"
    assert got_env["PATH"].startswith(str(bindir))


def test_stack_warnings():
    stack = pipeline_stack(
        resources=Resources(cpu_millis=4000, memory_bytes=16 * GiB, cpu="4", memory="16Gi",
                            path="$.b00t.resources"),
        members=(Member(name="m", datum="m.docker", file="m.docker.toml",
                        container=Container(image=lit("i")),
                        mounts=(Mount(source="~bob/x", target="/x", kind="bind", path="$.v[0]"),),
                        resources=Resources(gpu=Gpu(count=1, model="a100", type_path="$.gpu"))),),
        services=(ServiceDecl(name="ghost", port=1, path="$.s.ghost"),),
    )
    units = texts(stack)
    got = [(d.code, d.path) for d in render(stack)[1].diagnostics]
    assert got == [("W0103", "$.s.ghost"), ("W0301", "$.b00t.resources"), ("W0301", "$.v[0]"),
                   ("W0301", "$.gpu")]
    assert "stack-level resources (not applied to any member): cpu 4, memory 16Gi" in \
        units["b00t-llm-inference-pipeline.target"]


def test_stack_units_are_parsed_by_systemd_like_the_reference():
    units = texts(pipeline_stack(), ANNOTATIONS)
    for name in ("b00t-llm-inference-pipeline-n8n.service", "b00t-llm-inference-pipeline-python.service"):
        dump = systemd_dump(units, name)
        home = re.search(r"-v (\S*)/\.n8n:", dump)
        ref = Parsed(units[name], home=home.group(1) if home else "/root",
                     env_files=env_files(pipeline_stack(), annotations=ANNOTATIONS))
        run_env = {**ref.env, **ref.file_env}  # what systemd expands ${B00T_...} from at start
        commands = dump_commands(dump)
        for key in ("ExecStartPre", "ExecStart", "ExecStop"):
            assert [[dollars(a, run_env) for a in argv] for argv in commands[key]] == [a for _, a in ref.exec(key)]
        for k, v in environment(ref.get("Service", "Environment")).items():
            assert f"\t\tEnvironment: {k}={v}\n" in dump
        for path in ref.get("Service", "EnvironmentFile"):
            assert re.search(rf"\t\tEnvironmentFile: {re.escape(path)}\b", dump), dump


def test_a_value_baked_anyway_is_w0302():
    """The safety net: a value with a host variable that reaches the unit's text is
    resolved at build time and said as W0302 (no place of a unit does that today)."""
    from b00tc.backends.systemd import _text

    ctx = Context(target="systemd", env={"X": "v"})
    assert _text(V("a", HostVar(name="X"), path="$.x"), ctx, "f.toml") == "av"
    assert [(d.code, d.path) for d in ctx.diagnostics] == [("W0302", "$.x")]
    assert "host variable X in $.x is resolved at build time" in ctx.diagnostics[0].message


def test_each_member_has_its_own_env_file():
    """A member's values are in its own file, never in another member's."""
    from b00tc.ir import Container, Member

    members = tuple(
        Member(name=n, datum=f"{n}.docker", file=f"{n}.docker.toml",
               container=Container(image=V("img:", HostVar(name=f"{n.upper()}_TAG"))),
               env=(EnvVar(name="SECRET", value=V(HostVar(name=f"{n.upper()}_SECRET"))),))
        for n in ("a", "b"))
    stack = pipeline_stack(members=members, services=(), skipped=())
    files = env_files(stack, {"A_TAG": "1", "A_SECRET": "sa", "B_TAG": "2", "B_SECRET": "sb"})
    assert files == {
        "/etc/b00t/b00t-llm-inference-pipeline-a.env": {"SECRET": "sa", "B00T_IMAGE": "img:1"},
        "/etc/b00t/b00t-llm-inference-pipeline-b.env": {"SECRET": "sb", "B00T_IMAGE": "img:2"},
    }
    units = texts(stack)
    unit = Parsed(units["b00t-llm-inference-pipeline-b.service"], env_files=files)
    ((_, run),) = unit.exec("ExecStart")
    assert run[-1] == "img:2" and unit.env == {"SECRET": "sb"}


def test_b00t_names_of_the_env_file_are_not_the_datums():
    job = printf_job([V(HostVar(name="X"))], env=(EnvVar(name="B00T_ARG_2", value=lit("mine"), path="$.env.B00T_ARG_2"),))
    files, ctx = render(job)
    assert [(d.code, d.path) for d in ctx.diagnostics if d.is_error] == [("E0601", "$.env.B00T_ARG_2")]
    ok = printf_job([V(HostVar(name="X"))], env=(EnvVar(name="B00T_ARG_1", value=lit("mine")),))
    assert texts(ok)
