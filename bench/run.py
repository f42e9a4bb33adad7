"""b00tc's benchmark, of b00tc as a user installs it: start-up, a peer, bulk throughput,
parallel builds, memory, import profile.

    python bench/run.py [--quick] [--runs N] [--bulk-runs N] [--sizes 100,1000,10000]
                        [--with-editable]

It makes a venv of its own in a temp folder (python -m venv), pip-installs the project into
it (not editable: pip builds a wheel and compiles the bytecode, as for any user), and runs
every b00tc command through that venv's console script, <venv>/bin/b00tc, against that
venv's own bare interpreter (<venv>/bin/python -c pass). --with-editable adds the start-up
rows of a second venv with `pip install -e` of the project, labelled "(editable install)".

Every figure is a ratio of two things measured alternately in this one run (medians), never
an absolute time alone: these machines are noisy. The data is generated here,
deterministically (seed 7): jobs, stacks and docker members in both datum shapes, with
references and GPUs, and every 10th job a workflow (b00t's multi-step jobs) that compiles on
all five targets. Prints one table with each goal beside its measured ratio; exits 1 when a
goal is missed.

The bench itself needs only the standard library: what needs tomli, pyyaml or b00tc (the
floor, the value scan) runs in the installed venv's python, through this same file
(`--inner`).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = 5


# ---------------------------------------------------------------------------
# Data


def workflow(j: int, s: int) -> str:
    """A small workflow job (b00t's [b00t.job] with steps): a step in a container of its
    own, bash steps, depends_on, and a step that runs whatever happened (always) or only
    after a failure (on_failure), half of them with a rollback step. No warning of it is an
    error on any target."""
    always = (j // 10) % 2 == 0
    text = (
        f'[b00t]\nname = "wf-{j}"\ntype = "job"\nhint = "fetch, process and publish item {j}"\n\n'
        f'[b00t.job]\ndescription = "fetch, process and publish item {j}"\nimage = "registry.example/wf:{j % 7}"\n\n'
        f'[b00t.job.config]\nmode = "dag"\nretry_failed_steps = {j % 3}\n'
        + ("rollback_on_failure = true\n" if not always else "")
        + f'\n[b00t.job.env]\nITEM = "{j}"\nGROUP = "group-{s % 5}"\nPRICE = "cost $5 and ${{HOME:-/root}}"\n\n'
        # a container step: its task has an image of its own
        f'[[b00t.job.steps]]\nname = "fetch"\ndescription = "fetches item {j} in its own container"\n'
        f'[b00t.job.steps.task]\ntype = "bash"\nimage = "registry.example/fetch:1"\n'
        f'command = "mkdir -p in && curl -fsS \\"https://items.example/$ITEM\\" -o in/item.json"\n'
        f"timeout_ms = {30000 + 500 * (j % 9)}\n\n"
        f'[[b00t.job.steps]]\nname = "process"\ndescription = "processes the item"\ndepends_on = ["fetch"]\n'
        f'[b00t.job.steps.task]\ntype = "bash"\n'
        f'command = "python -m work --item \\"$ITEM\\" < in/item.json > out.json && echo \\"$$ `pwd`\\""\n'
        f'[b00t.job.steps.task.env]\nMODE = "{"fast" if j % 20 < 10 else "careful"}"\n\n'
    )
    if j % 20 >= 10:  # a fourth step, beside the third
        text += (
            f'[[b00t.job.steps]]\nname = "publish"\ndescription = "publishes the result"\ndepends_on = ["process"]\n'
            f'[b00t.job.steps.task]\ntype = "bash"\ncommand = "cp out.json /srv/items/{j}.json"\n\n'
        )
    if always:
        text += (
            '[[b00t.job.steps]]\nname = "report"\ndescription = "always runs at the end"\ndepends_on = ["process"]\n'
            '[b00t.job.steps.condition]\nwhen = "always"\n'
            '[b00t.job.steps.task]\ntype = "bash"\ncommand = "ls -l in"\n'
        )
    else:
        text += (
            '[[b00t.job.steps]]\nname = "notify"\ndescription = "only after a failure"\ndepends_on = ["process"]\n'
            '[b00t.job.steps.condition]\nwhen = "on_failure"\n'
            f"[b00t.job.steps.task]\ntype = \"bash\"\ncommand = \"echo 'item {j} failed' >&2\"\n\n"
            '[[b00t.job.rollback]]\nname = "clean"\ndescription = "removes what fetch wrote"\n'
            '[b00t.job.rollback.task]\ntype = "bash"\ncommand = "rm -rf in out.json"\n'
        )
    return text


def datums(n: int, seed: int = 7) -> dict[str, str]:
    """n root datums (jobs and stacks, a third of the single-container jobs legacy-shaped,
    every 10th job a workflow) plus the docker members the stacks use: file name -> text."""
    rnd = random.Random(seed)
    files: dict[str, str] = {}
    stacks = max(1, n // 4)
    for s in range(stacks):
        members = []
        for m in range(2):
            name = f"svc-{s}-{m}"
            port = 8000 + m
            files[f"{name}.docker.toml"] = (
                f'[b00t]\nname = "{name}"\ntype = "docker"\nimage = "registry.example/{name}:1"\n'
                f'docker_args = ["-p", "{20000 + (s * 2 + m) % 40000}:{port}", "-v", "data-{s}-{m}:/data", "--restart", "unless-stopped"]\n'
                f'[b00t.env]\nROLE = "member {m}"\nPEER = "${{STACK:stack-{s}:svc-{s}-{1 - m}:endpoint}}"\n'
                f'[b00t.resources]\ncpu = "{rnd.choice(["250m", "1", "2"])}"\nmemory = "{rnd.choice(["256Mi", "1Gi"])}"\n'
            )
            members.append(f'"{name}.docker"')
        files[f"stack-{s}.stack.toml"] = (
            f'[b00t]\nname = "stack-{s}"\ntype = "stack"\nmembers = [{", ".join(members)}]\n'
            f'[b00t.env]\nSTACK_ID = "{s}"\n[b00t.orchestration]\ngpu_affinity = "group-{s % 5}"\n'
            f"budget_daily_limit = {rnd.randint(10, 100)}.0\n"
        )
    for j in range(n - stacks):
        s = rnd.randrange(stacks)
        gpu = rnd.random() < 0.3
        if j % 10 == 5:  # a workflow (the same draws as the others: the rest of the data stays as it was)
            files[f"wf-{j}.job.toml"] = workflow(j, s)
            continue
        if j % 3 == 0:  # legacy shape
            text = (
                f'[b00t]\nname = "job-{j}"\ntype = "job"\nimage = "registry.example/job:{j}"\n'
                f'command = ["python", "-m", "work"]\nargs = ["--item", "{j}", "--url", "${{STACK:stack-{s}:svc-{s}-0:endpoint}}"]\n'
                f'[b00t.env]\nITEM = "{j}"\nHOME_DIR = "${{HOME:-/root}}"\n'
                f'[b00t.orchestration]\nrequires_stacks = ["stack-{s}"]\nqueue_name = "q"\nschedule_type = "queue_based"\n'
                f'[b00t.orchestration.resource_requirements]\ncpu = "2"\nmemory = "4Gi"\n'
                + ('[b00t.orchestration.gpu_requirements]\ncount = 1\ngpu_type = "nvidia-a100"\n' if gpu else "")
            )
        else:
            text = (
                f'[b00t]\nname = "job-{j}"\ntype = "job"\n[b00t.container]\nimage = "registry.example/job:{j}"\n'
                f'command = ["python", "-m", "work"]\nargs = ["--item", "{j}"]\n'
                f'[b00t.env]\nURL = "${{STACK:stack-{s}:svc-{s}-1:endpoint}}/api"\nLITERAL = "cost $$5 and 100%"\n'
                f'[b00t.dependencies]\nrequires_stacks = ["stack-{s}"]\nwait_for_services = ["svc-{s}-0:8000"]\n'
                f'[b00t.resources]\ncpu = "500m"\nmemory = "512Mi"\n'
                + ('gpu_count = 1\ngpu_type = "nvidia-h100"\n' if gpu else "")
                + "[b00t.orchestration]\nbudget_daily_limit = 50.0\nbudget_cost_per_job = 1.25\n"
            )
        files[f"job-{j}.job.toml"] = text
    return files


def write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def roots_of(folder: Path) -> int:
    return sum(1 for p in folder.glob("*.toml") if not p.name.endswith(".docker.toml"))


# ---------------------------------------------------------------------------
# The install


@dataclass
class Install:
    label: str  # "" for the pip install, " (editable install)" for pip install -e
    venv: Path
    env: dict[str, str]

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def b00tc(self) -> list[str]:
        return [str(self.venv / "bin" / "b00tc")]


def clean_env() -> dict[str, str]:
    """The environment of every child: this one without what would make the venv's python
    import b00tc from anywhere but where pip put it (PYTHONPATH=. is how the tests run)."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME", "PYTHONEXECUTABLE"):
        env.pop(key, None)
    return env


