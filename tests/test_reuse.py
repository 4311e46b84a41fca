"""Partial reuse: planted passages found, with their boundaries, inside unrelated articles."""

from __future__ import annotations

import numpy as np

from neardup.reuse import ReuseOptions, find_reuse
from neardup.text import tokens


def test_planted_passages_are_found_with_their_boundaries(lee_texts) -> None:
    rng = np.random.default_rng(11)
    sources = [t for t in lee_texts if len(t.split()) > 250]
    docs, planted = [], {}
    for k in range(12):
        wire = sources[k].split()
        host = sources[50 + k].split()
        start = int(rng.integers(0, len(wire) - 120))
        length = int(rng.integers(45, 110))
        passage = wire[start:start + length]
        edited = list(passage)
        edited[length // 2] = "reportedly"  # one changed word inside the passage
        at = int(rng.integers(10, len(host) - 10))
        docs.append((f"wire{k}", " ".join(wire)))
        docs.append((f"host{k}", " ".join(host[:at] + edited + host[at:])))
        planted[(f"wire{k}", f"host{k}")] = " ".join(passage)
    pairs = find_reuse(docs, ReuseOptions(min_words=40))
    found = {(p.a, p.b): p for p in pairs}
    assert set(found) == set(planted)  # every planted pair, and no unrelated one
    for key, passage in planted.items():
        (got,) = found[key].passages  # one passage despite the edited word
        want = tokens(passage)
        assert abs(len(tokens(got.a.text)) - len(want)) <= 5
        assert " ".join(tokens(got.a.text)) in " ".join(tokens(passage)) or \
            " ".join(want) in " ".join(tokens(got.a.text))
        assert 0 < found[key].containment_b < 0.6  # the host is mostly its own text
