"""Batched document sketches: exact key, token count, MinHash signature, shingle hashes.

One call of :meth:`Sketcher.sketch` normalises a batch of texts (NFKC +
casefold, :func:`neardup.text.normalise`) and hands them to the compiled kernel
(``neardup._sketch``), which tokenises exactly as :data:`neardup.text.TOKEN` does,
hashes each ``ngram``-token shingle to 64 bits and takes ``num_perm`` MinHash
minima.

What the numbers mean
---------------------
* ``keys``: a 128-bit hash of the token sequence. Two documents with the same
  tokens in the same order (an exact duplicate after normalisation) have the
  same key; distinct sequences collide with probability about 2**-64 (token
  hashes are 64-bit).
* ``signatures[i, j]``: ``min over shingles s of h_j(s)``, 32 bits. For two
  documents with shingle-set Jaccard ``J``, ``P(sig_a[j] == sig_b[j]) ≈ J``, so
  the fraction of equal positions estimates ``J`` with standard error
  ``sqrt(J (1 - J) / num_perm)`` (0.035 at J = 0.8, num_perm = 128).
* ``shingles``: each document's set of 64-bit shingle hashes, sorted and
  distinct. Exact Jaccard is computed on these sets; it equals the Jaccard of
  the token shingles unless two distinct shingles collide in 64 bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _sketch
from .text import DEFAULT_NGRAM, normalise

#: Bump when any hash definition in ``_sketch.c`` changes: stored sketches are then stale.
SKETCH_VERSION = 3


@dataclass(frozen=True)
class SketchParams:
    """What fixes a sketch: equal params give identical sketches on any machine."""

    ngram: int = DEFAULT_NGRAM
    num_perm: int = 128
    seed: int = 1

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise ValueError(f"ngram must be at least 1, got {self.ngram}")
        if self.num_perm < 1:
            raise ValueError(f"num_perm must be at least 1, got {self.num_perm}")


@dataclass
class SketchBatch:
    """Sketches of ``n`` documents (row ``i`` is the batch's ``i``-th text)."""

    keys: np.ndarray  # (n, 2) uint64
    ntokens: np.ndarray  # (n,) int64
    signatures: np.ndarray  # (n, num_perm) uint32
    shingle_counts: np.ndarray  # (n,) int64: distinct shingles
    shingles: np.ndarray | None  # (sum(shingle_counts),) uint64, sorted per document, or None

    def __len__(self) -> int:
        return len(self.ntokens)

    def shingles_of(self, i: int) -> np.ndarray:
        """The sorted, distinct shingle hashes of document ``i`` (requires ``shingles``)."""
        assert self.shingles is not None, "sketch(..., with_shingles=True) keeps shingles"
        ends = np.cumsum(self.shingle_counts)
        return self.shingles[ends[i] - self.shingle_counts[i] : ends[i]]


class Sketcher:
    """Computes :class:`SketchBatch` es for fixed :class:`SketchParams`.

    The ``num_perm`` hash functions are ``h_j(x) = ((a_j * x + b_j) mod 2**64) >> 32``
    over 32-bit folds ``x`` of the shingle hashes, with odd ``a_j`` and any
    ``b_j`` drawn from ``numpy.random.default_rng(seed)`` (a strongly universal
    family, so each position is an unbiased estimator of Jaccard).
    """

    def __init__(self, params: SketchParams = SketchParams()) -> None:
        self.params = params
        rng = np.random.default_rng(params.seed)
        self._a = rng.integers(0, 2**64, params.num_perm, dtype=np.uint64) | np.uint64(1)
        self._b = rng.integers(0, 2**64, params.num_perm, dtype=np.uint64)

    def sketch(self, texts: list[str], with_shingles: bool = True) -> SketchBatch:
        """Sketch raw texts (they are normalised here)."""
        n = len(texts)
        keys = np.empty((n, 2), dtype=np.uint64)
        ntokens = np.empty(n, dtype=np.int64)
        signatures = np.empty((n, self.params.num_perm), dtype=np.uint32)
        counts = np.empty(n, dtype=np.int64)
        raw = _sketch.sketch(
            [normalise(t) for t in texts],
            self.params.ngram,
            self._a,
            self._b,
            keys,
            ntokens,
            signatures,
            counts,
            with_shingles,
        )
        shingles = np.frombuffer(raw, dtype=np.uint64) if raw is not None else None
        return SketchBatch(keys, ntokens, signatures, counts, shingles)


def shingle_sequence(text: str, ngram: int = DEFAULT_NGRAM) -> np.ndarray:
    """The hash of every ``ngram``-token shingle of a raw text in the order they stand
    (``out[i]`` is the shingle starting at token ``i``; repeats kept): the hashes of
    :meth:`Sketcher.sketch`'s sets, with positions."""
    return np.frombuffer(_sketch.shingle_sequence(normalise(text), ngram), dtype=np.uint64)
