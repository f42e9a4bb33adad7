"""Target options: the cluster-specific values a datum does not say (a namespace, Nomad's
datacenters, a volume's size and storage class, a Service's type, an image pull policy,
the node label GPUs are selected by), set per target without editing a datum.

Two places, the command line winning (as Helm's ``--set`` wins over a values file):

- ``[targets.<target>]`` tables in the user config file (b00tc.runtime.config's path),
  e.g. ``[targets.k8s] namespace = "ml"``;
- ``-O/--target-option TARGET.KEY=VALUE`` on every command that compiles (``build``,
  ``check``, ``plan``, ``deploy``, ``status``, ``logs``, ``down``), e.g. ``-O
  k8s.namespace=ml -O nomad.datacenters=eu-1,eu-2``: what deploy applies, and where day
  two looks (``k8s.namespace`` when ``--namespace`` is not given), is what ``build`` wrote
  with the same options.

A target's aliases name it too (``kubernetes.namespace``). An unknown target or key, or a
value the option refuses, is error E0903 with what is known; nothing is written. An
option of a target not being built is not used (a config file holds every target's).
"""

from __future__ import annotations

import os
from typing import Optional

from b00tc.backends._options import _BY_KEY, OPTIONS, Option, Options, defaults  # noqa: F401


def build_namespace(result, target: str) -> Optional[str]:
    """The namespace a build wrote its objects (k8s) or its jobs and Variables (nomad) into
    (-O TARGET.namespace, or the config file's): where day two looks when ``--namespace``
    is not given; None for a target that has no such option."""
    return (result.target_options.get(target) or {}).get("namespace") or None


def _target(name: str) -> Optional[str]:
    from b00tc.backends import ALIASES, REGISTRY

    name = ALIASES.get(name, name)
    return name if name in REGISTRY else None


def _known(target: Optional[str]) -> str:
    keys = [f"{o.target}.{o.key}" for o in OPTIONS if target is None or o.target == target]
    return ", ".join(keys) if keys else f"target {target} has no options"


def resolve(given: list[tuple[str, str, object]]) -> tuple[dict[str, Options], list[tuple[str, str, str]]]:
    """``given``: (where, "TARGET.KEY", value) in the order they apply (config first, then
    the command line); ``where`` says where for an error. Returns every target's options
    and the errors, each (where, what, help)."""
    from b00tc.backends import REGISTRY

    out = {t: defaults(t) for t in REGISTRY}
    errors: list[tuple[str, str, str]] = []
    for where, name, value in given:
        target_name, dot, key = name.partition(".")
        target = _target(target_name)
        if not dot or target is None:
            errors.append((where, f"unknown target option {name!r}", f"known: {_known(None)}"))
            continue
        option = _BY_KEY.get((target, key))
        if option is None:
            errors.append((where, f"target {target} has no option {key!r}", f"known: {_known(target)}"))
            continue
        if value is None:
            errors.append((where, f"{name} needs a value: -O {name}=VALUE", option.help))
            continue
        items = value if isinstance(value, list) and option.is_list else None
        if items is None and not isinstance(value, str):
            errors.append((where, f"{name} takes {'a list of strings' if option.is_list else 'a string'}, "
                                  f"got {type(value).__name__}", option.help))
            continue
        if items is None:
            items = [v.strip() for v in value.split(",")] if option.is_list else [value]
        bad = next((i for i in items if not isinstance(i, str) or option.check(i)), None) if items else ""
        if bad is not None:
            what = option.check(bad) if isinstance(bad, str) else "a string"
            errors.append((where, f"{name} = {bad!r}: not {what}", option.help))
            continue
        out[target][key] = ",".join(items) if option.is_list else items[0]
    return out, errors


def from_command_line(values: tuple[str, ...] | list[str]) -> list[tuple[str, str, object]]:
    """``-O TARGET.KEY=VALUE`` values as ``resolve`` takes them (one without ``=`` is
    given as None: an error there)."""
    out: list[tuple[str, str, object]] = []
    for v in values:
        name, eq, value = v.partition("=")
        out.append((f"-O {v}", name.strip(), value if eq else None))
    return out


def for_build(values, diags) -> dict[str, Options]:
    """The options a build uses: the config file's ``[targets.*]`` tables, then ``values``
    (``-O``); each error is E0903 in ``diags`` (the build then writes nothing)."""
    given: list[tuple[str, str, object]] = []
    from b00tc.runtime.configpath import config_path

    path = config_path()
    if os.path.lexists(path):  # most builds have no config file: nothing more is imported
        from b00tc.runtime.config import ConfigError, load

        try:
            tables = load(path).targets
        except ConfigError as e:
            diags.error("E0903", str(e), help="fix the config file, or point B00TC_CONFIG at another")
            tables = {}
        given = [(f"{path} [targets.{t}]", f"{t}.{k}", v) for t, table in tables.items() for k, v in table.items()]
    resolved, errors = resolve(given + from_command_line(values))
    for where, what, help in errors:
        diags.error("E0903", f"{where}: {what}", help=help)
    return resolved

