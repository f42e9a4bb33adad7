"""systemd units hold no value of a host variable: they read an EnvironmentFile= that
``b00tc env --target systemd`` prints, and the build does not depend on the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_cli import ROOT, b00tc

#: every datum of the repository that uses host variables, with the folder of its members
DATUMS = [
    "tests/cases/host-vars.job.toml",
    "tests/cases/hostile-literals.job.toml",
    "tests/data/b00t-datums/n8n.docker.toml",
    "tests/data/b00t-datums/llm-batch-job.job.toml",
    "tests/data/canonical/n8n.docker.toml",
    "tests/data/canonical/llm-batch-job.job.toml",
    "examples/n8n.docker.toml",
    "examples/llm-batch-job.job.toml",
    "examples/llm-inference-pipeline.stack.toml",
]


def host_var_names(path: str) -> list[str]:
    text = (ROOT / path).read_text()
    return sorted({n for n in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text) if n != "STACK"})


def canaries(path: str) -> dict[str, str]:
    """A canary for every host variable of every datum (a stack's members are others)."""
    return {n: f"B00TC-CANARY-{n}" for p in DATUMS for n in host_var_names(p)}


@pytest.mark.parametrize("path", DATUMS)
def test_no_host_variable_value_in_any_unit(path, tmp_path):
    """Every host variable of the datum set to a canary: the build succeeds, and no output
    file, nor stdout or stderr, holds a canary; the output is the same as without them."""
    env = canaries(path)
    folder = str(Path(path).parent)
    out = tmp_path / "with"
    r = b00tc("build", path, "-t", "systemd", "-o", str(out), "-I", folder, env=env)
    assert r.returncode == 0, r.stderr
    assert "B00TC-CANARY" not in r.stdout + r.stderr
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert files
    for f in files:
        assert "B00TC-CANARY" not in f.read_text(), f
    bare = tmp_path / "without"
    r = b00tc("build", path, "-t", "systemd", "-o", str(bare), "-I", folder,
              env={n: "" for n in env})
    assert r.returncode == 0, r.stderr
    assert {f.name: f.read_text() for f in files} == {
        f.name: f.read_text() for f in sorted(p for p in bare.rglob("*") if p.is_file())}


@pytest.mark.parametrize("path", [p for p in DATUMS if "hostile" not in p])
def test_env_prints_the_canaries(path):
    """``b00tc env`` prints the values the units read: every canary of a variable the
    datum's env, command or image uses."""
    env = canaries(path)
    r = b00tc("env", path, "-t", "systemd", "-I", str(Path(path).parent), env=env)
    assert r.returncode == 0, r.stderr
    if "llm-batch-job" in path:  # DAILY_BUDGET is the budget's, which systemd does not use
        assert r.stdout == "" and "no environment file" in r.stderr
        return
    assert r.stdout.startswith("# /etc/b00t/")
    assert "B00TC-CANARY" in r.stdout
    if path.endswith("host-vars.job.toml"):  # all but the image's, which systemd does not use
        for name in host_var_names(path):
            assert (env[name] in r.stdout) == (name != "BUSYBOX_TAG"), name


def test_n8n_password_lives_in_the_env_file_only(tmp_path):
    r = b00tc("build", "tests/data/b00t-datums/n8n.docker.toml", "-t", "systemd", "-o", str(tmp_path),
              env={"N8N_BASIC_AUTH_PASSWORD": "hunter2"})
    assert r.returncode == 0, r.stderr
    unit = (tmp_path / "b00t-n8n-n8n.service").read_text()
    assert "hunter2" not in unit
    assert "EnvironmentFile=/etc/b00t/b00t-n8n-n8n.env\n" in unit
    assert "/etc/b00t/b00t-n8n-n8n.env" in unit.split("[Unit]")[0]  # the header says where
    assert re.search(r"-e N8N_BASIC_AUTH_PASSWORD\s", unit)
    r = b00tc("env", "tests/data/b00t-datums/n8n.docker.toml", "-t", "systemd",
              env={"N8N_BASIC_AUTH_PASSWORD": "hunter2"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "# /etc/b00t/b00t-n8n-n8n.env"
    assert 'N8N_BASIC_AUTH_PASSWORD="hunter2"' in r.stdout.splitlines()


def test_build_needs_no_host_variable_but_env_does(tmp_path):
    """No E0401/E0402 at build time; ``b00tc env`` reports them, exits 1 and prints
    nothing. --env-file and --set (which wins) resolve them."""
    path = "tests/cases/host-vars.job.toml"
    clean = {"REQUIRED_TOKEN": "", "CHECKED": ""}
    r = b00tc("build", path, "-t", "systemd", env=clean)
    assert r.returncode == 0 and "E040" not in r.stderr
    r = b00tc("env", path, "-t", "systemd", env=clean)
    assert r.returncode == 1 and r.stdout == ""
    assert "E0402" in r.stderr
    envf = tmp_path / "vars.env"
    envf.write_text("REQUIRED_TOKEN=from-file\nCHECKED=file\n")
    r = b00tc("env", path, "-t", "systemd", "--env-file", str(envf), "--set", "CHECKED=set",
              env=clean)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert 'TOKEN="from-file"' in lines and 'CHECKED="set"' in lines


def test_env_is_systemd_only():
    r = b00tc("env", "tests/cases/host-vars.job.toml", "-t", "k8s")
    assert r.returncode == 2 and r.stdout == ""


def test_env_output_reads_back_hostile_values():
    """The printed file, read with systemd.exec(5)'s documented rule, gives each value
    byte for byte (quotes, backslashes, ``$``, ``#``, spaces at both ends, newlines)."""
    from tests.backends.test_systemd import read_env_file

    # (no carriage return: the text-mode pipe of ``b00tc()`` reads \r\n as \n; the
    # unit tests of env_line carry one)
    hostile = ' a "b" \'c\' \\d\\\\ $e ${f} `g` # h ; i\nline2\n\t%h= '
    r = b00tc("env", "tests/data/b00t-datums/n8n.docker.toml", "-t", "systemd",
              "--set", f"N8N_BASIC_AUTH_PASSWORD={hostile}", "--set", "N8N_HOST=h")
    assert r.returncode == 0, r.stderr
    env = read_env_file(r.stdout)
    assert env["N8N_BASIC_AUTH_PASSWORD"] == hostile
    assert env["N8N_HOST"] == "h" and env["N8N_BASIC_AUTH_USER"] == "admin"


def test_env_writes_files_with_mode_0600(tmp_path):
    """``-o DIR``: each file under its name, mode 0600 whatever the umask; nothing on
    stdout; on an error nothing is written."""
    out = tmp_path / "etc"
    r = b00tc("env", "examples/llm-inference-pipeline.stack.toml", "-t", "systemd",
              "-o", str(out), env={"GENERIC_TIMEZONE": "B00TC-CANARY"})
    assert r.returncode == 0 and r.stdout == "", r.stderr
    (f,) = out.iterdir()
    assert f.name == "b00t-llm-inference-pipeline-n8n.env"
    assert f.stat().st_mode & 0o777 == 0o600
    assert 'GENERIC_TIMEZONE="B00TC-CANARY"' in f.read_text().splitlines()
    bad = tmp_path / "bad"
    r = b00tc("env", "tests/cases/host-vars.job.toml", "-t", "systemd", "-o", str(bad),
              env={"REQUIRED_TOKEN": "", "CHECKED": ""})
    assert r.returncode == 1 and not bad.exists()
