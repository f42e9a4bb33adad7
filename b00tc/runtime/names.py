"""Datums by NAME on the datum search path (``.``, ``-I DIR``, ``B00T_DATUM_PATH``), as the
runtime commands take them (``b00tc deploy NAME``, ``job deploy NAME``, ``status NAME``),
and the search path of the datums given (where their MCP datums are looked for)."""

from __future__ import annotations

import os

from b00tc.frontend.search import SearchPath
from b00tc.runtime.model import UserError


class DatumNotFound(UserError):
    pass


def search_path(paths, includes) -> SearchPath:
    """The search path of datum ``paths``: the first one's folder, ``-I DIR``, ``B00T_DATUM_PATH``."""
    first = next((p for p in paths if p != "-"), ".")
    root = first if os.path.isdir(first) else os.path.dirname(first)
    return SearchPath.for_root(root or ".", list(includes), os.environ.get("B00T_DATUM_PATH", ""))


def name_search(includes) -> SearchPath:
    """Where a datum NAME is looked for: ., -I DIR, B00T_DATUM_PATH."""
    return SearchPath.for_root(".", list(includes), os.environ.get("B00T_DATUM_PATH", ""))


def find_datum(name: str, kinds: tuple, includes, search=None) -> str:
    """The file of the datum NAME of one of ``kinds`` (job, stack) on the search path."""
    search = search or name_search(includes)
    found = [f for f in (search.find(f"{name}.{kind}") for kind in kinds) if f]
    if len(found) == 1:
        return found[0]
    if found:
        raise DatumNotFound(f"both {' and '.join(found)} are named {name!r}: give the file")
    guess = next((g for g in (search.closest(f"{name}.{kind}") for kind in kinds) if g), "")
    one = len(kinds) == 1
    raise DatumNotFound(
        f"no {kinds[0] + ' ' if one else ''}datum {name!r} "
        f"({' or '.join(f'{name}.{kind}.toml' for kind in kinds)}) in {', '.join(search.dirs)}"
        + (f" (did you mean {guess.rpartition('.')[0]!r}?)" if guess else "")
        + f"; {'' if one else 'give its file, or '}add its folder with -I DIR or B00T_DATUM_PATH"
    )


def datum_paths(targets, includes) -> list[str]:
    """Each PATH (a datum file or folder) as it is; each NAME: NAME.job.toml or
    NAME.stack.toml on the search path (listed once for all of them)."""
    paths, search = [], None
    for target in targets:
        if target == "-" or os.path.exists(target) or target.endswith(".toml"):
            paths.append(target)
        else:
            search = search or name_search(includes)
            paths.append(find_datum(target, ("job", "stack"), includes, search))
    return paths
