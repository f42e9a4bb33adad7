"""Datum strings -> typed parts (Lit, Ref, HostVar); the language is the lark grammar
grammar/ref.lark.

Strings without a ``$`` are all literal and never reach a parser: the common case costs
one ``in`` test. A string with a ``$`` goes to ``_scan``, a hand-written scanner that
follows the grammar's terminals one for one (same regular expressions, same priorities
as lark's contextual lexer) and accepts exactly the strings the grammar accepts. It only
ever answers "these parts" or "not mine": a string it does not accept goes to the lark
parser built from grammar/ref.lark, which either parses it (the scanner would then have
drifted from the grammar, which tests/test_frontend.py's drift test makes sure it has
not) or raises the located error. So lark (about 45 ms to import and build) is loaded for
a datum with a bad reference only, and errors are lark's.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from b00tc.ir import HostVar, Lit, Part, Ref, Value

FIELDS = ("endpoint", "host", "port", "protocol")
_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

HELP = (
    "write ${STACK:<stack>:<service>:endpoint|host|port|protocol}, ${VAR}, ${VAR:-default} "
    "or ${VAR:?message}; $$ is a literal $ and $${ a literal ${"
)


class RefError(Exception):
    """A string that is not a valid sequence of parts: message, [start, end) offsets."""

    def __init__(self, message: str, start: int, end: int, help: str = HELP) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end
        self.help = help


_PARSER = None


def _parser():
    global _PARSER
    if _PARSER is None:
        from importlib.resources import files

        from lark import Lark

        grammar = files("b00tc.grammar").joinpath("ref.lark").read_text(encoding="utf-8")
        _PARSER = Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)
    return _PARSER


def parse_value(text: str, path: str = "") -> Value:
    """Parse one datum string. Raises RefError."""
    if "$" not in text:
        return Value(parts=(Lit(text=text),) if text else (), path=path)
    parts = _parse_cached(text)
    return Value(parts=parts, path=path)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> tuple[Part, ...]:
    spans = _scan(text)
    if spans is None:
        return _parse_lark(text)
    parts: list[Part] = []
    for kind, a, b in spans:
        if kind == "text":
            _add_text(parts, a)
        elif kind == "stack_ref":
            parts.append(_stack_ref(a, text))
        else:
            parts.append(HostVar(name=a, op=b[0], arg=b[1]))  # type: ignore[arg-type]
    return _merged(parts)


# The terminals of grammar/ref.lark, verbatim
_TEXT = re.compile(r"(?:[^$]|\$(?![{$<])|\$<(?!STACK:))+", re.S)
_SEG = re.compile(r"[^:}>$\s]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[^}]+", re.S)
_OPS = (":-", ":?", "-", "?")  # lark tries longer strings first


def _scan(text: str) -> Optional[list]:
    """The parts of ``text`` as (kind, a, b) triples, or None for a string this scanner
    does not accept (then lark decides). The same steps as the LALR parser with lark's
    contextual lexer: at the start of a part TEXT is tried first (its width is unbounded,
    so lark orders it first), then "$$", "${" and LANGLE; after "${", STACK (priority 2)
    before NAME; after a NAME, "}" or an OP and an optional WORD before "}"."""
    parts: list = []
    i, n = 0, len(text)
    while i < n:
        m = _TEXT.match(text, i)
        if m:
            parts.append(("text", m.group(), None))
            i = m.end()
        elif text.startswith("$$", i):
            parts.append(("text", "$", None))
            i += 2
        elif text.startswith("${STACK:", i) or text.startswith("$<STACK:", i):
            close = "}" if text[i + 1] == "{" else ">"
            j, segs = i + 8, []
            for k in range(3):
                m = _SEG.match(text, j)
                if not m:
                    return None
                segs.append((m.group(), m.start(), m.end()))
                j = m.end()
                if not text.startswith(":" if k < 2 else close, j):
                    return None
                j += 1
            parts.append(("stack_ref", segs, None))
            i = j
        elif text.startswith("${", i):
            m = _NAME.match(text, i + 2)
            if not m:
                return None
            j, op, arg = m.end(), "", ""
            if not text.startswith("}", j):
                op = next((o for o in _OPS if text.startswith(o, j)), "")
                if not op:
                    return None
                j += len(op)
                w = _WORD.match(text, j)
                if w:
                    arg, j = w.group(), w.end()
                if not text.startswith("}", j):
                    return None
            parts.append(("host_var", m.group(), (op, arg)))
            i = j + 1
        else:
            return None
    return parts


def _parse_lark(text: str) -> tuple[Part, ...]:
    """The reference: grammar/ref.lark's parser; raises RefError where it stops."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    try:
        tree = _parser().parse(text)
    except UnexpectedEOF:
        start = text.rfind("${")
        start = start if start >= 0 else max(0, text.rfind("$<"))
        raise RefError("unterminated reference expression", start, len(text)) from None
    except UnexpectedCharacters as e:
        pos = e.pos_in_stream
        char = text[pos] if pos < len(text) else ""
        raise RefError(
            f"unexpected {char!r} in reference expression", pos, pos + 1
        ) from None
    except UnexpectedToken as e:
        tok = e.token
        pos = getattr(tok, "start_pos", None)
        if pos is None or tok.type == "$END":
            start = _expr_start(text, len(text))
            raise RefError("unterminated reference expression", start, len(text)) from None
        raise RefError(f"unexpected {str(tok)[:1]!r} in reference expression", pos, pos + 1) from None
    parts: list[Part] = []
    for node in tree.children:
        kind = node.data
        if kind == "text":
            _add_text(parts, str(node.children[0]))
        elif kind == "dollar":
            _add_text(parts, "$")
        elif kind == "stack_ref":
            toks = [t for t in node.children if getattr(t, "type", "") == "SEG"]
            parts.append(_stack_ref([(str(t), t.start_pos, t.end_pos) for t in toks], text))
        else:
            name = str(node.children[0])
            op = str(node.children[1]) if len(node.children) > 1 else ""
            arg = str(node.children[2]) if len(node.children) > 2 else ""
            parts.append(HostVar(name=name, op=op, arg=arg))  # type: ignore[arg-type]
    return _merged(parts)


