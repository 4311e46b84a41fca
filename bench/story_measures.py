"""Which measure tells copies of one story from other stories? Brute force over every pair
of a planted story corpus (tests/story_copies.py on the Lee corpus's ABC news), for each
candidate measure and threshold: the groups its pairs make (connected components), their
adjusted Rand index against the planted stories, and pair precision and recall.

    python bench/story_measures.py [--seed 0] [--copies 4]

The measures are written here, apart from neardup, to choose one by measurement.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from tests import story_copies as story_corpus  # noqa: E402
from tests import synth  # noqa: E402

LEE = Path(__file__).resolve().parent.parent / "tests" / "data" / "lee_background.cor"
WORD = re.compile(r"\w+")
HYPHENATED = re.compile(r"(\w)-\n(\w)")
# OCR's usual confusions, each class mapped to one letter, longest first.
OCR_CLASSES = [("rn", "m"), ("cl", "d"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l"),
               ("|", "l"), ("5", "s"), ("c", "e"), ("u", "n"), ("b", "h"), ("f", "t"),
               ("a", "o")]


def plain(text: str) -> list[str]:
    return WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def ocr(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", HYPHENATED.sub(r"\1\2", text)).casefold()
    for a, b in OCR_CLASSES:
        text = text.replace(a, b)
    return WORD.findall(text)


def skeleton(text: str) -> list[str]:
    """OCR classes, then vowels dropped inside words (a word of only vowels stays)."""
    return [re.sub(r"(?<=.)[aeiouy]", "", w) or w for w in ocr(text)]


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[k:k + n]) for k in range(max(1, len(tokens) - n + 1))}


def chars(tokens: list[str], n: int) -> set[str]:
    joined = " ".join(tokens)
    return {joined[k:k + n] for k in range(max(1, len(joined) - n + 1))}


Measure = tuple[str, Callable[[str], set], str]  # name, shingles, "jaccard" | "containment"

MEASURES: list[Measure] = [
    ("jaccard, 5-word shingles (today)", lambda t: ngrams(plain(t), 5), "jaccard"),
    ("containment, 5-word", lambda t: ngrams(plain(t), 5), "containment"),
    ("containment, 3-word", lambda t: ngrams(plain(t), 3), "containment"),
    ("containment, 3-word, OCR classes", lambda t: ngrams(ocr(t), 3), "containment"),
    ("containment, 2-word, OCR classes", lambda t: ngrams(ocr(t), 2), "containment"),
    ("containment, 2-word, skeleton", lambda t: ngrams(skeleton(t), 2), "containment"),
    ("containment, 3-word, skeleton", lambda t: ngrams(skeleton(t), 3), "containment"),
    ("containment, 5-char, OCR classes", lambda t: chars(ocr(t), 5), "containment"),
    ("containment, 7-char, skeleton", lambda t: chars(skeleton(t), 7), "containment"),
]


def components(n: int, pairs: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(k) for k in range(n)]


def scores(sets: list[set], how: str) -> list[tuple[float, int, int]]:
    out = []
    for a in range(len(sets)):
        sa = sets[a]
        for b in range(a + 1, len(sets)):
            sb = sets[b]
            shared = len(sa & sb)
            if not shared:
                continue
            if how == "jaccard":
                score = shared / (len(sa) + len(sb) - shared)
            else:
                score = shared / min(len(sa), len(sb))
            out.append((score, a, b))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    # Lee repeats some stories; only the planted copies may share one.
    articles = synth.distinct_texts(LEE.read_text(encoding="utf-8").splitlines())
    corpus = story_corpus.generate(articles, args.seed, args.copies)
    n = len(corpus.texts)
    print(f"{n} documents, {len(set(corpus.story))} stories, "
          f"{sum(k != 'original' for k in corpus.kind)} copies")
    print("| measure | best threshold | ARI | pair precision | pair recall | "
          "ARI at precision >= 0.99 (threshold) | thresholds with ARI >= 0.95 | ARI at 0.5 "
          "| ARI at 0.8 | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, shingles, how in MEASURES:
        started = time.perf_counter()
        sets = [shingles(t) for t in corpus.texts]
        scored = scores(sets, how)
        best, safe = (0.0, 0.0, 0.0, 0.0), (0.0, 0.0)
        good: list[float] = []
        at: dict[float, float] = {}
        for step in range(5, 96, 5):
            threshold = step / 100
            found = components(n, [(a, b) for s, a, b in scored if s >= threshold])
            ari = story_corpus.adjusted_rand_index(corpus.story, found)
            precision, recall = story_corpus.pair_scores(corpus.story, found)
            at[threshold] = ari
            if ari >= 0.95:
                good.append(threshold)
            if ari > best[1]:
                best = (threshold, ari, precision, recall)
            if precision >= 0.99 and ari > safe[1]:
                safe = (threshold, ari)
        print(f"| {name} | {best[0]:.2f} | {best[1]:.4f} | {best[2]:.4f} | {best[3]:.4f} | "
              f"{safe[1]:.4f} ({safe[0]:.2f}) | "
              f"{f'{min(good):.2f}-{max(good):.2f}' if good else 'none'} | {at[0.5]:.4f} | "
              f"{at[0.8]:.4f} | {time.perf_counter() - started:.1f} |")


if __name__ == "__main__":
    main()
