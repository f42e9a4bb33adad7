"""The front end and the passes, piece by piece: the reference grammar, quantities, docker
arguments and the normalisation of the legacy shape."""

from __future__ import annotations

import pytest

from b00tc.frontend.refs import RefError, parse_value
from b00tc.ir import HostVar, Lit, Ref
from b00tc.passes.normalize_resources import cpu_millis, memory_bytes
from tests.helpers import compile_


@pytest.mark.parametrize(
    "text, parts",
    [
        # datum-language.md: "$$ is a literal $" and "$${ is a literal ${"
        ("plain", (Lit(text="plain"),)),
        ("a$$b", (Lit(text="a$b"),)),
        ("$${HOME}", (Lit(text="${HOME}"),)),
        ("$$$$", (Lit(text="$$"),)),
        # a $ followed by anything else is literal text
        ("cost $5", (Lit(text="cost $5"),)),
        ("$", (Lit(text="$"),)),
        ("$<not a ref>", (Lit(text="$<not a ref>"),)),
        ("${STACK:s:svc:endpoint}", (Ref(stack="s", service="svc", field="endpoint"),)),
        ("$<STACK:s:svc:host>", (Ref(stack="s", service="svc", field="host"),)),
        # legacy: a port number last is the endpoint on that port
        ("${STACK:s:svc:5678}", (Ref(stack="s", service="svc", field="endpoint", port=5678),)),
        (
            "http://${STACK:s:svc:host}:${STACK:s:svc:port}/x",
            (
                Lit(text="http://"),
                Ref(stack="s", service="svc", field="host"),
                Lit(text=":"),
                Ref(stack="s", service="svc", field="port"),
                Lit(text="/x"),
            ),
        ),
        ("${VAR}", (HostVar(name="VAR"),)),
        ("${VAR:-a b}", (HostVar(name="VAR", op=":-", arg="a b"),)),
        ("${VAR-}", (HostVar(name="VAR", op="-", arg=""),)),
        ("${VAR:?need it}", (HostVar(name="VAR", op=":?", arg="need it"),)),
        ("${VAR?}", (HostVar(name="VAR", op="?", arg=""),)),
        ("${STACKS}", (HostVar(name="STACKS"),)),
        ("${WEBHOOK_URL:-http://localhost:5678/}", (HostVar(name="WEBHOOK_URL", op=":-", arg="http://localhost:5678/"),)),
    ],
)
def test_reference_grammar(text, parts):
    assert parse_value(text).parts == parts


@pytest.mark.parametrize(
    "text, message, start",
    [
        ("${", "unterminated", 0),
        ("x ${VAR:-abc", "unterminated", 2),
        ("${foo bar}", "unexpected ' '", 5),
        ("${STACK:a:b}", "unexpected '}'", 11),
        ("${STACK:a:b:bogus}", "unknown reference field 'bogus'", 12),
        ("${STACK:A:b:host}", "not a DNS-1123 label", 8),
        ("${STACK:a:b:99999}", "out of range", 12),
        ("${1abc}", "unexpected '1'", 2),
        ("${}", "unexpected '}'", 2),
    ],
)
def test_reference_errors_point_into_the_string(text, message, start):
    with pytest.raises(RefError) as e:
        parse_value(text)
    assert message in e.value.message
    assert e.value.start == start


@pytest.mark.parametrize(
    "text, millis",
    [("2", 2000), ("0.5", 500), ("500m", 500), ("1.25", 1250), (".1", 100), ("4000m", 4000)],
)
def test_cpu(text, millis):
    assert cpu_millis(text) == millis


@pytest.mark.parametrize("text", ["four", "-1", "0", "0.0001", "1.5m", "2 cores", ""])
def test_cpu_rejects(text):
    assert cpu_millis(text) is None


