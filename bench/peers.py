"""Peer pipelines on the same JSONL corpus, each as its own process; pairs to stdout as JSONL.

    python bench/peers.py rensa CORPUS.jsonl
    python bench/peers.py datasketch CORPUS.jsonl
    python bench/peers.py rensa-char5 CORPUS.jsonl

`rensa` and `datasketch` use neardup's comparison definition (NFKC + casefold, \\w+ tokens,
5-token shingles); `rensa-split` is the cheapest plausible rensa pipeline (whitespace tokens,
no normalisation), to show rensa at its fastest; `rensa-char5` shingles character 5-grams
(NFKC + casefold, whitespace runs as one space), the usual choice for scripts without spaces
(NeMo Curator uses character n-grams for every language). All use 128 permutations and their own LSH
at threshold 0.8; none verifies candidates, so their pairs are LSH candidates (which is how
they are used in practice).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata

TOKEN = re.compile(r"\w+")
THRESHOLD, NUM_PERM, NGRAM = 0.8, 128, 5


def shingles(text: str) -> list[str]:
    toks = TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(toks) < NGRAM:
        return [" ".join(toks)] if toks else []
    return list({" ".join(toks[i:i + NGRAM]) for i in range(len(toks) - NGRAM + 1)})


def docs(path: str):
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            yield row["id"], row["text"]


def split_shingles(text: str) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + NGRAM]) for i in range(max(1, len(words) - NGRAM + 1))]


def char_shingles(text: str) -> list[str]:
    flat = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return list({flat[i:i + NGRAM] for i in range(max(1, len(flat) - NGRAM + 1))})


def run_rensa(path: str, shingler=shingles) -> None:
    from rensa import RMinHash, RMinHashLSH

    # rensa's README pairs 128 permutations with 16 bands.
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16)
    ids, sketches = [], []
    for i, (doc_id, text) in enumerate(docs(path)):
        m = RMinHash(num_perm=NUM_PERM, seed=42)
        m.update(shingler(text))
        lsh.insert(i, m)
        ids.append(doc_id)
        sketches.append(m)
    emit(ids, ((i, j) for i, m in enumerate(sketches) for j in lsh.query(m) if j > i))


def run_datasketch(path: str) -> None:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    ids, sketches = [], []
    for i, (doc_id, text) in enumerate(docs(path)):
        m = MinHash(num_perm=NUM_PERM)
        m.update_batch([s.encode() for s in shingles(text)])
        lsh.insert(i, m)
        ids.append(doc_id)
        sketches.append(m)
    emit(ids, ((i, j) for i, m in enumerate(sketches) for j in lsh.query(m) if j > i))


def emit(ids: list[str], pairs) -> None:
    out = sys.stdout
    for i, j in pairs:
        out.write(f'{{"a": "{ids[i]}", "b": "{ids[j]}"}}\n')


if __name__ == "__main__":
    runs = {"rensa": run_rensa, "datasketch": run_datasketch,
            "rensa-split": lambda path: run_rensa(path, split_shingles),
            "rensa-char5": lambda path: run_rensa(path, char_shingles)}
    runs[sys.argv[1]](sys.argv[2])
