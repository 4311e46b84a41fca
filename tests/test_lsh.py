"""LSH parameter math and banding against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=400), st.integers(0, 63))
def test_radix_sort_orders_as_sorted_does(values: list[int], shared_bits: int) -> None:
    """The band sort (``sort_u64``) against Python's ``sorted``: any values, repeats, and
    values that agree in their top ``shared_bits`` bits (a digit pass finds one bucket)."""
    from neardup._sketch import sort_u64

    top = ((1 << shared_bits) - 1) << (64 - shared_bits) if shared_bits else 0
    values = [top | (v >> shared_bits) for v in values]
    array = np.array(values, dtype=np.uint64)
    sort_u64(array)
    assert array.tolist() == sorted(values)


@pytest.mark.parametrize("shape", ["uniform", "few distinct", "one key, many documents"])
def test_radix_sort_of_a_million_band_keys(shape: str) -> None:
    """A million values of the shapes a band makes: hashes, heavy repeats, and one key held
    by most documents (a template), its document numbers in the low bits."""
    from neardup._sketch import sort_u64

    rng = np.random.default_rng(5)
    n = 1_000_000
    if shape == "uniform":
        values = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
    elif shape == "few distinct":
        values = rng.choice(rng.integers(0, 2**64 - 1, 7, dtype=np.uint64), n)
    else:
        values = (np.uint64(0xABCDE) << np.uint64(44)) | rng.permutation(n).astype(np.uint64)
    expected = sorted(values.tolist())
    sort_u64(values)
    assert values.tolist() == expected