@pytest.mark.parametrize(
    "text, n",
    [
        ("8Gi", 8 * 2**30),
        ("512Mi", 512 * 2**20),
        ("1G", 10**9),
        ("1k", 1000),
        ("1K", 1000),
        ("1.5Gi", 3 * 2**29),
        ("1073741824", 2**30),
        ("4GiB", 4 * 2**30),
    ],
)
def test_memory(text, n):
    assert memory_bytes(text) == n


@pytest.mark.parametrize("text", ["lots", "8 gigs", "0", "0.5", "-1Gi", "1.5"])
def test_memory_rejects(text):
    assert memory_bytes(text) is None


def test_docker_args_of_the_real_n8n_member():
    """n8n.docker.toml's docker_args: -p 5678:5678 publishes container 5678 on host 5678,
    -v ~/.n8n:... is a bind mount (a path), --name and --restart are kept."""
    r = compile_(["tests/data/b00t-datums/n8n.docker.toml"], targets=[])
    (m,) = r.units[0].datum.members
    (p,) = m.ports
    assert (p.container, p.host, p.host_ip, p.protocol) == (5678, 5678, "", "tcp")
    (v,) = m.mounts
    assert (v.source, v.target, v.kind, v.read_only) == ("~/.n8n", "/home/node/.n8n", "bind", False)
    assert (m.container_name, m.restart) == ("n8n", "unless-stopped")


def test_unknown_docker_argument_is_a_warning_that_names_it(tmp_path):
    f = tmp_path / "x.docker.toml"
    f.write_text(
        '[b00t]\nname = "x"\ntype = "docker"\nimage = "i"\n'
        'docker_args = ["--cap-add", "NET_ADMIN", "-p", "127.0.0.1:80:8080/udp", "--privileged"]\n'
    )
    r = compile_([str(f)], targets=[])
    msgs = [(d.code, d.message) for d in r.diags]
    assert ("W0102", "docker argument --cap-add NET_ADMIN is not carried to any target") in msgs
    assert ("W0102", "docker argument --privileged is not carried to any target") in msgs
    (p,) = r.units[0].datum.members[0].ports
    assert (p.container, p.host, p.host_ip, p.protocol) == (8080, 80, "127.0.0.1", "udp")


def test_legacy_shape_normalises_to_the_canonical_ir():
    """The IR of b00t's legacy llm-batch-job and of its canonical rewrite differ only in the
    source paths kept for diagnostics (and the files they came from)."""
    import msgspec

    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if not k.endswith("path") and k != "file"}
        if isinstance(o, (list, tuple)):
            return [strip(x) for x in o]
        return o

    a = compile_(["tests/data/b00t-datums/llm-batch-job.job.toml"], targets=[])
    b = compile_(["tests/data/canonical/llm-batch-job.job.toml"], targets=[])
    assert strip(msgspec.to_builtins(a.units[0])) == strip(msgspec.to_builtins(b.units[0]))
    job = a.units[0].datum
    assert job.resources.cpu_millis == 2000 and job.resources.memory_bytes == 8 * 2**30
    assert (job.resources.gpu.vendor, job.resources.gpu.model) == ("nvidia", "a100")
    (ref,) = job.env[0].value.parts
    assert (ref.protocol, ref.port, ref.host_port, ref.member) == ("http", 5678, 5678, "n8n")


def test_budget_over_daily_limit_is_a_warning(tmp_path):
    f = tmp_path / "b.job.toml"
    f.write_text(
        '[b00t]\nname = "b"\ntype = "job"\n[b00t.container]\nimage = "i"\n'
        "[b00t.orchestration]\nbudget_daily_limit = 1.0\nbudget_cost_per_job = 2.5\n"
    )
    r = compile_([str(f)], targets=[])
    (d,) = r.diags
    assert d.code == "W0501" and "2.50 exceeds budget_daily_limit 1.00" in d.message
    annotations = dict((a.key, a.value) for a in r.units[0].annotations)
    assert annotations == {"budget-daily-limit": "1.00", "budget-cost-per-job": "2.50"}


