"""Stacks of stacks (issue 16; b00t-keys.md "Stacks of stacks"): a stack member
``"x.stack"`` includes that stack. Its members join the parent's deployment in their own
stack (own file, own labels, own services); references and waits reach it as a required
stack's; cycles, however members and requires_stacks mix, are E0305 naming the cycle at
the entry that closes it; a stack included twice (a diamond, or included and required) is
built and deployed once; deploy brings the included stacks up before the parent and the
parent's day two covers them (unlike a required stack's)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from b00tc.compiler import BuildRequest, build
from tests.test_runtime import KUBECTL_OK, Host

CORPUS = Path(__file__).parent / "data" / "b00t-corpus"

MEMBER = """[b00t]
name = "{name}"
type = "docker"
image = "localhost/busybox:test"
command = "sh"
args = ["-c", "{script}"]
"""

STACK = """[b00t]
name = "{name}"
type = "stack"
members = [{members}]
{extra}"""

PART_OF = "app.kubernetes.io/part-of"


def write_stack(folder: Path, name: str, *members: str, extra: str = "") -> Path:
    path = folder / f"{name}.stack.toml"
    path.write_text(STACK.format(name=name, members=", ".join(f'"{m}"' for m in members), extra=extra))
    return path


def write_member(folder: Path, name: str, script: str = "httpd -f") -> None:
    (folder / f"{name}.docker.toml").write_text(MEMBER.format(name=name, script=script))


@pytest.fixture
def platform(tmp_path) -> Path:
    """platform = app (reads data's db) + data.stack (db) + front.stack (web)."""
    write_member(tmp_path, "db")
    write_member(tmp_path, "web")
    write_member(tmp_path, "app", "echo ${STACK:data:db:endpoint} ${STACK:front:web:host}")
    write_stack(tmp_path, "data", "db.docker", extra='\n[b00t.services]\ndb = { port = 5432, protocol = "postgres" }\n')
    write_stack(tmp_path, "front", "web.docker", extra='\n[b00t.services]\nweb = { port = 80, protocol = "http" }\n')
    write_stack(tmp_path, "platform", "app.docker", "data.stack", "front.stack")
    return tmp_path


def compile_(*paths, targets=("k8s",), **kw):
    return build(BuildRequest(paths=[str(p) for p in paths], targets=list(targets), datum_path="", **kw))


def codes(result) -> list[str]:
    return [d.code for d in result.diags]


def errors(result) -> list[str]:
    return [d.code for d in result.diags if d.is_error]


def text_of(result) -> str:
    import io

    from b00tc.output import report

    stream = io.StringIO()
    report(result.diags, "text", stream)
    return stream.getvalue()


def docs(result, target: str) -> dict[str, list]:
    return {f.path: [d for d in yaml.safe_load_all(f.content) if d] for t, f in result.outputs if t == target}


# -- build ------------------------------------------------------------------------------------


def test_members_join_in_their_own_stacks_on_k8s(platform):
    r = compile_(platform / "platform.stack.toml")
    assert r.ok, text_of(r)
    assert [(u.datum.name, u.part_of, u.required) for u in r.units] == [
        ("data", "platform", False), ("front", "platform", False), ("platform", "", False)]
    out = docs(r, "k8s")
    assert sorted(out) == ["data.yaml", "front.yaml", "platform.yaml"]
    for stack, member in [("data", "db"), ("front", "web"), ("platform", "app")]:
        deployments = [d for d in out[f"{stack}.yaml"] if d["kind"] == "Deployment"]
        assert [d["metadata"]["name"] for d in deployments] == [member]  # not flattened
        for d in out[f"{stack}.yaml"]:
            assert d["metadata"]["labels"][PART_OF] == stack, d


def test_members_join_in_their_own_stacks_on_compose(platform):
    r = compile_(platform / "platform.stack.toml", targets=("compose",))
    assert r.ok, text_of(r)
    out = {path: d[0] for path, d in docs(r, "compose").items()}
    assert sorted(out) == ["data.compose.yaml", "front.compose.yaml", "platform.compose.yaml"]
    assert list(out["data.compose.yaml"]["services"]) == ["db"]
    assert out["data.compose.yaml"]["services"]["db"]["labels"][PART_OF] == "data"
    assert out["front.compose.yaml"]["services"]["web"]["labels"][PART_OF] == "front"
    app = out["platform.compose.yaml"]["services"]["app"]
    assert app["labels"][PART_OF] == "platform"
    # the parent's members reach the included stacks' services on their networks
    assert app["networks"] == ["default", "b00t-data", "b00t-front"]
    assert out["platform.compose.yaml"]["networks"]["b00t-data"] == {"name": "b00t-data", "external": True}


def test_references_into_an_included_stack_resolve(platform):
    r = compile_(platform / "platform.stack.toml", targets=("compose",))
    assert r.ok, text_of(r)
    app = docs(r, "compose")["platform.compose.yaml"][0]["services"]["app"]
    assert app["command"] == ["-c", "echo postgres://db:5432 web"]


def test_a_job_requiring_the_parent_waits_for_and_reaches_an_included_stack(platform):
    (platform / "runner.job.toml").write_text("""[b00t]
name = "runner"
type = "job"

[b00t.container]
image = "localhost/busybox:test"
command = "sh"
args = ["-c", "echo ${STACK:front:web:endpoint}"]

[b00t.dependencies]
requires_stacks = ["platform"]
wait_for_services = ["db:5432"]
""")
    r = compile_(platform / "runner.job.toml", targets=("compose",))
    assert r.ok, text_of(r)
    services = docs(r, "compose")["runner.compose.yaml"][0]["services"]
    assert services["runner"]["command"] == ["-c", "echo http://web:80"]
    assert "wait-for-db" in services
    assert set(services["runner"]["networks"]) == {"b00t-platform", "b00t-data", "b00t-front"}


def test_a_reference_to_a_stack_neither_included_nor_required_is_still_e0303(platform):
    write_member(platform, "app", "echo ${STACK:elsewhere:db:endpoint}")
    r = compile_(platform / "platform.stack.toml")
    assert errors(r) == ["E0303"]


def test_the_parent_with_only_included_stacks_is_not_w0104(tmp_path):
    write_member(tmp_path, "db")
    write_stack(tmp_path, "data", "db.docker")
    write_stack(tmp_path, "middle", "data.stack")
    write_stack(tmp_path, "top", "middle.stack")
    r = compile_(tmp_path / "top.stack.toml")
    assert r.ok and "W0104" not in codes(r), text_of(r)
    assert [(u.datum.name, u.part_of) for u in r.units] == [("data", "top"), ("middle", "top"), ("top", "")]
    assert [f.path for _, f in r.outputs] == ["data.yaml"]  # the others have no member of their own


def test_the_parent_is_w0104_when_no_included_stack_deploys_anything(tmp_path):
    (tmp_path / "tool.cli.toml").write_text('[b00t]\nname = "tool"\ntype = "cli"\n')
    write_stack(tmp_path, "tools", "tool.cli")
    write_stack(tmp_path, "top", "tools.stack")
    r = compile_(tmp_path / "top.stack.toml")
    assert r.ok
    assert [(d.code, d.message.split(" has")[0]) for d in r.diags if d.code == "W0104"] == [
        ("W0104", "stack tools"), ("W0104", "stack top")]


# -- cycles, once, depth, not found -----------------------------------------------------------


def test_an_include_cycle_names_the_cycle_at_the_member_entry(tmp_path):
    write_member(tmp_path, "db")
    write_stack(tmp_path, "a", "db.docker", "b.stack")
    write_stack(tmp_path, "b", "db.docker", "a.stack")
    r = compile_(tmp_path / "a.stack.toml")
    assert errors(r) == ["E0305"]
    shown = text_of(r)
    assert "error[E0305]: stacks include each other in a cycle: a -> b -> a" in shown
    assert f"--> {tmp_path}/b.stack.toml:4:25" in shown  # b's member "a.stack"


def test_a_stack_including_itself(tmp_path):
    write_member(tmp_path, "db")
    write_stack(tmp_path, "a", "db.docker", "a.stack")
    r = compile_(tmp_path / "a.stack.toml")
    assert errors(r) == ["E0305"]
    assert "stacks include each other in a cycle: a -> a" in text_of(r)
    assert f"--> {tmp_path}/a.stack.toml:4:25" in text_of(r)


def test_a_cycle_mixing_members_and_requires_stacks(tmp_path):
    write_member(tmp_path, "db")
    write_stack(tmp_path, "a", "db.docker", "b.stack")
    write_stack(tmp_path, "b", "db.docker", extra='\n[b00t.dependencies]\nrequires_stacks = ["a"]\n')
    r = compile_(tmp_path / "a.stack.toml")
    assert errors(r) == ["E0305"]
    shown = text_of(r)
    assert "stacks include and require each other in a cycle: a -> b -> a" in shown
    assert f"--> {tmp_path}/b.stack.toml:7:20" in shown  # the requires_stacks entry that closes it
    # the other way round: a requires b, b includes a
    write_stack(tmp_path, "a", "db.docker", extra='\n[b00t.dependencies]\nrequires_stacks = ["b"]\n')
    write_stack(tmp_path, "b", "db.docker", "a.stack")
    r = compile_(tmp_path / "a.stack.toml")
    assert errors(r) == ["E0305"]
    assert "stacks include and require each other in a cycle: a -> b -> a" in text_of(r)


def test_a_pure_requires_cycle_keeps_its_message(tmp_path):
    write_member(tmp_path, "db")
    write_stack(tmp_path, "a", "db.docker", extra='\n[b00t.dependencies]\nrequires_stacks = ["b"]\n')
    write_stack(tmp_path, "b", "db.docker", extra='\n[b00t.dependencies]\nrequires_stacks = ["a"]\n')
    assert "stacks require each other in a cycle: a -> b -> a" in text_of(compile_(tmp_path / "a.stack.toml"))


def test_a_diamond_builds_the_shared_stack_once(tmp_path):
    write_member(tmp_path, "db")
    write_member(tmp_path, "l1")
    write_member(tmp_path, "r1")
    write_stack(tmp_path, "base", "db.docker")
    write_stack(tmp_path, "left", "l1.docker", "base.stack")
    write_stack(tmp_path, "right", "r1.docker", "base.stack")
    write_stack(tmp_path, "top", "left.stack", "right.stack")
    r = compile_(tmp_path / "top.stack.toml", targets=("k8s", "compose"))
    assert r.ok, text_of(r)
    assert [u.datum.name for u in r.units] == ["base", "left", "right", "top"]
    assert sorted(f.path for t, f in r.outputs if t == "k8s") == ["base.yaml", "left.yaml", "right.yaml"]
    assert r.diags.sources and sum(1 for f in r.read if f.endswith("base.stack.toml")) == 1


def test_a_stack_included_and_required_is_deployed_once_as_a_part(tmp_path):
    write_member(tmp_path, "db")
    write_member(tmp_path, "app", "echo ${STACK:data:db:host}")
    write_stack(tmp_path, "data", "db.docker", extra='\n[b00t.services]\ndb = { port = 5432 }\n')
    write_stack(tmp_path, "top", "app.docker", "data.stack", extra='\n[b00t.dependencies]\nrequires_stacks = ["data"]\n')
    r = compile_(tmp_path / "top.stack.toml", with_required=True)
    assert r.ok, text_of(r)
    assert [(u.datum.name, u.part_of, u.required) for u in r.units] == [("data", "top", False), ("top", "", False)]


def test_a_root_that_another_root_includes_is_built_once_as_a_root(platform):
    r = compile_(platform / "platform.stack.toml", platform / "data.stack.toml")
    assert r.ok, text_of(r)
    assert [(u.datum.name, u.part_of) for u in r.units] == [("data", ""), ("front", "platform"), ("platform", "")]
    r = compile_(platform / "data.stack.toml", platform / "platform.stack.toml")
    assert [(u.datum.name, u.part_of) for u in r.units] == [("data", ""), ("front", "platform"), ("platform", "")]


def test_including_deeper_than_max_depth_is_e0307(tmp_path):
    from b00tc.frontend.link import MAX_DEPTH

    write_member(tmp_path, "db")
    for i in range(MAX_DEPTH + 2):
        write_stack(tmp_path, f"s{i}", "db.docker", f"s{i + 1}.stack")
    write_stack(tmp_path, f"s{MAX_DEPTH + 2}", "db.docker")
    r = compile_(tmp_path / "s0.stack.toml", targets=())
    assert errors(r) == ["E0307"]
    assert f"error[E0307]: member s{MAX_DEPTH + 1}.stack is more than {MAX_DEPTH} stacks deep" in text_of(r)
    # at the bound, fine
    write_stack(tmp_path, f"s{MAX_DEPTH}", "db.docker")
    r = compile_(tmp_path / "s0.stack.toml", targets=())
    assert r.ok, text_of(r)
    assert len(r.units) == MAX_DEPTH + 1


def test_a_member_stack_not_found_is_e0302_with_did_you_mean(platform):
    write_stack(platform, "platform", "app.docker", "dta.stack", "front.stack")
    r = compile_(platform / "platform.stack.toml")
    assert errors(r) == ["E0302", "E0303"]  # and app's reference to data: not included now
    shown = text_of(r)
    assert "error[E0302]: member dta.stack not found on the datum search path" in shown
    assert "did you mean 'data.stack'?" in shown


def test_a_member_stack_listed_twice_is_e0113(platform):
    write_stack(platform, "platform", "app.docker", "data.stack", "front.stack", "data.stack")
    assert errors(compile_(platform / "platform.stack.toml")) == ["E0113"]


def test_two_included_stacks_of_one_name_collide_e0114(tmp_path):
    for folder, parent in (("A", "p"), ("B", "q")):
        (tmp_path / folder).mkdir()
        write_member(tmp_path / folder, "web")
        write_stack(tmp_path / folder, "front", "web.docker")
        write_stack(tmp_path / folder, parent, "front.stack")
    r = compile_(tmp_path / "A" / "p.stack.toml", tmp_path / "B" / "q.stack.toml")
    assert errors(r) == ["E0114"]
    assert "front.stack.toml both write front.yaml" in text_of(r)


def test_the_depfile_lists_the_included_stacks_files(platform):
    r = compile_(platform / "platform.stack.toml")
    assert r.ok
    deps = {path: [os.path.basename(f) for f in files] for (_, path), files in r.deps.items()}
    assert deps["platform.yaml"] == sorted(
        ["app.docker.toml", "data.stack.toml", "db.docker.toml", "front.stack.toml", "platform.stack.toml",
         "web.docker.toml"], key=lambda n: str(platform / n))
    assert deps["data.yaml"] == ["data.stack.toml", "db.docker.toml"]


def test_the_depfile_from_the_cli(platform):
    host = Host(platform)
    r = host.b00tc("build", "platform.stack.toml", "-t", "k8s", "-o", "out", "--depfile", "deps.mk")
    assert r.returncode == 0, r.stderr
    text = (platform / "deps.mk").read_text()
    platform_line = next(line for line in text.splitlines() if line.startswith("out/platform.yaml:"))
    for f in ("data.stack.toml", "front.stack.toml", "db.docker.toml", "web.docker.toml"):
        assert f in platform_line, text


def test_the_corpus_platform_links_every_phase_stack():
    """k8s-complete-platform's members are four phase stacks of cli and k8s datums: each is
    linked as a part of the platform; nothing of it is a container today (W0101, W0104)."""
    r = compile_(CORPUS / "k8s-complete-platform.stack.toml", targets=("k8s", "compose"))
    assert r.ok, text_of(r)
    assert "E0302" not in codes(r)
    phases = ["phase1-devex", "phase2-gpu-observability", "phase3-workflows", "phase4-gitops"]
    parts = {u.datum.name: u.part_of for u in r.units}
    assert parts.pop("k8s-complete-platform") == ""
    assert set(parts) >= set(phases) and all(parts[p] == "k8s-complete-platform" for p in phases)
    for p in phases:
        assert str(CORPUS / f"{p}.stack.toml") in r.read
    # no stack member is taken for a container any more
    assert not any(d.code == "W0101" and ".stack" in d.message for d in r.diags)


# -- plan, deploy and day two -----------------------------------------------------------------

KUBECTL = KUBECTL_OK.replace(
    "  *) exit 9 ;;",
    '  "delete jobs,deployments,services,secrets") echo deleted ;;\n'
    '  "get jobs,deployments,services,pods,persistentvolumeclaims") echo \'{"kind": "List", "items": []}\' ;;\n'
    "  *) exit 9 ;;")

#: a docker that answers: compose's version and the engine's, and accepts every other call
DOCKER = """case "$1 $2" in
  "compose version") echo "Docker Compose version v2.29.0" ;;
  "info --format") echo 27.1.0 ;;
  inspect*) exit 1 ;;
  *) exit 0 ;;
esac"""


@pytest.fixture
def host(platform) -> Host:
    return Host(platform)


def test_the_plan_lists_the_included_stacks_with_their_day_two(host):
    r = host.b00tc("plan", "platform.stack.toml", "--orchestrator", "kubernetes", "--format", "json")
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert p["commands"] == ["kubectl apply -f data.yaml", "kubectl apply -f front.yaml",
                             "kubectl apply -f platform.yaml"]
    status = p["day_two"]["status"]["commands"]
    assert [c.split("part-of=")[1].split()[0] for c in status] == ["data", "front", "platform"]
    down = p["day_two"]["down"]["commands"]
    assert [c.split("part-of=")[1].split()[0] for c in down] == ["platform", "data", "front"]
    r = host.b00tc("plan", "platform.stack.toml", "--orchestrator", "direct")
    assert "  data.sh (stack data, part of platform, " in r.stdout
    assert "  platform.sh (stack platform, " in r.stdout


def test_a_job_requiring_the_parent_leaves_its_parts_alone_on_day_two(host):
    (host.root / "runner.job.toml").write_text(
        '[b00t]\nname = "runner"\ntype = "job"\n\n[b00t.container]\nimage = "localhost/busybox:test"\n'
        'command = "true"\n\n[b00t.dependencies]\nrequires_stacks = ["platform"]\n')
    r = host.b00tc("plan", "runner.job.toml", "--orchestrator", "nomad", "--format", "json")
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert p["commands"] == ["nomad job run data.nomad.hcl", "nomad job run front.nomad.hcl",
                             "nomad job run platform.nomad.hcl", "nomad job run runner.nomad.hcl"]
    for op, cmds in p["day_two"].items():
        assert all("runner" in c for c in cmds["commands"]), (op, cmds)


def test_kubernetes_deploy_status_and_down_cover_the_included_stacks(host):
    host.tool("kubectl", KUBECTL)
    out = host.root / "out"
    r = host.b00tc("deploy", "platform.stack.toml", "--orchestrator", "kubernetes", "-o", out)
    assert r.returncode == 0, r.stderr
    assert [c for c in host.calls() if c.startswith("kubectl apply")] == [
        f"kubectl apply -f {out}/data.yaml", f"kubectl apply -f {out}/front.yaml", f"kubectl apply -f {out}/platform.yaml"]
    r = host.b00tc("status", "platform.stack.toml", "--orchestrator", "kubernetes", "--format", "json")
    shown = json.loads(r.stdout)
    assert [s["datum"] for s in shown] == ["data.stack", "front.stack", "platform.stack"], r.stdout
    r = host.b00tc("down", "platform.stack.toml", "--orchestrator", "kubernetes")
    assert r.returncode == 0, r.stderr
    deletes = [c for c in host.calls() if c.startswith("kubectl delete")]
    assert [c.split("part-of=")[1].split()[0] for c in deletes] == ["platform", "data", "front"]


def test_compose_deploy_and_down_cover_the_included_stacks(host):
    host.tool("docker", DOCKER)
    out = host.root / "out"
    r = host.b00tc("deploy", "platform.stack.toml", "--orchestrator", "docker-compose", "-o", out)
    assert r.returncode == 0, r.stderr
    ups = [c for c in host.calls() if c.endswith(" up -d")]
    assert ups == [f"docker compose -p {s} -f {out}/{s}.compose.yaml up -d" for s in ("data", "front", "platform")]
    r = host.b00tc("down", "platform.stack.toml", "--orchestrator", "docker-compose")
    assert r.returncode == 0, r.stderr
    downs = [c for c in host.calls() if " down" in c]
    assert [c.split(" -p ")[1].split()[0] for c in downs] == ["platform", "data", "front"]


def test_direct_deploy_brings_up_each_included_stack_by_its_script(host):
    import shutil

    for tool in ("sha256sum", "cut"):  # the stack script's config hash
        os.symlink(shutil.which(tool), host.bin / tool)
    host.tool("docker", DOCKER)
    r = host.b00tc("deploy", "platform.stack.toml", "--orchestrator", "direct", "-o", host.root / "out")
    assert r.returncode == 0, r.stderr
    runs = [c for c in host.calls() if c.startswith("docker run")]
    labelled = [(c.split("app.kubernetes.io/name=")[1].split()[0], c.split(f"{PART_OF}=")[1].split()[0])
                for c in runs]
    assert labelled == [("db", "data"), ("web", "front"), ("app", "platform")]
    r = host.b00tc("down", "platform.stack.toml", "--orchestrator", "direct")
    assert r.returncode == 0, r.stderr
    removed = [c for c in host.calls() if c.startswith("docker rm -f")]
    assert removed == ["docker rm -f platform-app", "docker rm -f data-db", "docker rm -f front-web"]
