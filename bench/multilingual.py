"""Scripts written without spaces: quality against brute force, and speed against rensa.

    python bench/multilingual.py [--seeds 5] [--docs 20000] [--repeat 3]

Quality, per language (Chinese, Japanese, Thai, Lao, Khmer, Myanmar; the corpora of
tests/multilingual.py over ``--seeds`` seeds, three light copies per planted document):
recall of planted light copies by ``neardup pairs`` at 0.8, recall and precision against
brute-force exact Jaccard >= 0.8, and the planted copies the former definition (one token per
run of \\w) would have kept at 0.8. Then the shingle size: planted recall and the highest
Jaccard between documents that are not copies, for n = 3 to 8.

Speed, for Chinese and Thai: ``--docs`` documents of about 1,000 characters, the
paragraphs drawn at random, 30% light copies, as JSONL; ``neardup pairs --raw --workers 1`` against
rensa on character 5-grams (bench/peers.py rensa-char5), interleaved, median docs/s, MB/s
(of UTF-8 input) and peak memory. Writes bench/results/multilingual.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from corpus import write_jsonl  # noqa: E402
from run import PY, measure  # noqa: E402

import neardup  # noqa: E402
from neardup.dedup import DedupOptions  # noqa: E402
from neardup.text import jaccard, shingles, tokens  # noqa: E402
from tests.multilingual import (  # noqa: E402
    LANGUAGES,
    brute_force_pairs,
    build,
    light_copy,
    paragraphs,
    word_tokens,
)

NAMES = {"zh": "Chinese", "ja": "Japanese", "th": "Thai", "lo": "Lao", "km": "Khmer",
         "my": "Myanmar"}


def key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def quality(seeds: int) -> list[str]:
    rows = ["| language | documents | planted copies | planted found | recall vs brute force "
            "| precision | former definition: planted at J >= 0.8 |", "|---" * 7 + "|"]
    for lang in LANGUAGES:
        docs = planted = found_planted = hits = n_truth = n_found = old_planted = 0
        for seed in range(seeds):
            corpus = build(lang, seed=seed, copies=3)
            truth = brute_force_pairs(corpus.docs, 0.8)
            old = brute_force_pairs(corpus.docs, 0.8, tokenize=word_tokens)
            found = {key(p.a, p.b) for p in neardup.find_pairs(
                corpus.docs, options=DedupOptions(threshold=0.8))}
            keys = [key(*p) for p in corpus.planted]
            docs += len(corpus.docs)
            planted += len(keys)
            found_planted += sum(p in found for p in keys)
            old_planted += sum(p in old for p in keys)
            hits += len(found & truth.keys())
            n_truth += len(truth)
            n_found += len(found)
        rows.append(f"| {NAMES[lang]} | {docs:,} | {planted:,} | {found_planted / planted:.4f} | "
                    f"{hits / n_truth:.4f} | {hits / n_found:.4f} | {old_planted / planted:.2f} |")
        print(rows[-1], file=sys.stderr)
    return rows


def shingle_size(seeds: int) -> list[str]:
    sizes = (3, 4, 5, 6, 8)
    rows = ["| n | " + " | ".join(NAMES[lang] for lang in LANGUAGES) + " | all |",
            "|---" * (len(LANGUAGES) + 2) + "|"]
    stats: dict[tuple[str, int], list[float]] = {}
    for lang in LANGUAGES:
        for seed in range(seeds):
            corpus = build(lang, seed=seed, copies=3)
            toks = {k: tokens(v) for k, v in corpus.docs.items()}
            for n in sizes:
                sets = {k: shingles(t, n) for k, t in toks.items()}
                s = stats.setdefault((lang, n), [0, 0, 0.0])
                s[0] += sum(jaccard(sets[a], sets[b]) >= 0.8 for a, b in corpus.planted)
                s[1] += len(corpus.planted)
                s[2] = max(s[2], max(jaccard(sets[w], sets[d]) for w, d in corpus.partial))
    for n in sizes:
        cells = [f"{stats[(lang, n)][0] / stats[(lang, n)][1]:.3f} / {stats[(lang, n)][2]:.2f}"
                 for lang in LANGUAGES]
        total = sum(stats[(lang, n)][0] for lang in LANGUAGES) / sum(
            stats[(lang, n)][1] for lang in LANGUAGES)
        rows.append(f"| {n} | " + " | ".join(cells) + f" | {total:.4f} |")
    return rows


def speed_corpus(lang: str, n: int) -> Path:
    path = HERE / "data" / f"ml-{lang}-{n}.jsonl"
    if not path.exists():
        write_jsonl(path, speed_documents(lang, n), ensure_ascii=False)
    return path


def speed_documents(lang: str, n: int) -> Iterator[tuple[str, str]]:
    rng = random.Random(lang)
    paras = paragraphs(lang)
    texts: list[str] = []
    for i in range(n):
        if texts and rng.random() < 0.3:
            text = light_copy(rng.choice(texts), lang, rng)
        else:  # paragraphs drawn at random: documents that differ, as a crawl's do
            parts: list[str] = []
            while sum(map(len, parts)) < 1000:
                parts.append(rng.choice(paras))
            text = "\n".join(parts)
        texts.append(text)
        yield f"{lang}{i:07d}", text


def speed(n: int, repeat: int) -> list[str]:
    rows = ["| corpus | pipeline | docs/s | MB/s | vs rensa-char5 | peak MiB |", "|---" * 6 + "|"]
    for lang in ("zh", "th"):
        corpus = speed_corpus(lang, n)
        mb = corpus.stat().st_size / 1e6
        pipelines = {
            "neardup --workers 1": [PY, "-m", "neardup", "pairs", str(corpus), "--raw",
                                    "--workers", "1"],
            "rensa-char5": [PY, str(HERE / "peers.py"), "rensa-char5", str(corpus)],
        }
        times: dict[str, list[float]] = {}
        mem: dict[str, list[int]] = {}
        for _ in range(repeat):
            for name, cmd in pipelines.items():
                seconds, peak = measure(cmd, HERE / "data" / "out" / "ml-pairs.jsonl")
                times.setdefault(name, []).append(seconds)
                mem.setdefault(name, []).append(peak)
                print(f"  {lang} {name}: {n / seconds:,.0f} docs/s", file=sys.stderr)
        peer = statistics.median(times["rensa-char5"])
        for name in pipelines:
            t, peak = statistics.median(times[name]), statistics.median(mem[name]) / 2**20
            rows.append(f"| {NAMES[lang]}, {n:,} docs, {mb:.0f} MB | {name} | {n / t:,.0f} | "
                        f"{mb / t:.1f} | {peer / t:.2f}x | {peak:,.0f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    (HERE / "data" / "out").mkdir(parents=True, exist_ok=True)
    table = "\n".join([
        f"Scripts without spaces; {time.strftime('%Y-%m-%d %H:%M')}.", "",
        *quality(args.seeds), "",
        "Shingle size n: recall of planted copies at J >= 0.8 / highest J of a partial copy "
        "with a document it holds half of.", "",
        *shingle_size(args.seeds), "",
        f"Speed (median of {args.repeat}):", "",
        *speed(args.docs, args.repeat),
    ])
    print(table)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "multilingual.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
