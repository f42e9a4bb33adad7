"""``b00tc.backends._yaml``, our own YAML serialiser, against PyYAML.

The backends used to write YAML with PyYAML (libyaml's emitter, ``CSafeDumper``) and a
representer of their own; ``_pyyaml_dump`` below is that implementation, verbatim. On
generated documents -- nested dicts and lists, keys and values from hostile alphabets
(``$``, ``${``, ``%``, quotes, backslashes, ``#``, ``: ``, `` #``, blanks at either end,
tabs, LF, CR, NEL, U+2028/U+2029, BOM, C0/C1 controls, NUL, astral characters, YAML words
such as ``yes``/``off``/``~``/``1e3``/``0x1F``/``12:30``/``.inf``/``<<``/``=``, every
indicator first, ``---``, ``...``, ``""``), ints, bools, floats and None -- every example
must:

(a) read back, with PyYAML, as the very same data (``dump`` and ``dump_all``);
(b) be byte for byte what PyYAML wrote, but for the strings listed next, which PyYAML wrote
    in a form that some reader takes for something else and which we double-quote instead
    (``_pyyaml_dump(doc, quote=...)`` is PyYAML writing those strings double-quoted: the
    rest of the document must still be identical, byte for byte):

    - a string with U+2028 or U+2029. libyaml counts them as line breaks and wrote, for
      ``"a\\u2028b"``, ``'a<U+2028>  b'`` (single quotes, the next "line" indented). YAML 1.1
      readers (PyYAML, go-yaml) fold that back to ``a<U+2028>b``; YAML 1.2 took LS/PS out of
      the line breaks, so a 1.2 reader keeps the two indentation spaces: ``a<U+2028>  b``.
      We write ``"a\\Lb"``: ``\\L`` and ``\\P`` are escapes of double-quoted scalars in 1.1
      and in 1.2, read by PyYAML and by go-yaml v2/v3 alike.
    - a string PyYAML wrote plain and go-yaml (v2, v3: kubectl, docker compose v2) resolves
      to a number: go-yaml removes every ``_`` before ``strconv.ParseInt(s, 0, 64)`` and its
      float pattern, so ``-_1`` is the int -1 and ``1e_3`` the float 1000; it takes
      ``.5_5e3`` through ``strconv.ParseFloat`` (550), and ``0b-1`` / ``0o-7`` through
      ``ParseInt(s[2:], 2 or 8)`` (-1, -7). PyYAML (YAML 1.1) and YAML 1.2's core schema
      read them as strings, hence PyYAML's plain. A double-quoted scalar is a string to
      every reader, 1.1 or 1.2. ``_go_resolves`` is a port of go-yaml's ``resolve()``
      (with Go's own ``underscoreOK``), independent of the emitter's patterns.

(c) write plain only strings that go-yaml also reads as strings.

Line folding (past 65536 columns: never in practice) is compared at a width of 24.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from b00tc.backends import _yaml

# ---------------------------------------------------------------------------
# The implementation the emitter replaced (b00tc/backends/_yaml.py before it), verbatim but
# for ``quote``: strings to double-quote as well.

_AMBIGUOUS = re.compile(
    r"""^(?:
        ~|null|Null|NULL|
        y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|
        [-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|
        [-+]?0[xX][0-9a-fA-F_]+|[-+]?0[oO]?[0-7_]+|[-+]?0[bB][01_]+|
        [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|
        [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|
        [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*|
        =|<<
    )$""",
    re.X,
)


def _needs_escape(value: str) -> bool:
    return bool(re.search(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]| \n|\t|^\s|\s$", value))


def _pyyaml_dump(data: object, *, quote: frozenset = frozenset(), many: bool = False, width: int = 2**16) -> str:
    class Dumper(yaml.CSafeDumper):
        pass

    def _str(dumper, value):
        if "\n" in value and not _needs_escape(value):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        if _AMBIGUOUS.match(value) or value in quote:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    Dumper.add_representer(str, _str)
    options = dict(
        Dumper=Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=width,
        line_break="\n",
    )
    if many:
        return yaml.dump_all(data, explicit_start=True, **options)
    return yaml.dump(data, **options)


# ---------------------------------------------------------------------------
# go-yaml's resolve() for a plain scalar (gopkg.in/yaml.v2 2.4 and yaml.v3 3.0, resolve.go),
# with strconv's syntax (int64/uint64/float64 ranges left out: a number too large for Go
# still counts as a number here, so the check errs on the side of quoting).

_GO_WORDS = {
    *"y Y yes Yes YES on On ON n N no No NO off Off OFF".split(),  # v2 only
    *"true True TRUE false False FALSE ~ null Null NULL".split(),
    *".nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF <<".split(),
    "",
}
_GO_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def _go_parse_int(s: str, base: int = 0) -> bool:
    """strconv.ParseInt's syntax (no "_": resolve() removed them)."""
    if s[:1] in ("+", "-"):
        s = s[1:]
    if base == 0:
        prefix = s[:2].lower()
        if prefix in ("0x", "0o", "0b"):
            base, s = {"0x": 16, "0o": 8, "0b": 2}[prefix], s[2:]
        elif s[:1] == "0" and len(s) > 1:
            base, s = 8, s[1:]
        else:
            base = 10
    digits = "0123456789abcdefABCDEF"[: base if base <= 10 else 10 + 2 * (base - 10)]
    return s != "" and all(c in digits for c in s)


def _go_underscore_ok(s: str) -> bool:
    """strconv.underscoreOK, ported."""
    saw, i = "^", 0
    if s[:1] in ("+", "-"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i, saw, hexa = 2, "0", s[1].lower() == "x"
    for c in s[i:]:
        if c.isdigit() and c.isascii() or hexa and c.lower() in "abcdef":
            saw = "0"
            continue
        if c == "_":
            if saw != "0":
                return False
            saw = "_"
            continue
        if saw == "_":
            return False
        saw = "!"
    return saw != "_"


def _go_parse_float_dot(s: str) -> bool:
    """strconv.ParseFloat's syntax, for a string starting with "." (decimal only)."""
    m = re.fullmatch(r"\.([0-9_]*)(?:[eE][-+]?([0-9][0-9_]*))?", s)
    return bool(m and re.search("[0-9]", m.group(1)) and _go_underscore_ok(s))


def _go_resolves(s: str) -> bool:
    """go-yaml reads the plain scalar ``s`` as something else than the string ``s``."""
    if s in _GO_WORDS:
        return True
    hint = s[0]
    if hint in "+-0123456789":
        if re.match(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", s):  # maybe a timestamp: counts
            return True
        plain = s.replace("_", "")
        if _go_parse_int(plain) or _GO_YAML_FLOAT.match(plain):
            return True
        if plain.startswith("0b") and _go_parse_int(plain[2:], 2):
            return True
        if plain.startswith("-0b") and _go_parse_int("-" + plain[3:], 2):
            return True
        if plain.startswith("0o") and _go_parse_int(plain[2:], 8):  # v3
            return True
        if plain.startswith("-0o") and _go_parse_int("-" + plain[3:], 8):  # v3
            return True
    elif hint == ".":
        return _go_parse_float_dot(s)
    return False


def _pyyaml_plain(s: str) -> bool:
    return _pyyaml_dump({"k": s}) == f"k: {s}\n"


def _deviates(s: str) -> bool:
    """We double-quote ``s`` where PyYAML did not (module docstring, (b))."""
    return "\u2028" in s or "\u2029" in s or (s != "" and _go_resolves(s) and _pyyaml_plain(s))


def _strings(data: object):
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for k, v in data.items():
            yield k
            yield from _strings(v)
    elif isinstance(data, list):
        for v in data:
            yield from _strings(v)


def _deviating(*docs: object) -> frozenset:
    return frozenset(s for doc in docs for s in _strings(doc) if _deviates(s))


# ---------------------------------------------------------------------------
# Generated documents

_PIECES = [
    "$", "${", "$$", "$(", "%", "%{", "{{", "'", '"', "\\", "#", ": ", " #", " ", "  ", "\t",
    "\n", "\n\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\ufeff", "\x00", "\x07", "\x1b",
    "\x7f", "\x80", "\x9f", "\xa0", "\u3000", "\ufffe", "😀", "\U0010ffff", "é", "日本",
    "-", "?", ":", ",", "[", "]", "{", "}", "&", "*", "!", "|", ">", "@", "`", "~", "=",
    "<<", "---", "...", "_", ".", "0", "1", "9", "e", "E", "x", "b", "o", "+", "a", "Z",
]  # fmt: skip
_WORDS = [
    "", " ", "yes", "no", "on", "off", "y", "n", "Y", "N", "true", "False", "NULL", "null",
    "~", "1e3", "1E+3", "0x1F", "0o17", "017", "0b101", "12:30", "12:30:45.5", "190:20:30",
    ".inf", "-.inf", "+.INF", ".NaN", ".5", "-.5", "1.", "1_000", ".5_5", ".1_e+3", "<<", "=",
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2002-1-1 1:2:3", "-_1", "+_1_", "1e_3",
    ".5_5e3", ".5e3_0", "0b-1", "0b+1", "0o-7", "0_x1F", "0x_1F", "0X1f", "-", "- x", "? x",
    ": x", "-x", "?x", ":x", "#x", "a #b", "a#b", "a: b", "a:", "---", "...", "--- x", "@x",
    "`x", "%x", "!x", "&x", "*x", "|", ">", "'", '"', "it's", "x\ny", "x\ny\n", "\nx",
    "x\n\ny", "x \ny", "x\n y", "x\ty", "x\u2028y", "x\u2029", "😀", "x\n😀", "\ufeffx",
    "yes\n", "~\n", "1\n", "0x1F\n", "2001-12-14\n", "-_1\n", "yes\n\n", "1\n\n", "x\ry",
    "\r", "x\x85y", "x\u2028",
]  # fmt: skip
_piece = st.sampled_from(_PIECES) | st.characters(exclude_categories=("Cs",))
_text = st.one_of(
    st.sampled_from(_WORDS),
    st.lists(_piece, max_size=8).map("".join),
    st.tuples(
        st.sampled_from(_WORDS + _PIECES), st.lists(_piece, max_size=4).map("".join), st.sampled_from(_WORDS + _PIECES)
    ).map("".join),
)
# keys of about 128 bytes: libyaml writes "? key" past 128 bytes
_long_key = st.tuples(_text, st.sampled_from(["k", "é", "日", "😀"]), st.integers(28, 130)).map(
    lambda t: (t[0] + t[1] * t[2])[: max(t[2], 1)]
)
_key = _text | _long_key
_scalar = st.one_of(
    _text,
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
_doc = st.recursive(
    _scalar,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_key, children, max_size=4),
    max_leaves=12,
)
_SETTINGS = settings(max_examples=600, deadline=None, derandomize=True, database=None)


def _rendered_non_strings(data: object) -> set[str]:
    """How the emitter spells the ints, bools, floats and None of ``data``."""
    out: set[str] = set()
    if isinstance(data, dict):
        for v in data.values():
            out |= _rendered_non_strings(v)
    elif isinstance(data, list):
        for v in data:
            out |= _rendered_non_strings(v)
    elif not isinstance(data, str):
        out.add(_yaml.dump(data).removesuffix("\n"))
    return out


@_SETTINGS
@given(_doc, _doc)
def test_reads_back_and_matches_pyyaml(doc, other):
    text = _yaml.dump(doc)
    # (a) PyYAML reads back the very data
    assert yaml.safe_load(text) == doc
    # (b) PyYAML's bytes, but for the documented strings
    assert text == _pyyaml_dump(doc, quote=_deviating(doc))
    many = _yaml.dump_all([doc, other])
    assert list(yaml.safe_load_all(many)) == [doc, other]
    assert many == _pyyaml_dump([doc, other], quote=_deviating(doc, other), many=True)
    # (c) what is written plain is a string to go-yaml too
    strings = set(_strings(doc)) - _rendered_non_strings(doc)
    for event in yaml.parse(text):
        if isinstance(event, yaml.ScalarEvent) and event.style is None and event.value in strings:
            assert not _go_resolves(event.value), event.value


# words and runs of spaces, after something that picks a style: plain, single quotes (a
# quote or a blank first, a multi-line string with a blank last), double quotes (a tab)
_folded_text = st.tuples(
    st.sampled_from(["", "", "'", " ", "#", "- ", "\t", "yes ", "\n"]),
    st.lists(st.sampled_from(["a", "bb", "ccc", "dddd", " ", " ", " ", "  ", "'", '"', "\n", "é", "😀", "\\"]), max_size=40),
    st.sampled_from(["", "", " ", "\n", "'"]),
).map(lambda t: t[0] + "".join(t[1]) + t[2])


@_SETTINGS
@given(
    st.recursive(_folded_text, lambda c: st.lists(c, max_size=3) | st.dictionaries(_folded_text, c, max_size=3), max_leaves=6),
    st.integers(5, 40),
)
def test_folds_long_lines_like_libyaml(doc, width):
    saved, _yaml.WIDTH = _yaml.WIDTH, width
    try:
        text = _yaml.dump(doc)
    finally:
        _yaml.WIDTH = saved
    assert text == _pyyaml_dump(doc, quote=_deviating(doc), width=width)
    assert yaml.safe_load(text) == doc


@pytest.mark.parametrize(
    "value, written",
    [
        ("-_1", '"-_1"'),  # PyYAML: -_1
        ("1e_3", '"1e_3"'),
        (".5_5e3", '".5_5e3"'),
        ("0b-1", '"0b-1"'),
        ("0o-7", '"0o-7"'),
        ("a\u2028b", '"a\\Lb"'),  # PyYAML: 'a<LS>  b'
        ("x\u2029", '"x\\P"'),
        (".5_5", "'.5_5'"),  # as PyYAML (its resolver reads a float)
        ("1_000", '"1_000"'),
        ("0x_1F", '"0x_1F"'),
    ],
)
def test_the_strings_that_differ_from_pyyaml(value, written):
    assert _yaml.dump({"k": value}) == f"k: {written}\n"
    assert yaml.safe_load(_yaml.dump({"k": value})) == {"k": value}


def test_lone_surrogates_are_escaped():
    # PyYAML could not encode them at all; libyaml's rule (not printable: escaped) holds
    assert _yaml.dump({"k": "a\ud800"}) == 'k: "a\\uD800"\n'


def test_documents():
    assert _yaml.dump_all([]) == ""
    assert _yaml.dump_all([{}, [], "x", None]) == "--- {}\n--- []\n--- x\n--- null\n"
    assert _yaml.dump({"a": [{"b": [1, [2, True]]}, {}], "c\nd": {"e": None}, "f": 1.5}) == (
        "a:\n- b:\n  - 1\n  - - 2\n    - true\n- {}\n? |-\n  c\n  d\n: e: null\nf: 1.5\n"
    )
    assert _yaml.dump(float("nan")) == ".nan\n"


@pytest.mark.parametrize("value", [(1, 2), b"x", {1}, {1: "x"}, type("S", (str,), {})("x"), object()])
def test_anything_else_is_a_type_error(value):
    with pytest.raises(TypeError):
        _yaml.dump({"k": [value]})


def test_no_pyyaml_on_the_build_path():
    code = (
        "import sys; import b00tc.backends.k8s, b00tc.backends.compose; "
        "from b00tc.backends import _yaml; _yaml.dump_all([{'a': ['b']}]); "
        "sys.exit('yaml' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_floats_as_pyyaml():
    for x in [0.0, -0.0, 1.5, 1e17, 1e-05, -2.5e300, math.inf, -math.inf, 3.0, 0.1]:
        assert _yaml.dump([x]) == _pyyaml_dump([x])
