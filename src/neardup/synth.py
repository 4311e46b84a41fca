"""Corpora with planted duplicates, built from real prose, and their brute-force truth.

For tests and benchmarks: documents are recombined from real sentences (with
a share of words swapped for other corpus words, so unrelated documents share
little), and copies are planted at varied similarity: exact, reformatted
(case, line breaks, punctuation), wrapped in headers and footers, and edited
word by word. :func:`exact_pairs` finds the true pairs by exact Jaccard over
all pairs that share any shingle, independently of neardup's hashing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .text import DEFAULT_NGRAM, shingles, tokens

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")

HEADERS = ["BREAKING NEWS", "Updated {n} minutes ago", "Share this article on social media",
           "From our correspondent in {place}"]
FOOTERS = ["All rights reserved. Copyright {n} News Agency.",
           "Leave a Comment\n\n{n} + {n} =", "Read more stories like this on our website.",
           "Subscribe to our newsletter for daily updates."]


def sentences(texts: Iterable[str]) -> list[str]:
    """Sentences of ``texts`` (a simple split at ., ! or ? before a capital)."""
    out: list[str] = []
    for text in texts:
        out.extend(s.strip() for s in _SENTENCE.split(text) if len(s.split()) >= 4)
    return out


@dataclass
class PlantedCorpus:
    ids: list[str]
    texts: list[str]
    origin: list[int]  # index of the base document a copy derives from (itself for a base)
    kind: list[str]  # "base", "exact", "format", "wrap", "edit"


def generate(source_texts: list[str], n_docs: int, dup_fraction: float = 0.3,
             target_chars: int = 2000, seed: int = 0) -> PlantedCorpus:
    """``n_docs`` documents, about ``dup_fraction`` of them planted copies of others."""
    rng = np.random.default_rng(seed)
    pool = sentences(source_texts)
    vocab = [w for t in source_texts for w in t.split() if w.isalpha()]
    mean_len = float(np.mean([len(s) for s in pool]))
    per_doc = max(1, int(target_chars / (mean_len + 1)))
    ids: list[str] = []
    texts: list[str] = []
    origin: list[int] = []
    kind: list[str] = []
    for i in range(n_docs):
        if texts and rng.random() < dup_fraction:
            base = int(rng.integers(len(texts)))
            k = str(rng.choice(["exact", "format", "wrap", "edit", "edit"]))
            texts.append(_variant(texts[base], k, rng, vocab))
            origin.append(origin[base])
            kind.append(k)
        else:
            words = " ".join(pool[j] for j in rng.integers(0, len(pool), per_doc)).split()
            swap = rng.random(len(words)) < 0.15
            for w in np.flatnonzero(swap).tolist():
                words[w] = vocab[int(rng.integers(len(vocab)))]
            texts.append(" ".join(words))
            origin.append(i)
            kind.append("base")
        ids.append(f"doc{i:07d}")
    return PlantedCorpus(ids, texts, origin, kind)


def _variant(text: str, kind: str, rng: np.random.Generator, vocab: list[str]) -> str:
    if kind == "exact":
        return text
    if kind == "format":
        # Same tokens after normalisation: case, spacing, line breaks, punctuation.
        words = text.split()
        cut = sorted(set(rng.integers(1, max(2, len(words)), 4).tolist()))
        parts = [" ".join(words[a:b]) for a, b in zip([0] + cut, cut + [len(words)])]
        return "\n\n".join(parts).upper() if rng.random() < 0.5 else "  \n".join(parts)
    if kind == "wrap":
        n = int(rng.integers(2, 60))
        head = str(rng.choice(HEADERS)).format(n=n, place="Sydney")
        foot = str(rng.choice(FOOTERS)).format(n=n)
        return f"{head}\n\n{text}\n\n{foot}"
    words = text.split()
    rate = float(rng.uniform(0.002, 0.06))
    out: list[str] = []
    for w in words:
        r = rng.random()
        if r < rate / 3:
            continue
        if r < 2 * rate / 3:
            out.append(vocab[int(rng.integers(len(vocab)))])
        elif r < rate:
            out.extend([w, vocab[int(rng.integers(len(vocab)))]])
        else:
            out.append(w)
    return " ".join(out)


def exact_pairs(texts: list[str], threshold: float,
                ngram: int = DEFAULT_NGRAM) -> dict[tuple[int, int], float]:
    """All pairs ``(i, j)``, ``i < j``, with shingle-set Jaccard >= ``threshold``, and
    their Jaccard: the brute-force truth (exact on the token shingles themselves; only
    pairs sharing no shingle, whose Jaccard is 0, are skipped)."""
    sets = [shingles(tokens(t), ngram) for t in texts]
    postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for sh in s:
            postings[sh].append(i)
    common: dict[tuple[int, int], int] = defaultdict(int)
    for docs in postings.values():
        for x in range(len(docs)):
            for y in range(x + 1, len(docs)):
                common[(docs[x], docs[y])] += 1
    out = {}
    for (i, j), c in common.items():
        score = c / (len(sets[i]) + len(sets[j]) - c)
        if score >= threshold:
            out[(i, j)] = score
    return out
