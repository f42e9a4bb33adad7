"""What the conformance datums of tests/e2e/datums are expected to do, and how a run's output
is read back. Shared by every e2e test module; no test in here.

The expected values are written out by hand (not derived from b00tc's own reference
parser), so that a run on a real engine is judged against the datum language as the README
states it: ``$$`` -> ``$``, ``$${`` -> ``${``, a ``$`` followed by anything else is literal,
and ``${STACK:e2e:page:endpoint|host|port}`` becomes what the README's table says on each
target.
"""

from __future__ import annotations

import http.client
import re
import socket
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
DATUMS = Path(__file__).resolve().parent / "datums"

#: every image the tests use is this one, built locally (conftest.py); nothing is pulled
IMAGE = "localhost/busybox:test"
HELPER_IMAGE = IMAGE

#: the page member: its container port (the service port) and the host port it publishes
PAGE_PORT = 28081
HOST_PORT = 28080
#: seconds the page member sleeps before httpd listens (page.docker.toml)
LATE = 5
#: what httpd serves (page.docker.toml writes it)
PAGE = "b00tc e2e page: served by httpd\n"
#: the job's exit code (probe.job.toml)
EXIT_CODE = 7

#: member env, stack-level first (page.docker.toml, e2e.stack.toml)
MEMBER_ENV = {
    "STACK_NOTE": "from the stack: $ and 50% %n",
    "PAGE_NOTE": "member env 100% it's $HOME",
}

#: where ${STACK:e2e:page:...} lands (README, "How each intent lands on each target")
ENDPOINTS = {
    "compose": (f"http://page:{PAGE_PORT}", "page", str(PAGE_PORT)),
    "k8s": (f"http://page:{PAGE_PORT}", "page", str(PAGE_PORT)),
    "bash": (f"http://localhost:{HOST_PORT}", "localhost", str(HOST_PORT)),
}


def expected_env(target: str) -> dict[str, str]:
    """The job's environment as the datum means it, on ``target``."""
    endpoint, host, port = ENDPOINTS[target]
    return {
        "PROBE_ENDPOINT": endpoint,
        "PROBE_HOST": host,
        "PROBE_PORT": port,
        "PROBE_URL": endpoint + "/index.html?q=$x&r=100%",
        "PROBE_QUOTES": "it's \"double\" and 'single' and `tick`",
        "PROBE_DOLLARS": "cost $5, $ and ${HOME} and $(date) and $$ and $",
        "PROBE_PERCENT": "100% %{x} %n %% %i %H",
        "PROBE_BACKSLASH": "C:\\path\\to\\file \\n is not a newline \\\\ \\",
        "PROBE_SPACES": "  padded  and  inner  ",
        "PROBE_NEWLINES": "line1\nline2\n\ttabbed\n",
        "PROBE_CR": "carriage\rreturn",
        "PROBE_EMPTY": "",
        "PROBE_YES": "yes",
        "PROBE_NO": "no",
        "PROBE_ON": "on",
        "PROBE_NULL": "null",
        "PROBE_TILDE": "~",
        "PROBE_HEX": "0x1F",
        "PROBE_EXP": "1e3",
        "PROBE_OCTAL": "0o17",
        "PROBE_INT": "007",
        "PROBE_UNICODE": "ünïcødé ✓ 日本語 🚀",
        "PROBE_TEMPLATE": "{{ .Values.x }} %{ nor this } $(not a command)",
        "PROBE_HASH": "# not a comment",
        "PROBE_COLON": "key: value",
        "PROBE_DASH": "-e not an option",
        "PROBE_EQUALS": "a=b=c",
        "PROBE_SEMI": "a; echo injected && false | true",
        "PROBE_GLOB": "* ? [a-z] ~root",
    }


def datum_env_names() -> list[str]:
    """The env names probe.job.toml declares (EXPECTED_ENV must cover exactly these)."""
    return list(tomllib.loads((DATUMS / "probe.job.toml").read_text(encoding="utf-8"))["b00t"]["env"])


def normalized(env: dict[str, str], target: str) -> dict[str, str]:
    """``env`` with this target's endpoint, host and port replaced by placeholders, so that
    what two targets saw can be compared: the reference is the only intended difference."""
    endpoint, host, port = ENDPOINTS[target]
    out = {}
    for k, v in env.items():
        if k == "PROBE_HOST":
            v = "<host>" if v == host else v
        elif k == "PROBE_PORT":
            v = "<port>" if v == port else v
        else:
            v = v.replace(endpoint, "<endpoint>")
        out[k] = v
    return out


