"""Text reuse: planted passages found with their boundaries, groups, series, provenance."""

from __future__ import annotations

import json
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neardup import ReuseOptions, find_reuse
from neardup.align import tokenize_with_offsets
from neardup.engine import LocalEngine
from neardup.reuse import attributions, parse_date
from neardup.reuse.candidates import shared_shingle_pairs
from neardup.reuse.passages import may_share_passages, shared_passages
from neardup.sketch import shingle_sequence
from neardup.store import SpilledParts
from neardup.text import tokens

from . import synth
from .conftest import SEED_A, SEED_B


@pytest.fixture(scope="module")
def distinct_lee(lee_texts: list[str]) -> list[str]:
    return synth.distinct_texts(lee_texts)


def test_planted_passages_are_found_with_their_boundaries(distinct_lee) -> None:
    hosts = distinct_lee[200:] + synth.chain_articles(distinct_lee, 1200, seed=3)
    corpus = synth.plant_reuse(distinct_lee[:200], hosts, n_passages=150, seed=5)
    result = find_reuse(corpus.docs, workers=2)
    score = synth.score_reuse(corpus, result.pairs)
    assert score["planted"] >= 200
    assert score["recall"] >= 0.95
    assert score["boundary_recall"] >= 0.95
    assert score["false_passages"] < 0.01
    # The hosts are mostly their own text; containment says so both ways.
    host_pairs = [p for p in result.pairs if p.a.startswith("wire") and p.b.startswith("host")]
    assert host_pairs and all(0 < p.containment_a < 1 and 0 < p.containment_b < 1
                              for p in host_pairs)


