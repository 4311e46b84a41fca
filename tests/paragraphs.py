"""Corpora whose documents share real paragraphs, as crawls and news archives do, and
their brute-force truth.

A pool of ``pool`` paragraphs is built from the real sentences of the ABC news in
``tests/data`` (2 to 5 sentences each, 30% of words swapped once per paragraph so that
paragraphs are distinct). Each base document strings 2 to 4 pool paragraphs together, so a
paragraph stands in about ``3 * docs / pool`` documents and unrelated documents that share
one paragraph have Jaccard 0.15-0.35; ``copies`` of the documents are near copies of an
earlier one (a few words edited, or a line added at the top or bottom).

The truth is computed here, with its own tokens and shingles (words of letters and digits,
casefolded, runs of ``ngram``), importing nothing from neardup: the pairs at or above a
threshold among all pairs that share a paragraph, which are the only pairs that can come
near it (unrelated paragraphs share a few incidental shingles at most).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LEE = Path(__file__).resolve().parent / "data" / "lee_background.cor"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_WORD = re.compile(r"\w+")


@dataclass
class SharedParagraphs:
    texts: list[str]
    paragraphs: list[tuple[int, ...]]  # the pool paragraphs each document is made of
    origin: list[int]  # the document a near copy was made from (itself for a base)


def pool_paragraphs(pool: int, seed: int = 0) -> list[str]:
    """``pool`` distinct paragraphs of 2-5 real sentences, 30% of words swapped."""
    lee = LEE.read_text(encoding="utf-8").splitlines()
    sentences = [s.strip() for t in lee for s in _SENTENCE.split(t) if len(s.split()) >= 4]
    vocab = [w for t in lee for w in t.split() if w.isalpha()]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(pool):
        words = " ".join(sentences[j] for j in rng.integers(0, len(sentences),
                                                            int(rng.integers(2, 6)))).split()
        for w in np.flatnonzero(rng.random(len(words)) < 0.3).tolist():
            words[w] = vocab[int(rng.integers(len(vocab)))]
        out.append(" ".join(words))
    return out


def generate(docs: int, pool: int, copies: float = 0.1, seed: int = 0,
             start: int = 0, paragraphs: list[str] | None = None) -> SharedParagraphs:
    """``docs`` documents of 2-4 paragraphs of a pool of ``pool``, a share ``copies`` of
    them near copies of earlier ones. ``start`` and ``paragraphs`` let a large corpus be
    built in chunks over one pool (copies are made within a chunk)."""
    paras = paragraphs if paragraphs is not None else pool_paragraphs(pool, seed)
    vocab = [w for p in paras[:2000] for w in p.split() if w.isalpha()]
    rng = np.random.default_rng((seed, start))
    texts: list[str] = []
    made: list[tuple[int, ...]] = []
    origin: list[int] = []
    for i in range(docs):
        if texts and rng.random() < copies:
            base = int(rng.integers(len(texts)))
            texts.append(_near_copy(texts[base], rng, vocab))
            made.append(made[base])
            origin.append(origin[base])
        else:
            chosen = tuple(int(p) for p in rng.choice(len(paras), int(rng.integers(2, 5)),
                                                      replace=False))
            texts.append("\n\n".join(paras[p] for p in chosen))
            made.append(chosen)
            origin.append(start + i)
    return SharedParagraphs(texts, made, origin)


def _near_copy(text: str, rng: np.random.Generator, vocab: list[str]) -> str:
    if rng.random() < 0.3:
        line = f"Updated {int(rng.integers(2, 60))} minutes ago"
        return f"{line}\n\n{text}" if rng.random() < 0.5 else f"{text}\n\n{line}"
    words = text.split(" ")
    for w in np.flatnonzero(rng.random(len(words)) < rng.uniform(0.002, 0.03)).tolist():
        words[w] = vocab[int(rng.integers(len(vocab)))]
    return " ".join(words)


def shingle_set(text: str, ngram: int = 5) -> frozenset[tuple[str, ...]]:
    """The oracle's shingles: runs of ``ngram`` casefolded words (or the whole text if
    shorter)."""
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < ngram:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i:i + ngram]) for i in range(len(words) - ngram + 1))


def sharing_pairs(paragraphs: list[tuple[int, ...]], docs: Iterable[int] | None = None
                  ) -> Iterator[tuple[int, int]]:
    """Every pair ``(i, j)``, ``i < j``, of documents that share a pool paragraph, each
    once; with ``docs``, only the pairs that hold one of them."""
    holders: dict[int, list[int]] = defaultdict(list)
    for i, made in enumerate(paragraphs):
        for p in made:
            holders[p].append(i)
    wanted = range(len(paragraphs)) if docs is None else sorted(set(docs))
    for i in wanted:
        seen: set[int] = set()
        for p in paragraphs[i]:
            seen.update(holders[p])
        seen.discard(i)
        for j in seen:
            if docs is None and j < i:
                continue
            yield (i, j) if i < j else (j, i)


def true_pairs(texts: list[str], paragraphs: list[tuple[int, ...]], threshold: float,
               docs: Iterable[int] | None = None, ngram: int = 5
               ) -> dict[tuple[int, int], float]:
    """Exact Jaccard of every pair at or above ``threshold`` among the pairs that share a
    paragraph (with ``docs``: that hold one of ``docs``)."""
    sets: dict[int, frozenset[tuple[str, ...]]] = {}

    def shingles_of(i: int) -> frozenset[tuple[str, ...]]:
        if i not in sets:
            sets[i] = shingle_set(texts[i], ngram)
        return sets[i]

    out: dict[tuple[int, int], float] = {}
    for i, j in sharing_pairs(paragraphs, docs):
        a, b = shingles_of(i), shingles_of(j)
        if not a or not b:
            continue
        small, large = sorted((len(a), len(b)))
        if small < threshold * large:  # Jaccard <= |small| / |large|
            continue
        score = len(a & b) / len(a | b)
        if score >= threshold:
            out[(i, j)] = score
    return out
