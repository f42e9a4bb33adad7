"""The command line as users run it: by hand, in pre-commit hooks and in Makefiles."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"


def b00tc(*args, input=None, env=None, cwd=ROOT):
    full_env = {k: v for k, v in os.environ.items() if k != "B00T_DATUM_PATH"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "b00tc", *args],
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=60,
    )


def test_help_and_targets():
    r = b00tc("--help")
    assert r.returncode == 0 and "build" in r.stdout and "check" in r.stdout
    r = b00tc("targets")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == ["k8s", "compose", "nomad", "bash", "systemd"]
    assert "kubernetes" in r.stdout and "docker-compose" in r.stdout and "direct" in r.stdout


def test_console_script_is_installed():
    exe = shutil.which("b00tc")
    assert exe, "pip install . puts b00tc on PATH"
    r = subprocess.run([exe, "targets"], capture_output=True, text=True)
    assert r.returncode == 0 and "nomad" in r.stdout


def test_single_file_goes_to_stdout_exactly():
    """One output file and no -o: the file's bytes on stdout, diagnostics on stderr. The
    golden file is the same build, validated by tests/test_validate.py."""
    r = b00tc("build", "tests/cases/small.job.toml", "--target", "kubernetes")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (GOLDEN / "k8s" / "small.yaml").read_text()


def test_several_files_without_output_folder_is_a_usage_error():
    r = b00tc("build", "tests/cases/small.job.toml", "-t", "k8s", "-t", "nomad")
    assert r.returncode == 2
    assert "give -o DIR" in r.stderr and r.stdout == ""


def test_unknown_target_is_a_usage_error_with_a_suggestion():
    r = b00tc("build", "tests/cases/small.job.toml", "--target", "nomda")
    assert r.returncode == 2 and "did you mean 'nomad'" in r.stderr


def test_missing_path_is_exit_1():
    r = b00tc("check", "no/such/file.job.toml")
    assert r.returncode == 1 and "E0002" in r.stderr


def test_examples_build_to_every_target(tmp_path):
    """The README's quick start, for every target: one folder per target, each datum's
    files in it, bash scripts executable; a second build gives the same bytes and does not
    rewrite unchanged files (make compares timestamps)."""
    out = tmp_path / "out"
    r = b00tc("build", "examples/", "--target", "all", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    got = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert got == [
        "bash/llm-batch-job.sh",
        "bash/llm-inference-pipeline.sh",
        "compose/llm-batch-job.compose.yaml",
        "compose/llm-inference-pipeline.compose.yaml",
        "k8s/llm-batch-job.yaml",
        "k8s/llm-inference-pipeline.yaml",
        "nomad/llm-batch-job.nomad.hcl",
        "nomad/llm-inference-pipeline.nomad.hcl",
        "systemd/b00t-llm-batch-job.service",
        "systemd/b00t-llm-inference-pipeline-n8n.service",
        "systemd/b00t-llm-inference-pipeline-python.service",
        "systemd/b00t-llm-inference-pipeline.target",
    ]
    assert os.stat(out / "bash" / "llm-batch-job.sh").st_mode & 0o777 == 0o755
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    r = b00tc("build", "examples/", "--target", "all", "-o", str(out))
    assert r.returncode == 0
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert before == after
    assert not [p for p in out.rglob(".b00tc-*")], "no temporary file is left behind"


def test_readme_quick_start_command_works(tmp_path):
    """The README says `b00tc build examples/ --target nomad -o out/`: it must work as
    written, from the repository root."""
    readme = (ROOT / "README.md").read_text()
    assert "b00tc build examples/ --target nomad -o out/" in readme
    r = b00tc("build", "examples/", "--target", "nomad", "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "llm-batch-job.nomad.hcl",
        "llm-inference-pipeline.nomad.hcl",
    ]


def test_one_bad_datum_in_a_folder_writes_nothing(tmp_path):
    """Errors anywhere: exit 1, every error reported, and the output folder as it was."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "examples", src)
    (src / "broken.job.toml").write_text(
        '[b00t]\nname = "broken"\ntype = "job"\n[b00t.container]\nimage = "x"\n'
        '[b00t.resources]\ncpu = "four"\nmemory = "lots"\n'
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("keep")
    r = b00tc("build", str(src), "-t", "all", "-o", str(out))
    assert r.returncode == 1
    assert "E0201" in r.stderr and "E0202" in r.stderr, "all errors are collected"
    assert "2 errors" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]


def test_strict_turns_warnings_into_errors(tmp_path):
    out = tmp_path / "out"
    r = b00tc("build", "examples/llm-batch-job.job.toml", "-t", "compose", "--strict", "-o", str(out))
    assert r.returncode == 1
    assert "--strict makes this warning an error" in r.stderr
    assert not out.exists()


