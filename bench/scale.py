"""The scale run: `neardup dedup` over a large generated corpus, time and peak memory.

    python bench/scale.py [--docs 1000000] [--workers N] [--match jaccard|story]

Builds the corpus on first use (bench/corpus.py; about ten minutes for 1,000,000 documents),
then runs the CLI as a whole process with its output in bench/data/out/scale and writes
bench/results/scale-DOCS.md: wall time, docs/s, peak memory (sum of PSS over the process
tree, and of RSS) and the run's summary.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import build  # noqa: E402
from run import measure_memory  # noqa: E402

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--clean", action="store_true",
                    help="clean before comparing (the CLI's default); without it, --raw")
    ap.add_argument("--match", choices=("jaccard", "story"), default="jaccard")
    args = ap.parse_args()
    corpus = build(args.docs, truth=False)
    out = HERE / "data" / "out" / "scale"
    cmd = [sys.executable, "-m", "neardup", "dedup", str(corpus), "-o", str(out),
           "--workers", str(args.workers), "--clean" if args.clean else "--raw",
           "--match", args.match]
    seconds, peak, peak_pss = measure_memory(cmd, HERE / "data" / "out" / "scale.stdout",
                                             pss=True)
    summary = json.loads((out / "summary.json").read_text())
    size_gb = corpus.stat().st_size / 1e9
    text = "\n".join([
        f"`neardup dedup --match {args.match}` on {summary['documents_read']:,} documents "
        f"({size_gb:.2f} GB JSONL), "
        f"--workers {args.workers or 'all'}, {'--clean' if args.clean else '--raw'}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}:",
        "",
        f"- wall time {seconds:,.1f} s ({summary['documents_read'] / seconds:,.0f} docs/s), "
        f"peak memory {peak_pss / 2**30:.2f} GiB (sum of PSS over the process tree; "
        f"{peak / 2**30:.2f} GiB as sum of RSS, which counts pages forked processes share "
        "once in each)",
        f"- {peak_pss / summary['documents_read']:,.0f} bytes a document at the peak",
        f"- kept {summary['kept']:,}, removed {summary['removed']:,}"
        + (f" ({summary['exact_duplicates']:,} exact, {summary['near_duplicates']:,} near)"
           if args.match == "jaccard" else "")
        + f", rejected {summary['rejected']:,}, groups {summary['groups']:,}, "
        f"pairs {summary['pairs']:,}, "
        f"candidates {summary.get('candidate_pairs', summary.get('candidates', 0)):,}",
    ])
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    suffix = ("-clean" if args.clean else "") + ("-story" if args.match == "story" else "")
    workers = f"-w{args.workers}" if args.workers else ""
    (HERE / "results" / f"scale-{args.docs}{suffix}{workers}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
