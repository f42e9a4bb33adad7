"""Front-end fuzzing: whatever bytes a datum file holds, b00tc exits 1 with located
diagnostics or 0 with complete output files; never a traceback, never a hang, never a
partial output file.

What is fuzzed (each strategy is one hypothesis test below):

- ``random bytes``: arbitrary bytes, bytes after a valid ``[b00t]`` header, and "token
  soup" (random sequences of TOML and datum tokens, which get past the TOML parser far
  more often than random bytes do);
- ``truncated``: every real and example datum (tests/data/b00t-datums, tests/data/canonical,
  examples, tests/cases) cut at a random byte offset, which also splits UTF-8 sequences;
- ``byte mutations``: a real datum with random bit flips, byte insertions, deletions and
  overwrites with TOML-significant bytes;
- ``structural mutations``: a real datum with lines deleted, duplicated, swapped or
  borrowed from another datum, table headers and keys renamed, string values replaced
  by (or spliced with) hostile strings (``${``, ``$<STACK:``, ``${STACK:a:b:c}``, ``%{``,
  NUL, very long strings, look-alike Unicode digits, ...), numbers replaced by strings,
  tables, arrays, huge or very long numbers;
- ``generated``: datums generated from the key table of b00tc.frontend.spec, with valid,
  hostile and wrongly typed values, so that the passes and every backend see many shapes.

Each datum is written to ``<name>.<type>.toml`` (the name and type its content says, when
they are still readable and usable as a file name), to its original file name, to a name
that disagrees with its content, or to a plain ``<x>.toml``. The datum search path is the
datum's own folder, then the folder the datum came from, then every folder of real datums,
so that members and required stacks resolve as they do in the repository.

The in-process examples drive exactly the code path of ``b00tc build --target all -o DIR``
(``compiler.build`` + ``output.report`` + ``output.write_tree``; random bytes, structural
mutations and generated datums also with ``--strict`` half of the time) and check:

- no exception (a traceback on the command line is exit 2 "internal error"), and each
  example finishes within the hypothesis deadline (2 s; a SIGALRM guard turns a real hang
  into a failure instead of a stuck run);
- the exit code ``report`` returns is 1 exactly when there is an error, else 0;
- every error diagnostic renders (text, JSON and GitHub formats) with ``--> file:line:col``,
  the source line and a caret under it, and the line shown is the line of the file at that
  number; the only errors allowed without a location are listed in ``UNLOCATED_OK``;
- with exit 0: output paths are unique and stay inside the output folder, ``write_tree``
  writes exactly them (the pre-existing file is kept, no temporary file is left) and every
  file is complete: YAML parses with ``yaml.safe_load_all``; for one example in
  ``DEEP_EVERY`` Nomad HCL also parses with ``hcl2.loads``, bash scripts pass ``bash -n``
  and systemd units have only sections, ``Key=Value`` lines and comments.

A few examples also run as a real subprocess (``python -m b00tc build FILE --target all
-o DIR -I ...``, with this repository first on PYTHONPATH: the installed b00tc may be
another copy): exit code 0 or 1 and the same as in-process, nothing on stdout, no
"Traceback" nor "internal error" on stderr, every error block of stderr located, the output
folder exactly as it was on exit 1 (it holds a dated file beforehand) and every output file
complete on exit 0 (all the deep checks).

Every bug this fuzzer found (8: crashes on huge numbers and non-ASCII digits, a hang on a
huge GPU count, lost precision, five ways a diagnostic was located wrongly) is fixed; their
minimal reproducers stay at the end of this file as regression tests (``test_fixed_*``).
A new known bug can be parked the way they were: an ``xfail(strict=True)`` reproducer, plus
an entry in ``KNOWN_CRASHES`` (exception, message, innermost b00tc frame) or ``known_hang``
so that the fuzz tests stay green while they look for the next one.

Running longer
--------------
By default each hypothesis test runs a fixed number of derandomized examples (reproducible
in CI; the whole file takes about 20-30 s on 2 cores): random bytes 600, truncated 25 per
datum (27 datums: 675), byte mutations 600, structural mutations 800, generated datums
500, subprocess 10 (plus 8 fixed subprocess cases). Set ``B00TC_FUZZ_EXAMPLES=N`` to run N
examples per in-process strategy (per datum for ``truncated``; N // 25 + 4 for the
subprocess test) with a fresh random seed each run::

    B00TC_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py -q --hypothesis-show-statistics

``--hypothesis-show-statistics`` shows what each strategy reached (exit codes and first
error code, mutation kinds, known bugs hit). A failure prints the failing input and a
``@reproduce_failure`` blob.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zlib
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import tomli
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from b00tc.compiler import BuildRequest, build
from b00tc.diagnostics import render_github, render_text, resolve_span, split, to_json
from b00tc.frontend import spec as S
from b00tc.output import report, write_tree
from tests.helpers import GOLDEN_ENV, TARGETS

ROOT = Path(__file__).resolve().parent.parent
DATUM_DIRS = [
    ROOT / "tests" / "data" / "b00t-datums",
    ROOT / "tests" / "data" / "canonical",
    ROOT / "examples",
    ROOT / "tests" / "cases",
]
DATUMS = sorted(p for d in DATUM_DIRS for p in d.glob("*.toml"))
DATUM_BYTES = {p: p.read_bytes() for p in DATUMS}
SEARCH = [str(d) for d in DATUM_DIRS]


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


# ---------------------------------------------------------------------------
# Settings: small and derandomized by default, long and random on request

FUZZ_N = int(os.environ.get("B00TC_FUZZ_EXAMPLES", "0") or 0)

#: deep checks (hcl2, bash -n, systemd) for one exit-0 example in DEEP_EVERY (in-process)
DEEP_EVERY = 2
#: an in-process example still running after this many seconds is a hang
HANG_SECONDS = 15
SUBPROCESS_TIMEOUT = 60


def fuzz_settings(
    default: int, long: int | None = None, deadline: timedelta | None = timedelta(seconds=2)
):
    """``default`` examples, derandomized; with B00TC_FUZZ_EXAMPLES=N, ``long`` (N unless
    given) random ones."""
    return settings(
        max_examples=(FUZZ_N if long is None else long) if FUZZ_N else default,
        deadline=deadline,
        derandomize=not FUZZ_N,
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


def event(what: str) -> None:
    """hypothesis.event, also callable from plain tests (where it does nothing)."""
    if currently_in_test_context():
        _event(what)


# ---------------------------------------------------------------------------
# Known bugs (none open). A parked bug has an xfail(strict=True) reproducer at the end of
# this file; delete its entry together with the marker when it is fixed.

#: (reproducer test, exception type, regex on the message, regex on the innermost b00tc
#: frame as "package/file.py:function")
KNOWN_CRASHES: list[tuple[str, type, str, str]] = []  # all found so far are fixed


def b00tc_frame(exc: BaseException) -> str:
    """``module/file.py:function`` of the innermost frame in the b00tc package."""
    import traceback

    package = str(ROOT / "b00tc") + os.sep
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(package):
            where = f"{frame.filename[len(package) :]}:{frame.name}"
    return where


def known_crash(exc: BaseException) -> str | None:
    where = b00tc_frame(exc)
    for name, kind, pattern, frame in KNOWN_CRASHES:
        if isinstance(exc, kind) and re.search(pattern, str(exc)) and re.match(frame, where):
            return name
    return None


#: a gpu_count above this makes the bash and systemd backends enumerate every GPU index
#: (test_known_huge_gpu_count_hangs): such inputs are not run, so that a known hang does
#: not eat the machine's memory
HUGE_GPU_COUNT = 100_000


def known_hang(data: bytes) -> str | None:
    return None  # gpu_count is bounded (1024) since the fix; kept for the next known hang
    try:
        doc = tomli.loads(data.decode("utf-8"))
    except Exception:  # noqa: BLE001 - not UTF-8, not TOML, or tomli's ValueError on huge integers
        return None

    def huge(node) -> bool:
        if isinstance(node, dict):
            for key, val in node.items():
                if key in ("gpu_count", "count") and type(val) is int and val > HUGE_GPU_COUNT:
                    return True
                if huge(val):
                    return True
        elif isinstance(node, list):
            return any(huge(x) for x in node)
        return False

    return "test_known_huge_gpu_count_hangs" if huge(doc) else None


# ---------------------------------------------------------------------------
# Writing a fuzzed datum

SAFE_FILE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}")
SAFE_TYPE = re.compile(r"[A-Za-z0-9_-]{1,40}")
NAME_MODES = ("consistent", "consistent", "original", "mismatch", "plain")


def content_name(data: bytes) -> tuple[str, str] | None:
    """``(name, type)`` as the datum's content says, when readable and usable in a file name."""
    try:
        doc = tomli.loads(data.decode("utf-8"))
    except Exception:  # noqa: BLE001 - not UTF-8, not TOML, or tomli's ValueError on huge integers
        return None
    b00t = doc.get("b00t")
    if not isinstance(b00t, dict):
        return None
    name, kind = b00t.get("name"), b00t.get("type")
    if not (isinstance(name, str) and isinstance(kind, str)):
        return None
    if not (SAFE_FILE_PART.fullmatch(name) and SAFE_TYPE.fullmatch(kind)):
        return None
    return name, kind