def test_host_variables_resolved_at_build_time(tmp_path):
    """Only an image's ${VAR} is resolved at build time (k8s W0303, Nomad W0304): unset
    with no default is E0401 naming it; --set wins over --env-file, which wins over the
    environment. The env entries read a Secret (k8s) or a Nomad Variable: their values are
    in neither output, the same bytes whatever they hold."""
    job = tmp_path / "hv.job.toml"
    job.write_text(
        '[b00t]\nname = "hv"\ntype = "job"\n[b00t.container]\nimage = "reg/app:${TAG}"\n'
        '[b00t.env]\nTOKEN = "${TOKEN}"\nOTHER = "${OTHER:-fallback}"\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TAG", "TOKEN", "OTHER")}
    envfile = tmp_path / "vars.env"
    envfile.write_text("# comment\nTAG=from-file\nTOKEN=tok-file\nexport OTHER='quoted value'\n")
    for target, image in (("nomad", 'image = "reg/app:{}"'), ("k8s", "image: reg/app:{}")):
        r = b00tc("build", str(job), "-t", target, env={"TAG": ""})
        # set (even empty) is set: YAML quotes the image, HCL always does
        assert r.returncode == 0 and re.search(r"""image(: | += )['"]reg/app:['"]$""", r.stdout, re.M)
        assert f"W030{3 if target == 'k8s' else 4}" in r.stderr
        r = subprocess.run([sys.executable, "-m", "b00tc", "build", str(job), "-t", target],
                           capture_output=True, text=True, env=env, cwd=ROOT)
        assert r.returncode == 1 and "E0401" in r.stderr and "TAG" in r.stderr and "TOKEN" not in r.stderr
        r = b00tc("build", str(job), "-t", target, "--env-file", str(envfile), env={"TAG": "from-env"})
        assert image.format("from-file") in r.stdout
        r = b00tc("build", str(job), "-t", target, "--env-file", str(envfile), "--set", "TAG=from-set",
                  "--set", "TOKEN=tok-set")
        assert image.format("from-set") in r.stdout
        assert "tok-" not in r.stdout and "quoted value" not in r.stdout
        same = b00tc("build", str(job), "-t", target, "--set", "TAG=from-set")
        assert same.stdout == r.stdout  # the env entries' values change nothing
    # compose keeps it for run time
    r = b00tc("build", str(job), "-t", "compose")
    assert r.returncode == 0 and "TOKEN: ${TOKEN}" in r.stdout


def test_stdin(tmp_path):
    text = (ROOT / "tests/cases/small.job.toml").read_text()
    r = b00tc("build", "-", "-t", "k8s", input=text)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (GOLDEN / "k8s" / "small.yaml").read_text().replace(
        "from small.job.toml", "from <stdin>"
    )
    r = b00tc("check", "-", input="[b00t]\nname = 1\n")
    assert r.returncode == 1 and "<stdin>:2:8" in r.stderr


def test_search_path_order_and_environment(tmp_path):
    """Members and required stacks are found in the input's folder, then -I folders, then
    B00T_DATUM_PATH; a miss lists what was searched."""
    older = "tests/data/older/llm-batch-job.job.toml"
    r = b00tc("check", older)
    assert r.returncode == 1 and "E0302" in r.stderr and "tests/data/older" in r.stderr
    assert b00tc("check", older, "-I", "tests/data/b00t-datums").returncode == 0
    r = b00tc("check", older, env={"B00T_DATUM_PATH": f"/nonexistent{os.pathsep}tests/data/b00t-datums"})
    assert r.returncode == 0, r.stderr
    # the input's own folder wins: a stack beside the job shadows the one on -I
    shutil.copy(ROOT / older, tmp_path / "llm-batch-job.job.toml")
    (tmp_path / "llm-inference-pipeline.stack.toml").write_text(
        '[b00t]\nname = "llm-inference-pipeline"\ntype = "stack"\nmembers = []\n'
    )
    r = b00tc("check", str(tmp_path / "llm-batch-job.job.toml"), "-I", "tests/data/b00t-datums")
    assert r.returncode == 0
    assert "W0104]: stack llm-inference-pipeline has no deployable member" in r.stderr
    assert f"--> {tmp_path}/llm-inference-pipeline.stack.toml:2:8" in r.stderr


def test_json_and_github_formats():
    import json

    stack = "tests/data/b00t-datums/llm-inference-pipeline.stack.toml"  # b00t's own: a python.cli member
    r = b00tc("check", stack, "--format", "json")
    assert r.returncode == 0
    assert r.stderr == ""  # check's result is its JSON, on stdout (issue 14)
    diags = json.loads(r.stdout)
    assert diags and all(d["severity"] == "warning" for d in diags)
    assert diags[0]["code"] == "W0101" and diags[0]["line"] == 5
    r = b00tc("check", stack, "--format", "github")
    assert r.stdout.startswith(f"::warning file={stack},line=5,col=12")
    assert b00tc("check", "examples/", "--format", "json").stdout == "[]\n"  # the examples deploy everywhere


def test_bad_input_never_shows_a_traceback():
    for text in ["\x00\x01\x02", "[b00t]\nname = [1, {]", "[[b00t]]\n", "b00t = 3\n", "[b00t]\nname='x'\ntype='job'\n[b00t.container]\nimage=[]\n"]:
        r = b00tc("build", "-", "-t", "all", "-o", "/nonexistent-out", input=text)
        assert r.returncode == 1, (text, r.stderr)
        assert "Traceback" not in r.stderr and "error[" in r.stderr


def test_a_failed_write_leaves_the_output_folder_as_it_was(tmp_path):
    """Output is staged as temporary files and renamed only once every file is written:
    here `nomad` is a file where b00tc needs a folder, so staging fails after the k8s and
    compose files were staged; none of them may appear and the old files stay."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "nomad").write_text("not a folder")
    (out / "k8s").mkdir()
    (out / "k8s" / "llm-batch-job.yaml").write_text("old")
    r = b00tc("build", "examples/", "-t", "k8s", "-t", "compose", "-t", "nomad", "-o", str(out))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "error: cannot write" in r.stderr
    # the compose folder made for the staged files is removed again
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["k8s", "k8s/llm-batch-job.yaml", "nomad"]
    assert (out / "k8s" / "llm-batch-job.yaml").read_text() == "old"
    assert not list(out.rglob(".b00tc-*"))


def test_check_and_diff_compare_with_what_is_on_disk(tmp_path):
    """--check and --diff write nothing: exit 0 when the files are up to date, exit 1 naming
    the stale and missing ones (--diff as a unified diff) when they are not."""
    out = tmp_path / "out"
    assert b00tc("build", "examples/", "-t", "k8s", "-o", str(out)).returncode == 0
    r = b00tc("build", "examples/", "-t", "k8s", "-o", str(out), "--check")
    assert r.returncode == 0 and r.stdout == ""
    job = out / "llm-batch-job.yaml"
    job.write_text(job.read_text().replace("value: /data/results", "value: /tmp"))
    (out / "llm-inference-pipeline.yaml").unlink()
    before = sorted(p.name for p in out.iterdir())
    r = b00tc("build", "examples/", "-t", "k8s", "-o", str(out), "--check")
    assert r.returncode == 1
    assert f"stale: {job}" in r.stderr and f"missing: {out / 'llm-inference-pipeline.yaml'}" in r.stderr
    assert "2 of 2 files would change" in r.stderr
    r = b00tc("build", "examples/", "-t", "k8s", "-o", str(out), "--diff")
    assert r.returncode == 1
    assert "-          value: /tmp\n+          value: /data/results\n" in r.stdout
    assert "--- /dev/null" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == before, "--check/--diff write nothing"


def test_build_json_diagnostics():
    import json

    r = b00tc("build", "tests/bad/cpu-four.job.toml", "-t", "k8s", "--format", "json")
    assert r.returncode == 1 and r.stdout == ""
    (d,) = json.loads(r.stderr)
    assert {k: d[k] for k in ("severity", "code", "file", "line", "column")} == {
        "severity": "error", "code": "E0201", "file": "tests/bad/cpu-four.job.toml", "line": 11, "column": 7,
    }
    assert d["end"] == {"line": 11, "column": 13} and d["message"] and d["help"]


def test_systemd_refuses_unicode_noncharacters(tmp_path):
    """systemd rejects unit text holding a Unicode noncharacter (U+FFFF, U+FDD0, ...): the
    systemd target reports E0601 instead of writing a unit systemd would drop or refuse;
    the other targets carry the value."""
    job = tmp_path / "nc.job.toml"
    job.write_text('[b00t]\nname = "nc"\ntype = "job"\n[b00t.container]\nimage = "i"\n'
                   'command = ["run"]\n[b00t.env]\nA = "x\\uffffy"\n')
    r = b00tc("build", str(job), "-t", "systemd")
    assert r.returncode == 1 and "E0601" in r.stderr and "U+FFFF" in r.stderr
    assert b00tc("build", str(job), "-t", "k8s").returncode == 0


# ---------------------------------------------------------------------------
# The fast path (b00tc/fastcli.py) reads plain build/check command lines without click;
# these tests hold it to click's reading.


def click_command(name):
    from b00tc.cli import cli

    return cli.commands[name]


@pytest.mark.parametrize("name", ["build", "check"])
def test_fast_option_table_is_clicks(name):
    """Every option of the click command, its spellings, whether it is a flag, takes one
    value or many, and its default, are the fast path's: an option added to one and not
    the other fails here. The fast path's table is derived from the options structure
    (b00tc/options.py), so every parameter of the click command (the arguments too) is
    also held to its field there: whether it is required, the values it may take, and
    whether it names a file or a folder."""
    import click
    import msgspec

    from b00tc.fastcli import COMMANDS as FAST, table as fast_table
    from b00tc.options import COMMANDS, fields, structure

    table = {}
    declared = {}
    for p in click_command(name).params:
        if p.name == "help":
            continue
        kind = "flag" if getattr(p, "is_flag", False) else ("many" if p.multiple or p.nargs == -1 else "one")
        flags = () if isinstance(p, click.Argument) else tuple(p.opts)
        for opt in flags:
            table[opt] = (p.name, kind)
        path = ""
        if isinstance(p.type, click.Path):
            path = "dir" if not p.type.file_okay else "file" if not p.type.dir_okay else ""
        choices = tuple(p.type.choices) if isinstance(p.type, click.Choice) else ()
        declared[p.name] = (flags, kind, p.required, choices, path)
    assert table == fast_table(name) and name in FAST and set(FAST) == set(COMMANDS)
    defaults = msgspec.structs.asdict(structure(name)())
    kind_of = {bool: "flag", tuple: "many"}
    assert declared == {
        field: (opt.flags, kind_of.get(type(defaults[field]), "one"), opt.required, opt.choices, opt.path)
        for field, opt in fields(name).items()
    }
    # the defaults: what click passes for a command line that gives only the required
    ctx = click_command(name).make_context(name, ["a.job.toml", "-t", "k8s"])
    clicks = {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in ctx.params.items()}
    clicks.update(paths=(), targets=())
    assert clicks == defaults


TOKENS = ["a.job.toml", "b.stack.toml", "x y.job.toml", "tests", "--", "-", "-t", "--target", "k8s", "nomad,compose",
          "-o", "--output", "out", "--env-file", "--set", "A=1", "--helper-image", "busybox", "--check", "--diff",
          "--depfile", "dep.d", "--fail-if-changed", "-I", "--include", "lib", "--strict", "--format", "json",
          "text", "nope", "--format=github", "--target=all", "--check=1", "-h", "--help", "-tk8s", "-Ilib",
          "--bogus", "-v", "--set=B=2", "-j", "2", "--jobs", "--jobs=3", "-j2", "0"]


@pytest.mark.parametrize("name", ["build", "check"])
def test_fast_reading_is_clicks_reading(name):
    """3000 generated command lines of the options' spellings, values and near misses:
    where the fast path reads one at all, click reads it without error and to the same
    parameters; each kind of line the fast path leaves to click is seen too."""
    import random

    import click

    from b00tc.fastcli import parse
    from b00tc.options import structure

    rnd = random.Random(7)
    read = left = 0
    for _ in range(3000):
        argv = [name] + [rnd.choice(TOKENS) for _ in range(rnd.randint(0, 9))]
        fast = parse(argv)
        if fast is None:
            left += 1
            continue
        read += 1
        ctx = click_command(name).make_context(name, argv[1:], resilient_parsing=False)
        expected = {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in ctx.params.items()}
        assert fast == (name, structure(name)(**expected)), argv
    assert read > 100 and left > 100, (read, left)
    del click


def test_fast_path_and_click_give_the_same_answers(tmp_path):
    """The same command lines through `python -m b00tc` (the fast path) and through
    click's main: same exit code, stdout, stderr and files."""
    lines = [
        ["build", "tests/cases/small.job.toml", "--target", "kubernetes"],
        ["build", "tests/cases/shop.stack.toml", "-t", "compose", "-t", "nomad,k8s", "-o", "{out}"],
        ["build", "tests/cases/small.job.toml", "-t", "k8s", "-t", "nomad"],  # usage error
        ["build", "tests/cases/small.job.toml", "--target", "nomda"],  # usage error
        ["build", "no/such.job.toml", "--target", "k8s", "--format", "json"],
        ["check", "tests/bad", "--format=github"],
        ["check", "examples", "--strict"],
        ["build", "tests/cases/small.job.toml", "-t", "k8s", "--check"],  # usage error
    ]
    for i, line in enumerate(lines):
        outs = []
        for how in ("fast", "click"):
            out = tmp_path / f"{how}{i}"
            argv = [a.replace("{out}", str(out)) for a in line]
            code = ["-m", "b00tc"] if how == "fast" else ["-c", "from b00tc.cli import main; main()"]
            r = subprocess.run([sys.executable, *code, *argv], capture_output=True, text=True, cwd=ROOT, timeout=60)
            stderr = r.stderr.replace(str(out), "OUT")
            tree = sorted((p.relative_to(out).as_posix(), p.read_bytes()) for p in out.rglob("*") if p.is_file()) \
                if out.exists() else None
            outs.append((r.returncode, r.stdout, stderr, tree))
        assert outs[0] == outs[1], line


_TYPE_INFO = r"""
import sys
if sys.argv[1] == "fast":
    from b00tc.fastcli import import_msgspec
    import_msgspec()
import inspect as _inspect_mod  # noqa: F401  (only after msgspec: the fast path's order)
import msgspec, msgspec.inspect
import b00tc.ir, b00tc.compiler, b00tc.diagnostics, b00tc.backends._context
from b00tc.options import structure
print("typing_extensions" in sys.modules and sys.modules["typing_extensions"] is not None,
      msgspec._utils._get_type_hints.__module__)
structs = [structure("build"), structure("check")]
for mod in (b00tc.ir, b00tc.compiler, b00tc.diagnostics, b00tc.backends._context):
    structs += [v for k, v in sorted(vars(mod).items())
                if isinstance(v, type) and issubclass(v, msgspec.Struct) and v.__module__ == mod.__name__]
for s in structs:
    try:
        print(s.__name__, repr(msgspec.inspect.type_info(s)))
    except Exception as e:
        print(s.__name__, "cannot be inspected:", type(e).__name__, e)
"""


def test_msgspec_without_typing_extensions_reads_b00tcs_structures_the_same():
    """fastcli.import_msgspec hides typing_extensions while msgspec is imported (8 ms of a
    build): msgspec then takes get_type_hints from typing. Every Struct of b00tc's IR,
    compiler, diagnostics and options has the same type information (every field's type
    and constraint, as msgspec.inspect resolves them through get_type_hints) either way,
    and in the fast way typing_extensions stays importable afterwards."""
    out = {}
    for how in ("fast", "plain"):
        r = subprocess.run([sys.executable, "-c", _TYPE_INFO, how], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert r.returncode == 0, r.stderr
        out[how] = r.stdout.splitlines()
    assert out["fast"][0].endswith("typing") and out["plain"][0].endswith("typing_extensions"), (out["fast"][0], out["plain"][0])
    assert len(out["plain"]) > 30
    assert out["fast"][1:] == out["plain"][1:]
    r = subprocess.run([sys.executable, "-c", "from b00tc.fastcli import import_msgspec; import_msgspec(); import typing_extensions"],
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0


def test_a_one_file_build_imports_only_what_it_uses(tmp_path):
    """The fast path of a one-file k8s build: no click, no pathlib (nor urllib, ipaddress),
    no typing_extensions (hidden while msgspec is imported), no inspect, no yaml, no
    b00tc.parallel (-j's default is found without it), and no other backend than k8s.
    Each of these was imported by a build once, at a cost of 1 to 15 ms (issue 18)."""
    job = tmp_path / "a.job.toml"
    job.write_text('[b00t]\nname = "a"\ntype = "job"\n[b00t.container]\nimage = "i:1"\ncommand = ["true"]\n')
    code = (
        "import sys, atexit, os\n"
        "sys.argv = ['b00tc', 'build', sys.argv[1], '--target', 'k8s']\n"
        "from b00tc import fastcli\n"
        "real = fastcli._exit\n"
        "def report(code):\n"
        "    sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
        "    real(code)\n"
        "fastcli._exit = report\n"
        "fastcli.main()\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(job)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0 and "kind: Job" in r.stdout, r.stderr
    # what the interpreter itself imported at start-up (site hooks, an editable finder)
    # is not the build's
    bare = subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sys.modules))"], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True).stdout.split()
    modules = set(r.stderr.split("MODULES ", 1)[1].split()) - set(bare)
    assert "b00tc.backends.k8s" in modules and "msgspec" in modules
    for unwanted in ("click", "pathlib", "urllib.parse", "ipaddress", "inspect", "yaml", "b00tc.parallel",
                     "b00tc.backends.nomad", "b00tc.backends.compose", "b00tc.cli", "typing_extensions"):
        assert unwanted not in modules, unwanted
    assert "typing_extensions" not in modules or "typing_extensions" in bare
