"""`b00tc mcp` serves only its folder: a path or include that leaves the folder the server
was started in (``..``, absolute, ``~``, a symbolic link to a file or a folder outside, a
folder link in the middle) is refused with E0901 and nothing is read; B00T_DATUM_PATH is
not followed; ``down`` is served only with --allow-destructive.

Most tests call ``mcp_server.call`` in-process with the working directory set to the served
folder (the server's root is its working directory); "nothing read" is proved by a spy on
the compiler's build and on subprocess.run (the day-two tools' child process), and the
datum outside is one that would give a distinct answer if it were read. One test drives the
real server over stdio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from b00tc.runtime import mcp_server

ROOT = Path(__file__).resolve().parent.parent
JOB = ROOT / "tests" / "runtime_data" / "exit7.job.toml"

# if one of these were read, the answer would hold s3cr3t (a job name, an image)
OUTSIDER = '[b00t]\nname = "s3cr3t"\ntype = "job"\n[b00t.container]\nimage = "s3cr3t:1"\ncommand = "x"\n'
OUTSIDER_MEMBER = '[b00t]\nname = "outsider"\ntype = "docker"\nimage = "s3cr3t:1"\n'


@pytest.fixture
def world(tmp_path, monkeypatch):
    """served/ (the working directory) and outside/ next to it, with links between them."""
    served, outside = tmp_path / "served", tmp_path / "outside"
    (served / "sub").mkdir(parents=True)
    outside.mkdir()
    (served / "exit7.job.toml").write_text(JOB.read_text())
    (served / "sub" / "exit7.job.toml").write_text(JOB.read_text())
    (outside / "s3cr3t.job.toml").write_text(OUTSIDER)
    (outside / "outsider.docker.toml").write_text(OUTSIDER_MEMBER)
    (served / "in").mkdir()
    (served / "in" / "exit7.job.toml").symlink_to(served / "exit7.job.toml")  # stays inside
    (served / "alias").symlink_to(served / "sub")  # a folder link that stays inside
    (served / "out").mkdir()
    (served / "out" / "s3cr3t.job.toml").symlink_to(outside / "s3cr3t.job.toml")  # a file link out
    (served / "out" / "outsider.docker.toml").symlink_to(outside / "outsider.docker.toml")
    (served / "dir_out").symlink_to(outside)  # a folder link out
    monkeypatch.chdir(served)
    monkeypatch.setenv("HOME", str(outside))  # ~ is outside
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the day-two child runs this b00tc
    monkeypatch.setenv("B00TC_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("B00T_DATUM_PATH", raising=False)
    return served, outside


@pytest.fixture
def spy(monkeypatch):
    """Every compiler build and child process the server starts, recorded (and passed on)."""
    import b00tc.compiler

    seen: list = []
    real_build, real_run = b00tc.compiler.build, subprocess.run

    def build(req, *a, **kw):
        seen.append(("build", req.paths, req.includes))
        return real_build(req, *a, **kw)

    def run(argv, *a, **kw):
        seen.append(("run", argv))
        return real_run(argv, *a, **kw)

    monkeypatch.setattr(b00tc.compiler, "build", build)
    monkeypatch.setattr(subprocess, "run", run)
    return seen


# tool -> the other arguments it needs
TOOLS = {
    "build": {"target": "k8s"},
    "check": {},
    "plan": {"orchestrator": "direct"},
    "status": {"orchestrator": "direct"},
    "logs": {"orchestrator": "direct"},
    "down": {"orchestrator": "direct", "dry_run": True},
}

BAD_PATHS = {
    "dotdot": "../outside/s3cr3t.job.toml",
    "dotdot_in_the_middle": "sub/../../outside/s3cr3t.job.toml",
    "absolute_outside": "{outside}/s3cr3t.job.toml",
    "etc": "/etc",
    "root_of_fs": "/",
    "home": "~/s3cr3t.job.toml",
    "link_to_a_file_outside": "out/s3cr3t.job.toml",
    "link_to_a_folder_outside": "dir_out",
    "folder_link_in_the_middle": "dir_out/s3cr3t.job.toml",
    "parent": "..",
    "stdin": "-",
}


def _call(tool, args):
    return mcp_server.call(tool, args, allow_destructive=True)


def _refused(result, is_error, what):
    assert is_error, result
    [d] = result["diagnostics"]
    assert d["code"] == "E0901" and d["file"] is None, d
    assert what in d["message"], d["message"]
    assert not result["ok"]
    assert "s3cr3t:1" not in json.dumps(result)


@pytest.mark.parametrize("bad", BAD_PATHS, ids=list(BAD_PATHS))
@pytest.mark.parametrize("tool", TOOLS)
def test_a_path_outside_is_refused_and_nothing_is_read(world, spy, tool, bad):
    served, outside = world
    path = BAD_PATHS[bad].format(outside=outside)
    result, is_error = _call(tool, {"path": path, **TOOLS[tool]})
    _refused(result, is_error, "stdin" if path == "-" else "outside the folder this server serves")
    assert spy == []  # no build, no child process


@pytest.mark.parametrize("bad", ["../outside", "{outside}", "dir_out", "sub/../..", "~", "/tmp"])
@pytest.mark.parametrize("tool", TOOLS)
def test_an_include_outside_is_refused_and_nothing_is_read(world, spy, tool, bad):
    served, outside = world
    result, is_error = _call(tool, {"path": "exit7.job.toml", "include": ["sub", bad.format(outside=outside)], **TOOLS[tool]})
    _refused(result, is_error, "include")
    assert spy == []


@pytest.mark.parametrize("tool", ["build", "check"])
def test_a_text_datum_with_an_include_outside_is_refused(world, spy, tool):
    text = '[b00t]\nname = "s"\ntype = "stack"\nmembers = ["outsider.docker"]\n'
    result, is_error = _call(tool, {"text": text, "include": ["dir_out"], **({"target": "compose"} if tool == "build" else {})})
    _refused(result, is_error, "include 'dir_out'")
    assert spy == []


@pytest.mark.parametrize(
    "path", ["exit7.job.toml", "in/exit7.job.toml", "sub/exit7.job.toml", "alias/exit7.job.toml", "alias", "sub/../exit7.job.toml", "{served}/exit7.job.toml", "."]
)
def test_a_path_inside_still_builds(world, path):
    served, _ = world
    result, is_error = _call("build", {"path": path.format(served=served), "target": "k8s", "include": ["sub", "alias", str(served)]})
    assert not is_error and result["ok"], result
    assert [f["path"] for f in result["files"]] == ["exit7.yaml"]
    result, is_error = _call("plan", {"path": path.format(served=served), "orchestrator": "direct"})
    assert not is_error and result["ok"], result


def test_the_day_two_tools_still_run_inside(world, spy):
    result, is_error = _call("status", {"path": "in/exit7.job.toml", "orchestrator": "direct", "include": ["alias"]})
    assert not is_error and result["exit_code"] == 4 and result["status"]["state"] == "not deployed", result
    (kind, argv) = spy[-1]
    assert kind == "run" and argv[-6:] == ["--orchestrator=direct", "--include=alias", "--format", "json", "--",
                                           "in/exit7.job.toml"]
    result, is_error = _call("down", {"path": "exit7.job.toml", "orchestrator": "direct", "dry_run": True})
    assert not is_error, result


def test_a_text_datum_is_searched_from_the_served_folder(world):
    served, _ = world
    (served / "web.docker.toml").write_text('[b00t]\nname = "web"\ntype = "docker"\nimage = "web:1"\n')
    text = '[b00t]\nname = "s"\ntype = "stack"\nmembers = ["web.docker"]\n'
    result, is_error = _call("build", {"text": text, "target": "compose"})
    assert not is_error and result["ok"], result
    assert "web:1" in result["files"][0]["content"]


def test_b00t_datum_path_is_not_followed(world, monkeypatch):
    """A member found only on B00T_DATUM_PATH (outside) is not found by the server; the same
    build outside the server (the CLI's way) does find it: the variable is really there."""
    from b00tc.compiler import BuildRequest, build

    served, outside = world
    monkeypatch.setenv("B00T_DATUM_PATH", str(outside))
    (served / "s.stack.toml").write_text('[b00t]\nname = "s"\ntype = "stack"\nmembers = ["outsider.docker"]\n')
    cli = build(BuildRequest(paths=["s.stack.toml"], targets=["compose"]))
    assert cli.ok and "s3cr3t:1" in cli.outputs[0][1].content  # the CLI follows it
    result, is_error = _call("build", {"path": "s.stack.toml", "target": "compose"})
    assert not result["ok"] and "s3cr3t:1" not in json.dumps(result)
    [d] = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert d["code"] == "E0302" and str(outside) not in d["help"], d
    result, _ = _call("check", {"text": (served / "s.stack.toml").read_text()})
    assert [d["code"] for d in result["diagnostics"] if d["severity"] == "error"] == ["E0302"]


def test_the_day_two_child_does_not_get_b00t_datum_path(world, spy, monkeypatch):
    _, outside = world
    monkeypatch.setenv("B00T_DATUM_PATH", str(outside))
    seen_env = {}
    real = subprocess.run

    def run(argv, *a, **kw):
        seen_env.update(kw.get("env") or {})
        return real(argv, *a, **kw)

    monkeypatch.setattr(subprocess, "run", run)
    # a NAME, looked up on the search path by the child: outsider is on B00T_DATUM_PATH only
    result, _ = _call("status", {"path": "outsider", "orchestrator": "direct"})
    assert seen_env and "B00T_DATUM_PATH" not in seen_env
    assert "no datum 'outsider' " in result["messages"] and " in .;" in result["messages"], result


def test_down_is_refused_without_the_flag(world, spy):
    result, is_error = mcp_server.call("down", {"path": "exit7.job.toml", "orchestrator": "direct"})
    assert is_error and not result["ok"] and result["exit_code"] == 2
    [d] = result["diagnostics"]
    assert d["code"] == "E0901" and "--allow-destructive" in d["help"]
    assert spy == []
    assert mcp_server.tool_names() == ["build", "check", "plan", "list_targets", "status", "logs"]
    assert "down" in mcp_server.tool_names(allow_destructive=True)


def test_the_real_server_refuses_over_stdio(world):
    """`b00tc mcp` started in served/: tools/list without down, a path through a folder link
    out refused, one inside built, down refused; with the flag down is listed, destructive."""
    import anyio
    from mcp import Client, StdioServerParameters

    served, _ = world

    async def session(*flags):
        params = StdioServerParameters(command=sys.executable, args=["-m", "b00tc", "mcp", *flags],
                                       env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=str(served))
        with anyio.fail_after(120):
            async with Client(params) as c:
                tools = {t.name: t for t in (await c.list_tools()).tools}
                out = await c.call_tool("build", {"path": "dir_out/s3cr3t.job.toml", "target": "k8s"})
                inside = await c.call_tool("build", {"path": "alias/exit7.job.toml", "target": "k8s"})
                down = await c.call_tool("down", {"path": "exit7.job.toml", "orchestrator": "direct", "dry_run": True})
                return tools, out, inside, down

    tools, out, inside, down = anyio.run(session)
    assert "down" not in tools and all(t.annotations.read_only_hint for t in tools.values())
    assert out.is_error and out.structured_content["diagnostics"][0]["code"] == "E0901"
    assert "s3cr3t:1" not in out.content[0].text
    assert not inside.is_error and inside.structured_content["files"][0]["path"] == "exit7.yaml"
    assert down.is_error and "--allow-destructive" in down.structured_content["diagnostics"][0]["help"]

    tools, out, _, down = anyio.run(session, "--allow-destructive")
    assert tools["down"].annotations.destructive_hint is True
    assert out.is_error and out.structured_content["diagnostics"][0]["code"] == "E0901"
    assert not down.is_error and down.structured_content["ok"], down.structured_content


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("how", ["folder", "member", "name"])
def test_a_datum_file_linked_out_of_the_folder_is_not_read(world, tool, how):
    """A folder inside holding a datum that links out; a stack inside whose member, on an
    include folder inside, links out; a NAME found in an include folder as a link out: the
    linker, confined to the served folder, does not read the file (E0901)."""
    served, _ = world
    (served / "s.stack.toml").write_text('[b00t]\nname = "s"\ntype = "stack"\nmembers = ["outsider.docker"]\n')
    args = {"folder": {"path": "out"}, "member": {"path": "s.stack.toml", "include": ["out"]},
            "name": {"path": "s3cr3t", "include": ["out"]}}[how]
    if how == "name" and tool in ("build", "check", "plan"):
        args = {"path": "out/s3cr3t.job.toml"}
    result, _ = _call(tool, {**args, **TOOLS[tool]})
    assert not result["ok"] and "s3cr3t:1" not in json.dumps(result), result
    assert "E0901" in [d["code"] for d in result["diagnostics"]], result
    if tool in ("status", "logs", "down"):
        assert result["exit_code"] == 2 and "messages" not in result  # no child was started


def test_the_cli_still_follows_links_out(world):
    """The confinement is the server's: the CLI's build reads a datum linked from elsewhere."""
    from b00tc.compiler import BuildRequest, build

    result = build(BuildRequest(paths=["out/s3cr3t.job.toml"], targets=["k8s"]))
    assert result.ok and "s3cr3t:1" in result.outputs[0][1].content