def install(where: Path, editable: bool) -> Install:
    """A fresh venv under where with b00tc pip-installed in it. The wheel is built from a
    copy of the project: pip builds in the tree it is given, and setuptools' build/ there
    keeps modules deleted since (they would be installed); -e installs the project itself."""
    env = clean_env()
    venv = where / ("venv-editable" if editable else "venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    if editable:
        src = ROOT
    else:
        src = where / "src"
        shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", ".venv", "out"))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"] + (["-e"] if editable else []) + [str(src)]
    r = subprocess.run(pip, check=False, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(pip)} failed:\n{r.stdout}{r.stderr}")
    if editable:
        # an editable install runs the project's own .py files: their bytecode is written by
        # the first run, unless PYTHONDONTWRITEBYTECODE is set (as on these machines), when
        # every run compiles them again; compile them once, as a developer's first run does
        subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", str(ROOT / "b00tc"), str(ROOT / "grammar")],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    return Install(" (editable install)" if editable else "", venv, env)


# ---------------------------------------------------------------------------
# Measuring


def timed(argv: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - t


def alternate(a: list[str], b: list[str], runs: int, env: dict[str, str], before=None) -> tuple[list[float], list[float]]:
    """The times of a and b run alternately (a b a b ...), after one warm-up each; before(x)
    is called ahead of each run of x, untimed."""
    ta: list[float] = []
    tb: list[float] = []
    for i in range(runs + 1):
        for argv, times in ((a, ta), (b, tb)):
            if before is not None:
                before(argv)
            t = timed(argv, env)
            if i:
                times.append(t)
    return ta, tb


def peak_rss_kib(argv: list[str], env: dict[str, str]) -> int:
    """Peak RSS of a child, from wait4's rusage (KiB on Linux)."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, _, usage = os.wait4(p.pid, 0)
    return usage.ru_maxrss


def inner(inst: Install, *args: str) -> float:
    """A figure computed in the installed venv's python by this file's --inner mode."""
    r = subprocess.run([inst.python, __file__, "--inner", *args], check=False, env=inst.env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench --inner {' '.join(args)} failed:\n{r.stderr}")
    return float(r.stdout.strip().splitlines()[-1])


def tree(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under folder: relative path -> (mode, bytes)."""
    return {str(p.relative_to(folder)): (p.stat().st_mode, p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()}


def machine(installs: list[Install]) -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "cpu model", "Model"):
                cpu = value.strip()
                break
    except OSError:
        pass
    kinds = " and ".join("pip install -e" if i.label else "pip install (wheel, bytecode compiled by pip)" for i in installs)
    return (f"{platform.machine()}, {os.cpu_count()} cores{', ' + cpu if cpu else ''}, "
            f"Python {platform.python_version()}, {kinds} in a fresh venv")


# ---------------------------------------------------------------------------
# What runs in the installed venv's python (python bench/run.py --inner ...)


def floor_seconds(folder: Path, samples: Path) -> float:
    """The floor: tomli.loads of every datum plus a libyaml dump of a structure the size of
    its k8s output (a job's, a workflow's or a stack's, from the samples folder)."""
    import tomli
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    texts = [p.read_text() for p in sorted(folder.glob("*.toml"))]
    shapes = {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d] for p in samples.iterdir()}

    def shape(prefix: str) -> list:
        return next(v for k, v in sorted(shapes.items()) if k.startswith(prefix))

    by_prefix = {prefix: shape(prefix) for prefix in ("job-", "wf-", "stack-")}
    roots = [p.name for p in sorted(folder.glob("*.toml")) if not p.name.endswith(".docker.toml")]
    t = time.perf_counter()
    for text in texts:
        tomli.loads(text)
    for name in roots:
        yaml.dump_all(by_prefix[name[: name.index("-") + 1]], Dumper=dumper, sort_keys=False)
    return time.perf_counter() - t


