"""Issue 14: "build -o DIR --diff prints the content of a file outside DIR when an output
path is a symlink to it" (reproduced with the released CLI) is held here, with the rest of what is true of the files ``b00tc build -o DIR`` writes: their modes whatever the umask, and what it does
when something planted a symbolic link at an output path or at a folder on its way."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = "tests/cases/small.job.toml"  # -> small.yaml (k8s), small.sh (bash)
SECRET = b"outside secret: do not print me\n"


def b00tc(*args, umask=None):
    env = {k: v for k, v in os.environ.items() if k != "B00T_DATUM_PATH"}
    return subprocess.run(
        [sys.executable, "-m", "b00tc", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )


def expected(tmp_path, *targets) -> dict[str, bytes]:
    """What a build of SMALL to a fresh folder writes: relative path -> bytes."""
    fresh = tmp_path / "fresh"
    args = [a for t in targets for a in ("-t", t)]
    r = b00tc("build", SMALL, *args, "-o", str(fresh))
    assert r.returncode == 0, r.stderr
    return {str(p.relative_to(fresh)): p.read_bytes() for p in fresh.rglob("*") if p.is_file()}


def outside_file(tmp_path, data: bytes, mode: int) -> tuple[Path, tuple]:
    """A file outside the output folder, and what must stay true of it."""
    d = tmp_path / "outside"
    d.mkdir(exist_ok=True)
    f = d / "target"
    f.write_bytes(data)
    os.chmod(f, mode)
    os.utime(f, (1_000_000_000, 1_000_000_000))
    return f, snapshot(f)


def snapshot(f: Path) -> tuple:
    st = os.lstat(f)
    return f.read_bytes(), stat.S_IMODE(st.st_mode), st.st_mtime_ns


def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


# --- modes -------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o077, 0o022, 0o002, 0o000], ids=oct)
def test_files_get_their_declared_mode_whatever_the_umask(tmp_path, umask):
    """Manifests 0644, scripts 0755, the depfile 0644: not 0600 (mkstemp's) nor what the
    umask would leave; a file with the right bytes but the wrong mode gets its mode back."""
    out = tmp_path / "out"
    dep = out / "small.d"
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "bash", "-o", str(out), "--depfile", str(dep), umask=umask)
    assert r.returncode == 0, r.stderr
    assert mode(out / "k8s" / "small.yaml") == 0o644
    assert mode(out / "bash" / "small.sh") == 0o755
    assert mode(dep) == 0o644
    for p in (out / "k8s" / "small.yaml", out / "bash" / "small.sh", dep):
        os.chmod(p, 0o600)
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "bash", "-o", str(out), "--depfile", str(dep), umask=umask)
    assert r.returncode == 0, r.stderr
    assert mode(out / "k8s" / "small.yaml") == 0o644
    assert mode(out / "bash" / "small.sh") == 0o755
    assert mode(dep) == 0o644
    assert not list(out.rglob(".b00tc-*"))


# --- a symbolic link at an output file ----------------------------------------------------


@pytest.mark.parametrize("same", [False, True], ids=["other-bytes", "same-bytes"])
@pytest.mark.parametrize("depfile", [False, True], ids=["plain", "depfile"])
def test_a_symlinked_output_file_is_replaced_and_its_target_left_alone(tmp_path, same, depfile):
    """The link is replaced by a regular file with the output's bytes and mode; the file it
    pointed to keeps its bytes, mode and mtime, also when its bytes are the output's (b00tc
    must not take it for an unchanged output, nor touch it for make)."""
    want = expected(tmp_path, "k8s", "bash")
    out = tmp_path / "out"
    (out / "k8s").mkdir(parents=True)
    (out / "bash").mkdir()
    yaml_target, yaml_before = outside_file(tmp_path, want["k8s/small.yaml"] if same else SECRET, 0o644)
    sh_target = tmp_path / "outside" / "script"
    sh_target.write_bytes(want["bash/small.sh"] if same else SECRET)
    os.chmod(sh_target, 0o755 if same else 0o600)
    os.utime(sh_target, (1_000_000_000, 1_000_000_000))
    sh_before = snapshot(sh_target)
    (out / "k8s" / "small.yaml").symlink_to(yaml_target)
    (out / "bash" / "small.sh").symlink_to(sh_target)
    extra = ["--depfile", str(out / "small.d")] if depfile else []
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "bash", "-o", str(out), *extra)
    assert r.returncode == 0, r.stderr
    assert SECRET.decode() not in r.stdout + r.stderr
    assert snapshot(yaml_target) == yaml_before
    assert snapshot(sh_target) == sh_before
    for rel, m in (("k8s/small.yaml", 0o644), ("bash/small.sh", 0o755)):
        p = out / rel
        assert not p.is_symlink() and stat.S_ISREG(os.lstat(p).st_mode), rel
        assert p.read_bytes() == want[rel]
        assert mode(p) == m
    assert not list(out.rglob(".b00tc-*"))


def test_a_dangling_symlink_at_an_output_file_is_replaced(tmp_path):
    want = expected(tmp_path, "k8s")
    out = tmp_path / "out"
    out.mkdir()
    nowhere = tmp_path / "outside" / "nowhere"
    (out / "small.yaml").symlink_to(nowhere)
    r = b00tc("build", SMALL, "-t", "k8s", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert not (out / "small.yaml").is_symlink()
    assert (out / "small.yaml").read_bytes() == want["small.yaml"]
    assert not nowhere.exists() and not nowhere.parent.exists()


@pytest.mark.parametrize("flag", ["--check", "--diff"])
@pytest.mark.parametrize("same", [False, True], ids=["other-bytes", "same-bytes"])
def test_check_and_diff_do_not_read_through_a_symlinked_output(tmp_path, flag, same):
    """A symlinked output differs (a build would replace the link) whatever it points to,
    and the file it points to is never shown."""
    want = expected(tmp_path, "k8s")
    out = tmp_path / "out"
    out.mkdir()
    target, before = outside_file(tmp_path, want["small.yaml"] if same else SECRET, 0o644)
    (out / "small.yaml").symlink_to(target)
    r = b00tc("build", SMALL, "-t", "k8s", "-o", str(out), flag)
    assert r.returncode == 1, r.stdout + r.stderr
    assert SECRET.decode() not in r.stdout + r.stderr
    assert "symbolic link" in r.stderr and str(out / "small.yaml") in r.stderr
    assert "1 of 1 files would change" in r.stderr
    if flag == "--diff":
        assert "+apiVersion" in r.stdout or "+kind" in r.stdout
    assert snapshot(target) == before
    assert (out / "small.yaml").is_symlink()


# --- a symbolic link at a folder on the way -----------------------------------------------


@pytest.mark.parametrize("inside", [False, True], ids=["points-outside", "points-inside"])
def test_a_symlinked_folder_under_the_output_folder_is_refused(tmp_path, inside):
    """DIR/k8s -> elsewhere: exit 1 with a diagnostic naming the link, nothing written (the
    compose files are not written either), the folder it points to left as it was. A link
    that resolves inside DIR is refused too (b00tc does not write through links below DIR)."""
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = (out / "real") if inside else (tmp_path / "outside")
    elsewhere.mkdir()
    (elsewhere / "small.yaml").write_bytes(SECRET)
    os.chmod(elsewhere / "small.yaml", 0o600)
    before = snapshot(elsewhere / "small.yaml")
    (out / "k8s").symlink_to(elsewhere, target_is_directory=True)
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "compose", "-o", str(out))
    assert r.returncode == 1, r.stderr
    assert str(out / "k8s") in r.stderr and "symbolic link" in r.stderr
    assert f"nothing written to {out}" in r.stderr
    assert "Traceback" not in r.stderr and SECRET.decode() not in r.stdout + r.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["small.yaml"]
    assert snapshot(elsewhere / "small.yaml") == before
    assert not (out / "compose").exists()
    assert not list(tmp_path.rglob(".b00tc-*"))


@pytest.mark.parametrize("flag", ["--check", "--diff"])
def test_check_and_diff_refuse_a_symlinked_folder(tmp_path, flag):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "outside"
    elsewhere.mkdir()
    (elsewhere / "small.yaml").write_bytes(SECRET)
    (out / "k8s").symlink_to(elsewhere, target_is_directory=True)
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "compose", "-o", str(out), flag)
    assert r.returncode == 1, r.stderr
    assert str(out / "k8s") in r.stderr and "symbolic link" in r.stderr
    assert SECRET.decode() not in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


def test_the_output_folder_itself_may_be_a_symlink(tmp_path):
    """-o DIR where DIR is a link the user made: followed."""
    want = expected(tmp_path, "k8s", "bash")
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "bash", "-o", str(link))
    assert r.returncode == 0, r.stderr
    assert {str(p.relative_to(real)): p.read_bytes() for p in real.rglob("*") if p.is_file()} == want
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "bash", "-o", str(link), "--check")
    assert r.returncode == 0, r.stderr


def test_unchanged_files_keep_their_mtime(tmp_path):
    out = tmp_path / "out"
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "bash", "-o", str(out))
    assert r.returncode == 0, r.stderr
    files = [out / "k8s" / "small.yaml", out / "bash" / "small.sh"]
    for p in files:
        os.utime(p, (1_000_000_000, 1_000_000_000))
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "bash", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert [os.lstat(p).st_mtime for p in files] == [1_000_000_000] * 2


def test_a_folder_at_an_output_path_fails_before_anything_is_renamed(tmp_path):
    """out/compose/small.compose.yaml is a folder: the k8s file staged before it must not
    appear, and no temporary file is left behind."""
    out = tmp_path / "out"
    (out / "compose" / "small.compose.yaml").mkdir(parents=True)
    r = b00tc("build", SMALL, "-t", "k8s", "-t", "compose", "-o", str(out))
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "nothing written" in r.stderr
    assert not (out / "k8s").exists()
    assert not list(out.rglob(".b00tc-*"))


# --- files rewritten in place --------------------------------------------------------------


@pytest.mark.parametrize("old_mode", [0o644, 0o664, 0o600], ids=oct)
def test_migrate_write_keeps_the_datum_files_mode(tmp_path, old_mode):
    """``b00tc migrate --write`` rewrites through a temporary file and a rename
    (b00tc/inplace.py): the datum keeps its mode (it became 0600, mkstemp's, before)."""
    import shutil

    path = tmp_path / "n8n.docker.toml"
    shutil.copy(ROOT / "tests/data/b00t-datums/n8n.docker.toml", path)
    os.chmod(path, old_mode)
    before = path.read_bytes()
    r = b00tc("migrate", "--write", str(path), umask=0o077)
    assert r.returncode == 0, r.stderr
    assert path.read_bytes() != before
    assert mode(path) == old_mode


def test_deploy_workdir_manifests_get_their_mode_and_never_follow_a_link(tmp_path):
    """``b00tc deploy`` / ``to-manifest`` write through write_if_changed with the manifest's
    mode: no chmod after the fact, which followed a link planted at the manifest's path
    (and changed the mode of the file it pointed to)."""
    from b00tc.runtime.deploy import write_manifests
    from b00tc.runtime.model import Manifest

    work = tmp_path / "work"
    work.mkdir()
    target, before = outside_file(tmp_path, b"apiVersion: v1\n", 0o600)
    (work / "a.yaml").symlink_to(target)
    old = os.umask(0o077)
    try:
        write_manifests([Manifest("a.yaml", "apiVersion: v1\n"), Manifest("b.sh", "#!/bin/sh\n", 0o755)], str(work))
    finally:
        os.umask(old)
    assert snapshot(target) == before
    assert not (work / "a.yaml").is_symlink() and (work / "a.yaml").read_bytes() == b"apiVersion: v1\n"
    assert mode(work / "a.yaml") == 0o644 and mode(work / "b.sh") == 0o755
