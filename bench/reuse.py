"""Text reuse on planted partial reuse: recall, boundaries, false passages, time and memory.

    python bench/reuse.py [--hosts 100000] [--passages N] [--repeat 3] [--workers 0]

The corpus: wire documents (real ABC news from tests/data, three articles each, after
dropping articles that already share text) and host articles from a word chain over the
same news (real vocabulary and stock phrases, no long passage shared by chance), plus the
real articles left over. Passages of 40 to 500 words are cut from the wires and pasted
into hosts (each into 1 to 3), with edits: ~2% of words changed, dropped or doubled,
punctuation changed, lines reflowed. The truth is where each copy went, in tokens.

`neardup reuse` runs as a whole process on the corpus's JSONL; its pairs.jsonl is
scored: recall of planted passages, recall with both boundaries on both sides within
5 words, and the share of reported passages that match no planted copy. Writes
bench/results/reuse-N.md with the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/synth.py
from corpus import write_jsonl  # noqa: E402
from run import measure_memory  # noqa: E402

from neardup.reuse import ReusePair  # noqa: E402
from tests import synth  # noqa: E402

HERE = Path(__file__).resolve().parent
LEE = HERE.parent / "tests" / "data" / "lee_background.cor"


def build(hosts: int, passages: int, edit_rate: float = 0.02, seed: int = 0
          ) -> tuple[Path, synth.PlantedReuse]:
    lee = synth.distinct_texts(LEE.read_text(encoding="utf-8").splitlines())
    host_texts = lee[200:] + synth.chain_articles(lee, hosts, seed=seed + 1)
    corpus = synth.plant_reuse(lee[:200], host_texts, passages, edit_rate=edit_rate,
                               seed=seed + 2)
    path = HERE / "data" / f"reuse-{hosts}-p{passages}-e{edit_rate}-s{seed}.jsonl"
    write_jsonl(path, corpus.docs)
    return path, corpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--hosts", type=int, default=100_000)
    ap.add_argument("--passages", type=int, default=0, help="default: hosts / 100")
    ap.add_argument("--edit-rate", type=float, default=0.02,
                    help="share of a copy's words changed, dropped or doubled")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    started = time.perf_counter()
    path, corpus = build(args.hosts, args.passages or args.hosts // 100, args.edit_rate)
    built = time.perf_counter() - started
    out = HERE / "data" / "out" / "reuse"
    cmd = [sys.executable, "-m", "neardup", "reuse", str(path), "-o", str(out),
           "--workers", str(args.workers)]
    runs = [measure_memory(cmd, HERE / "data" / "out" / "reuse.stdout", pss=True)
            for _ in range(args.repeat)]
    seconds = statistics.median(r[0] for r in runs)
    peak = statistics.median(r[1] for r in runs)
    peak_pss = statistics.median(r[2] for r in runs)
    summary = json.loads((out / "summary.json").read_text())
    with open(out / "pairs.jsonl", encoding="utf-8") as fh:
        pairs = [ReusePair.from_dict(json.loads(line)) for line in fh]
    score = synth.score_reuse(corpus, pairs)
    lengths = [p.source_tokens[1] - p.source_tokens[0] for p in corpus.planted]
    docs = summary["documents_read"]
    text = "\n".join([
        f"`neardup reuse` on {docs:,} documents ({path.stat().st_size / 1e6:,.0f} MB JSONL; "
        f"{len(corpus.planted):,} planted copies of passages of 40-500 words, "
        f"{min(lengths)}-{max(lengths)} tokens, edit rate {args.edit_rate}), "
        f"--workers {args.workers or 'all'}, "
        f"median of {args.repeat} runs, "
        f"{time.strftime('%Y-%m-%d %H:%M')} (corpus built in {built:.0f} s):",
        "",
        "| figure | value |",
        "|---|---|",
        f"| recall of planted passages | {score['recall']:.4f} |",
        f"| ... with both boundaries within 5 words | {score['boundary_recall']:.4f} |",
        f"| false passages (of {score['reported']:,} reported) | "
        f"{score['false_passages']:.4f} |",
        f"| wall time | {seconds:,.1f} s ({docs / seconds:,.0f} docs/s; runs: "
        f"{', '.join(f'{r[0]:.1f}' for r in runs)}) |",
        f"| peak memory, sum of PSS over the process tree | {peak_pss / 2**30:.2f} GiB |",
        f"| peak memory, sum of RSS (counts pages shared by forked workers in each) | "
        f"{peak / 2**30:.2f} GiB |",
        f"| candidate pairs aligned | {summary['candidate_pairs']:,} |",
        f"| pairs / passages / groups | {summary['pairs']:,} / {summary['passages']:,} / "
        f"{summary['groups']:,} |",
    ])
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    name = (f"reuse-{args.hosts}" + (f"-p{args.passages}" if args.passages else "")
            + (f"-e{args.edit_rate}" if args.edit_rate != 0.02 else ""))
    (HERE / "results" / f"{name}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
