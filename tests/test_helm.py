"""Helm chart members (``<name>.k8s`` with ``chart_path``): a Flux HelmRepository and
HelmRelease on k8s, skipped on every other target; the values file reaches spec.values as
data; every way a chart member goes wrong is a located diagnostic, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import flux
from tests.helpers import compile_, files, rendered

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"


def stack(folder: Path, members: list[str], name: str = "charts") -> str:
    (folder / f"{name}.stack.toml").write_text(
        f'[b00t]\nname = "{name}"\ntype = "stack"\nmembers = {members!r}\n'.replace("'", '"'))
    return str(folder / f"{name}.stack.toml")


def chart(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.k8s.toml").write_text(f'[b00t]\nname = "{name}"\ntype = "k8s"\n{body}')


def docs(result, name: str = "charts") -> list[dict]:
    return [d for d in yaml.safe_load_all(files(result, "k8s")[f"{name}.yaml"]) if d]


def codes(result) -> list[str]:
    return [d.code for d in result.diags]


# -- what is written -------------------------------------------------------------------


def test_golden_values_reach_spec_values_as_data():
    """The golden case's values file, read back from the HelmRelease by a YAML reader, is
    the same data (hostile strings, merge keys, big numbers; a date stays a string)."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.frontend.helm import load_values

    out = [d for d in yaml.safe_load_all((ROOT / "golden" / "k8s" / "observability.yaml").read_text()) if d]
    release = next(d for d in out if d["kind"] == "HelmRelease" and d["metadata"]["name"] == "grafana")
    expected = load_values((CASES / "grafana-values.yaml").read_text(), "v.yaml", Diagnostics(), "grafana.k8s")
    assert release["spec"]["values"] == expected
    q = release["spec"]["values"]["quoting"]
    assert q["single"] == 'it\'s "quoted"' and q["line_separator"] == "a\u2028b"
    assert q["date"] == "2024-01-01" and q["looks_like_bool"] == "yes" and q["trailing_newline"] == "line\n"
    assert release["spec"]["values"]["anchors"]["merged"] == {"cpu": "100m", "memory": "256Mi"}


