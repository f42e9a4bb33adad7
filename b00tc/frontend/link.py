"""The link phase: every datum one build needs, read once, into one ``Program``.

Roots come from the command line (or as text); from each root the linker follows the
names it writes: a stack's members (``"n8n.docker"``; ``"db.stack"`` includes that stack,
an edge of ``Program.includes``) and every ``requires_stacks`` entry, found on the datum
search path of the root's folder (``SearchPath``). Each file is read
and built once per run however many datums name it; a name is looked up once per folder.
What the linker decides, it reports here: a name found nowhere (E0302), a member that is not
a container (W0101), a member listed twice (E0113), a stack left with nothing to deploy
(W0104). A ``<name>.k8s`` member with ``chart_path`` is a Helm chart (frontend/helm.py),
carried on its stack (``Stack.charts``) for the k8s target. Passes then run over the
program and never read a file.
"""

from __future__ import annotations

import os
from typing import Optional

from msgspec.structs import replace

from b00tc.diagnostics import Diagnostics
from b00tc.frontend.build import build_job, build_member, build_stack, member_image, no_image_help
from b00tc.frontend.read import read_datum
from b00tc.frontend.search import SearchPath
from b00tc.ir import Datum, Edge, HelmChart, Member, Name, Program, SkippedMember, Stack, key_of

STDIN = "<stdin>"
#: how many required stacks deep linking follows (E0307 past it; each level recurses)
MAX_DEPTH = 64


class _Folder:
    """What one folder's search path resolves, by name, for the roots in that folder."""

    def __init__(self, search: SearchPath) -> None:
        self.search = search
        self.stacks: dict[str, Optional[str]] = {}  # stack name -> key (None: not found)
        self.members: dict[str, Optional[str]] = {}  # "<name>.docker" -> key


