"""b00tc's benchmark: start-up, a peer, bulk throughput, memory, import profile.

    python bench/run.py [--quick] [--runs N] [--sizes 100,1000,10000]

Every figure is a ratio of two things measured alternately in this one run (medians), never
an absolute time: these machines are noisy. The data is generated here, deterministically
(seed 7): jobs, stacks and docker members in both datum shapes, with references and GPUs.
Prints one table with each goal beside its measured ratio; exits 1 when a goal is missed.
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
from pathlib import Path

PY = sys.executable
TARGETS = 5


# ---------------------------------------------------------------------------
# Data


def datums(n: int, seed: int = 7) -> dict[str, str]:
    """n root datums (jobs and stacks, a third legacy-shaped) plus the docker members the
    stacks use: file name -> text."""
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


# ---------------------------------------------------------------------------
# Measuring


def timed(argv: list[str], env=None) -> float:
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - t


def alternate(a: list[str], b: list[str], runs: int) -> tuple[float, float]:
    """Medians of a and b run alternately (a b a b ...), after one warm-up each."""
    timed(a), timed(b)
    ta, tb = [], []
    for _ in range(runs):
        ta.append(timed(a))
        tb.append(timed(b))
    return statistics.median(ta), statistics.median(tb)


def peak_rss_kib(argv: list[str]) -> int:
    """Peak RSS of a child, from wait4's rusage (KiB on Linux)."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(p.pid, 0)
    return usage.ru_maxrss


def floor_seconds(folder: Path, sample_k8s: dict[str, str]) -> float:
    """The floor, in this process: tomli.loads of every datum plus a libyaml dump of a
    structure the size of its k8s output."""
    import tomli
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    texts = [p.read_text() for p in sorted(folder.glob("*.toml"))]
    shapes = {k: [d for d in yaml.safe_load_all(v) if d] for k, v in sample_k8s.items()}
    job_shape = next(v for k, v in shapes.items() if k.startswith("job-"))
    stack_shape = next(v for k, v in shapes.items() if k.startswith("stack-"))
    t = time.perf_counter()
    for text in texts:
        tomli.loads(text)
    roots = [p for p in folder.glob("*.toml") if not p.name.endswith(".docker.toml")]
    for p in roots:
        yaml.dump_all(job_shape if p.name.startswith("job-") else stack_shape, Dumper=dumper, sort_keys=False)
    return time.perf_counter() - t


# ---------------------------------------------------------------------------


