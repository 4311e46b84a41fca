"""Exact similarity of shingle-hash sets: Jaccard and containment.

Inputs are sorted, duplicate-free uint64 arrays (as sketches store them). All
results are exact for the hashed sets, and equal to those of the token
shingles unless two distinct shingles share a 64-bit hash.
"""

from __future__ import annotations

import numpy as np

from ._sketch import intersection_size


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """``|a ∩ b| / |a ∪ b|``; two empty sets give 0."""
    common = intersection_size(a, b)
    union = len(a) + len(b) - common
    return common / union if union else 0.0


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """``|a ∩ b| / |a|``: how much of ``a`` is in ``b``; an empty ``a`` gives 0."""
    return intersection_size(a, b) / len(a) if len(a) else 0.0