def value_scan_ratio() -> float:
    """Issue 14: ``"$$"`` repeated in a value was quadratic (5 MB: 99 s). The time to parse
    8 times more of it, best of three each (load on the machine cancels out)."""
    from b00tc.frontend.refs import _parse_cached, parse_value

    def best(text: str) -> float:
        times = []
        for _ in range(3):
            _parse_cached.cache_clear()
            start = time.perf_counter()
            parse_value(text)
            times.append(time.perf_counter() - start)
        return min(times)

    return best("$$" * 800_000) / best("$$" * 100_000)


def inner_main(argv: list[str]) -> int:
    if argv[0] == "floor":
        print(floor_seconds(Path(argv[1]), Path(argv[2])))
    elif argv[0] == "value-scan":
        import b00tc

        if not Path(b00tc.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()):
            raise SystemExit(f"b00tc imported from {b00tc.__file__}, not from the venv {sys.prefix}")
        print(value_scan_ratio())
    else:
        raise SystemExit(f"unknown --inner {argv[0]}")
    return 0


# ---------------------------------------------------------------------------


def startup_rows(inst: Install, job: str, runs: int) -> tuple[list[tuple[str, str, str, bool | None]], list[float]]:
    """build, check and --help of one file, each against the venv's python -c pass: the
    rows, and every time of python -c pass."""
    base = [inst.python, "-c", "pass"]
    rows: list[tuple[str, str, str, bool | None]] = []
    bare: list[float] = []
    py = [inst.python, "-c"]
    for name, argv, goal in (
        ("one-file build of a plain job (k8s)", inst.b00tc + ["build", job, "--target", "k8s"], 3.0),
        ("one-file check", inst.b00tc + ["check", job], None),
        ("b00tc --help", inst.b00tc + ["--help"], None),
        # the floor of a build that makes msgspec Structs (the IR): the import alone, as
        # b00tc's fast path does it (typing_extensions hidden) and as a plain import
        ("  import msgspec as b00tc does", py + ["from b00tc.fastcli import import_msgspec; import_msgspec()"], None),
        ("  import msgspec", py + ["import msgspec"], None),
    ):
        ta, tb = alternate(argv, base, runs, inst.env)
        a, b = statistics.median(ta), statistics.median(tb)
        bare += tb
        ratio = a / b
        rows.append((f"{name}{inst.label} vs python -c pass", "(reported)" if goal is None else f"at most {goal:g}x",
                     f"{ratio:.2f}x (+{(a - b) * 1e3:.0f} ms)", None if goal is None else ratio <= goal))
    return rows, bare


