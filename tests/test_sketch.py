"""The compiled sketch against the reference definition in neardup.text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neardup import similarity
from neardup.sketch import Sketcher, SketchParams
from neardup.text import jaccard, shingles, tokens

SKETCHER = Sketcher(SketchParams())


def hashed_set(text: str, ngram: int = 5) -> np.ndarray:
    batch = Sketcher(SketchParams(ngram=ngram)).sketch([text])
    hashes = batch.shingles_of(0)
    assert (hashes[1:] > hashes[:-1]).all()  # sorted and distinct
    return hashes


@given(st.lists(st.sampled_from(["news", "Iran", "iraq", "é", "e\u0301", "ﬁle", "ß", "_", "42",
                                 "١٢", "日本", "–", ",", " ", "\n"]), max_size=60),
       st.lists(st.sampled_from(["news", "Iran", "iraq", "é", "ﬁle", "SS", "42", " ", "."]),
                max_size=60),
       st.integers(1, 6))
@settings(max_examples=300, deadline=None)
def test_hashed_jaccard_equals_reference(a: list[str], b: list[str], ngram: int) -> None:
    ta, tb = "".join(a), "".join(b)
    expected = jaccard(shingles(tokens(ta), ngram), shingles(tokens(tb), ngram))
    assert similarity.jaccard(hashed_set(ta, ngram), hashed_set(tb, ngram)) == pytest.approx(
        expected, abs=1e-12)


def test_seed_pair_jaccard(seed_texts: tuple[str, str]) -> None:
    a, b = seed_texts
    assert similarity.jaccard(hashed_set(a), hashed_set(b)) == pytest.approx(0.897, abs=0.001)
    assert jaccard(shingles(tokens(a)), shingles(tokens(b))) == pytest.approx(0.897, abs=0.001)


def test_exact_key_ignores_case_spacing_and_punctuation() -> None:
    texts = ["Hello, World!  Again", "hello world\nagain", "hello world again x"]
    keys = SKETCHER.sketch(texts).keys
    assert (keys[0] == keys[1]).all()
    assert not (keys[0] == keys[2]).all()


def test_short_document_is_one_shingle() -> None:
    batch = SKETCHER.sketch(["two words", "", "!!!"])
    assert batch.shingle_counts.tolist() == [1, 0, 0]
    assert batch.ntokens.tolist() == [2, 0, 0]


def test_minhash_estimate_is_unbiased_against_exact_jaccard(lee_texts: list[str]) -> None:
    """Mean estimate error over many pairs ~ 0; spread matches sqrt(J(1-J)/k)."""
    rng = np.random.default_rng(3)
    base = [t for t in lee_texts if len(t.split()) > 150][:120]
    variants = []
    for t in base:
        words = t.split()
        keep = rng.random(len(words)) > rng.uniform(0.0, 0.15)
        variants.append(" ".join(w for w, k in zip(words, keep) if k))
    sk = Sketcher(SketchParams(num_perm=256))
    sa, sb = sk.sketch(base), sk.sketch(variants)
    est = (sa.signatures == sb.signatures).mean(axis=1)
    true = np.array([jaccard(shingles(tokens(x)), shingles(tokens(y)))
                     for x, y in zip(base, variants)])
    z = (est - true) / np.sqrt(np.maximum(true * (1 - true), 1e-6) / 256)
    assert abs(float(np.mean(est - true))) < 0.01
    assert 0.6 < float(np.std(z)) < 1.4  # a poor permutation family shows a wider spread


def test_batched_jaccard_equals_pairwise() -> None:
    rng = np.random.default_rng(5)
    universe = rng.integers(0, 2**64, 400, dtype=np.uint64)
    sets = [np.unique(rng.choice(universe, int(rng.integers(0, 120)))) for _ in range(40)]
    first, second = rng.integers(0, 40, 300), rng.integers(0, 40, 300)
    batched = similarity.jaccard_many(sets, first, second)
    for k in range(300):
        assert batched[k] == similarity.jaccard(sets[first[k]], sets[second[k]])
    with pytest.raises(IndexError):
        similarity.jaccard_many(sets, np.array([0]), np.array([40]))
