"""HCL2 native syntax through a serialiser: a tree of blocks and attributes, rendered with
the escaping of the HCL native syntax specification (hashicorp/hcl, hclsyntax/spec.md).

A string attribute value is a *quoted template*. Its literal text is escaped so that
hclsyntax reads back exactly the Python string:

- ``\\`` -> ``\\\\``, ``"`` -> ``\\"``, newline/CR/tab -> ``\\n``/``\\r``/``\\t``, every
  other control character (Unicode category Cc) -> ``\\uNNNN``; other characters are
  written as UTF-8.
- The template introductions are escaped by doubling their leading character
  ("Template Literals"): ``${`` -> ``$${`` and ``%{`` -> ``%%{``. Where no ``}`` follows
  later in the same string the introduction is written ``\\u0024{`` / ``\\u0025{``
  instead: equally exact for hclsyntax (escape sequences are decoded after the template
  is scanned, so ``\\u0024{`` never opens an interpolation) and safe for tools that only
  recognise ``$${...}`` when it is closed (python-hcl2 rejects an unclosed ``$${``).

``Raw`` is a template written as is, for Nomad's runtime interpolations
(``"${device.model}"``, ``"${NOMAD_ALLOC_DIR}"``) that must stay unescaped.

Layout follows ``hclfmt`` / ``nomad fmt``: two-space indent, the ``=`` of consecutive
one-line attributes aligned, LF line ends, one trailing newline.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Mapping, Sequence, Union

import msgspec

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_INDENT = "  "
_MAX_INLINE = 100  # columns a list may take on one line before it is split


class Raw(msgspec.Struct, frozen=True):
    """A template source written between quotes unchanged, e.g. ``${device.model}``."""

    text: str

    def __post_init__(self) -> None:
        if any(c in self.text for c in '"\\\n\r'):
            raise ValueError(
                f"Raw template cannot hold quotes, backslashes or newlines: {self.text!r}"
            )


Value = Union[str, int, float, bool, Raw, Sequence["Value"], Mapping[str, "Value"]]


class Attribute(msgspec.Struct, frozen=True):
    name: str
    value: Value


class Comment(msgspec.Struct, frozen=True):
    """``# text``; a multi-line text becomes one comment line per line."""

    text: str


class Blank(msgspec.Struct, frozen=True):
    """An empty line between body items."""


class Block(msgspec.Struct):
    type: str
    labels: Sequence[str] = ()
    body: list["Item"] = msgspec.field(default_factory=list)

    def attr(self, name: str, value: Value) -> "Block":
        self.body.append(Attribute(name, value))
        return self

    def add(self, *items: "Item") -> "Block":
        self.body.extend(items)
        return self

    def block(self, type: str, *labels: str) -> "Block":
        """Append a nested block and return it."""
        child = Block(type, labels)
        self.body.append(child)
        return child


Item = Union[Attribute, Block, Comment, Blank]


# ---------------------------------------------------------------------------
# Strings


def escape_template(text: str) -> str:
    """The inside of a quoted template whose value is exactly ``text``."""
    out: list[str] = []
    n = len(text)
    for i, c in enumerate(text):
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c in "$%" and i + 1 < n and text[i + 1] == "{":
            if "}" in text[i + 2 :]:
                out.append(c + c)
            else:
                out.append(f"\\u{ord(c):04x}")
        elif unicodedata.category(c) == "Cc":
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        else:
            out.append(c)
    return "".join(out)


def quote(text: str) -> str:
    return '"' + escape_template(text) + '"'


def quote_label(text: str) -> str:
    """A block label is a plain string literal: template sequences are not allowed."""
    if "${" in text or "%{" in text:
        raise ValueError(f"a block label cannot hold a template sequence: {text!r}")
    return quote(text)


# ---------------------------------------------------------------------------
# Rendering


def dumps(body: Sequence[Item], header: Sequence[str] = ()) -> str:
    """Render a file: ``header`` lines as ``#`` comments, then the body."""
    lines: list[str] = []
    for h in header:
        lines.extend(_comment(h, ""))
    if header and body:
        lines.append("")
    _body(body, 0, lines)
    return "\n".join(lines) + "\n"


def _body(items: Sequence[Item], depth: int, lines: list[str]) -> None:
    pad = _INDENT * depth
    run: list[tuple[str, str]] = []  # consecutive one-line attributes, aligned together

    def flush() -> None:
        width = max((len(n) for n, _ in run), default=0)
        for name, value in run:
            lines.append(f"{pad}{name.ljust(width)} = {value}")
        run.clear()

    for item in items:
        if isinstance(item, Attribute):
            _check_ident(item.name)
            text = _value(item.value, depth)
            if "\n" in text:
                flush()
                lines.append(f"{pad}{item.name} = {text}")
            else:
                run.append((item.name, text))
            continue
        flush()
        if isinstance(item, Block):
            _block(item, depth, lines)
        elif isinstance(item, Comment):
            lines.extend(_comment(item.text, pad))
        elif isinstance(item, Blank):
            lines.append("")
        else:  # pragma: no cover
            raise TypeError(f"not an HCL body item: {item!r}")
    flush()


def _block(block: Block, depth: int, lines: list[str]) -> None:
    _check_ident(block.type)
    pad = _INDENT * depth
    head = " ".join([block.type, *(quote_label(label) for label in block.labels)])
    if not block.body:
        lines.append(f"{pad}{head} {{}}")
        return
    lines.append(f"{pad}{head} {{")
    _body(block.body, depth + 1, lines)
    lines.append(f"{pad}}}")


def _comment(text: str, pad: str) -> list[str]:
    return [f"{pad}# {line}".rstrip() for line in text.split("\n")]


def _value(value: Value, depth: int) -> str:
    if isinstance(value, Raw):
        return '"' + value.text + '"'
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"HCL has no literal for {value!r}")
        return repr(value)
    if isinstance(value, Mapping):
        return _object(value, depth)
    if isinstance(value, (list, tuple)):
        return _tuple(value, depth)
    raise TypeError(f"cannot render {type(value).__name__} as HCL: {value!r}")


def _tuple(items: Sequence[Value], depth: int) -> str:
    if not items:
        return "[]"
    rendered = [_value(v, depth + 1) for v in items]
    inline = "[" + ", ".join(rendered) + "]"
    if not any("\n" in r for r in rendered) and len(inline) + len(_INDENT) * depth <= _MAX_INLINE:
        return inline
    pad = _INDENT * (depth + 1)
    return "[\n" + "".join(f"{pad}{r},\n" for r in rendered) + _INDENT * depth + "]"


def _object(items: Mapping[str, Value], depth: int) -> str:
    if not items:
        return "{}"
    pad = _INDENT * (depth + 1)
    keys = [quote(str(k)) for k in items]
    width = max(len(k) for k in keys)
    body = "".join(
        f"{pad}{k.ljust(width)} = {_value(v, depth + 1)}\n"
        for k, v in zip(keys, items.values(), strict=True)
    )
    return "{\n" + body + _INDENT * depth + "}"


def _check_ident(name: str) -> None:
    if not _IDENT.match(name):
        raise ValueError(f"not an HCL identifier: {name!r}")
