"""Banding: MinHash signatures -> band keys -> candidate pairs.

A band key is a 64-bit hash of one band's ``rows`` signature values; two
documents are candidates when any band key is equal. Band keys are all the
per-document state LSH needs (``bands * 8`` bytes a document), so they are
computed where the signatures are and the signatures can be dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ._sketch import sort_u64
from .minhash import LSHParams

_MIX = np.uint64(0x9E3779B97F4A7C15)


def _fmix64(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def band_keys(signatures: np.ndarray, params: LSHParams) -> np.ndarray:
    """``(n, bands)`` uint64 keys; key ``[i, b]`` hashes rows ``b*r .. b*r+r-1`` and ``b``.

    Mixing the band number in keeps equal values in different bands apart, so
    all bands can share one hash table.
    """
    n, num_perm = signatures.shape
    used = params.bands * params.rows
    if used > num_perm:
        raise ValueError(f"{params} needs {used} permutations, signatures have {num_perm}")
    rows = signatures[:, :used].reshape(n, params.bands, params.rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        acc = np.broadcast_to(
            np.arange(1, params.bands + 1, dtype=np.uint64) * _MIX, (n, params.bands)
        ).copy()
        for r in range(params.rows):
            acc = _fmix64(acc * _MIX + rows[:, :, r])
    return acc


def candidate_pairs(keys: np.ndarray, max_bucket: int = 2_000,
                    keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
                    ) -> np.ndarray:
    """Unique pairs ``(i, j)``, ``i < j``, of rows of ``keys`` that share any band key
    (and that ``keep`` passes, if given: see :func:`band_pair_codes`).

    Returns an ``(m, 2)`` int64 array sorted by ``(i, j)``. A bucket of more
    than ``max_bucket`` documents (one template repeated through a crawl) is
    linked as a star around its first member instead of as all its pairs: the
    group still forms, but its ``O(m**2)`` pairs are not all proposed.
    """
    return pairs_from_codes((band_pair_codes(keys[:, b], max_bucket, keep)
                             for b in range(keys.shape[1])), keys.shape[0])


def pairs_from_codes(codes: Iterable[np.ndarray], n: int) -> np.ndarray:
    """The unique pairs ``(i, j)`` of ``n`` documents, sorted, from several bands' sorted
    unique codes ``i * n + j`` (:func:`band_pair_codes`). The sorted runs are merged by
    one stable sort, which finds them and merges them instead of sorting afresh."""
    parts = [c for c in codes if len(c)]
    if n < 2 or not parts:
        return np.empty((0, 2), dtype=np.int64)
    merged = np.sort(np.concatenate(parts), kind="stable")
    merged = merged[np.r_[True, merged[1:] != merged[:-1]]]
    return np.stack([merged // n, merged % n], axis=1)


def bucket_pairs(members: np.ndarray, starts: np.ndarray, max_bucket: int = 2_000,
                 chunk: int = 1 << 20) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The candidate pairs of many buckets: ``members`` holds each bucket's documents in
    ascending order, bucket after bucket, and ``starts`` where each bucket begins. Yields
    ``(i, j)`` arrays, ``i < j``: all pairs of a bucket, or, past ``max_bucket`` members,
    a star around its first (one template repeated through a crawl: the group still forms,
    its ``O(m**2)`` pairs are not all proposed). A pair may come more than once.

    Buckets of one size are expanded together (one ``(buckets, size)`` matrix, about
    ``chunk`` pairs at a time, so memory holds a chunk however many pairs a band makes):
    the cost is a few numpy calls per distinct bucket size, not per bucket. This is the rule
    of every engine: :func:`candidate_pairs` here, and the Spark engine on each partition
    of band keys it has grouped by a shuffle.
    """
    starts = np.asarray(starts, dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(members)])
    for size in np.unique(sizes[sizes > 1]).tolist():
        first = starts[sizes == size]
        if size > max_bucket:
            for s in first.tolist():
                yield np.full(size - 1, members[s]), members[s + 1:s + size]
            continue
        i, j = np.triu_indices(size, k=1)
        step = max(1, chunk // len(i))
        for at in range(0, len(first), step):
            grid = members[first[at:at + step, None] + np.arange(size)]
            yield grid[:, i].ravel(), grid[:, j].ravel()


def band_pair_codes(column: np.ndarray, max_bucket: int = 2_000,
                    keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
                    ) -> np.ndarray:
    """Sorted codes ``i * n + j``, each once, of the pairs of documents that share a key in
    one band (``column``: each document's key, ``n`` of them). With ``keep``, only the pairs
    it passes: ``keep(i, j)`` is a mask for arrays of pairs, asked a chunk of pairs at a
    time, so a band's untested pairs never all stand in memory; a ``keep`` that also has
    ``within_buckets(members, starts, sizes)`` (:class:`~neardup.sigfilter.RowsTest`) makes
    and tests the pairs of the ordinary buckets itself, and the stars past ``max_bucket``
    go through ``keep(i, j)``.

    The band is grouped with one plain sort of ``key_high_bits | document_number`` (a
    radix sort, :func:`~neardup._sketch.sort_u64`: several times faster than an argsort,
    three times numpy's sort at millions of keys): equal keys become adjacent runs that
    carry their documents with them. The ``64 - ceil(log2 n)`` hash bits kept still make a
    chance collision rare (about ``n**2 / 2**(65 - log2 n)`` pairs a band), and any that
    happens only adds a candidate that verification drops.
    """
    n = len(column)
    if n < 2:
        return np.empty(0, dtype=np.int64)
    index_bits = max(1, int(n - 1).bit_length())
    shift = np.uint64(index_bits)
    mask = np.uint64((1 << index_bits) - 1)
    packed = (np.asarray(column, dtype=np.uint64) >> shift << shift) | np.arange(
        n, dtype=np.uint64)
    sort_u64(packed)
    hashes = packed >> shift
    order = (packed & mask).astype(np.int64)  # sorted within a key: the low bits
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    codes = []
    if keep is not None and hasattr(keep, "within_buckets"):
        # Ordinary buckets made and tested in one compiled loop (RowsTest.within_buckets):
        # the pairs it drops, most of them on shared paragraphs, never become arrays.
        sizes = np.diff(np.r_[starts, n])
        small = (sizes > 1) & (sizes <= max_bucket)
        i, j = keep.within_buckets(order, starts[small], sizes[small])
        codes.append(i * n + j)
        big = sizes > max_bucket  # stars, below
        order, starts = _only_buckets(order, starts, sizes, big)
    for i, j in bucket_pairs(order, starts, max_bucket):
        if keep is not None:
            passed = keep(i, j)
            i, j = i[passed], j[passed]
        codes.append(i * n + j)
    if not codes:
        return np.empty(0, dtype=np.int64)
    # A document is in one bucket a band, so a pair comes once (a star past max_bucket
    # included): sorting is all that is needed.
    merged = np.concatenate(codes)
    sort_u64(merged.view(np.uint64))  # codes are not negative: same order as int64
    return merged


def _only_buckets(members: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
                  chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The members and starts of the chosen buckets alone."""
    if not chosen.any():
        return members[:0], starts[:0]
    parts = [members[s:s + z] for s, z in zip(starts[chosen].tolist(), sizes[chosen].tolist())]
    kept = np.concatenate(parts)
    return kept, np.r_[0, np.cumsum(sizes[chosen])[:-1]].astype(np.int64)
