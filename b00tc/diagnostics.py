"""Diagnostics: what went wrong, where, and what to do; rendered rustc-style or as JSON.

A diagnostic names a file and a ``$.path`` into the datum. The path is turned into a
line and column only when the diagnostic is rendered (``locate``), so the happy path
never pays for positions.
"""

from __future__ import annotations

import enum
import re
from functools import lru_cache
from typing import Any, Optional

import msgspec


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Span(msgspec.Struct, frozen=True):
    line: int  # 1-based
    col: int  # 1-based
    end_line: int
    end_col: int  # exclusive


class Diagnostic(msgspec.Struct):
    severity: Severity
    code: str
    message: str
    file: str = ""
    path: str = ""  # $.b00t.resources.cpu
    help: str = ""
    span: Optional[Span] = None  # set directly when known (TOML syntax errors), else located
    #: a column offset inside the located value (reference errors point into the string)
    offset: Optional[tuple[int, int]] = None
    value: Optional[str] = None  # the decoded string the offset counts in
    needle: str = ""  # narrow the caret to this text inside the located value
    key: bool = False  # point at the key rather than the value
    notes: list[str] = msgspec.field(default_factory=list)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


# Every code b00tc emits. Stable: tools match on them. README links this table.
CODES: dict[str, str] = {
    "E0001": "the file is not valid TOML",
    "E0002": "a file or folder cannot be read",
    "E0003": "an --env-file line cannot be read",
    "E0101": "unknown key",
    "E0102": "wrong type for a key",
    "E0103": "a required key is missing",
    "E0104": "[b00t] name disagrees with the file name (not emitted since it is W0108; kept, never reused)",
    "E0105": "a name is not a DNS-1123 label",
    "E0106": "a workflow job ([b00t.job] with steps) is not compiled for this target yet",
    "E0107": "this datum type cannot be built",
    "E0108": "a value is not one of the allowed ones",
    "E0109": "an env name is not a valid identifier",
    "E0110": "a docker argument cannot be read",
    "E0112": "a key is given twice (both shapes, or [env] and [b00t.env])",
    "E0113": "a stack lists a member twice",
    "E0114": "two datums of one build write the same output file",
    "E0115": "the target does not render this kind of datum",
    "E0116": "one Helm repository alias names two URLs in a build",
    "E0117": "a Helm values file cannot be read, is not YAML or is not a mapping of values",
    "E0118": "a Helm chart's chart_path or repository URL cannot be read",
    "E0201": "a cpu quantity cannot be read",
    "E0202": "a memory quantity cannot be read",
    "E0203": "a GPU requirement cannot be read",
    "E0301": "a reference expression cannot be parsed",
    "E0302": "a stack or member datum is not on the search path",
    "E0303": "a reference names a stack that is not required",
    "E0304": "a reference names a service the stack does not have",
    "E0305": "stacks require or include each other in a cycle",
    "E0306": "a wait_for_services entry cannot be read",
    "E0307": "stacks require or include each other more than 64 deep",
    "E0401": "a host variable is not set and has no default",
    "E0402": "a host variable's ${VAR:?message} fired",
    "E0601": "a value cannot be carried by the target's syntax",
    "E0701": "a workflow step's depends_on names no step (dag and parallel mode)",
    "E0702": "two steps of a workflow have the same name",
    "E0703": "workflow steps depend on each other in a cycle",
    "E0704": "a workflow step's task needs b00t's own runtime (agent, k0mmander, mcp, dagu, datum)",
    "E0705": "a job has both a container and workflow steps",
    "E0706": "a workflow value is not one b00t knows (mode, checkpoint_mode, condition.when, task type)",
    "E0707": "a workflow step has no image on a container target ([b00t.job] image or the task's image)",
    "E0901": "usage error",
    "E0903": "a target option is unknown or its value is refused",
    "W0101": "a stack member is not deployable to container targets and is skipped",
    "W0102": "a docker argument is not carried to the target",
    "W0103": "a service has no deployable member on this target",
    "W0104": "a stack has no deployable member",
    "W0105": "a key neither b00t nor b00tc reads is ignored (outside the tables b00tc defines)",
    "W0106": "a free value b00t accepts has no meaning to b00tc (schedule_type)",
    "W0107": "[b00t] type disagrees with the file name: the type in the file decides",
    "W0108": "[b00t] name disagrees with the file name: the name in the file decides",
    "W0110": "a Helm chart member names no repository URL (url, or its helm repo add): skipped",
    "W0109": "a Helm chart member's values file is not found: the chart's defaults apply",
    "W0301": "the target cannot express an intent",
    "W0302": "a host variable is resolved at build time: its value is written into the output",
    "W0303": "a host variable in a k8s image is resolved at build time: its value is in the output",
    "W0304": "a host variable in a Nomad image is resolved at build time: its value is in the job",
    "W0501": "budget_cost_per_job exceeds budget_daily_limit",
    "W0701": "a workflow's config key is written in [b00t.job], not [b00t.job.config]: ignored, as b00t does",
    "W0702": "a feature of b00t's workflow runner that b00tc does not carry (checkpoints, artifacts, outputs, subagents)",
    "W0703": "a depends_on that sequential mode ignores (names no earlier step), as b00t does",
    "W0704": "a workflow's steps run in separate containers that share only the workspace",
}


