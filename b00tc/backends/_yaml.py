"""YAML through our own small serialiser: block style, insertion order, LF, and strings quoted
whenever any YAML 1.1 or 1.2 reader (PyYAML, go-yaml v2/v3, kubectl, docker compose) could
take them for something else (``yes``, ``on``, ``null``, ``0x1F``, ``1e3``, ``0o17``,
``.inf``, ``12:30``, ``~``, go-yaml's ``-_1`` or ``0b-1``).

No PyYAML on the build path: importing it costs more than the whole build of a small datum.
The bytes are those PyYAML's libyaml emitter (``CSafeDumper``, block style,
``allow_unicode``, ``width=2**16``) wrote with the representer this module used to register:
its choice of style (plain, single-quoted, double-quoted, literal ``|-``), its escapes, its
``? key`` for multi-line or long keys and its line folding are ported from libyaml 0.2.5
(``emitter.c``), and ``tests/backends/test_yaml_emitter.py`` compares both on generated
documents. It departs from them only where their output could be misread:

- a plain string that go-yaml reads as a number because go-yaml drops ``_`` from numbers
  (``-_1``, ``1e_3``, ``.5_5e3``) or reads ``0b-1``/``0o-7`` as signed: double-quoted;
- a string with U+2028/U+2029, which libyaml wrote raw in single quotes where YAML 1.1
  readers fold it as a line break and YAML 1.2 readers don't: double-quoted (``\\L``,
  ``\\P``).

Data: ``dict`` (``str`` keys, insertion order), ``list``, ``str``, ``int``, ``bool``,
``float``, ``None``; anything else is a ``TypeError``.
"""

from __future__ import annotations

import re
from functools import lru_cache

# what some YAML 1.1 or 1.2 reader takes for a null, a bool, a number, a date, "=" or a merge
# key: always double-quoted. (re's "$" also matches before a final "\n": so does _ambiguous.)
_WORDS = frozenset(
    "~ null Null NULL y Y yes Yes YES n N no No NO true True TRUE false False FALSE"
    " on On ON off Off OFF = <<".split()
)
_AMBIGUOUS = re.compile(
    r"""^(?:
        [-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|
        [-+]?0[xX][0-9a-fA-F_]+|[-+]?0[oO]?[0-7_]+|[-+]?0[bB][01_]+|
        [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|
        [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|
        [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*
    )$""",
    re.X,
)
# literal blocks cannot hold trailing spaces on lines, tabs at line starts, CR or other
# control characters faithfully: such strings take a quoted style
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85]|\u2028|\u2029| \n|\t|^\s|\s$")
# C0 and C1 controls but LF: libyaml writes them escaped, in double quotes. (Character
# classes beyond U+00FF cost milliseconds to compile: other characters are judged in Python.)
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# what double quotes escape, in an ASCII string
_ESCAPED_ASCII = re.compile(r'[\x00-\x1f"\\\x7f]')
# a one-line printable string that cannot be a plain scalar in block context (libyaml)
_NOT_PLAIN = re.compile(r"""^(?:[-?:](?:\ |\Z)|[\ #,\[\]{}&*!|>'"%@`]|---|\.\.\.)|:\ |:\Z|\ \#|\ \Z""", re.X)
# Past _AMBIGUOUS, only strings with "_" (or "0b-", "0o+"...) and a sign, digit or "." first
# are still numbers to some reader: these patterns are compiled (re's cache) when needed.
# PyYAML's resolver takes this for a float:
_PY_FLOAT = r"\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?\Z"
# go-yaml v2/v3 take a plain scalar starting with a sign or a digit for a number if, without
# its "_", it matches this; one starting with "." if strconv.ParseFloat takes it (the second)
_GO_NUMBER = (
    r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)\Z"
    r"|0b[-+][01]+\Z|0o[-+][0-7]+\Z"
)
_GO_DOT_FLOAT = r"\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?\Z"

