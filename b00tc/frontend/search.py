"""The datum search path: the input file's folder, then each -I DIR, then the folders in
B00T_DATUM_PATH. Each folder is listed once per run, not once per reference."""

from __future__ import annotations

import os
from typing import Optional

from b00tc.diagnostics import did_you_mean


class SearchPath:
    def __init__(self, dirs: list[str]) -> None:
        self.dirs: list[str] = []
        for d in dirs:
            if d not in self.dirs:
                self.dirs.append(d)
        self._index: Optional[dict[str, str]] = None

    @classmethod
    def for_root(cls, root_dir: str, includes: list[str], env_path: str = "") -> "SearchPath":
        extra = [p for p in env_path.split(os.pathsep) if p] if env_path else []
        return cls([root_dir or "."] + list(includes) + extra)

    def index(self) -> dict[str, str]:
        if self._index is None:
            index: dict[str, str] = {}
            for d in self.dirs:
                try:
                    entries = sorted(os.listdir(d))
                except OSError:
                    continue
                for entry in entries:
                    if entry.endswith(".toml") and entry.count(".") >= 2:
                        path = entry if d in (".", "./") else os.path.join(d, entry)
                        index.setdefault(entry[: -len(".toml")], path)
            self._index = index
        return self._index

    def find(self, qualified: str) -> Optional[str]:
        """``qualified`` is ``<name>.<type>``."""
        return self.index().get(qualified)

    def closest(self, qualified: str) -> str:
        name, _, kind = qualified.rpartition(".")
        same = {k.rpartition(".")[0]: k for k in self.index() if k.endswith("." + kind)}
        guess = did_you_mean(name, list(same))
        return same[guess] if guess else ""