def _expr_start(text: str, pos: int) -> int:
    a = text.rfind("${", 0, pos + 1)
    b = text.rfind("$<", 0, pos + 1)
    return max(a, b, 0)


def _add_text(parts: list, text: str) -> None:
    """A piece of literal text; consecutive pieces become one Lit in ``_merged``."""
    parts.append(text)


def _merged(parts: list) -> tuple[Part, ...]:
    """The parts with each run of text pieces joined once into a Lit: linear, where adding
    each piece to the previous Lit copied the text so far ("$$" repeated was quadratic:
    5 MB took 99 s)."""
    out: list[Part] = []
    run: list[str] = []
    for p in parts:
        if type(p) is str:
            run.append(p)
            continue
        if run:
            out.append(Lit(text="".join(run)))
            run = []
        out.append(p)
    if run:
        out.append(Lit(text="".join(run)))
    return tuple(out)


def _stack_ref(segs: list, text: str) -> Ref:
    """A reference from its three SEG tokens: (text, start, end) each."""
    (stack, *_), (service, *_), (field, f_start, f_end) = segs
    for (seg, start, end), what in zip(segs, ("stack", "service")):
        if not _NAME_RE.match(seg):
            raise RefError(
                f"{what} name {seg!r} in a reference is not a DNS-1123 label",
                start,
                end,
                help="names are lower-case letters, digits and '-', at most 63",
            )
    port = 0
    if re.fullmatch(r"[0-9]+", field):
        port = int(field) if len(field) <= 5 else 0
        if not 1 <= port <= 65535:
            raise RefError(f"port {field} is out of range 1-65535", f_start, f_end)
        field = "endpoint"
    elif field not in FIELDS:
        from b00tc.diagnostics import did_you_mean

        guess = did_you_mean(field, FIELDS)
        raise RefError(
            f"unknown reference field {field!r}",
            f_start,
            f_end,
            help=(f"did you mean {guess!r}? " if guess else "")
            + "the field is endpoint, host, port, protocol or a port number",
        )
    return Ref(stack=stack, service=service, field=field, port=port)  # type: ignore[arg-type]


def render_source(value: Value) -> str:
    """The canonical datum spelling of a value (used by migrate and tests)."""
    out = []
    for p in value.parts:
        if type(p) is Lit:
            out.append(p.text.replace("$", "$$"))  # type: ignore[union-attr]
        elif type(p) is Ref:
            last = str(p.port) if p.port and p.field == "endpoint" else p.field  # type: ignore[union-attr]
            out.append(f"${{STACK:{p.stack}:{p.service}:{last}}}")  # type: ignore[union-attr]
        else:
            out.append(f"${{{p.name}{p.op}{p.arg}}}")  # type: ignore[union-attr]
    return "".join(out)