_ALLOCATE = """
keep = []
for i in range(200):
    keep.append([{"a": str(j), "b": [j, j + 1]} for j in range(5000)])
"""


def machine_row(runs: int) -> tuple[str, str, str, bool | None]:
    """What two processes at once get from this machine: a pure-Python loop that allocates
    as a build does (dicts, lists and strings it keeps), run alone and then twice at once;
    2 x alone / both-at-once is the most -j 2 can gain here (2.0 on two free cores)."""
    argv = [sys.executable, "-c", _ALLOCATE]
    alone, both = [], []
    for _ in range(runs):
        alone.append(timed(argv, None))
        t = time.perf_counter()
        procs = [subprocess.Popen(argv) for _ in range(2)]
        for p in procs:
            p.wait()
        both.append(time.perf_counter() - t)
    ceiling = 2 * statistics.median(alone) / statistics.median(both)
    return ("  two allocating Python processes at once vs one", "(reported)", f"{ceiling:.2f}x the work per second", None)


def parallel_row(inst: Install, folder: Path, work: Path, runs: int) -> tuple[str, str, str, bool | None]:
    """build --target all -j 1 against -j 2, alternately, into the same folder (each run's
    output moved aside afterwards, untimed), then the two outputs compared file by file."""
    n = roots_of(folder)
    name, goal = f"parallel build {n} datums, -j 2 vs -j 1", "at least 1.7x faster"
    out = work / "par-out"
    cmd = inst.b00tc + ["build", str(folder), "--target", "all", "-o", str(out)]
    j1, j2 = cmd + ["-j", "1"], cmd + ["-j", "2"]
    r = subprocess.run(j1, check=False, env=inst.env, capture_output=True, text=True)
    if r.returncode == 2 and "No such option" in r.stderr:
        return name, goal, "(no -j in this b00tc)", None
    if r.returncode != 0:
        return name, goal, f"-j 1 failed (exit {r.returncode})", False
    aside = {"1": work / "par-j1", "2": work / "par-j2"}
    previous: list[str] = []

    def before(argv: list[str]) -> None:
        if previous and out.exists():  # the previous run's output, aside
            shutil.rmtree(aside[previous[0]], ignore_errors=True)
            out.rename(aside[previous[0]])
        shutil.rmtree(out, ignore_errors=True)
        previous[:] = [argv[-1]]

    t1, t2 = alternate(j1, j2, runs, inst.env, before)
    before(j1)  # moves the last -j 2 output aside
    a, b = aside["1"], aside["2"]
    if not (a.exists() and b.exists()):
        return name, goal, "a build wrote nothing", False
    ta, tb = tree(a), tree(b)
    if ta != tb:
        differ = sorted(k for k in ta.keys() | tb.keys() if ta.get(k) != tb.get(k))
        print(f"-j 1 and -j 2 outputs differ in {len(differ)} files, e.g. {differ[:5]}", file=sys.stderr)
        return name, goal, f"outputs differ ({len(differ)} files)", False
    ratio = statistics.median(t1) / statistics.median(t2)
    return name, goal, f"{ratio:.2f}x faster (same {len(ta)} files)", ratio >= 1.7


