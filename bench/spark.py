"""neardup on Spark against the local engine and text-dedup's Spark MinHash, one corpus.

    python bench/spark.py [--docs 200000] [--repeat 1]

Runs as whole processes, side by side on one machine: neardup's local engine (`pairs --raw`,
all cores), neardup on Spark local[1] and local[2] (`pairs --raw --engine spark`), and
text-dedup 0.4.0's minhash_spark.py on local[2] (../shared/peers/text-dedup-spark/run.sh:
threshold 0.8, word 5-grams, 128 permutations). Also Spark's fixed start-up cost (a session
that counts ten rows). Quality against brute-force exact Jaccard (bench/corpus.py): neardup
reports pairs, so recall, precision and whether every score is exact; text-dedup reports
only the documents it keeps, so a true pair counts as found when it did not keep both (an
upper bound of its recall), and its precision is the share of removed documents that have
a true match at J >= 0.8. Writes bench/results/spark-DOCS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PY, corpus_with_truth, measure_memory, quality  # noqa: E402

HERE = Path(__file__).resolve().parent
PEER = HERE.parent.parent / "shared" / "peers" / "text-dedup-spark" / "run.sh"
START = ("from neardup.engine.spark import SparkSettings\n"
         "from neardup.engine.spark.session import session\n"
         "session(SparkSettings('local[2]')).range(10).count()\n")


def text_dedup_quality(out: Path, ids: dict[str, int], truth: dict[tuple[int, int], float]
                       ) -> dict:
    files = sorted(str(p) for p in (out / "kept").rglob("*.parquet"))
    kept_ids = set(ds.dataset(files, format="parquet").to_table(columns=["id"])
                   .column("id").to_pylist())
    kept = {ids[i] for i in kept_ids}
    removed = set(ids.values()) - kept
    t80 = {k for k, v in truth.items() if v >= 0.8}
    with_match = {d for pair in t80 for d in pair}
    found = sum(1 for a, b in t80 if a in removed or b in removed)
    return {"recall_80": found / len(t80),
            "precision": len(removed & with_match) / len(removed) if removed else 1.0,
            "removed": len(removed)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-peer", action="store_true", help="leave text-dedup out")
    args = ap.parse_args()
    corpus, truth, ids = corpus_with_truth(args.docs)
    out_dir = HERE / "data" / "out" / "spark"
    out_dir.mkdir(parents=True, exist_ok=True)
    neardup = [PY, "-m", "neardup", "pairs", str(corpus), "--raw"]
    pipelines = {
        "Spark start-up alone (local[2])": [PY, "-c", START],
        "neardup, local engine (2 cores)": neardup,
        "neardup --engine spark, local[1]": [*neardup, "--engine", "spark", "--master",
                                             "local[1]"],
        "neardup --engine spark, local[2]": [*neardup, "--engine", "spark", "--master",
                                             "local[2]"],
    }
    if not args.no_peer:
        pipelines["text-dedup minhash_spark, local[2]"] = [
            "bash", str(PEER), str(corpus), str(out_dir / "text-dedup"), "local[2]"]
    results: dict[str, dict] = {}
    for _ in range(args.repeat):
        for name, cmd in pipelines.items():
            out = out_dir / ("".join(c if c.isalnum() else "-" for c in name) + ".out")
            seconds, _, pss = measure_memory(cmd, out, pss=True)
            r = results.setdefault(name, {"t": [], "mem": []})
            r["t"].append(seconds)
            r["mem"].append(pss)
            if "q" not in r and name.startswith("neardup"):
                r["q"] = quality(out, ids, truth)
            elif "q" not in r and name.startswith("text-dedup"):
                r["q"] = text_dedup_quality(out_dir / "text-dedup", ids, truth)
            print(f"  {name}: {seconds:,.1f} s, {pss / 2**20:,.0f} MiB", file=sys.stderr)
    t80 = sum(1 for v in truth.values() if v >= 0.8)
    peer = results.get("text-dedup minhash_spark, local[2]")
    rows = []
    for name, r in results.items():
        seconds = statistics.median(r["t"])
        q = r.get("q")
        versus = (f"{statistics.median(peer['t']) / seconds:.2f}x"
                  if peer and q is not None else "")
        if q is None:
            quality_cells = "| | |"
        elif "scores_exact" in q:
            quality_cells = (f"| {q['recall_80']:.4f} | {q['precision']:.4f} | "
                             f"{'yes' if q['scores_exact'] else 'NO'} |")
        else:
            quality_cells = f"| ≤ {q['recall_80']:.4f} | {q['precision']:.4f} | no scores |"
        docs_s = f"{len(ids) / seconds:,.0f}" if q is not None else ""
        rows.append(f"| {name} | {seconds:,.1f} | {docs_s} | "
                    f"{statistics.median(r['mem']) / 2**20:,.0f} | {versus} {quality_cells}")
    table = "\n".join([
        f"Corpus: {len(ids):,} news-length documents ({corpus.stat().st_size / 1e6:,.0f} MB "
        f"JSONL), {t80:,} true pairs at J >= 0.8; whole processes, median of {args.repeat}; "
        f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}. Command: "
        f"`python bench/spark.py --docs {args.docs} --repeat {args.repeat}`.",
        "",
        "| pipeline | wall s | docs/s | peak MiB (PSS) | faster than text-dedup | "
        "recall@0.8 | precision | exact scores |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ])
    print(table)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"spark-{args.docs}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
