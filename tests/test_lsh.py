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


@pytest.mark.parametrize("max_bucket", [10, 2_000])
def test_band_pairs_tested_in_buckets_equal_brute_force(max_bucket: int) -> None:
    from neardup.lsh import band_pair_codes
    from neardup.sigfilter import RowsInMemory, SignatureFilter

    rng = np.random.default_rng(11)
    n, width, cutoff = 400, 16, 9
    # 40 keys spread over 64 bits (the band grouping keys on the high bits): buckets of ~10
    column = rng.integers(1, 41, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    rows = rng.integers(0, 3, (600, width)).astype(np.uint8)  # agreements around a third
    row_of = rng.permutation(600)[:n]
    test = SignatureFilter(RowsInMemory(rows), cutoff).on(row_of)
    got = band_pair_codes(column, max_bucket, test)
    members: dict[int, list[int]] = {}
    for doc, key in enumerate(column.tolist()):
        members.setdefault(key, []).append(doc)
    expected = set()
    for docs in members.values():
        pairs = ([(a, b) for x, a in enumerate(docs) for b in docs[x + 1:]]
                 if len(docs) <= max_bucket else [(docs[0], b) for b in docs[1:]])
        for a, b in pairs:
            if int((rows[row_of[a]] == rows[row_of[b]]).sum()) >= cutoff:
                expected.add(a * n + b)
    assert 30 < len(expected) and sorted(expected) == got.tolist()
