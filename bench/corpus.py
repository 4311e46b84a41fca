"""Build a benchmark corpus (JSONL) and its brute-force truth, on demand, under bench/data/.

    python bench/corpus.py --docs 20000            # corpus + truth (all pairs with J >= 0.5)
    python bench/corpus.py --docs 1000000 --no-truth

Documents are ~2 KB of real ABC news prose (tests/data/lee_background.cor) recombined by
tests/synth.py, 30% of them planted copies (exact, reformatted, wrapped, word-edited).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/synth.py
from tests import synth  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
# Every bench script writes its corpora and outputs under DATA (and DATA/out) and imports
# this module: a fresh clone has neither directory (bench/data is not in git).
(DATA / "out").mkdir(parents=True, exist_ok=True)
LEE = HERE.parent / "tests" / "data" / "lee_background.cor"


def write_jsonl(path: Path, rows: Iterable[tuple[str, str]], ensure_ascii: bool = True) -> None:
    """``{"id", "text"}`` lines, written beside ``path`` and renamed into place, so an
    interrupted build never leaves a corpus that a later run would take as whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for doc_id, text in rows:
            fh.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=ensure_ascii) + "\n")
    tmp.replace(path)


def corpus_path(docs: int, seed: int = 0) -> Path:
    return DATA / f"news-{docs}-s{seed}.jsonl"


def truth_path(docs: int, seed: int = 0) -> Path:
    return DATA / f"news-{docs}-s{seed}.truth.json"


def build(docs: int, seed: int = 0, truth: bool = True, chunk: int = 50_000) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = corpus_path(docs, seed)
    source = LEE.read_text(encoding="utf-8").splitlines()
    if not path.exists():
        started = time.perf_counter()
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            # Chunks keep memory flat for large corpora; copies are planted within a chunk.
            for part, start in enumerate(range(0, docs, chunk)):
                c = synth.generate(source, min(chunk, docs - start), seed=seed * 1000 + part)
                for i, text in enumerate(c.texts):
                    fh.write(json.dumps({"id": f"d{start + i:08d}", "text": text}) + "\n")
        tmp.rename(path)
        print(f"built {path} in {time.perf_counter() - started:.1f}s")
    if truth and not truth_path(docs, seed).exists():
        started = time.perf_counter()
        texts = [json.loads(line)["text"] for line in open(path, encoding="utf-8")]
        # All pairs with J >= 0.5 over the whole corpus, found by prefix filtering (as many
        # as brute force finds: tests/test_dedup.py checks) and scored exactly.
        pairs = synth.similar_pairs(texts, 0.5)
        rows = [[i, j, s] for (i, j), s in sorted(pairs.items())]
        truth_path(docs, seed).write_text(json.dumps(rows))
        print(f"truth: {len(rows):,} pairs with J >= 0.5 in {time.perf_counter() - started:.1f}s")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-truth", action="store_true")
    args = ap.parse_args()
    build(args.docs, args.seed, truth=not args.no_truth)


if __name__ == "__main__":
    main()