def file_name(data: bytes, original: str, mode: str) -> str:
    """The file name a fuzzed datum is written to (see the module doc)."""
    if mode == "plain":
        return "fuzzed.toml"
    said = content_name(data)
    if mode == "consistent" and said:
        return f"{said[0]}.{said[1]}.toml"
    if mode == "mismatch":
        name, kind = said or tuple(original.split(".")[:2])  # type: ignore[misc]
        other = {"job": "stack", "stack": "docker", "docker": "job"}.get(kind, "job")
        return f"{name}-mismatch.{other}.toml" if len(original) % 2 else f"{name}.{other}.toml"
    return original


# ---------------------------------------------------------------------------
# Hangs


class Hang(Exception):
    pass


@contextmanager
def hang_guard(seconds: float = HANG_SECONDS):
    """Turn a hang into an exception (the hypothesis deadline only fires after the example
    returns). Only in the main thread of a platform with SIGALRM."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"b00tc did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------------
# Checking diagnostics

#: errors that may have no file:line:col, and why
UNLOCATED_OK = {
    # a file or folder that cannot be read (or does not exist) has no text to point into
    "E0002": "nothing was read",
    # --set / usage errors are about the command line, not about a file
    "E0901": "about the command line",
}

#: characters that str.splitlines() breaks lines at but TOML (and tomli's line numbers)
#: does not; see test_known_line_separator_shifts_the_source_line
PY_ONLY_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]|\r(?!\n)")


def at_eof_past_last_line(src: str, line: int) -> bool:
    """A position on the empty line after a final newline (or in an empty file): there is
    no source line to show. See test_known_eof_error_has_no_caret."""
    return line > len(src.splitlines()) and line == src.count("\n") + 1


MULTILINE_STRING = re.compile(r'""".*?"""|\'\'\'.*?\'\'\'', re.DOTALL)


def only_implicit(src: str, path: str) -> bool:
    """The table at ``path`` exists only as the prefix of a longer header or dotted key
    (``[b00t.env]`` with no ``[b00t]``): the locator finds no line for it. See
    test_known_implicit_b00t_table_is_not_located."""
    segs = [s for s in split(path) if isinstance(s, str)]
    if not segs:
        return False
    src = MULTILINE_STRING.sub('""', src)  # a header inside a multi-line string is text
    dotted = r"\s*\.\s*".join(re.escape(s) for s in segs)
    own = re.search(rf"(?m)^\s*\[\[?\s*{dotted}\s*\]", src)
    prefix = re.search(rf"(?m)^\s*(\[\[?)?\s*{dotted}\s*\.", src)
    return own is None and prefix is not None


def check_located(d, sources: dict[str, str]) -> str | None:
    """Render one diagnostic in all three formats; for an error, check it is located.
    Returns the name of the known bug's reproducer when the diagnostic hits one (its
    location is then not checked further), else None."""
    text = render_text(d, sources)
    json.dumps(to_json(d, sources))
    gh = render_github(d, sources)
    assert "\n" not in gh, gh
    if not d.is_error or d.code in UNLOCATED_OK:
        return None
    assert d.file, f"error without a file:\n{text}"
    src = sources.get(d.file)
    assert src is not None, f"error about a file whose text was not kept:\n{text}"
    span = resolve_span(d, sources)
    assert span is not None, f"error without a line and column:\n{text}"
    assert span.line >= 1 and span.col >= 1, text
    arrows = re.findall(r"^ *--> (.*):(\d+):(\d+)$", text, re.MULTILINE)
    assert (d.file, str(span.line), str(span.col)) in arrows, (
        f"no --> {d.file}:{span.line}:{span.col}:\n{text}"
    )
    lines = src.split("\n")
    assert span.line <= len(lines), f"line {span.line} is past the end of the file:\n{text}"
    carets = re.findall(r"^ *\| ( *)(\^+)$", text, re.MULTILINE)
    assert carets, f"no caret line:\n{text}"
    shown = re.search(rf"^{span.line} \| (.*)$", text, re.MULTILINE)
    assert shown is not None, f"source line {span.line} not shown:\n{text}"
    actual = lines[span.line - 1].rstrip("\r").replace("\t", " ")
    got = shown.group(1)
    if len(actual) > 200 and got.endswith(" …"):  # a huge line is cut after the caret's region
        assert actual.startswith(got[:-2]) and len(got) - 2 >= min(len(actual), span.col + 80 - 1)
    else:
        assert got == actual, f"shows {got!r}, line {span.line} is {actual!r}:\n{text}"
    assert span.col <= len(actual) + 1, (
        f"column {span.col} past the end of line {actual!r}:\n{text}"
    )
    return None


def known_location_bug(name: str) -> str:
    event(f"known bug: {name}")
    return name


# ---------------------------------------------------------------------------
# Checking output files

SYSTEMD_LINE = re.compile(r"(\[[A-Za-z]+\]|[A-Za-z][A-Za-z0-9]*=.*|[#;].*|)$")


def check_output_file(rel: str, content: str, deep: bool, path: Path | None = None) -> None:
    """``rel`` is target/file. YAML always; HCL, bash and systemd when ``deep``."""
    assert content.endswith("\n"), f"{rel} does not end with a newline"
    if rel.endswith((".yaml", ".yml")):
        docs = [doc for doc in yaml.safe_load_all(content) if doc is not None]
        assert docs and all(isinstance(doc, dict) for doc in docs), rel
    elif not deep:
        return
    elif rel.endswith(".hcl"):
        import hcl2

        parsed = hcl2.loads(content)
        assert parsed.get("job"), rel
    elif rel.endswith(".sh"):
        if path is None:
            r = subprocess.run(
                ["bash", "-n"],
                input=content,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        else:
            r = subprocess.run(
                ["bash", "-n", str(path)], capture_output=True, text=True, timeout=30, check=False
            )
        assert r.returncode == 0, f"bash -n {rel}: {r.stderr}"
    elif rel.endswith((".service", ".target")):
        continued = False
        sections = 0
        for line in content.split("\n"):
            if not continued:
                assert SYSTEMD_LINE.match(line), f"{rel}: not a unit file line: {line!r}"
                sections += line.startswith("[")
            continued = line.endswith("\\") and not line.startswith(("#", ";"))
        assert sections, rel
        assert not continued, f"{rel} ends inside a continued line"
    else:
        raise AssertionError(f"unexpected output file {rel}")


def check_outputs(result, out: Path, deep: bool) -> None:
    """``write_tree`` as the CLI calls it for --target all, and every file complete."""
    rels = [f"{target}/{f.path}" for target, f in result.outputs]
    assert len(rels) == len(set(rels)), f"two outputs share a path: {rels}"
    for rel in rels:
        dest = os.path.realpath(out / rel)
        assert dest.startswith(str(out.resolve()) + os.sep), f"output path escapes -o: {rel}"
    write_tree(str(out), result.outputs, multi=True)
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert on_disk == sorted(rels + ["keep.txt"]), on_disk
    assert (out / "keep.txt").read_text() == "untouched"
    for target, f in result.outputs:
        rel = f"{target}/{f.path}"
        assert (out / rel).read_bytes() == f.content.encode("utf-8"), rel
        assert (out / rel).stat().st_mode & 0o777 == f.mode, rel
        check_output_file(rel, f.content, deep, out / rel)


# ---------------------------------------------------------------------------
# The in-process driver


def compile_in_process(
    data: bytes, name: str, origin: Path | None = None, strict: bool = False
) -> int | None:
    """Build ``data`` written to ``name`` for every target, as the CLI would; check every
    property of the module doc. Returns the exit code (None for a known crash)."""
    tmp = Path(tempfile.mkdtemp(prefix="b00tc-fuzz-"))
    try:
        src_dir = tmp / "in"
        src_dir.mkdir()
        out = tmp / "out"
        out.mkdir()
        (out / "keep.txt").write_text("untouched")
        file = src_dir / name
        file.write_bytes(data)
        hang = known_hang(data)
        if hang:
            event(f"known hang: {hang}")
            return None
        includes = ([str(origin)] if origin is not None else []) + SEARCH
        req = BuildRequest(
            paths=[str(file)],
            targets=list(TARGETS),
            includes=includes,
            host_env=dict(GOLDEN_ENV),
            strict=strict,
        )
        try:
            with hang_guard():
                result = build(req)
                stream = io.StringIO()
                code = report(result.diags, "text", stream)
                for d in result.diags:
                    check_located(d, result.diags.sources)
        except Hang:
            raise
        except Exception as e:
            bug = known_crash(e)
            if bug is None:
                raise
            event(f"known crash: {bug}")
            return None
        assert code == (1 if result.diags.errors else 0)
        assert code in (0, 1)
        if code:
            summary = stream.getvalue().rstrip("\n").rsplit("\n", 1)[-1]
            assert summary.startswith("b00tc: ") and summary.endswith("; nothing written"), summary
            for d in result.diags:
                if d.is_error:
                    event(f"exit 1: {d.code}")
                    break
        else:
            event("exit 0")
            deep = zlib.crc32(data) % DEEP_EVERY == 0
            check_outputs(result, out, deep)
        return code
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Strategies

HEADERS = [
    b"",
    b'[b00t]\nname = "fuzz"\ntype = "job"\n',
    b'[b00t]\nname = "fuzz"\ntype = "stack"\n',
    b'[b00t]\nname = "fuzz"\ntype = "docker"\n',
    b'[b00t]\nname = "fuzz"\ntype = "job"\n[b00t.container]\nimage = "i"\n',
]
RANDOM_NAMES = [
    "fuzz.job.toml",
    "fuzz.stack.toml",
    "fuzz.docker.toml",
    "fuzz.toml",
    "fuzz.mcp.toml",
]

# fmt: off
TOKENS = [
    "[b00t]", "[b00t.container]", "[b00t.env]", "[env]", "[b00t.resources]", "[b00t.services]",
    "[b00t.orchestration]", "[b00t.dependencies]", "[b00t.job]", "[[b00t.usage]]", "[", "]",
    "[[", "]]", "{", "}", ",", ".", "=", " = ", " ", "\t", "\n", "\n", "\r\n", "#", '"', "'",
    '"""', "'''", "\\", "\\u0000", "\\n", "name", "type", "image", "command", "args", "members",
    "docker_args", "cpu", "memory", "gpu_count", "gpu_type", "requires_stacks",
    "wait_for_services", "port", "protocol", "b00t", '"job"', '"stack"', '"docker"', '"fuzz"',
    '"x"', '"n8n.docker"', '"${STACK:llm-inference-pipeline:n8n:endpoint}"', "${", "$<STACK:",
    "STACK:", ":", "$$", "%{", "0", "1", "-1", "1.5", "1e400", "true", "nan", "inf", "A", "é",
    "\u2028", "\x00", "\x7f",
]
# fmt: on


