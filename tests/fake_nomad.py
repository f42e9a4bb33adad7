"""A fake Nomad HTTP API on 127.0.0.1 that records every request: enough of Nomad for the
real MCP server (npm @kocierik/mcp-nomad-*) to start, and to see what it asks.

What it answers, in Nomad's shapes (https://developer.hashicorp.com/nomad/api-docs):

- ``GET /v1/status/leader``: an address (the server asks it at start and exits without one);
- ``POST|PUT /v1/jobs/parse`` ``{"JobHCL"}``: the job, parsed with python-hcl2 into the few
  fields b00tc reads back (ID, Name, Type, Namespace, Meta, TaskGroups[].Tasks[].Name);
  a job that is not HCL gets Nomad's 400;
- ``POST|PUT /v1/jobs`` ``{"Job"}``: registers it (``{"EvalID", ...}``);
- ``GET /v1/job/<id>``: the registered job, ``Status`` "running" (404 "job not found" else);
- ``GET /v1/job/<id>/allocations``: one allocation per task group, each task in
  ``task_state`` (running);
- ``GET /v1/client/fs/logs/<alloc>?task=T&type=stdout|stderr``: ``logs[(T, type)]``, else a
  line naming them;
- ``DELETE /v1/job/<id>``: deregisters it;
- ``PUT|POST /v1/var/<path>`` ``{"Items"}``: the Variable, replaced as Nomad does.

``jobs`` may be preset (a job b00tc did not deploy, to be refused).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


def parse_job(hcl_text: str) -> dict:
    """The Nomad API job of a job file, as far as b00tc's day two reads it."""
    import hcl2

    doc = _plain(hcl2.loads(hcl_text))
    ((job_id, body),) = doc["job"][0].items()
    job_id = job_id.strip('"')

    def blocks(node: dict, kind: str) -> list[tuple[str, dict]]:
        out = []
        for b in node.get(kind, []):
            for name, inner in b.items():
                out.append((name.strip('"'), inner))
        return out

    meta = {}
    for m in body.get("meta", []):
        meta.update(m)
    groups = [{"Name": g, "Count": gb.get("count", 1),
               "Tasks": [{"Name": t, "Driver": tb.get("driver")} for t, tb in blocks(gb, "task")]}
              for g, gb in blocks(body, "group")]
    return {"ID": job_id, "Name": job_id, "Type": body.get("type", "service"),
            "Namespace": body.get("namespace", "default"), "Meta": meta, "TaskGroups": groups}


def _plain(node):
    """python-hcl2's tree without its markers (``__is_block__``) and with strings unquoted
    (it keeps an expression's quotes)."""
    if isinstance(node, dict):
        return {k.strip('"'): _plain(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str) and len(node) >= 2 and node[0] == node[-1] == '"':
        return json.loads(node)
    return node


class FakeNomad:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.jobs: dict[str, dict] = {}
        self.variables: dict[str, dict] = {}
        #: (task, "stdout" | "stderr") -> its log (else a line naming them)
        self.logs: dict[tuple[str, str], str] = {}
        #: every task's State and Failed in the allocations
        self.task_state: tuple[str, bool] = ("running", False)
        #: answer every Variable write with Nomad's 403 (a token without variable write)
        self.deny_variables = False
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def _answer(self, code: int, body) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with fake._lock:
                    fake.requests.append({"method": self.command, "path": url.path,
                                          "query": {k: v[0] for k, v in parse_qs(url.query).items()}, "body": body})
                    code, answer = fake.route(self.command, url.path, parse_qs(url.query), body)
                self._answer(code, answer)

            do_GET = do_PUT = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeNomad":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def asked(self, method: str, prefix: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(prefix)]

    def route(self, method: str, path: str, query: dict, body):
        parts = [unquote(p) for p in path.split("/") if p]
        if parts[:1] != ["v1"]:
            return 404, "not found"
        rest = parts[1:]
        if rest == ["status", "leader"]:
            return 200, "127.0.0.1:4647"
        if rest == ["jobs", "parse"] and method in ("POST", "PUT"):
            try:
                return 200, parse_job((body or {}).get("JobHCL", ""))
            except Exception as e:  # noqa: BLE001 - Nomad answers a bad job with a 400
                return 400, f"error parsing jobspec: {e}"
        if rest == ["jobs"] and method in ("POST", "PUT"):
            job = dict((body or {}).get("Job") or {})
            job["Status"] = "running"
            self.jobs[job.get("ID", "")] = job
            return 200, {"EvalID": "eval-1", "EvalCreateIndex": 10, "JobModifyIndex": 10, "Warnings": "", "Index": 10}
        if rest[:1] == ["job"] and len(rest) >= 2:
            job = self.jobs.get(rest[1])
            if job is None:
                return 404, "job not found"
            if len(rest) == 2 and method == "GET":
                return 200, job
            if len(rest) == 2 and method == "DELETE":
                del self.jobs[rest[1]]
                return 200, {"EvalID": "eval-2", "EvalCreateIndex": 11, "JobModifyIndex": 11, "Index": 11}
            if rest[2:] == ["allocations"]:
                return 200, [
                    {"ID": f"{k:08d}-aaaa-bbbb-cccc-{rest[1][:12]:0<12}", "JobID": rest[1], "TaskGroup": g["Name"],
                     "ClientStatus": "running", "DesiredStatus": "run", "CreateIndex": 20 + k,
                     "TaskStates": {t["Name"]: {"State": self.task_state[0], "Failed": self.task_state[1], "Events": []}
                                    for t in g.get("Tasks") or []}}
                    for k, g in enumerate(job.get("TaskGroups") or [])]
        if rest[:3] == ["client", "fs", "logs"] and len(rest) == 4:
            task, kind = query.get("task", ["?"])[0], query.get("type", ["stdout"])[0]
            return 200, self.logs.get((task, kind), f"{kind} of {task} in {rest[3]}\n")
        if rest[:1] == ["var"] and method in ("PUT", "POST") and self.deny_variables:
            return 403, "Permission denied"
        if rest[:1] == ["var"] and method in ("PUT", "POST"):
            var_path = "/".join(rest[1:])
            self.variables[var_path] = {"Path": var_path, "Items": dict((body or {}).get("Items") or {})}
            return 200, {"Path": var_path, "Namespace": "default", "Items": self.variables[var_path]["Items"]}
        return 404, f"no such path {path}"