# ---------------------------------------------------------------------------
# Paths


_SEG = re.compile(r'\.([A-Za-z0-9_-]+)|\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]')


class Diagnostics(list):
    """The diagnostics of one run, and the source text of every file they may point into."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: dict[str, str] = {}

    def error(self, code: str, message: str, file: str = "", path: str = "", **kw: Any) -> None:
        self.append(Diagnostic(Severity.ERROR, code, message, file=file, path=path, **kw))

    def warn(self, code: str, message: str, file: str = "", path: str = "", **kw: Any) -> None:
        self.append(Diagnostic(Severity.WARNING, code, message, file=file, path=path, **kw))

    @property
    def errors(self) -> int:
        return sum(1 for d in self if d.is_error)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return f"{path}.{key}"
    return f"{path}[{_quote(key)}]"


def _quote(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split(path: str) -> tuple:
    out: list = []
    for m in _SEG.finditer(path):
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(re.sub(r"\\(.)", r"\1", m.group(2)))
        else:
            out.append(int(m.group(3)))
    return tuple(out)


# ---------------------------------------------------------------------------
# Locating a path in TOML source


def locate(source: str, path: str, key: bool = False, table: Optional[dict] = None) -> Optional[Span]:
    """The span of the value (or the key) at ``path``, or of its nearest located parent
    (``table``: the source's scan, when the caller keeps it)."""
    if table is None:
        table = _scan(source)
    segs = split(path)
    while segs:
        hit = table.get(segs)
        if hit is not None:
            k, v = hit
            return k if key or v is None else v
        segs = segs[:-1]
    return None


@lru_cache(maxsize=64)
def _scan(source: str) -> dict:
    """The key and value spans of a datum's text (a small bounded cache for callers
    without a Sources; a long-lived process such as ``b00tc mcp`` must not keep every
    text it has seen)."""
    return _Scanner(source).run()


def resolve_all(diags: list, sources: dict[str, str]) -> None:
    """Locate every diagnostic once, file by file (``d.span`` is set): each file's text is
    scanned once and its table dropped before the next, so that the warnings of a build of
    thousands of datums, rendered target after target, neither scan a file again for each
    target nor keep every file's table (tens of MB at 10,000 datums)."""
    by_file: dict[str, list] = {}
    for d in diags:
        if d.span is None and d.path and d.file in sources:
            by_file.setdefault(d.file, []).append(d)
    for file, found in by_file.items():
        src = sources[file]
        table = _Scanner(src).run()
        for d in found:
            d.span = _narrow(d, src, locate(src, d.path, key=d.key, table=table))


class _Scanner:
    """Records where each key and value is. tomli has already accepted (or rejected) the
    text; this only needs to be right on valid TOML and must not crash on invalid."""

    def __init__(self, src: str) -> None:
        self.s = src
        self.i = 0
        self.line = 1
        self.line_start = 0
        self.out: dict[tuple, tuple[Span, Optional[Span]]] = {}
        self.aot: dict[tuple, int] = {}

    def pos(self) -> tuple[int, int]:
        return self.line, self.i - self.line_start + 1

    def adv(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i < len(self.s):
                if self.s[self.i] == "\n":
                    self.line += 1
                    self.line_start = self.i + 1
                self.i += 1

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def skip_ws(self, newlines: bool = False) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.adv()
            elif c == "#":
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.adv()
            else:
                break

    def run(self) -> dict:
        try:
            self._document()
        except (IndexError, ValueError):
            pass
        return self.out

    def _document(self) -> None:
        prefix: tuple = ()
        guard = 0
        while self.i < len(self.s):
            guard += 1
            if guard > 1_000_000:
                return
            self.skip_ws(newlines=True)
            if self.i >= len(self.s):
                return
            c = self.peek()
            start = self.pos()
            if c == "[":
                aot = self.peek(1) == "["
                self.adv(2 if aot else 1)
                self.skip_ws()
                keys = self._keys()
                self.skip_ws()
                self.adv(2 if aot else 1)
                full: list = []
                head = Span(start[0], start[1], start[0], start[1] + 1)
                for n, k in enumerate(keys):
                    full.append(k)
                    t = tuple(full)
                    # an implicit super-table ([b00t] made by [b00t.env]) is located at the
                    # first header that made it
                    self.out.setdefault(t, (head, None))
                    if n < len(keys) - 1 and t in self.aot:
                        full.append(self.aot[t])
                if aot:
                    t = tuple(full)
                    idx = self.aot.get(t, -1) + 1
                    self.aot[t] = idx
                    span = Span(start[0], start[1], *self.pos())
                    self.out.setdefault(t, (span, None))
                    full.append(idx)
                    self.out[tuple(full)] = (span, None)
                else:
                    span = Span(start[0], start[1], *self.pos())
                    self.out.setdefault(tuple(full), (span, None))
                prefix = tuple(full)
                self._rest_of_line()
            else:
                self._keyval(prefix)
                self._rest_of_line()

    def _rest_of_line(self) -> None:
        while self.i < len(self.s) and self.s[self.i] != "\n":
            self.adv()

    def _keys(self) -> list[str]:
        keys = [self._key()]
        self.skip_ws()
        while self.peek() == ".":
            self.adv()
            self.skip_ws()
            keys.append(self._key())
            self.skip_ws()
        return keys

    def _key(self) -> str:
        c = self.peek()
        if c in "\"'":
            return self._string()
        j = self.i
        while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] in "_-"):
            self.adv()
        if self.i == j:
            raise ValueError("no key")
        return self.s[j : self.i]

    def _keyval(self, prefix: tuple) -> None:
        kstart = self.pos()
        keys = self._keys()
        kend = self.pos()
        self.skip_ws()
        if self.peek() != "=":
            raise ValueError("no =")
        self.adv()
        self.skip_ws()
        path = prefix + tuple(keys)
        vstart = self.pos()
        self._value(path)
        vend = self.pos()
        self.out[path] = (Span(*kstart, *kend), Span(*vstart, *vend))

    def _value(self, path: tuple) -> None:
        c = self.peek()
        if c in "\"'":
            self._string()
        elif c == "[":
            self.adv()
            n = 0
            while True:
                self.skip_ws(newlines=True)
                if self.peek() in ("]", ""):
                    self.adv()
                    return
                vstart = self.pos()
                self._value(path + (n,))
                self.out[path + (n,)] = (Span(*vstart, *self.pos()), Span(*vstart, *self.pos()))
                n += 1
                self.skip_ws(newlines=True)
                if self.peek() == ",":
                    self.adv()
        elif c == "{":
            self.adv()
            while True:
                self.skip_ws()
                if self.peek() in ("}", "", "\n"):
                    self.adv()
                    return
                self._keyval(path)
                self.skip_ws()
                if self.peek() == ",":
                    self.adv()
        else:
            while self.i < len(self.s) and self.s[self.i] not in ",]}\n#":
                self.adv()
            # trim trailing blanks from the scalar
            while self.i > 0 and self.s[self.i - 1] in " \t\r" and self.peek() != "\n":
                self.i -= 1
                break

    def _string(self) -> str:
        q = self.peek()
        if self.s.startswith(q * 3, self.i):
            self.adv(3)
            j = self.i
            end = self.s.find(q * 3, self.i)
            if end < 0:
                raise ValueError("unterminated")
            while self.s.startswith(q, end + 3):
                end += 1
            self.adv(end - self.i + 3)
            return self.s[j:end]
        self.adv()
        j = self.i
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "\\" and q == '"':
                self.adv(2)
                continue
            if c == q or c == "\n":
                break
            self.adv()
        raw = self.s[j : self.i]
        self.adv()
        return raw


