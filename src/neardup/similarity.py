"""Exact similarity of shingle-hash sets: Jaccard and containment.

Inputs are sorted, duplicate-free uint64 arrays (as sketches store them). All
results are exact for the hashed sets, and equal to those of the token
shingles unless two distinct shingles share a 64-bit hash.
"""

from __future__ import annotations

import numpy as np

from ._sketch import intersection_size, intersection_sizes


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """``|a ∩ b| / |a ∪ b|``; two empty sets give 0."""
    common = intersection_size(a, b)
    union = len(a) + len(b) - common
    return common / union if union else 0.0


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """``|a ∩ b| / |a|``: how much of ``a`` is in ``b``; an empty ``a`` gives 0."""
    return intersection_size(a, b) / len(a) if len(a) else 0.0


def jaccard_many(sets: list[np.ndarray], first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``jaccard(sets[first[k]], sets[second[k]])`` for every ``k``, in one compiled loop."""
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sets], out=offsets[1:])
    values = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint64)
    return jaccard_flat(values, offsets, first, second)


def jaccard_flat(values: np.ndarray, offsets: np.ndarray, first: np.ndarray,
                 second: np.ndarray) -> np.ndarray:
    """:func:`jaccard_many` of sets laid end to end: set ``i`` is
    ``values[offsets[i]:offsets[i + 1]]``."""
    common = intersections_flat(values, offsets, first, second)
    sizes = np.diff(offsets)
    union = sizes[first] + sizes[second] - common
    return np.divide(common, union, out=np.zeros(len(first)), where=union > 0)


def intersections_flat(values: np.ndarray, offsets: np.ndarray, first: np.ndarray,
                       second: np.ndarray) -> np.ndarray:
    """``|set first[k] ∩ set second[k]|`` for every ``k``, in one compiled loop, of sets laid
    end to end (set ``i`` is ``values[offsets[i]:offsets[i + 1]]``)."""
    common = np.empty(len(first), dtype=np.int64)
    intersection_sizes(np.ascontiguousarray(values, dtype=np.uint64),
                       np.ascontiguousarray(offsets, dtype=np.int64),
                       np.ascontiguousarray(first, dtype=np.int64),
                       np.ascontiguousarray(second, dtype=np.int64), common)
    return common
