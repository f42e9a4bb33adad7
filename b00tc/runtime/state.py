"""The state folder of direct jobs: ``b00tc deploy`` runs a direct job under a small
supervisor that records its pid, output and exit code, which ``b00tc status|logs|down``
read later.

Where: ``$B00TC_STATE_DIR``, else ``$XDG_STATE_HOME/b00tc``, else ``~/.local/state/b00tc``;
one folder ``direct/<datum name>`` per job, holding ``state.json``, ``pid`` and
``output.log``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Optional


def state_root() -> str:
    explicit = os.environ.get("B00TC_STATE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "b00tc")


def state_dir(name: str) -> str:
    return os.path.join(state_root(), "direct", name)


def state_file(name: str) -> str:
    return os.path.join(state_dir(name), "state.json")


def pid_file(name: str) -> str:
    return os.path.join(state_dir(name), "pid")


def log_file(name: str) -> str:
    return os.path.join(state_dir(name), "output.log")


def events_file(name: str) -> str:
    """Where a workflow's step runner writes its steps' lifecycle (``B00TC_STEP_EVENTS``,
    b00tc.runtime.steps.from_step_events)."""
    from b00tc.runtime.steps import EVENTS_FILE

    return os.path.join(state_dir(name), EVENTS_FILE)


def _proc_start(pid: int) -> Optional[str]:
    """The process's start time (field 22 of /proc/PID/stat): tells a pid reused by
    another process apart from the job's. None when no process runs there (a zombie has
    ended: it only waits for its parent to read its exit code)."""
    from b00tc.runtime.proctree import read_stat

    p = read_stat(pid)
    return None if p is None or p.zombie else str(p.start)


#: the largest state.json b00tc writes is well under this; a bigger one was not written by it
_MAX_STATE = 1 << 20


def read(name: str) -> Optional[dict]:
    """The job's recorded state; None when nothing is recorded, or when what is there is
    not a state b00tc writes (a tampered or truncated file, a folder, a FIFO): a pid that
    is an int above 1, a start time, an exit code that is an int or null."""
    from b00tc.frontend.files import Unreadable, read_regular

    try:
        state = json.loads(read_regular(state_file(name), _MAX_STATE, follow=False) or b"null")
    except (Unreadable, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return state if valid(state) else None


def valid(state) -> bool:
    """What b00tc writes: ``pid`` an int (not a bool) above 1, ``proc_start`` a string of
    digits (null when the job ended before b00tc read it), ``exit_code`` null or an int,
    ``tree`` (what the job started) absent or a list of ``[pid, start]`` pairs alike."""
    if not isinstance(state, dict):
        return False
    pid, start, code = state.get("pid"), state.get("proc_start"), state.get("exit_code")
    return (_pid_start(pid, start, None) and (code is None or type(code) is int)
            and _tree_valid(state.get("tree", [])))


def _pid_start(pid, start, missing) -> bool:
    return type(pid) is int and pid > 1 and (start is missing or isinstance(start, str) and start.isdigit())


def _tree_valid(tree) -> bool:
    from b00tc.runtime.proctree import MAX_TREE

    return (isinstance(tree, list) and len(tree) <= MAX_TREE
            and all(isinstance(e, list) and len(e) == 2 and _pid_start(e[0], e[1], ()) for e in tree))


def _write(folder: str, state: dict) -> None:
    """Atomically; silently nothing when the folder is gone (``down`` removed it)."""
    tmp = os.path.join(folder, "state.json.tmp")
    try:
        with open(tmp, "w") as f:
            json.dump(state, f, indent=2)
        os.replace(tmp, os.path.join(folder, "state.json"))
    except FileNotFoundError:
        pass


def alive(state: dict) -> bool:
    """The recorded process is still the job's and runs: its pid runs and started when the
    record says (a pid that runs no process has no start time: not alive)."""
    if not valid(state):
        return False
    start = _proc_start(state["pid"])
    return start is not None and start == state.get("proc_start")  # valid() takes a missing one as null


def running(state: dict) -> bool:
    """No exit code recorded, and the process is alive."""
    return state.get("exit_code") is None and alive(state)


def _signal_group(pid: int, sig: int) -> None:
    """``sig`` to the process group ``pid`` leads; never to pid 1 or below (``killpg(1)``,
    ``kill(-1)`` and ``kill(0)`` reach init's group, every process, or b00tc's own)."""
    if type(pid) is not int or pid <= 1:
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def prepare(name: str) -> str:
    """The job's state folder, made (0700: the output may hold secrets, the user's only);
    DeployError (exit 3) naming the folder when it cannot be: a file where a folder must
    be, no permission."""
    folder = state_dir(name)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
        if not os.path.isdir(folder):
            raise NotADirectoryError(20, "Not a directory")
    except OSError as e:
        from b00tc.runtime.model import DeployError

        raise DeployError(f"cannot use the state folder {folder} of direct jobs: {e.strerror or e} "
                          "(set B00TC_STATE_DIR to another folder)") from None
    return folder


def _try_lock(folder: str) -> Optional[int]:
    """The job's ``lock`` file, locked exclusively, or None when another b00tc holds it.
    The kernel drops the lock when that b00tc ends, however it ends. A lock taken on a
    file that ``down`` removed meanwhile locks nothing: then the folder is made again
    and the new file is locked."""
    import fcntl

    path = os.path.join(folder, "lock")
    while True:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        try:
            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _lock(folder: str, name: str) -> int:
    """The job's lock, or DeployError when another b00tc deploys the job now (two
    deploys overwrote each other's record, and ``down`` stopped one)."""
    fd = _try_lock(folder)
    if fd is None:
        from b00tc.runtime.model import DeployError

        current = read(name) or {}
        raise DeployError(f"job {name} is being deployed by another b00tc now"
                          + (f" (process {current['pid']})" if current.get("pid") else "")
                          + f": wait for it, or stop it with `b00tc down {name} --orchestrator direct`") from None
    return fd


