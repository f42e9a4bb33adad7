"""The processes a direct job started, so that ``b00tc down`` stops all of them and
nothing else.

A job runs as a session leader (``start_new_session``); what it starts stays in its
session unless it calls ``setsid`` itself, whatever process groups it makes (bash's ``set
-m`` gives each background job its own group: ``killpg`` of the job's group missed them).
The supervising b00tc is also a child subreaper (prctl(2) ``PR_SET_CHILD_SUBREAPER``), so
what the job orphans, even after ``setsid``, is re-parented to it rather than to init,
and a watcher records every process below it with its start time in the job's state.

``b00tc down`` then stops, by pid and checked against the start time recorded or the
job's own start (a pid reused by another process is not the job's): every process of the
job's session, every recorded process still alive, and every descendant of those. It
never signals pid 1 or below, itself, or its ancestors.

Linux only (``/proc``); elsewhere the job's process group is all b00tc knows.
"""

from __future__ import annotations

import os
import threading
from typing import Callable, Iterable, NamedTuple, Optional


class Proc(NamedTuple):
    ppid: int
    session: int
    start: int  # clock ticks after boot (proc(5), /proc/PID/stat field 22)
    zombie: bool


def read_stat(pid: int) -> Optional[Proc]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return Proc(int(fields[1]), int(fields[3]), int(fields[19]), fields[0] in (b"Z", b"X"))
    except (OSError, IndexError, ValueError):
        return None


def snapshot() -> dict[int, Proc]:
    """Every process now, by pid; zombies included (a zombie still holds its pid)."""
    procs = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return procs
    for name in names:
        if name.isdigit():
            p = read_stat(int(name))
            if p is not None:
                procs[int(name)] = p
    return procs


def descendants(roots: Iterable[int], procs: dict[int, Proc]) -> set[int]:
    """The roots' children, their children, and so on (not the roots)."""
    children: dict[int, list[int]] = {}
    for pid, p in procs.items():
        children.setdefault(p.ppid, []).append(pid)
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def protected() -> set[int]:
    """This process and its ancestors: never signalled, whatever a state file says."""
    keep, pid = set(), os.getpid()
    while pid > 1 and pid not in keep:
        keep.add(pid)
        p = read_stat(pid)
        pid = p.ppid if p else 0
    return keep


def members(state: dict, procs: Optional[dict[int, Proc]] = None) -> set[int]:
    """The live processes of the job ``state`` records (see the module's docstring):
    its session's, when the leader is gone or is still the job (a pid stays unused while
    a session with its number exists, so the session is the job's); each recorded
    ``tree`` entry whose pid still has the recorded start time; and their descendants."""
    procs = snapshot() if procs is None else procs
    leader, start = state["pid"], state.get("proc_start")
    roots: set[int] = set()
    lead = procs.get(leader)
    if start is not None and (lead is None or str(lead.start) == start):
        started = int(start)
        roots |= {pid for pid, p in procs.items() if p.session == leader and p.start >= started}
    for pid, recorded in state.get("tree") or ():
        p = procs.get(pid)
        if p is not None and str(p.start) == recorded:
            roots.add(pid)
    keep = protected()
    roots = {pid for pid in roots if pid > 1 and pid not in keep}  # pid 1's descendants are all
    found = roots | descendants(roots, procs)
    return {pid for pid in found if pid > 1 and not procs[pid].zombie} - keep


def signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        if type(pid) is int and pid > 1:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def become_subreaper() -> bool:
    """prctl(PR_SET_CHILD_SUBREAPER, 1): orphans below this process come back to it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER, linux/prctl.h
    except (OSError, AttributeError):
        return False


#: a job that starts processes faster than this is recorded: the newest are found by
#: their session or as descendants of recorded ones at ``down``
MAX_TREE = 4096


class Watcher(threading.Thread):
    """While the supervisor runs: every ``interval`` seconds, record the processes below
    it (the job's, and what the job orphaned, which come back to the subreaper) through
    ``record([[pid, start], ...])`` when they change, and reap the orphans that ended
    (the job's own pid is left to Popen.wait)."""

    def __init__(self, job_pid: int, record: Callable[[list], None], interval: float = 0.2):
        super().__init__(daemon=True)
        self.job_pid, self.record, self.interval = job_pid, record, interval
        self.done = threading.Event()
        self.seen: dict[int, int] = {}

    def run(self) -> None:
        me = os.getpid()
        while True:
            finished = self.done.wait(self.interval)
            procs = snapshot()
            for pid in [pid for pid, p in procs.items() if p.ppid == me and p.zombie and pid != self.job_pid]:
                try:
                    os.waitpid(pid, os.WNOHANG)  # an orphan of the job that ended: no zombie left
                except ChildProcessError:
                    pass
            live = {pid: procs[pid].start for pid in descendants([me], procs)
                    if not procs[pid].zombie and pid != self.job_pid}
            if live.keys() != self.seen.keys():
                self.seen = dict(sorted(live.items())[:MAX_TREE])
                self.record([[pid, str(start)] for pid, start in self.seen.items()])
            if finished:
                return
