"""What a backend gets besides the IR: build options and a place to report."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping, Optional

import msgspec

from b00tc.diagnostics import Diagnostic, Severity


class Context(msgspec.Struct):
    target: str
    #: host variables for the targets that resolve them at build time
    #: (--set over --env-file over the process environment)
    env: Mapping[str, str] = msgspec.field(default_factory=dict)
    #: the image of the small helpers b00tc adds (k8s initContainers, compose and Nomad
    #: wait tasks); it needs /bin/sh, nc and sleep
    helper_image: str = "busybox:1.36"
    #: seconds a generated wait gives a service before it fails
    wait_timeout: int = 300
    diagnostics: list[Diagnostic] = msgspec.field(default_factory=list)
    #: the nodes already lowered in this build, shared by the contexts of one build (every
    #: unit and every target): see ``reporting_once``
    lowered: set = msgspec.field(default_factory=set)
    #: (node, start, end): the diagnostics each ``reporting_once`` block kept because its
    #: node was new to ``lowered``, as indices into ``diagnostics``: what
    #: ``b00tc.compiler`` drops when it merges renders made apart (``-j``) and an earlier
    #: render, in the order of a serial build, lowered that node first
    once_log: list = msgspec.field(default_factory=list)
    #: the files of run-time values the rendered units read (systemd's EnvironmentFile=):
    #: what ``b00tc env`` resolves and prints; the build itself never resolves them
    env_files: list = msgspec.field(default_factory=list)
    #: the target's options (b00tc.target_options): ``ctx.options["namespace"]``
    options: Mapping[str, Optional[str]] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.options:  # none given: the target's defaults
            from b00tc.backends._options import defaults

            self.options = defaults(self.target)

    @contextmanager
    def reporting_once(self, node: tuple) -> Iterator[None]:
        """Lower a node that more than one output of the build includes (a required stack's
        members in a compose job file and in the stack's own; a job's wait, which both
        direct targets check the same way): what it reports is kept the first time only.
        ``node`` says which node, and includes the target when the finding is the target's."""
        first = node not in self.lowered
        self.lowered.add(node)
        start = len(self.diagnostics)
        yield
        if not first:
            del self.diagnostics[start:]
        elif len(self.diagnostics) > start:
            self.once_log.append((node, start, len(self.diagnostics)))

    def warn(self, code: str, message: str, file: str, path: str = "", help: str = "") -> None:
        self.diagnostics.append(
            Diagnostic(Severity.WARNING, code, message, file=file, path=path, help=help)
        )

    def error(self, code: str, message: str, file: str, path: str = "", help: str = "") -> None:
        self.diagnostics.append(
            Diagnostic(Severity.ERROR, code, message, file=file, path=path, help=help)
        )

    def cannot_express(self, what: str, file: str, path: str = "", help: str = "") -> None:
        """The target has no way to carry an intent: the one warning for that."""
        self.warn("W0301", f"target {self.target} cannot express {what}", file, path, help)