@st.composite
def random_input(draw) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["bytes", "header+bytes", "token soup", "header+soup"]))
    head = draw(st.sampled_from(HEADERS)) if "header" in kind else b""
    if "bytes" in kind:
        body = draw(st.binary(max_size=2048))
    else:
        body = "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=120))).encode("utf-8")
    event(f"random: {kind}")
    return head + body, draw(st.sampled_from(RANDOM_NAMES))


def toml_str(s: str) -> str:
    """A TOML basic string holding exactly ``s``."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# fmt: off
HOSTILE = [
    "", " ", "${", "$<STACK:", "${STACK:a:b:c}", "%{", "%{x}", "%%", "%n %i %h", "{{ .x }}",
    "\x00", "a\x00b", "$$", "$${", "$$$", "$", "${VAR", "${VAR:?}", "${VAR:?boom}",
    "${FUZZ_UNSET_VAR}", "${FUZZ_UNSET_VAR:-default}", "${A:-${B}}", "${:-}", "${1}", "${STACK:}",
    "${STACK:a:b:c:d}", "$<STACK:a:b:port>", "$<STACK:shop:db:host>",
    "${STACK:llm-inference-pipeline:n8n:endpoint}", "${STACK:llm-inference-pipeline:n8n:0}",
    "${STACK:llm-inference-pipeline:n8n:65536}", "${STACK:llm-inference-pipeline:nope:port}",
    "${STACK:llm-inference-pipeline:python:host}", "${STACK:shop:db:endpoint}",
    "${STACK:hostile:echo:protocol}", "${STACK:Bad_Name:x:port}",
    "\n", "\r\n", "\r", "\t", "'", '"', "\\", "`reboot`", "$(reboot)", "; rm -rf /", "'\"$`\\",
    "yes", "no", "on", "null", "~", "0x1F", "1e3", "0o17", "-", "--", "-p", "--gpus", "-v",
    ":", "::", "=", "a" * 64, "x" * 100_000, "${" * 3000, "$" * 10_000, "%" * 5000,
    "\u2028", "\u0085", "\ufeff", "\u202e", "日本語", "🤓", "A", "-x", "x-", "UPPER", "a.b",
    "../../etc/passwd", "/", ".", "..", "python.cli", "n8n.docker", "n8n", "redis.docker",
    "nope.docker", "x.docker.docker", ".docker", "llm-inference-pipeline", "shop", "hostile",
    "gpu_affinity", "queue_based", "nvidia-a100", "amd-", "-a100", "nvidia-", "4Gi", "0",
    "0.0001", "500m", "0m", "1e400", "-1", "9" * 5000, "1Ei", "127.0.0.1:99999:80",
    "8080:80/sctp", "[::1]:80:80", "vol:/x:ro,z", "vol:rel", "NAME=", "=x", "1=x", "all",
    "n8n:5678", "n8n", "n8n:", ":5678", "n8n:0", "n8n:http", "python:8000",
]
# fmt: on


def choice(values: list) -> st.SearchStrategy:
    """``st.sampled_from`` for lists that hold very long strings (its repr, printed in the
    statistics, would hold them all)."""
    values = list(values)
    return st.integers(0, len(values) - 1).map(lambda i: values[i])


#: raw TOML values that replace a number (or any value), by kind
# fmt: off
WRONG_TYPES = [
    '"four"', "{}", "{ a = 1 }", "[]", '[1, "a"]', "[[1]]", "true", "false", "1979-05-27T07:32:00Z",
    "07:32:00", '"${"', '"\\u0000"', "'${'", '"""\nmulti\nline"""',
]
# fmt: on
ODD_NUMBERS = [
    "-1",
    "0",
    "1.5",
    "-0.0",
    "1e308",
    "1e400",
    "inf",
    "-inf",
    "nan",
    "0x7fffffff",
    "0b1",
]
# fmt: off
HUGE_NUMBERS = [
    "9223372036854775807", "-9223372036854775808", "99999999999999999999999", "1" + "0" * 400,
    "1" + "0" * 4300, "1" + "0" * 5000,
]
# fmt: on
raw_values = st.one_of(choice(WRONG_TYPES), choice(ODD_NUMBERS), choice(HUGE_NUMBERS))

#: look-alike digits: decimal digits to str.isdigit(), to \d, or to neither
ODD_DIGITS = ["²", "٣", "３", "𝟘", "½", "⁴", "₀"]
#: very long digit runs: past float range, past int()'s 4300-digit limit
LONG_DIGITS = ["9" * 20, "1" + "0" * 400, "1" * 4301, "7" * 5000]

STRING_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'')
NUMBER_TOKEN = re.compile(r"(?<![\w.\"'$:-])[-+]?\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w\"':-])")
VALUE_TOKEN = re.compile(r"(?m)^(\s*[A-Za-z0-9_.\"'-]+\s*=\s*)(.*)$")
KEY_TOKEN = re.compile(r"(?m)^(\s*)([A-Za-z0-9_-]+)(\s*=)")
HEADER_TOKEN = re.compile(r"(?m)^\s*\[\[?[^\]\n]*\]\]?")

# fmt: off
TABLE_HEADERS = [
    "[b00t]", "[b00t.container]", "[b00t.env]", "[env]", "[b00t.resources]", "[b00t.services]",
    "[b00t.orchestration]", "[b00t.dependencies]", "[b00t.orchestration.resource_requirements]",
    "[b00t.orchestration.gpu_requirements]", "[b00t.orchestration.budget_constraint]",
    "[b00t.job]", "[[b00t.usage]]", "[b00t.learn]", "[b00t.fuzz]", "[fuzz]", "[b00t.env.sub]",
]
# fmt: on


def _spec_keys(table, out: set) -> set:
    for key, sub in table.keys.items():
        out.add(key)
        if isinstance(sub, S.Table):
            _spec_keys(sub, out)
    return out


SPEC_KEYS = sorted(
    set().union(*(_spec_keys(t, set()) for t in S.BY_TYPE.values())) | set(S.INFORMATIONAL)
)
ALL_LINES = sorted(
    {
        line
        for data in DATUM_BYTES.values()
        for line in data.decode("utf-8").split("\n")
        if line.strip()
    }
)

hostile_text = st.one_of(
    choice(HOSTILE),
    st.text(max_size=40),
    st.text(alphabet="${}:<>STACK%abn8-_0123456789 ", max_size=40),
)


def _pick(draw, matches: list):
    return matches[draw(st.integers(0, len(matches) - 1))]


def _splice(text: str, m: re.Match, new: str, group: int = 0) -> str:
    return text[: m.start(group)] + new + text[m.end(group) :]


#: structure-aware mutations, weighted by repetition
MUTATIONS = (
    ["delete line", "duplicate line", "swap lines", "borrow line", "key", "header"]
    + ["string"] * 3
    + ["splice string"] * 3
    + ["digits"] * 2
    + ["number"] * 2
    + ["value"] * 2
)


@st.composite
def mutate_text(draw, text: str) -> str:
    """One structure-aware mutation of a datum's text."""
    op = draw(st.sampled_from(MUTATIONS))
    lines = text.split("\n")
    result = None
    if op in ("delete line", "duplicate line", "swap lines", "borrow line"):
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete line":
            del lines[i]
        elif op == "duplicate line":
            lines.insert(i, lines[i])
        elif op == "swap lines":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(i, draw(st.sampled_from(ALL_LINES)))
        result = "\n".join(lines)
    elif op == "string":
        matches = list(STRING_TOKEN.finditer(text))
        if matches:
            result = _splice(text, _pick(draw, matches), toml_str(draw(hostile_text)))
    elif op == "splice string":
        matches = list(STRING_TOKEN.finditer(text))
        if matches:
            m = _pick(draw, matches)
            try:
                value = tomli.loads("v = " + m.group(0))["v"]
            except tomli.TOMLDecodeError:
                value = m.group(0)[1:-1]
            at = draw(st.integers(0, len(value)))
            result = _splice(text, m, toml_str(value[:at] + draw(hostile_text) + value[at:]))
    elif op == "digits":
        matches = [m for m in STRING_TOKEN.finditer(text) if re.search(r"\d", m.group(0))]
        if matches:
            m = _pick(draw, matches)
            token = m.group(0)
            runs = list(re.finditer(r"\d+", token))
            run = _pick(draw, runs)
            how = draw(st.sampled_from(["odd first", "odd last", "odd all", "long"]))
            if how == "long":
                new = draw(choice(LONG_DIGITS))
            elif how == "odd all":
                new = draw(st.sampled_from(ODD_DIGITS)) * len(run.group(0))
            else:
                k = 0 if how == "odd first" else len(run.group(0)) - 1
                new = run.group(0)[:k] + draw(st.sampled_from(ODD_DIGITS)) + run.group(0)[k + 1 :]
            result = _splice(text, m, token[: run.start()] + new + token[run.end() :])
    elif op == "number":
        matches = list(NUMBER_TOKEN.finditer(text))
        if matches:
            new = draw(st.one_of(raw_values, hostile_text.map(toml_str)))
            result = _splice(text, _pick(draw, matches), new)
    elif op == "value":
        matches = list(VALUE_TOKEN.finditer(text))
        if matches:
            new = draw(st.one_of(raw_values, hostile_text.map(toml_str), toml_values))
            result = _splice(text, _pick(draw, matches), new, 2)
    elif op == "key":
        matches = list(KEY_TOKEN.finditer(text))
        if matches:
            new = draw(
                st.one_of(
                    st.sampled_from(SPEC_KEYS), st.from_regex(r"[a-z_]{1,12}", fullmatch=True)
                )
            )
            result = _splice(text, _pick(draw, matches), new, 2)
    else:  # header
        matches = list(HEADER_TOKEN.finditer(text))
        if matches:
            result = _splice(text, _pick(draw, matches), draw(st.sampled_from(TABLE_HEADERS)))
    if result is None:  # nothing of that kind in this datum: delete a line instead
        i = draw(st.integers(0, len(lines) - 1))
        del lines[i]
        result = "\n".join(lines)
    event(f"structural: {op}")
    return result


