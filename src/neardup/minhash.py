"""MinHash LSH parameters: how many bands of how many rows, from a threshold.

A signature of ``num_perm`` minima is cut into ``b`` bands of ``r`` rows.
Two documents become candidates if all ``r`` rows of at least one band agree.
With shingle-set Jaccard ``s`` each row agrees with probability ``s``
(independently across rows, for ideal MinHash), so

    P_candidate(s) = 1 - (1 - s**r)**b.

neardup verifies every candidate by its exact Jaccard, so a false candidate
costs only time while a missed pair is lost for good. The parameters are
therefore chosen for recall first: among all ``(b, r)`` with ``b * r <=
num_perm`` whose miss probability at the threshold, ``(1 - t**r)**b``, is at
most ``max_miss``, take the one with the least expected false-candidate mass
``∫_0^t P_candidate(s) ds`` (the quantity datasketch also weighs, without the
recall floor). Pairs above the threshold are missed even less often.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_MAX_MISS = 1e-3


@dataclass(frozen=True)
class LSHParams:
    bands: int
    rows: int

    def candidate_probability(self, similarity: float) -> float:
        """Probability that a pair with this Jaccard similarity becomes a candidate."""
        return 1.0 - (1.0 - similarity**self.rows) ** self.bands

    def false_candidate_mass(self, threshold: float) -> float:
        """``∫_0^threshold P_candidate(s) ds``, by the trapezoid rule on 1,001 points."""
        s = np.linspace(0.0, threshold, 1001)
        p = 1.0 - (1.0 - s**self.rows) ** self.bands
        return float(np.sum((p[1:] + p[:-1]) / 2) * (s[1] - s[0]))


def choose_lsh_params(
    threshold: float, num_perm: int, max_miss: float = DEFAULT_MAX_MISS
) -> LSHParams:
    """The recall-first ``(bands, rows)`` for ``threshold`` (see the module docstring).

    If no split reaches ``max_miss`` (a very low threshold with few
    permutations), the split with the lowest miss probability is returned.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    best: tuple[float, LSHParams] | None = None
    safest: tuple[float, LSHParams] | None = None
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        params = LSHParams(bands, rows)
        miss = 1.0 - params.candidate_probability(threshold)
        if safest is None or miss < safest[0]:
            safest = (miss, params)
        if miss <= max_miss:
            cost = params.false_candidate_mass(threshold)
            if best is None or cost < best[0]:
                best = (cost, params)
    assert safest is not None
    return best[1] if best is not None else safest[1]


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Fraction of equal MinHash positions: unbiased for J, std. error sqrt(J(1-J)/k)."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)
