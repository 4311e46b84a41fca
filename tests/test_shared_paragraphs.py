"""Corpora whose documents share paragraphs: recall against brute force, and candidates
that grow with the corpus, not with the pairs that share a paragraph."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import neardup
from neardup import DedupOptions
from neardup.sigfilter import agreement_cutoff, signature_bytes
from neardup.sketch import Sketcher, SketchParams

from . import paragraphs


@pytest.fixture(scope="module")
def shared() -> paragraphs.SharedParagraphs:
    # 4,000 documents over 400 paragraphs: each paragraph stands in about 30 documents.
    return paragraphs.generate(4000, 400, copies=0.1, seed=3)


def test_recall_and_exact_scores_against_brute_force(shared: paragraphs.SharedParagraphs
                                                     ) -> None:
    ids = [f"d{i:05d}" for i in range(len(shared.texts))]
    result = neardup.dedup(list(zip(ids, shared.texts)), options=DedupOptions(threshold=0.8))
    truth = paragraphs.true_pairs(shared.texts, shared.paragraphs, 0.8)
    assert len(truth) > 300  # a real test set
    index = {d: i for i, d in enumerate(ids)}
    found = {(index[p.a], index[p.b]): p.jaccard for p in result.iter_pairs(None)}
    assert len(found.keys() & truth.keys()) / len(truth) >= 0.995
    assert found.keys() <= truth.keys()
    for k, score in found.items():
        assert score == pytest.approx(truth[k], abs=1e-12)
    # Candidates: the pairs that reached exact verification. Sharing a paragraph makes a
    # pair a band candidate with chance ~0.05 here; the signature test lets almost only
    # the matching ones through.
    sharing = sum(1 for _ in paragraphs.sharing_pairs(shared.paragraphs))
    assert sharing > 100_000
    assert result.stats.candidate_pairs <= 2 * result.stats.verified_pairs + 50


def _binomial_below(k: int, p: Fraction, c: int) -> Fraction:
    return sum((math.comb(k, i) * p**i * (1 - p) ** (k - i) for i in range(c)), Fraction(0))


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.9])
def test_cutoff_is_the_largest_that_drops_at_most_max_drop(threshold: float) -> None:
    p = Fraction(threshold).limit_denominator(1000)
    p = p + (1 - p) / 256
    c = agreement_cutoff(threshold, 128, 1e-6)
    assert _binomial_below(128, p, c) <= Fraction(1, 10**6) < _binomial_below(128, p, c + 1)


def test_signature_bytes_agree_as_the_model_says() -> None:
    # Two sets of 400 shingles with Jaccard exactly 0.8 (sharing 400 * 2 / 2.25 tokens):
    # over many seeds, the agreeing signature bytes average 128 * (J + (1 - J) / 256), and
    # no seed drops the pair.
    words = [f"w{i}" for i in range(1000)]
    a = " ".join(words[:404])
    b = " ".join(words[:360] + [f"x{i}" for i in range(44)])
    shingles_a = {tuple(words[i:i + 5]) for i in range(400)}
    tokens_b = b.split()
    shingles_b = {tuple(tokens_b[i:i + 5]) for i in range(400)}
    jaccard = len(shingles_a & shingles_b) / len(shingles_a | shingles_b)
    agree = []
    for seed in range(300):
        sig = signature_bytes(Sketcher(SketchParams(seed=seed)).sketch([a, b]).signatures)
        agree.append(int((sig[0] == sig[1]).sum()))
    expected = 128 * (jaccard + (1 - jaccard) / 256)
    assert abs(np.mean(agree) - expected) < 1.5
    assert min(agree) >= agreement_cutoff(jaccard, 128) - 12  # far above a 1e-6 drop


def _run(path: Path, out: Path) -> dict:
    subprocess.run([sys.executable, "-m", "neardup", "dedup", str(path), "-o", str(out),
                    "--raw", "--workers", "2", "--no-progress"], check=True,
                   capture_output=True, timeout=300)
    return json.loads((out / "summary.json").read_text())


def test_candidates_grow_with_the_corpus_not_with_shared_paragraph_pairs(tmp_path: Path
                                                                         ) -> None:
    pool = paragraphs.pool_paragraphs(300, seed=5)
    summaries, sharing = [], []
    for docs in (3000, 12000):
        made = paragraphs.generate(docs, len(pool), seed=5, paragraphs=pool)
        path = tmp_path / f"c{docs}.jsonl"
        path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                                for i, t in enumerate(made.texts)))
        summaries.append(_run(path, tmp_path / f"out{docs}"))
        sharing.append(sum(1 for _ in paragraphs.sharing_pairs(made.paragraphs)))
    # 4x the documents: about 16x the pairs that share a paragraph, ...
    assert sharing[1] > 12 * sharing[0]
    # ... but candidates stay a small share of them (banding alone proposes about one in
    # twenty-five), and per document they grow far slower.
    small, large = summaries
    assert large["candidate_pairs"] < sharing[1] / 100
    assert large["candidate_pairs"] / large["documents_read"] < \
        2 * small["candidate_pairs"] / small["documents_read"] + 0.05


def _tree_pss(pid: int) -> int:
    """PSS in bytes of a process and its descendants, read from /proc here (the test's own
    measure, not neardup's)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) * 1024 for line in fh
                              if line.startswith("Pss:"))
            with open(f"/proc/{current}/task/{current}/children") as fh:
                todo.extend(int(c) for c in fh.read().split())
        except (OSError, StopIteration):
            pass
    return total


