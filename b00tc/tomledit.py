"""Moving keys and dissolving tables in a tomlkit document without losing a comment, and
giving a rewritten text back its line endings. What migrate.py rewrites with.

A table's body is edited as a plain list of ``(key, item)`` entries (``entries`` /
``set_entries``): tomlkit's own delete leaves placeholders and its insert re-indexes, and
neither moves the comments that belong to a key. Which comments belong where:

- the comment lines directly above a key (no blank line between) belong to the key and
  travel with it; a comment at the end of a key's line travels with the key's item;
- the comment lines directly above a table header belong to the table; they sit at the end
  of whatever body is printed before the header (the previous table's, at any depth);
- a dissolved table's header comment (``[a.b]  # note``) becomes a comment line, and the
  comment lines after its last key stay where the table was (they precede the next header);
- a dropped key's comments stay where the key was, its end-of-line comment as a line.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from tomlkit.items import (
    AoT,
    Comment,
    InlineTable,
    Null,
    SingleKey,
    Table,
    Trivia,
    Whitespace,
)

Entries = list  # list[tuple[Key | None, Item]]


def _container(table):
    return table.value if isinstance(table, (Table, InlineTable)) else table  # or the document


def entries(table) -> Entries:
    return [(k, v) for k, v in _container(table).body if not isinstance(v, Null)]


def set_entries(table, new: Entries) -> None:
    """Replace the body of ``table`` (a Table or the document) by ``new``."""
    c = _container(table)
    c._body.clear()
    c._map.clear()
    c._table_keys.clear()
    c._validation_cache.clear()
    c._out_of_order_keys.clear()
    dict.clear(c)
    for i, (k, v) in enumerate(new):
        if isinstance(v, Whitespace) and i and isinstance(new[i - 1][1], Whitespace):
            continue  # two blank runs meet where an entry was taken out: one is enough
        c._raw_append(k, v)


def is_table(item) -> bool:
    return isinstance(item, (Table, AoT))


def is_key(entry) -> bool:
    return entry[0] is not None and not is_table(entry[1])


def find(es: Entries, key: str) -> int | None:
    return next((i for i, (k, _) in enumerate(es) if k is not None and k.key == key), None)


def first_table(es: Entries) -> int:
    return next((i for i, (_, v) in enumerate(es) if is_table(v)), len(es))


def comment_line(text: str) -> tuple[None, Comment]:
    return None, Comment(Trivia(comment=text, trail="\n"))


def _run_above(es: Entries, i: int) -> int:
    """Where the comment lines directly above ``es[i]`` start."""
    while i > 0 and isinstance(es[i - 1][1], Comment):
        i -= 1
    return i


def take(es: Entries, key: str, comments: bool = True) -> Entries:
    """Remove ``key`` from ``es``; it and (with ``comments``) the comment lines directly
    above it."""
    i = find(es, key)
    start = _run_above(es, i) if comments else i
    out = es[start : i + 1]
    del es[start : i + 1]
    return out


def drop(es: Entries, key: str) -> None:
    """Remove ``key`` from ``es``; its end-of-line comment stays there as a line."""
    i = find(es, key)
    comment = es[i][1].trivia.comment
    es[i : i + 1] = [comment_line(comment)] if comment else []


def rename(entry, new: str):
    """The entry under the name ``new``, spaced as it was (``a = 1``, ``a=1``)."""
    k, v = entry
    if k.key == new:
        return entry
    pad = k.as_string()[len(k.as_string().rstrip()) :]
    return SingleKey(new, sep=k.sep, original=new + pad), v


def _pop_tail(item) -> Entries:
    """The comment lines at the very end of what ``item`` (a table or an array of tables)
    prints, removed."""
    if isinstance(item, AoT):
        return _pop_tail(item.body[-1]) if item.body else []
    es = entries(item)
    if es and is_table(es[-1][1]):
        return _pop_tail(es[-1][1])
    start = _run_above(es, len(es))
    out = es[start:]
    if out:
        set_entries(item, es[:start])
    return out


def pop_header_comments(es: Entries, i: int) -> Entries:
    """The comment lines printed directly above the header of the table ``es[i]``, removed
    from where they are (``es`` itself, or the end of the table printed before it)."""
    if i > 0 and is_table(es[i - 1][1]):
        return _pop_tail(es[i - 1][1])
    start = _run_above(es, i)
    out = es[start:i]
    del es[start:i]
    return out


def unfold(entry):
    """A key of an inline table, as a line of its own."""
    k, v = entry
    v.trivia.indent, v.trivia.comment_ws, v.trivia.comment, v.trivia.trail = "", "", "", "\n"
    return SingleKey(k.key, sep=" = ", original=k.key) if k.is_bare() else k, v


def fold(es: Entries, trivia: Trivia) -> tuple[InlineTable, Entries]:
    """The keys of ``es`` as an inline table (``{ a = 1, b = 2 }``) with ``trivia``, and
    the comments an inline table cannot hold, as lines to put above it."""
    import tomlkit

    table = tomlkit.inline_table()
    lines: Entries = []
    for k, v in es:
        if k is None:
            if isinstance(v, Comment):
                lines.append((None, v))
            continue
        if v.trivia.comment:
            lines.append(comment_line(v.trivia.comment))
        v.trivia.indent, v.trivia.comment_ws, v.trivia.comment, v.trivia.trail = "", "", "", ""
        table.append(k, v)
    table.trivia.indent, table.trivia.comment_ws = trivia.indent, trivia.comment_ws
    table.trivia.comment, table.trivia.trail = trivia.comment, trivia.trail
    return table, lines


def _ends_blank(item) -> bool:
    return isinstance(item, Whitespace) or (is_table(item) and item.as_string().endswith("\n\n"))


def _strip_blank(es: Entries) -> Entries:
    while es and isinstance(es[0][1], Whitespace):
        es = es[1:]
    while es and isinstance(es[-1][1], Whitespace):
        es = es[:-1]
    return es


def dissolve(es: Entries, key: str) -> Entries:
    """Remove the table ``key`` from ``es``; its content, with every comment that belongs
    to it (above its header, on its header line, above and beside its keys). The comment
    lines after its last key stay in ``es`` where it was."""
    i = find(es, key)
    if isinstance(es[i][1], InlineTable):  # key = { ... }: a key, its comments above it
        *head, (_, table) = take(es, key)
        if table.trivia.comment:
            head.append(comment_line(table.trivia.comment))
        return head + [unfold(e) for e in entries(table) if e[0] is not None]
    head = pop_header_comments(es, i)
    i = find(es, key)
    table = es[i][1]
    if table.trivia.comment:
        head.append(comment_line(table.trivia.comment))
    body = entries(table)
    end = max((j + 1 for j, e in enumerate(body) if e[0] is not None), default=0)
    rest = body[end:]
    if i and not any(isinstance(v, Comment) for _, v in rest) and _ends_blank(es[i - 1][1]):
        rest = []  # a blank line is there already
    es[i : i + 1] = rest
    return head + _strip_blank(body[:end])


def _lines(es: Entries) -> Entries:
    """``es``, each entry ending its line (the last line of a file may end without one)."""
    for _, v in es:
        if not isinstance(v, (Whitespace, Null)) and "\n" not in v.trivia.trail:
            v.trivia.trail += "\n"
    return es


def insert_keys(es: Entries, new: Entries) -> None:
    """Put ``new`` (keys and their comment lines) after the last key of ``es``."""
    keys = [j for j, e in enumerate(es) if is_key(e)]
    at = keys[-1] + 1 if keys else 0
    es[at:at] = _lines(new)


def insert_table(es: Entries, key: str, table, at: int) -> None:
    """Put the new ``table`` at ``es[at]``; when that is another table's place, the comment
    lines above that table's header move below the new table, to stay above that header."""
    body = _lines(entries(table))
    above: Entries = []
    if at < len(es) and is_table(es[at][1]):
        header = es[at][1]
        above = pop_header_comments(es, at)
        at = next(i for i, (_, v) in enumerate(es) if v is header)
    if above:
        body += [(None, Whitespace("\n"))] + above
    elif at >= len(es) or not isinstance(es[at][1], Whitespace):
        body.append((None, Whitespace("\n")))
    set_entries(table, body)
    es.insert(at, (SingleKey(key), table))


