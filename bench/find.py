"""Finding given texts in a corpus: neardup find against AllenAI's decon, side by side.

    python bench/find.py [--docs 200000] [--queries 10000] [--repeat 3] [--no-peer]

The corpus (tests/contamination.py): documents of 5-15 real ABC news sentences
(tests/data), and query texts from the docstrings of the Python standard library and the
packages installed beside it (real English prose no news document holds; paragraphs
sharing 8 words with the news or with an earlier paragraph are dropped). Half the queries
are planted in 1-3 documents each: verbatim; with case, whitespace and punctuation
changed; with one word in 40 edited; or a run of 70-90% of their words. The truth: a
query is contaminated when its planted copies together hold at least half its 13-grams,
computed here by brute force over that query and those documents alone.

neardup runs as a whole process (`neardup find`, one and two workers); decon (`pip install
decontaminate`, Python 3.12: a venv of its own, bench/data/venv-decon, made from pyenv's
3.12 when it is there) runs through its Python API with its default settings (its `simple`
mode: cl100k tokens, sampled 5-grams expanded around hits, IDF-weighted score >= 0.8),
one and two threads. Reported: documents/s, peak memory (PSS over the process tree),
recall of the contaminated items the truth holds, precision of those reported (a reported
item beyond the planted truth counts as true when the documents reported for it hold half
its 13-grams, by brute force: a query can share text with a planted one by chance), and
for neardup whether a sample of 2,000 reported passages are real token matches. Writes
bench/results/find-DOCS-QUERIES.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/contamination.py
from corpus import DATA, LEE  # noqa: E402
from run import measure_memory  # noqa: E402

from tests import contamination  # noqa: E402

HERE = Path(__file__).resolve().parent
DECON_VENV = DATA / "venv-decon"
PYTHON_312 = Path.home() / ".pyenv" / "versions"


def docstring_paragraphs(min_words: int = 20) -> list[str]:
    """Paragraphs of docstrings of the standard library and site-packages, in path order,
    cached in bench/data."""
    cache = DATA / f"docstrings-{min_words}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    found: list[str] = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "test" in path.parts or "venv-decon" in path.parts:
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                     ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(node) or ""
                    for para in re.split(r"\n\s*\n", doc):
                        para = " ".join(para.split())
                        if (len(para.split()) >= min_words and para.isascii()
                                and not re.search(r">>>|::|[{}=_*`|]", para)):
                            found.append(para)
    cache.write_text(json.dumps(found))
    return found


def query_texts(lines: list[str]) -> list[str]:
    """Docstring paragraphs sharing no 8 words with the news or an earlier one."""
    seen = {g for t in lines for g in _grams(t)}
    kept = []
    for para in docstring_paragraphs():
        grams = _grams(para)
        if seen.isdisjoint(grams):
            kept.append(para)
            seen |= grams
    return kept


def variants(pool: list[str], count: int, swapped: float = 0.5, seed: int = 3) -> list[str]:
    """``count`` query texts: the pool, then its paragraphs again with a share ``swapped``
    of their words replaced by words of the pool (two variants share a 13-gram with
    probability about ``(1 - swapped)**13``, so each query is its own text)."""
    rng = np.random.default_rng(seed)
    vocab = np.array(sorted({w for p in pool for w in p.split() if w.isalpha()}))
    out = list(pool)
    while len(out) < count:
        words = pool[len(out) % len(pool)].split()
        for k in np.flatnonzero(rng.random(len(words)) < swapped).tolist():
            words[k] = str(vocab[rng.integers(len(vocab))])
        out.append(" ".join(words))
    return out


def _grams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def build(docs: int, queries: int, share: float = 0.5) -> Path:
    """The corpus, queries (neardup's and decon's forms) and truth, on first use. Past the
    docstrings' paragraphs, the queries are :func:`variants` of them."""
    where = DATA / (f"find-{docs}-{queries}" + ("" if share == 0.5 else f"-p{share:g}"))
    if (where / "truth.json").exists():
        return where
    started = time.perf_counter()
    lines = LEE.read_text(encoding="utf-8").splitlines()
    pool = query_texts(lines)
    if queries > len(pool):
        pool = variants(pool, queries)
    made = contamination.planted(lines, docs, queries, planted_share=share, seed=1,
                                 query_words=(1, 1), query_texts=pool)
    (where / "decon-evals").mkdir(parents=True, exist_ok=True)
    (where / "corpus").mkdir(exist_ok=True)
    with open(where / "corpus" / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for d, text in made.docs.items():
            fh.write(json.dumps({"id": d, "text": text}) + "\n")
    with open(where / "queries.jsonl", "w", encoding="utf-8") as fh, \
            open(where / "decon-evals" / "bench.jsonl", "w", encoding="utf-8") as dc:
        for k, (q, text) in enumerate(made.queries.items()):
            fh.write(json.dumps({"id": q, "text": text}) + "\n")
            dc.write(json.dumps({"doc_id": k, "eval_key": "bench", "question": text}) + "\n")
    # A query is contaminated by what all its copies hold together, as the tools define it.
    copies_of: dict[str, list[str]] = {}
    for q, d, _ in made.copies:
        copies_of.setdefault(q, []).append(d)
    positive = set()
    for q, ds in copies_of.items():
        _, per_query = contamination.brute_force({q: made.queries[q]},
                                                 {d: made.docs[d] for d in ds}, 13)
        if per_query[q].overlap >= 0.5:
            positive.add(q)
    (where / "truth.json").write_text(json.dumps({
        "positive": sorted(positive), "planted": sorted({q for q, _, _ in made.copies}),
        "copies": made.copies, "query_pool": len(pool)}))
    print(f"built {where} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return where


def decon_python() -> Path | None:
    """decon's venv (Python 3.12+), made on first use from pyenv's 3.12 if there is one."""
    python = DECON_VENV / "bin" / "python"
    if python.exists():
        return python
    candidates = sorted(PYTHON_312.glob("3.1[2-9]*/bin/python3"))
    if not candidates:
        return None
    subprocess.run([str(candidates[0]), "-m", "venv", str(DECON_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "decontaminate"], check=True)
    return python


DECON_RUN = """
import sys, decon
decon.detect(decon.Config(training_dir=sys.argv[1], evals_dir=sys.argv[2],
                          report_output_dir=sys.argv[3], worker_threads=int(sys.argv[4])))
"""


def run_neardup(where: Path, workers: int, out: Path
                ) -> tuple[float, int, dict[str, set[str]], bool]:
    """Time, peak PSS, each contaminated query with the documents it reports it in, and
    whether a sample of the passages are real."""
    cmd = [str(Path(sys.executable).parent / "neardup"), "find", str(where / "queries.jsonl"),
           "--in", str(where / "corpus" / "corpus.jsonl"), "-o", str(out),
           "--workers", str(workers), "--no-progress"]
    seconds, _, pss = measure_memory(cmd, DATA / "out" / "find.log", pss=True)
    found: dict[str, set[str]] = {json.loads(line)["id"]: set()
                                  for line in open(out / "queries.jsonl")
                                  if json.loads(line)["contaminated"]}
    for line in open(out / "matches.jsonl"):
        row = json.loads(line)
        if row["query"] in found:
            found[row["query"]].add(row["doc"])
    return seconds, pss, found, _passages_real(where, out)


def fixed_cost(where: Path, workers: int) -> float:
    """Seconds of a run over a one-document corpus: the interpreter's start, the imports,
    the query table and the outputs, which a run pays whatever the corpus."""
    one = DATA / "out" / "find-one.jsonl"
    with open(where / "corpus" / "corpus.jsonl", encoding="utf-8") as fh:
        one.write_text(fh.readline())
    cmd = [str(Path(sys.executable).parent / "neardup"), "find", str(where / "queries.jsonl"),
           "--in", str(one), "-o", str(DATA / "out" / "find-one"), "--workers", str(workers),
           "--no-progress"]
    seconds, _, _ = measure_memory(cmd, DATA / "out" / "find.log")
    return seconds


def verified(where: Path, claims: dict[str, set[str]], positive: set[str]) -> set[str]:
    """The claimed contaminated queries that are: planted ones the truth holds, and any
    other whose claimed documents together hold half its 13-grams, by brute force (a
    query may share text with a planted one by chance)."""
    others = {q: docs for q, docs in claims.items() if q not in positive}
    if not others:
        return claims.keys() & positive
    wanted = set().union(*others.values())
    queries = {r["id"]: r["text"] for r in map(json.loads, open(where / "queries.jsonl"))
               if r["id"] in others}
    texts = {r["id"]: r["text"] for r in map(json.loads,
                                             open(where / "corpus" / "corpus.jsonl"))
             if r["id"] in wanted}
    real = set()
    for q, docs in others.items():
        _, per_query = contamination.brute_force({q: queries[q]},
                                                 {d: texts[d] for d in docs}, 13)
        if per_query[q].overlap >= 0.5:
            real.add(q)
    return (claims.keys() & positive) | real


def _passages_real(where: Path, out: Path, sample: int = 2000) -> bool:
    """Whether a sample of reported passages are the same tokens in both texts."""
    rows = [json.loads(line) for line in open(out / "matches.jsonl")]
    rows = random.Random(0).sample(rows, min(sample, len(rows)))
    wanted_q = {r["query"] for r in rows}
    wanted_d = {r["doc"] for r in rows}
    queries = {r["id"]: r["text"] for r in map(json.loads, open(where / "queries.jsonl"))
               if r["id"] in wanted_q}
    docs = {r["id"]: r["text"] for r in map(json.loads, open(where / "corpus" / "corpus.jsonl"))
            if r["id"] in wanted_d}
    return all(contamination.tokens(queries[r["query"]][slice(*p["query"])])
               == contamination.tokens(docs[r["doc"]][slice(*p["doc"])])
               for r in rows for p in r["passages"])


def run_decon(python: Path, where: Path, threads: int, out: Path) -> tuple[float, int, set[str]]:
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [str(python), "-c", DECON_RUN, str(where / "corpus"), str(where / "decon-evals"),
           str(out), str(threads)]
    seconds, _, pss = measure_memory(cmd, DATA / "out" / "decon.log", pss=True)
    ids = [json.loads(line)["id"] for line in open(where / "queries.jsonl")]
    docs = [json.loads(line)["id"] for line in open(where / "corpus" / "corpus.jsonl")]
    found: dict[str, set[str]] = {}
    for report in out.glob("*.jsonl"):
        for line in open(report):
            row = json.loads(line)
            found.setdefault(ids[row["eval_instance_index"]], set()).add(
                docs[row["training_line"]])
    return seconds, pss, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--planted-share", type=float, default=0.5,
                    help="share of the queries planted in the corpus")
    ap.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args()
    where = build(args.docs, args.queries, args.planted_share)
    truth = json.loads((where / "truth.json").read_text())
    positive = set(truth["positive"])
    python = None if args.no_peer else decon_python()
    rows = []
    for cores in args.cores:
        runs = []
        for _ in range(args.repeat):
            runs.append(("neardup", *run_neardup(where, cores, DATA / "out" / "find"),
                         fixed_cost(where, cores)))
            if python is not None:
                runs.append(("decon", *run_decon(python, where, cores,
                                                 DATA / "out" / "decon"), None, None))
        for tool in ("neardup", "decon"):
            mine = [r for r in runs if r[0] == tool]
            if not mine:
                continue
            seconds = statistics.median(r[1] for r in mine)
            found = mine[-1][3]
            real = verified(where, found, positive)
            recall = len(found.keys() & positive) / len(positive) if positive else 1.0
            rows.append((tool, cores, seconds, [r[1] for r in mine],
                         max(r[2] for r in mine), recall,
                         len(real) / len(found) if found else 1.0, len(found),
                         mine[-1][4], len(real - positive),
                         None if mine[-1][5] is None
                         else statistics.median(r[5] for r in mine)))
    _table(args, truth, rows)


def where_name(args: argparse.Namespace) -> str:
    return f"find-{args.docs}-{args.queries}" + (
        "" if args.planted_share == 0.5 else f"-p{args.planted_share:g}")


def _table(args: argparse.Namespace, truth: dict, rows: list[tuple]) -> None:
    lines = [
        f"`neardup find` against decon: {args.docs:,} documents, {args.queries:,} queries "
        f"({len(truth['planted']):,} planted, {len(truth['positive']):,} whose copies hold "
        f"half their 13-grams), {time.strftime('%Y-%m-%d %H:%M')}, median of {args.repeat}. "
        "documents/s: of the whole process; scanning: less the fixed cost of a run over one "
        "document (start, imports, query table, outputs; seconds in brackets)",
        "",
        "| tool | cores | seconds (runs) | documents/s | documents/s scanning | peak PSS | "
        "recall | precision | reported (true beyond the planted) | passages real |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for (tool, cores, seconds, runs, pss, recall, precision, reported, real, beyond,
         fixed) in rows:
        scanning = ("-" if fixed is None
                    else f"{args.docs / (seconds - fixed):,.0f} ({fixed:.2f})")
        lines.append(
            f"| {tool} | {cores} | {seconds:.1f} ({', '.join(f'{s:.1f}' for s in runs)}) | "
            f"{args.docs / seconds:,.0f} | {scanning} | {pss / 2**20:,.0f} MiB | {recall:.4f} | "
            f"{precision:.4f} | {reported:,} ({beyond:,}) | "
            f"{'yes' if real else '-' if real is None else 'NO'} |")
    text = "\n".join(lines) + "\n"
    out = HERE / "results" / f"{where_name(args)}.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