def test_one_repository_per_alias_and_labels_for_day_two():
    r = compile_([str(CASES / "observability.stack.toml")], targets=["k8s"])
    assert r.ok, rendered(r)
    out = docs(r, "observability")
    repos = [d for d in out if d["kind"] == "HelmRepository"]
    releases = [d for d in out if d["kind"] == "HelmRelease"]
    assert [d["metadata"]["name"] for d in repos] == ["observability-grafana"]
    assert [d["metadata"]["name"] for d in releases] == ["grafana", "loki"]
    for d in repos + releases:
        flux.validate(d)
        labels = d["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "observability"
        assert labels["app.kubernetes.io/managed-by"] == "b00tc"
    for rel in releases:
        assert rel["spec"]["chart"]["spec"]["sourceRef"] == {"kind": "HelmRepository", "name": "observability-grafana"}
        assert rel["spec"]["targetNamespace"] == "monitoring"
        assert rel["spec"]["install"] == {"createNamespace": True}
        assert rel["spec"]["releaseName"] == rel["metadata"]["name"]
    assert releases[1]["spec"]["chart"]["spec"]["version"] == "6.6.2"
    assert "values" not in releases[1]["spec"]  # loki has no values file
    # the values file is a dependency of the output (--depfile)
    assert str(CASES / "grafana-values.yaml") in r.deps[("k8s", "observability.yaml")]


def test_two_stacks_of_one_alias_each_own_their_repository(tmp_path):
    """Day two selects a stack's objects by its part-of label: were the repository of an
    alias one object (named after the alias) written by two stacks, whichever applied last
    would label it, and `down` of that stack would delete the source the other stack's
    releases use. Each stack has its own ``<stack>-<alias>``, labelled with that stack."""
    chart = ('[b00t]\nname = "{n}"\ntype = "k8s"\nchart_path = "grafana/{n}"\n'
             'url = "https://grafana.github.io/helm-charts"\nnamespace = "monitoring"\n')
    for n in ("grafana", "loki"):
        (tmp_path / f"{n}.k8s.toml").write_text(chart.format(n=n))
    for s, m in (("a", "grafana"), ("b", "loki")):
        (tmp_path / f"{s}.stack.toml").write_text(f'[b00t]\nname = "{s}"\ntype = "stack"\nmembers = ["{m}.k8s"]\n')
    r = compile_([str(tmp_path / "a.stack.toml"), str(tmp_path / "b.stack.toml")], targets=["k8s"])
    assert r.ok, rendered(r)
    for s in ("a", "b"):
        out = docs(r, s)
        (repo,) = [d for d in out if d["kind"] == "HelmRepository"]
        (rel,) = [d for d in out if d["kind"] == "HelmRelease"]
        assert repo["metadata"]["name"] == f"{s}-grafana"
        assert repo["metadata"]["labels"]["app.kubernetes.io/part-of"] == s
        assert rel["spec"]["chart"]["spec"]["sourceRef"]["name"] == f"{s}-grafana"


def test_charts_only_stack_builds_on_k8s_only(tmp_path):
    chart(tmp_path, "redis", 'chart_path = "bitnami/redis"\nurl = "oci://registry-1.docker.io/bitnamicharts"\n')
    r = compile_([stack(tmp_path, ["redis.k8s"])])
    assert r.ok, rendered(r)
    assert sorted({t for t, _ in r.outputs}) == ["k8s"]
    repo = next(d for d in docs(r) if d["kind"] == "HelmRepository")
    assert repo["spec"]["type"] == "oci"
    flux.validate(repo)
    assert codes(r) == ["W0101", "W0104"]
    w0101 = r.diags[0]
    assert "skipped on compose, nomad, bash, systemd" in w0101.message
    # on k8s alone, nothing is skipped and nothing said
    k8s = compile_([stack(tmp_path, ["redis.k8s"])], targets=["k8s"])
    assert k8s.ok and codes(k8s) == [] and files(k8s, "k8s")


def test_namespace_option_puts_both_objects_in_it(tmp_path):
    from b00tc.compiler import BuildRequest, build

    chart(tmp_path, "redis", 'chart_path = "bitnami/redis"\nurl = "https://charts.bitnami.com/bitnami"\n')
    r = build(BuildRequest(paths=[stack(tmp_path, ["redis.k8s"])], targets=["k8s"],
                           target_options={"k8s": {"namespace": "apps"}}))
    assert r.ok, rendered(r)
    assert {d["metadata"].get("namespace") for d in docs(r)} == {"apps"}


def test_k8s_member_without_chart_path_is_skipped_saying_why(tmp_path):
    chart(tmp_path, "flux-cd", 'namespace = "flux-system"\n')
    r = compile_([stack(tmp_path, ["flux-cd.k8s"])])
    assert r.ok and not r.outputs
    (w, _) = [d for d in r.diags]
    assert w.code == "W0101" and "no chart_path" in w.message and "Helm charts only" in w.help


def test_url_from_the_install_script(tmp_path):
    chart(tmp_path, "app", 'chart_path = "acme/app"\ndesires = "1.2.3"\ninstall = """\n'
          "helm repo add other https://other.example.com\n"
          "helm repo add --force-update acme 'https://charts.acme.example/stable'\n\"\"\"\n")
    r = compile_([stack(tmp_path, ["app.k8s"])], targets=["k8s"])
    assert r.ok, rendered(r)
    repo = next(d for d in docs(r) if d["kind"] == "HelmRepository")
    assert repo["spec"]["url"] == "https://charts.acme.example/stable"


# -- values: hostile strings as data ---------------------------------------------------

HOSTILE = [
    "", " ", "  lead", "trail  ", "yes", "No", "on", "~", "null", "0x1F", "1e3", "0o17", ".inf", "12:30",
    "-", "- item", "? q", ": c", "a: b", "# c", "a #b", "'", '"', "''", "\\", "\\n", "\n", "a\nb", "a\n",
    "\n\na", "\t", "a\tb", "\r\n", "\x00", "\x07", "\x1b[31m", "\u0085", "\u2028", "\u2029", "\ufeff",
    "é", "☃", "🚀", "שלום", "\u200b", "$(VAR)", "${VAR}", "$$", "%s", "{a: 1}", "[1, 2]", "&a", "*a",
    "!tag", "|", ">", "@", "`", "---", "...", "<<", "=", "x" * 300,
]


def _build_values(tmp_path: Path, values: dict):
    # every scalar double-quoted: PyYAML reads its own multi-line plain and single-quoted keys back otherwise
    (tmp_path / "values.yaml").write_text(yaml.safe_dump(values, allow_unicode=True, default_style='"'), encoding="utf-8")
    chart(tmp_path, "app", 'chart_path = "acme/app"\nurl = "https://charts.acme.example"\nvalues_file = "values.yaml"\n')
    return compile_([stack(tmp_path, ["app.k8s"])], targets=["k8s"])


def test_hostile_strings_round_trip(tmp_path):
    values = {"s": {f"k{i}": s for i, s in enumerate(HOSTILE)}, "keys": {s or "empty": i for i, s in enumerate(HOSTILE)},
              "list": HOSTILE}
    r = _build_values(tmp_path, values)
    assert r.ok, rendered(r)
    release = next(d for d in docs(r) if d["kind"] == "HelmRelease")
    assert release["spec"]["values"] == values
    flux.validate(release)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.text(min_size=1, max_size=12), st.one_of(st.text(), st.integers(), st.booleans(),
                                                                    st.lists(st.text(), max_size=3)), max_size=6))
