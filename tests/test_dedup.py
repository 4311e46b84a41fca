"""Dedup against the brute-force exact-Jaccard oracle, groups, keep policies, accounting."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neardup
from neardup import DedupOptions, KeepPolicy

from . import synth


def _found(pairs: list[neardup.Pair], ids: list[str]) -> dict[tuple[int, int], float]:
    index = {d: i for i, d in enumerate(ids)}
    return {(index[p.a], index[p.b]): p.jaccard for p in pairs}


@pytest.mark.parametrize("workers", [1, 2])
def test_pairs_match_brute_force_exactly(planted: synth.PlantedCorpus,
                                         planted_truth: dict, workers: int) -> None:
    pairs = neardup.find_pairs(list(zip(planted.ids, planted.texts)), 0.8, workers=workers)
    found = _found(pairs, planted.ids)
    truth_80 = {k: v for k, v in planted_truth.items() if v >= 0.8}
    truth_85 = {k for k, v in planted_truth.items() if v >= 0.85}
    assert len(truth_80) > 300 and len(truth_80) - len(truth_85) > 50  # a real test set
    recall_80 = len(found.keys() & truth_80.keys()) / len(truth_80)
    recall_85 = len(found.keys() & truth_85) / len(truth_85)
    assert recall_80 >= 0.995 and recall_85 >= 0.999
    assert found.keys() <= truth_80.keys()  # nothing below the threshold
    for k, score in found.items():
        assert score == pytest.approx(truth_80[k], abs=1e-12)  # every score exact


def test_pairs_list_the_earlier_document_first(planted: synth.PlantedCorpus) -> None:
    ids = planted.ids[:600]
    pairs = neardup.find_pairs(list(zip(ids, planted.texts[:600])), 0.8)
    assert pairs and all(p.a < p.b for p in pairs)  # ids are zero-padded in reading order


def test_no_verify_reports_marked_estimates(planted: synth.PlantedCorpus,
                                            planted_truth: dict) -> None:
    docs = list(zip(planted.ids, planted.texts))
    pairs = neardup.find_pairs(docs, options=DedupOptions(verify=False))
    near = [p for p in pairs if not p.exact]
    assert near and all(p.estimated for p in near)  # token-identical copies are known exactly
    found = _found(pairs, planted.ids)
    both = found.keys() & planted_truth.keys()
    errors = np.array([found[k] - planted_truth[k] for k in both])
    assert np.abs(errors).mean() < 0.05


def test_exact_and_near_groups_keep_one_and_account_for_all(seed_texts) -> None:
    a, b = seed_texts
    docs = {"a": a, "b": b, "a-upper": a.upper(), "other": "An unrelated text about rain.",
            "empty": "  --  "}
    r = neardup.dedup(docs)
    assert r.groups() == [["a", "b", "a-upper"]]
    assert r.kept_ids() == ["a", "other"]
    s = r.stats
    assert (s.documents_read, s.kept, s.removed, s.rejected) == (5, 2, 2, 1)
    assert s.exact_duplicates == 1 and s.near_duplicates == 1
    assert s.kept + s.removed + s.rejected == s.documents_read
    rows = {row["id"]: row for row in r.iter_cluster_rows()}
    assert rows["b"]["jaccard_to_kept"] == pytest.approx(0.8967, abs=1e-4)
    assert rows["a-upper"]["jaccard_to_kept"] == 1.0
    assert [x.id for x in r.rejected] == ["empty"]


def test_chain_members_report_similarity_to_kept(lee_texts: list[str]) -> None:
    """A~B and B~C with A far from C: one group, C's distance to A visible."""
    words = " ".join(lee_texts[:3]).split()[:400]
    a = " ".join(words)
    b = " ".join(words[40:] + words[:40][::-1])  # drifted
    c = " ".join(words[80:] + words[:80][::-1])  # drifted further
    r = neardup.dedup({"a": a, "b": b, "c": c}, threshold=0.8)
    rows = {row["id"]: row for row in r.iter_cluster_rows()}
    assert {p.a + p.b for p in r.iter_pairs()} == {"ab", "bc"}
    assert rows["c"]["cluster"] == rows["a"]["cluster"]
    assert rows["c"]["jaccard_to_kept"] < 0.8 <= rows["b"]["jaccard_to_kept"]