# ---------------------------------------------------------------------------
# Rendering


def resolve_span(d: Diagnostic, sources: dict[str, str]) -> Optional[Span]:
    if d.span is not None:
        return d.span
    src = sources.get(d.file)
    if src is None or not d.path:
        return None
    return _narrow(d, src, locate(src, d.path, key=d.key))


def _narrow(d: Diagnostic, src: str, span: Optional[Span]) -> Optional[Span]:
    """A value's span narrowed to the part a diagnostic means: an offset into the string
    (reference errors), or a needle inside it."""
    if (
        span is not None
        and d.offset is not None
        and span.line == span.end_line
        and _raw_token_is(src, span, d.value)
    ):
        a, b = d.offset
        # offsets count characters of the raw token after its opening quote
        col = span.col + 1 + a
        span = Span(span.line, col, span.line, max(col + 1, span.col + 1 + b))
    elif span is not None and d.needle and span.line == span.end_line:
        line = source_line(src, span.line)
        at = line.find(d.needle, span.col - 1, span.end_col - 1)
        if at >= 0:
            span = Span(span.line, at + 1, span.line, at + 1 + len(d.needle))
    return span


def source_line(src: str, n: int) -> str:
    """Line ``n`` (1-based) as TOML counts lines: split at LF only."""
    lines = src.split("\n")
    return lines[n - 1].rstrip("\r") if 0 < n <= len(lines) else ""


