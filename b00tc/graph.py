"""``b00tc graph``: a datum as a diagram, Mermaid (the default) or Graphviz DOT.

A workflow job: its steps (each with its task kind and, when it has one, its condition),
an edge for each ``depends_on`` and, in ``sequential`` mode, from each step to the next;
its rollback steps in a subgraph of their own, entered from the steps nothing follows on a
failure. A container job or a stack: its members, the stacks it includes (with theirs) and
the stacks it requires. Both draw from the IR after every pass, the units backends render
(b00tc.ir), so the diagram is of what b00tc compiles.

The output is a function of the datums only: nodes are numbered in the order they are
first met (``n1``, ``n2``, ...), so that no name a user wrote is ever an identifier; names
are only labels, escaped for each syntax (``_mermaid_text``, ``_dot_text``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from b00tc.ir import Job, Stack, Unit, Workflow

FORMATS = ("mermaid", "dot")


@dataclass
class Node:
    id: str
    label: str  # lines joined by "\n"
    shape: str = "box"  # box | round | stadium | cylinder


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    dashed: bool = False


@dataclass
class Cluster:
    id: str
    label: str
    nodes: list[Node] = field(default_factory=list)
    clusters: list["Cluster"] = field(default_factory=list)


@dataclass
class Graph:
    clusters: list[Cluster] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)  # outside any cluster
    edges: list[Edge] = field(default_factory=list)


class _Builder:
    def __init__(self) -> None:
        self.g = Graph()
        self.count = 0
        self.ccount = 0
        #: (kind, name) -> node id: a stack drawn once however often it is met
        self.seen: dict[tuple[str, str], str] = {}

    def node(self, where: list[Node], label: str, shape: str = "box", key: Optional[tuple[str, str]] = None) -> str:
        if key is not None and key in self.seen:
            return self.seen[key]
        self.count += 1
        nid = f"n{self.count}"
        where.append(Node(nid, label, shape))
        if key is not None:
            self.seen[key] = nid
        return nid

    def cluster(self, where: list[Cluster], label: str) -> Cluster:
        self.ccount += 1
        c = Cluster(f"c{self.ccount}", label)
        where.append(c)
        return c

    def edge(self, src: str, dst: str, label: str = "", dashed: bool = False) -> None:
        self.g.edges.append(Edge(src, dst, label, dashed))

    # -- datums -------------------------------------------------------------------------

    def stack(self, s: Stack, where: list[Node], included: dict[str, list[Stack]]) -> str:
        """The stack's node, with its members, charts, included and required stacks."""
        key = ("stack", s.name)
        if key in self.seen:
            return self.seen[key]
        sid = self.node(where, f"stack {s.name}", "stadium", key)
        for m in s.members:
            image = m.container.image
            label = f"{m.name}\n(container{': ' + _text(image) if image else ''})"
            self.edge(sid, self.node(where, label, "box", ("member", f"{s.name}/{m.name}")), "member")
        for c in s.charts:
            self.edge(sid, self.node(where, f"{c.name}\n(Helm chart {c.repo}/{c.chart})", "box"), "chart")
        inner = included.get(s.name, [])
        for sub in inner:
            self.edge(sid, self.stack(sub, where, included), "includes")
        for r in s.requires:
            if any(r.name == i.name for i in inner):
                continue  # an included stack is among what a stack needs: drawn as included
            self.edge(sid, self.stack(r, self.g.nodes, included), "requires", dashed=True)
        for k in s.skipped:
            self.edge(sid, self.node(where, f"{k.datum}\n(skipped: {k.kind})", "round"), "member", dashed=True)
        return sid

    def job(self, j: Job, included: dict[str, list[Stack]]) -> None:
        image = j.container.image
        jid = self.node(self.g.nodes, f"job {j.name}\n(container{': ' + _text(image) if image else ''})", "box")
        for r in j.requires:
            self.edge(jid, self.stack(r, self.g.nodes, included), "requires", dashed=True)
        for w in j.wait_for:
            to = self.seen.get(("member", f"{w.stack}/{w.member}")) or self.stack_ref(w.stack)
            self.edge(jid, to, f"waits for {w.service}:{w.port}", dashed=True)

    def stack_ref(self, name: str) -> str:
        return self.seen.get(("stack", name)) or self.node(self.g.nodes, f"stack {name}", "stadium", ("stack", name))

    def workflow(self, wf: Workflow, included: dict[str, list[Stack]]) -> None:
        cfg = wf.config
        c = self.cluster(self.g.clusters, f"workflow {wf.name} ({cfg.mode})")
        ids: dict[str, str] = {}
        for s in wf.steps:
            ids[s.name] = self.node(c.nodes, _step_label(s), "box")
        followed: set[str] = set()
        for i, s in enumerate(wf.steps):
            if cfg.mode == "sequential":
                before = [wf.steps[i - 1].name] if i else []
            else:
                before = list(dict.fromkeys(d.value for d in s.depends_on))
            for b in before:
                if b in ids:
                    self.edge(ids[b], ids[s.name], _when(s))
                    followed.add(b)
        if wf.rollback:
            runs = cfg.rollback_on_failure
            r = self.cluster(c.clusters, "rollback" + ("" if runs else " (not run: rollback_on_failure is not set)"))
            rids = [self.node(r.nodes, _step_label(s, rollback=True), "round") for s in wf.rollback]
            for a, b in zip(rids, rids[1:]):
                self.edge(a, b)
            for s in wf.steps:
                if s.name not in followed:
                    self.edge(ids[s.name], rids[0], "on failure", dashed=True)
        for st in wf.requires:
            first = ids[wf.steps[0].name] if wf.steps else None
            if first is not None:
                self.edge(first, self.stack(st, self.g.nodes, included), "requires", dashed=True)