def test_one_edited_passage_is_one_passage(lee_texts) -> None:
    rng = np.random.default_rng(11)
    sources = [t for t in lee_texts if len(t.split()) > 250]
    docs, planted = [], {}
    for k in range(12):
        wire, host = sources[k].split(), sources[50 + k].split()
        start = int(rng.integers(0, len(wire) - 120))
        length = int(rng.integers(45, 110))
        passage = wire[start:start + length]
        edited = list(passage)
        edited[length // 2] = "reportedly"
        at = int(rng.integers(10, len(host) - 10))
        docs.append((f"wire{k}", " ".join(wire)))
        docs.append((f"host{k}", "\n".join(host[:at] + edited + host[at:])))  # reflowed
        planted[(f"wire{k}", f"host{k}")] = passage
    found = {(p.a, p.b): p for p in find_reuse(docs).pairs}
    assert set(found) == set(planted)
    for key, passage in planted.items():
        (got,) = found[key].passages
        assert abs(len(tokens(got.a.text)) - len(tokens(" ".join(passage)))) <= 5
        assert got.identity < 1.0  # the changed word shows
        assert got.a.text == docs[[d[0] for d in docs].index(key[0])][1][got.a.start:got.a.end]


def _wire_in_outlets(lee_texts: list[str], outlets: int) -> list[tuple[str, str]]:
    wire = lee_texts[3].split()
    docs = [("wire", " ".join(wire))]
    for k in range(outlets):
        own = lee_texts[100 + k].split()
        docs.append((f"outlet{k}", " ".join(own[:30] + wire[5:85] + own[30:])))
    return docs


@pytest.mark.parametrize("star_above", [5, 50])
def test_a_passage_in_40_outlets_is_one_group_of_41(distinct_lee, star_above) -> None:
    docs = _wire_in_outlets(distinct_lee, 40)
    result = find_reuse(docs, ReuseOptions(star_above=star_above))
    assert result.stats.groups == 1
    (group,) = result.groups
    assert group.size == 41 and {m.id for m in group.members} == {d[0] for d in docs}
    assert abs(len(tokens(group.text)) - 80) <= 5
    # Linking to the first holder only costs 40 pairs, not 40 * 41 / 2.
    assert len(result.pairs) == (40 if star_above == 5 else 41 * 40 // 2)


def test_series_ignores_reuse_within_one_source(lee_texts) -> None:
    masthead = " ".join(lee_texts[7].split()[:60])  # a site's long standing paragraph
    docs = []
    for k in range(4):
        docs.append({"id": f"a{k}", "text": lee_texts[20 + k] + "\n\n" + masthead, "site": "a"})
    wire = " ".join(lee_texts[30].split()[:70])
    docs.append({"id": "b0", "text": lee_texts[40] + "\n\n" + wire, "site": "b"})
    docs.append({"id": "c0", "text": wire + "\n\n" + lee_texts[41], "site": "c"})
    as_docs = [synth_doc(d) for d in docs]
    everything = find_reuse(as_docs)
    assert {(p.a, p.b) for p in everything.pairs} == \
        {*combinations(["a0", "a1", "a2", "a3"], 2), ("b0", "c0")}
    across = find_reuse([synth_doc(d) for d in docs], ReuseOptions(same_series=False))
    assert [(p.a, p.b) for p in across.pairs] == [("b0", "c0")]


def synth_doc(record: dict):
    from neardup import Document

    return Document(record["id"], record["text"], meta={"site": record["site"]})


def test_seed_pair_provenance() -> None:
    docs = [("000", SEED_A.read_text(encoding="utf-8")),
            ("004", SEED_B.read_text(encoding="utf-8"))]
    result = find_reuse(docs)
    (pair,) = result.pairs
    assert pair.containment_a > 0.8 and pair.containment_b > 0.9
    (group,) = result.groups
    assert group.origin == "000"  # the scrape carries the date line, November 15, 2020
    assert [m.date for m in group.members] == ["2020-11-15", None]
    assert group.credits == {"Fars News Agency": ["000", "004"], "Mehr News Agency": ["004"]}
    (licence,) = [a for a in group.members[1].attributions if a.kind == "licence"]
    assert docs[1][1][licence.start:licence.end].startswith("All Content by Mehr News Agency")


@pytest.mark.parametrize("text, source", [
    ("LONDON (Reuters) - Oil prices rose on Monday", "Reuters"),
    ("WASHINGTON (AP) — The Senate voted", "AP"),
    ("the minister told the Associated Press on Monday", "AP"),
    ("said, according to the Xinhua news agency.", "Xinhua"),
    ("The IRNA news agency reported that talks resumed", "IRNA"),
    ("Hatami was quoted by Fars news agency as saying", "Fars News Agency"),
    ("Source: Tehran Times\n", "Tehran Times"),
    ("Copyright 2020 The Tehran Times. All rights reserved", "Tehran Times"),
])
def test_attribution_phrases(text, source) -> None:
    assert [a.source for a in attributions(text)] == [source]


def test_no_attribution_in_plain_prose(lee_texts) -> None:
    assert not attributions("the agency said it would review the report on Monday")
    # Real ABC stories rarely credit anyone; most have no phrase at all.
    assert sum(1 for t in lee_texts if attributions(t)) < len(lee_texts) // 4


def test_dates() -> None:
    assert parse_date("2020-11-15T18:02:00Z") == "2020-11-15"
    assert parse_date("November 15, 2020 - 18:2") == "2020-11-15"
    assert parse_date("15 Nov 2020") == "2020-11-15"
    assert parse_date("2020-13-45") is None and parse_date("Sunday") is None


@pytest.mark.parametrize("spilled,workers", [(False, None), (True, None), (True, 2)])
def test_candidates_match_brute_force_counts(spilled: bool, workers: int | None,
                                              tmp_path) -> None:
    """Counted by this process, or by two processes appending to one spilled store."""
    rng = np.random.default_rng(5)
    sets = [np.unique(rng.integers(0, 400, rng.integers(0, 60)).astype(np.uint64) * 7919)
            for _ in range(80)]
    truth = Counter()
    holders: dict[int, list[int]] = {}
    for d, s in enumerate(sets):
        for h in s.tolist():
            holders.setdefault(h, []).append(d)
    for docs in holders.values():
        if len(docs) <= 12:
            truth.update(combinations(docs, 2))
    pairs, shared, _ = shared_shingle_pairs(
        [np.concatenate(sets[:50]), np.concatenate(sets[50:])],
        np.array([len(s) for s in sets]), min_shared=3,
        star_above=12, max_doc_frequency=12, chunk=97,  # small chunks: groups cross them
        parts=SpilledParts(str(tmp_path)) if spilled else None,
        engine=LocalEngine(workers) if workers else None)
    assert {tuple(p): c for p, c in zip(pairs.tolist(), shared.tolist())} == \
        {p: c for p, c in truth.items() if c >= 3}
    assert not list(tmp_path.iterdir())  # every part taken


def test_counting_in_workers_needs_a_store_they_share() -> None:
    sets = [np.arange(10, dtype=np.uint64)] * 3
    with pytest.raises(RuntimeError, match="SpilledParts"):
        shared_shingle_pairs([np.concatenate(sets)], np.array([10, 10, 10]), min_shared=1,
                             star_above=12, max_doc_frequency=12, chunk=2,
                             engine=LocalEngine(2))


def test_unusable_documents_are_reported_not_lost(lee_texts) -> None:
    docs = _wire_in_outlets(lee_texts, 3) + [("empty", "  ... "), ("outlet1", "again")]
    result = find_reuse(docs)
    assert result.stats.documents_read == 6 and result.stats.rejected == 2
    assert [r.id for r in result.rejected] == ["empty", "outlet1"]
    assert "duplicate id" in result.rejected[1].reason
    assert result.groups[0].size == 4


def test_cli_reuse_on_the_example_with_bad_records(tmp_path) -> None:
    from click.testing import CliRunner

    from neardup.cli import main

    from .conftest import ROOT

    corpus = tmp_path / "news.jsonl"
    good = (ROOT / "examples" / "reuse.jsonl").read_text(encoding="utf-8")
    corpus.write_text(good + '{"id": "broken", "text": \n' + good.splitlines()[1] + "\n",
                      encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["reuse", str(corpus), "-o", str(out),
                                       "--series-field", "site", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "line 6: malformed JSON" in result.output and "duplicate id 'outlet-1'" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["documents_read"] == 7 and summary["rejected"] == 2
    group = json.loads((out / "groups.jsonl").read_text().splitlines()[0])
    assert group["size"] == 4 and group["origin"] == "wire-aap"
    assert group["credits"]["AAP"] == ["wire-aap", "outlet-2"]
    assert [m["date"] for m in group["members"]] == ["2001-12-04", "2001-12-05", "2001-12-05",
                                                     "2001-12-07"]
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert {(p["a"], p["b"]) for p in pairs} >= {("wire-aap", f"outlet-{k}") for k in (1, 2, 3)}
    assert all("unrelated" not in (p["a"], p["b"]) for p in pairs)
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert [r["record"] for r in rejected] == [6, 7]


# --- The chain test that drops hopeless candidates before alignment --------------------------

def _chain_oracle(seq: list[int], other: set[int], ngram: int, min_words: int,
                  max_gap: int) -> bool:
    """The definition, by brute force: shingles of ``seq`` found in ``other``, split where
    two starts are more than ``max_gap + ngram`` apart; does a piece cover ``min_words``?"""
    shared = [i for i, h in enumerate(seq) if h in other]
    pieces: list[list[int]] = []
    for i in shared:
        if pieces and i - pieces[-1][-1] <= max_gap + ngram:
            pieces[-1].append(i)
        else:
            pieces.append([i])
    return any(p[-1] + ngram - p[0] >= min_words for p in pieces)


_WORDS = st.lists(st.sampled_from(["wire", "story", "said", "the", "minister", "of", "a",
                                   "police", "today", "Sydney", "42"]), max_size=120)


@given(_WORDS, _WORDS, st.integers(1, 6), st.integers(6, 40), st.integers(0, 12))
@settings(max_examples=300, deadline=None)
def test_passage_chains_follow_their_definition(a: list[str], b: list[str], ngram: int,
                                                min_words: int, max_gap: int) -> None:
    seq_a = shingle_sequence(" ".join(a), ngram)
    seq_b = shingle_sequence(" ".join(b), ngram)
    expected = (_chain_oracle(seq_a.tolist(), set(seq_b.tolist()), ngram, min_words, max_gap)
                and _chain_oracle(seq_b.tolist(), set(seq_a.tolist()), ngram, min_words,
                                  max_gap))
    got = may_share_passages([seq_a, seq_b], np.array([0]), np.array([1]),
                             min_words=min_words, max_gap=max_gap, ngram=ngram)
    assert got.tolist() == [expected]


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_the_chain_test_never_drops_a_pair_with_a_passage(distinct_lee, data) -> None:
    """Whatever alignment reports, the chain test lets through: edited copies of real
    passages, in pieces, among other text."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    source = distinct_lee[int(rng.integers(len(distinct_lee)))].split()
    other = distinct_lee[int(rng.integers(len(distinct_lee)))].split()
    pieces = []
    for _ in range(int(rng.integers(1, 4))):
        start = int(rng.integers(len(source)))
        piece = source[start:start + int(rng.integers(5, 80))]
        for _ in range(int(rng.integers(0, 8))):  # words changed, dropped or doubled
            if len(piece) > 2:
                k = int(rng.integers(len(piece)))
                piece[k:k + 1] = [["edited"], [], [piece[k], piece[k]]][int(rng.integers(3))]
        pieces.append(piece)
        pieces.append(other[:int(rng.integers(0, 15))])
    a, b = " ".join(source), " ".join(w for p in pieces for w in p)
    min_words, max_gap = data.draw(st.integers(10, 45)), data.draw(st.integers(0, 12))
    found = shared_passages(tokenize_with_offsets(a), tokenize_with_offsets(b),
                            min_words=min_words, max_gap=max_gap)
    possible = may_share_passages([shingle_sequence(a), shingle_sequence(b)], np.array([0]),
                                  np.array([1]), min_words=min_words, max_gap=max_gap)
    if found:
        assert possible.all()


def test_the_chain_test_drops_scattered_sentences(distinct_lee) -> None:
    """Two texts sharing three sentences far apart share many shingles but no passage of
    40 words: dropped without alignment."""
    sentences = synth.sentences(distinct_lee[:20])
    short = [s for s in sentences if 12 <= len(s.split()) <= 25][:3]
    filler = [s for s in synth.sentences(distinct_lee[20:40])]
    a = " ".join([short[0], *filler[:5], short[1], *filler[5:10], short[2]])
    b = " ".join([short[2], *filler[10:15], short[0], *filler[15:20], short[1]])
    seqs = [shingle_sequence(a), shingle_sequence(b)]
    assert len(set(seqs[0].tolist()) & set(seqs[1].tolist())) >= 30
    assert not may_share_passages(seqs, np.array([0]), np.array([1])).any()
    assert shared_passages(tokenize_with_offsets(a), tokenize_with_offsets(b)) == []


def test_star_cut_off_is_lowered_to_fit_the_pair_budget_and_reported() -> None:
    """Shingles held by many documents each (a sentence pool): all-pairs linking would
    count far more pairs than postings, so the cut-off comes down, is reported, and the
    pairs are exactly those of the lowered cut-off asked for outright."""
    rng = np.random.default_rng(11)
    pool = rng.integers(1, 2**63, size=(60, 15)).astype(np.uint64)  # 60 "sentences"
    sets = [np.unique(pool[rng.integers(0, 60, 6)].ravel()) for _ in range(300)]
    counts = np.array([len(s) for s in sets])
    pairs, shared, stats = shared_shingle_pairs(
        [np.concatenate(sets)], counts, min_shared=10, star_above=50, max_doc_frequency=1000,
        pair_budget=1.0, min_budget=0)
    assert stats.star_above_asked == 50 and 2 <= stats.star_above < 50
    assert stats.star_shingles > 0
    lowered, lowered_shared, _ = shared_shingle_pairs(
        [np.concatenate(sets)], counts, min_shared=10, star_above=stats.star_above,
        max_doc_frequency=1000, min_budget=1 << 40)
    assert np.array_equal(pairs, lowered) and np.array_equal(shared, lowered_shared)
    unbounded, _, free = shared_shingle_pairs(
        [np.concatenate(sets)], counts, min_shared=10, star_above=50,
        max_doc_frequency=1000, min_budget=1 << 40)
    assert free.star_above == 50 and len(unbounded) > len(pairs)
