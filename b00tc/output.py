"""Reporting diagnostics and writing output trees."""

from __future__ import annotations

import errno
import os
import stat
import sys
from typing import TYPE_CHECKING, NamedTuple

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


class LinkedFolder(OSError):
    """A folder between the output folder and an output file is a symbolic link: b00tc
    does not write (nor read, for --check and --diff) through it, wherever it points."""

    def __init__(self, path: str):
        super().__init__(
            errno.ELOOP,
            "it is a symbolic link, and b00tc does not write or read through a symbolic "
            "link below the output folder (make it a real folder, or remove it)",
            path,
        )


def _check_folders(root: str, target: str, f: "OutputFile", multi: bool) -> None:
    """Raise LinkedFolder if a folder on the way from ``root`` (followed: the user gave it)
    to the output file is a symbolic link; a folder that does not exist yet is fine."""
    parts = (f"{target}/{f.path}" if multi else f.path).split("/")[:-1]
    path = root
    for part in parts:
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            raise LinkedFolder(path)


def _read_existing(dest: str) -> tuple[bytes, int] | None:
    """The bytes and permission bits of the regular file at ``dest``, never following a
    symbolic link: None when there is none (missing, a link, a fifo, ...). A folder there
    is an error (IsADirectoryError), raised before anything is renamed."""
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), dest)
    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        fd = os.open(dest, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None  # replaced by a link since the lstat, unreadable, ...: rewrite it
    with os.fdopen(fd, "rb") as old:
        st = os.fstat(old.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        return old.read(), stat.S_IMODE(st.st_mode)


def stale(root: str, outputs: list[tuple[str, "OutputFile"]], multi: bool) -> list[tuple[str, str | None, str, str]]:
    """The outputs whose file is missing or differs: (path, old text or None, new text,
    why: "missing", "stale" or "symlink"). A symbolic link at an output path differs
    whatever it points to (a build replaces it) and is not read. Raises LinkedFolder when
    a folder on the way is a symbolic link, IsADirectoryError when a folder is at an
    output path."""
    out = []
    for target, f in outputs:
        dest = dest_path(root, target, f, multi)
        _check_folders(root, target, f, multi)
        old = _read_existing(dest)
        if old is None:
            why = "missing" if not os.path.lexists(dest) else "symlink" if os.path.islink(dest) else "stale"
            out.append((dest, None, f.content, why))
        elif old[0] != f.content.encode("utf-8"):
            out.append((dest, old[0].decode("utf-8", "replace"), f.content, "stale"))
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


def write_if_changed(path: str, text: str, mode: int | None = None) -> bool:
    """Write ``text`` to ``path`` through a temporary file and a rename, unless the regular
    file there already has these bytes (and ``mode``, when given). The file gets ``mode``
    whatever the umask; without it, a new file is 0600 (mkstemp's) and a rewritten one
    keeps its mode. A symbolic link at ``path`` is replaced, never followed. Returns
    whether the file was written."""
    data = text.encode("utf-8")
    old = _read_existing(path)
    if old is not None and old[0] == data and (mode is None or old[1] == mode):
        return False
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".b00tc-", dir=d)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if mode is not None or old is not None:
                os.fchmod(out.fileno(), mode if mode is not None else old[1])
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True


#: below this many files a build writes them in one process whatever ``-j`` says
PARALLEL_MIN_WRITES = 256


def write_tree(
    root: str, outputs: list[tuple[str, "OutputFile"]], multi: bool, touch: bool = False, jobs: int = 1
) -> list[str]:
    """Write every file under ``root`` through a temporary file and a rename. All temporary
    files are written before the first rename, so a failure leaves ``root`` as it was; a
    file whose bytes and mode are unchanged is not touched (make's timestamps stay
    meaningful). Each file gets its declared mode (OutputFile.mode) whatever the umask.

    ``root`` itself is followed if it is a symbolic link (the user gave it); below it, a
    symbolic link at an output file is replaced by the file (never followed, read or
    touched), and a symbolic link at a folder on the way is refused (LinkedFolder, before
    anything is written), wherever it points. Returns the paths that changed.

    With ``jobs`` > 1 the temporary files are written by that many processes (a share of
    the files each); the renames are done here, in order, once every share is written. A
    failure is the one the first failing file, in order, would give in one process."""
    checked: set[str] = set()
    for target, f in outputs:
        folder = f"{target}/{f.path}" if multi else f.path
        folder = folder.rpartition("/")[0]
        if folder not in checked:  # the same folders for thousands of files: each once
            _check_folders(root, target, f, multi)
            checked.add(folder)
    items = [(i, dest_path(root, target, f, multi), f) for i, (target, f) in enumerate(outputs)]
    jobs = min(jobs, len(items) // (PARALLEL_MIN_WRITES // 2) or 1)  # one below the minimum
    if jobs > 1:
        from b00tc.parallel import fork_map

        shares = fork_map(lambda share: _stage(share, touch), [items[k::jobs] for k in range(jobs)])
    else:
        shares = [_stage(items, touch)]
    staged = sorted(x for share in shares for x in share.staged)
    created = [d for share in shares for d in share.created]
    failures = [share.failure for share in shares if share.failure is not None]
    if failures:
        _undo(staged, created)
        raise min(failures, key=lambda failure: failure[0])[1]
    changed: list[str] = []
    for _, tmp, dest in staged:
        os.replace(tmp, dest)
        changed.append(dest)
    for _, dest in sorted(x for share in shares for x in share.unchanged):
        # make's rule for this file ran: the file is up to date with its datums even though
        # its bytes did not change (only with --depfile; otherwise mtimes are left alone).
        # It was a regular file when read; never follow a link planted since.
        os.utime(dest, follow_symlinks=False)
    return changed


class _Staged(NamedTuple):
    staged: list  # (index, temporary file, destination)
    unchanged: list  # (index, destination), with touch only
    created: list  # the folders made
    failure: "tuple[int, BaseException] | None"  # (index, the error), the first of the share


def _stage(items: list, touch: bool) -> _Staged:
    """Write the temporary file of each (index, destination, OutputFile) whose bytes or
    mode differ, stopping at the first that fails (the failure is returned, for the caller
    to undo every share). ^C: its own temporary files and folders removed, then raised."""
    staged: list = []
    created: list[str] = []
    unchanged: list = []
    i = -1
    try:
        import tempfile

        for i, dest, f in items:
            data = f.content.encode("utf-8")
            old = _read_existing(dest)
            if old is not None and old == (data, f.mode):
                if touch:
                    unchanged.append((i, dest))
                continue
            _makedirs(os.path.dirname(dest) or ".", created)
            fd, tmp = tempfile.mkstemp(prefix=".b00tc-", dir=os.path.dirname(dest) or ".")
            staged.append((i, tmp, dest))
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                os.fchmod(out.fileno(), f.mode)
    except Exception as e:  # noqa: BLE001 - an OSError is said; anything else is a bug, raised
        return _Staged(staged, unchanged, created, (i, e))
    except BaseException:
        _undo(staged, created)
        raise
    return _Staged(staged, unchanged, created, None)


def _undo(staged: list, created: list[str]) -> None:
    """Remove the temporary files of ``staged`` ((index, temporary file, destination)) and
    the folders made for them, deepest first (a folder another process still fills stays)."""
    for _, tmp, _ in staged:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    for d in sorted(created, key=len, reverse=True):
        try:
            os.rmdir(d)
        except OSError:
            pass


def _makedirs(path: str, created: list[str]) -> None:
    """os.makedirs that remembers which folders it made, so a failed write can undo them."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        _makedirs(parent, created)
    try:
        os.mkdir(path)
    except FileExistsError:
        if os.path.isdir(path):  # made by another process of the build (-j) just now
            return
        raise
    created.append(path)
