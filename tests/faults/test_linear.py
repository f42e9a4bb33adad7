"""Issue 14: ``"$$"`` repeated in a value was quadratic (5 MB: 99 s): each ``$`` was added
to the Lit so far, copying it. The parts are now joined once per run of text.

Not a timing (bench/run.py times it: "value scan" row) but a count of the work: every
character the scanner puts in a Lit is counted, and that total must stay within a small
multiple of the input's length. The old scanner built a Lit per ``$`` holding all the text
before it: n(n+1)/2 characters for n of them (200 million for the first case here, which the released scanner copied; 20 000 now)."""

from __future__ import annotations

import pytest

from b00tc.frontend import refs
from b00tc.frontend.refs import _parse_cached, parse_value
from b00tc.ir import HostVar, Lit


@pytest.fixture
def copied(monkeypatch):
    """The characters put into Lits while parsing, counted: the scanner's ``Lit`` is a
    subclass that counts its text as it is made (a subclass, so that the scanner's own
    ``type(p) is Lit`` tests see what they saw)."""
    count = [0]

    class CountingLit(Lit):
        def __post_init__(self):
            count[0] += len(self.text)

    monkeypatch.setattr(refs, "Lit", CountingLit)
    _parse_cached.cache_clear()
    yield count
    _parse_cached.cache_clear()


@pytest.mark.parametrize("text", ["$$" * 20_000, "a$$" * 100_000 + "${X}" + "$$b" * 50_000, "$$$" * 100_000 + "x"])
def test_dollar_runs_copy_each_character_a_bounded_number_of_times(copied, text):
    parse_value(text)
    assert 0 < copied[0] <= 2 * len(text), f"{copied[0]} characters copied for {len(text)} of input"


def test_long_runs_keep_their_exact_text():
    value = parse_value("a$$" * 100_000 + "${X:-d}" + "$$b" * 3)
    assert value.parts == (Lit(text="a$" * 100_000), HostVar(name="X", op=":-", arg="d"), Lit(text="$b" * 3))