_WIDE_ESCAPED = "\u2028\u2029\ufeff\ufffe\uffff"  # and surrogates and beyond U+FFFF
_ESCAPES = {
    "\0": "\\0", "\x07": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\x0b": "\\v",
    "\x0c": "\\f", "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\", "\x85": "\\N",
    "\u2028": "\\L", "\u2029": "\\P",
}  # fmt: skip
_BREAKS = "\n\r\x85\u2028\u2029"
_SIGNED_PREFIXES = ("0b-", "0b+", "0o-", "0o+")
_LINE_BREAKS = re.compile("\n+")
_PLAIN, _SINGLE, _DOUBLE, _LITERAL = "", "'", '"', "|"

WIDTH = 2**16  # libyaml's best_width: lines are folded at a space past this column
_INDENT = 2


def dump(data: object) -> str:
    e = _Emitter()
    e.document(data, explicit=False)
    return "".join(e.out)


def dump_all(docs: list) -> str:
    e = _Emitter()
    for data in docs:
        e.document(data, explicit=True)
    return "".join(e.out)


def _ambiguous(s: str) -> bool:
    if (s[:-1] if s[-1:] == "\n" else s) in _WORDS:
        return True
    c = s[1:2] if s[:1] in "+-" else s[:1]  # what _AMBIGUOUS can match starts so
    return c != "" and c in "0123456789." and _AMBIGUOUS.match(s) is not None


def _wide_escaped(c: str) -> bool:
    """A character past U+00FF that libyaml does not write raw (not "printable", or BOM)."""
    return c in _WIDE_ESCAPED or "\ud800" <= c <= "\udfff" or c > "\uffff"


def _double_only(s: str) -> bool:
    """Only double quotes can hold ``s``: libyaml escapes some character of it."""
    if _CONTROL.search(s):
        return True
    return not s.isascii() and max(s) >= "\u2028" and any(map(_wide_escaped, s))


