"""b00tc as an MCP server (``b00tc mcp``, stdio, PyPI ``mcp`` 2.x).

Tools: ``build``, ``check``, ``plan``, ``list_targets``, and day two: ``status``, ``logs``
and ``down`` (which run ``b00tc status|logs|down`` in a child process). Each input schema is written
out here (closed objects, enums for targets and orchestrators, path xor text) and checked
with jsonschema before anything runs. Every answer is a JSON object with ``ok`` and
``diagnostics`` (severity, code, message, file, line, column, end, path, help): a bad datum,
bad arguments or a bug in b00tc come back as diagnostics, never as a traceback.

Host variables that k8s, Nomad and systemd resolve at build time are NOT read from the
server's environment (an agent could otherwise read any of its variables through a datum):
one without a default is E0401, as with an empty environment.

The server serves only its folder: the folder it was started in (its working directory at
start, symbolic links resolved) is its root. A ``path`` or ``include`` argument of any tool
that, after ``~``, ``..`` and symbolic links are resolved (os.path.realpath), is not under the
root is refused with E0901 before anything is read, compiled or run (``-``, the server's own
stdin, is refused too). A ``text`` datum is searched from the root. The datum search path of
a build is then the datum's folder and the include folders, all under the root:
B00T_DATUM_PATH is not taken from the server's environment (``BuildRequest.datum_path=""``
for the builds run here, and B00T_DATUM_PATH is removed from the environment of the
``b00tc status|logs|down`` child processes). A datum file in the root that is a symbolic
link out of it (a root of a folder given, a member, a required stack) is not read either:
the builds run here set ``BuildRequest.confine`` to the root (the linker reports such a
file as E0901), and a day-two tool links its datum here, confined, before it starts its
child, and is refused if that finds one. The root must stay the working directory: the
server never changes it.

Tools that change what runs (``down``) are listed and callable only when the server is
started with ``b00tc mcp --allow-destructive``, and carry the tool annotation
``destructiveHint: true``; without the flag a call to one is refused with E0901. The other
tools carry ``readOnlyHint: true``.
"""

from __future__ import annotations

import os
from typing import Optional

from b00tc.backends import ALIASES, DESCRIPTIONS, REGISTRY
from b00tc.exitcodes import OK, UNAVAILABLE, USAGE
from b00tc.runtime.orchestrators import ALIASES as ORCH_ALIASES
from b00tc.runtime.orchestrators import NAMES as ORCH_NAMES

TEXT_NAME = "<text>"

_INCLUDE = {
    "type": "array",
    "items": {"type": "string", "minLength": 1},
    "description": "More folders on the datum search path (after the datum's own folder), like -I DIR.",
}
_PATH = {"type": "string", "minLength": 1, "description": "A datum file or a folder of datums, on the server's file system."}
_TEXT = {"type": "string", "description": "The TOML text of one datum (members and required stacks are found on the search path)."}
_ONE_SOURCE = [{"required": ["path"]}, {"required": ["text"]}]

BUILD_SCHEMA = {
    "type": "object",
    "properties": {
        "path": _PATH,
        "text": _TEXT,
        "target": {"type": "string", "enum": sorted(REGISTRY) + sorted(ALIASES), "description": "The target to compile for."},
        "include": _INCLUDE,
    },
    "required": ["target"],
    "oneOf": _ONE_SOURCE,
    "additionalProperties": False,
}
CHECK_SCHEMA = {
    "type": "object",
    "properties": {"path": _PATH, "text": _TEXT, "include": _INCLUDE},
    "oneOf": _ONE_SOURCE,
    "additionalProperties": False,
}
PLAN_SCHEMA = {
    "type": "object",
    "properties": {
        "path": _PATH,
        "orchestrator": {"type": "string", "enum": ORCH_NAMES + sorted(ORCH_ALIASES), "description": "Where it would be deployed."},
        "include": _INCLUDE,
    },
    "required": ["path", "orchestrator"],
    "additionalProperties": False,
}
LIST_TARGETS_SCHEMA = {"type": "object", "properties": {}, "additionalProperties": False}
_DAY_TWO = {
    "path": {"type": "string", "minLength": 1, "description": "The datum file (or folder) that was deployed."},
    "orchestrator": PLAN_SCHEMA["properties"]["orchestrator"],
    "include": _INCLUDE,
    "namespace": {"type": "string", "minLength": 1, "description": "Kubernetes namespace."},
    "context": {"type": "string", "minLength": 1, "description": "Kubernetes context."},
}
STATUS_SCHEMA = {"type": "object", "properties": dict(_DAY_TWO), "required": ["path", "orchestrator"],
                 "additionalProperties": False}