@pytest.mark.parametrize("policy,kept", [(KeepPolicy.FIRST, "short"),
                                         (KeepPolicy.LONGEST, "long"),
                                         (KeepPolicy.SHORTEST, "short")])
def test_keep_policies(seed_texts, policy: KeepPolicy, kept: str) -> None:
    a, _ = seed_texts
    docs = {"short": a, "long": a + " And one more closing sentence added here."}
    r = neardup.dedup(docs, options=DedupOptions(keep=policy))
    assert r.kept_ids() == [kept]


def test_large_exact_group_collapses_to_one_line() -> None:
    docs = {f"copy{i}": "the same template text repeated on every page" for i in range(60)}
    r = neardup.dedup(docs)
    lines = list(r.iter_pairs(max_group_pairs=1000))
    assert len(lines) == 1 and isinstance(lines[0], neardup.ExactGroup)
    assert len(lines[0].members) == 60
    assert len(list(r.iter_pairs(max_group_pairs=None))) == 60 * 59 // 2
    assert r.stats.pairs == 60 * 59 // 2


def test_duplicate_ids_are_rejected_not_lost() -> None:
    r = neardup.dedup([("x", "first text about the harbour"), ("x", "second text"),
                       ("y", "third text")])
    assert r.kept_ids() == ["x", "y"]
    assert len(r.rejected) == 1 and "duplicate id 'x'" in r.rejected[0].reason
    assert r.rejected[0].source.record == 1  # the second record, not the first
    assert r.stats.documents_read == 3


def test_spill_files_are_removed_after_a_run_and_after_a_failure(tmp_path, seed_texts) -> None:
    spill = tmp_path / "spill"
    neardup.dedup(list(seed_texts), options=DedupOptions(tmp_dir=str(spill)))
    assert list(spill.iterdir()) == []

    def failing():
        yield neardup.Document("a", seed_texts[0])
        raise RuntimeError("reader broke")

    with pytest.raises(RuntimeError):
        neardup.dedup(failing(), options=DedupOptions(tmp_dir=str(spill)))
    assert list(spill.iterdir()) == []


def test_exact_groups_use_all_128_bits_of_the_key() -> None:
    from neardup.dedup import exact_representatives

    keys = np.array([[7, 1], [7, 2], [7, 1], [9, 2], [7, 2]], dtype=np.uint64)
    valid = np.array([0, 1, 2, 3, 4])
    # 0 and 2 share both halves, 1 and 4 too; 1 shares only the first half with 0.
    assert exact_representatives(keys, valid, 5).tolist() == [0, 1, 0, 3, 1]
    assert exact_representatives(keys, np.array([1, 2, 4]), 5).tolist() == [-1, 1, 2, -1, 1]


def test_prefix_filtered_truth_equals_brute_force(planted: synth.PlantedCorpus) -> None:
    """The truth bench/ builds for large corpora (synth.similar_pairs) is the brute force's."""
    texts = planted.texts[:600]
    brute = synth.exact_pairs(texts, 0.5)
    assert len(brute) > 50
    fast = synth.similar_pairs(texts, 0.5)
    assert fast.keys() == brute.keys()
    assert all(abs(fast[k] - brute[k]) < 1e-12 for k in brute)


def test_a_repeated_id_names_where_it_was_first_accepted() -> None:
    """An empty first copy is rejected for having no words, so the later copy is the one a
    repeat is reported against; the record order of the report is reading order."""
    docs = [neardup.Document("a", " ,, ", neardup.Source("f.jsonl", 1)),
            neardup.Document("a", "first real text of a with enough words here",
                             neardup.Source("f.jsonl", 2)),
            neardup.Document("b", "another text entirely about other things now",
                             neardup.Source("f.jsonl", 3)),
            neardup.Document("a", "a repeated id with a different text body now",
                             neardup.Source("f.jsonl", 4)),
            neardup.Document("b", "b again", neardup.Source("f.jsonl", 5))]
    result = neardup.dedup(docs)
    assert [r.message() for r in result.rejected] == [
        "f.jsonl:line 1 (id 'a'): no words to compare (empty, or only spaces and punctuation)",
        "f.jsonl:line 4 (id 'a'): duplicate id 'a', first read at f.jsonl:line 2",
        "f.jsonl:line 5 (id 'b'): duplicate id 'b', first read at f.jsonl:line 3"]
    assert result.kept_ids() == ["a", "b"]


