"""What every pass gets besides the program: where to report, and the build's targets."""

from __future__ import annotations

import msgspec

from b00tc.diagnostics import Diagnostics


class PassContext(msgspec.Struct):
    diags: Diagnostics
    targets: tuple[str, ...] = ()
