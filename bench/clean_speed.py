"""`neardup clean` against `neardup dedup` on one corpus (the issue's bound: within 2x), and
HTML extraction through neardup against the extractor alone.

    python bench/clean_speed.py [--docs 20000] [--repeat 3]

The text corpus is bench/corpus.py's, reformatted as paragraphs (three sentences each) with
a site template (masthead, navigation, share line, footer) around a third of the documents,
so that line learning has work to do. Writes bench/results/clean.md.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DATA, build  # noqa: E402
from run import measure  # noqa: E402

HERE = Path(__file__).resolve().parent
PAGES = HERE.parent / "tests" / "data" / "html"
TEMPLATE_HEAD = "The Daily Example\nHome | World | Business | Sport | Weather"
TEMPLATE_FOOT = ("Share this story with a friend\n"
                 "From the newsroom of The Daily Example, independent since 1901.")


def paragraph_corpus(docs: int) -> Path:
    path = DATA / f"paragraphs-{docs}.jsonl"
    if path.exists():
        return path
    source = build(docs, truth=False)
    with open(source, encoding="utf-8") as src, open(path, "w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            row = json.loads(line)
            sentences = re.split(r"(?<=[.!?])\s+", row["text"])
            text = "\n\n".join(" ".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3))
            if n % 3 == 0:
                text = f"{TEMPLATE_HEAD}\n\n{text}\n\n{TEMPLATE_FOOT}"
            dst.write(json.dumps({"id": row["id"], "text": text, "site": f"site{n % 7}"}) + "\n")
    return path


def html_speed(repeat: int) -> tuple[float, float, float]:
    """Pages/s: trafilatura alone, resiliparse alone, and neardup reading the same pages."""
    import trafilatura
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    from neardup.io.readers import ReadOptions, read_inputs

    pages = [p.read_bytes() for p in sorted(PAGES.glob("*.html"))] * 20
    rates = {"trafilatura": [], "resiliparse": [], "neardup": []}
    for _ in range(repeat):
        t = time.perf_counter()
        for page in pages:
            trafilatura.bare_extraction(page, with_metadata=True)
        rates["trafilatura"].append(len(pages) / (time.perf_counter() - t))
        t = time.perf_counter()
        for page in pages:
            extract_plain_text(HTMLTree.parse(page.decode()), main_content=True)
        rates["resiliparse"].append(len(pages) / (time.perf_counter() - t))
        t = time.perf_counter()
        for _ in range(20):
            list(read_inputs([str(PAGES)], ReadOptions()))
        rates["neardup"].append(len(pages) / (time.perf_counter() - t))
    return tuple(statistics.median(rates[k]) for k in ("trafilatura", "resiliparse", "neardup"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    corpus = paragraph_corpus(args.docs)
    out = DATA / "out"
    cmds = {  # all on both cores (the default)
        "dedup --raw": [sys.executable, "-m", "neardup", "dedup", str(corpus), "-o",
                        str(out / "dedup-raw"), "--raw"],
        "clean": [sys.executable, "-m", "neardup", "clean", str(corpus), "-o",
                  str(out / "clean"), "--site-field", "site"],
        "dedup (cleaning: the default)": [sys.executable, "-m", "neardup", "dedup", str(corpus),
                                          "-o", str(out / "dedup-clean"), "--site-field",
                                          "site"],
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    mems: dict[str, list[int]] = {k: [] for k in cmds}
    for _ in range(args.repeat):
        for name, cmd in cmds.items():
            seconds, peak = measure(cmd, out / "clean-speed.stdout")
            times[name].append(seconds)
            mems[name].append(peak)
    base = statistics.median(times["dedup --raw"])
    lines = [f"{args.docs:,} paragraph-formatted documents, one process each, median of "
             f"{args.repeat}; {time.strftime('%Y-%m-%d %H:%M')}.", "",
             "| command | seconds | docs/s | time vs dedup --raw | peak MiB |",
             "|---|---|---|---|---|"]
    for name in cmds:
        t = statistics.median(times[name])
        lines.append(f"| {name} | {t:.1f} | {args.docs / t:,.0f} | {t / base:.2f}x | "
                     f"{statistics.median(mems[name]) / 2**20:,.0f} |")
    summary = json.loads((out / "clean" / "summary.json").read_text())
    lines += ["", f"clean removed: {summary['removed_by_kind']}; "
                  f"{summary['learned_lines']} lines learned."]
    traf, resil, ours = html_speed(args.repeat)
    lines += ["", "| HTML extraction (6 test pages x 20) | pages/s |", "|---|---|",
              f"| trafilatura alone | {traf:,.0f} |", f"| resiliparse alone | {resil:,.0f} |",
              f"| neardup reading them (trafilatura) | {ours:,.0f} |"]
    text = "\n".join(lines)
    print(text)
    (HERE / "results" / "clean.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