_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def _split(text: str) -> tuple[list[str], list[str]]:
    bodies, ends = [], []
    for line in _LINE.findall(text):
        end = "\r\n" if line.endswith("\r\n") else "\n" if line.endswith("\n") else ""
        bodies.append(line[: len(line) - len(end)])
        ends.append(end)
    return bodies, ends


def with_endings(original: str, new: str) -> str:
    """``new`` (LF) with the line endings of ``original``: each line the two texts share
    (a difflib match) keeps its own ending, the others get the ending most of ``original``'s
    lines have (CRLF in a CRLF file)."""
    if "\r\n" not in original:
        return new
    old_bodies, old_ends = _split(original)
    dominant = "\r\n" if old_ends.count("\r\n") >= old_ends.count("\n") else "\n"
    bodies, ends = _split(new)
    kept: dict[int, str] = {}
    for tag, a, _, b, n in SequenceMatcher(None, old_bodies, bodies, autojunk=False).get_opcodes():
        if tag == "equal":
            for j in range(n - b):
                kept[b + j] = old_ends[a + j]
    return "".join(
        body + ((kept.get(i) or dominant) if end else "") for i, (body, end) in enumerate(zip(bodies, ends))
    )


def comments(container) -> list[str]:
    """Every comment of a tomlkit document or table: its lines and the ends of its lines
    (the comments inside an array travel with the array and are not listed)."""
    out: list[str] = []
    for _, v in _container(container).body:
        if isinstance(v, (Whitespace, Null)):
            continue
        if v.trivia.comment:
            out.append(v.trivia.comment.strip())
        if isinstance(v, Table):
            out += comments(v)
        elif isinstance(v, AoT):
            for t in v.body:
                out += ([t.trivia.comment.strip()] if t.trivia.comment else []) + comments(t)
    return out
