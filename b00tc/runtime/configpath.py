"""Where the user config file is, in a module of its own: every build asks (for the
config file's target options) and most find none, so the answer must not import
runtime/config.py (dataclasses, the reader) to say so."""

from __future__ import annotations

import os


def config_path() -> str:
    """``$B00TC_CONFIG``, else ``$XDG_CONFIG_HOME/b00tc/config.toml``, else
    ``~/.config/b00tc/config.toml``."""
    explicit = os.environ.get("B00TC_CONFIG")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "b00tc", "config.toml")