def parse_output(data: bytes) -> tuple[str, dict[str, str]]:
    """(page, env) from the job's stdout: ``=== page``, what wget fetched (or ``fetch
    failed: N``), ``=== env``, ``busybox env -0``, a newline, ``=== end``."""
    _, found, rest = data.partition(b"=== page\n")
    assert found, f"no '=== page' in the job's output: {data[:500]!r}"
    page, found, rest = rest.partition(b"=== env\n")
    assert found, f"no '=== env' in the job's output: {data[:500]!r}"
    env_part, found, _ = rest.rpartition(b"\n=== end\n")
    assert found, f"no '=== end' in the job's output: {data[-500:]!r}"
    env = {}
    for entry in env_part.split(b"\0"):
        if entry:
            k, _, v = entry.partition(b"=")
            env[k.decode(errors="surrogateescape")] = v.decode(errors="surrogateescape")
    return page.decode(errors="replace"), env


def env_mismatches(seen: dict[str, str], want: dict[str, str]) -> list[str]:
    out = []
    for k, v in want.items():
        if k not in seen:
            out.append(f"{k}: missing (want {v!r})")
        elif seen[k] != v:
            out.append(f"{k}: got {seen[k]!r}, want {v!r}")
    return out


@dataclass
class Observation:
    """What one target's run of probe.job showed."""

    target: str
    exit_code: int
    page: str
    env: dict[str, str]  # the PROBE_* values the process saw (k8s: as kubelet would give)
    waited: bool | None = None  # did the job start only once the late service answered?
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return self.env.get("PROBE_ENDPOINT", "<missing>")

    @property
    def env_exact(self) -> bool:
        return not env_mismatches(self.env, expected_env(self.target))


def observe(target: str, stdout: bytes, exit_code: int, **kw) -> Observation:
    page, env = parse_output(stdout)
    names = set(expected_env(target))
    return Observation(target, exit_code, page, {k: v for k, v in env.items() if k in names}, **kw)


# -- k8s -----------------------------------------------------------------------------------

def manifest_docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def pod_from_job(text: str) -> str:
    """The Job of a b00tc k8s file as a ``kind: Pod`` whose spec is the Job's
    ``spec.template.spec`` *as b00tc wrote it*, byte for byte: the lines of the template are
    cut out of the text and dedented, never re-serialised (a YAML round trip could change
    how a value is quoted, e.g. PyYAML writes ``0o17`` or ``1e3`` unquoted, which Go's YAML
    then reads as numbers). podman kube play does not run ``batch/v1`` Job."""
    jobs = [d for d in re.split(r"^---$", text, flags=re.MULTILINE) if re.search(r"^kind: Job$", d, flags=re.MULTILINE)]
    assert len(jobs) == 1, "expected one Job in the manifest"
    lines = jobs[0].splitlines()
    start = lines.index("  template:")
    block = []
    for line in lines[start + 1:]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line[4:])
    assert block[0] == "metadata:" and "spec:" in block, block[:3]
    job = yaml.safe_load(jobs[0])
    body = "\n".join(block[1:])
    pod = f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {job['metadata']['name']}\n{body}\n"
    parsed = yaml.safe_load(pod)
    assert parsed["spec"] == job["spec"]["template"]["spec"]
    assert parsed["metadata"]["labels"] == job["spec"]["template"]["metadata"]["labels"]
    return pod


class KnownBug(Exception):
    """Raised by a test that shows a known b00tc bug (marked ``xfail(strict=True,
    raises=KnownBug)``, so that any other failure, in setup included, still fails)."""


# -- ports and waiting ---------------------------------------------------------------------

def port_in_use(port: int) -> bool:
    """Something listens on ``port`` (connections in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def fetch(url: str, timeout: float = 2.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode()
    except (OSError, http.client.HTTPException):
        return None


def wait_for_page(url: str, deadline_s: float) -> str | None:
    """Poll ``url`` until it serves, bounded; the body or None."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        body = fetch(url)
        if body is not None:
            return body
        time.sleep(0.3)
    return None


# -- the comparison table ------------------------------------------------------------------

def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    def line(r):
        return "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    return "\n".join([line(rows[0]), line(tuple("-" * w for w in widths)), *map(line, rows[1:])])