@pytest.mark.parametrize("verify", [True, False])
def test_output_lines_are_the_rows_the_api_gives(lee_texts: list[str], verify: bool) -> None:
    """pairs.jsonl and clusters.jsonl (written as encoded chunks) hold exactly the API's
    rows, in its order: exact groups listed pair by pair or, past --max-group-pairs, as
    one line; near pairs between exact groups expanded to every copy; odd ids escaped."""
    texts = lee_texts[:120]
    docs: list[tuple[str, str]] = [(f"doc {k}", t) for k, t in enumerate(texts)]
    docs += [(f'copy "{k}"\t{c}', texts[k]) for k, copies in ((0, 4), (1, 1), (2, 39))
             for c in range(copies)]
    words = texts[0].split()
    docs += [(f"near\\{c}", " ".join(words[:50 + c] + ["changed"] + words[51 + c:]))
             for c in range(3)]
    docs += [("wörter ✓", texts[3]), ("wörter ✓ again", texts[3])]
    result = neardup.dedup(docs, options=DedupOptions(verify=verify))
    for limit in (10, None):
        rows = list(result.iter_pairs(limit))
        assert any(isinstance(r, neardup.ExactGroup) for r in rows) == (limit == 10)
        near = [r for r in rows if isinstance(r, neardup.Pair) and not r.exact]
        assert len({(p.a, p.b) for p in near}) == len(near) >= 3 * 5  # copies of doc 0 too
        lines = b"".join(result.pair_lines(limit)).decode().splitlines()
        assert [json.loads(line) for line in lines] == [r.to_dict() for r in rows]
    clusters = b"".join(result.cluster_lines()).decode().splitlines()
    rows = [json.loads(line) for line in clusters]
    assert rows == list(result.iter_cluster_rows())
    assert sum(r["keep"] for r in rows) == result.stats.groups
    assert {r["id"] for r in rows} >= {'copy "2"\t38', "wörter ✓ again", "near\\2"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"])), max_size=20))
def test_json_strings_are_what_orjson_writes(values: list[str]) -> None:
    from neardup.dedup import json_strings

    assert json_strings(values) == [orjson.dumps(v) for v in values]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**64 - 1), max_size=30), min_size=1, max_size=40),
       st.data())
def test_spilled_arrays_read_together_are_the_arrays_read_one_by_one(
        arrays: list[list[int]], data: st.DataObject) -> None:
    """The batch read verification uses (one mapping a file) gives each document's array as
    the one-by-one read does, in any order of documents asked, repeats included."""
    from neardup.store import SpillStore

    store = SpillStore(np.uint64)
    try:
        writer = store.writer()
        cut = data.draw(st.integers(0, len(arrays)))
        for part in (arrays[:cut], arrays[cut:]):  # two batches, as a run appends them
            flat = np.array([v for a in part for v in a], dtype=np.uint64)
            store.register(writer.append(flat), np.array([len(a) for a in part]))
        reader = store.reader()
        docs = np.array(data.draw(st.lists(st.integers(0, len(arrays) - 1), max_size=60)),
                        dtype=np.int64)
        values, offsets = reader.many(docs)
        assert len(offsets) == len(docs) + 1
        for k, doc in enumerate(docs.tolist()):
            assert values[offsets[k]:offsets[k + 1]].tolist() == arrays[doc]
            assert reader.get(doc).tolist() == arrays[doc]
    finally:
        store.close()


def test_many_spilled_arrays_read_together_across_released_pages() -> None:
    """Thousands of arrays in one read (one pread each, in file order whatever order they
    are asked in), in file order, in reverse and at random: each as written."""
    from neardup.store import SpillStore

    rng = np.random.default_rng(3)
    arrays = [rng.integers(0, 2**63, rng.integers(0, 900), dtype=np.uint64)
              for _ in range(5000)]
    store = SpillStore(np.uint64)
    try:
        store.register(store.writer().append(np.concatenate(arrays)),
                       np.array([len(a) for a in arrays]))
        reader = store.reader()
        for docs in (np.arange(5000), np.arange(5000)[::-1], rng.integers(0, 5000, 3000)):
            values, offsets = reader.many(docs)
            for k, doc in enumerate(docs.tolist()):
                assert np.array_equal(values[offsets[k]:offsets[k + 1]], arrays[doc])
    finally:
        store.close()
