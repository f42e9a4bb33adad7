"""Issue 16 (first part): accept what b00t accepts. ``tests/data/b00t-keys.md`` is a copy
of ``../shared/design/b00t-keys.md``, the page that lists every key b00t's own reader
knows; the tests read its key lists, so they follow the page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import compile_, rendered

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "tests" / "data" / "b00t-keys.md"
UNKNOWN = {"E0101", "W0105"}


def _key_list(para: str) -> str:
    """The text after the paragraph's first ':' outside parentheses, to its first '. '."""
    depth = 0
    for i, ch in enumerate(para):
        depth += ch == "("
        depth -= ch == ")"
        if ch == ":" and depth == 0:
            rest = para[i + 1 :]
            break
    else:
        return ""
    depth = 0
    for i, ch in enumerate(rest):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "." and depth == 0 and (i + 1 == len(rest) or rest[i + 1] in " \n"):
            return rest[:i]
    return rest


def _keys(text: str) -> dict:
    """key -> None (a value) or (many, sub-keys) for a table the page describes."""
    out: dict = {}
    i, last = 0, None
    while i < len(text):
        ch = text[i]
        if ch == "`":
            j = text.index("`", i + 1)
            last = text[i + 1 : j]
            out[last] = None
            i = j + 1
        elif ch == "(":
            depth, j = 0, i
            while True:
                depth += text[j] == "("
                depth -= text[j] == ")"
                if depth == 0:
                    break
                j += 1
            inner = text[i + 1 : j]
            if last is not None and "table" in inner:
                subs = tuple(k for s in re.findall(r"`([^`]+)`", inner) for k in s.split("/"))
                out[last] = ("array of tables" in inner, subs)
            i = j + 1
        else:
            if not ch.isspace() and ch not in ",;/":
                last = None
            i += 1
    return out


def page_keys() -> dict[str, dict]:
    """The page's keys: {'b00t': ..., 'orchestration': ..., 'top': ...}."""
    body = PAGE.read_text().split("## Keys of `[b00t]`", 1)[1].split("\n## The rule", 1)[0]
    sections: dict[str, dict] = {"b00t": {}, "orchestration": {}, "top": {}}
    for para in body.split("\n\n"):
        para = para.replace("\n", " ").strip()
        if para.startswith("that b00t's reader knows"):
            para = para.split(" ", 4)[-1]  # the heading's end; the key list follows
        where = "orchestration" if para.startswith("`[b00t.orchestration]`") else (
            "top" if para.startswith("Top level") else "b00t")
        keys = _keys(_key_list(para))
        if para.startswith("Open tables"):
            keys = {k: (False, ()) for k in keys}
        sections[where].update(keys)
    return sections


def schedule_types_of_page() -> list[str]:
    text = PAGE.read_text().replace("\n", " ")
    inner = text.split("`schedule_type` (**any string**: real files use", 1)[1].split(")", 1)[0]
    return re.findall(r"`([^`]+)`", inner)


def test_page_is_parsed():
    keys = page_keys()
    assert len(keys["b00t"]) >= 65 and {"keywords", "oci_uri", "resource_path", "install"} <= set(keys["b00t"])
    assert keys["b00t"]["gate"] == (True, ("command", "file", "env", "rhai", "knowledge_backend", "hint"))
    assert keys["b00t"]["install"] == (False, ("requires",))
    assert set(keys["orchestration"]) >= {"schedule_type", "gpu_requirements", "queue_name"}
    assert set(keys["top"]) == {"env", "sections"}
    assert "monitoring" in schedule_types_of_page()


def test_page_is_the_design_page():
    for shared in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        page = shared / "design" / "b00t-keys.md"
        if page.exists():
            assert page.read_text() == PAGE.read_text(), f"refresh {PAGE} from {page}"
            return
    pytest.skip("../shared/design is not beside this checkout")


# -- writing datums ---------------------------------------------------------------------

#: values for the keys b00tc reads (it checks their types); any other key gets "x"
TYPED = {
    "image": "busybox:1.36", "oci_uri": "busybox:1.36", "resource_path": "./docker",
    "command": ["true"], "args": ["a"], "docker_args": ["-p", "8080:80"], "hint": "h",
    "members": [], "env": {"A": "1"}, "requires_stacks": [], "schedule_type": "queue_based",
    "queue_name": "q", "gpu_batch_group": "g", "daily_limit": 10.0, "cost_per_job": 1.0,
    "on_budget_exceeded": "defer", "count": 1, "memory": "8Gi", "gpu_type": "nvidia-a100",
    "resource_requirements": {"cpu": "1", "memory": "1Gi"},
}


