"""The query table: every n-gram of every query, for finding them in a corpus streamed once.

A query of ``t`` tokens has ``t - n + 1`` n-grams (its *positions*: n-gram ``i`` covers
tokens ``i`` to ``i + n - 1``), or, when ``t < n``, one: the whole query, which then
matches only as a whole. The tokens are the README's (:mod:`neardup.text`), so scripts
written without spaces count a character (with its marks) as a token.

What is kept, per query n-gram position: its 64-bit hash (the hash of
:func:`neardup.sketch.shingle_sequence`), its query's number and its position, sorted by
hash: **16 bytes**. In front of it, a blocked Bloom filter of the distinct hashes, at
least 16 bits each (two bits set in one 64-bit word chosen by the hash's top bits), so the
scan asks the sorted table only about the corpus n-grams that pass: a corpus n-gram that
is no query's passes with probability about ``(1 - exp(-2 / 16))**2``, 1.4%, at full load
(less below it). Nothing decides on the filter or on a hash alone: every match is checked
token by token before it is reported (:mod:`neardup.find.scan`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sketch import shingle_sequence
from ..text import tokens

#: Filter bits per distinct query n-gram, at least (a power of two of words is used).
FILTER_BITS_PER_KEY = 16
TABLE_BYTES_PER_NGRAM = 16  # hash 8, query 4, position 4


@dataclass
class QueryTable:
    """The n-grams of ``len(texts)`` queries, sorted by hash, and their filter."""

    ngram: int
    texts: list[str]  #: each query's text as read (passages are offsets into it)
    ntokens: np.ndarray  #: (queries,) int64: tokens per query
    hashes: np.ndarray  #: (rows,) uint64, sorted: one row per query n-gram position
    queries: np.ndarray  #: (rows,) uint32: the row's query
    positions: np.ndarray  #: (rows,) uint32: the row's position in its query
    filter: np.ndarray  #: (2**log2_words,) uint64: the blocked Bloom filter
    log2_words: int
    short_widths: int  #: bit ``w`` set when some query has ``w < ngram`` tokens

    @classmethod
    def build(cls, texts: list[str], ngram: int) -> QueryTable:
        """The table of ``texts`` (each with at least one token)."""
        if ngram < 1 or ngram > 63:
            raise ValueError(f"ngram must be 1 to 63, got {ngram}")
        sequences = [shingle_sequence(t, ngram) for t in texts]
        counts = np.array([len(s) for s in sequences], dtype=np.int64)
        if len(texts) and not counts.all():
            raise ValueError(f"query {int(np.argmin(counts))} has no words to find")
        ntokens = np.array([len(tokens(t)) if c == 1 else c + ngram - 1
                            for t, c in zip(texts, counts.tolist())], dtype=np.int64)
        short_widths = 0
        for width in np.unique(ntokens[ntokens < ngram]).tolist():
            short_widths |= 1 << width
        hashes = np.concatenate(sequences) if sequences else np.empty(0, np.uint64)
        queries = np.repeat(np.arange(len(texts), dtype=np.uint32), counts)
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        positions = (np.arange(len(hashes), dtype=np.int64) - starts).astype(np.uint32)
        order = np.argsort(hashes, kind="stable")  # ties stay in query, position order
        hashes, queries, positions = hashes[order], queries[order], positions[order]
        del order
        words, log2_words = bloom_filter(hashes)
        return cls(ngram, list(texts), ntokens, hashes, queries, positions, words, log2_words,
                   short_widths)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def ngrams(self) -> np.ndarray:
        """(queries,) int64: n-gram positions per query (1 for a query shorter than n)."""
        return np.maximum(self.ntokens - self.ngram + 1, 1)

    @property
    def widths(self) -> np.ndarray:
        """(queries,) int64: tokens per n-gram of each query (its length when shorter)."""
        return np.minimum(self.ntokens, self.ngram)

    @property
    def nbytes(self) -> int:
        """Bytes the table holds besides the query texts."""
        return sum(a.nbytes for a in (self.ntokens, self.hashes, self.queries,
                                      self.positions, self.filter))

    def rows_of(self, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For hashes ``found`` (uint64), each one's first row in the table and its number
        of rows (0 for a hash no query holds)."""
        hashes, end = self.hashes, len(self.hashes)
        first = np.searchsorted(hashes, found)
        count = np.zeros(len(found), dtype=np.int64)
        # Most hashes hold one row: step past equal rows instead of a second search.
        active = np.flatnonzero(first < end)
        while len(active):
            at = first[active] + count[active]
            active = active[(at < end) & (hashes[np.minimum(at, end - 1)] == found[active])]
            count[active] += 1
        return first, count


def bloom_filter(sorted_hashes: np.ndarray) -> tuple[np.ndarray, int]:
    """The blocked Bloom filter of sorted 64-bit hashes: ``2**k`` words, ``k`` the least
    giving each distinct hash :data:`FILTER_BITS_PER_KEY` bits; hash ``h`` sets bits
    ``h & 63`` and ``(h >> 6) & 63`` of word ``h >> (64 - k)``."""
    distinct = np.unique(sorted_hashes) if len(sorted_hashes) else sorted_hashes
    need_words = max(1, -(-len(distinct) * FILTER_BITS_PER_KEY // 64))
    log2_words = int(need_words - 1).bit_length()
    words = np.zeros(1 << log2_words, dtype=np.uint64)
    if not len(distinct):
        return words, log2_words
    one = np.uint64(1)
    bits = (one << (distinct & np.uint64(63))) | (one << ((distinct >> np.uint64(6))
                                                          & np.uint64(63)))
    word = (distinct >> np.uint64(64 - log2_words) if log2_words
            else np.zeros(len(distinct), dtype=np.uint64)).astype(np.int64)
    # The hashes are sorted, so their words are too: OR each run of one word at once.
    heads = np.flatnonzero(np.r_[True, word[1:] != word[:-1]])
    words[word[heads]] = np.bitwise_or.reduceat(bits, heads)
    return words, log2_words