def _dedup_with_limit(path: Path, out: Path, limit: str, match: str = "jaccard"
                      ) -> tuple[int, str, int]:
    proc = subprocess.Popen([sys.executable, "-m", "neardup", "dedup", str(path), "-o",
                             str(out), "--raw", "--workers", "2", "--no-progress",
                             "--max-memory", limit, "--match", match], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_pss(proc.pid))
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err.decode(), peak


@pytest.mark.parametrize("match", ["jaccard", "story"])
def test_max_memory_is_kept_or_the_run_says_so_in_one_line(tmp_path: Path, match: str) -> None:
    made = paragraphs.generate(20_000, 300, seed=9)
    path = tmp_path / "shared.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                            for i, t in enumerate(made.texts)))
    code, err, peak = _dedup_with_limit(path, tmp_path / "roomy", "400M", match)
    assert code == 0, err
    assert 0 < peak <= 400 << 20
    code, err, _ = _dedup_with_limit(path, tmp_path / "tight", "40M", match)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--max-memory 40 MiB" in lines[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "tight" / "pairs.jsonl").exists()  # nothing that looks complete


def test_an_index_added_in_batches_finds_the_brute_force_pairs(
        shared: paragraphs.SharedParagraphs, tmp_path: Path) -> None:
    """`index add` on shared paragraphs: every stored candidate passes the signature test
    before exact verification, and the pairs are brute force's, with their exact scores,
    batch after batch (each compared with all those before it)."""
    from neardup.index import Index

    ids = [f"d{i:05d}" for i in range(len(shared.texts))]
    truth = paragraphs.true_pairs(shared.texts, shared.paragraphs, 0.8)
    docs = list(zip(ids, shared.texts))
    with Index.create(tmp_path / "shared.ndx", DedupOptions(threshold=0.8)) as index:
        found = []
        for start in range(0, len(docs), 1000):
            found += index.add(docs[start:start + 1000], batch_size=400).pairs
    position = {d: i for i, d in enumerate(ids)}
    got = {(position[p.a], position[p.b]): p.jaccard for p in found}
    assert len(got) == len(found)  # no pair twice
    assert len(got.keys() & truth.keys()) / len(truth) >= 0.995
    assert got.keys() <= truth.keys()
    for k, score in got.items():
        assert score == pytest.approx(truth[k], abs=1e-12)


def test_an_index_from_before_signatures_verifies_its_old_documents(
        shared: paragraphs.SharedParagraphs, tmp_path: Path) -> None:
    """An index whose documents have no signature bytes stored (made before the test
    existed: here the table is emptied, and dropped for a read-only reader) still pairs
    new documents with them: those candidates skip the test and are all verified."""
    import sqlite3

    from neardup.index import Index

    ids = [f"d{i:05d}" for i in range(len(shared.texts))]
    truth = paragraphs.true_pairs(shared.texts, shared.paragraphs, 0.8)
    path = tmp_path / "old.ndx"
    with Index.create(path, DedupOptions(threshold=0.8)) as index:
        index.add(list(zip(ids[:2000], shared.texts[:2000])))
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM signatures")
    with Index(path) as index:
        later = index.add(list(zip(ids[2000:], shared.texts[2000:]))).pairs
    position = {d: i for i, d in enumerate(ids)}
    expected = {k for k in truth if k[1] >= 2000}
    assert len(expected) > 50
    got = {(position[p.a], position[p.b]) for p in later}
    assert len(got & expected) / len(expected) >= 0.995 and got <= expected
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE signatures")
    with Index(path, readonly=True) as index:
        text = shared.texts[2500]
        matches = index.query([("probe", text)])[0].matches
    assert {m.id for m in matches} >= {ids[2500]}


def test_index_add_past_max_memory_keeps_its_committed_batches(tmp_path: Path) -> None:
    """`index add --max-memory` too small: exit 1 with one line naming the limit; the
    batches committed before the check stay in the index, their pairs printed."""
    made = paragraphs.generate(3000, 300, seed=4)
    path = tmp_path / "shared.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                            for i, t in enumerate(made.texts)))
    index = tmp_path / "shared.ndx"
    subprocess.run([sys.executable, "-m", "neardup", "index", "create", str(index)],
                   check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "neardup", "index", "add", str(index),
                           str(path), "--batch-size", "500", "--max-memory", "20M"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--max-memory 20 MiB" in lines[0] and "--batch-size" in \
        lines[0], done.stderr
    stats = subprocess.run([sys.executable, "-m", "neardup", "index", "stats", str(index)],
                           capture_output=True, text=True, check=True)
    stored = json.loads(stats.stdout)["documents"]
    assert stored == 500  # the first batch, committed before the first check
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    truth = paragraphs.true_pairs(made.texts[:500], made.paragraphs[:500], 0.8)
    assert {(int(p["a"][1:]), int(p["b"][1:])) for p in printed} == set(truth)