def toml_value(v) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)


def value_for(key: str, spec):
    if key in TYPED:
        return TYPED[key]
    if spec is None:
        return "x"
    many, subs = spec
    # a table whose keys the page does not list is open: any key
    table = {s: TYPED.get(s, "x") for s in subs} if subs else {"any_key": "x"}
    return [table] if many else table


BASE = {
    "job": '[b00t]\nname = "k"\ntype = "job"\nimage = "busybox:1.36"\n',
    "stack": '[b00t]\nname = "k"\ntype = "stack"\n',
    "docker": '[b00t]\nname = "k"\ntype = "docker"\nimage = "busybox:1.36"\n',
}


def datum(kind: str, section: str, key: str, value) -> str:
    line = f"{key} = {toml_value(value)}\n"
    if section == "b00t":
        return BASE[kind] + line
    if section == "orchestration":
        return BASE[kind] + "[b00t.orchestration]\n" + line
    return line + BASE[kind]  # a top-level key comes before [b00t]


def build_text(tmp_path, name: str, text: str, strict: bool = False):
    f = tmp_path / name
    f.write_text(text)
    return compile_([str(f)], targets=["compose"], strict=strict)


def _cases():
    for section, keys in page_keys().items():
        for key, spec in keys.items():
            for kind in BASE:
                if section == "b00t" and key in ("name", "type") or (kind in ("job", "docker") and key == "image"):
                    continue  # in every base datum already
                if kind == "job" and key == "job":
                    continue  # a workflow job: a schema of its own, tested in tests/test_workflow.py
                yield pytest.param(kind, section, key, spec, id=f"{kind}-{section}-{key}")


@pytest.mark.parametrize("kind, section, key, spec", list(_cases()))
def test_every_key_of_the_page_is_accepted(kind, section, key, spec, tmp_path):
    text = datum(kind, section, key, value_for(key, spec))
    r = build_text(tmp_path, f"k.{kind}.toml", text)
    assert not r.diags.errors, rendered(r)
    assert not [d for d in r.diags if d.code in UNKNOWN], rendered(r)


@pytest.mark.parametrize("kind", list(BASE))
def test_schema_accepts_every_key_of_the_page(kind):
    """`b00tc schema` (an editor's view of the same key table) takes every key too."""
    from tests.test_schema import validator

    doc: dict = {"b00t": {"name": "k", "type": kind, "image": "busybox:1.36", "orchestration": {}}}
    for section, keys in page_keys().items():
        for key, spec in keys.items():
            if key in ("name", "type") or (kind == "job" and key == "job"):
                continue
            where = {"b00t": doc["b00t"], "orchestration": doc["b00t"]["orchestration"], "top": doc}[section]
            where[key] = value_for(key, spec)
    assert not [e.message for e in validator().iter_errors(doc)]


# -- the rule for a key b00tc does not know ------------------------------------------------

JOB = '[b00t]\nname = "j"\ntype = "job"\n\n[b00t.container]\nimage = "busybox:1.36"\n'


@pytest.mark.parametrize("table, typo, guess", [
    ("[b00t.container]", "imgae", "image"),
    ("[b00t.resources]", "gpu_cont", "gpu_count"),
    ("[b00t.dependencies]", "requires_stack", "requires_stacks"),
])
def test_unknown_key_in_b00tc_table_is_an_error_with_did_you_mean(table, typo, guess, tmp_path):
    text = JOB.replace("[b00t.container]\n", f"{table}\n{typo} = 1\n[b00t.container]\n")
    if table == "[b00t.container]":
        text = JOB + f"{typo} = 1\n"
    r = build_text(tmp_path, "j.job.toml", text)
    errs = [d for d in r.diags if d.is_error]
    assert [d.code for d in errs] == ["E0101"], rendered(r)
    assert f"did you mean {guess!r}" in errs[0].help
    assert re.search(rf"j\.job\.toml:\d+:1\n", rendered(r)), rendered(r)


