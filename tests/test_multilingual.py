"""Near copies in scripts written without spaces, against brute-force exact Jaccard.

Real prose in Chinese, Japanese, Thai, Lao, Khmer and Myanmar (tests/data/multilingual),
with planted light copies and overlapping partial copies (tests/multilingual.py).
"""

from __future__ import annotations

import pytest

import neardup
from neardup.dedup import DedupOptions

from .multilingual import LANGUAGES, brute_force_pairs, build, word_tokens


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_light_copies_pair_as_brute_force_says(lang: str) -> None:
    corpus = build(lang, seed=0, copies=3)
    truth = brute_force_pairs(corpus.docs, 0.8)
    found = {_key(p.a, p.b): p.jaccard
             for p in neardup.find_pairs(corpus.docs, options=DedupOptions(threshold=0.8))}
    hits = found.keys() & truth.keys()
    assert len(hits) / len(truth) >= 0.99, sorted(truth.keys() - hits)
    assert len(hits) / len(found) >= 0.999, sorted(found.keys() - hits)
    for pair in hits:  # every score exact
        assert found[pair] == pytest.approx(truth[pair], abs=1e-9)
    planted = [_key(*p) for p in corpus.planted]
    assert sum(p in found for p in planted) / len(planted) >= 0.99
    # Partial copies (half of each of two neighbours) do not pair with what they copy.
    assert len(corpus.partial) >= 20
    assert not [p for p in corpus.partial if _key(*p) in found]


@pytest.mark.parametrize("lang", ["zh", "ja", "th"])
def test_word_runs_missed_these_copies(lang: str) -> None:
    """The former definition (one token per run of \\w) loses most light copies: the test
    above would fail with it."""
    corpus = build(lang, seed=0, copies=3)
    old = brute_force_pairs(corpus.docs, 0.8, tokenize=word_tokens)
    planted = [_key(*p) for p in corpus.planted]
    assert sum(p in old for p in planted) / len(planted) < 0.5
