"""YAML through a serialiser: block style, insertion order, LF, and strings quoted whenever
any YAML 1.1 or 1.2 reader (PyYAML, go-yaml v2/v3, kubectl, docker compose) could take
them for something else (``yes``, ``on``, ``null``, ``0x1F``, ``1e3``, ``0o17``, ``.inf``,
``12:30``, ``~``)."""

from __future__ import annotations

import re

import yaml

try:  # libyaml's emitter when present: same bytes, less time
    _Base = yaml.CSafeDumper  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeDumper

_AMBIGUOUS = re.compile(
    r"""^(?:
        ~|null|Null|NULL|
        y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|
        [-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|
        [-+]?0[xX][0-9a-fA-F_]+|[-+]?0[oO]?[0-7_]+|[-+]?0[bB][01_]+|
        [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|
        [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|
        [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*|
        =|<<
    )$""",
    re.X,
)


class _Dumper(_Base):  # type: ignore[misc,valid-type]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and not _needs_escape(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if _AMBIGUOUS.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _needs_escape(value: str) -> bool:
    # literal blocks cannot hold trailing spaces on lines, tabs at line starts, CR or
    # other control characters faithfully: let the emitter choose a quoted style
    return bool(re.search(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]| \n|\t|^\s|\s$", value))


_Dumper.add_representer(str, _str)


def dump(data: object) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=2**16,
        line_break="\n",
    )


def dump_all(docs: list) -> str:
    return yaml.dump_all(
        docs,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=2**16,
        line_break="\n",
        explicit_start=True,
    )