def test_unknown_service_key_is_an_error(tmp_path):
    (tmp_path / "web.docker.toml").write_text('[b00t]\nname = "web"\ntype = "docker"\nimage = "nginx:1"\n')
    text = '[b00t]\nname = "s"\ntype = "stack"\nmembers = ["web.docker"]\n[b00t.services]\nweb = { port = 80, proto = "http" }\n'
    r = build_text(tmp_path, "s.stack.toml", text)
    assert [d.code for d in r.diags if d.is_error] == ["E0101"]
    assert "did you mean 'protocol'" in r.diags[0].help


@pytest.mark.parametrize("where, text, key, guess", [
    ("[b00t]", JOB.replace('type = "job"\n', 'type = "job"\nkeywrds = ["a"]\n'), "keywrds", "keywords"),
    ("[b00t.orchestration]", JOB + '[b00t.orchestration]\nqueue_nmae = "q"\n', "queue_nmae", "queue_name"),
    ("gpu_requirements", JOB + '[b00t.orchestration.gpu_requirements]\ncont = 1\n', "cont", "count"),
    ("top level", '[sectons]\nA = "1"\n' + JOB, "sectons", "sections"),
    ("[[b00t.gate]]", JOB + '[[b00t.gate]]\ncomand = "true"\n', "comand", "command"),
])
def test_unknown_key_elsewhere_is_a_warning_and_an_error_under_strict(where, text, key, guess, tmp_path):
    r = build_text(tmp_path, "j.job.toml", text)
    assert not r.diags.errors, rendered(r)
    (w,) = [d for d in r.diags if d.code == "W0105"]
    assert not w.is_error and repr(key) in w.message and f"did you mean {guess!r}" in w.help
    assert re.search(r"j\.job\.toml:\d+:\d+\n", rendered(r)), rendered(r)
    assert r.outputs  # compiled: b00t runs this datum too
    s = build_text(tmp_path, "j.job.toml", text, strict=True)
    assert [d.code for d in s.diags if d.is_error] == ["W0105"] and not s.ok


def test_key_of_another_datum_type_is_a_warning_that_says_so(tmp_path):
    text = '[b00t]\nname = "d"\ntype = "docker"\nimage = "nginx:1"\n[b00t.dependencies]\nrequires_stacks = []\n'
    r = build_text(tmp_path, "d.docker.toml", text)
    assert not r.diags.errors, rendered(r)
    (w,) = [d for d in r.diags if d.code == "W0105"]
    assert "job and stack" in w.message


# -- free values -------------------------------------------------------------------------


@pytest.mark.parametrize("value", schedule_types_of_page() + ["queue-based"])
def test_schedule_type_is_any_string(value, tmp_path):
    r = build_text(tmp_path, "j.job.toml", JOB + f'[b00t.orchestration]\nschedule_type = "{value}"\n')
    assert not r.diags.errors, rendered(r)
    warned = [d for d in r.diags if d.code == "W0106"]
    if value in ("queue_based", "gpu_affinity"):  # b00tc acts on these
        assert not warned
        return
    (w,) = warned
    assert repr(value) in w.message and "b00t.io/schedule-type" in w.message
    assert "j.job.toml:8:17" in rendered(r), rendered(r)
    if value == "queue-based":
        assert "did you mean 'queue_based'" in w.help
    k8s = compile_([str(tmp_path / "j.job.toml")], targets=["k8s"])
    assert f"b00t.io/schedule-type: {value}" in k8s.outputs[0][1].content


# -- the type in the file decides --------------------------------------------------------


def test_type_disagreeing_with_file_name_is_a_warning_and_the_type_decides(tmp_path):
    text = '[b00t]\nname = "web"\ntype = "docker"\nimage = "nginx:1"\n'
    r = build_text(tmp_path, "web.job.toml", text)
    assert not r.diags.errors, rendered(r)
    (w,) = [d for d in r.diags if d.code == "W0107"]
    assert "'docker'" in w.message and "web.job.toml:3:8" in rendered(r)
    assert "image: nginx:1" in r.outputs[0][1].content  # built as a docker datum
    s = build_text(tmp_path, "web.job.toml", text, strict=True)
    assert [d.code for d in s.diags if d.is_error] == ["W0107"] and not s.ok


