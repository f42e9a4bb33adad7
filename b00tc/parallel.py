"""``b00tc build -j N``: a big build's work split over N processes.

The processes are forks of the build: each child inherits everything read so far (the
linked program, the source texts) without copying or pickling it, does its share and sends
back only what it made, pickled, through a pipe; the parent does the first share itself.
The parent then puts the shares together in the order of a serial build, so what a build
prints and writes does not depend on N (tests/test_parallel.py holds it to ``-j 1``).

Where there is no ``fork`` (Windows), the work runs in this process.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class WorkerFailed(RuntimeError):
    """A child died or raised something that is not an OSError: a bug, said as one."""


def fork_map(work: Callable[[T], R], shares: Sequence[T]) -> list[R]:
    """``[work(s) for s in shares]``, the first share in this process and each other one in
    a child forked for it. An exception in a share is raised here: the first share's as
    it is, an OSError of a child as that OSError (its errno and file name kept), anything
    else as WorkerFailed with the child's traceback."""
    if len(shares) <= 1 or not hasattr(os, "fork"):
        return [work(s) for s in shares]
    import pickle

    for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    pending: dict[int, int] = {}  # child pid -> the read end of its pipe, until reaped (in fork order)
    try:
        for share in shares[1:]:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_end)
                for fd in pending.values():
                    os.close(fd)
                _child(work, share, write_end, pickle)
            os.close(write_end)
            pending[pid] = read_end
        results = [work(shares[0])]
        failure: BaseException | None = None
        for pid in list(pending):
            with os.fdopen(pending[pid], "rb") as pipe:
                try:  # read as it is unpickled: the whole payload is never held at once
                    ok, value = pickle.load(pipe)
                except (EOFError, pickle.UnpicklingError):
                    ok, value = None, None
            _, status = os.waitpid(pid, 0)
            del pending[pid]
            if ok is None:
                why = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                       else f"exit status {os.waitstatus_to_exitcode(status)}")
                failure = failure or WorkerFailed(f"a build process ended without its result ({why})")
                continue
            if ok:
                results.append(value)
            else:
                failure = failure or value
        if failure is not None:
            raise failure
        return results
    finally:
        # on an exception (^C in the parent included): no child is left behind, and none
        # is killed in the middle of its work: each gets ^C too (a share that writes files
        # removes its own on ^C) and finds nobody reading its result
        import signal

        for pid, read_end in pending.items():
            try:
                os.close(read_end)
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGINT)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in pending:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _child(work: Callable, share: object, write_end: int, pickle) -> None:
    code = 0
    try:
        try:
            payload = pickle.dumps((True, work(share)), protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as e:
            payload = pickle.dumps((False, e), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as e:  # noqa: BLE001 - a bug, carried to the parent
            import traceback

            text = "".join(traceback.format_exception(e))
            payload = pickle.dumps((False, WorkerFailed(f"{type(e).__name__}: {e}\n{text}")))
        view = memoryview(payload)
        while view:
            view = view[os.write(write_end, view):]
    except BaseException:  # noqa: BLE001 - the parent sees no result and says so
        code = 1
    os._exit(code)