def _raw_token_is(src: str, span: Span, value: Optional[str]) -> bool:
    """True when the source token spells ``value`` without escapes, so that offsets in the
    decoded string are columns in the source line."""
    if value is None:
        return False
    line = source_line(src, span.line)
    token = line[span.col - 1 : span.end_col - 1]
    return len(token) >= 2 and token[1:-1] == value and (token[0] == "'" or "\\" not in value)


def render_text(d: Diagnostic, sources: dict[str, str], color: bool = False) -> str:
    span = resolve_span(d, sources)
    head = f"{d.severity.value}[{d.code}]: {d.message}"
    lines = [head]
    if d.file:
        where = d.file if span is None else f"{d.file}:{span.line}:{span.col}"
        src = sources.get(d.file)
        if span is not None and src is not None:
            text_lines = src.split("\n")  # TOML's lines: LF (CRLF) only, not U+2028 & co
            if 0 < span.line <= len(text_lines):
                line = text_lines[span.line - 1].rstrip("\r").replace("\t", " ")
                num = str(span.line)
                pad = " " * len(num)
                end = span.end_col if span.end_line == span.line else len(line) + 1
                width = max(1, min(end, len(line) + 1) - span.col)
                if len(line) > 200:  # keep a huge line readable: the caret's region only
                    line = line[: max(span.col + 80, 120)] + " …"
                    width = min(width, 80)
                lines.append(f"{pad}--> {where}")
                lines.append(f"{pad} |")
                lines.append(f"{num} | {line}")
                lines.append(f"{pad} | {' ' * (span.col - 1)}{'^' * width}")
            else:
                lines.append(f" --> {where}")
        else:
            lines.append(f" --> {where}")
    for note in d.notes:
        lines.append(f"note: {note}")
    if d.help:
        lines.append(f"help: {d.help}")
    return "\n".join(lines)


def to_json(d: Diagnostic, sources: dict[str, str]) -> dict:
    span = resolve_span(d, sources)
    return {
        "severity": d.severity.value,
        "code": d.code,
        "message": d.message,
        "file": d.file or None,
        "line": span.line if span else None,
        "column": span.col if span else None,
        "end": {"line": span.end_line, "column": span.end_col} if span else None,
        "path": d.path or None,
        "help": d.help or None,
    }


def render_github(d: Diagnostic, sources: dict[str, str]) -> str:
    span = resolve_span(d, sources)
    kind = "error" if d.is_error else "warning"
    parts = []
    if d.file:
        parts.append(f"file={d.file}")
    if span:
        parts += [f"line={span.line}", f"col={span.col}", f"endColumn={span.end_col}"]
    msg = d.message + (f" (help: {d.help})" if d.help else "")
    msg = msg.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::{kind} {','.join(parts)},title={d.code}::{msg}"


def did_you_mean(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else ""
