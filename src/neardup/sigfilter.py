"""A cheap test on the signatures between banding and exact verification.

Banding proposes every pair that agrees on all rows of one band. On documents that share
real paragraphs (templates, syndicated paragraphs, quotes), most of those are pairs that
share one paragraph of three (Jaccard about 0.3), and their number grows with the square
of how often each paragraph recurs. Each is dropped here, before its shingle sets are
read, by a test that costs a compare of ``k`` bytes.

The test: b-bit MinHash (Li and König, 2010). Each document keeps the lowest 8 bits of
each of its ``k`` MinHash values (``k`` bytes). For two documents with shingle-set
Jaccard ``J``, position ``j`` agrees when their minima are the same (probability ``J``) or
when different minima share their low 8 bits (probability ``2**-8`` for hash values whose
low bits are uniform), so it agrees with probability

    p(J) = J + (1 - J) / 256,

and, the ``k`` positions having independent hash functions, the number of agreeing
positions ``X`` is ``Binomial(k, p(J))`` for ideal MinHash. A pair goes on to the exact
test only if ``X >= c``, where ``c`` is the largest count that drops a pair at the
threshold ``t`` with probability at most ``max_drop``:

    P(Binomial(k, p(t)) < c) <= max_drop     (default 1e-6).

Pairs above ``t`` are dropped less often still (``X`` grows with ``J``). With ``k = 128``
and ``t = 0.8``, ``c = 79``: a pair passes if about 62% of its positions agree, while a
pair at ``J = 0.3`` (expected ``X`` of 39) passes with probability below ``1e-14``.
The filter decides nothing on its own: a pair it passes is still verified exactly.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from . import _sketch

#: Bits of each MinHash value kept for the test.
BITS = 8
#: Default chance that the test drops a pair at the threshold.
DEFAULT_MAX_DROP = 1e-6


def signature_bytes(signatures: np.ndarray) -> np.ndarray:
    """The ``(n, k)`` uint8 rows the test compares: the low :data:`BITS` bits of each of the
    ``(n, k)`` uint32 MinHash values."""
    return (signatures & np.uint32(0xFF)).astype(np.uint8)


def agreement_probability(jaccard: float) -> float:
    """``p(J) = J + (1 - J) / 2**BITS``: the chance one position of two documents agrees."""
    return jaccard + (1.0 - jaccard) / (1 << BITS)


def binomial_below(k: int, p: float, c: int) -> float:
    """``P(Binomial(k, p) < c)``, summed exactly term by term in logs."""
    if c <= 0:
        return 0.0
    if p >= 1.0:
        return 0.0 if c <= k else 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    return min(1.0, sum(math.exp(math.lgamma(k + 1) - math.lgamma(i + 1) - math.lgamma(k - i + 1)
                                 + i * log_p + (k - i) * log_q) for i in range(min(c, k + 1))))


def agreement_cutoff(threshold: float, k: int, max_drop: float = DEFAULT_MAX_DROP) -> int:
    """The largest ``c`` with ``P(Binomial(k, p(threshold)) < c) <= max_drop`` (see the
    module docstring); 0 (every pair passes) if even ``c = 1`` would drop more."""
    p = agreement_probability(threshold)
    c = 0
    while c < k and binomial_below(k, p, c + 1) <= max_drop:
        c += 1
    return c


class SignatureFilter:
    """Passes the pairs of documents whose signature rows agree in at least ``cutoff``
    positions. ``rows`` gives the ``(n, k)`` uint8 matrix (a :class:`RowSource`, read when
    first asked, in the process that asks). Picklable."""

    def __init__(self, rows: RowSource, cutoff: int) -> None:
        self.rows, self.cutoff = rows, cutoff

    def agreements(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """How many positions of rows ``first[k]`` and ``second[k]`` agree, for each ``k``."""
        matrix = self.rows.matrix()
        first = np.ascontiguousarray(first, dtype=np.int64)
        second = np.ascontiguousarray(second, dtype=np.int64)
        out = np.empty(len(first), dtype=np.int64)
        _sketch.agreements(matrix, matrix.shape[1], first, second, out)
        return out

    def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """A boolean mask: which pairs ``(first[k], second[k])`` pass."""
        if not self.cutoff or not len(first):
            return np.ones(len(first), dtype=bool)
        return self.agreements(first, second) >= self.cutoff

    def on(self, row_of: np.ndarray) -> RowsTest | None:
        """This test for items numbered ``0..len(row_of)-1`` whose rows are ``row_of``, as
        :func:`neardup.lsh.band_pair_codes` takes it; None when every pair passes (no
        cutoff), so banding tests nothing."""
        if not self.cutoff:
            return None
        return RowsTest(self, np.ascontiguousarray(row_of, dtype=np.int64))


class RowsTest:
    """:class:`SignatureFilter` for items whose rows are ``row_of[item]`` (the documents a
    band is grouped over). Called as ``test(i, j)`` it gives the mask; :meth:`within_buckets`
    makes and tests a bucket's pairs in one compiled loop, never holding those it drops
    (:func:`neardup.lsh.band_pair_codes` uses it when given one)."""

    def __init__(self, test: SignatureFilter, row_of: np.ndarray) -> None:
        self.test, self.row_of = test, row_of

    def __call__(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return self.test(self.row_of[i], self.row_of[j])

    def within_buckets(self, members: np.ndarray, starts: np.ndarray, sizes: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        """The pairs ``(a, b)``, ``a < b``, of each bucket (``members[starts[g]:starts[g] +
        sizes[g]]``, ascending) that pass, bucket by bucket."""
        matrix = self.test.rows.matrix()
        flat = np.frombuffer(_sketch.agreeing_pairs(
            np.ascontiguousarray(members, dtype=np.int64),
            np.ascontiguousarray(starts, dtype=np.int64),
            np.ascontiguousarray(sizes, dtype=np.int64), self.row_of, matrix,
            matrix.shape[1], self.test.cutoff), dtype=np.int64)
        return flat[0::2], flat[1::2]


class RowSource(Protocol):
    """Where :class:`SignatureFilter` reads its ``(n, k)`` uint8 matrix from:
    :class:`RowsInMemory`, or the local engine's spill file
    (:class:`~neardup.store.SpilledRowsReader`)."""

    def matrix(self) -> np.ndarray: ...


class RowsInMemory:
    """A matrix already in memory (the index, the Spark driver, tests)."""

    def __init__(self, rows: np.ndarray) -> None:
        self._rows = np.ascontiguousarray(rows, dtype=np.uint8)

    def matrix(self) -> np.ndarray:
        return self._rows

    def __getstate__(self) -> dict[str, Any]:
        return {"_rows": self._rows}
