"""Text reuse on a hostile corpus: every document recombined from one shared pool of sentences.

    python bench/hostile.py [--docs 200000] [--pool N] [--repeat 1] [--workers 0]

A crawl of aggregator sites looks like this: the same sentences stand in dozens of
documents, in every order, so shingle postings are long and a document shares a sentence
with thousands of others. The pool is ``--pool`` (default: docs / 2) fixed variants of the
2,611 real sentences of the ABC news in tests/data (30% of words swapped, once per
variant), each standing unchanged in ~40 documents; ``--pool 0`` draws the real sentences
instead, 15% of words swapped in each copy (as tests/synth.py recombines them). Variants
of one real sentence differ, so documents holding variants of the same two sentences side
by side share an edited passage: that background reuse is real and reported. Into it,
reuse is planted as bench/reuse.py plants it (passages of 40 to 500 words from real wire
articles, ~2% of words edited), so the run is scored as well as timed: recall of planted
passages, time, peak memory (PSS over the process tree), and what the candidate phase
capped. Writes bench/results/hostile-N[-poolP].md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/synth.py
from corpus import write_jsonl  # noqa: E402
from run import measure_memory  # noqa: E402

from neardup.reuse import ReusePair  # noqa: E402
from tests import synth  # noqa: E402

HERE = Path(__file__).resolve().parent
LEE = HERE.parent / "tests" / "data" / "lee_background.cor"


def recombined(docs: int, pool: int, seed: int, per_doc: int = 20) -> list[str]:
    """``docs`` texts of ``per_doc`` sentences each, drawn from a pool of ``pool`` sentences:
    variants of the real sentences (30% of words swapped, fixed per variant), so that each
    variant's shingles stand in about ``docs * per_doc / pool`` documents, unchanged."""
    lee = LEE.read_text(encoding="utf-8").splitlines()
    real = synth.sentences(lee)
    vocab = [w for t in lee for w in t.split() if w.isalpha()]
    rng = np.random.default_rng(seed)
    variants = []
    for k in range(pool):
        words = real[k % len(real)].split()
        for w in np.flatnonzero(rng.random(len(words)) < 0.3).tolist():
            words[w] = vocab[int(rng.integers(len(vocab)))]
        variants.append(" ".join(words))
    return [" ".join(variants[j] for j in rng.integers(0, pool, per_doc)) for _ in range(docs)]


def build(docs: int, passages: int, pool: int = 0, seed: int = 0
          ) -> tuple[Path, synth.PlantedReuse]:
    """The corpus as JSONL under bench/data, and where its planted passages went."""
    lee = synth.distinct_texts(LEE.read_text(encoding="utf-8").splitlines())
    hosts = (recombined(docs, pool, seed + 1) if pool else
             synth.generate(LEE.read_text(encoding="utf-8").splitlines(), docs,
                            dup_fraction=0.0, seed=seed + 1).texts)
    corpus = synth.plant_reuse(lee[:200], hosts, passages, seed=seed + 2)
    path = HERE / "data" / f"hostile-{docs}-p{passages}-pool{pool}-s{seed}.jsonl"
    if not path.exists():
        write_jsonl(path, corpus.docs)
    return path, corpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--passages", type=int, default=0, help="default: docs / 200")
    ap.add_argument("--pool", type=int, default=-1,
                    help="draw sentences from this many fixed variants of the real ones, "
                         "unchanged in every document (default: docs / 2); 0: the real "
                         "sentences, 15%% of words swapped in each copy")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    passages = args.passages or args.docs // 200
    if args.pool < 0:
        args.pool = args.docs // 2
    started = time.perf_counter()
    path, corpus = build(args.docs, passages, args.pool)
    built = time.perf_counter() - started
    out = HERE / "data" / "out" / "hostile"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "neardup", "reuse", str(path), "-o", str(out),
           "--workers", str(args.workers), "--no-progress"]
    runs = [measure_memory(cmd, HERE / "data" / "out" / "hostile.stdout", pss=True)
            for _ in range(args.repeat)]
    seconds = statistics.median(r[0] for r in runs)
    peak_pss = statistics.median(r[2] for r in runs)
    summary = json.loads((out / "summary.json").read_text())
    with open(out / "pairs.jsonl", encoding="utf-8") as fh:
        pairs = [ReusePair.from_dict(json.loads(line)) for line in fh]
    score = synth.score_reuse(corpus, pairs)
    docs = summary["documents_read"]
    capped = summary.get("capped", {})
    text = "\n".join([
        f"`neardup reuse` on the hostile corpus: {docs:,} documents recombined from one pool "
        f"of real sentences ({path.stat().st_size / 1e6:,.0f} MB JSONL), "
        f"{len(corpus.planted):,} planted copies of passages of 40-500 words, "
        f"--workers {args.workers or 'all'}, median of {args.repeat} runs, "
        f"{time.strftime('%Y-%m-%d %H:%M')} (corpus built in {built:.0f} s):",
        "",
        "| figure | value |",
        "|---|---|",
        f"| wall time | {seconds:,.1f} s ({docs / seconds:,.0f} docs/s; runs: "
        f"{', '.join(f'{r[0]:.1f}' for r in runs)}) |",
        f"| peak memory, sum of PSS over the process tree | {peak_pss / 2**30:.2f} GiB |",
        f"| recall of planted passages | {score['recall']:.4f} |",
        f"| ... with both boundaries within 5 words | {score['boundary_recall']:.4f} |",
        f"| reported passages that are not planted ones (of {score['reported']:,}: shared "
        f"text of the recombined background) | {score['false_passages']:.4f} |",
        f"| candidate pairs aligned | {summary['candidate_pairs']:,} |",
        f"| capped (see summary.json) | {json.dumps(capped)} |",
        f"| pairs / passages / groups | {summary['pairs']:,} / {summary['passages']:,} / "
        f"{summary['groups']:,} |",
    ])
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    name = f"hostile-{args.docs}" + (f"-pool{args.pool}" if args.pool else "")
    (HERE / "results" / f"{name}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
