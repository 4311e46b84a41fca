"""Cleaning: the seeds become one text, templates are learned, articles are never eaten."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neardup
from neardup import CleanOptions
from neardup.text import jaccard, shingles, tokens

from . import synth

FOOTER = ("MH/PA All Content by Mehr News Agency is licensed under a Creative Commons "
          "Attribution 4.0 International License.")


def paragraphs(text: str, size: int = 3) -> list[str]:
    """A Lee article (one line) as paragraphs of three sentences."""
    sentences = synth.sentences([text])
    return [" ".join(sentences[i:i + size]) for i in range(0, len(sentences), size)]


def test_seeds_clean_to_the_same_words(seed_texts) -> None:
    (_, a), (_, b) = neardup.clean({"000": seed_texts[0], "004": seed_texts[1]})
    assert tokens(a.text) == tokens(b.text)
    assert jaccard(shingles(tokens(a.text)), shingles(tokens(b.text))) == 1.0
    assert a.meta == {"title": "Iran has provided Iraq with defense products, says general",
                      "date": "November 15, 2020 - 18:2"}
    assert [(r.kind, r.text) for r in a.removed] == [
        ("title", a.meta["title"]), ("date", a.meta["date"]),
        ("comment-form", "Leave a Comment"), ("captcha", "0 + 0 =")]
    assert [(r.kind, r.reason, r.text) for r in b.removed] == [
        ("licence-footer", "licence footer", FOOTER)]
    for r in a.removed:
        assert seed_texts[0][r.start:r.end] == r.text


def test_real_articles_lose_nothing(lee_texts) -> None:
    """No pattern, header rule or learned line fires on 300 real ABC articles."""
    docs = {f"lee{i}": "\n\n".join(paragraphs(t)) for i, t in enumerate(lee_texts)}
    for doc_id, cleaned in neardup.clean(docs):
        assert cleaned.removed == [], doc_id
        assert tokens(cleaned.text) == tokens(docs[doc_id])


def _site_corpus(lee_texts: list[str]) -> tuple[dict[str, dict], list[str]]:
    """40 articles of one site in its template, plus one story syndicated 10 times."""
    template_head = ["The Daily Example", "Home | World | Business | Sport"]
    template_foot = ["From the newsroom of The Daily Example, independent since 1901.",
                     "Share this story with a friend"]
    docs = {}
    for i, text in enumerate(lee_texts[:40]):
        body = "\n\n".join(paragraphs(text))
        docs[f"site-{i}"] = {"text": "\n".join(template_head) + "\n\n" + body + "\n\n"
                             + "\n".join(template_foot), "site": "example.com"}
    story = "\n\n".join(paragraphs(lee_texts[100]))
    for k in range(10):
        docs[f"wire-{k}"] = {"text": f"Wire copy {k}\n\n{story}", "site": "example.com"}
    return docs, template_head + template_foot


def test_learned_template_goes_and_syndicated_story_stays(lee_texts) -> None:
    corpus, template = _site_corpus(lee_texts)
    docs = [neardup.Document(i, d["text"], meta={"site": d["site"]}) for i, d in corpus.items()]
    cleaned = dict(neardup.clean(docs))
    for doc_id, c in cleaned.items():
        original = corpus[doc_id]["text"]
        removed = {r.text for r in c.removed}
        if doc_id.startswith("site-"):
            assert set(template) <= removed, doc_id
            learned = [r for r in c.removed if r.kind == "repeated-line"]
            assert learned and all("pages of this site" in r.reason for r in learned)
        # Every body paragraph survives, in every document, including all 10 wire copies.
        for para in original.split("\n\n"):
            if para not in "\n".join(template) and not para.startswith("Wire copy"):
                assert " ".join(tokens(para)) in " ".join(tokens(c.text)), (doc_id, para[:60])


def test_learning_counts_per_site(lee_texts) -> None:
    corpus, template = _site_corpus(lee_texts)
    # Spread the 40 template pages over 40 sites: no site repeats anything, nothing is learned.
    docs = [neardup.Document(i, d["text"], meta={"site": i}) for i, d in corpus.items()]
    assert not any(r.kind == "repeated-line" for _, c in neardup.clean(docs) for r in c.removed)


def run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neardup", *args], input=stdin,
                          capture_output=True, timeout=120)


def test_cli_clean_jsonl_from_stdin_with_site_field(tmp_path: Path, lee_texts) -> None:
    corpus, template = _site_corpus(lee_texts)
    data = "".join(json.dumps({"id": i, "text": d["text"], "site": d["site"]}) + "\n"
                   for i, d in corpus.items()).encode() + b'{"id": "bad"\n'
    out = tmp_path / "out"
    proc = run(["clean", "-", "-o", str(out), "--site-field", "site"], stdin=data)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in (out / "cleaned.jsonl").read_text().splitlines()]
    assert len(rows) == 50
    site0 = next(r for r in rows if r["id"] == "site-0")
    assert not any(line in site0["text"] for line in template)
    learned = [json.loads(x)["line"] for x in (out / "boilerplate.jsonl").read_text().splitlines()]
    assert "The Daily Example" in learned and "Home | World | Business | Sport" in learned
    summary = json.loads((out / "summary.json").read_text())
    assert summary["documents_read"] == 51 and summary["rejected"] == 1
    assert summary["learned_lines"] >= 3


def test_extra_pattern_file_and_a_broken_one(tmp_path: Path) -> None:
    extra = tmp_path / "mine.json"
    extra.write_text(json.dumps({"patterns": [
        {"name": "newsletter", "reason": "newsletter box", "where": "line",
         "regex": "(?i)get our morning briefing.*"}]}))
    (tmp_path / "doc.txt").write_text("A real first paragraph of news here.\n\n"
                                      "Get our morning briefing every day\n")
    out = tmp_path / "out"
    proc = run(["clean", str(tmp_path / "doc.txt"), "-o", str(out), "--patterns", str(extra)])
    assert proc.returncode == 0, proc.stderr
    row = json.loads((out / "cleaned.jsonl").read_text())
    assert row["text"] == "A real first paragraph of news here."
    assert row["removed"][0]["reason"] == "newsletter box"
    extra.write_text('{"patterns": [{"name": "x", "regex": "("}]}')
    proc = run(["clean", str(tmp_path / "doc.txt"), "-o", str(out), "--patterns", str(extra)])
    assert proc.returncode != 0 and b"bad pattern file" in proc.stderr


@pytest.mark.parametrize("line", ["0 + 0 =", "12 x 3 = ?", "Leave a Reply", "3 Comments",
                                  "Share this article on social media",
                                  "Copyright 2021 Example Media. All rights reserved."])
def test_junk_lines_go(line: str) -> None:
    text = f"The council met on Tuesday to discuss the budget for next year.\n\n{line}\n"
    (_, c), = neardup.clean([text], CleanOptions(learn=False))
    assert c.text == "The council met on Tuesday to discuss the budget for next year."


def test_dedup_clean_makes_the_seeds_exact_copies_and_keeps_originals(tmp_path: Path,
                                                                      seed_texts) -> None:
    rows = [{"id": "000", "text": seed_texts[0]}, {"id": "004", "text": seed_texts[1]},
            {"id": "x", "text": "A different story about rain in Perth and the farmers."}]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    out = tmp_path / "out"
    proc = run(["dedup", "-", "-o", str(out), "--clean"], stdin=data)  # two passes over stdin
    assert proc.returncode == 0, proc.stderr
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text().splitlines()]
    assert pairs == [{"a": "000", "b": "004", "jaccard": 1.0, "exact": True}]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["cleaned"] and summary["exact_duplicates"] == 1
    kept = [json.loads(x) for x in (out / "kept" / "stdin.jsonl").read_text().splitlines()]
    assert kept[0]["text"] == seed_texts[0]  # the kept copy is the original, not the cleaned


def test_dedup_clean_in_python_learns_templates(lee_texts) -> None:
    """Two different articles in one heavy site template: raw, the template makes them
    look alike; cleaned, they are not."""
    corpus, template = _site_corpus(lee_texts)
    docs = [neardup.Document(i, d["text"], meta={"site": d["site"]}) for i, d in corpus.items()]
    short = [neardup.Document(f"short-{k}", "\n".join(template * 3) + f"\n\nBrief {k}: "
                              + " ".join(lee_texts[200 + k].split()[:8]),
                              meta={"site": "example.com"}) for k in range(2)]
    raw = neardup.find_pairs(docs + short, 0.5)
    cleaned = neardup.find_pairs(docs + short, 0.5,
                                 options=neardup.DedupOptions(threshold=0.5,
                                                              clean=CleanOptions()))
    assert ("short-0", "short-1") in {(p.a, p.b) for p in raw}
    assert ("short-0", "short-1") not in {(p.a, p.b) for p in cleaned}
    # The ten wire copies of one story stay duplicates of each other either way.
    assert sum(1 for p in cleaned if p.a.startswith("wire") and p.b.startswith("wire")) == 45


def _edited_families(lee_texts: list[str]) -> dict[str, str]:
    """20 texts in 8 copies each, as papers print a wire story: one sentence a line, a
    title line of their own, one word of the main (longest) paragraph changed in every
    copy, and a word in 200 elsewhere."""
    rng = np.random.default_rng(24)
    docs = {}
    for f, text in enumerate(lee_texts[200:220]):
        lines = synth.sentences([text])
        longest = max(range(len(lines)), key=lambda i: len(lines[i]))
        for c in range(8):
            copy = []
            for i, line in enumerate(lines):
                words = line.split()
                edits = [k for k in range(len(words)) if rng.random() < 0.005]
                if i == longest:
                    edits.append(int(rng.integers(len(words))))
                for k in edits:
                    words[k] = f"edit{int(rng.integers(10**6))}"
                copy.append(" ".join(words))
            docs[f"text{f}-copy{c}"] = f"Copy {c} of text {f}\n" + "\n".join(copy)
    return docs


def _five_word_jaccard(a: str, b: str) -> float:
    """The test's own measure: Jaccard of lower-cased 5-word runs."""
    def runs(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", text.lower())
        return {tuple(words[i:i + 5]) for i in range(len(words) - 4)}
    x, y = runs(a), runs(b)
    return len(x & y) / len(x | y)


def test_copies_of_one_text_keep_their_lines_and_a_heavy_template_still_goes(
        lee_texts) -> None:
    """Lines shared by copies of one text are that text, not boilerplate, even when every
    copy's main paragraph was edited (a line of one text stands beside that text); and a
    30-line template around short articles is still learned. With the default cleaning,
    dedup then pairs every two copies that a brute-force Jaccard of the raw texts puts at
    0.8 or more."""
    families = _edited_families(lee_texts)
    rng = np.random.default_rng(7)
    vocabulary = " ".join(lee_texts[:100]).split()
    template = [" ".join(rng.choice(vocabulary, int(rng.integers(2, 9)))) for _ in range(30)]
    pages = {f"page{i}": "\n".join(template[:15] + [" ".join(text.split()[:40])]
                                    + template[15:])
             for i, text in enumerate(lee_texts[:20])}
    docs = [neardup.Document(i, t) for i, t in {**families, **pages}.items()]
    cleaned = dict(neardup.clean(docs))
    for doc_id in families:
        assert not [r.text for r in cleaned[doc_id].removed if r.kind == "repeated-line"]
    for doc_id in pages:
        removed = [r.text for r in cleaned[doc_id].removed if r.kind == "repeated-line"]
        assert sorted(removed) == sorted(template), doc_id

    names = sorted(families)
    truth = {(a, b) for k, a in enumerate(names) for b in names[k + 1:]
             if _five_word_jaccard(families[a], families[b]) >= 0.8}
    assert len(truth) > 200  # of the 20 x 28 pairs of copies
    found = neardup.find_pairs(docs, options=neardup.DedupOptions(clean=CleanOptions()))
    assert truth <= {tuple(sorted((p.a, p.b))) for p in found}


@pytest.mark.parametrize("line,junk", [
    ("Updated 12 minutes ago", True), ("Posted December 3, 2001 10:10 AEDT", True),
    ("Published 2001-12-10", True), ("Published: 15 Nov 2020 14:02", True),
    ("Published on 2020-11-15T14:02Z", True),
    ("Posted by the editor, who said the 2001 budget was late and over its limits.", False)])
def test_timestamp_lines(line: str, junk: bool) -> None:
    body = "The council met on Tuesday to discuss the budget for next year."
    (_, c), = neardup.clean([f"{line}\n\n{body}"], CleanOptions(learn=False))
    assert (c.text == body) is junk


def test_paragraph_dedup_drops_later_copies_and_names_the_first(lee_texts) -> None:
    """An article that runs two paragraphs of a wire story inside its own reporting."""
    wire = paragraphs(lee_texts[120])
    own = paragraphs(lee_texts[121])
    docs = {"wire": "\n\n".join(wire),
            "local": "\n\n".join(own[:2] + wire[1:3] + own[2:]),
            "other": "\n\n".join(paragraphs(lee_texts[122]))}
    cleaned = dict(neardup.clean(docs, CleanOptions(learn=False, paragraphs=True)))
    assert cleaned["wire"].removed == [] and cleaned["other"].removed == []
    dropped = [(r.kind, r.reason, r.text) for r in cleaned["local"].removed]
    assert dropped == [("seen-paragraph", "paragraph already in wire", p) for p in wire[1:3]]
    assert tokens(cleaned["local"].text) == tokens(" ".join(own))


def test_cli_clean_dedup_paragraphs(tmp_path: Path, lee_texts) -> None:
    wire = paragraphs(lee_texts[120])
    (tmp_path / "a.txt").write_text("\n\n".join(wire))
    (tmp_path / "b.txt").write_text("Local intro line for our readers here.\n\n" + wire[0])
    out = tmp_path / "out"
    proc = run(["clean", str(tmp_path), "-o", str(out), "--dedup-paragraphs"])
    assert proc.returncode == 0, proc.stderr
    rows = {json.loads(x)["id"]: json.loads(x) for x in
            (out / "cleaned.jsonl").read_text().splitlines()}
    assert rows["b.txt"]["text"] == "Local intro line for our readers here."
    assert rows["b.txt"]["removed"][0]["reason"] == "paragraph already in a.txt"


def test_clean_stdin_in_one_pass(tmp_path: Path, seed_texts) -> None:
    data = json.dumps({"id": "004", "text": seed_texts[1]}).encode() + b"\n"
    out = tmp_path / "out"
    proc = run(["clean", "-", "-o", str(out), "--no-learn"], stdin=data)
    assert proc.returncode == 0, proc.stderr
    row = json.loads((out / "cleaned.jsonl").read_text())
    assert row["id"] == "004" and not row["text"].endswith("License.")


def test_paragraph_dedup_is_refused_by_dedup_not_ignored() -> None:
    with pytest.raises(ValueError, match="part of `neardup clean`"):
        neardup.dedup(["a text"], options=neardup.DedupOptions(
            clean=CleanOptions(paragraphs=True)))


def test_a_repeated_id_is_rejected_and_counts_for_nothing(tmp_path: Path, seed_texts) -> None:
    """A record whose id was read before is left out of cleaned.jsonl and of every count,
    wherever it falls among the batches: the summary equals that of the corpus without
    it."""
    from neardup.api import clean_files

    rows = [{"id": f"d{i}", "text": text} for i, text in enumerate(seed_texts * 300)]
    repeated = [dict(rows[0], text=seed_texts[-1]), dict(rows[1])]
    with_repeats = rows[:200] + repeated[:1] + rows[200:500] + repeated[1:] + rows[500:]
    summaries, cleaned = [], []
    for name, records in (("plain", rows), ("repeats", with_repeats)):
        src = tmp_path / f"{name}.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in records))
        summary = clean_files([str(src)], tmp_path / f"out-{name}", workers=2, progress=False)
        summaries.append(summary)
        cleaned.append((tmp_path / f"out-{name}" / "cleaned.jsonl").read_text())
    assert cleaned[0] == cleaned[1] and cleaned[0].count("\n") == len(rows)
    assert summaries[1]["rejected"] == 2 and summaries[1]["documents_read"] == len(rows) + 2
    for key in ("cleaned", "characters_in", "characters_out", "removed_by_kind"):
        assert summaries[0][key] == summaries[1][key], key
    assert summaries[0]["removed_by_kind"]  # something was removed, so the counts say something