def _text(v) -> str:
    """An IR value as the datum writes it (references and host variables as ${...})."""
    from b00tc.ir import HostVar, Lit, Ref, Value

    if not isinstance(v, Value):
        return str(v)
    out = []
    for p in v.parts:
        if isinstance(p, Lit):
            out.append(p.text)
        elif isinstance(p, Ref):
            out.append(f"${{STACK:{p.stack}:{p.service}:{p.field}}}")
        elif isinstance(p, HostVar):
            out.append(f"${{{p.name}{p.op}{p.arg}}}")
    return "".join(out)


def _when(s) -> str:
    return "" if s.condition.when == "on_success" else s.condition.when


def _step_label(s, rollback: bool = False) -> str:
    lines = [s.name, f"({'rollback, ' if rollback else ''}{s.task.__struct_config__.tag})"]
    if s.condition.when != "on_success" and not rollback:
        lines.append(f"when: {s.condition.when}")
    if s.condition.script:
        lines.append(f"if: {s.condition.script}")
    return "\n".join(lines)


def graph_of(units: list[Unit]) -> Graph:
    """The diagram of a build's units: each root, with what it includes and requires."""
    b = _Builder()
    included: dict[str, list[Stack]] = {}
    # a unit part_of P is included by P or by a stack P includes: find its direct includer
    # from the member names as written ("<name>.stack")
    stacks = {u.datum.name: u.datum for u in units if isinstance(u.datum, Stack)}
    for s in stacks.values():
        for n in s.member_names:
            base, _, kind = n.value.rpartition(".")
            if kind == "stack" and base in stacks:
                included.setdefault(s.name, []).append(stacks[base])
    for u in units:
        if u.part_of or u.required:
            continue
        d = u.datum
        if isinstance(d, Workflow):
            b.workflow(d, included)
        elif isinstance(d, Job):
            b.job(d, included)
        elif isinstance(d, Stack):
            b.stack(d, b.g.nodes, included)
    return b.g


# ---------------------------------------------------------------------------------------
# Mermaid


