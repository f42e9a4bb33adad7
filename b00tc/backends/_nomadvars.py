"""Host variables on Nomad: the job file refers to a Nomad Variable instead of holding
their values (README "Secrets").

Each job has one Variable, ``nomad/jobs/<job>``, which every task of the job may read
with its default workload identity (Nomad's implicit policy grants a task the Variables
at ``nomad/jobs/<job>``, ``.../<group>`` and ``.../<group>/<task>``). ``b00tc build``
writes no value: it registers the Variable's values, unresolved, on the build context
(``EnvFile(kind="nomad")``); deploy resolves them (``envfiles.resolve_store``) and puts
the Variable before the job runs (``nomad var put``, or mcp-nomad's ``create_variable``).

What a value is: the resolved text of one env entry (or command word), the way systemd's
environment file holds it, literal text around the host variables included
(``prefix-${X}-suffix`` is one value, ``prefix-<value>-suffix``). A reference to a stack
service cannot be resolved at deploy time (Nomad service discovery answers only in the
task's template), so a value that holds references is cut at each one: every stretch
between them that uses a host variable is a value of its own, the references stay template
actions, and literal stretches stay template text. The job file holds no trace of a value,
defaults included.

Value names are ``<task>.<NAME>`` (``<task>.<NAME>.<k>`` for the k-th stretch of a value
with references). A task name is a DNS-1123 label and an env or b00tc helper name an
identifier, neither holds a ``.``: the names are deterministic and cannot collide.

The Variable holds one item, ``b00tc`` (``ITEM``): the JSON object of every value by name
(``variable_items``). One item, not one per value, because mcp-nomad's
``create_variable {path, key, value}`` writes a Variable of exactly one item (a second
call to the same path replaces the first) and refuses an empty value: a JSON object is
never empty, and one call writes all of a job's values. ``nomad var put`` writes the same
Variable, so a job file reads its values one way whichever path deployed them.

The template (``env = true``, rendered to ``secrets/b00t.env``, only the task can read
it; ``change_mode = "restart"``, so a changed Variable reaches the task's environment)::

    {{ with nomadVar "nomad/jobs/<job>" }}{{ with parseJSON (index . "b00tc").Value }}NAME={{ toJSON (index . "<task>.NAME") }}
    {{ end }}{{ end }}

``parseJSON`` is consul-template's ``json.Unmarshal`` into a map; a value comes back as the
Go string it was (the item is written by Python's ``json.dumps`` with ``ensure_ascii``:
every non-ASCII character as ``\\uXXXX``, surrogate pairs included, which Go decodes to the
same UTF-8). ``toJSON`` is consul-template's ``json.Marshal`` of that string. Its output
is a double-quoted JSON string: ``\\" \\\\ \\n \\r \\t \\b \\f``, ``\\u00XX`` for other control
characters, ``\\u003c \\u003e \\u0026 \\u2028 \\u2029`` for HTML safety, everything else as
UTF-8. hashicorp/go-envparse decodes exactly those escapes inside double quotes (``\\"
\\\\ \\/ \\b \\f \\r \\n \\t \\uXXXX`` with surrogate pairs) and passes bytes >= 0x80 through,
so the value arrives byte for byte (Nomad's docs recommend ``toJSON`` for this). Text
around it is written the same way: the line is ``NAME=`` followed by double-quoted
pieces, which go-envparse concatenates (``"a-"{{ toJSON ... }}"-b"``).
"""

from __future__ import annotations

from typing import Sequence

from b00tc.backends._envfile import EnvEntry, EnvFile
from b00tc.backends._values import warn_resolved
from b00tc.ir import HostVar, Part, Ref, Value

DESTINATION = "secrets/b00t.env"


#: the one item of a job's Variable: the JSON object of its values by name
ITEM = "b00tc"


def variable_path(job: str) -> str:
    return f"nomad/jobs/{job}"


def variable_items(values: dict[str, str]) -> dict[str, str]:
    """The items of the Variable that holds ``values`` (name -> resolved text, in entry
    order): one, ``ITEM``, their JSON object (ASCII, so that any byte of a value survives
    every hop as an escape)."""
    import json

    return {ITEM: json.dumps(values, ensure_ascii=True, separators=(",", ":"))}


def _no_refs(ref: Ref) -> str:  # pragma: no cover - an item never holds a reference
    raise AssertionError(f"a Nomad Variable item holds no reference: {ref!r}")


class Item(tuple):
    """A template part: the text of the Variable item ``key`` (a 1-tuple, so that it is
    neither a Lit nor a Ref)."""

    @property
    def key(self) -> str:
        return self[0]


def stretches(parts: Sequence[Part]) -> list[list[Part]]:
    """``parts`` cut at each reference: the stretches between references (and each
    reference as a stretch of its own), in order."""
    out: list[list[Part]] = []
    for p in parts:
        if type(p) is Ref:
            out.append([p])
        elif out and type(out[-1][0]) is not Ref:
            out[-1].append(p)
        else:
            out.append([p])
    return out


class JobVariable:
    """The Variable of one job: its items, filled while the job's tasks are rendered."""

    def __init__(self, job: str, namespace: str = "") -> None:
        self.store = EnvFile(variable_path(job), job, [], kind="nomad", namespace=namespace)

    def parts(self, task: str, name: str, value: Value, file: str) -> list:
        """``value``'s parts for the template: each stretch that uses a host variable
        becomes an ``Item`` of this Variable (registered here), the rest stays."""
        out: list = []
        k = 0
        for s in stretches(value.parts):
            if not any(type(p) is HostVar for p in s):
                out.extend(s)
                continue
            key = f"{task}.{name}" + (f".{k}" if value.refs else "")
            k += 1
            self.store.entries.append(EnvEntry(key, Value(parts=tuple(s), path=value.path), file, _no_refs))
            out.append(Item((key,)))
        return out

    def template_data(self, lines: Sequence[str]) -> str:
        return (
            "{{ with nomadVar " + _go_quote(self.store.path) + " }}{{ with parseJSON (index . "
            + _go_quote(ITEM) + ").Value }}" + "".join(lines) + "{{ end }}{{ end }}"
        )


def warn_image(value: Value, ctx, file: str) -> None:
    """An image is resolved at build time (Nomad needs it to pull): W0304 per variable."""
    warn_resolved(value, ctx, file, "W0304", "the image", "its value is written into the Nomad job",
                  help="write the image without host variables to keep the job file free of their values")


def item_action(item: Item) -> str:
    """The Go template action that prints the item as one double-quoted go-envparse piece."""
    return "{{ toJSON (index . " + _go_quote(item.key) + ") }}"


def _go_quote(text: str) -> str:
    # paths and item names are ASCII letters, digits, '.', '/', '_' and '-'
    assert all(c.isalnum() or c in "._/-" for c in text) and text.isascii(), text
    return '"' + text + '"'
