"""Passes: IR -> IR rewrites, one module each, run in the order of ``PIPELINE``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import msgspec

if TYPE_CHECKING:
    from b00tc.diagnostics import Diagnostics
    from b00tc.frontend.search import SearchPath
    from b00tc.ir import Unit


class PassContext(msgspec.Struct):
    diags: "Diagnostics"
    search: "SearchPath"
    targets: tuple[str, ...] = ()
    #: compiled stacks by name, shared by every root of one run
    stacks: dict = msgspec.field(default_factory=dict)
    #: members by "<name>.docker", shared likewise
    members: dict = msgspec.field(default_factory=dict)


Pass = Callable[["Unit", PassContext], "Unit"]


def pipeline() -> tuple[Pass, ...]:
    from b00tc.passes.annotate_budget import annotate_budget
    from b00tc.passes.normalize_resources import normalize_resources
    from b00tc.passes.resolve_references import resolve_references

    return (resolve_references, normalize_resources, annotate_budget)


def run(unit: "Unit", ctx: PassContext) -> "Unit":
    for p in pipeline():
        unit = p(unit, ctx)
    return unit