def test_name_disagreeing_with_file_name_is_a_warning_and_the_name_decides(tmp_path):
    """b00t finds a datum by its file name and then knows it by ``[b00t] name`` (b00t's own
    ``obsidian-mcp.docker.toml`` says ``name = "obsidian-mcp-bridge"``): W0108, the
    outputs are named after the name in the file, and a stack naming the member by its
    file name still finds it. Under --strict the warning is an error and nothing builds."""
    text = '[b00t]\nname = "bridge"\ntype = "docker"\nimage = "nginx:1"\n'
    r = build_text(tmp_path, "web.docker.toml", text)
    assert not r.diags.errors, rendered(r)
    (w,) = [d for d in r.diags if d.code == "W0108"]
    assert "'bridge'" in w.message and "'web'" in w.message and "web.docker.toml:2:8" in rendered(r)
    assert [f.path for _, f in r.outputs] == ["bridge.compose.yaml"]
    assert "name: bridge" in r.outputs[0][1].content and "bridge:" in r.outputs[0][1].content
    s = build_text(tmp_path, "s.stack.toml", '[b00t]\nname = "s"\ntype = "stack"\nmembers = ["web.docker"]\n')
    assert not s.diags.errors and "name: bridge" in s.outputs[0][1].content, rendered(s)
    strict = build_text(tmp_path, "web.docker.toml", text, strict=True)
    assert [d.code for d in strict.diags if d.is_error] == ["W0108"] and not strict.ok


def test_member_file_whose_type_says_cli_is_skipped(tmp_path):
    (tmp_path / "tool.docker.toml").write_text('[b00t]\nname = "tool"\ntype = "cli"\ncommand = "tool"\n')
    (tmp_path / "web.docker.toml").write_text('[b00t]\nname = "web"\ntype = "docker"\nimage = "nginx:1"\n')
    r = build_text(tmp_path, "s.stack.toml",
                   '[b00t]\nname = "s"\ntype = "stack"\nmembers = ["web.docker", "tool.docker"]\n')
    assert not r.diags.errors, rendered(r)
    assert sorted(d.code for d in r.diags) == ["W0101", "W0107"], rendered(r)
    skip = next(d for d in r.diags if d.code == "W0101")
    assert "tool.docker" in skip.message and "cli" in skip.message and "s.stack.toml:4:" in rendered(r)


# -- a docker datum without an image -----------------------------------------------------

NOIMAGE = '[b00t]\nname = "app"\ntype = "docker"\nresource_path = "./docker"\ndocker_args = ["-p", "80:80"]\n'


def test_root_docker_datum_without_image_is_an_error_naming_it(tmp_path):
    r = build_text(tmp_path, "app.docker.toml", NOIMAGE)
    (e,) = [d for d in r.diags if d.is_error]
    assert e.code == "E0103" and "image" in e.message and "resource_path" in e.message
    assert "app.docker.toml:4:1" in rendered(r), rendered(r)
    assert "image =" in e.help and not r.outputs


def test_oci_uri_serves_as_the_image(tmp_path):
    r = build_text(tmp_path, "app.docker.toml", NOIMAGE + 'oci_uri = "ghcr.io/o/app:1"\n')
    assert not r.diags.errors, rendered(r)
    assert "image: ghcr.io/o/app:1" in r.outputs[0][1].content


def test_member_without_image_is_skipped_with_a_warning(tmp_path):
    (tmp_path / "app.docker.toml").write_text(NOIMAGE)
    (tmp_path / "web.docker.toml").write_text('[b00t]\nname = "web"\ntype = "docker"\nimage = "nginx:1"\n')
    r = build_text(tmp_path, "s.stack.toml",
                   '[b00t]\nname = "s"\ntype = "stack"\nmembers = ["web.docker", "app.docker"]\n')
    assert not r.diags.errors, rendered(r)
    (w,) = r.diags
    assert w.code == "W0101" and "app.docker" in w.message and "no image" in w.message
    assert "resource_path" in w.help and "s.stack.toml:4:" in rendered(r)
    assert "\n  web:" in r.outputs[0][1].content and "\n  app:" not in r.outputs[0][1].content


def test_member_skipped_for_no_image_is_still_an_error_as_a_root(tmp_path):
    (tmp_path / "app.docker.toml").write_text(NOIMAGE)
    (tmp_path / "s.stack.toml").write_text('[b00t]\nname = "s"\ntype = "stack"\nmembers = ["app.docker"]\n')
    r = compile_([str(tmp_path / "s.stack.toml"), str(tmp_path / "app.docker.toml")], targets=["compose"])
    assert [d.code for d in r.diags if d.is_error] == ["E0103"], rendered(r)
