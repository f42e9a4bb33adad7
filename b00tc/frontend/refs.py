"""Datum strings -> typed parts (Lit, Ref, HostVar) with the lark grammar grammar/ref.lark.

Strings without a ``$`` are all literal and never reach the parser: the common case costs
one ``in`` test. The parser is built on first use.
"""

from __future__ import annotations

import re
from functools import lru_cache

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
            parts.append(_stack_ref(node, text))
        else:
            name = str(node.children[0])
            op = str(node.children[1]) if len(node.children) > 1 else ""
            arg = str(node.children[2]) if len(node.children) > 2 else ""
            parts.append(HostVar(name=name, op=op, arg=arg))  # type: ignore[arg-type]
    return tuple(parts)


def _expr_start(text: str, pos: int) -> int:
    a = text.rfind("${", 0, pos + 1)
    b = text.rfind("$<", 0, pos + 1)
    return max(a, b, 0)


def _add_text(parts: list[Part], text: str) -> None:
    if parts and type(parts[-1]) is Lit:
        parts[-1] = Lit(text=parts[-1].text + text)  # type: ignore[union-attr]
    else:
        parts.append(Lit(text=text))


def _stack_ref(node, text: str) -> Ref:
    toks = [t for t in node.children if getattr(t, "type", "") == "SEG"]
    stack, service, field = (str(t) for t in toks)
    for tok, what in ((toks[0], "stack"), (toks[1], "service")):
        if not _NAME_RE.match(str(tok)):
            raise RefError(
                f"{what} name {str(tok)!r} in a reference is not a DNS-1123 label",
                tok.start_pos,
                tok.end_pos,
                help="names are lower-case letters, digits and '-', at most 63",
            )
    port = 0
    if re.fullmatch(r"[0-9]+", field):
        port = int(field) if len(field) <= 5 else 0
        if not 1 <= port <= 65535:
            raise RefError(
                f"port {field} is out of range 1-65535", toks[2].start_pos, toks[2].end_pos
            )
        field = "endpoint"
    elif field not in FIELDS:
        from b00tc.diagnostics import did_you_mean

        guess = did_you_mean(field, FIELDS)
        raise RefError(
            f"unknown reference field {field!r}",
            toks[2].start_pos,
            toks[2].end_pos,
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