def test_values_round_trip_property(tmp_path, values):
    r = _build_values(tmp_path, values)
    assert r.ok, rendered(r)
    release = next(d for d in docs(r) if d["kind"] == "HelmRelease")
    assert release["spec"].get("values", {}) == values


# -- what goes wrong: located, never a traceback ---------------------------------------


def _values_case(tmp_path: Path, text: bytes | None, name: str = "values.yaml"):
    if text is not None:
        (tmp_path / name).write_bytes(text)
    chart(tmp_path, "app", f'chart_path = "acme/app"\nurl = "https://charts.acme.example"\nvalues_file = "{name}"\n')
    return compile_([stack(tmp_path, ["app.k8s"])], targets=["k8s"])


@pytest.mark.parametrize(
    "text, where",
    [
        (b"a: [1, 2\n", "values.yaml:2:1"),
        (b"a: 1\nb: *nowhere\n", "values.yaml:2:4"),
        (b"- 1\n- 2\n", "values.yaml:1:1"),
        (b"just a string\n", "values.yaml:1:1"),
        (b"a: 1\n1: 2\n", "values.yaml:2:1"),
        (b"a: 1\na: 2\n", "values.yaml:2:1"),
        (b"a: !!binary aGVsbG8=\n", "values.yaml:1:4"),
        (b"a: !custom x\n", "values.yaml:1:4"),
        (b"a: &x [*x]\n", "values.yaml:1:4"),
        (b"\xff\xfe\n", "app.k8s.toml:6:15"),
    ],
)
def test_bad_values_file_is_located(tmp_path, text, where):
    r = _values_case(tmp_path, text)
    assert not r.ok and not r.outputs
    (err,) = [d for d in r.diags if d.is_error]
    assert err.code == "E0117", rendered(r)
    text_out = rendered(r)
    assert f"{where}" in text_out and "Traceback" not in text_out, text_out