datum_paths = st.sampled_from(DATUMS)


@st.composite
def truncated_input(draw, path: Path) -> tuple[bytes, str]:
    data = DATUM_BYTES[path]
    cut = draw(st.integers(0, len(data)))
    mode = draw(st.sampled_from(NAME_MODES))
    return data[:cut], file_name(data[:cut], path.name, mode)


INTERESTING_BYTES = b"\x00\xff\x80\xc3\"'[]{}=.,#\\$\n\r\t \x7f"


@st.composite
def byte_mutated_input(draw) -> tuple[bytes, str, Path]:
    path = draw(datum_paths)
    data = bytearray(DATUM_BYTES[path])
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "overwrite"]))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[i:i] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=4),
                    st.sampled_from([bytes([b]) for b in INTERESTING_BYTES]),
                )
            )
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 8))]
        elif data:
            data[i] = draw(st.sampled_from(INTERESTING_BYTES))
    out = bytes(data)
    return out, file_name(out, path.name, draw(st.sampled_from(NAME_MODES))), path


@st.composite
def structurally_mutated_input(draw) -> tuple[bytes, str, Path]:
    path = draw(datum_paths)
    text = DATUM_BYTES[path].decode("utf-8")
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 2, 3, 4]))):
        text = draw(mutate_text(text))
    out = text.encode("utf-8")
    return out, file_name(out, path.name, draw(st.sampled_from(NAME_MODES))), path