class Linker:
    def __init__(self, diags: Diagnostics, includes: list[str], env_path: str, targets: tuple[str, ...],
                 confine: Optional[str] = None) -> None:
        self.diags = diags
        self.confine = os.path.realpath(confine) if confine is not None else None
        self.includes = includes
        self.env_path = env_path
        self.targets = targets
        self.folders: dict[str, _Folder] = {}
        self.roots: list[str] = []
        self.datums: dict[str, Datum] = {}
        self.members: dict[str, Optional[Member]] = {}
        self.requires: dict[str, tuple[Edge, ...]] = {}
        self.member_edges: dict[str, tuple[Edge, ...]] = {}
        self.included: dict[str, tuple[Edge, ...]] = {}  # stack key -> the stacks it includes
        self.failed: set[str] = set()  # stack keys that could not be read or built
        #: member files read and found not deployable: key -> (what it is, help)
        self.not_container: dict[str, tuple[str, str]] = {}
        #: Helm chart members by key, and each repository alias's first chart (one URL each)
        self.charts: dict[str, HelmChart] = {}
        self.repos: dict[str, HelmChart] = {}
        self.depth = 0  # how many required stacks deep _stack_edge is now
        #: files read ahead (``-j``, b00tc.compiler.prefetch): (file, expect_kind,
        #: other_kinds) -> what read_datum gave, and the diagnostics and sources it added
        self.prefetched: dict[tuple, tuple] = {}

    def program(self) -> Program:
        return Program(
            roots=tuple(self.roots),
            datums=self.datums,
            members={k: m for k, m in self.members.items() if m is not None},
            requires=self.requires,
            member_edges=self.member_edges,
            includes=self.included,
        )

    def _folder(self, file: str) -> _Folder:
        folder = "." if file == STDIN else (os.path.dirname(file) or ".")
        f = self.folders.get(folder)
        if f is None:
            f = self.folders[folder] = _Folder(SearchPath.for_root(folder, self.includes, self.env_path))
        return f

    def _read(self, file: str, text: Optional[str], expect_kind: Optional[str] = None, other_kinds: bool = False):
        """read_datum, but a file whose real path is outside ``confine`` (``b00tc mcp``'s
        folder; a datum file that is a symbolic link out of it) is not read: E0901."""
        if text is None and self.confine is not None:
            real = os.path.realpath(file)
            if real != self.confine and not real.startswith(self.confine.rstrip(os.sep) + os.sep):
                self.diags.error("E0901", f"datum {file} is outside the folder served ({self.confine}): not read",
                                 help="b00tc mcp reads only datums under the folder it was started in")
                return None
        if text is None and self.prefetched:
            ahead = self.prefetched.pop((file, expect_kind, other_kinds), None)
            if ahead is not None:  # read by another process: its findings are said here, in order
                raw, found, sources = ahead
                self.diags.sources.update(sources)
                self.diags.extend(found)
                return raw
        return read_datum(file, text, self.diags, expect_kind=expect_kind, other_kinds=other_kinds)

    # -- roots ------------------------------------------------------------------

    def root(self, file: str, text: Optional[str]) -> None:
        folder = self._folder(file)
        diags = self.diags
        key = key_of(file)
        if text is None and (
            key in self.failed
            or (key in self.members and self.members[key] is None and key not in self.not_container
                and key not in self.charts)
        ):
            return  # an earlier root named it and its errors are reported
        # (a member skipped as not deployable is read again as a root: that is an error)
        if text is None and key in self.datums and isinstance(self.datums[key], Stack):
            # a stack an earlier root required, given on the command line too: linked already
            folder.stacks[self.datums[key].name] = key
            self.roots.append(key)
            return
        if text is None and self.members.get(key) is not None:
            # a member an earlier stack named, given on the command line: a stack of one
            self._one_member_stack(self.members[key], key, folder)
            return
        raw = self._read(file, text)
        if raw is None:
            return
        before = diags.errors
        datum: Optional[Datum]
        if raw.kind == "job" and raw.workflow is not None:
            from b00tc.frontend.workflow import build_workflow

            datum = build_workflow(raw, raw.workflow, diags)
        elif raw.kind == "job":
            datum = build_job(raw, diags)
        elif raw.kind == "stack":
            datum = build_stack(raw, diags)
        else:  # a docker datum on its own: a stack of one member
            member = build_member(raw, diags)
            if member is not None and diags.errors == before:
                self.members[key] = member
                self._one_member_stack(member, key, folder)
            return
        if datum is None or diags.errors > before:
            return
        if not isinstance(datum, Stack):  # a container job or a workflow job
            self.datums[key] = datum
            self.requires[key] = tuple(self._stack_edge(n, datum.file, folder) for n in datum.requires_stacks)
        else:
            # a stack given on the command line: a job of the same run that requires it by
            # name links to this one, and one already linked as required is not read again
            folder.stacks[datum.name] = key
            if key not in self.datums:
                self._stack(datum, key, folder)
        self.roots.append(key)

    def _one_member_stack(self, member: Member, key: str, folder: _Folder) -> None:
        """A docker datum given as a root deploys as a stack of that one member."""
        folder.members[member.datum] = key
        stack = Stack(
            name=member.name,
            file=member.file,
            hint=member.hint,
            member_names=(Name(value=member.datum, path="$.b00t.name"),),
        )
        self._stack(stack, key, folder)
        self.roots.append(key)

    # -- stacks -------------------------------------------------------------------

    def _stack(self, stack: Stack, key: str, folder: _Folder) -> None:
        """Link a stack: its members, then the stacks it requires (registered before they
        are followed, so that a cycle ends here and is reported by resolve_references)."""
        self.datums[key] = stack
        edges: list[Edge] = []
        skipped: list[SkippedMember] = []
        charts: list[HelmChart] = []
        chart_names: list[Name] = []
        seen: set[str] = set()
        included: list[Edge] = []
        for n in stack.member_names:
            if _is_stack_member(n.value):
                self._include(n, stack, folder, included)
                continue
            found = self._member(n, stack, folder)
            if found is None:
                continue
            if isinstance(found, SkippedMember):
                skipped.append(found)
                continue
            mkey, member = found
            if member.datum in seen:
                self.diags.error("E0113", f"member {n.value} is listed twice", stack.file, n.path)
                continue
            seen.add(member.datum)
            if isinstance(member, HelmChart):
                charts.append(member)
                chart_names.append(n)
                continue
            edges.append(Edge(name=n.value, target=mkey, path=n.path))
        self.included[key] = tuple(included)
        parts_deploy = any(self._deploys(e.target, {key}) for e in included)
        elsewhere = ", ".join(t for t in self.targets if t != "k8s")
        for n in chart_names if elsewhere or not self.targets else ():
            self.diags.warn(
                "W0101",
                f"member {n.value} is a Helm chart, deployed on k8s only: skipped on "
                + (elsewhere or "every target but k8s"),
                stack.file,
                n.path,
                help="b00tc deploys Helm charts as Flux HelmReleases on Kubernetes",
            )
        if charts and not edges and elsewhere and not parts_deploy:
            self.diags.warn(
                "W0104",
                f"stack {stack.name} has only Helm chart members: nothing is written for it on {elsewhere}",
                stack.file,
                stack.member_names[0].path,
                help="Helm charts are deployed on k8s only; add docker members for the other targets",
            )
        if not edges and not charts and not parts_deploy:
            self.diags.warn(
                "W0104",
                f"stack {stack.name} has no deployable member: nothing is written for it",
                stack.file,
                stack.member_names[0].path if stack.member_names else "$.b00t.name",
                help="add docker members (members = [\"<name>.docker\", ...])",
            )
        self.datums[key] = replace(stack, skipped=tuple(skipped), charts=tuple(charts))
        self.member_edges[key] = tuple(edges)
        self.requires[key] = tuple(self._stack_edge(n, stack.file, folder) for n in stack.requires_stacks)

    def _stack_edge(self, n: Name, file: str, folder: _Folder, what: str = "required stack") -> Edge:
        """The edge to the stack ``n`` names (``what``: a required stack, or a member stack
        as "<name>.stack"), linked when it was not: found like the members, at most
        MAX_DEPTH stacks deep."""
        name = n.value.removesuffix(".stack") if what == "member" else n.value
        if name in folder.stacks:
            key = folder.stacks[name]
        else:
            path = folder.search.find(f"{name}.stack")
            if path is None:
                self._not_found(f"{name}.stack", file, n.path, folder, what)
                key = folder.stacks[name] = None
            else:
                key = folder.stacks[name] = key_of(path)
                if key not in self.datums and key not in self.failed and self.depth >= MAX_DEPTH:
                    self.diags.error(
                        "E0307",
                        f"{what} {n.value} is more than {MAX_DEPTH} "
                        f"{'required ' if what != 'member' else ''}stacks deep: not followed",
                        file,
                        n.path,
                        help="a chain of requires_stacks that long is a mistake: require the stacks "
                        "a datum uses directly" if what != "member" else "a chain of stacks including "
                        "stacks that long is a mistake: include the stacks a stack deploys directly",
                    )
                    self.failed.add(key)
                elif key not in self.datums and key not in self.failed:
                    raw = self._read(path, None, expect_kind="stack")
                    if raw is None:
                        self.failed.add(key)
                    else:
                        self.depth += 1  # following requires_stacks recurses: bounded
                        try:
                            self._stack(build_stack(raw, self.diags), key, folder)
                        finally:
                            self.depth -= 1
        return Edge(name=name, target=key if key in self.datums else "", path=n.path)

    # -- stacks of stacks ------------------------------------------------------------

    def _include(self, n: Name, stack: Stack, folder: _Folder, included: list[Edge]) -> None:
        """A member "<name>.stack": that stack, linked (its members keep their stack), an
        edge of ``includes``. A cycle is left to resolve_references, which names it whole."""
        edge = self._stack_edge(n, stack.file, folder, "member")
        if any(e.name == edge.name for e in included):
            self.diags.error("E0113", f"member {n.value} is listed twice", stack.file, n.path)
            return
        included.append(edge)

    def _deploys(self, key: str, seen: set[str]) -> bool:
        """The stack ``key``, or a stack it includes, has a deployable member (a container,
        or a Helm chart: deployed on k8s); True for one being linked still (a cycle: its
        error is enough)."""
        if not key or key in seen:
            return False
        if key not in self.member_edges:
            return key in self.datums
        seen.add(key)
        s = self.datums.get(key)
        if self.member_edges[key] or (isinstance(s, Stack) and s.charts):
            return True
        return any(self._deploys(e.target, seen) for e in self.included.get(key, ()))

    # -- members --------------------------------------------------------------------

    def _member(self, n: Name, stack: Stack, folder: _Folder):
        """``(key, Member)`` for a docker member, a ``SkippedMember`` for another kind, None
        when it cannot be had (its error is reported)."""
        qualified = n.value
        name, dot, kind = qualified.rpartition(".")
        if not dot or not name:
            self.diags.error(
                "E0302",
                f"member {qualified!r} is not <name>.<type>",
                stack.file,
                n.path,
                help='write members = ["n8n.docker", ...]',
            )
            return None
        if kind not in ("docker", "k8s"):
            targets = ", ".join(self.targets) or "every container target"
            self.diags.warn(
                "W0101",
                f"member {qualified} is a {kind} datum, not a container: skipped on {targets}",
                stack.file,
                n.path,
                help="only docker members are deployed; run it with b00t itself",
            )
            return SkippedMember(datum=qualified, kind=kind, path=n.path)
        if qualified in folder.members:
            key = folder.members[qualified]
        else:
            file = folder.search.find(qualified)
            key = None
            if file is None and kind == "k8s":  # as before charts were read: skipped
                key = qualified
                self.not_container.setdefault(key, (
                    "is a k8s datum not found on the datum search path",
                    "a Helm chart member (<name>.k8s with chart_path) is deployed on k8s when its "
                    "file is found: add its folder with -I DIR or B00T_DATUM_PATH",
                ))
            elif file is None:
                self._not_found(qualified, stack.file, n.path, folder, "member")
            else:
                key = key_of(file)
                if key not in self.members and key not in self.charts:
                    self.members[key] = self._read_member(file, folder)
            folder.members[qualified] = key
        if key in self.not_container:
            what, help = self.not_container[key]
            if not what:
                return SkippedMember(datum=qualified, kind=kind, path=n.path)
            targets = ", ".join(self.targets) or "every container target"
            self.diags.warn(
                "W0101",
                f"member {qualified} {what}: skipped on {targets}",
                stack.file,
                n.path,
                help=help,
            )
            return SkippedMember(datum=qualified, kind=kind, path=n.path)
        if key in self.charts:
            return self._chart(key, stack, n)
        member = self.members.get(key) if key is not None else None
        return None if member is None else (key, member)

    def _chart(self, key: str, stack: Stack, n: Name):
        """A Helm chart member: deployed on k8s, skipped (W0101) on every other target.
        One repository alias has one URL in a build (E0116 at the second)."""
        chart = self.charts[key]
        first = self.repos.setdefault(chart.repo, chart)
        if first.url != chart.url:
            from b00tc.frontend.helm import url_span

            self.diags.error(
                "E0116",
                f"Helm repository {chart.repo!r} is {chart.url} for {chart.datum} but {first.url} "
                f"for {first.datum} ({first.file})",
                chart.file,
                chart.url_path,
                span=url_span(chart, self.diags),
                help="one alias names one repository in a build: use the same URL, or another alias "
                "(in chart_path and helm repo add)",
            )
            return None
        return key, chart

    def _read_member(self, file: str, folder: _Folder) -> Optional[Member]:
        """A docker member's file read and built; one whose own type is not docker (the
        type in the file decides) or that has no image is not deployable: recorded in
        ``not_container``, and every stack naming it skips it with W0101."""
        raw = self._read(file, None, expect_kind="docker", other_kinds=True)
        if raw is None:
            return None
        key = key_of(file)
        if raw.kind == "k8s":  # a Helm chart (its keys read): built into self.charts
            return self._read_chart(raw, key, folder)
        if raw.kind != "docker":
            self.not_container[key] = (
                f"is a {raw.kind} datum ({file} says type = {raw.kind!r}), not a container",
                "only docker members are deployed; run it with b00t itself",
            )
            return None
        if member_image(raw)[0] is None:
            self.not_container[key] = (
                "has no image" + (" (only a resource_path)" if raw.get("resource_path") is not None else ""),
                f"in {file}: {no_image_help(raw)}",
            )
            return None
        return build_member(raw, self.diags)

    def _read_chart(self, raw, key: str, folder: _Folder) -> None:
        if raw.get("chart_path") is None:
            self.not_container[key] = (
                "has no chart_path",
                f"b00tc deploys Helm charts only (a k8s datum with chart_path = \"<repo>/<chart>\"); "
                f"install {raw.name} with b00t itself",
            )
            return None
        from b00tc.frontend.helm import build_chart

        chart = build_chart(raw, self.diags, folder.search.dirs, self.confine)
        if chart is None:  # said why (W0110, W0109 or an error): skipped
            self.not_container[key] = ("", "")  # skipped, and said why once
        else:
            self.charts[key] = chart
        return None

    def _not_found(self, qualified: str, file: str, path: str, folder: _Folder, what: str) -> None:
        search = folder.search
        near = search.closest(qualified)
        self.diags.error(
            "E0302",
            f"{what} {qualified} not found on the datum search path",
            file,
            path,
            help=(f"did you mean {near!r}? " if near else "")
            + f"searched {', '.join(search.dirs)}; add a folder with -I DIR or B00T_DATUM_PATH",
        )


def _is_stack_member(qualified: str) -> bool:
    """A member naming a stack ("phase1-devex.stack"): included, not a container."""
    name, dot, kind = qualified.rpartition(".")
    return bool(dot and name) and kind == "stack"


def link(
    roots: list[tuple[str, Optional[str]]],
    diags: Diagnostics,
    includes: list[str],
    env_path: str = "",
    targets: tuple[str, ...] = (),
    confine: Optional[str] = None,
    prefetched: Optional[dict[tuple, tuple]] = None,
) -> Program:
    """Read every root (``(file, text)``, text None to read the file) and everything it
    names, once; the program the passes run over. With ``confine``, no file outside that
    folder (real paths) is read."""
    linker = Linker(diags, includes, env_path, targets, confine)
    linker.prefetched = prefetched or {}
    for file, text in roots:
        linker.root(file, text)
    return linker.program()