def _mermaid_text(s: str) -> str:
    """Text for a quoted Mermaid label: letters, digits and a few safe marks as they are,
    a line break as <br>, everything else as an entity code (#NN;), which Mermaid decodes:
    no quote, square or curly bracket, pipe, semicolon or backtick of a name can end the label."""
    out = []
    for ch in s:
        if ch == "\n":
            out.append("<br>")
        elif (ch.isalnum() and ch.isprintable()) or ch in " _-.,:/=+@'()":
            out.append(ch)
        else:
            out.append(f"#{ord(ch)};")
    return "".join(out)


_MERMAID_SHAPES = {"box": ('["', '"]'), "round": ('("', '")'), "stadium": ('(["', '"])'), "cylinder": ('[("', '")]')}


def mermaid(g: Graph) -> str:
    lines = ["flowchart TD"]

    def node(n: Node, indent: str) -> None:
        a, z = _MERMAID_SHAPES[n.shape]
        lines.append(f"{indent}{n.id}{a}{_mermaid_text(n.label)}{z}")

    def cluster(c: Cluster, indent: str) -> None:
        lines.append(f'{indent}subgraph {c.id}["{_mermaid_text(c.label)}"]')
        for n in c.nodes:
            node(n, indent + "  ")
        for sub in c.clusters:
            cluster(sub, indent + "  ")
        lines.append(f"{indent}end")

    for c in g.clusters:
        cluster(c, "  ")
    for n in g.nodes:
        node(n, "  ")
    for e in g.edges:
        arrow = "-.->" if e.dashed else "-->"
        label = f'|"{_mermaid_text(e.label)}"|' if e.label else ""
        lines.append(f"  {e.src} {arrow}{label} {e.dst}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Graphviz DOT


def _dot_text(s: str) -> str:
    """A DOT quoted string's content: backslash and quote escaped, a line break as \\n
    (centred), other control characters as spaces (DOT has no escape for them)."""
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif not ch.isprintable():
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


_DOT_SHAPES = {"box": "box", "round": "box\", style=\"rounded", "stadium": "box\", style=\"rounded,bold",
               "cylinder": "cylinder"}


def dot(g: Graph) -> str:
    lines = ["digraph b00tc {", "  rankdir=TB;", '  node [fontname="Helvetica"];']

    def node(n: Node, indent: str) -> None:
        lines.append(f'{indent}{n.id} [label="{_dot_text(n.label)}", shape="{_DOT_SHAPES[n.shape]}"];')

    def cluster(c: Cluster, indent: str) -> None:
        lines.append(f"{indent}subgraph cluster_{c.id} {{")
        lines.append(f'{indent}  label="{_dot_text(c.label)}";')
        for n in c.nodes:
            node(n, indent + "  ")
        for sub in c.clusters:
            cluster(sub, indent + "  ")
        lines.append(f"{indent}}}")

    for c in g.clusters:
        cluster(c, "  ")
    for n in g.nodes:
        node(n, "  ")
    for e in g.edges:
        attrs = []
        if e.label:
            attrs.append(f'label="{_dot_text(e.label)}"')
        if e.dashed:
            attrs.append("style=dashed")
        lines.append(f"  {e.src} -> {e.dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(units: list[Unit], fmt: str = "mermaid") -> str:
    g = graph_of(units)
    return dot(g) if fmt == "dot" else mermaid(g)


def run_graph(paths, fmt: str, includes=(), diag_format: str = "text") -> int:
    """``b00tc graph``: the diagram on stdout; exit 1 with the errors on stderr (nothing on
    stdout) when the datums have errors. Warnings are build's and check's to give."""
    import sys

    from b00tc import output
    from b00tc.compiler import BuildRequest, build, read_stdin
    from b00tc.diagnostics import Diagnostics
    diags = Diagnostics()
    req = BuildRequest(paths=list(paths), targets=[], includes=list(includes),
                       stdin_text=read_stdin() if "-" in paths else None)
    result = build(req, diags)
    # what a target cannot carry is build's and check's to say: only errors stop a diagram
    errors = Diagnostics()
    errors.sources = result.diags.sources
    errors.extend(d for d in result.diags if d.is_error)
    code = output.report(errors, diag_format)
    if code:
        return code
    sys.stdout.write(render(result.units, fmt))
    return 0
