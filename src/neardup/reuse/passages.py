"""Passages two texts share, tolerant of small edits.

:func:`neardup.align.align` finds runs of identical tokens (anchored on shared
``ngram``-token shingles and extended while both texts agree). A reused passage with a
changed word, an inserted aside or a dropped clause is several runs a few tokens apart in
both texts; runs that follow each other in both texts with at most ``max_gap`` unmatched
tokens between them on either side are joined into one passage. Whitespace and
punctuation never break a run, because tokens are words (:mod:`neardup.text`).

A passage's ``identity`` is its exactly aligned tokens over its longer side's tokens. Its
boundaries are those of its first and last identical runs, so an edit in a passage's
first or last words moves the boundary inward by at most ``ngram - 1`` words.
"""

from __future__ import annotations

import numpy as np

from .. import _sketch
from ..align import Passage, Tokens, align, token_span
from ..text import DEFAULT_NGRAM


def may_share_passages(sequences: list[np.ndarray], first: np.ndarray, second: np.ndarray,
                       *, min_words: int = 40, max_gap: int = 10,
                       ngram: int = DEFAULT_NGRAM) -> np.ndarray:
    """For each pair ``(sequences[first[k]], sequences[second[k]])``: False when the two
    texts cannot share a passage that :func:`shared_passages` reports. A test on shingle
    hashes alone (compiled), many times cheaper than aligning, for candidate pairs whose
    shared shingles are scattered (sentences a corpus repeats everywhere, in any order).

    ``sequences[i]`` is a text's shingle hashes in order
    (:func:`neardup.sketch.shingle_sequence`). Why it is safe: every ``ngram``-token window
    inside an aligned run is a shingle both texts hold, and a passage joins runs whose gap
    is at most ``max_gap`` tokens, so on each side a passage of ``L`` words holds shared
    shingles starting at positions ``p_1 < ... < p_k`` with ``p_{i+1} - p_i <= max_gap +
    ngram`` and ``p_k + ngram - p_1 >= L``. Where no such chain reaches ``min_words`` on
    both sides, there is no passage (64-bit hash collisions only add shared shingles, so
    they cannot hide one).
    """
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in sequences], out=offsets[1:])
    values = (np.concatenate(sequences) if sequences else np.empty(0)).astype(np.uint64)
    out = np.zeros(len(first), dtype=np.int64)
    _sketch.passage_chains(values, offsets, np.ascontiguousarray(first, dtype=np.int64),
                           np.ascontiguousarray(second, dtype=np.int64), ngram, min_words,
                           max_gap, out)
    return out.astype(bool)


def shared_passages(a: Tokens, b: Tokens, *, min_words: int = 40, max_gap: int = 10,
                    ngram: int = DEFAULT_NGRAM) -> list[Passage]:
    """Passages of at least ``min_words`` words (on both sides) that ``a`` and ``b`` share,
    in ``a``'s order."""
    if not a.words or not b.words:
        return []
    runs, _, _ = align(a, b, ngram)
    out = []
    for i, j, la, lb, matched in _join(runs, max_gap):
        if min(la, lb) >= min_words:
            out.append(Passage(token_span(a, i, i + la - 1), token_span(b, j, j + lb - 1),
                               round(matched / max(la, lb), 4)))
    return out


def _join(runs: list[tuple[int, int, int]], max_gap: int, lookback: int = 4
          ) -> list[tuple[int, int, int, int, int]]:
    """Aligned runs ``(i, j, length)`` joined across small edits into passages
    ``(i, j, length_in_a, length_in_b, tokens_matched)``, in ``a``'s order.

    A run extends whichever of the last ``lookback`` passages it follows closely in both
    texts, so a stray short match elsewhere (a repeated phrase) does not cut a passage
    in two: it starts a passage of its own, too short to be reported.
    """
    out: list[tuple[int, int, int, int, int]] = []
    for i, j, n in sorted(runs):
        for k in range(len(out) - 1, max(-1, len(out) - 1 - lookback), -1):
            pi, pj, la, lb, matched = out[k]
            gap_a, gap_b = i - (pi + la), j - (pj + lb)
            if 0 <= gap_a <= max_gap and 0 <= gap_b <= max_gap:
                out[k] = (pi, pj, i + n - pi, j + n - pj, matched + n)
                break
        else:
            out.append((i, j, n, n, n))
    return sorted(out)