def supervise(argv: list[str], name: str, env: Optional[dict] = None) -> int:
    """Run a direct job in the foreground like ``bash job.sh``, its stdout and stderr
    passed through byte for byte and also appended to the state folder's output.log; the
    pid and then the exit code recorded in state.json for ``b00tc status|logs|down``."""
    import threading
    from datetime import datetime, timezone

    from b00tc.runtime import proctree

    folder = prepare(name)
    lock = _lock(folder, name)  # held until this returns: one deploy of a job at a time
    previous = read(name)
    # what an earlier run left running stays the job's, for `down` to stop
    inherited = [[pid, _proc_start(pid)] for pid in sorted(processes(previous))] if previous else []
    inherited = [entry for entry in inherited if entry[1] is not None]
    log_path = log_file(name)
    now = lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: E731
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    os.fchmod(fd, 0o600)
    # a workflow's step runner writes its steps' lifecycle there (any other job ignores it);
    # the previous run's is gone first, so that status never reads it for this run
    events = events_file(name)
    try:
        os.unlink(events)
    except FileNotFoundError:
        pass
    env = {**(os.environ if env is None else env), "B00TC_STEP_EVENTS": events}
    proctree.become_subreaper()  # what the job orphans comes back here, to be recorded
    writing = threading.Lock()

    def record(**changes) -> None:
        with writing:
            state.update(changes)
            _write(folder, state)

    with os.fdopen(fd, "wb") as log:
        # its own session: `b00tc down` stops the job and whatever it started (proctree)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                start_new_session=True)
        state = {"pid": proc.pid, "proc_start": _proc_start(proc.pid), "started": now(),
                 "argv": argv, "exit_code": None}
        record()
        with open(pid_file(name), "w") as f:
            f.write(f"{proc.pid}\n")
        pump = threading.Thread(target=_pump, args=(proc, log), daemon=True)
        pump.start()
        if inherited:
            record(tree=inherited)
        watcher = proctree.Watcher(proc.pid, lambda tree: record(tree=(inherited + tree)[:proctree.MAX_TREE]))
        watcher.start()
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # Ctrl-C reaches b00tc only: pass it on to the job's group
            _signal_group(proc.pid, signal.SIGINT)
            code = proc.wait()
        pump.join()
        watcher.done.set()
        watcher.join()
    code = 128 - code if code < 0 else code  # killed by a signal: the shell's 128+N
    record(exit_code=code, finished=now())
    os.close(lock)
    return code