# Generated datums ----------------------------------------------------------

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(k: str) -> str:
    return k if BARE_KEY.fullmatch(k) else toml_str(k)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if math.isnan(v):
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def toml_dump(doc: dict, prefix: str = "") -> str:
    out, tables = [], []
    for k, v in doc.items():
        if isinstance(v, dict) and v and all(not isinstance(x, dict) or x for x in v.values()):
            tables.append((k, v))
        else:
            out.append(f"{toml_key(k)} = {toml_value(v)}")
    text = "\n".join(out) + ("\n" if out else "")
    for k, v in tables:
        name = f"{prefix}.{toml_key(k)}" if prefix else toml_key(k)
        text += f"\n[{name}]\n" + toml_dump(v, name)
    return text


toml_scalars = st.one_of(
    hostile_text,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
)
toml_data = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(SPEC_KEYS), inner, max_size=3)
    ),
    max_leaves=8,
)
toml_values = toml_data.map(toml_value)


def one_in(n: int) -> st.SearchStrategy:
    """True about once in ``n`` draws. (Not at 0 nor n - 1: hypothesis favours the ends.)"""
    return st.integers(0, n - 1).map(lambda k: k == n // 2)


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy, odds: int = 6) -> st.SearchStrategy:
    """``good`` about ``odds`` times in ``odds + 1``, else ``bad``."""
    return one_in(odds + 1).flatmap(lambda rare: bad if rare else good)


# fmt: off
MEMBERS = [
    "n8n.docker", "redis.docker", "ollama.docker", "python.cli", "echo.docker", "web.docker",
    "db.docker", "recommender.docker", "github.mcp", "missing.docker", "llm-batch-job.job",
]
# fmt: on
STACKS = [
    "llm-inference-pipeline",
    "shop",
    "hostile",
    "postgres-dev-stack",
    "phase2-gpu-observability",
    "fuzz",
    "missing",
]
SERVICES = ["n8n", "python", "db", "web", "recommender", "echo", "redis", "nope"]
#: a port or count as a datum string may spell it
PORT_WORDS = ["5678", "8000", "80", "5432", "9000", "0", "65536", "x", "٥٦٧٨", "²"] + LONG_DIGITS
# fmt: off
DOCKER_WORDS = [
    "-p", "5678:5678", "127.0.0.1:8080:80", "53/udp", "99999", "-v", "data:/data",
    "/srv:/srv:ro", "~/x:/x", "bad", "--name", "fuzz", "--restart", "always", "on-failure:3",
    "sometimes", "--gpus", "1", "all", "0", "-e", "A=b", "B", "1BAD=x", "--privileged",
    "--gpus=2", "-p8080:80", "--env=C=d", "--network", "host",
] + PORT_WORDS + [f"{p}:80" for p in PORT_WORDS] + [f"80:{p}" for p in PORT_WORDS]
# fmt: on
REF_VALUES = st.builds(
    lambda s, v, f: f"${{STACK:{s}:{v}:{f}}}",
    st.sampled_from(STACKS),
    st.sampled_from(SERVICES),
    choice(["endpoint", "host", "port", "protocol", "x"] + PORT_WORDS),
)
plain_str = st.one_of(
    st.sampled_from(["alpine:3.20", "hello world", "/data", "8080", "true", "x"]),
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="$\x00"),
        max_size=20,
    ),
    st.sampled_from(
        ["${GREETING:-hi}", "${REQUIRED_TOKEN}", "$$ and $${x}", "${STACK:shop:db:endpoint}/x"]
    ),
)
fuzz_str = st.one_of(plain_str, plain_str, hostile_text, REF_VALUES)


def leaf_values(key: str, leaf) -> st.SearchStrategy:
    if key == "members":
        return st.lists(mostly(st.sampled_from(MEMBERS), hostile_text), max_size=4)
    if key == "requires_stacks":
        return st.lists(mostly(st.sampled_from(STACKS), hostile_text), max_size=3)
    if key == "wait_for_services":
        svc = st.builds(
            lambda s, p: f"{s}{p}",
            st.sampled_from(SERVICES),
            choice([""] + [f":{p}" for p in PORT_WORDS]),
        )
        return st.lists(mostly(svc, hostile_text), max_size=3)
    if key == "docker_args":
        return st.lists(mostly(choice(DOCKER_WORDS), hostile_text), max_size=10)
    if key == "schedule_type":
        return mostly(st.sampled_from(S.SCHEDULE_TYPES), hostile_text)
    if key in ("gpu_type",):
        return mostly(
            st.sampled_from(["nvidia-a100", "amd-mi300x", "intel-max", "l4", "nvidia-", "A100"]),
            hostile_text,
        )
    kind = leaf.kind
    if kind == S.STR:
        return fuzz_str
    if kind == S.STRLIST:
        return st.lists(fuzz_str, max_size=4)
    if kind == S.ARGV:
        return st.one_of(fuzz_str, st.lists(fuzz_str, max_size=4))
    if kind == S.INT:
        return st.one_of(st.integers(-2, 8), st.integers(min_value=-(2**63), max_value=2**63 - 1))
    if kind == S.NUM:
        return st.one_of(
            st.integers(0, 1000), st.floats(), st.integers(min_value=-(2**63), max_value=2**63 - 1)
        )
    if kind == S.BOOL:
        return st.booleans()
    if kind == S.QTY:
        return st.one_of(
            st.sampled_from(
                [
                    "500m",
                    "2",
                    "0.5",
                    "8Gi",
                    "512Mi",
                    "1G",
                    "0",
                    "four",
                    "1e3",
                    ".5",
                    "1.0005",
                    "1Ei",
                ]
            ),
            choice(LONG_DIGITS + [d + "Gi" for d in LONG_DIGITS] + [d + "m" for d in LONG_DIGITS]),
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
            st.floats(),
            hostile_text,
        )
    return toml_data