def _escape(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    o = ord(c)
    return f"\\x{o:02X}" if o <= 0xFF else f"\\u{o:04X}" if o <= 0xFFFF else f"\\U{o:08X}"


def _escaped(c: str) -> bool:
    return c < " " or c in '"\\' or "\x7f" <= c <= "\x9f" or (c > "\xff" and _wide_escaped(c))


def _double_quoted(s: str) -> str:
    """The text between libyaml's double quotes (lines unfolded)."""
    if s.isascii():
        return _ESCAPED_ASCII.sub(lambda m: _escape(m.group()), s)
    return "".join(_escape(c) if _escaped(c) else c for c in s)


def _go_number(s: str) -> bool:
    """go-yaml reads ``s``, a plain scalar past _AMBIGUOUS, as a number."""
    c = s[0]
    if c in "+-0123456789":
        return ("_" in s or s[:3] in _SIGNED_PREFIXES) and re.match(_GO_NUMBER, s.replace("_", "")) is not None
    return c == "." and "_" in s and re.match(_GO_DOT_FLOAT, s) is not None


@lru_cache(maxsize=4096)
def _style(s: str) -> str:
    """The style libyaml chose for ``s`` in block context with the representer this module
    had, but for the two departures of the module docstring (double quotes)."""
    if "\n" in s and not _NEEDS_ESCAPE.search(s):
        # literal asked for; libyaml can write it unless a character needs escaping (the
        # literal is then always "|-": no leading or trailing white space)
        return _DOUBLE if _double_only(s) else _LITERAL
    if _ambiguous(s) or _double_only(s):
        return _DOUBLE
    if not s:
        return _SINGLE  # PyYAML resolves "" to null
    if "\n" in s:  # no plain; single quotes cannot hold a space next to a line break
        return _DOUBLE if " \n" in s or "\n " in s else _SINGLE
    if _NOT_PLAIN.search(s) or (s[0] == "." and "_" in s and re.match(_PY_FLOAT, s)):
        return _SINGLE
    return _DOUBLE if _go_number(s) else _PLAIN


class _Emitter:
    """libyaml's emitter state (column, indent, whitespace, indention) for block style."""

    __slots__ = ("out", "column", "indent", "whitespace", "indention")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.indent = -1
        self.whitespace = True
        self.indention = True

    # -- writers of libyaml

    def write_indent(self) -> None:
        indent = self.indent if self.indent >= 0 else 0
        column = self.column
        if not self.indention or column > indent or (column == indent and not self.whitespace):
            self.out.append("\n")
            column = 0
        if column < indent:
            self.out.append(" " * (indent - column))
            column = indent
        self.column = column
        self.whitespace = True
        self.indention = True

    def write_indicator(self, text: str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) -> None:
        if need_whitespace and not self.whitespace:
            self.out.append(" ")
            self.column += 1
        self.out.append(text)
        self.column += len(text)
        self.whitespace = is_whitespace
        self.indention = self.indention and is_indention

    # -- documents and nodes

    def document(self, data: object, explicit: bool) -> None:
        if explicit:
            self.write_indent()
            self.write_indicator("---", True, False, False)
        self.node(data, mapping=False, simple_key=False)
        self.write_indent()

    def node(self, data: object, mapping: bool, simple_key: bool) -> None:
        t = type(data)
        if t is str:
            self.scalar(data, _style(data), simple_key)  # type: ignore[arg-type]
        elif t is dict:
            if data:
                self.block_mapping(data)  # type: ignore[arg-type]
            else:
                self.write_indicator("{", True, True, False)
                self.write_indicator("}", False, False, False)
        elif t is list:
            if data:
                self.block_sequence(data, mapping)  # type: ignore[arg-type]
            else:
                self.write_indicator("[", True, True, False)
                self.write_indicator("]", False, False, False)
        elif t is bool:
            self.scalar("true" if data else "false", _PLAIN, simple_key)
        elif t is int:
            self.scalar(str(data), _PLAIN, simple_key)
        elif t is float:
            self.scalar(_float(data), _PLAIN, simple_key)  # type: ignore[arg-type]
        elif data is None:
            self.scalar("null", _PLAIN, simple_key)
        else:
            raise TypeError(f"cannot write a {t.__name__} as YAML: {data!r}")

    def block_mapping(self, data: dict) -> None:
        saved = self.indent
        self.indent = 0 if saved < 0 else saved + _INDENT
        for key, value in data.items():
            if type(key) is not str:
                raise TypeError(f"cannot write a {type(key).__name__} key as YAML: {key!r}")
            self.write_indent()
            style = _key_style(key)
            if style is _PLAIN:  # the common case, written here
                self.out.append(key + ":")
                self.column += len(key) + 1
                self.whitespace = self.indention = False
            elif style is not None:
                self.scalar(key, style, True)
                self.write_indicator(":", False, False, False)
            else:
                self.write_indicator("?", True, False, True)
                self.scalar(key, _style(key), False)
                self.write_indent()
                self.write_indicator(":", True, False, True)
            self.node(value, mapping=True, simple_key=False)
        self.indent = saved

    def block_sequence(self, data: list, mapping: bool) -> None:
        saved = self.indent
        if saved < 0:
            self.indent = 0
        elif not (mapping and not self.indention):  # indentless in a mapping
            self.indent = saved + _INDENT
        for item in data:
            self.write_indent()
            self.write_indicator("-", True, False, True)
            self.node(item, mapping=False, simple_key=False)
        self.indent = saved

    def scalar(self, s: str, style: str, simple_key: bool) -> None:
        saved = self.indent
        self.indent = _INDENT if saved < 0 else saved + _INDENT
        allow_breaks = not simple_key
        if style is _LITERAL:
            self.literal(s)
        elif allow_breaks and self.column + self.indent + 10 * len(s) + 4 > WIDTH:
            # a line this long may be folded: libyaml's writers, character by character
            if style is _PLAIN:
                self.plain_folded(s)
            elif style is _SINGLE:
                self.single_folded(s)
            else:
                self.double_folded(s)
        elif style is _PLAIN:
            if not self.whitespace:
                self.out.append(" ")
                self.column += 1
            self.out.append(s)
            self.column += len(s)
            self.whitespace = self.indention = False
        elif style is _SINGLE:
            self.write_indicator("'", True, False, False)
            text = s.replace("'", "''")
            if "\n" in text:
                pad = "\n" + " " * self.indent
                text = _LINE_BREAKS.sub(lambda m: m.group() + pad, text)
                self.column = len(text) - text.rindex("\n") - 1
            else:
                self.column += len(text)
            self.out.append(text)
            self.write_indicator("'", False, False, False)
        else:
            self.write_indicator('"', True, False, False)
            text = _double_quoted(s)
            self.out.append(text)
            self.column += len(text)
            self.write_indicator('"', False, False, False)
        self.indent = saved

    def literal(self, s: str) -> None:
        # "|-": s has no leading white space, no trailing white space, and no line break
        # but "\n" (see _style)
        self.write_indicator("|-", True, False, False)
        pad = " " * self.indent
        lines = s.split("\n")
        self.out.append("\n")
        self.out.append("\n".join(pad + line if line else "" for line in lines))
        self.column = self.indent + len(lines[-1])
        self.whitespace = True
        self.indention = False

    # -- libyaml's writers when a line may be folded (strings of thousands of characters)

    def put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def plain_folded(self, s: str) -> None:
        if not self.whitespace:
            self.put(" ")
        spaces = False
        n = len(s)
        for i, c in enumerate(s):
            if c == " ":
                if not spaces and self.column > WIDTH and not (i + 1 < n and s[i + 1] == " "):
                    self.write_indent()
                else:
                    self.put(c)
                spaces = True
            else:  # a plain scalar has no line break (see _style)
                self.put(c)
                self.indention = False
                spaces = False
        self.whitespace = self.indention = False

    def single_folded(self, s: str) -> None:
        self.write_indicator("'", True, False, False)
        spaces = breaks = False
        last = len(s) - 1
        for i, c in enumerate(s):
            if c == " ":
                if not spaces and self.column > WIDTH and 0 < i < last and s[i + 1] != " ":
                    self.write_indent()
                else:
                    self.put(c)
                spaces = True
            elif c in _BREAKS:
                if not breaks and c == "\n":
                    self.out.append("\n")
                self.out.append(c)
                self.column = 0
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put("''" if c == "'" else c)
                self.indention = spaces = breaks = False
        if breaks:
            self.write_indent()
        self.write_indicator("'", False, False, False)

    def double_folded(self, s: str) -> None:
        self.write_indicator('"', True, False, False)
        spaces = False
        last = len(s) - 1
        for i, c in enumerate(s):
            if _escaped(c):
                self.put(_escape(c))
                spaces = False
            elif c == " ":
                if not spaces and self.column > WIDTH and 0 < i < last:
                    self.write_indent()
                    if s[i + 1] == " ":
                        self.put("\\")
                else:
                    self.put(c)
                spaces = True
            else:
                self.put(c)
                spaces = False
        self.write_indicator('"', False, False, False)


@lru_cache(maxsize=4096)
def _key_style(key: str) -> str | None:
    """The style of a key libyaml writes ``key: value``: one line of at most 128 bytes; None
    for one it writes ``? key`` and ``: value`` on the next line."""
    if len(key) > 32 and len(key.encode("utf-8", "surrogatepass")) > 128:
        return None
    if not key.isascii() or "\n" in key or "\r" in key:
        if any(c in key for c in _BREAKS):
            return None
    return _style(key)


def _float(x: float) -> str:
    """PyYAML's spelling of a float."""
    if x != x:
        return ".nan"
    if x in (float("inf"), float("-inf")):
        return ".inf" if x > 0 else "-.inf"
    text = repr(x).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text
