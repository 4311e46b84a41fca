"""explain: the seeds' differences, exact offsets, and agreement with the definition."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import given, settings

import neardup
from neardup.align import tokenize_with_offsets
from neardup.cli import main
from neardup.text import normalise, tokens

from .conftest import SEED_A, SEED_B
from .strategies import mixed_text

FOOTER = ("MH/PA All Content by Mehr News Agency is licensed under a Creative Commons "
          "Attribution 4.0 International License.")


def test_seeds_show_what_each_copy_adds(seed_texts) -> None:
    a, b = seed_texts
    e = neardup.explain(a, b)
    assert round(e.jaccard, 3) == 0.897
    assert [s.text for s in e.only_a] == [
        "Iran has provided Iraq with defense products, says general",
        "November 15, 2020 - 18:2", "Leave a Comment", "0 + 0 ="]
    assert [s.text for s in e.only_b] == [FOOTER]
    for span in e.only_a:
        assert a[span.start:span.end] == span.text
    (passage,) = e.passages
    assert passage.a.text.startswith("TEHRAN – Chief of Staff")
    assert passage.b.text.endswith("“a betrayal of all Muslim nations")
    assert tokens(passage.a.text) == tokens(passage.b.text)
    # Everything is accounted for: shared words plus extras are all of each side's words.
    assert passage.words + sum(s.words for s in e.only_a) == len(tokens(a))
    assert passage.words + sum(s.words for s in e.only_b) == len(tokens(b))


def test_reordered_paragraphs_are_still_shared(lee_texts) -> None:
    p1, p2, p3 = lee_texts[10], lee_texts[11], lee_texts[12]
    e = neardup.explain(f"{p1}\n\n{p2}\n\n{p3}", f"{p3}\n\n{p1}\n\n{p2}\n\nSubscribe now.")
    assert not e.only_a
    assert [s.text for s in e.only_b] == ["Subscribe now."]
    assert sum(p.words for p in e.passages) == len(tokens(p1 + " " + p2 + " " + p3))


@given(mixed_text)
@settings(max_examples=600, deadline=None)
def test_offset_tokens_equal_definition_tokens(text: str) -> None:
    t = tokenize_with_offsets(text)
    assert t.words == tokens(text)
    for word, start, end in zip(t.words, t.starts, t.ends):
        assert 0 <= start < end <= len(text)
        assert word in normalise(text[start:end])


def test_cli_explain_by_id_in_a_corpus_as_json(tmp_path) -> None:
    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": p.read_text()}) + "\n"
                           for i, p in (("x", SEED_A), ("y", SEED_B))))
    result = CliRunner().invoke(main, ["explain", "x", "y", "--in", str(src), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["a"] == "x" and round(data["jaccard"], 3) == 0.897
    assert data["only_b"][0]["text"] == FOOTER
    missing = CliRunner().invoke(main, ["explain", "x", "nope", "--in", str(src)])
    assert missing.exit_code != 0 and "no document with id 'nope'" in missing.output


def test_cli_explain_files_human_output() -> None:
    result = CliRunner().invoke(main, ["explain", str(SEED_A), str(SEED_B)])
    assert result.exit_code == 0, result.output
    assert "Jaccard similarity (5-token shingles): 0.897" in result.output
    assert '"Leave a Comment"' in result.output and '"0 + 0 ="' in result.output
    assert "Only in B (1 span, 19 words)" in result.output


def test_explain_clean_marks_every_difference_as_boilerplate(seed_texts) -> None:
    e = neardup.explain(*seed_texts, clean=neardup.CleanOptions())
    assert e.jaccard_cleaned == 1.0 and round(e.jaccard, 3) == 0.897
    assert [s.boilerplate for s in e.only_a] == [
        "title (kept as metadata)", "date line (kept as metadata)", "comment form",
        "arithmetic captcha"]
    assert [s.boilerplate for s in e.only_b] == ["licence footer"]
    plain = neardup.explain(*seed_texts)
    assert plain.jaccard_cleaned is None and all(s.boilerplate is None for s in plain.only_a)
    result = CliRunner().invoke(main, ["explain", str(SEED_A), str(SEED_B), "--clean"])
    assert "After cleaning (junk patterns, title and date line): Jaccard 1.000" in result.output
    assert "[boilerplate: licence footer]" in result.output


def test_explain_chinese_and_thai_marks_the_changed_character() -> None:
    from .multilingual import paragraphs

    zh, th = paragraphs("zh")[5], paragraphs("th")[3]
    i, j = zh.index("外交"), th.index("ที่", 100)
    cases = [("来源：人民网\n" + zh, zh[:i] + "内" + zh[i + 1:] + "\nRead more at example.com",
              ["来源：人民网", "外"], ["内", "Read more at example.com"]),
             (th, th[:j] + "น" + th[j + 1:] + "\nสำนักข่าวไทย", ["ที่"], ["นี่", "สำนักข่าวไทย"])]
    for a, b, only_a, only_b in cases:
        e = neardup.explain(a, b)
        assert [s.text for s in e.only_a] == only_a
        assert [s.text for s in e.only_b] == only_b
        for p in e.passages:  # each shared passage is the same text on both sides
            assert p.a.text == a[p.a.start:p.a.end] and p.b.text == b[p.b.start:p.b.end]
            assert tokens(p.a.text) == tokens(p.b.text)
        covered = sum(p.a.words for p in e.passages) + sum(s.words for s in e.only_a)
        assert covered == len(tokens(a))
