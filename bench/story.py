"""The story rule against today's rule, on copies planted in real news (tests/story_copies.py):
adjusted Rand index of the groups, pair precision and recall, documents/s on one core,
and memory per document.

    python bench/story.py [--seeds 3] [--copies 4] [--spark 'local[2]']

With ``--spark MASTER`` it also runs ``neardup dedup --match story --raw`` from the command
line on the local engine (one worker) and on Spark, checks that every output file is the
same, and gives both engines' documents/s (whole process, the JVM's start included).

Each seed plants a new set of copies of the same originals, so ``--seeds 20`` gives a
corpus twenty times as large with more copies of each story (the truth: a copy's story is
its original's). Texts are compared as they are (no cleaning): the rule itself is measured.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from neardup import DedupOptions, find_pairs  # noqa: E402
from neardup.cluster import components  # noqa: E402
from neardup.story import DEFAULT_STORY_THRESHOLD, StoryOptions, find_stories  # noqa: E402
from tests import story_copies as story_corpus  # noqa: E402
from tests import synth  # noqa: E402

LEE = Path(__file__).resolve().parent.parent / "tests" / "data" / "lee_background.cor"


def corpus(seeds: int, copies: int) -> story_corpus.StoryCorpus:
    articles = synth.distinct_texts(LEE.read_text(encoding="utf-8").splitlines())
    whole = story_corpus.StoryCorpus([], [], [], [])
    for seed in range(seeds):
        part = story_corpus.generate(articles, seed, copies)
        if seed:  # the originals once; each seed adds copies
            keep = [k for k, kind in enumerate(part.kind) if kind != "original"]
        else:
            keep = list(range(len(part.texts)))
        whole.ids += [f"s{seed}-{part.ids[k]}" for k in keep]
        whole.texts += [part.texts[k] for k in keep]
        whole.story += [part.story[k] for k in keep]
        whole.kind += [part.kind[k] for k in keep]
    return whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--spark", metavar="MASTER", help="also compare with Spark there")
    args = parser.parse_args()
    c = corpus(args.seeds, args.copies)
    n = len(c.texts)
    print(f"{n:,} documents, {len(set(c.story)):,} stories, "
          f"{sum(k != 'original' for k in c.kind):,} copies")
    print("| rule | ARI | pair precision | pair recall | documents/s (1 core) | candidates |")
    print("|---|---|---|---|---|---|")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    stories = find_stories(c.ids, c.texts, StoryOptions())
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ari = story_corpus.adjusted_rand_index(c.story, stories.label.tolist())
    precision, recall = story_corpus.pair_scores(c.story, stories.label.tolist())
    print(f"| `--match story` (containment >= {DEFAULT_STORY_THRESHOLD}) | {ari:.4f} | "
          f"{precision:.4f} | "
          f"{recall:.4f} | {n / seconds:,.0f} | {stories.candidates:,} |")
    started = time.perf_counter()
    pairs = find_pairs(dict(zip(c.ids, c.texts)), options=DedupOptions(clean=None))
    seconds = time.perf_counter() - started
    number = {doc_id: k for k, doc_id in enumerate(c.ids)}
    import numpy as np

    edges = np.array([(number[p.a], number[p.b]) for p in pairs], dtype=np.int64).reshape(-1, 2)
    label = components(n, edges).tolist()
    ari = story_corpus.adjusted_rand_index(c.story, label)
    precision, recall = story_corpus.pair_scores(c.story, label)
    print(f"| `--match jaccard` (today: J >= 0.8, 5-word shingles) | {ari:.4f} | "
          f"{precision:.4f} | {recall:.4f} | {n / seconds:,.0f} | |")
    print(f"\npeak RSS grew by {(peak - before) / 1024:.0f} MiB during the story run "
          f"({(peak - before) * 1024 / n:,.0f} bytes a document)")
    if args.spark:
        on_both_engines(c, args.spark)


def on_both_engines(c: story_corpus.StoryCorpus, master: str) -> None:
    """``dedup --match story --raw`` on the local engine and on Spark: the same files?"""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        corpus_path = Path(tmp) / "stories.jsonl"
        corpus_path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n"
                                       for i, t in zip(c.ids, c.texts)))
        engines = {"local": ["--workers", "1"], "spark": ["--engine", "spark", "--master",
                                                          master]}
        files = {}
        for engine, extra in engines.items():
            out = Path(tmp) / engine
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "neardup", "dedup", str(corpus_path), "-o",
                            str(out), "--match", "story", "--raw", *extra], check=True,
                           capture_output=True)
            seconds = time.perf_counter() - started
            files[engine] = {name: b"".join(p.read_bytes() for p in sorted(
                (out / name).iterdir()) if p.is_file()) if (out / name).is_dir()
                else (out / name).read_bytes() for name in ("pairs.jsonl", "clusters.jsonl")}
            print(f"{engine}: {len(c.texts) / seconds:,.0f} documents/s "
                  f"({seconds:.1f} s, whole process)")
        print("the same pairs.jsonl and clusters.jsonl:", files["local"] == files["spark"])


if __name__ == "__main__":
    main()
