"""The user config file: the default orchestrator and the MCP servers deploy may use.

Where: ``$B00TC_CONFIG`` when set, else ``$XDG_CONFIG_HOME/b00tc/config.toml``, else
``~/.config/b00tc/config.toml``. A missing file is an empty config. Shape::

    default_orchestrator = "kubernetes"

    [mcp.kubernetes]                  # the server `deploy --via mcp` starts (stdio)
    profile = "kubernetes-mcp-server" # which tool and arguments (b00tc plan --mcp-profile)
    command = ["npx", "-y", "kubernetes-mcp-server"]
    env = { KUBECONFIG = "/home/me/.kube/config" }
    namespace = "default"
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from b00tc.runtime.configpath import config_path  # noqa: F401  (where it is read: also here)


class ConfigError(ValueError):
    pass


@dataclass
class McpServerConfig:
    command: list[str]
    profile: Optional[str] = None
    env: dict[str, str] = field(default_factory=dict)
    namespace: Optional[str] = None


@dataclass
class Config:
    path: str
    default_orchestrator: Optional[str] = None
    mcp: dict[str, McpServerConfig] = field(default_factory=dict)
    #: [targets.<target>] tables: target options (b00tc.target_options), checked there
    targets: dict[str, dict] = field(default_factory=dict)


#: a config file is a few lines; one larger than this is not one
_MAX_CONFIG = 1 << 20
_TOP = ("default_orchestrator", "mcp", "targets")
_SERVER = ("command", "profile", "env", "namespace")


def _known_keys(table: dict, known: tuple[str, ...], path: str, where: str) -> None:
    """ConfigError naming a key b00tc does not read (a typo, as ``default_orchestator``,
    was silently ignored) and the keys it does."""
    for key in table:
        if key not in known:
            import difflib

            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{path}: {where}unknown key {key!r}: {hint}b00tc reads {', '.join(known)}")


def load(path: Optional[str] = None) -> Config:
    import tomli

    from b00tc.frontend.files import Unreadable, read_regular

    path = path or config_path()
    if not os.path.lexists(path):
        return Config(path=path)
    try:
        # a regular file of at most 1 MiB: a FIFO there hung every command, /dev/zero read
        # until memory ran out
        doc: dict[str, Any] = tomli.loads(read_regular(path, _MAX_CONFIG).decode("utf-8"))
    except (Unreadable, ValueError) as e:  # TOMLDecodeError, and UnicodeDecodeError (not UTF-8)
        raise ConfigError(f"cannot read the config file {path}: {e}") from e
    _known_keys(doc, _TOP, path, "")
    cfg = Config(path=path)
    default = doc.get("default_orchestrator")
    if default is not None:
        if not isinstance(default, str):
            raise ConfigError(f"{path}: default_orchestrator must be a string")
        cfg.default_orchestrator = default
    servers = doc.get("mcp", {})
    if not isinstance(servers, dict):
        raise ConfigError(f"{path}: [mcp] must be a table of servers, e.g. [mcp.kubernetes]")
    for orch, table in servers.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [mcp.{orch}] must be a table")
        command = table.get("command")
        if isinstance(command, str):
            import shlex

            command = shlex.split(command)
        if not (isinstance(command, list) and command and all(isinstance(c, str) for c in command)):
            raise ConfigError(f"{path}: [mcp.{orch}] command must be a non-empty list of strings")
        env = table.get("env", {})
        if not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
            raise ConfigError(f"{path}: [mcp.{orch}] env must be a table of strings")
        for key in ("profile", "namespace"):
            if not isinstance(table.get(key, ""), str):
                raise ConfigError(f"{path}: [mcp.{orch}] {key} must be a string")
        _known_keys(table, _SERVER, path, f"[mcp.{orch}] ")
        cfg.mcp[orch] = McpServerConfig(
            command=command,
            profile=table.get("profile"),
            env=dict(env),
            namespace=table.get("namespace"),
        )
    targets = doc.get("targets", {})
    if not isinstance(targets, dict) or not all(isinstance(t, dict) for t in targets.values()):
        raise ConfigError(f"{path}: [targets] must hold tables of target options, e.g. [targets.k8s]")
    cfg.targets = targets
    return cfg


def set_default_orchestrator(name: str, path: Optional[str] = None) -> str:
    """Write ``default_orchestrator = name`` into the config file, keeping whatever else
    it holds (comments included). Returns the file's path."""
    import tomlkit

    from b00tc.output import write_if_changed

    path = path or config_path()
    try:
        with open(path, encoding="utf-8") as f:
            doc = tomlkit.parse(f.read())
    except FileNotFoundError:
        doc = tomlkit.document()
    except Exception as e:  # tomlkit's parse errors
        raise ConfigError(f"cannot read the config file {path}: {e}") from e
    doc["default_orchestrator"] = name
    write_if_changed(path, tomlkit.dumps(doc))
    return path
