"""Candidate pairs for text reuse: documents that share enough uncommon shingles.

MinHash LSH finds documents similar *as wholes*; a three-paragraph wire passage inside a
long article leaves the two documents' Jaccard near zero. So reuse candidates come from an
inverted index: for each shingle hash, the documents holding it (its *postings*), and two
documents are candidates when at least ``min_shared`` shingles list both.

Cut-offs, because a shingle's postings cost pairs quadratically:

* a shingle in more than ``max_doc_frequency`` documents is skipped altogether: stock
  phrases and templates ("all rights reserved ...") would link everything to everything;
* a shingle in more than ``star_above`` (and at most ``max_doc_frequency``) documents
  links each holder to the first one only, not to each other: a wire paragraph in 500
  outlets costs 499 pairs rather than 124,750, and the passage group still forms through
  the first holder;
* the pairs that all-pairs linking would count are bounded: where the shingles held by
  2 to ``star_above`` documents would yield more than ``pair_budget`` pairs per posting
  and more than ``min_budget`` in all (corpora up to tens of millions of postings are
  never cut: the planted-reuse benchmark's 34 million need 1.49 pairs a posting), as in a
  corpus recombined from one pool of sentences (every sentence in dozens of documents,
  every document sharing a sentence with thousands), ``star_above`` is lowered until they
  do not, so counting stays linear in the postings; the value used is reported;
* pairs of documents from one series (same source) can be left out before counting.

Shingle hashes are packed with their document number into one ``uint64`` (the hash's top
bits, the document's number in the low bits) so one in-place sort groups the postings.
Truncating hashes that way merges two shingles' postings with probability about
``shingles**2 / 2**(65 - bits)``; such a merge adds at most one spurious shared shingle to a
pair, which ``min_shared`` absorbs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from ..engine.base import Engine, mapped

#: All-pairs linking counts at most this many pairs a posting, and this many in all, before
#: the star cut-off is lowered (see the module).
PAIR_BUDGET = 1.0
MIN_BUDGET = 1 << 26
#: Bytes of shingle hashes gathered into one array before the postings are packed
#: (:class:`ShingleBlocks`).
SHINGLE_BLOCK = 64 << 20


class PairParts(Protocol):
    """Where counted pair keys wait, in numbered parts, until each part is summed: in
    memory (:class:`MemoryParts`) or on disk (:class:`neardup.store.SpilledParts`, so that
    memory holds one part at a time)."""

    def append(self, part: int, keys: np.ndarray, counts: np.ndarray) -> None: ...

    def take(self, part: int) -> tuple[np.ndarray, np.ndarray]:
        """All that was appended to ``part`` (uint64 keys, uint32 counts), then forgotten."""
        ...


class MemoryParts:
    """:class:`PairParts` in lists, in the process that made it: a worker process cannot
    append to it (it would append to a copy), and says so."""

    def __init__(self) -> None:
        self._parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._pid = os.getpid()

    def _here(self) -> None:
        if os.getpid() != self._pid:
            raise RuntimeError("MemoryParts is used by the process that made it only: give "
                               "workers a store they share (neardup.store.SpilledParts)")

    def append(self, part: int, keys: np.ndarray, counts: np.ndarray) -> None:
        self._here()
        self._parts.setdefault(part, []).append((keys.copy(), counts.astype(np.uint32)))

    def take(self, part: int) -> tuple[np.ndarray, np.ndarray]:
        self._here()
        chunks = self._parts.pop(part, [])
        return (np.concatenate([c[0] for c in chunks]) if chunks else np.empty(0, np.uint64),
                np.concatenate([c[1] for c in chunks]) if chunks else np.empty(0, np.uint32))


@dataclass
class CandidateStats:
    """What the cut-offs did (``summary.json`` reports it as ``capped``)."""

    shingles: int = 0  #: distinct shingles held by two documents or more
    #: held by more than ``max_doc_frequency`` documents: skipped (template, stock phrase)
    skipped_shingles: int = 0
    skipped_postings: int = 0  #: (shingle, document) entries those skipped shingles held
    #: held by more than ``star_above`` documents: each holder linked to the first only
    star_shingles: int = 0
    star_above: int = 0  #: the star cut-off used (lowered from the asked one to fit the budget)
    star_above_asked: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def add_counts(self, other: CandidateStats) -> None:
        """Add the shingle counts of ``other`` (one chunk's) to these."""
        self.shingles += other.shingles
        self.skipped_shingles += other.skipped_shingles
        self.skipped_postings += other.skipped_postings
        self.star_shingles += other.star_shingles


class ShingleBlocks:
    """Documents' shingle hashes as they arrive, a batch at a time, gathered into arrays of
    at least :data:`SHINGLE_BLOCK` bytes: the ``shingles`` parts
    :func:`shared_shingle_pairs` packs and frees one by one. An array that large is
    allocated apart from the heap, so freeing it gives the memory back at once (thousands
    of batch-sized arrays would leave it held by the heap, and the sets and the packed
    postings would stand in memory together)."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self._recent: list[np.ndarray] = []
        self._recent_bytes = 0

    def append(self, shingles: np.ndarray) -> None:
        self._recent.append(shingles)
        self._recent_bytes += shingles.nbytes
        if self._recent_bytes >= SHINGLE_BLOCK:
            self._blocks.append(np.concatenate(self._recent))
            self._recent, self._recent_bytes = [], 0

    def take(self) -> list[np.ndarray]:
        """Every array so far, in order; this holds none of them after."""
        blocks = self._blocks + self._recent
        self._blocks, self._recent, self._recent_bytes = [], [], 0
        return blocks


def shared_shingle_pairs(shingles: list[np.ndarray], counts: np.ndarray, *, min_shared: int,
                         star_above: int, max_doc_frequency: int,
                         series: np.ndarray | None = None, chunk: int = 1 << 18,
                         merge_parts: int = 64, pair_budget: float = PAIR_BUDGET,
                         min_budget: int = MIN_BUDGET, parts: PairParts | None = None,
                         progress: Callable[[int], None] | None = None,
                         engine: Engine | None = None
                         ) -> tuple[np.ndarray, np.ndarray, CandidateStats]:
    """Pairs of documents sharing at least ``min_shared`` counted shingles.

    ``shingles`` holds each document's distinct shingle hashes one document after
    another, in parts (say one per batch; the list is emptied as the parts are packed, so
    memory does not hold them twice), ``counts[d]`` of them for document ``d``.
    ``series[d]`` (optional, ``-1`` for none) names each document's source: pairs within
    one series are not counted. Returns ``(pairs, shared, stats)``: an ``(m, 2)`` array of
    document numbers ``i < j``, sorted, the number of shared shingles that linked each
    pair, and what the cut-offs did. ``progress`` hears of the postings counted, a chunk
    at a time (there are ``counts.sum()``); ``parts`` keeps the counted pairs until they
    are summed (default: in memory). ``engine`` (default: this process) counts the chunks
    of postings and sums the parts; with worker processes, ``parts`` must be one they
    share.
    """
    n = len(counts)
    total = int(counts.sum())
    stats = CandidateStats(star_above=star_above, star_above_asked=star_above)
    if n < 2 or not total:
        shingles.clear()
        return np.empty((0, 2), np.int64), np.empty(0, np.int64), stats
    low = document_mask(n)
    packed = np.empty(total, dtype=np.uint64)
    ends = np.cumsum(counts)
    at = first = 0
    while shingles:
        part = shingles.pop(0)
        last = int(np.searchsorted(ends, at + len(part), "left")) + 1  # the part's documents
        owners = np.repeat(np.arange(first, last, dtype=np.uint64), counts[first:last])
        if len(owners) != len(part):
            raise ValueError("shingle parts do not follow document boundaries")
        dest = packed[at:at + len(part)]  # filled in place: no temporaries of the part's size
        np.bitwise_and(part, ~low, out=dest)
        np.bitwise_or(dest, owners, out=dest)
        at, first = at + len(part), last
        del part, owners  # the part's memory goes back now, before the next is packed
    packed.sort()
    bounds = _chunks(packed, chunk, low)
    star_above = stats.star_above = _bounded_star(
        packed, low, bounds, star_above, pair_budget_of(total, pair_budget, min_budget))
    # Pair counts come out per chunk of postings; they are dealt into parts by a hash of the
    # pair (so parts are even, though star links pile onto a few first holders) and summed
    # one part at a time, so the sum never needs memory for all chunks' pairs at once (the
    # pairs sharing a shingle or two outnumber real candidates a thousand to one).
    parts = parts if parts is not None else MemoryParts()
    count = _CountChunk(packed, low, star_above, max_doc_frequency, series, merge_parts, parts)
    del packed  # the task holds it until it is done
    # The results first: zip then runs the engine's map to its end (its workers stopped,
    # not killed when it is dropped).
    for counted, (start, stop) in zip(mapped(engine, count, bounds), bounds):
        stats.add_counts(counted)
        if progress is not None:
            progress(stop - start)
    del count
    pairs, totals = [], []
    for keys, sums in mapped(engine, _SumPart(parts, min_shared), range(merge_parts)):
        pairs.append(keys)
        totals.append(sums)
    unique = np.concatenate(pairs) if pairs else np.empty(0, np.uint64)
    shared = (np.concatenate(totals) if totals else np.empty(0)).astype(np.int64)
    order = np.argsort(unique)
    unique, shared = unique[order], shared[order]
    pair_array = np.stack([(unique >> np.uint64(32)).astype(np.int64),
                           (unique & np.uint64(0xFFFFFFFF)).astype(np.int64)], axis=1)
    return pair_array, shared, stats



class _CountChunk:
    """Counts the pairs of a chunk of sorted postings (``(start, stop)`` of ``packed``,
    whole shingles) and deals them into ``parts``; returns the chunk's shingle counts.
    Picklable (forked with ``packed`` where the platform allows)."""

    def __init__(self, packed: np.ndarray, low: np.uint64, star_above: int, max_df: int,
                 series: np.ndarray | None, merge_parts: int, parts: PairParts) -> None:
        self.packed, self.low, self.star_above, self.max_df = packed, low, star_above, max_df
        self.series, self.merge_parts, self.parts = series, merge_parts, parts

    def __call__(self, bounds: tuple[int, int]) -> CandidateStats:
        stats = CandidateStats()
        start, stop = bounds
        keys, counted = pair_counts(self.packed[start:stop], self.low, self.star_above,
                                     self.max_df, self.series, stats)
        shift = np.uint64(64 - max(1, (self.merge_parts - 1).bit_length()))
        part_of = ((keys * np.uint64(0x9E3779B97F4A7C15)) >> shift).astype(np.int64)
        order = np.argsort(part_of, kind="stable")
        cuts = np.searchsorted(part_of[order], np.arange(self.merge_parts + 1))
        keys, counted = keys[order], counted[order]
        for k in range(self.merge_parts):
            if cuts[k + 1] > cuts[k]:
                self.parts.append(k, keys[cuts[k]:cuts[k + 1]], counted[cuts[k]:cuts[k + 1]])
        return stats


class _SumPart:
    """One part's pairs summed: the pair keys linked by at least ``min_shared`` shingles,
    and how many. Picklable."""

    def __init__(self, parts: PairParts, min_shared: int) -> None:
        self.parts, self.min_shared = parts, min_shared

    def __call__(self, part: int) -> tuple[np.ndarray, np.ndarray]:
        return summed_pairs(*self.parts.take(part), self.min_shared)


def summed_pairs(keys: np.ndarray, weights: np.ndarray, min_shared: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pair ``keys`` whose ``weights`` (the shingles linking them, counted
    in parts) sum to at least ``min_shared``, sorted, with their sums."""
    if not len(keys):
        return keys, np.empty(0, np.int64)
    order = np.argsort(keys, kind="stable")
    keys, weights = keys[order], weights[order]
    del order
    heads = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    sums = np.add.reduceat(weights.astype(np.int64), heads)
    keep = sums >= min_shared
    return keys[heads[keep]], sums[keep]


def _chunks(packed: np.ndarray, chunk: int, low: np.uint64) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of about ``chunk`` sorted postings, each
    holding whole shingles."""
    bounds = []
    start = 0
    while start < len(packed):
        stop = _group_end(packed, min(start + chunk, len(packed)), low)
        bounds.append((start, stop))
        start = stop
    return bounds


def document_mask(n: int) -> np.uint64:
    """The low bits that hold a document's number in a packed posting, for ``n``
    documents; a shingle's hash keeps the other bits."""
    if n >= 1 << 32:
        raise ValueError("at most 2**32 documents")
    return np.uint64((1 << max(1, (n - 1).bit_length())) - 1)


def pair_budget_of(postings: int, pair_budget: float, min_budget: int) -> float:
    """The pairs all-pairs linking may count, for ``postings`` (see the module)."""
    return max(pair_budget * postings, min_budget)


def _bounded_star(packed: np.ndarray, low: np.uint64, bounds: list[tuple[int, int]],
                  star_above: int, budget: float) -> int:
    """:func:`star_cutoff` over the sorted postings ``packed``."""
    held = np.zeros(star_above + 2, dtype=np.int64)  # shingles by holders (last: more)
    for start, stop in bounds:
        key = packed[start:stop] & ~low
        sizes = np.diff(np.append(np.flatnonzero(np.r_[True, key[1:] != key[:-1]]), len(key)))
        held += np.bincount(np.minimum(sizes, star_above + 1), minlength=len(held))
    return star_cutoff(held, star_above, budget)


def star_cutoff(held: np.ndarray, star_above: int, budget: float) -> int:
    """The largest cut-off ``s <= star_above`` at which all-pairs linking of the shingles
    held by 2 to ``s`` documents counts at most ``budget`` pairs; ``held[k]`` is the
    number of shingles held by ``k`` documents (``held[star_above + 1]``: by more)."""
    d = np.arange(star_above + 1)
    cost = np.cumsum(held[:star_above + 1] * d * (d - 1) // 2)  # pairs counted with cut-off d
    fits = np.flatnonzero(cost <= budget)
    return int(max(1, fits[-1]))


def _group_end(packed: np.ndarray, stop: int, low: np.uint64) -> int:
    """The first index at or after ``stop`` that starts a new shingle's postings."""
    if stop >= len(packed):
        return len(packed)
    key = packed[stop - 1] & ~low
    while stop < len(packed) and packed[stop] & ~low == key:
        stop += 1
    return stop


def pair_counts(packed: np.ndarray, low: np.uint64, star_above: int, max_df: int,
                 series: np.ndarray | None, stats: CandidateStats
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Pair keys ``i << 32 | j`` and how many shingles of ``packed`` (sorted postings,
    whole shingles) link each pair."""
    key = packed & ~low
    doc = (packed & low).astype(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    sizes = np.diff(np.append(starts, len(packed)))
    over = sizes > max_df
    stats.shingles += int((sizes >= 2).sum())
    stats.skipped_shingles += int(over.sum())
    stats.skipped_postings += int(sizes[over].sum())
    stats.star_shingles += int(((sizes > star_above) & ~over).sum())
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= star_above)]).tolist():
        members = doc[starts[sizes == size][:, None] + np.arange(size)]
        ia, ib = np.triu_indices(size, 1)
        firsts.append(members[:, ia].ravel())
        seconds.append(members[:, ib].ravel())
    star = np.flatnonzero((sizes > star_above) & (sizes <= max_df))
    if len(star):
        # Each holder after the first, paired with the first (documents are in order).
        rest = np.repeat(starts[star], sizes[star] - 1)
        offsets = np.arange(len(rest)) - np.repeat(np.cumsum(sizes[star] - 1) - (sizes[star] - 1),
                                                   sizes[star] - 1)
        firsts.append(doc[rest])
        seconds.append(doc[rest + 1 + offsets])
    if not firsts:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    keep = a != b  # two of one document's shingles merged by truncation
    if series is not None:
        keep &= (series[a] != series[b]) | (series[a] < 0)
    pair_keys = (a[keep].astype(np.uint64) << np.uint64(32)) | b[keep].astype(np.uint64)
    unique, counted = np.unique(pair_keys, return_counts=True)
    return unique, counted
