"""Reporting diagnostics and writing output trees."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from b00tc import exitcodes
from b00tc.diagnostics import render_github, render_text, resolve_all, to_json

if TYPE_CHECKING:
    from b00tc.backends import OutputFile
    from b00tc.diagnostics import Diagnostics


def report(diags: "Diagnostics", fmt: str = "text", stream=None) -> int:
    """Print every diagnostic; return the exit code they mean (FAILED with an error, else OK)."""
    stream = stream or sys.stderr
    resolve_all(diags, diags.sources)
    errors = diags.errors
    warnings = len(diags) - errors
    if fmt == "json":
        import json

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
    return exitcodes.FAILED if errors else exitcodes.OK


def dest_path(root: str, target: str, f: "OutputFile", multi: bool) -> str:
    """Where an output goes: under ``root`` as given (relative stays relative)."""
    rel = f"{target}/{f.path}" if multi else f.path
    return os.path.join(root, *rel.split("/"))


def stale(root: str, outputs: list[tuple[str, "OutputFile"]], multi: bool) -> list[tuple[str, str | None, str]]:
    """The outputs whose file is missing or differs: (path, old text or None, new text)."""
    out = []
    for target, f in outputs:
        dest = dest_path(root, target, f, multi)
        try:
            with open(dest, "rb") as old:
                data = old.read()
        except OSError:
            out.append((dest, None, f.content))
            continue
        if data != f.content.encode("utf-8"):
            out.append((dest, data.decode("utf-8", "replace"), f.content))
    return out


def unified_diff(path: str, old: str | None, new: str) -> str:
    import difflib

    return "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=path if old is not None else "/dev/null",
            tofile=path,
        )
    )


def make_escape(path: str) -> str:
    """A path in a make rule: spaces and # escaped with a backslash, $ doubled."""
    return path.replace("$", "$$").replace("#", "\\#").replace(" ", "\\ ")


def depfile_text(rules: list[tuple[str, list[str]]]) -> str:
    """gcc -MD -MP style: one rule per written file naming every datum it was compiled
    from, and an empty rule per dependency so that make survives a deleted datum."""
    lines = []
    deps: list[str] = []
    for target, prereqs in rules:
        lines.append(f"{make_escape(target)}: {' '.join(make_escape(p) for p in prereqs)}")
        for p in prereqs:
            if p not in deps:
                deps.append(p)
    lines.append("")
    lines.extend(f"{make_escape(p)}:" for p in deps)
    return "\n".join(lines) + "\n"


def write_if_changed(path: str, text: str) -> bool:
    data = text.encode("utf-8")
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    except OSError:
        pass
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".b00tc-", dir=d)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)
    return True


def write_tree(
    root: str, outputs: list[tuple[str, "OutputFile"]], multi: bool, touch: bool = False
) -> list[str]:
    """Write every file under ``root`` through a temporary file and a rename. All temporary
    files are written before the first rename, so a failure leaves ``root`` as it was; a
    file whose bytes are unchanged is not touched (make's timestamps stay meaningful).
    Returns the paths that changed."""
    staged: list[tuple[str, str]] = []
    changed: list[str] = []
    created: list[str] = []
    unchanged: list[str] = []
    try:
        for target, f in outputs:
            dest = dest_path(root, target, f, multi)
            data = f.content.encode("utf-8")
            try:
                with open(dest, "rb") as old:
                    if old.read() == data and (os.stat(dest).st_mode & 0o777) == f.mode:
                        if touch:
                            unchanged.append(dest)
                        continue
            except OSError:
                pass
            _makedirs(os.path.dirname(dest) or ".", created)
            import tempfile

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
    for dest in unchanged:
        # make's rule for this file ran: the file is up to date with its datums even though
        # its bytes did not change (only with --depfile; otherwise mtimes are left alone)
        os.utime(dest)
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