def test_alias_bomb_ends(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    r = _values_case(tmp_path, ("\n".join(lines) + "\n").encode())
    assert [d.code for d in r.diags if d.is_error] == ["E0117"]
    assert "more than" in rendered(r)


def test_fifo_and_huge_values_files_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo.yaml")
    r = _values_case(tmp_path, None, "fifo.yaml")
    assert [d.code for d in r.diags if d.is_error] == ["E0117"] and "FIFO" in rendered(r)
    r = _values_case(tmp_path, b"a: " + b"x" * (2 << 20) + b"\n", "huge.yaml")
    assert [d.code for d in r.diags if d.is_error] == ["E0117"] and "larger than" in rendered(r)
    assert "app.k8s.toml:6:15" in rendered(r)


def test_missing_values_file_is_a_warning(tmp_path):
    r = _values_case(tmp_path, None, "nowhere.yaml")
    assert r.ok and codes(r) == ["W0109"]
    assert "values" not in next(d for d in docs(r) if d["kind"] == "HelmRelease")["spec"]


def test_values_file_on_the_search_path(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "values.yaml").write_text("replicas: 3\n")
    chart(tmp_path, "app", 'chart_path = "acme/app"\nurl = "https://charts.acme.example"\nvalues_file = "values.yaml"\n')
    r = compile_([stack(tmp_path, ["app.k8s"])], targets=["k8s"], includes=[str(lib)])
    assert r.ok, rendered(r)
    assert next(d for d in docs(r) if d["kind"] == "HelmRelease")["spec"]["values"] == {"replicas": 3}


@pytest.mark.parametrize(
    "body, code, where",
    [
        ('chart_path = "acme/app"\nurl = "https://x.example"\nnamespace = 3\n', "E0102", "app.k8s.toml:6:13"),
        ('chart_path = 7\n', "E0102", "app.k8s.toml:4:14"),
        ('chart_path = "acme/app"\nurl = "https://x.example"\ndesires = 1.5\n', "E0102", "app.k8s.toml:6:11"),
        ('chart_path = "app"\nurl = "https://x.example"\n', "E0118", "app.k8s.toml:4:14"),
        ('chart_path = "acme/app"\nurl = "ftp://x.example"\n', "E0118", "app.k8s.toml:5:7"),
        ('chart_path = "acme/app"\nvalues_file = ["a"]\nurl = "https://x.example"\n', "E0102", "app.k8s.toml:5:15"),
    ],
)
def test_bad_chart_keys_are_located(tmp_path, body, code, where):
    chart(tmp_path, "app", body)
    r = compile_([stack(tmp_path, ["app.k8s"])])
    assert [d.code for d in r.diags if d.is_error] == [code], rendered(r)
    assert where in rendered(r), rendered(r)


def test_no_url_is_a_warning_and_the_member_is_skipped(tmp_path):
    chart(tmp_path, "app", 'chart_path = "acme/app"\ninstall = "helm install app acme/app"\n')
    r = compile_([stack(tmp_path, ["app.k8s"])])
    assert r.ok and not r.outputs
    assert codes(r) == ["W0110", "W0104"]


def test_same_alias_two_urls_across_stacks_of_one_build(tmp_path):
    chart(tmp_path, "one", 'chart_path = "acme/one"\nurl = "https://a.example"\n')
    chart(tmp_path, "two", 'chart_path = "acme/two"\nurl = "https://b.example"\n')
    a = stack(tmp_path, ["one.k8s"], "first")
    b = stack(tmp_path, ["two.k8s"], "second")
    r = compile_([a, b], targets=["k8s"])
    assert [d.code for d in r.diags if d.is_error] == ["E0116"]
    assert "two.k8s.toml:5:7" in rendered(r)
    same = compile_([a, stack(tmp_path, ["one.k8s"], "second")], targets=["k8s"])
    assert same.ok, rendered(same)


def test_pyyaml_is_imported_only_for_a_values_file():
    code = (
        "import sys\n"
        "from b00tc.compiler import BuildRequest, build\n"
        "r = build(BuildRequest(paths=['tests/data/b00t-datums/phase2-gpu-observability.stack.toml'], targets=['k8s']))\n"
        "assert r.ok and r.outputs\n"
        "assert 'yaml' not in sys.modules, 'yaml imported'\n"
        "r = build(BuildRequest(paths=['tests/cases/observability.stack.toml'], targets=['k8s']))\n"
        "assert r.ok and 'yaml' in sys.modules\n"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert p.returncode == 0, p.stderr




def test_values_file_outside_the_confined_folder_is_not_read(tmp_path):
    """b00tc mcp confines reading to its folder: a values file outside it (a path up, or a
    symbolic link out) is E0901, and its content reaches no output."""
    from b00tc.compiler import BuildRequest, build

    served = tmp_path / "served"
    served.mkdir()
    (tmp_path / "secret.yaml").write_text("token: s3cret\n")
    os.symlink(tmp_path / "secret.yaml", served / "link.yaml")
    for name in ("../secret.yaml", "link.yaml"):
        chart(served, "app", f'chart_path = "acme/app"\nurl = "https://charts.acme.example"\nvalues_file = "{name}"\n')
        r = build(BuildRequest(paths=[stack(served, ["app.k8s"])], targets=["k8s"], confine=str(served),
                               datum_path=""))
        assert [d.code for d in r.diags if d.is_error] == ["E0901"], rendered(r)
        assert not r.outputs and "s3cret" not in rendered(r)