env_names = mostly(
    st.one_of(
        st.sampled_from(["A", "PATH", "HOME", "N8N_PORT", "X_1", "_"]),
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
    ),
    hostile_text,
    odds=15,
)


def table_values(table) -> st.SearchStrategy:
    parts = {}
    for key, sub in table.keys.items():
        if key in ("name", "type"):
            continue
        if isinstance(sub, S.Table):
            parts[key] = st.deferred(lambda sub=sub: table_values(sub))
        elif isinstance(sub, S.EnvMap):
            parts[key] = st.dictionaries(
                env_names, mostly(fuzz_str, toml_scalars, odds=15), max_size=4
            )
        elif isinstance(sub, S.Services):
            parts[key] = st.dictionaries(
                mostly(st.sampled_from(SERVICES), hostile_text),
                mostly(
                    st.fixed_dictionaries(
                        {
                            "port": mostly(
                                st.integers(1, 65535),
                                st.one_of(st.integers(-1, 70000), toml_scalars),
                            )
                        },
                        optional={
                            "protocol": mostly(
                                st.sampled_from(["http", "tcp", "postgres"]), hostile_text
                            )
                        },
                    ),
                    toml_data,
                    odds=15,
                ),
                max_size=3,
            )
        else:
            parts[key] = leaf_values(key, sub)
    keys = sorted(parts)
    required = {k for k, sub in table.keys.items() if isinstance(sub, S.Leaf) and sub.required}

    @st.composite
    def draw_table(draw):
        out = {}
        for k in keys:
            if k in required or draw(one_in(3)):  # each key in about one table in three
                # now and then a wrongly typed value
                out[k] = draw(toml_data) if draw(one_in(40)) else draw(parts[k])
        if draw(one_in(40)):  # now and then an unknown or misplaced key
            out[draw(st.sampled_from(SPEC_KEYS + ["fuzz", "Image"]))] = draw(toml_data)
        return out

    return draw_table()


TYPE_TABLES = {kind: table_values(table) for kind, table in S.BY_TYPE.items()}


@st.composite
def generated_input(draw) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["job", "job", "stack", "docker"]))
    name = draw(
        st.one_of(
            st.sampled_from(["fuzz", "fuzz-2", "n8n", "shop", "llm-batch-job"]),
            st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
        )
    )
    body = draw(TYPE_TABLES[kind])
    if kind == "job":
        if "container" not in body and "image" not in body and not draw(one_in(4)):
            body["container"] = {"image": "alpine:3.20", "command": ["echo", "hi"]}
        if "container" in body and not draw(one_in(6)):  # mostly one shape, not both
            for legacy in ("image", "command", "args"):
                body.pop(legacy, None)
    if kind == "docker" and "image" not in body and not draw(one_in(4)):
        body["image"] = "alpine:3.20"
    doc: dict = {"b00t": {"name": name, "type": kind, **body}}
    if draw(one_in(10)):
        doc["env"] = draw(st.dictionaries(env_names, fuzz_str, max_size=3))
    data = toml_dump(doc).encode("utf-8")
    event(f"generated: {kind}")
    mode = draw(st.sampled_from(("consistent",) * 6 + NAME_MODES))
    return data, file_name(data, f"fuzz.{kind}.toml", mode)


# ---------------------------------------------------------------------------
# In-process fuzz tests


@pytest.fixture(scope="module", autouse=True)
def _warm_up():
    """Build the lark parsers (references, HCL) once, outside every example's deadline."""
    import hcl2

    build(
        BuildRequest(
            paths=[str(ROOT / "examples")], targets=list(TARGETS), host_env=dict(GOLDEN_ENV)
        )
    )
    hcl2.loads('a = "b"\n')


@fuzz_settings(600)
@given(random_input(), st.booleans())
def test_fuzz_random_bytes(inp, strict):
    data, name = inp
    compile_in_process(data, name, strict=strict)


@pytest.mark.parametrize("path", DATUMS, ids=[_rel(p) for p in DATUMS])
@fuzz_settings(25)
@given(data=st.data())
def test_fuzz_truncated(path, data):
    cut, name = data.draw(truncated_input(path), label="truncated")
    compile_in_process(cut, name, origin=path.parent)


@fuzz_settings(600)
@given(byte_mutated_input())
def test_fuzz_byte_mutations(inp):
    data, name, path = inp
    compile_in_process(data, name, origin=path.parent)


@fuzz_settings(800)
@given(structurally_mutated_input(), st.booleans())
def test_fuzz_structural_mutations(inp, strict):
    data, name, path = inp
    compile_in_process(data, name, origin=path.parent, strict=strict)


@fuzz_settings(500)
@given(generated_input(), st.booleans())
def test_fuzz_generated_datums(inp, strict):
    data, name = inp
    compile_in_process(data, name, strict=strict)


def test_unmutated_datums_keep_their_outcome():
    """The driver itself: every real datum as it is builds or fails as the repository's
    other tests expect (b00t's mcp/k8s datums and the workflow job are errors)."""
    codes = {}
    for path in DATUMS:
        codes[_rel(path)] = compile_in_process(DATUM_BYTES[path], path.name, origin=path.parent)
    assert codes["tests/cases/shop.stack.toml"] == 0
    assert codes["examples/llm-batch-job.job.toml"] == 0
    assert codes["tests/data/b00t-datums/mesh3d-cloud.job.toml"] == 1  # E0106 on k8s and compose, E0707 on nomad
    assert codes["tests/data/b00t-datums/github.mcp.toml"] == 1  # E0107
    assert sum(c == 0 for c in codes.values()) >= 15, codes


# ---------------------------------------------------------------------------
# The real command line


