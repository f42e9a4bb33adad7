"""Issue 14: ``"$$"`` repeated in a value was quadratic (5 MB: 99 s): each ``$`` was added
to the Lit so far, copying it. The parts are now joined once per run of text.

Not a timing of the machine but of growth: parsing 8 times more input must take about 8
times longer, far from the 64 times a quadratic scan takes (the ratio is the best of three
runs, so load on the machine cancels out; before the fix it was 38 here)."""

from __future__ import annotations

import time

from b00tc.frontend.refs import _parse_cached, parse_value
from b00tc.ir import HostVar, Lit


def _best(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        _parse_cached.cache_clear()
        start = time.perf_counter()
        parse_value(text)
        best = min(best, time.perf_counter() - start)
    return best


def test_dollar_runs_parse_in_linear_time():
    small, large = "$$" * 50_000, "$$" * 400_000
    ratio = _best(large) / _best(small)
    assert ratio < 24, f"8x the input took {ratio:.1f}x the time"


def test_long_runs_keep_their_exact_text():
    value = parse_value("a$$" * 100_000 + "${X:-d}" + "$$b" * 3)
    assert value.parts == (Lit(text="a$" * 100_000), HostVar(name="X", op=":-", arg="d"), Lit(text="$b" * 3))