def import_profile(inst: Install, job: str, cwd: Path, top: int = 12) -> list[str]:
    env = dict(inst.env, PYTHONPROFILEIMPORTTIME="1")
    r = subprocess.run(inst.b00tc + ["build", job, "--target", "k8s"], check=False, capture_output=True, text=True, env=env, cwd=cwd)
    parsed = []
    for line in r.stderr.splitlines():
        if not (line.startswith("import time:") and "|" in line):
            continue
        parts = line.split("|")
        try:
            parsed.append((int(parts[1]), parts[2].strip()))
        except ValueError:
            continue
    return [f"  {us / 1000:7.1f} ms  {name}" for us, name in sorted(parsed, reverse=True)[:top]]


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        return inner_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="alternating runs of each start-up row (default 20)")
    ap.add_argument("--bulk-runs", type=int, default=5, help="runs of each bulk build (3 at most from 10,000 datums; default 5)")
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--with-editable", action="store_true", help="also the start-up rows of a pip install -e venv")
    ap.add_argument("--quick", action="store_true", help="5 start-up runs, 2 bulk runs, sizes 100,1000 (a smoke test)")
    args = ap.parse_args()
    runs = 5 if args.quick else args.runs
    bulk_runs = 2 if args.quick else args.bulk_runs
    sizes = [100, 1000] if args.quick else [int(x) for x in args.sizes.split(",")]
    started = time.perf_counter()
    rows: list[tuple[str, str, str, bool | None]] = []
    # the data and the output on a tmpfs where there is one: the floor writes no file, and
    # what a disk takes to write thousands of new files is the disk's, not b00tc's (on
    # these machines' ext4 about 0.8 ms a file, 70x tmpfs); one row below says what the
    # same build costs on the disk. The venvs are in the temp folder (on the disk), as a
    # user's are.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    venvs = Path(tempfile.mkdtemp(prefix="b00tc-bench-venv-"))
    work = Path(tempfile.mkdtemp(prefix="b00tc-bench-", dir=shm))
    disk = Path(tempfile.mkdtemp(prefix="b00tc-bench-disk-"))
    try:
        t = time.perf_counter()
        installs = [install(venvs, editable=False)]
        if args.with_editable:
            installs.append(install(venvs, editable=True))
        t_install = time.perf_counter() - t
        inst = installs[0]
        b00tc = inst.b00tc
        env = inst.env

        one = work / "one"
        write(one, datums(4))
        job = str(one / "job-1.job.toml")
        bare: dict[str, list[float]] = {}
        for i in installs:
            got, bare[i.label] = startup_rows(i, job, runs)
            rows += got

        compose = shutil.which("docker-compose")
        stack = str(one / "stack-0.stack.toml")
        if compose:
            out = work / "one-compose"
            subprocess.run(b00tc + ["build", stack, "--target", "compose", "-o", str(out)], check=True, capture_output=True, env=env)
            cfile = next(out.glob("*.yaml"))
            ta, tb = alternate([compose, "-f", str(cfile), "config", "-q"], b00tc + ["build", stack, "--target", "compose"], runs, env)
            ratio = statistics.median(ta) / statistics.median(tb)
            rows.append(("one-file build vs docker-compose config -q", "at least 5x faster", f"{ratio:.2f}x faster", ratio >= 5))
        else:
            rows.append(("one-file build vs docker-compose config -q", "at least 5x faster", "docker-compose not installed", None))

        per: dict[int, float] = {}
        for n in sizes:
            folder = work / f"n{n}"
            write(folder, datums(n))
            outdir = work / f"out{n}"
            # one process, as the floor: the per-datum cost, not the cores (the row after
            # the peak RSS measures -j)
            cmd = b00tc + ["build", str(folder), "--target", "all", "-o", str(outdir), "-j", "1"]
            reps = max(1, min(bulk_runs, 3) if n >= 10000 else bulk_runs)
            times = []
            for _ in range(reps):
                shutil.rmtree(outdir, ignore_errors=True)
                times.append(timed(cmd, env))
            t = statistics.median(times)
            k8s = outdir / "k8s"
            if not (k8s / "job-1.yaml").exists():
                r = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
                raise SystemExit(f"the build of {n} datums failed: {' '.join(cmd)} (exit {r.returncode})\n{r.stderr[-3000:]}")
            samples = work / f"samples{n}"
            samples.mkdir()
            for p in (k8s / "job-1.yaml", k8s / "wf-5.yaml", k8s / "stack-0.yaml"):
                shutil.copy(p, samples / p.name)
            f = statistics.median(inner(inst, "floor", str(folder), str(samples)) for _ in range(reps))
            roots = roots_of(folder)
            per[n] = t / (roots * TARGETS)
            ratio = per[n] / (f / roots)
            rows.append((f"bulk build {n} datums (-j 1), per datum-target, vs floor", "at most 3x", f"{ratio:.2f}x ({per[n] * 1e3:.3f} ms)", ratio <= 3))
            if n == max(sizes):
                rss = peak_rss_kib(cmd, env) / 1024
                rows.append((f"peak RSS at {n} datums", "under 300 MiB", f"{rss:.0f} MiB", rss < 300))
                rows.append(parallel_row(inst, folder, work, reps))
                rows.append(machine_row(max(3, reps)))
            shutil.rmtree(outdir, ignore_errors=True)
        n = min(1000, max(sizes))
        if shm is not None and (work / f"n{n}").exists():
            outdir = disk / "out"
            cmd = b00tc + ["build", str(work / f"n{n}"), "--target", "all", "-o", str(outdir), "-j", "1"]
            times = []
            for _ in range(max(1, min(bulk_runs, 3))):
                shutil.rmtree(outdir, ignore_errors=True)
                times.append(timed(cmd, env))
            on_disk = statistics.median(times) / (roots_of(work / f"n{n}") * TARGETS)
            rows.append((f"  the same {n} datums written to the disk ({disk.parent})", "(reported)",
                         f"{on_disk / per[n]:.2f}x tmpfs ({on_disk * 1e3:.3f} ms)", None))
        # in the installed venv's python (a subprocess), importing b00tc from where pip put it
        ratio = inner(inst, "value-scan")
        rows.append(("value scan, 8x the \"$$\" runs vs 1x", "at most 12x", f"{ratio:.1f}x", ratio <= 12))
        if len(per) >= 2:
            lo, hi = min(per), max(per)
            lin = per[hi] / per[lo]
            rows.append((f"per-datum cost at {hi} vs at {lo}", "at most 1.3x", f"{lin:.2f}x", lin <= 1.3))
        profile = import_profile(inst, job, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(disk, ignore_errors=True)
        shutil.rmtree(venvs, ignore_errors=True)

    where = f"data and output on {shm} (tmpfs)" if shm else "data and output in the temp folder"
    pass_ms = "; ".join(f"python -c pass{label or ''}: {statistics.median(ts) * 1e3:.1f} ms" for label, ts in bare.items())
    print(f"b00tc benchmark ({machine(installs)}; {pass_ms}; start-up: medians of {runs} alternating runs, "
          f"bulk: of {bulk_runs}; {where}; install {t_install:.0f} s, total {time.perf_counter() - started:.0f} s)\n")
    width = max(52, *(len(r[0]) for r in rows))
    print(f"| {'measure':<{width}} | {'goal':<20} | {'measured':<32} | ok |")
    print(f"|{'-' * (width + 2)}|{'-' * 22}|{'-' * 34}|----|")
    missed = 0
    for name, goal, got, ok in rows:
        mark = "" if ok is None else ("yes" if ok else "NO")
        missed += ok is False
        print(f"| {name:<{width}} | {goal:<20} | {got:<32} | {mark:<2} |")
    print("\nimport profile (PYTHONPROFILEIMPORTTIME=1, i.e. -X importtime, of the installed "
          "<venv>/bin/b00tc build <one job> --target k8s), top 12 by cumulative time:")
    print("\n".join(profile))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
