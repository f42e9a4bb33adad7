"""Helm chart members: a ``<name>.k8s`` datum with ``chart_path`` -> ``HelmChart``.

The repository's URL is ``url``, else the datum's own ``helm repo add <alias> <url>`` line
in ``install`` (b00t-keys.md "Helm chart datums"); the values file (``values_file``,
relative to the datum's folder, then to each folder of the datum search path) is read
here, once, and carried in the IR as data: the Kubernetes backend writes it as the
HelmRelease's ``spec.values``. PyYAML reads it, imported only when a chart has a values
file (a build without one never pays for the import).
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any, Optional

from b00tc.diagnostics import Diagnostics, Span, locate
from b00tc.frontend.read import Raw, _tname
from b00tc.ir import HelmChart

#: a HelmRelease holds its values inline, and a Kubernetes object is at most ~1.5 MiB (etcd)
MAX_VALUES_BYTES = 1 << 20
#: nodes a values file may expand to through YAML aliases (a "billion laughs" file ends here)
MAX_NODES = 1_000_000
_ALIAS = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_URL = re.compile(r"(?:https?|oci)://[^\s/]+\S*$")
_REPO_ADD = re.compile(r"^\s*helm\s+repo\s+add\s", re.M)


class Skip(Exception):
    """The member is not deployed; its warning is reported."""


def read_chart_keys(raw: Raw, diags: Diagnostics) -> bool:
    """The keys of [b00t] a chart reads that other datums do not: its `helm repo add <alias>
    <url>` line is in ``install`` and its version is ``desires`` (b00t-keys.md), both
    informational elsewhere (an ``install`` table with ``requires`` is b00t's own).
    False when desires is not a string (E0102)."""
    b00t = raw.table
    if isinstance(b00t.get("install"), str):
        raw.canon[("install",)] = b00t["install"]
        raw.origin[("install",)] = "$.b00t.install"
    desires = b00t.get("desires")
    if isinstance(desires, str):
        raw.canon[("desires",)] = desires
        raw.origin[("desires",)] = "$.b00t.desires"
    elif desires is not None and b00t.get("chart_path") is not None:
        diags.error("E0102", f"desires (the chart version) must be a string, got {_tname(desires)}",
                    raw.file, "$.b00t.desires", help=f'quote it: desires = "{desires}"')
        return False
    return True


def build_chart(raw: Raw, diags: Diagnostics, search_dirs: list[str],
                confine: Optional[str] = None) -> Optional[HelmChart]:
    """The chart of a k8s datum that has ``chart_path``; None when it cannot be deployed
    (its error or warning is in ``diags``). ``confine``: the folder (a real path) no values
    file outside of is read (``b00tc mcp``), as for datums (E0901)."""
    if not read_chart_keys(raw, diags):
        return None
    chart_path: str = raw.get("chart_path")
    cpath = raw.path("chart_path")
    alias, slash, chart = chart_path.partition("/")
    if not slash or not chart or "/" in chart or not _ALIAS.match(alias) or len(alias) > 63:
        diags.error(
            "E0118",
            f"chart_path {chart_path!r} is not <repository-alias>/<chart>",
            raw.file,
            cpath,
            help='write chart_path = "prometheus-community/kube-prometheus-stack": the alias of '
            "`helm repo add` (lower-case letters, digits and '-'), a slash, the chart's name",
        )
        return None
    url = _url(raw, alias, diags)
    if url is None:
        return None
    values, values_file = _values(raw, diags, search_dirs, confine)
    if values is _BAD:
        return None
    return HelmChart(
        name=raw.name,
        datum=f"{raw.name}.k8s",
        file=raw.file,
        repo=alias,
        chart=chart,
        url=url,
        url_path=raw.path("url") if raw.get("url") is not None else raw.path("install"),
        version=raw.get("desires", default=""),
        namespace=raw.get("namespace", default=""),
        values=values,  # type: ignore[arg-type]
        values_file=values_file,
        path=cpath,
        hint=raw.get("hint", default=""),
    )


def url_span(chart: HelmChart, diags: Diagnostics) -> Optional[Span]:
    """Where a chart's URL is written inside its ``install`` script (the value is many
    lines, so the span is found in the source); None for ``url`` (its path locates it)."""
    src = diags.sources.get(chart.file)
    if src is None or chart.url_path != "$.b00t.install":
        return None
    at = locate(src, chart.url_path)
    if at is None:
        return None
    lines = src.split("\n")
    for n in range(at.line - 1, min(len(lines), at.end_line)):
        line = lines[n]
        if re.search(r"helm\s+repo\s+add\s+" + re.escape(chart.repo) + r"\s", line):
            col = line.find(chart.url)
            if col >= 0:
                return Span(n + 1, col + 1, n + 1, col + 1 + len(chart.url))
    return None


def _url(raw: Raw, alias: str, diags: Diagnostics) -> Optional[str]:
    url = raw.get("url")
    if url is not None:
        if not _URL.match(url):
            diags.error(
                "E0118",
                f"url {url!r} is not a Helm repository URL (http://, https:// or oci://)",
                raw.file,
                raw.path("url"),
                help="write the URL `helm repo add` takes, e.g. https://prometheus-community.github.io/helm-charts",
            )
            return None
        return url
    script = raw.get("install", default="")
    others = []
    for m in _REPO_ADD.finditer(script):
        line = script[m.start():].split("\n", 1)[0]
        try:
            words = [w for w in shlex.split(line, comments=True) if not w.startswith("-")]
        except ValueError:
            continue
        if len(words) < 5:
            continue
        name, found = words[3], words[4]
        if name != alias:
            others.append(name)
            continue
        if not _URL.match(found):
            continue
        return found
    if others:
        why = (f"its install script adds the repository {others[0]!r}, not {alias!r} "
               f"(chart_path {raw.get('chart_path')!r})")
    else:
        why = "it has no url and its install script has no `helm repo add " + alias + " <url>` line"
    diags.warn(
        "W0110",
        f"member {raw.name}.k8s names no Helm repository URL: {why}; it is skipped",
        raw.file,
        raw.path("chart_path"),
        help=f'add url = "https://..." (the repository of {alias!r}) under [b00t]',
    )
    return None


_BAD: Any = object()


def _values(raw: Raw, diags: Diagnostics, search_dirs: list[str], confine: Optional[str]) -> tuple[Any, str]:
    """(values, file read): (None, "") without a values file or when it is not found
    (W0109); (_BAD, "") when it cannot be used (E0117)."""
    name = raw.get("values_file")
    if name is None:
        return None, ""
    vpath = raw.path("values_file")
    here = os.path.dirname(raw.file) or "."
    if os.path.isabs(name):
        candidates = [name]
    else:
        candidates = [os.path.join(here, name)] + [os.path.join(d, name) for d in search_dirs if d != here]
    found = next((c for c in candidates if os.path.lexists(c)), None)
    if found is None:
        diags.warn(
            "W0109",
            f"values file {name!r} of {raw.name}.k8s not found: the chart's default values apply",
            raw.file,
            vpath,
            help=f"searched {', '.join(dict.fromkeys(os.path.dirname(c) or '.' for c in candidates))}; "
            "put the file beside the datum, or remove values_file",
        )
        return None, ""
    found = os.path.normpath(found)
    if confine is not None:
        real = os.path.realpath(found)
        if real != confine and not real.startswith(confine.rstrip(os.sep) + os.sep):
            diags.error("E0901", f"values file {found} is outside the folder served ({confine}): not read",
                        raw.file, vpath, help="b00tc mcp reads only files under the folder it was started in")
            return _BAD, ""
    from b00tc.frontend.files import Unreadable, read_regular

    try:
        data = read_regular(found, limit=MAX_VALUES_BYTES)
    except Unreadable as e:
        diags.error("E0117", f"cannot read the values file {found}: {e}", raw.file, vpath,
                    help="a values file is a regular YAML file of at most 1 MiB (the HelmRelease holds it)")
        return _BAD, ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        diags.error("E0117", f"the values file {found} is not UTF-8 text", raw.file, vpath)
        return _BAD, ""
    diags.sources[found] = text
    values = load_values(text, found, diags, f"{raw.name}.k8s")
    return (values, found) if values is not _BAD else (_BAD, "")


def load_values(text: str, file: str, diags: Diagnostics, owner: str) -> Any:
    """A values file's YAML as data (a mapping with string keys, of strings, numbers,
    booleans, nulls, lists and mappings), else _BAD with E0117 at the place in ``file``.
    Timestamps stay strings (Helm reads values as JSON does)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def fail(message: str, mark=None, help: str = "") -> Any:
        span = Span(mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark is not None else Span(1, 1, 1, 2)
        diags.error("E0117", message, file, span=span, notes=[f"the values file of {owner}"],
                    help=help or "Helm values are a YAML mapping of strings, numbers, booleans, lists and mappings")
        return _BAD

    loader = Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        return fail(f"the values file is not YAML: {e.problem or e.context}", e.problem_mark)
    except yaml.YAMLError as e:
        return fail(f"the values file is not YAML: {e}")
    except RecursionError:
        return fail("the values file nests deeper than a YAML reader follows")
    finally:
        loader.dispose()
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        what = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
        return fail(f"the values file is {what}, not a mapping of values", node.start_mark,
                    help="Helm values are a mapping: key: value lines at the top level")
    count = [0]

    class Bad(Exception):
        pass

    def convert(n, active: tuple) -> Any:
        count[0] += 1
        if count[0] > MAX_NODES:
            fail(f"the values file expands to more than {MAX_NODES} values (YAML aliases)", n.start_mark)
            raise Bad
        if isinstance(n, yaml.ScalarNode):
            try:
                v = loader.construct_object(n, deep=True)
            except yaml.YAMLError as e:
                fail(f"cannot read this value: {getattr(e, 'problem', None) or e}", n.start_mark)
                raise Bad
            if v is None or type(v) in (str, int, float, bool):
                return v
            fail(f"a {type(v).__name__} value ({n.tag}), which Helm values cannot hold", n.start_mark)
            raise Bad
        if id(n) in active:
            fail("the values file refers to itself through an alias", n.start_mark)
            raise Bad
        active = active + (id(n),)
        if isinstance(n, yaml.SequenceNode):
            if n.tag != "tag:yaml.org,2002:seq":
                fail(f"a {n.tag} value, which Helm values cannot hold", n.start_mark)
                raise Bad
            return [convert(item, active) for item in n.value]
        if n.tag != "tag:yaml.org,2002:map":
            fail(f"a {n.tag} value, which Helm values cannot hold", n.start_mark)
            raise Bad
        own = {id(k) for k, _ in n.value}  # written here, not merged in
        try:
            loader.flatten_mapping(n)  # merge keys (<<): merged pairs first, own ones win
        except yaml.YAMLError as e:
            fail(f"cannot merge: {getattr(e, 'problem', None) or e}", getattr(e, "problem_mark", None) or n.start_mark)
            raise Bad
        out: dict = {}
        written: set = set()
        for k, v in n.value:
            key = convert(k, active) if isinstance(k, yaml.ScalarNode) else None
            if type(key) is not str:
                fail("a mapping key that is not a string", k.start_mark,
                     help="quote the key: Helm values are JSON, whose keys are strings")
                raise Bad
            if id(k) in own:
                if key in written:
                    fail(f"the key {key!r} is given twice in one mapping", k.start_mark)
                    raise Bad
                written.add(key)
                out.pop(key, None)  # an own key after merged ones: in its written place
            out[key] = convert(v, active)
        return out

    try:
        return convert(node, ())
    except Bad:
        return _BAD
    except RecursionError:
        return fail("the values file nests deeper than b00tc follows", node.start_mark)
