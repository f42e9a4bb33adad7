"""Passes: ``Program -> Program`` rewrites, one module each, run in the order of
``PIPELINE`` over the whole program, so that each datum is checked and rewritten once
however many roots use it. A pass never reads a file: the link phase has read them all."""

from __future__ import annotations

from typing import Callable

from b00tc.ir import Program
from b00tc.passes.annotate_budget import annotate_budget
from b00tc.passes.context import PassContext
from b00tc.passes.normalize_resources import normalize_resources
from b00tc.passes.resolve_references import resolve_references

Pass = Callable[[Program, PassContext], Program]

PIPELINE: tuple[Pass, ...] = (resolve_references, normalize_resources, annotate_budget)


def run(program: Program, ctx: PassContext) -> Program:
    for p in PIPELINE:
        program = p(program, ctx)
    return program