def test_member_references_resolve_within_their_stack():
    """shop's web member refers to its own stack's db and recommender services; on the
    container targets the host is the member's name, on the direct targets the members
    share a docker network where the same names resolve."""
    from tests.helpers import files

    r = compile_(["tests/cases/shop.stack.toml"])
    assert r.ok
    web = next(m for m in r.units[0].datum.members if m.name == "web")
    env = {e.name: e.value for e in web.env}
    (db, lit_) = env["DB_URL"].parts
    assert (db.member, db.port, db.host_port, db.protocol) == ("db", 5432, 15432, "postgres")
    assert "DB_URL: postgres://db:5432/shop" in files(r, "compose")["shop.compose.yaml"]
    assert "value: postgres://db:5432/shop" in files(r, "k8s")["shop.yaml"]
    assert "-e DB_URL=postgres://db:5432/shop" in files(r, "bash")["shop.sh"]
    assert '"DB_URL=postgres://db:5432/shop"' in files(r, "systemd")["b00t-shop-web.service"]


# ---------------------------------------------------------------------------
# The hand-written scanner (refs._scan) against the lark grammar it follows

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from b00tc.frontend import refs  # noqa: E402

#: pieces that make every terminal of grammar/ref.lark and every near miss of them
PIECES = ["$", "$$", "${", "$<", "{", "}", "<", ">", ":", "-", "?", ":-", ":?", "STACK:",
          "STACK", "stack", "web", "a", "A_1", "_", "9", "80", "65536", " ", "\n", "\t", "é", "x",
          "${STACK:s:web:", "$<STACK:s:web:", "port}", "host>", "80}", "${STACK:s:web:endpoint}",
          "${HOME:-", "${A}", "$<STACK:s:", "endpoint"]


def lark_or_error(text: str):
    try:
        return refs._parse_lark(text)
    except RefError as e:
        return ("error", e.message, e.start, e.end)


def scan_then_build(text: str):
    """What parse_value does with the scanner's answer; None when it defers to lark."""
    if refs._scan(text) is None:
        return None
    refs._parse_cached.cache_clear()
    try:
        return refs._parse_cached(text)
    except RefError as e:
        return ("error", e.message, e.start, e.end)


@settings(max_examples=3000, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_scanner_accepts_exactly_what_the_grammar_accepts(text):
    """The scanner is only a fast path: for any string it either defers (None), and then
    lark must refuse the string too (else the scanner has drifted from grammar/ref.lark and
    the slow path would be taken for a valid datum), or it answers, and then lark must
    accept the string and give the same parts (or the same RefError from the reference
    checks both share). 3000 strings made of the grammar's tokens and near misses."""
    fast = scan_then_build(text)
    slow = lark_or_error(text)
    if fast is None:
        assert isinstance(slow, tuple) and slow[:1] == ("error",) and len(slow) == 4 \
            and refs._scan(text) is None, (text, slow)
        # the lark error is a syntax error, not one of the shared reference checks
        assert "reference is not a DNS-1123" not in slow[1] and "unknown reference field" \
            not in slow[1] and "out of range" not in slow[1], (text, slow)
    else:
        assert fast == slow, text


@pytest.mark.parametrize("text", [
    "${STACK:a:b:endpoint}", "$<STACK:a:b:port>", "${A:-x}${B}$$${C?m}", "$<a", "a$", "$",
    "${STACK:-x}", "${A:x}", "${STACK:a:b:c>", "$<STACK:a:b:c}", "${A:-}", "${A:-\n}}",
    "cost $$5 and 100%", "${ A}", "${STACK:a :b:c}",
])
def test_scanner_agrees_with_lark_on_edges(text):
    """Edge cases of the grammar written out (the generated test covers them by chance)."""
    fast = scan_then_build(text)
    slow = lark_or_error(text)
    assert fast == slow or (fast is None and slow[0] == "error"), (text, fast, slow)
