"""The MCP servers b00tc calls are b00t datums: ``<name>.mcp.toml`` with one or more
``[[b00t.mcp.stdio]]`` entries (``command``, ``args``, ``transport``, ``priority``,
``requires`` and an optional ``[b00t.mcp.stdio.env]``), found on the datum search path
(the input's folder, ``-I DIR``, ``B00T_DATUM_PATH``).

For an orchestrator, the server is, in this order:

1. the command of ``[mcp.<orchestrator>]`` in the user config (it always wins);
2. the datum ``<orchestrator>.mcp`` (or an alias: ``k8s``, ``docker-compose``, ``compose``,
   ``docker``; the orchestrator's ``MCP_DATUMS``) on the search path: among its stdio
   entries, the lowest ``priority`` whose ``requires`` are all installed (found on PATH);
3. the orchestrator's ``BUNDLED_MCP_DATUM``, shipped with b00tc: for Kubernetes, b00t's own
   ``kubernetes.mcp`` datum (``npx mcp-server-kubernetes``);
4. the server the orchestrator finds installed (``installed_mcp_server``): for Nomad,
   mcp-nomad's binary on PATH or under npm's global folder; when it is not, the error says
   how to install it.

Which tools the server has (its *profile*, b00tc.runtime.profiles) is read from the
package it starts (``mcp-server-kubernetes`` in ``npx mcp-server-kubernetes``), unless the
config names a profile.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from b00tc.runtime.orchestrators.base import Orchestrator


class McpDatumError(ValueError):
    """An MCP datum that cannot be read, or none of whose entries can start here."""


@dataclass(frozen=True)
class Entry:
    file: str
    index: int  # which [[b00t.mcp.stdio]] entry (0-based)
    command: tuple[str, ...]  # command + args
    env: dict = field(default_factory=dict)
    priority: int = 0
    requires: tuple[str, ...] = ()
    transport: str = "stdio"


@dataclass(frozen=True)
class Server:
    """The MCP server to start for an orchestrator, and where that choice came from."""

    command: tuple[str, ...]
    env: dict
    profile: Optional[str]  # a profiles.PROFILES name, or None when unknown
    source: str  # "config FILE" | "datum FILE, entry N (priority P)"


def bundled_path(orchestrator: "Orchestrator") -> Optional[str]:
    name = orchestrator.BUNDLED_MCP_DATUM
    if name is None:
        return None
    from importlib.resources import files

    return str(files("b00tc.runtime").joinpath("data", name))


def read(path: str) -> list[Entry]:
    """The stdio entries of an MCP datum, in file order. Only ``[b00t] type`` and
    ``[[b00t.mcp.stdio]]`` matter here; b00t's informational keys (trigger_words, usage,
    learn, references, ...) are left alone."""
    import tomli

    try:
        with open(path, "rb") as f:
            doc = tomli.load(f)
    except (OSError, ValueError) as e:  # TOMLDecodeError, and UnicodeDecodeError (not UTF-8)
        raise McpDatumError(f"cannot read the MCP datum {path}: {e}") from None
    b00t = doc.get("b00t")
    if not isinstance(b00t, dict) or b00t.get("type") != "mcp":
        raise McpDatumError(f"{path}: not an MCP datum ([b00t] type = \"mcp\")")
    stdio = (b00t.get("mcp") or {}).get("stdio") if isinstance(b00t.get("mcp"), dict) else None
    if not isinstance(stdio, list) or not stdio:
        raise McpDatumError(f"{path}: no [[b00t.mcp.stdio]] entry: b00tc starts MCP servers over stdio")
    entries = []
    for i, e in enumerate(stdio):
        where = f"{path}: [[b00t.mcp.stdio]] entry {i + 1}"
        if not isinstance(e, dict):
            raise McpDatumError(f"{where} is not a table")
        command, args = e.get("command"), e.get("args", [])
        if not isinstance(command, str) or not command:
            raise McpDatumError(f"{where}: command must be a non-empty string")
        if not (isinstance(args, list) and all(isinstance(a, str) for a in args)):
            raise McpDatumError(f"{where}: args must be a list of strings")
        requires = e.get("requires", [])
        if not (isinstance(requires, list) and all(isinstance(r, str) for r in requires)):
            raise McpDatumError(f"{where}: requires must be a list of strings")
        env = e.get("env", {})
        if not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
            raise McpDatumError(f"{where}: env must be a table of strings")
        priority = e.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise McpDatumError(f"{where}: priority must be an integer")
        transport = e.get("transport", "stdio")
        entries.append(Entry(path, i, (command, *args), dict(env), priority, tuple(requires), transport))
    return entries


def choose(entries: list[Entry], which: Callable[[str], Optional[str]] = shutil.which) -> Entry:
    """The lowest-priority stdio entry whose requirements are all installed (file order
    breaks ties); McpDatumError naming every missing requirement when none is."""
    missing: list[str] = []
    for e in sorted(entries, key=lambda e: (e.priority, e.index)):
        if e.transport != "stdio":
            missing.append(f"entry {e.index + 1} (priority {e.priority}) uses transport {e.transport!r}, not stdio")
            continue
        absent = [r for r in e.requires if which(r) is None]
        if absent:
            missing.append(
                f"entry {e.index + 1} (priority {e.priority}, `{' '.join(e.command)}`) requires "
                + ", ".join(absent) + (" which is" if len(absent) == 1 else " which are") + " not installed"
            )
            continue
        return e
    file = entries[0].file if entries else "?"
    raise McpDatumError(f"{file}: no MCP server entry can start here: " + "; ".join(missing))


def profile_of(command: tuple[str, ...]) -> Optional[str]:
    """The profile whose package the command starts, None when it names no known one:
    ``npx -y mcp-server-kubernetes@4.1.7``, ``.../node_modules/.bin/mcp-server-kubernetes``
    and ``node .../node_modules/@0xshariq/docker-mcp-server/dist/index.js`` all name
    their package."""
    from b00tc.runtime.profiles import PACKAGES

    for word in command:
        for package, profile in PACKAGES.items():
            if (word == package or word.startswith(package + "@") or word.endswith("/" + package)
                    or f"/{package}/" in word):
                return profile
    return None


def find(orchestrator: "Orchestrator", search) -> Optional[str]:
    """The MCP datum for ``orchestrator`` on ``search`` (a frontend.search.SearchPath)."""
    for name in orchestrator.MCP_DATUMS:
        found = search.find(f"{name}.mcp")
        if found is not None:
            return found
    return None


def resolve(orchestrator: "Orchestrator", config, search,
            which: Callable[[str], Optional[str]] = shutil.which) -> Optional[Server]:
    """The server for ``orchestrator`` (see the module's docstring), or None when neither
    the config nor a datum names one. McpDatumError when the datum's entries cannot start."""
    configured = config.mcp.get(orchestrator.name) if config is not None else None
    if configured is not None:
        command = tuple(configured.command)
        return Server(command, dict(configured.env), configured.profile or profile_of(command),
                      f"config {config.path}")
    path = find(orchestrator, search) if search is not None else None
    if path is None:
        path = bundled_path(orchestrator)
    if path is None:
        command, where = orchestrator.installed_mcp_server()
        if command is None:
            if where:  # b00tc knows the server, and it is not installed here: how to get it
                raise McpDatumError(where)
            return None
        return Server(command, {}, profile_of(command) or orchestrator.DEFAULT_MCP_PROFILE, where)
    entry = choose(read(path), which)
    return Server(entry.command, dict(entry.env), profile_of(entry.command),
                  f"datum {path}, entry {entry.index + 1} (priority {entry.priority})")


def server_for(orchestrator: "Orchestrator", config, paths, includes) -> tuple[Optional[Server], str]:
    """(the MCP server for the orchestrator: config, else an MCP datum on the search path
    of ``paths``, else the bundled one; or None, and why not)."""
    from b00tc.runtime.names import search_path

    try:
        server = resolve(orchestrator, config, search_path(paths, includes))
    except McpDatumError as e:
        return None, str(e)
    return server, ""
