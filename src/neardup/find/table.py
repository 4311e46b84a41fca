"""The query table: every n-gram of every query, for finding them in a corpus streamed once.

A query of ``t`` tokens has ``t - n + 1`` n-grams (its *positions*: n-gram ``i`` covers
tokens ``i`` to ``i + n - 1``), or, when ``t < n``, one: the whole query, which then
matches only as a whole. The tokens are those of :mod:`neardup.text`, so scripts
written without spaces count a character (with its marks) as a token.

What is kept, per query n-gram: **8 bytes**, one ``uint64`` *key*: the top ``64 - b`` bits
of the n-gram's hash (:func:`neardup.sketch.shingle_sequence`), then ``b`` bits giving its
*row*, its place among all the queries' positions end to end (``b`` the bits ``rows - 1``
needs). The keys are sorted, so the rows of one hash prefix stand together; a row's query
and position come from the queries' first rows (8 bytes a query). In front, a blocked
Bloom filter of the prefixes, at least 16 bits each (two bits in one 64-bit word, all read
from the prefix): a corpus n-gram that is no query's passes with probability about
``(1 - exp(-2 / 16))**2``, 1.4%, at full load, and then meets a key of its prefix with
probability ``rows / 2**(64 - b)`` (below 0.1% up to 100 million rows). Neither decides:
every match is checked token by token before it is reported (:mod:`neardup.find.scan`),
so a truncated hash costs a check, never a false match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sketch import shingle_sequence
from ..text import tokens

#: Filter bits per query n-gram, at least (a power of two of words is used).
FILTER_BITS_PER_KEY = 16
_CHUNK = 1 << 22  # rows handled at once while building: bounds the build's extra memory


@dataclass
class QueryTable:
    """The n-grams of ``len(texts)`` queries as sorted keys, and their filter."""

    ngram: int
    texts: list[str]  #: each query's text as read (passages are offsets into it)
    ntokens: np.ndarray  #: (queries,) int64: tokens per query
    first_rows: np.ndarray  #: (queries + 1,) int64: each query's first row; then all rows
    keys: np.ndarray  #: (rows,) uint64, sorted: hash prefix, then row
    row_bits: int
    filter: np.ndarray  #: (2**log2_words,) uint64: the blocked Bloom filter
    log2_words: int
    short_widths: int  #: bit ``w`` set when some query has ``w < ngram`` tokens

    @classmethod
    def build(cls, texts: list[str], ngram: int) -> QueryTable:
        """The table of ``texts`` (each with at least one token)."""
        if ngram < 1 or ngram > 63:
            raise ValueError(f"ngram must be 1 to 63, got {ngram}")
        parts, counts = [], []
        for start in range(0, len(texts), 65536):  # a few arrays, not one a query
            sequences = [shingle_sequence(t, ngram) for t in texts[start:start + 65536]]
            counts += [len(s) for s in sequences]
            parts.append(np.concatenate(sequences))
        count = np.array(counts, dtype=np.int64)
        if len(texts) and not count.all():
            raise ValueError(f"query {int(np.argmin(count))} has no words to find")
        keys = np.concatenate(parts) if parts else np.empty(0, np.uint64)
        del parts
        ntokens = np.array([len(tokens(t)) if c == 1 else c + ngram - 1
                            for t, c in zip(texts, counts)], dtype=np.int64)
        short_widths = 0
        for width in np.unique(ntokens[ntokens < ngram]).tolist():
            short_widths |= 1 << width
        row_bits = max(1, (len(keys) - 1).bit_length())
        if row_bits > 40:
            raise ValueError(f"{len(keys):,} query n-grams: the table holds at most 2**40")
        prefix = ~np.uint64((1 << row_bits) - 1)
        for at in range(0, len(keys), _CHUNK):  # in place: hash prefix, then row
            part = keys[at:at + _CHUNK]
            part &= prefix
            part |= np.arange(at, at + len(part), dtype=np.uint64)
        keys.sort()
        words, log2_words = bloom_filter(keys, row_bits)
        return cls(ngram, list(texts), ntokens, np.r_[0, np.cumsum(count)], keys, row_bits,
                   words, log2_words, short_widths)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def ngrams(self) -> np.ndarray:
        """(queries,) int64: n-gram positions per query (1 for a query shorter than n)."""
        return np.diff(self.first_rows)

    @property
    def widths(self) -> np.ndarray:
        """(queries,) int64: tokens per n-gram of each query (its length when shorter)."""
        return np.minimum(self.ntokens, self.ngram)

    @property
    def nbytes(self) -> int:
        """Bytes the table holds besides the query texts."""
        return sum(a.nbytes for a in (self.ntokens, self.first_rows, self.keys, self.filter))

    def entries(self, found: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For hashes ``found`` (uint64): which of them some query n-gram may have (its
        prefix's), and for each such one ``(index into found, query, position)``, as
        int64 arrays."""
        keys, end = self.keys, len(self.keys)
        prefix = found & ~np.uint64((1 << self.row_bits) - 1)
        first = np.searchsorted(keys, prefix)
        count = np.zeros(len(found), dtype=np.int64)
        # Most prefixes hold one row: step past equal ones instead of a second search.
        active = np.flatnonzero(first < end)
        while len(active):
            at = first[active] + count[active]
            active = active[(at < end) & ((keys[np.minimum(at, end - 1)] & ~np.uint64(
                (1 << self.row_bits) - 1)) == prefix[active])]
            count[active] += 1
        held = np.flatnonzero(count)
        index = np.repeat(held, count[held])
        at = np.repeat(first[held] - np.cumsum(count[held]) + count[held], count[held]) \
            + np.arange(int(count.sum()))
        rows = (keys[at] & np.uint64((1 << self.row_bits) - 1)).astype(np.int64)
        query = np.searchsorted(self.first_rows, rows, side="right") - 1
        return index, query, rows - self.first_rows[query]


def bloom_filter(keys: np.ndarray, row_bits: int) -> tuple[np.ndarray, int]:
    """The blocked Bloom filter of the hash prefixes of sorted ``keys``: ``2**L`` words,
    ``L`` the least giving each key :data:`FILTER_BITS_PER_KEY` bits (at most what the
    prefix can address); hash ``h`` sets bits ``(h >> (58 - L)) & 63`` and
    ``(h >> (52 - L)) & 63`` of word ``h >> (64 - L)``."""
    need_words = max(1, -(-len(keys) * FILTER_BITS_PER_KEY // 64))
    log2_words = min(int(need_words - 1).bit_length(), max(0, 64 - row_bits - 12), 40)
    words = np.zeros(1 << log2_words, dtype=np.uint64)
    one, six = np.uint64(1), np.uint64(63)
    for at in range(0, len(keys), _CHUNK):
        h = keys[at:at + _CHUNK]
        word = (h >> np.uint64(64 - log2_words) if log2_words
                else np.zeros(len(h), dtype=np.uint64)).astype(np.int64)
        bits = ((one << ((h >> np.uint64(58 - log2_words)) & six))
                | (one << ((h >> np.uint64(52 - log2_words)) & six)))
        # The keys are sorted, so their words are too: OR each run of one word at once.
        heads = np.flatnonzero(np.r_[True, word[1:] != word[:-1]])
        words[word[heads]] |= np.bitwise_or.reduceat(bits, heads)
    return words, log2_words
