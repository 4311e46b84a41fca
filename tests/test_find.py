"""`neardup find`: given texts in a corpus, against a brute-force search written in the
tests (tests/contamination.py), on real text in English, Chinese and Thai."""

from __future__ import annotations

import html
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

import neardup
from neardup.find import FindOptions

from . import contamination
from .conftest import LEE
from .multilingual import DATA as MULTILINGUAL


def _check_against_brute_force(queries: dict[str, str], docs: dict[str, str], n: int,
                               workers: int = 1) -> None:
    result = neardup.find_texts(queries, docs, FindOptions(ngram=n), workers=workers)
    pairs, per_query = contamination.brute_force(queries, docs, n)
    found = {(m.query, m.doc): m for m in result.matches}
    assert set(found) == set(pairs)
    for key, truth in pairs.items():
        m = found[key]
        assert m.overlap == pytest.approx(truth.overlap, abs=1e-12), key
        assert sorted(p.tokens for p in m.passages) == truth.passages, key
        for p in m.passages:  # every passage is a real token match, as read
            q_toks = contamination.tokens(queries[m.query][p.query[0]:p.query[1]])
            d_toks = contamination.tokens(docs[m.doc][p.doc[0]:p.doc[1]])
            assert q_toks == d_toks and len(q_toks) == p.tokens, key
    for q in result.queries:
        t = per_query[q.id]
        assert (q.ngrams, q.longest, q.documents) == (t.ngrams, t.longest, t.documents), q.id
        assert q.overlap == pytest.approx(t.overlap, abs=1e-12), q.id
        assert q.contaminated == (t.overlap >= 0.5), q.id
    assert len(result.queries) == len(queries)


