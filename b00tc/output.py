"""Reporting diagnostics and writing output trees."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import TYPE_CHECKING

from b00tc.diagnostics import render_github, render_text, to_json

if TYPE_CHECKING:
    from b00tc.backends import OutputFile
    from b00tc.frontend.loader import Diagnostics


def report(diags: "Diagnostics", fmt: str = "text", stream=None) -> int:
    """Print every diagnostic; return the exit code they mean (1 with an error, else 0)."""
    stream = stream or sys.stderr
    errors = diags.errors
    warnings = len(diags) - errors
    if fmt == "json":
        stream.write(json.dumps([to_json(d, diags.sources) for d in diags], indent=2) + "\n")
    elif fmt == "github":
        for d in diags:
            stream.write(render_github(d, diags.sources) + "\n")
    else:
        for d in diags:
            stream.write(render_text(d, diags.sources) + "\n\n")
        if errors:
            stream.write(
                f"b00tc: {errors} error{'s' * (errors != 1)}"
                + (f", {warnings} warning{'s' * (warnings != 1)}" if warnings else "")
                + "; nothing written\n"
            )
    stream.flush()
    return 1 if errors else 0


def write_tree(root: str, outputs: list[tuple[str, "OutputFile"]], multi: bool) -> list[str]:
    """Write every file under ``root`` through a temporary file and a rename. All temporary
    files are written before the first rename, so a failure leaves ``root`` as it was; a
    file whose bytes are unchanged is not touched (make's timestamps stay meaningful).
    Returns the paths that changed."""
    staged: list[tuple[str, str]] = []
    changed: list[str] = []
    created: list[str] = []
    try:
        for target, f in outputs:
            rel = f"{target}/{f.path}" if multi else f.path
            dest = os.path.join(root, *rel.split("/"))
            data = f.content.encode("utf-8")
            try:
                with open(dest, "rb") as old:
                    if old.read() == data and (os.stat(dest).st_mode & 0o777) == f.mode:
                        continue
            except OSError:
                pass
            _makedirs(os.path.dirname(dest) or ".", created)
            fd, tmp = tempfile.mkstemp(prefix=".b00tc-", dir=os.path.dirname(dest) or ".")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(tmp, f.mode)
            staged.append((tmp, dest))
    except BaseException:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        for d in reversed(created):
            try:
                os.rmdir(d)
            except OSError:
                pass
        raise
    for tmp, dest in staged:
        os.replace(tmp, dest)
        changed.append(dest)
    return changed


def _makedirs(path: str, created: list[str]) -> None:
    """os.makedirs that remembers which folders it made, so a failed write can undo them."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        _makedirs(parent, created)
    os.mkdir(path)
    created.append(path)
