"""Why the index keeps its documents in SQLite: the index's own storage work done on SQLite
(as neardup does it) and on LMDB, side by side, on the same sketches.

    python bench/index_store.py [--docs 200000] [--batch 25000] [--queries 1000]

The documents of bench/corpus.py's million-document corpus are sketched once; then each
store takes them in batches as the index does, each batch one durable transaction: look up
the documents under the batch's band keys, then store the documents (shingle set, text and
the rest, about 5 KB) and their 25 band keys. Then single-text lookups: the documents under
a text's band keys, and their shingle sets. Prints documents/s, lookup p50/p99 and bytes on
disk for each. LMDB: one environment, band keys in a sorted-duplicates table, documents by
number, synced on every commit. LMDB comes with the bench extra.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import build  # noqa: E402
from index import percentiles, read_docs  # noqa: E402

HERE = Path(__file__).resolve().parent


def sketches(docs: list[tuple[str, str]]) -> tuple[np.ndarray, list[bytes], list[bytes]]:
    """Salted band keys ``(n, bands)`` and each document's stored row, as the index makes
    them."""
    from neardup.document import Document
    from neardup.index import Index

    with tempfile.TemporaryDirectory() as tmp, Index.create(Path(tmp) / "x.ndx") as index:
        sketched = index._sketch([Document(i, t) for i, t in docs])  # the index's own
    payloads = [sketched.payload(k).tobytes() for k in range(len(docs))]
    return sketched.salted, payloads, [t.encode() for _, t in docs]


def run_sqlite(root: Path, salted: np.ndarray, payloads: list[bytes], texts: list[bytes],
               ids: list[str], batch: int, queries: np.ndarray) -> dict:
    from neardup.index.store import SqliteStore

    store = SqliteStore(root / "bench.sqlite", create=True)
    started = time.perf_counter()
    for start in range(0, len(ids), batch):
        end = min(start + batch, len(ids))
        with store.transaction():
            store.documents_of_keys(salted[start:end].ravel())
            rows = [(ids[k], b"h" * 16, b"k" * 16, 100, salted[k].tobytes(), payloads[k],
                     texts[k].decode()) for k in range(start, end)]
            store.insert(rows, salted[start:end])
    rate = len(ids) / (time.perf_counter() - started)
    latency = []
    for k in queries.tolist():
        started = time.perf_counter()
        _, docs = store.documents_of_keys(salted[k])
        store.payloads(docs.tolist())
        latency.append(time.perf_counter() - started)
    size = store.size_on_disk()
    store.close()
    return {"rate": rate, "latency": percentiles(latency), "bytes": size}


def run_lmdb(root: Path, salted: np.ndarray, payloads: list[bytes], texts: list[bytes],
             ids: list[str], batch: int, queries: np.ndarray) -> dict:
    import lmdb
    import zstandard

    env = lmdb.open(str(root / "bench.lmdb"), map_size=64 << 30, max_dbs=2, sync=True)
    bands = env.open_db(b"bands", dupsort=True)
    documents = env.open_db(b"docs")
    compress = zstandard.ZstdCompressor(level=1).compress
    pack = struct.Struct(">q").pack
    started = time.perf_counter()
    for start in range(0, len(ids), batch):
        end = min(start + batch, len(ids))
        with env.begin(write=True) as txn:
            cursor = txn.cursor(bands)
            for key in np.unique(salted[start:end]).tolist():
                if cursor.set_key(pack(key)):
                    list(cursor.iternext_dup())
            for k in range(start, end):
                row = b"".join([ids[k].encode(), salted[k].tobytes(), payloads[k],
                                compress(texts[k])])
                txn.put(pack(k), row, db=documents)
            order = np.argsort(salted[start:end].ravel(), kind="stable")
            keys = salted[start:end].ravel()[order]
            docs = np.repeat(np.arange(start, end), salted.shape[1])[order]
            txn.cursor(bands).putmulti(
                [(pack(key), pack(doc)) for key, doc in zip(keys.tolist(), docs.tolist())],
                dupdata=True)
    rate = len(ids) / (time.perf_counter() - started)
    latency = []
    for k in queries.tolist():
        started = time.perf_counter()
        with env.begin() as txn:
            cursor = txn.cursor(bands)
            found = set()
            for key in salted[k].tolist():
                if cursor.set_key(pack(key)):
                    found.update(cursor.iternext_dup())
            for doc in found:
                txn.get(doc, db=documents)
        latency.append(time.perf_counter() - started)
    size = sum(p.stat().st_size for p in (root / "bench.lmdb").iterdir())
    env.close()
    return {"rate": rate, "latency": percentiles(latency), "bytes": size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=25_000)
    ap.add_argument("--queries", type=int, default=1_000)
    args = ap.parse_args()
    docs = read_docs(build(1_000_000, truth=False), args.docs)
    salted, payloads, texts = sketches(docs)
    ids = [i for i, _ in docs]
    queries = np.random.default_rng(1).choice(len(ids), args.queries, replace=False)
    lines = [f"`python bench/index_store.py --docs {args.docs} --batch {args.batch}`, "
             f"{time.strftime('%Y-%m-%d %H:%M')}:", "",
             "| store | documents/s stored | lookup p50 ms | lookup p99 ms | bytes a document |",
             "|---|---|---|---|---|"]
    for name, run in (("SQLite (WAL, synchronous=FULL; as the index)", run_sqlite),
                      ("LMDB (sync on commit)", run_lmdb)):
        root = Path(tempfile.mkdtemp(dir=HERE / "data"))
        try:
            got = run(root, salted, payloads, texts, ids, args.batch, queries)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        lines.append(f"| {name} | {got['rate']:,.0f} | {got['latency'][0]:.3f} | "
                     f"{got['latency'][1]:.3f} | {got['bytes'] / len(ids):,.0f} |")
    text = "\n".join(lines)
    print(text)
    (HERE / "results" / f"index-store-{args.docs}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
