"""LSH parameter math and banding against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neardup.lsh import band_keys, candidate_pairs
from neardup.minhash import LSHParams, choose_lsh_params


@pytest.mark.parametrize("threshold", [0.7, 0.8, 0.85, 0.9, 0.95])
def test_chosen_params_keep_miss_probability_below_floor(threshold: float) -> None:
    p = choose_lsh_params(threshold, 128, max_miss=1e-3)
    assert p.bands * p.rows <= 128
    assert 1 - p.candidate_probability(threshold) <= 1e-3
    # Recall-first does not mean "everything is a candidate": far pairs mostly are not.
    assert p.candidate_probability(threshold / 4) < 0.05


def test_threshold_point_eight_gives_25_bands_of_5() -> None:
    assert choose_lsh_params(0.8, 128) == LSHParams(25, 5)


def test_candidate_pairs_equal_brute_force_on_shared_band_keys() -> None:
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 6, size=(300, 12), dtype=np.uint32)  # small alphabet: many collisions
    params = LSHParams(4, 3)
    keys = band_keys(sig, params)
    expected = {(i, j) for i, j in itertools.combinations(range(300), 2)
                if any((sig[i, b * 3:(b + 1) * 3] == sig[j, b * 3:(b + 1) * 3]).all()
                       for b in range(4))}
    got = {tuple(p) for p in candidate_pairs(keys).tolist()}
    assert got == expected


def test_oversized_bucket_is_linked_as_a_star() -> None:
    keys = np.zeros((50, 1), dtype=np.uint64)
    pairs = candidate_pairs(keys, max_bucket=10)
    assert pairs.tolist() == [[0, j] for j in range(1, 50)]
