"""Reading the user's files: regular files only, and bounded. A FIFO on the search path,
``/dev/zero``, a folder or a 10 GB file is refused with a reason (E0002), never read until
memory runs out or waited on for ever."""

from __future__ import annotations

import os
import stat

#: a datum or an env file is a few KiB; 32 MiB leaves room for generated ones
MAX_BYTES = 32 << 20


class Unreadable(Exception):
    """Why a file is not read, as a diagnostic says it."""


def read_regular(path: str, limit: int = MAX_BYTES, follow: bool = True) -> bytes:
    """The bytes of the regular file ``path`` (a symbolic link to one is followed, unless
    ``follow`` is false); Unreadable when it is something else or larger than ``limit``.
    Opened without blocking, so that a FIFO is seen as one instead of waiting for a writer."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise Unreadable(e.strerror or str(e)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # before fdopen, which refuses a folder with its own error
        os.close(fd)
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise Unreadable(f"it is {kind}, not a regular file" if kind != "not a regular file" else kind)
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Unreadable(f"it is larger than {limit >> 20} MiB")
    return data


def read_stream(stream, limit: int = MAX_BYTES) -> bytes:
    """At most ``limit`` bytes of a stream (standard input); Unreadable past that, so that
    endless input (``yes | b00tc check -``) ends."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise Unreadable(f"it is larger than {limit >> 20} MiB")
    return data
