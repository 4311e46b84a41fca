"""Text reuse: passages that two documents share even when the documents as wholes differ.

Whole-document MinHash misses a wire paragraph inside a longer article, so candidates come
from an inverted index of shingle hashes instead: two documents are candidates when they
share at least ``min_shared`` shingles, not counting shingles found in more than
``max_doc_frequency`` documents (mastheads, stock phrases: they link everything to
everything). Each candidate pair is aligned (:func:`neardup.align.align`), and passages
split by a small edit (at most ``max_gap`` differing tokens on either side) are joined,
so a reused paragraph with a changed word is one passage. Passages shorter than
``min_words`` are dropped.

This is the first part of issue 4 (pairs and passages); groups across many documents,
provenance and the report are still to come.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .align import Passage, Tokens, align, token_span, tokenize_with_offsets
from .text import DEFAULT_NGRAM, shingles


@dataclass(frozen=True)
class ReuseOptions:
    ngram: int = DEFAULT_NGRAM
    min_words: int = 40  #: shortest passage reported
    min_shared: int = 10  #: shared shingles that make two documents candidates
    max_doc_frequency: int = 50  #: shingles in more documents than this are ignored
    max_gap: int = 3  #: tokens of edit inside one passage, on either side


@dataclass(frozen=True)
class ReusePair:
    """Passages documents ``a`` and ``b`` share, and how much of each they make up."""

    a: str
    b: str
    passages: list[Passage]
    containment_a: float  #: share of a's tokens inside shared passages
    containment_b: float


def find_reuse(docs: Iterable[tuple[str, str]],
               options: ReuseOptions = ReuseOptions()) -> list[ReusePair]:
    """Every pair of documents sharing passages of at least ``options.min_words`` words."""
    ids: list[str] = []
    toks: list[Tokens] = []
    postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for doc_id, text in docs:
        t = tokenize_with_offsets(text)
        for sh in shingles(t.words, options.ngram):
            postings[sh].append(len(ids))
        ids.append(doc_id)
        toks.append(t)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for holders in postings.values():
        if len(holders) > options.max_doc_frequency:
            continue
        for x in range(len(holders)):
            for y in range(x + 1, len(holders)):
                shared[(holders[x], holders[y])] += 1
    found = []
    for (i, j), count in sorted(shared.items()):
        if count < options.min_shared:
            continue
        runs = _join(align(toks[i], toks[j], options.ngram)[0], options.max_gap)
        runs = [r for r in runs if min(r[2], r[3]) >= options.min_words]
        if not runs:
            continue
        passages = [Passage(token_span(toks[i], a, a + la - 1), token_span(toks[j], b, b + lb - 1))
                    for a, b, la, lb in runs]
        found.append(ReusePair(ids[i], ids[j], passages,
                               sum(r[2] for r in runs) / len(toks[i].words),
                               sum(r[3] for r in runs) / len(toks[j].words)))
    return found


def _join(runs: list[tuple[int, int, int]], max_gap: int) -> list[tuple[int, int, int, int]]:
    """Aligned runs ``(i, j, length)`` in A's order, joined across small edits into passages
    ``(i, j, length_in_a, length_in_b)``."""
    out: list[tuple[int, int, int, int]] = []
    for i, j, n in sorted(runs):
        if out:
            pi, pj, la, lb = out[-1]
            gap_a, gap_b = i - (pi + la), j - (pj + lb)
            if 0 <= gap_a <= max_gap and 0 <= gap_b <= max_gap:
                out[-1] = (pi, pj, i + n - pi, j + n - pj)
                continue
        out.append((i, j, n, n))
    return out