LOGS_SCHEMA = STATUS_SCHEMA
DOWN_SCHEMA = {
    "type": "object",
    "properties": {
        **_DAY_TWO,
        "dry_run": {"type": "boolean", "description": "Say what would be deleted or stopped; change nothing."},
        "volumes": {"type": "boolean", "description": "Also delete the datum's volumes."},
    },
    "required": ["path", "orchestrator"],
    "additionalProperties": False,
}


def _usage(message: str, help: Optional[str] = None) -> dict:
    return {
        "severity": "error", "code": "E0901", "message": message, "file": None, "line": None,
        "column": None, "end": None, "path": None, "help": help,
    }


def _under(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _outside(value: str, root: str) -> bool:
    """Whether ``value`` (a path as an argument gives it, relative to ``root``) leaves
    ``root`` once ``..`` and symbolic links are resolved; checked as written and with ``~``
    expanded, so that neither reading of it leaves the root."""
    for v in {value, os.path.expanduser(value)}:
        if not _under(os.path.realpath(os.path.join(root, v)), root):
            return True
    return False


def _os_string(value: str) -> bool:
    """Whether ``value`` can be a file name or a child's argument: no NUL, and encodable
    (a lone surrogate, JSON's "\\ud800", is not)."""
    if "\0" in value:
        return False
    try:
        os.fsencode(value)
    except UnicodeEncodeError:
        return False
    return True


def _confined(args: dict, root: str) -> Optional[dict]:
    """None when every ``path`` and ``include`` of ``args`` is under ``root`` (and they,
    ``namespace`` and ``context`` are strings a file name or an argument can hold); else
    the usage diagnostic. Nothing is read here but the file system's links."""
    given = ([("path", args["path"])] if isinstance(args.get("path"), str) else []) + [
        ("include", d) for d in args.get("include", []) if isinstance(d, str)
    ]
    for key, value in given + [(k, args[k]) for k in ("namespace", "context") if isinstance(args.get(k), str)]:
        if not _os_string(value):
            return _usage(f"{key} {value!r} holds a NUL character or a lone surrogate: no file name or "
                          "argument can")
    for key, value in given:
        if value == "-":
            return _usage(f"{key} '-' would read the server's stdin, which is the MCP stream", help="give the datum as text")
        if _outside(value, root):
            return _usage(
                f"{key} {value!r} is outside the folder this server serves ({root}): not read",
                help="b00tc mcp reads only datums under the folder it was started in; start it in a folder "
                "that holds the datums and their members",
            )
    return None


def _checked(schema: dict, args: dict) -> Optional[dict]:
    """None when ``args`` fits ``schema``; else the usage diagnostic."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(args), key=lambda e: list(e.path))
    if not errors:
        return None
    e = errors[0]
    where = "/".join(str(p) for p in e.path)
    msg = e.message
    if e.validator == "oneOf":
        msg = "give exactly one of path or text"
    return _usage(f"invalid arguments{f' at {where}' if where else ''}: {msg}")


def _build(args: dict, targets: list[str], root: Optional[str] = None, with_required: bool = False):
    from b00tc.compiler import BuildRequest, build
    from b00tc.diagnostics import resolve_all, to_json

    req = BuildRequest(
        paths=[args["path"]] if "path" in args else [],
        texts=[(TEXT_NAME, args["text"])] if "text" in args else [],
        targets=targets,
        includes=list(args.get("include", [])),
        datum_path="",  # B00T_DATUM_PATH could lead out of the server's folder
        confine=os.path.realpath(root if root is not None else os.getcwd()),  # and a datum linked out of it
        with_required=with_required,  # a plan deploys the required stacks first
    )
    result = build(req)
    resolve_all(result.diags, result.diags.sources)
    diags = [to_json(d, result.diags.sources) for d in result.diags]
    return result, diags


def tool_build(args: dict, root: Optional[str] = None) -> dict:
    bad = _checked(BUILD_SCHEMA, args)
    if bad:
        return {"ok": False, "files": [], "diagnostics": [bad]}
    from b00tc.backends import canonical_target

    target = canonical_target(args["target"])
    result, diags = _build(args, [target], root)
    files = [{"target": t, "path": f.path, "content": f.content} for t, f in result.outputs] if result.ok else []
    return {"ok": result.ok, "files": files, "diagnostics": diags}


def tool_check(args: dict, root: Optional[str] = None) -> dict:
    bad = _checked(CHECK_SCHEMA, args)
    if bad:
        return {"ok": False, "diagnostics": [bad]}
    result, diags = _build(args, [], root)
    return {"ok": result.ok, "diagnostics": diags}


def tool_plan(args: dict, root: Optional[str] = None) -> dict:
    bad = _checked(PLAN_SCHEMA, args)
    if bad:
        return {"ok": False, "plan": None, "diagnostics": [bad]}
    from b00tc.runtime.orchestrators import resolve
    from b00tc.runtime.plan import make_plan

    orch = resolve(args["orchestrator"])
    result, diags = _build(args, [orch.target], root, with_required=True)
    if not result.ok:
        return {"ok": False, "plan": None, "diagnostics": diags}
    return {"ok": True, "plan": make_plan(result, orch.name).to_json(), "diagnostics": diags}


def tool_list_targets(args: dict, root: Optional[str] = None) -> dict:
    bad = _checked(LIST_TARGETS_SCHEMA, args)
    if bad:
        return {"ok": False, "targets": [], "orchestrators": [], "diagnostics": [bad]}
    from b00tc.runtime.orchestrators import all_orchestrators

    rev: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        rev.setdefault(name, []).append(alias)
    return {
        "ok": True,
        "targets": [{"name": n, "aliases": rev.get(n, []), "description": DESCRIPTIONS.get(n, "")} for n in REGISTRY],
        "orchestrators": [{"name": o.name, "target": o.target} for o in all_orchestrators()],
        "diagnostics": [],
    }


def _linked_out(args: dict, root: Optional[str]) -> Optional[dict]:
    """The E0901 of a datum file the child would read that is a symbolic link out of the
    folder served (the path given, a datum of a folder, a member, a required stack), found by
    linking the datum here, confined, as the child will (a NAME looked up in . and the
    include folders); None when there is none."""
    from b00tc.frontend.search import SearchPath
    from b00tc.runtime.names import DatumNotFound, find_datum

    path, includes = args["path"], list(args.get("include", []))
    if not (os.path.exists(path) or path.endswith(".toml")):
        try:
            path = find_datum(path, ("job", "stack"), includes, SearchPath.for_root(".", includes, ""))
        except DatumNotFound:
            return None  # the child says so
    _, diags = _build({"path": path, "include": includes}, [], root)
    return next((d for d in diags if d["code"] == "E0901"), None)


def _run_day_two(op: str, schema: dict, args: dict, root: Optional[str] = None) -> dict:
    """``b00tc status|logs|down`` run as a child process (their output must not reach
    this server's stdout, which is the MCP stream): exit code, stdout, stderr."""
    bad = _checked(schema, args) or _linked_out(args, root)
    if bad:
        return {"ok": False, "exit_code": USAGE, "diagnostics": [bad]}
    import subprocess
    import sys

    # every value an agent gives is an option's value (``--key=value``) or follows ``--``:
    # a path "--help" is a path, never an option of the child
    argv = [sys.executable, "-m", "b00tc", op, f"--orchestrator={args['orchestrator']}"]
    for d in args.get("include", []):
        argv.append(f"--include={d}")
    for key in ("namespace", "context"):
        if key in args:
            argv.append(f"--{key}={args[key]}")
    if op == "status":
        argv += ["--format", "json"]
    if args.get("dry_run"):
        argv.append("--dry-run")
    if args.get("volumes"):
        argv.append("--volumes")
    argv += ["--", args["path"]]
    env = {k: v for k, v in os.environ.items() if k != "B00T_DATUM_PATH"}  # only the server's folder
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired:
        return {"ok": False, "exit_code": UNAVAILABLE, "diagnostics": [_usage(f"b00tc {op} did not finish within 600 s")]}
    out: dict = {"ok": p.returncode == OK, "exit_code": p.returncode}
    if op == "status":
        import json

        try:
            out["status"] = json.loads(p.stdout) if p.stdout.strip() else None
        except ValueError:
            out["status"] = None
    else:
        out["output"] = p.stdout
    out["messages"] = p.stderr
    out["diagnostics"] = []
    return out


def tool_status(args: dict, root: Optional[str] = None) -> dict:
    return _run_day_two("status", STATUS_SCHEMA, args, root)


def tool_logs(args: dict, root: Optional[str] = None) -> dict:
    return _run_day_two("logs", LOGS_SCHEMA, args, root)


def tool_down(args: dict, root: Optional[str] = None) -> dict:
    return _run_day_two("down", DOWN_SCHEMA, args, root)


# name -> (handler, input schema, description)
TOOLS = {
    "build": (
        tool_build, BUILD_SCHEMA,
        "Compile a datum (path, or text) for one target. Returns the files (target, path, content) "
        "and structured diagnostics; ok is false when the datum has errors (then no files).",
    ),
    "check": (
        tool_check, CHECK_SCHEMA,
        "Validate a datum (path, or text) with its members and required stacks; returns diagnostics.",
    ),
    "plan": (
        tool_plan, PLAN_SCHEMA,
        "What deploying a datum to an orchestrator takes: manifests, shell commands and MCP tool "
        "calls ({server, tool, arguments}). Runs nothing.",
    ),
    "list_targets": (
        tool_list_targets, LIST_TARGETS_SCHEMA,
        "The targets b00tc compiles to (with aliases) and the orchestrators it plans for.",
    ),
    "status": (
        tool_status, STATUS_SCHEMA,
        "What b00tc deployed for a datum on an orchestrator and its state (status: {datum, "
        "orchestrator, state, objects}), asked of the orchestrator by b00tc's labels. exit_code: 0 "
        "fine, 1 failed or degraded, 3 orchestrator unavailable, 4 not deployed.",
    ),
    "logs": (
        tool_logs, LOGS_SCHEMA,
        "The output so far of what b00tc deployed for a datum (output), from the orchestrator.",
    ),
    "down": (
        tool_down, DOWN_SCHEMA,
        "Take down what b00tc deployed for a datum, and nothing it did not create (dry_run: "
        "only say what would go). Volumes are kept unless volumes is true.",
    ),
}


#: tools that change what runs: only with ``b00tc mcp --allow-destructive``
DESTRUCTIVE = frozenset({"down"})
#: what each tool answers besides ok and diagnostics when its call is refused
_REFUSED = {
    "build": {"files": []}, "plan": {"plan": None}, "list_targets": {"targets": [], "orchestrators": []},
    "status": {"exit_code": USAGE}, "logs": {"exit_code": USAGE}, "down": {"exit_code": USAGE},
}


def tool_names(allow_destructive: bool = False) -> list[str]:
    """The tools a server serves: the destructive ones only when allowed."""
    return [n for n in TOOLS if allow_destructive or n not in DESTRUCTIVE]


def call(name: str, arguments: Optional[dict], *, root: Optional[str] = None,
         allow_destructive: bool = False) -> tuple[dict, bool]:
    """Run a tool: (result object, is_error). Bad arguments, an unknown tool or a bug in
    b00tc are an error result with a diagnostic, never an exception. ``root`` is the folder
    served (default: the working directory); a ``path`` or ``include`` outside it, or a
    destructive tool when not ``allow_destructive``, is refused before anything runs."""
    entry = TOOLS.get(name)
    if entry is None:
        names = ", ".join(tool_names(allow_destructive))
        return {"ok": False, "diagnostics": [_usage(f"unknown tool {name!r}; b00tc has {names}")]}, True
    if name in DESTRUCTIVE and not allow_destructive:
        bad = _usage(f"tool {name} changes what runs and is off on this server",
                     help="start the server with `b00tc mcp --allow-destructive` to allow it")
        return {"ok": False, **_REFUSED.get(name, {}), "diagnostics": [bad]}, True
    args = dict(arguments or {})
    root = os.path.realpath(root if root is not None else os.getcwd())
    try:
        bad = _checked(entry[1], args) or _confined(args, root)
        if bad:
            return {"ok": False, **_REFUSED.get(name, {}), "diagnostics": [bad]}, True
        result = entry[0](args, root)
    except Exception as e:  # noqa: BLE001 - the boundary of the server
        return {"ok": False, "diagnostics": [_usage(f"internal error in b00tc: {type(e).__name__}: {e}")]}, True
    # a datum with errors is a finding (is_error false, like `b00tc check`); arguments that
    # do not fit the schema are the caller's error
    misuse = any(d["code"] == "E0901" and d["file"] is None for d in result.get("diagnostics", []))
    return result, misuse


def make_server(allow_destructive: bool = False):
    """The low-level SDK server: b00tc's schemas are published as written (the decorator
    API would derive them from Python signatures and drop unknown keys silently). It serves
    the working directory at this call (see the module docstring); ``down`` only when
    ``allow_destructive``."""
    import functools
    import json

    import mcp.types as types
    from mcp.server import Server

    import b00tc

    root = os.path.realpath(os.getcwd())
    listed = [
        types.Tool(
            name=name, description=TOOLS[name][2], input_schema=TOOLS[name][1],
            annotations=types.ToolAnnotations(destructive_hint=True, read_only_hint=False)
            if name in DESTRUCTIVE else types.ToolAnnotations(read_only_hint=True),
        )
        for name in tool_names(allow_destructive)
    ]
    run = functools.partial(call, root=root, allow_destructive=allow_destructive)

    async def on_list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def on_call_tool(ctx, params) -> types.CallToolResult:
        import anyio.to_thread

        result, is_error = await anyio.to_thread.run_sync(run, params.name, params.arguments)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(result, ensure_ascii=False))],
            structured_content=result,
            is_error=is_error,
        )

    return Server(
        "b00tc",
        version=getattr(b00tc, "__version__", ""),
        instructions="Compile b00t datums to Kubernetes, compose, Nomad, bash and systemd; plan deploys. "
        "Every result has ok and diagnostics (code, message, file, line, column).",
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


def serve(allow_destructive: bool = False) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    async def main() -> None:
        server = make_server(allow_destructive)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
