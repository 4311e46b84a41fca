"""Two workers against one: each command as a whole process, `--workers 1` and `--workers 2`
alternated, medians of --repeat runs.

    python bench/workers.py [--docs 1000000] [--clean-docs 300000] [--reuse-hosts 100000]
                            [--repeat 3] [--only dedup,pairs,clean,reuse]

Commands: `dedup --raw` and `pairs --raw` on the generated news corpus of --docs documents
(bench/corpus.py), `clean` on the first --clean-docs of them, and `reuse` on the planted
reuse corpus (bench/reuse.py). Each run's wall time and peak memory (sum of PSS over the
process tree) are measured; the table goes to bench/results/workers.md.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import build  # noqa: E402
from run import measure_memory  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "out" / "workers"


def head(corpus: Path, docs: int) -> Path:
    """The first ``docs`` lines of ``corpus``, in a file of their own (made once)."""
    path = corpus.with_name(f"{corpus.stem}-head{docs}.jsonl")
    if not path.exists():
        with open(corpus, "rb") as src, open(path, "wb") as dst:
            dst.writelines(itertools.islice(src, docs))
    return path


def commands(args: argparse.Namespace) -> dict[str, tuple[list[str], Path, int]]:
    """Each command's arguments (without --workers), its input and its document count."""
    wanted = args.only.split(",")
    out: dict[str, tuple[list[str], Path, int]] = {}
    if "dedup" in wanted or "pairs" in wanted:
        news = build(args.docs, truth=False)
        out["dedup"] = (["dedup", str(news), "-o", str(OUT / "dedup"), "--raw", "--force"],
                        news, args.docs)
        out["pairs"] = (["pairs", str(news), "--raw"], news, args.docs)
    if "clean" in wanted:
        small = head(build(args.docs, truth=False), args.clean_docs)
        out["clean"] = (["clean", str(small), "-o", str(OUT / "clean"), "--force"], small,
                        args.clean_docs)
    if "reuse" in wanted:
        from reuse import build as build_reuse

        path = HERE / "data" / f"reuse-{args.reuse_hosts}-p{args.reuse_hosts // 100}-e0.02-s0.jsonl"
        if not path.exists():
            path, _ = build_reuse(args.reuse_hosts, args.reuse_hosts // 100)
        docs = sum(1 for _ in open(path, "rb"))
        out["reuse"] = (["reuse", str(path), "-o", str(OUT / "reuse"), "--force"], path, docs)
    return {name: out[name] for name in wanted if name in out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--clean-docs", type=int, default=300_000)
    ap.add_argument("--reuse-hosts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="dedup,pairs,clean,reuse")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (cmd, path, docs) in commands(args).items():
        seconds: dict[int, list[float]] = {1: [], 2: []}
        peaks: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.repeat):
            for workers in (1, 2):
                run = [sys.executable, "-m", "neardup", *cmd, "--workers", str(workers)]
                wall, _, pss = measure_memory(run, OUT / f"{name}.stdout", pss=True)
                seconds[workers].append(wall)
                peaks[workers].append(pss / 2**30)
                print(f"{name} --workers {workers}: {wall:.1f} s, {pss / 2**30:.2f} GiB",
                      flush=True)
        one, two = statistics.median(seconds[1]), statistics.median(seconds[2])
        pairs = sorted(a / b for a, b in zip(seconds[1], seconds[2]))
        rows.append(
            f"| `{' '.join(cmd[:1] + [c for c in cmd[2:] if c.startswith('--raw')])}` "
            f"| {docs:,} ({path.stat().st_size / 1e9:.2f} GB) "
            f"| {one:.1f} ({', '.join(f'{s:.1f}' for s in seconds[1])}) "
            f"| {two:.1f} ({', '.join(f'{s:.1f}' for s in seconds[2])}) "
            f"| **{one / two:.2f}x** ({pairs[0]:.2f}-{pairs[-1]:.2f}) "
            f"| {max(peaks[1]):.2f} / {max(peaks[2]):.2f} |")
    text = "\n".join([
        f"Two workers against one, whole processes, {args.repeat} alternations, "
        f"{time.strftime('%Y-%m-%d %H:%M')} (`python bench/workers.py "
        f"--docs {args.docs} --clean-docs {args.clean_docs} --reuse-hosts {args.reuse_hosts} "
        f"--repeat {args.repeat}`):",
        "",
        "| command | documents | `--workers 1` s, median (runs) | `--workers 2` s, median (runs) "
        "| ratio of medians (range of pairs) | peak GiB PSS, 1 / 2 workers |",
        "|---|---|---|---|---|---|",
        *rows,
    ])
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "workers.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