def _texts_with_reuse(sentences: list[str], rng: random.Random, docs: int, queries: int
                      ) -> tuple[dict[str, str], dict[str, str]]:
    """Documents strung from a few hundred real sentences (so they share many), and queries
    made of runs of the same sentences, some cut mid-sentence, some short, some absent."""
    pool = sentences[:300]
    corpus = {f"d{i}": " ".join(rng.choice(pool) for _ in range(rng.randint(3, 9)))
              for i in range(docs)}
    found: dict[str, str] = {}
    for k in range(queries):
        kind = k % 4
        if kind == 0:  # whole sentences
            text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 3)))
        elif kind == 1:  # a cut across sentences
            text = " ".join(rng.choice(pool) for _ in range(3))
            cut = rng.randrange(max(1, len(text) // 3))
            text = text[cut:cut + rng.randint(40, 400)]
        elif kind == 2:  # short: matches only as a whole
            words = rng.choice(pool).split()
            start = rng.randrange(len(words))
            text = " ".join(words[start:start + rng.randint(1, 6)])
        else:  # text the corpus never uses
            text = " ".join(sentences[-1 - rng.randrange(200)] for _ in range(2))
        found[f"q{k}"] = text
    return found, corpus


def test_find_matches_brute_force_on_english_news() -> None:
    rng = random.Random(3)
    sentences = contamination.sentences(LEE.read_text(encoding="utf-8").splitlines())
    queries, docs = _texts_with_reuse(sentences, rng, docs=120, queries=60)
    _check_against_brute_force(queries, docs, 13)
    _check_against_brute_force(queries, docs, 8, workers=2)


@pytest.mark.parametrize("language", ["zh", "th"])
def test_find_matches_brute_force_in_scripts_without_spaces(language: str) -> None:
    text = (MULTILINGUAL / f"{language}.txt").read_text(encoding="utf-8")
    # Sentences end with 。 in Chinese; Thai separates them with spaces.
    cut = re.split(r"(?<=。)|\s+", text) if language == "zh" else text.split()
    pieces = [p for p in cut if len(p) >= 8]
    rng = random.Random(5)
    queries, docs = _texts_with_reuse(pieces, rng, docs=80, queries=40)
    _check_against_brute_force(queries, docs, 13)


def test_planted_copies_are_found(tmp_path: Path) -> None:
    lines = LEE.read_text(encoding="utf-8").splitlines()
    corpus = contamination.planted(lines, docs=600, queries=120, seed=11)
    result = neardup.find_texts(corpus.queries, corpus.docs)
    found = {(m.query, m.doc): m.overlap for m in result.matches}
    by_variant: dict[str, list[float]] = {}
    for q, d, variant in corpus.copies:
        assert (q, d) in found, (q, d, variant)
        by_variant.setdefault(variant, []).append(found[(q, d)])
    # Copies whose tokens are the query's (verbatim, case/space/punctuation changed)
    # hold all of it; an edit or a cut leaves most.
    assert min(by_variant["verbatim"] + by_variant["surface"]) == 1.0
    assert min(by_variant["edited"] + by_variant["partial"]) >= 0.5
    planted_queries = {q for q, _, _ in corpus.copies}
    contaminated = {q.id for q in result.queries if q.contaminated}
    assert contaminated == planted_queries  # recall 1.0, precision 1.0


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_find_command_writes_matches_and_removes(tmp_path: Path) -> None:
    lines = LEE.read_text(encoding="utf-8").splitlines()
    corpus = contamination.planted(lines, docs=300, queries=40, seed=2)
    docs = [{"id": d, "text": t, "site": f"site{i % 7}.example", "date": "2026-11-30"}
            for i, (d, t) in enumerate(corpus.docs.items())]
    docs.insert(5, {"id": "broken"})  # no text: rejected, never in kept/
    docs.insert(9, {"id": "d0000001", "text": "a second record with an id read before"})
    corpus_file = _jsonl(tmp_path / "corpus.jsonl", docs)
    # Benchmark-style items: the question and the answer in two fields, joined.
    items = []
    for q, text in corpus.queries.items():
        words = text.split()
        half = len(words) // 2
        items.append({"qid": q, "question": " ".join(words[:half]),
                      "answer": " ".join(words[half:])})
    items.append({"qid": "empty", "question": "?!", "answer": "..."})
    items.append({"qid": "unasked", "answer": "an answer with no question"})
    _jsonl(tmp_path / "bench-items.jsonl", items)
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "neardup", "find", "bench-items.jsonl", "--in", "corpus.jsonl",
         "-o", "out", "--query-id-field", "qid", "--query-text-field", "question",
         "--query-text-field", "answer", "--site-field", "site", "--remove"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    joined = {i["qid"]: i["question"] + "\n" + i["answer"] for i in items[:-2]}
    docs_by_id = {d: t for d, t in corpus.docs.items()}
    pairs, per_query = contamination.brute_force(joined, docs_by_id, 13)
    matches = _rows(out / "matches.jsonl")
    assert {(m["query"], m["doc"]) for m in matches} == set(pairs)
    for m in matches:
        assert m["overlap"] == pytest.approx(pairs[(m["query"], m["doc"])].overlap, abs=1e-6)
        assert m["site"].startswith("site") and m["date"] == "2026-11-30"
        for p in m["passages"]:
            assert (contamination.tokens(joined[m["query"]][slice(*p["query"])])
                    == contamination.tokens(docs_by_id[m["doc"]][slice(*p["doc"])]))
    reported = {r["id"]: r for r in _rows(out / "queries.jsonl")}
    assert set(reported) == set(joined)
    for q, r in reported.items():
        assert r["source"] == "bench-items.jsonl"
        assert r["contaminated"] == (per_query[q].overlap >= 0.5)
        assert r["documents"] == per_query[q].documents
    # Removed: each document at overlap >= 0.5 with some query, named with that query.
    should_go = {d for (q, d), t in pairs.items() if t.overlap >= 0.5}
    removed = _rows(out / "removed.jsonl")
    assert {r["doc"] for r in removed} == should_go
    for r in removed:
        assert pairs[(r["query"], r["doc"])].overlap == max(
            t.overlap for (q, d), t in pairs.items() if d == r["doc"])
    kept_lines = (out / "kept" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    input_lines = corpus_file.read_text(encoding="utf-8").splitlines()
    expected = [line for k, line in enumerate(input_lines)
                if k not in (5, 9) and json.loads(line)["id"] not in should_go]
    assert kept_lines == expected  # the lines as they were, less broken and repeated ids
    rejected = _rows(out / "rejected.jsonl")
    assert {(r["side"], r["id"]) for r in rejected} == {
        ("query", "empty"), ("query", "unasked"), ("corpus", "broken"),
        ("corpus", "d0000001")}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["command"] == "find"
    assert summary["per_file"] == {"bench-items.jsonl": {
        "items": len(joined), "contaminated": sum(r["contaminated"] for r in reported.values())}}
    assert (summary["queries_rejected"], summary["documents_rejected"]) == (2, 2)
    assert summary["removed"] == len(should_go)
    assert "removed" in run.stderr and "-> out" in run.stderr
    assert "(name another with --query-text-field)" in run.stderr
    # The report: the share per query file, and matches side by side with passages marked.
    page = neardup.write_report(out).read_text(encoding="utf-8")
    contaminated = sum(r["contaminated"] for r in reported.values())
    assert f"{contaminated / len(joined):.1%}" in page and "bench-items.jsonl" in page
    best = max(matches, key=lambda m: m["overlap"])
    first = min(best["passages"], key=lambda p: p["query"])
    shown = html.escape(joined[best["query"]][slice(*first["query"])], quote=True)
    assert f'<mark class="shared" title="shared passage 1"><sup>1</sup>{shown}</mark>' in page


def test_find_refuses_queries_on_standard_input(tmp_path: Path) -> None:
    corpus = _jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "some words here"}])
    run = subprocess.run([sys.executable, "-m", "neardup", "find", "-", "--in", str(corpus),
                          "-o", str(tmp_path / "out")], capture_output=True, text=True,
                         input="", timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0 and "standard input" in run.stderr


def test_false_candidates_from_a_shared_hash_prefix_never_reach_the_output() -> None:
    """The table keeps a hash prefix, and the filter may pass anything: with a filter of
    all ones and a table where every hash meets every query n-gram (as if all shared one
    prefix), the checked passages are still exactly the real ones."""
    import numpy as np

    from neardup.find.scan import find_in
    from neardup.find.table import QueryTable

    class EveryRow(QueryTable):
        def entries(self, found: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            total = int(self.first_rows[-1])
            rows = np.tile(np.arange(total), len(found))
            query = np.searchsorted(self.first_rows, rows, side="right") - 1
            return np.repeat(np.arange(len(found)), total), query, rows - self.first_rows[query]

    rng = random.Random(8)
    sentences = contamination.sentences(LEE.read_text(encoding="utf-8").splitlines())
    queries, docs = _texts_with_reuse(sentences, rng, docs=12, queries=8)
    table = QueryTable.build(list(queries.values()), 13)
    blind = EveryRow(**{**vars(table), "filter": np.full_like(
        table.filter, np.iinfo(np.uint64).max)})
    texts = list(docs.values())

    def found(t: QueryTable) -> list[tuple]:
        return [(m.doc, m.query, m.covered.tolist(), m.passages) for m in find_in(t, texts)[1]]

    assert found(blind) == found(table)
    pairs, _ = contamination.brute_force(queries, docs, 13)
    qids, dids = list(queries), list(docs)
    assert len(pairs) >= 5
    assert {(qids[q], dids[d]) for d, q, _, _ in found(blind)} == set(pairs)