def subprocess_env() -> dict[str, str]:
    """The environment of ``python -m b00tc``: this repository's b00tc first on the path
    (the installed one may be another copy), no datum path, no debug tracebacks."""
    env = {k: v for k, v in os.environ.items() if k not in ("B00T_DATUM_PATH", "B00TC_DEBUG")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(GOLDEN_ENV)
    return env


HEAD = re.compile(r"^(error|warning)\[([EW]\d{4})\]: ", re.MULTILINE)


def check_stderr(stderr: str, diags) -> None:
    """Every error block of the text rendering on stderr is located: ``--> file:line:col``
    and a caret line. ``diags`` are the same build's diagnostics in-process (same order),
    which say whether a block hits a known location bug (see check_located)."""
    heads = list(HEAD.finditer(stderr))
    assert len(heads) == len(diags), stderr
    for n, (m, d) in enumerate(zip(heads, diags)):
        assert m.group(2) == d.code, stderr
        end = heads[n + 1].start() if n + 1 < len(heads) else len(stderr)
        block = stderr[m.start() : end]
        if m.group(1) != "error" or m.group(2) in UNLOCATED_OK:
            continue
        if check_located(d, diags.sources):
            continue
        assert re.search(r"^ *--> (.*):(\d+):(\d+)$", block, re.MULTILINE), (
            f"error without --> file:line:col:\n{block}"
        )
        assert re.search(r"^ *\| *\^+$", block, re.MULTILINE), (
            f"error without a caret line:\n{block}"
        )


#: the pre-existing file of the output folder, dated in the past: exit 1 leaves it so
KEEP_MTIME_NS = 1_000_000_000 * 1_000_000_000


def run_cli(data: bytes, name: str, origin: Path | None, tmp: Path) -> subprocess.CompletedProcess:
    src_dir = tmp / "in"
    src_dir.mkdir()
    out = tmp / "out"
    out.mkdir()
    (out / "keep.txt").write_text("untouched")
    os.utime(out / "keep.txt", ns=(KEEP_MTIME_NS, KEEP_MTIME_NS))
    (src_dir / name).write_bytes(data)
    includes = ([str(origin)] if origin is not None else []) + SEARCH
    args = ["build", name, "--target", "all", "-o", str(out)]
    for d in includes:
        args += ["-I", d]
    return subprocess.run(
        [sys.executable, "-m", "b00tc", *args],
        cwd=src_dir,
        capture_output=True,
        env=subprocess_env(),
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )


def check_cli(data: bytes, name: str, origin: Path | None = None) -> int | None:
    """Run the real command line on one input; None when the input triggers a known bug."""
    if known_hang(data):
        event(f"known hang: {known_hang(data)}")
        return None
    tmp = Path(tempfile.mkdtemp(prefix="b00tc-fuzz-cli-"))
    try:
        # the in-process driver takes the same path: first see whether it is a known crash
        (tmp / "same").mkdir()
        (tmp / "same" / name).write_bytes(data)
        includes = ([str(origin)] if origin is not None else []) + SEARCH
        try:
            with hang_guard():
                same = build(
                    BuildRequest(
                        paths=[str(tmp / "same" / name)],
                        targets=list(TARGETS),
                        includes=includes,
                        host_env=subprocess_env(),
                    )
                )
        except Hang:
            raise
        except Exception as e:
            bug = known_crash(e)
            if bug is None:
                raise
            event(f"known crash: {bug}")
            return None
        r = run_cli(data, name, origin, tmp)
        out = tmp / "out"
        stderr = r.stderr.decode("utf-8", "replace")
        assert "Traceback" not in stderr, stderr
        assert "internal error" not in stderr, stderr
        assert r.returncode in (0, 1), f"exit {r.returncode}:\n{stderr}"
        assert r.stdout == b"", r.stdout[:2000]
        check_stderr(stderr, same.diags)
        on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
        if r.returncode == 1:
            everything = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
            assert everything == ["keep.txt"], f"exit 1 changed the output folder: {everything}"
            assert out.joinpath("keep.txt").stat().st_mtime_ns == KEEP_MTIME_NS
            assert HEAD.search(stderr) and "nothing written" in stderr, stderr
        else:
            assert len(on_disk) > 1 or "W0104" in stderr, f"exit 0 wrote nothing: {on_disk}"
            for rel in on_disk:
                if rel != "keep.txt":
                    check_output_file(rel, (out / rel).read_text(encoding="utf-8"), True, out / rel)
        assert (out / "keep.txt").read_text() == "untouched"
        assert (1 if same.diags.errors else 0) == r.returncode, stderr
        event(f"cli exit {r.returncode}")
        return r.returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@st.composite
def any_input(draw) -> tuple[bytes, str, Path | None]:
    which = draw(st.sampled_from(["random", "truncated", "bytes", "structural", "generated"]))
    if which == "random":
        data, name = draw(random_input())
        return data, name, None
    if which == "truncated":
        path = draw(datum_paths)
        data, name = draw(truncated_input(path))
        return data, name, path.parent
    if which == "bytes":
        data, name, path = draw(byte_mutated_input())
        return data, name, path.parent
    if which == "structural":
        data, name, path = draw(structurally_mutated_input())
        return data, name, path.parent
    data, name = draw(generated_input())
    return data, name, None


@fuzz_settings(10, long=FUZZ_N // 25 + 4, deadline=None)
@given(any_input())
def test_fuzz_cli_subprocess(inp):
    data, name, origin = inp
    check_cli(data, name, origin)


CLI_CASES = {
    "empty file": (b"", "empty.job.toml", None),
    "random bytes": (bytes(range(256)), "fuzz.job.toml", None),
    "truncated mid-string": (
        DATUM_BYTES[ROOT / "tests/cases/web.docker.toml"][:150],
        "web.docker.toml",
        ROOT / "tests/cases",
    ),
    "truncated after a newline": (
        DATUM_BYTES[ROOT / "examples/llm-batch-job.job.toml"].split(b"[b00t.env]")[0]
        + b"[b00t.env]\nX = [\n",
        "llm-batch-job.job.toml",
        ROOT / "examples",
    ),
    "NUL escape": (
        DATUM_BYTES[ROOT / "tests/cases/small.job.toml"].replace(b'"done"', b'"do\\u0000ne"'),
        "small.job.toml",
        ROOT / "tests/cases",
    ),
    "unterminated reference": (
        DATUM_BYTES[ROOT / "examples/llm-batch-job.job.toml"].replace(b'"32"', b'"${STACK:a:b:c"'),
        "llm-batch-job.job.toml",
        ROOT / "examples",
    ),
    "mismatching name": (
        DATUM_BYTES[ROOT / "tests/cases/small.job.toml"],
        "other.job.toml",
        ROOT / "tests/cases",
    ),
    "valid stack": (
        DATUM_BYTES[ROOT / "tests/cases/shop.stack.toml"],
        "shop.stack.toml",
        ROOT / "tests/cases",
    ),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_subprocess_fixed_inputs(case):
    data, name, origin = CLI_CASES[case]
    code = check_cli(data, name, origin)
    # a name that disagrees with the file name is warning W0108 (the name in the file decides)
    assert code == (0 if case in ("valid stack", "mismatching name") else 1)


# ---------------------------------------------------------------------------
# Bugs this fuzzer found, fixed: their minimal reproducers stay as regression tests


def run_reproducer(
    tmp_path: Path, name: str, text: str, target: str = "all", limit_memory: bool = False
):
    """``b00tc build NAME --target TARGET -o OUT`` on one file, as a user runs it."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    return run_reproducer_file(tmp_path, name, target, limit_memory)


def run_reproducer_file(tmp_path: Path, name: str, target: str = "all", limit_memory: bool = False):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("untouched")

    def limits():  # pragma: no cover - runs in the child
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "b00tc", "build", name, "--target", target, "-o", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=10 if limit_memory else SUBPROCESS_TIMEOUT,
        preexec_fn=limits if limit_memory else None,
        check=False,
    )


def assert_user_error(r: subprocess.CompletedProcess, code: str) -> None:
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1, r.stderr
    assert f"error[{code}]" in r.stderr, r.stderr
    assert re.search(r"^ *--> \S+:\d+:\d+$", r.stderr, re.MULTILINE), r.stderr


JOB = """[b00t]
name = "x"
type = "job"

[b00t.container]
image = "alpine:3.20"
command = ["true"]
"""

DOCKER = """[b00t]
name = "x"
type = "docker"
image = "alpine:3.20"
"""


D4301 = "1" * 4301  # one digit more than int() and str() of an int take (Python >= 3.11)
E400 = "1" + "0" * 400  # above float's range


def test_fixed_huge_integer_crashes_the_toml_reader(tmp_path):
    r = run_reproducer(tmp_path, "x.job.toml", JOB + f"\n[b00t.resources]\ngpu_count = {D4301}\n")
    assert_user_error(r, "E0001")


DIGIT_CASES = {
    # refs._stack_ref: field.isdigit() then int(field)
    "ref-port-superscript": (
        "x.job.toml",
        JOB + '\n[b00t.env]\nA = "${STACK:s:svc:\u00b2}"\n',
        "all",
        "E0301",
    ),
    "ref-port-4301-digits": (
        "x.job.toml",
        JOB + f'\n[b00t.env]\nA = "${{STACK:s:svc:{D4301}}}"\n',
        "all",
        "E0301",
    ),
    # dockerargs: int() of the -p regex groups; --gpus val.isdigit() then int(val)
    "publish-4301-digits": (
        "x.docker.toml",
        DOCKER + f'docker_args = ["-p", "{D4301}:80"]\n',
        "all",
        "E0110",
    ),
    "gpus-superscript": (
        "x.docker.toml",
        DOCKER + 'docker_args = ["--gpus", "\u00b2"]\n',
        "all",
        "E0110",
    ),
    "gpus-4301-digits": (
        "x.docker.toml",
        DOCKER + f'docker_args = ["--gpus", "{D4301}"]\n',
        "all",
        "E0110",
    ),
    # resolve_references._wait_for: int() of the port group
    "wait-port-4301-digits": (
        "x.job.toml",
        JOB + f'\n[b00t.dependencies]\nwait_for_services = ["svc:{D4301}"]\n',
        "all",
        "E0306",
    ),
    # nomad._restart: int() of on-failure:N (the restart regex takes any \\d+)
    "restart-count-4301-digits": (
        "x.docker.toml",
        DOCKER + f'docker_args = ["--restart", "on-failure:{D4301}"]\n',
        "nomad",
        "E0110",
    ),
}


@pytest.mark.parametrize("case", sorted(DIGIT_CASES))
def test_fixed_digit_strings_crash_int(tmp_path, case):
    name, text, target, code = DIGIT_CASES[case]
    r = run_reproducer(tmp_path, name, text, target=target)
    assert_user_error(r, code)


QUANTITY_CASES = {
    # cpu_millis / memory_bytes accept any number of digits; backends then str() the int
    "cpu-4301-digits-k8s": (f'cpu = "{D4301}"', "k8s"),  # k8s.cpu_quantity
    "cpu-4301-digits-nomad": (f'cpu = "{D4301}"', "nomad"),  # _hcl._value
    "cpu-4301-digits-systemd": (f'cpu = "{D4301}"', "systemd"),  # systemd.limits
    "memory-4301-digits-systemd": (f'memory = "{D4301}"', "systemd"),  # systemd.limits
    # nomad._resources: math.ceil(bytes / MIB) in float
    "memory-1e400-nomad": (f'memory = "{E400}"', "nomad"),
    "gpu-memory-4301-digits-nomad": (f'gpu_count = 1\ngpu_memory = "{D4301}"', "nomad"),
}


@pytest.mark.parametrize("case", sorted(QUANTITY_CASES))
def test_fixed_huge_quantities_crash_backends(tmp_path, case):
    line, target = QUANTITY_CASES[case]
    r = run_reproducer(tmp_path, "x.job.toml", JOB + f"\n[b00t.resources]\n{line}\n", target=target)
    assert r.returncode in (0, 1) and "internal error" not in r.stderr, r.stderr


@pytest.mark.parametrize("key", ["budget_daily_limit", "budget_cost_per_job"])
def test_fixed_huge_budget_overflows_float(tmp_path, key):
    r = run_reproducer(tmp_path, "x.job.toml", JOB + f"\n[b00t.orchestration]\n{key} = {E400}\n")
    assert r.returncode in (0, 1) and "internal error" not in r.stderr, r.stderr


@pytest.mark.parametrize("target", ["bash", "systemd"])
def test_fixed_huge_gpu_count_hangs(tmp_path, target):
    r = run_reproducer(
        tmp_path,
        "x.job.toml",
        JOB + "\n[b00t.resources]\ngpu_count = 1000000000000\n",
        target=target,
        limit_memory=True,
    )
    assert r.returncode in (0, 1) and "internal error" not in r.stderr, r.stderr


def test_fixed_quantity_precision_is_lost(tmp_path):
    """Quantities used to be computed in Decimal's 28-digit context: a 29-digit memory was
    rounded and a fraction of a millicore past the 28th digit accepted. Now memory above
    an exbibyte is E0202, and every admitted quantity is computed exactly."""
    memory = "12345678901234567890123456789"
    r = run_reproducer(
        tmp_path, "x.job.toml", JOB + f'\n[b00t.resources]\nmemory = "{memory}"\n', target="k8s"
    )
    assert_user_error(r, "E0202")
    r = run_reproducer(
        tmp_path / "b" if (tmp_path / "b").mkdir() is None else tmp_path,
        "x.job.toml", JOB + '\n[b00t.resources]\ncpu = "1.000000000001"\n', target="k8s",
    )
    assert_user_error(r, "E0201")


def test_fixed_eof_error_has_no_caret(tmp_path):
    r = run_reproducer(tmp_path, "x.job.toml", '[b00t]\nname = "x"\ntype = "job"\nargs = [\n')
    assert_user_error(r, "E0001")
    assert re.search(r"^ *\| *\^+$", r.stderr, re.MULTILINE), r.stderr


def test_fixed_line_separator_shifts_the_source_line(tmp_path):
    text = '[b00t]\nname = "x"\nhint = "a\u2028b"\ntype = "job"\n[b00t.container]\nimage = "i"\ncpu = "four"\n'
    r = run_reproducer(tmp_path, "x.job.toml", text)
    assert_user_error(r, "E0101")
    assert '7 | cpu = "four"' in r.stderr, r.stderr


def test_fixed_implicit_b00t_table_is_not_located(tmp_path):
    r = run_reproducer(
        tmp_path, "x.job.toml", '[00t]\nname = "x"\ntype = "job"\n\n[b00t.env]\nA = "b"\n'
    )
    assert_user_error(r, "E0103")


def test_fixed_not_utf8_column_counts_bytes(tmp_path):
    (tmp_path / "x.job.toml").write_bytes(b'[b00t]\nname = "\xc3\xa9\xff"\n')
    r = run_reproducer_file(tmp_path, "x.job.toml")
    assert_user_error(r, "E0001")
    assert "x.job.toml:2:10" in r.stderr, r.stderr


def test_fixed_toml_error_column_past_the_line(tmp_path):
    r = run_reproducer(tmp_path, "x.job.toml", 'a = "x\\')
    assert_user_error(r, "E0001")
    col = int(re.search(r"--> x\.job\.toml:1:(\d+)", r.stderr).group(1))
    assert col <= len('a = "x\\') + 1, r.stderr
