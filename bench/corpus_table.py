"""Build every root datum of tests/data/b00t-corpus for every target; print a Markdown table.

A script, not a test (issue 16): ``PYTHONPATH=. python bench/corpus_table.py [--errors]``.
Roots are the corpus' job, stack and docker datums (by file name); each is built alone,
one target at a time, in-process (b00tc.compiler.build), with the corpus folder on the
search path and a fixed, empty host environment. A cell is ``ok (N files)`` or the first
error's code and message (shortened). ``--errors`` appends every error diagnostic
(datum, target, code, path, message), for sorting failures by cause.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from b00tc.compiler import BuildRequest, build  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "b00t-corpus"
TARGETS = ["k8s", "compose", "nomad", "bash", "systemd"]
KINDS = (".job.toml", ".stack.toml", ".docker.toml")


def roots() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.name.endswith(KINDS))


def build_one(path: Path, target: str):
    return build(
        BuildRequest(
            paths=[str(path)],
            targets=[target],
            includes=[str(CORPUS)],
            host_env={},
            datum_path="",
        )
    )


def short(text: str, n: int = 70) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


def main(argv: list[str]) -> int:
    want_errors = "--errors" in argv
    rows, errors = [], []
    ok = total = 0
    for path in roots():
        cells = []
        for target in TARGETS:
            total += 1
            try:
                res = build_one(path, target)
            except Exception as exc:  # a crash is a result too
                cells.append(f"CRASH {type(exc).__name__}: {short(str(exc), 50)}")
                errors.append((path.name, target, "CRASH", "", f"{type(exc).__name__}: {exc}"))
                continue
            errs = [d for d in res.diags if d.is_error]
            if not errs:
                ok += 1
                n = sum(1 for t, _ in res.outputs if t == target)
                cells.append(f"ok ({n} files)")
            else:
                first = errs[0]
                where = Path(first.file).name if first.file else path.name
                inside = "" if where == path.name else f" (in {where})"
                cells.append(f"{first.code} {short(first.message)}{inside}")
                for d in errs:
                    fname = Path(d.file).name if d.file else path.name
                    errors.append((path.name, target, d.code, f"{fname} {d.path}", d.message))
        rows.append((path.name, cells))
    print("| datum | " + " | ".join(TARGETS) + " |")
    print("|---|" + "---|" * len(TARGETS))
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(cells) + " |")
    datums_ok = sum(1 for _, cells in rows if all(c.startswith("ok") for c in cells))
    print()
    print(f"Datums: {len(rows)} ({datums_ok} build for every target). Builds ok: {ok} / {total}.")
    if want_errors:
        print()
        print("| datum | target | code | file and path | message |")
        print("|---|---|---|---|---|")
        for name, target, code, dpath, msg in errors:
            print(f"| {name} | {target} | {code} | {dpath} | {short(msg, 200)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
