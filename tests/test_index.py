"""The persistent index: incremental equals batch, queries, idempotence, take-downs, and
an `index add` killed at random moments."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import neardup
from neardup import DedupOptions
from neardup.index import Index

from . import synth


def _as_set(pairs: list[neardup.Pair]) -> dict[tuple[str, str], tuple[float, bool]]:
    return {(p.a, p.b): (p.jaccard, p.exact) for p in pairs}


@pytest.fixture(scope="module")
def corpus(lee_texts: list[str]) -> list[tuple[str, str]]:
    """Planted near copies, exact copies and long chains, ids in reading order."""
    planted = synth.generate(lee_texts, 1200, dup_fraction=0.3, seed=3)
    docs = list(zip(planted.ids, planted.texts))
    docs += [(f"exact-{k}", planted.texts[k % 40]) for k in range(60)]
    return docs


def test_added_in_batches_gives_the_batch_runs_pairs(corpus: list[tuple[str, str]],
                                                     tmp_path: Path) -> None:
    batch = _as_set(neardup.find_pairs(corpus, 0.8))
    assert len(batch) > 400 and sum(exact for _, exact in batch.values()) >= 60
    cuts = [0, 100, 101, 700, len(corpus)]  # a batch of one document among them
    with Index.create(tmp_path / "news.ndx", DedupOptions(threshold=0.8)) as index:
        found: list[neardup.Pair] = []
        for start, end in zip(cuts, cuts[1:]):
            found += index.add(corpus[start:end], batch_size=250).pairs
        assert len(index) == len(corpus)
    assert len(found) == len(_as_set(found))  # no pair twice
    assert _as_set(found) == batch  # the same pairs, each with the same exact score


def test_a_query_finds_what_a_batch_run_pairs_the_text_with(
        corpus: list[tuple[str, str]], lee_texts: list[str], tmp_path: Path) -> None:
    known, queries = corpus[:900], corpus[900:1000]
    with Index.create(tmp_path / "news.ndx") as index:
        index.add(known)
    with Index(tmp_path / "news.ndx", readonly=True) as index:
        results = index.query(queries + [("nothing", "words that appear in no article")])
        assert len(index) == 900  # a query adds nothing
    matched = 0
    for (doc_id, text), result in zip(queries, results):
        batch = [p for p in neardup.find_pairs(known + [(doc_id, text)], 0.8)
                 if p.b == doc_id]
        assert {(m.id, m.jaccard, m.exact) for m in result.matches} == {
            (p.a, p.jaccard, p.exact) for p in batch}
        assert [m.jaccard for m in result.matches] == sorted(
            (m.jaccard for m in result.matches), reverse=True)
        matched += bool(result.matches)
    assert matched >= 10 and results[-1].matches == []


def test_adding_again_is_harmless_and_a_changed_text_is_refused(
        corpus: list[tuple[str, str]], tmp_path: Path) -> None:
    with Index.create(tmp_path / "news.ndx") as index:
        first = index.add(corpus[:300])
        again = index.add(corpus[:300] + [corpus[0]])
        assert again.known == 301 and not again.added
        assert _as_set(again.pairs) == _as_set(first.pairs)  # reported again, not added
        changed = index.add([(corpus[5][0], corpus[6][1]), ("new", corpus[7][1])])
        assert changed.added == ["new"]
        assert [(r.id, r.reason.split(":")[0]) for r in changed.rejected] == [
            (corpus[5][0], "id already in the index with another text")]
        assert {(p.a, p.b) for p in changed.pairs} >= {(corpus[7][0], "new")}
        assert len(index) == 301 and len(first.added) == 300


def test_removed_documents_are_no_longer_found_and_can_come_back(
        corpus: list[tuple[str, str]], tmp_path: Path) -> None:
    with Index.create(tmp_path / "news.ndx") as index:
        index.add(corpus[:50])
        doc_id, text = corpus[10]
        assert index.query([text])[0].matches[0].id == doc_id
        assert index.text(doc_id) == text  # kept as given, to show what matched
        assert index.remove([doc_id, "never-added"]) == [doc_id]
        assert doc_id not in index and len(index) == 49 and index.text(doc_id) is None
        assert all(m.id != doc_id for m in index.query([text])[0].matches)
        assert index.add([(doc_id, text)]).added == [doc_id]
        assert index.integrity() == "ok"


def test_an_index_remembers_its_settings_and_refuses_what_it_is_not(tmp_path: Path) -> None:
    path = tmp_path / "x.ndx"
    Index.create(path, DedupOptions(threshold=0.9, ngram=3)).close()
    with Index(path) as index:
        assert index.options.threshold == 0.9 and index.options.ngram == 3
    with pytest.raises(neardup.errors.InputError, match="already exists"):
        Index.create(path)
    with pytest.raises(neardup.errors.InputError, match="no index here"):
        Index(tmp_path / "missing.ndx")
    (tmp_path / "junk.ndx").write_text("not a database, just text " * 100)
    with pytest.raises(neardup.errors.InputError, match="not a neardup index"):
        Index(tmp_path / "junk.ndx")


def _cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neardup", *args], capture_output=True,
                          text=True, timeout=300, **kwargs)  # type: ignore[call-overload]


def _write_jsonl(path: Path, docs: list[tuple[str, str]]) -> None:
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in docs))


def test_the_command_line_adds_queries_removes_and_reports(corpus: list[tuple[str, str]],
                                                           tmp_path: Path) -> None:
    index = str(tmp_path / "news.ndx")
    first, second = tmp_path / "day1.jsonl", tmp_path / "day2.jsonl"
    _write_jsonl(first, corpus[:600])
    _write_jsonl(second, corpus[600:])
    assert _cli("index", "create", index, "--raw").returncode == 0
    printed = []
    for day in (first, second):
        run = _cli("index", "add", index, str(day))
        assert run.returncode == 0, run.stderr
        printed += [json.loads(line) for line in run.stdout.splitlines()]
    _write_jsonl(tmp_path / "all.jsonl", corpus)
    batch = _cli("pairs", "--raw", "--max-group-pairs", "1000000", str(tmp_path / "all.jsonl"))
    assert sorted(map(json.dumps, printed)) == sorted(
        json.dumps(json.loads(line)) for line in batch.stdout.splitlines())
    shown = _cli("index", "add", index, str(second), "--progress")  # all known by now
    assert "docs/s" in shown.stderr and f"{len(corpus) - 600:,} docs" in shown.stderr
    stats = json.loads(_cli("index", "stats", index).stdout)
    assert stats["documents"] == len(corpus) and stats["settings"]["threshold"] == 0.8
    assert stats["bytes"] > 0
    query = _cli("index", "query", index, str(first))
    rows = [json.loads(line) for line in query.stdout.splitlines()]
    assert len(rows) == 600 and all({"id": r["id"], "jaccard": 1.0, "exact": True}
                                    in r["matches"] for r in rows)
    removed = _cli("index", "remove", index, corpus[0][0], "nope")
    assert removed.stderr.strip() == "1 removed; not in the index: nope"
    clash = tmp_path / "clash.jsonl"
    _write_jsonl(clash, [(corpus[1][0], "an entirely different text about something else")])
    run = _cli("index", "add", index, str(clash))
    assert run.returncode == 1
    assert "id already in the index with another text" in run.stderr
    assert "Traceback" not in run.stderr
    missing = _cli("index", "add", str(tmp_path / "nothing.ndx"), str(first))
    assert missing.returncode == 1 and missing.stderr.strip() == (
        f"Error: {tmp_path / 'nothing.ndx'}: no index here; create one with "
        "`neardup index create`")


def test_an_add_killed_at_random_moments_loses_nothing_acknowledged(
        lee_texts: list[str], tmp_path: Path) -> None:
    """SIGKILL to `index add` (the process group) at random moments of its run: the index
    opens, passes SQLite's integrity check, holds every document of every pair printed
    (pairs are printed once their batch is committed), and the add run again completes it
    with no document twice and the batch run's pairs. NEARDUP_KILLS sets how many kills
    (`sh bench/index_crash.sh` runs 20)."""
    planted = synth.generate(lee_texts, 8000, dup_fraction=0.3, seed=4)
    corpus = list(zip(planted.ids, planted.texts))
    source = tmp_path / "all.jsonl"
    _write_jsonl(source, corpus)
    add = [sys.executable, "-m", "neardup", "index", "add"]
    # How long an add takes here, uninterrupted: the kills fall inside it.
    scratch = str(tmp_path / "scratch.ndx")
    assert _cli("index", "create", scratch, "--raw").returncode == 0
    started = time.perf_counter()
    assert subprocess.run([*add, scratch, str(source)], capture_output=True,
                          timeout=300).returncode == 0
    whole = time.perf_counter() - started
    index = str(tmp_path / "news.ndx")
    assert _cli("index", "create", index, "--raw").returncode == 0
    rng = np.random.default_rng(int(os.environ.get("KILL_SEED", "5")))
    kills = int(os.environ.get("NEARDUP_KILLS", "5"))
    acknowledged: list[dict] = []
    killed_mid_run = 0
    for _ in range(kills):
        proc = subprocess.Popen([*add, index, str(source), "--batch-size", "211"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(float(rng.uniform(0.1, 0.9)) * whole)
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        killed_mid_run += proc.returncode == -signal.SIGKILL
        acknowledged += [json.loads(line) for line in out.decode().splitlines()
                         if line.endswith("}")]  # a line cut by the kill was not acknowledged
        with Index(index, readonly=True) as ix:
            assert ix.integrity() == "ok"
            assert all(p["a"] in ix and p["b"] in ix for p in acknowledged)
    assert killed_mid_run >= kills // 2
    final = _cli("index", "add", index, str(source))
    assert final.returncode == 0, final.stderr
    with sqlite3.connect(index) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM documents")]
    assert sorted(ids) == sorted(i for i, _ in corpus)  # each once
    every = {(p["a"], p["b"]) for p in acknowledged}
    every |= {(p["a"], p["b"]) for p in map(json.loads, final.stdout.splitlines())}
    assert every == set(_as_set(neardup.find_pairs(corpus, 0.8)))


def test_add_with_an_output_directory_writes_what_dedup_writes(
        corpus: list[tuple[str, str]], tmp_path: Path) -> None:
    """Day two into an index holding day one: groups keep the document already in the
    index, kept/ holds the new documents kept, and every new document is accounted for."""
    index = str(tmp_path / "news.ndx")
    first, second = tmp_path / "day1.jsonl", tmp_path / "day2.jsonl"
    _write_jsonl(first, corpus[:700])
    _write_jsonl(second, corpus[700:])
    assert _cli("index", "create", index, "--raw").returncode == 0
    assert _cli("index", "add", index, str(first)).returncode == 0
    out = tmp_path / "out"
    run = _cli("index", "add", index, str(second), "-o", str(out))
    assert run.returncode == 0, run.stderr
    printed = [json.loads(line) for line in run.stdout.splitlines()]
    assert [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()] == \
        printed
    rows = [json.loads(line) for line in (out / "clusters.jsonl").read_text().splitlines()]
    day_one = {i for i, _ in corpus[:700]}
    groups: dict[int, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["cluster"], []).append(row)
        assert row["known"] == (row["id"] in day_one)
    assert any(any(r["known"] for r in g) for g in groups.values())
    for members in groups.values():
        kept = [r for r in members if r["keep"]]
        assert len(kept) == 1 and kept[0]["jaccard_to_kept"] == 1.0
        if any(r["known"] for r in members):
            assert kept[0]["known"]  # the index's document wins
        assert all(r["jaccard_to_kept"] >= 0.5 for r in members)
    kept_ids = [json.loads(line)["id"] for line in
                (out / "kept" / "day2.jsonl").read_text().splitlines()]
    removed = {r["id"] for r in rows if not r["keep"] and not r["known"]}
    assert kept_ids == [i for i, _ in corpus[700:] if i not in removed]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["added"] == len(corpus) - 700 == summary["kept"] + summary["removed"]
    assert summary["pairs"] == len(printed) and summary["documents_in_index"] == len(corpus)
