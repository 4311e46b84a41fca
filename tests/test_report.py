"""The HTML report, opened in headless Chromium: what a person sees, and nothing run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from neardup import CleanOptions, DedupOptions, ReuseOptions, reuse_files, write_report
from neardup.api import dedup_files
from neardup.report import ReportError, load_run

from . import synth
from .conftest import SEEDS

HOSTILE = '<script>alert("owned")</script> <img src=x onerror=alert(2)> & <b>bold</b>'


@pytest.fixture(scope="module")
def reuse_run(tmp_path_factory, lee_texts) -> Path:
    """A wire passage in 12 outlets, one of which carries hostile markup in its passage."""
    lee = synth.distinct_texts(lee_texts)
    wire = lee[3].split()
    corpus = tmp_path_factory.mktemp("corpus") / "news.jsonl"
    rows = [{"id": "wire", "text": " ".join(wire) + "\n\nLONDON (Reuters)", "date": "2021-03-02"}]
    for k in range(12):
        own = lee[100 + k].split()
        copied = wire[5:85]
        if k == 4:
            copied = copied[:40] + [HOSTILE] + copied[40:]
        rows.append({"id": f"outlet{k}", "text": " ".join(own[:30] + copied + own[30:]),
                     "date": f"2021-03-{3 + k:02d}"})
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path_factory.mktemp("reuse")
    reuse_files([str(corpus)], out, ReuseOptions(), workers=1, progress=False)
    return out


def test_reuse_report_shows_groups_pairs_and_escaped_text(browser, reuse_run) -> None:
    path = write_report(reuse_run)
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.resolve().as_uri())
    assert page.locator("h1").inner_text() == "neardup reuse report"
    # The group: one passage in 13 documents, the wire dated first and credited.
    first_group = page.locator("#groups tr").nth(1)
    cells = first_group.locator("td")
    assert cells.nth(1).inner_text() == "13"
    assert cells.nth(2).inner_text() == "wire"
    assert "Reuters: wire" in cells.nth(3).inner_text()
    # Histogram: 20 bars whose counts add up to every pair.
    bars = page.locator("#histogram svg rect")
    assert bars.count() == 20
    pairs = sum(1 for _ in open(reuse_run / "pairs.jsonl"))
    assert pairs == 13 * 12 // 2
    titles = bars.locator("title").evaluate_all("els => els.map(e => e.textContent)")
    counts = [int(t.split(": ")[1].split()[0].replace(",", "")) for t in titles]
    assert sum(counts) == pairs
    # The hostile text is shown as text; nothing of it ran or became an element.
    visible = page.locator("body").inner_text()
    assert HOSTILE.split(" <img")[0] in visible and "<b>bold</b>" in visible
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0
    assert page.locator("b").count() == 0 and dialogs == []
    # A pair's view: link to it, the two copies side by side, passages numbered alike.
    page.locator("#pairs a", has_text="side by side").first.click()
    assert page.url.endswith("#pair-1")
    view = page.locator("#pair-1")
    assert view.is_visible()
    left, right = (view.locator(".doc").nth(k).bounding_box() for k in (0, 1))
    assert left and right and abs(left["y"] - right["y"]) < 2
    assert right["x"] >= left["x"] + left["width"]
    for side in (0, 1):
        doc = view.locator(".doc").nth(side)
        assert doc.locator("mark.shared sup").all_inner_texts() == ["1"]
        assert doc.locator("mark.extra").count() >= 1  # each copy's own text
    page.close()


def test_dedup_report_marks_what_cleaning_removes(browser, tmp_path) -> None:
    out = tmp_path / "dedup"
    dedup_files([str(SEEDS)], out, DedupOptions(clean=CleanOptions()), workers=1,
                progress=False)
    path = write_report(out)
    page = browser.new_page()
    page.goto(path.resolve().as_uri())
    assert "Jaccard" in page.locator("#histogram").inner_text()
    view = page.locator("#pair-1")
    titles = view.locator("mark.boilerplate").evaluate_all("els => els.map(e => e.title)")
    joined = " ".join(titles)
    assert "only in a" in joined and "only in b" in joined
    assert "Leave a Comment" in view.locator(".doc").nth(0).inner_text()
    page.close()


def test_report_without_inputs_says_why(tmp_path, reuse_run) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(reuse_run, moved)
    summary = json.loads((moved / "summary.json").read_text())
    summary["inputs"] = [str(tmp_path / "gone.jsonl")]
    (moved / "summary.json").write_text(json.dumps(summary))
    text = write_report(moved).read_text()
    assert "Side-by-side views are missing" in text and "gone.jsonl" in text
    assert 'id="groups"' in text


def test_report_refuses_other_directories(tmp_path) -> None:
    with pytest.raises(ReportError, match="no neardup run here"):
        load_run(tmp_path)


def test_reuse_view_marks_the_edit_inside_a_passage(browser, tmp_path) -> None:
    from .conftest import ROOT

    out = tmp_path / "reuse"
    reuse_files([str(ROOT / "examples" / "reuse.jsonl")], out, workers=1, progress=False)
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(write_report(out).resolve().as_uri())
    row = page.locator("#pairs tr", has_text="outlet-2").filter(has_text="wire-aap")
    row.locator("a").click()
    view = page.locator(page.url[page.url.index("#"):])
    wire, outlet = view.locator(".doc").nth(0), view.locator(".doc").nth(1)
    assert outlet.locator("mark.edit").all_inner_texts() == ["reportedly"]
    (changed,) = wire.locator("mark.edit").all_inner_texts()
    assert changed != "reportedly" and changed.isalpha()
    assert wire.locator("mark.shared sup").all_inner_texts() == ["1"]
    page.close()


def test_report_highlights_the_edited_character_in_chinese_and_thai(browser, tmp_path) -> None:
    """One character changed in a Chinese and in a Thai story, a line added to each copy:
    the view marks exactly those, and shows every character of both texts once."""
    from .multilingual import paragraphs

    zh, th = paragraphs("zh")[5], paragraphs("th")[3]
    i, j = zh.index("外交"), th.index("ที่", 100)  # Thai: the consonant under two marks
    docs = {"zh-a": "来源：人民网\n" + zh,
            "zh-b": zh[:i] + "内" + zh[i + 1:] + "\nRead more at example.com/news",
            "th-a": th,
            "th-b": th[:j] + "น" + th[j + 1:] + "\nสำนักข่าวไทย"}
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}, ensure_ascii=False) + "\n"
                              for k, v in docs.items()), encoding="utf-8")
    out = tmp_path / "dedup"
    dedup_files([str(corpus)], out, DedupOptions(), workers=1, progress=False)
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(write_report(out).resolve().as_uri())
    expected = {"zh": (["来源：人民网", "外"], ["内", "Read more at example.com/news"]),
                "th": (["ที่"], ["นี่", "สำนักข่าวไทย"])}
    for lang, extras in expected.items():
        page.locator("#pairs tr", has_text=f"{lang}-b").locator("a").first.click()
        view = page.locator(page.url[page.url.index("#"):])
        for side, (doc_id, own) in enumerate(zip((f"{lang}-a", f"{lang}-b"), extras)):
            doc = view.locator(".doc").nth(side)
            assert doc.locator("mark.extra").all_inner_texts() == own
            shown = "".join(doc.locator(".text").evaluate(  # without the passage numbers
                "el => { const c = el.cloneNode(true);"
                " c.querySelectorAll('sup').forEach(s => s.remove()); return c.innerText; }"
            ).split())
            assert shown == "".join(docs[doc_id].split())
    page.close()