def value_scan_row() -> tuple[str, str, str, bool]:
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

    ratio = best("$$" * 800_000) / best("$$" * 100_000)
    return ("value scan, 8x the \"$$\" runs vs 1x", "at most 12x", f"{ratio:.1f}x", ratio <= 12)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--quick", action="store_true", help="3 runs and sizes 100,1000 (a smoke test)")
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs
    sizes = [100, 1000] if args.quick else [int(x) for x in args.sizes.split(",")]
    b00tc = [PY, "-m", "b00tc"]
    # an installed package has its bytecode compiled (pip does it; Debian does it for
    # docker-compose): without it every run compiles b00tc's modules again, and with
    # PYTHONDONTWRITEBYTECODE set (as on these machines) no run ever writes it
    import compileall

    import b00tc as pkg

    compileall.compile_dir(os.path.dirname(pkg.__file__), quiet=1)
    rows: list[tuple[str, str, str, bool | None]] = []
    # the data and the output on a tmpfs where there is one: the floor writes no file, and
    # what a disk takes to write thousands of new files is the disk's, not b00tc's (on
    # these machines' ext4 about 0.8 ms a file, 70x tmpfs); one row below says what the
    # same build costs on the disk
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    work = Path(tempfile.mkdtemp(prefix="b00tc-bench-", dir=shm))
    disk = Path(tempfile.mkdtemp(prefix="b00tc-bench-disk-"))
    started = time.perf_counter()
    try:
        one = work / "one"
        write(one, datums(4))
        job = str(one / "job-1.job.toml")
        base = [PY, "-c", "pass"]
        t_build, t_pass = alternate(b00tc + ["build", job, "--target", "k8s"], base, runs)
        rows.append(("one-file build, cold, vs python -c pass", "at most 4x", f"{t_build / t_pass:.2f}x", t_build / t_pass <= 4))
        t_check, t_pass2 = alternate(b00tc + ["check", job], base, runs)
        rows.append(("one-file check, cold, vs python -c pass", "(reported)", f"{t_check / t_pass2:.2f}x", None))
        t_help, t_pass3 = alternate(b00tc + ["--help"], base, runs)
        rows.append(("b00tc --help vs python -c pass", "(reported)", f"{t_help / t_pass3:.2f}x", None))

        compose = shutil.which("docker-compose")
        if compose:
            out = work / "one-compose"
            subprocess.run(b00tc + ["build", str(one / "stack-0.stack.toml"), "--target", "compose", "-o", str(out)], check=True, capture_output=True)
            cfile = next(out.glob("*.yaml"))
            t_peer, t_build2 = alternate([compose, "-f", str(cfile), "config", "-q"], b00tc + ["build", str(one / "stack-0.stack.toml"), "--target", "compose"], runs)
            rows.append(("one-file build vs docker-compose config -q", "at least 5x faster", f"{t_peer / t_build2:.2f}x faster", t_peer / t_build2 >= 5))
        else:
            rows.append(("one-file build vs docker-compose config -q", "at least 5x faster", "docker-compose not installed", None))

        per: dict[int, float] = {}
        for n in sizes:
            folder = work / f"n{n}"
            write(folder, datums(n))
            outdir = work / f"out{n}"
            cmd = b00tc + ["build", str(folder), "--target", "all", "-o", str(outdir)]
            reps = max(1, min(runs, 3 if n >= 10000 else runs))
            times = []
            for _ in range(reps):
                shutil.rmtree(outdir, ignore_errors=True)
                times.append(timed(cmd))
            t = statistics.median(times)
            k8s = outdir / "k8s"
            if not (k8s / "job-1.yaml").exists():
                raise SystemExit(f"the build of {n} datums failed: {' '.join(cmd)}")
            sample = {p.name: p.read_text() for p in (k8s / "job-1.yaml", k8s / "stack-0.yaml")}
            floors = [floor_seconds(folder, sample) for _ in range(reps)]
            f = statistics.median(floors)
            roots = sum(1 for p in folder.glob("*.toml") if not p.name.endswith(".docker.toml"))
            per[n] = t / (roots * TARGETS)
            ratio = per[n] / (f / roots)
            rows.append((f"bulk build {n} datums, per datum-target, vs floor", "at most 3x", f"{ratio:.2f}x ({per[n] * 1e3:.3f} ms)", ratio <= 3))
            if n == max(sizes):
                rss = peak_rss_kib(cmd) / 1024
                rows.append((f"peak RSS at {n} datums", "under 300 MiB", f"{rss:.0f} MiB", rss < 300))
        n = min(1000, max(sizes))
        if shm is not None and (work / f"n{n}").exists():
            outdir = disk / "out"
            cmd = b00tc + ["build", str(work / f"n{n}"), "--target", "all", "-o", str(outdir)]
            times = []
            for _ in range(max(1, min(runs, 3))):
                shutil.rmtree(outdir, ignore_errors=True)
                times.append(timed(cmd))
            roots = sum(1 for p in (work / f"n{n}").glob("*.toml") if not p.name.endswith(".docker.toml"))
            on_disk = statistics.median(times) / (roots * TARGETS)
            rows.append((f"  the same {n} datums written to the disk ({disk.parent})", "(reported)",
                         f"{on_disk / per[n]:.2f}x tmpfs ({on_disk * 1e3:.3f} ms)", None))
        rows.append(value_scan_row())
        if len(per) >= 2:
            lo, hi = min(per), max(per)
            lin = per[hi] / per[lo]
            rows.append((f"per-datum cost at {hi} vs at {lo}", "at most 1.3x", f"{lin:.2f}x", lin <= 1.3))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(disk, ignore_errors=True)

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    where = f"data and output on {shm} (tmpfs)" if shm else "data and output in the temp folder"
    print(f"b00tc benchmark ({machine}; medians of {runs} alternating runs; {where}; "
          f"{time.perf_counter() - started:.0f} s)\n")
    print(f"| {'measure':<52} | {'goal':<20} | {'measured':<24} | ok |")
    print(f"|{'-' * 54}|{'-' * 22}|{'-' * 26}|----|")
    missed = 0
    for name, goal, got, ok in rows:
        mark = "" if ok is None else ("yes" if ok else "NO")
        missed += ok is False
        print(f"| {name:<52} | {goal:<20} | {got:<24} | {mark:<2} |")
    print("\nimport profile (python -X importtime -m b00tc --help), top 8 by cumulative time:")
    r = subprocess.run([PY, "-X", "importtime", "-m", "b00tc", "--help"], capture_output=True, text=True)
    lines = [l for l in r.stderr.splitlines() if l.startswith("import time:") and "|" in l]
    parsed = []
    for l in lines:
        parts = l.split("|")
        try:
            parsed.append((int(parts[1]), parts[2].rstrip()))
        except ValueError:
            continue
    for us, name in sorted(parsed, reverse=True)[:8]:
        print(f"  {us / 1000:7.1f} ms  {name.strip()}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
