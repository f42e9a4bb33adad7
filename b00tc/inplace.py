"""Reading a user's file and rewriting it in place, as an editor does (``b00tc migrate
--write``): a symbolic link is resolved and the file it points to is written (the link
stays a link, wherever it points); the file keeps its mode, and its owner and group where
b00tc may set them; the new bytes reach the disk before they replace the old ones."""

from __future__ import annotations

import os
import stat

from b00tc.diagnostics import Diagnostics, Span

#: the prefix of the short-lived name a new file has before it replaces the old one
TEMP_PREFIX = ".b00tc-migrate-"


def read_text(path: str, diags: Diagnostics) -> str | None:
    """The UTF-8 text of the regular file ``path`` (a link to one is followed); None, with a
    located error in ``diags``, when it cannot be read (E0002) or is not UTF-8 (E0001)."""
    from b00tc.frontend.files import Unreadable, read_regular

    try:
        data = read_regular(path)
    except Unreadable as e:
        diags.error("E0002", f"cannot read {path}: {e}", path)
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        diags.sources[path] = data.decode("utf-8", "replace")
        line = data[: e.start].count(b"\n") + 1
        start = data.rfind(b"\n", 0, e.start) + 1
        col = len(data[start : e.start].decode("utf-8", "replace")) + 1
        diags.error("E0001", "the file is not UTF-8 text", path, span=Span(line, col, line, col + 1),
                    help="TOML files are UTF-8")
        return None
    diags.sources[path] = text
    return text


def write_in_place(path: str, data: bytes) -> None:
    """Replace the file at ``path`` (at the end of its links) by ``data`` in one rename: a
    crash leaves the old file or the new one. The new bytes go to a temporary file in the
    same folder, are flushed to the disk and get the old file's mode (and owner and group,
    where allowed) before the rename onto the resolved path; the folder is flushed after
    it. The temporary file is removed on any error and on Ctrl-C; only a signal that ends
    the process (SIGTERM, SIGKILL) or a power cut between its creation and the rename
    leaves it behind (a ``.b00tc-migrate-*`` file next to the datum, the datum intact)."""
    import tempfile

    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    st = os.stat(target)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        _keep_owner(tmp, st)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))  # after the owner: chown clears set-id bits
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _sync_folder(folder)


def _keep_owner(path: str, st: os.stat_result) -> None:
    """The old file's owner and group; its group alone when only that is allowed (a member
    of the group); neither for someone else's file (the new one is then the writer's)."""
    for uid in (st.st_uid, -1):
        try:
            os.chown(path, uid, st.st_gid)
            return
        except OSError:
            continue


def _sync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