def _pump(proc: subprocess.Popen, log) -> None:
    """Copy the job's stdout and stderr to b00tc's and to the log. One reader polls both
    pipes and, when both have data, reads stdout first: what the job wrote to stdout before
    writing to stderr is in its pipe by then, so ``echo a; echo b >&2`` is logged ``a`` then
    ``b`` (two reader threads logged them in either order). Two pipes cannot say more:
    lines alternated faster than they are read are logged a chunk of each stream at a time.
    The log gets every byte even when b00tc's own stream is gone."""
    import selectors

    streams = [(proc.stdout.fileno(), sys.stdout.buffer), (proc.stderr.fileno(), sys.stderr.buffer)]
    passing = {fd: True for fd, _ in streams}
    with selectors.DefaultSelector() as sel:
        for fd, _ in streams:
            sel.register(fd, selectors.EVENT_READ)
        open_fds = {fd for fd, _ in streams}
        while open_fds:
            ready = {key.fd for key, _ in sel.select()}
            for fd, dst in streams:
                if fd not in ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    sel.unregister(fd)
                    open_fds.discard(fd)
                    continue
                log.write(chunk)
                log.flush()
                if passing[fd]:
                    try:
                        dst.write(chunk)
                        dst.flush()
                    except OSError:  # b00tc's stream is closed: keep draining to the log
                        passing[fd] = False


def processes(state: dict) -> set[int]:
    """The job's processes that run now: its own, what it started, what they started."""
    from b00tc.runtime import proctree

    return (proctree.members(state) | ({state["pid"]} if alive(state) else set())) - proctree.protected()


def stop(state: dict, grace: float = 10) -> list[int]:
    """SIGTERM to every process of the job (``processes``; one started meanwhile gets it
    too), SIGKILL to those left after ``grace`` seconds. Returns the pids still running
    2 s after that (none, unless the kernel holds them)."""
    from b00tc.runtime import proctree

    pid = state["pid"]
    if alive(state):
        _signal_group(pid, signal.SIGTERM)
    signalled: set[int] = set()
    deadline = time.monotonic() + grace
    while True:
        left = processes(state)
        proctree.signal_all(left - signalled, signal.SIGTERM)
        signalled |= left
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    deadline = time.monotonic() + 2
    while left and time.monotonic() < deadline:  # SIGKILL until none is left: a forking job starts more
        proctree.signal_all(left, signal.SIGKILL)
        time.sleep(0.05)
        left = processes(state)
    return sorted(left)


def wait_unlocked(name: str, timeout: float = 5) -> Optional[int]:
    """The job's lock once its deploying b00tc has written its last record and let go
    (``down`` removes the folder only then: a record written after would be the next
    deploy's), or None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while os.path.isdir(state_dir(name)):  # else another down removed it: nothing to lock
        fd = _try_lock(state_dir(name))
        if fd is not None or time.monotonic() >= deadline:
            return fd
        time.sleep(0.05)
    return None


def remove(name: str) -> None:
    import shutil

    shutil.rmtree(state_dir(name), ignore_errors=True)


def copy_output(name: str, follow: bool, out) -> None:
    """The job's output.log to ``out``; with ``follow``, until the job has stopped."""
    with open(log_file(name), "rb") as f:
        while True:
            chunk = f.read(65536)
            if chunk:
                out.write(chunk)
                out.flush()
                continue
            if not follow:
                return
            current = read(name)
            if current is None or current.get("exit_code") is not None or not alive(current):
                rest = f.read()
                out.write(rest)
                out.flush()
                return
            time.sleep(0.2)
