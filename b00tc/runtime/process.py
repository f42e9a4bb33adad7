"""Running an orchestrator's CLI and reading its answer: probes with a timeout (is it
usable here?), captured runs whose failures become the runtime's errors, and JSON answers.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from dataclasses import dataclass
from typing import Callable, Optional

from b00tc.exitcodes import OK, UNAVAILABLE
from b00tc.runtime.model import Command, LifecycleError

# ---------------------------------------------------------------------------------------
# Probes (detection)


@dataclass
class Probe:
    argv: list[str]
    code: Optional[int]  # None: timed out or could not start
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.code == 0

    def why(self) -> str:
        cmd = " ".join(self.argv)
        if self.timed_out:
            return f"`{cmd}` did not answer within {timeout():g} s"
        if self.code is None:
            return f"`{cmd}` could not start: {self.stderr}"
        detail = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return f"`{cmd}` exited {self.code}" + (f": {detail[-1][:160]}" if detail else "")


def timeout() -> float:
    """Seconds each probe has: ``B00TC_PROBE_TIMEOUT`` (default 5)."""
    try:
        return float(os.environ.get("B00TC_PROBE_TIMEOUT", "5"))
    except ValueError:
        return 5.0


def probe(argv: list[str], limit: Optional[float] = None, env: Optional[dict] = None) -> Probe:
    """Run a probe in its own process group; on timeout the whole group is killed, so a
    wrapper script whose child hangs cannot keep the pipes open."""
    limit = timeout() if limit is None else limit
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
        )
    except OSError as e:
        return Probe(argv, None, stderr=e.strerror or str(e))
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return Probe(argv, None, timed_out=True)
    return Probe(argv, proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


# ---------------------------------------------------------------------------------------
# Day-two runs: captured, their failures and answers as LifecycleError

Runner = Callable[[list[str]], subprocess.CompletedProcess]


def run_captured(argv: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise LifecycleError(f"cannot run {argv[0]}: not installed", UNAVAILABLE) from None
    except subprocess.TimeoutExpired:
        raise LifecycleError(f"`{shlex.join(argv)}` did not answer within 120 s", UNAVAILABLE) from None


def failed(argv: list[str], p: subprocess.CompletedProcess) -> LifecycleError:
    err = (p.stderr or p.stdout or "").strip().splitlines()
    return LifecycleError(f"`{shlex.join(argv)}` exited {p.returncode}" + (f": {err[-1]}" if err else ""), UNAVAILABLE)


def parse_json(argv: list[str], text: str):
    try:
        return json.loads(text or "null")
    except ValueError as e:
        raise LifecycleError(f"cannot read the answer of `{shlex.join(argv)}` as JSON: {e}", UNAVAILABLE) from None


def answer(argv: list[str], run: Runner) -> str:
    """The stdout of ``argv``; its failure as a LifecycleError."""
    p = run(argv)
    if p.returncode != 0:
        raise failed(argv, p)
    return p.stdout


def run_each(commands: list[Command], echo: Optional[Callable[[str], None]] = None) -> int:
    """Run each in the foreground, its output passed through (each shown first as ``+
    COMMAND`` when ``echo``); the last non-zero exit code."""
    code = OK
    for c in commands:
        if echo is not None:
            echo(f"+ {c.text()}")
        argv = c.runnable()
        try:
            code = subprocess.run(argv).returncode or code
        except FileNotFoundError:
            raise LifecycleError(f"cannot run {argv[0]}: not installed", UNAVAILABLE) from None
    return code
