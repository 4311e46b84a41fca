"""The persistent index: adds, queries and the HTTP service, and datasketch's MinHashLSH
with its Redis storage beside it.

    python bench/index.py [--docs 1000000] [--peer-docs 10000] [--queries 1000]

Two parts, on corpora from bench/corpus.py (built on first use):

1. Side by side on the first PEER_DOCS documents of the 20,000-document corpus (its truth:
   exact Jaccard by brute force): neardup's index (in-process, sketching and exact
   verification included) and datasketch's MinHashLSH on Redis (Debian's redis-server,
   started on a free loopback port and stopped here; word 5-gram MinHash, 128
   permutations, threshold 0.8). Inserts/s in bulk and one at a time, single-text query
   latency (p50, p99), recall and precision of the pairs against the truth at J >= 0.8.
   datasketch's figures leave out its own sketching, which is given apart.
2. At scale: DOCS documents through `neardup index add` (a whole process: documents/s,
   peak memory, size on disk), then QUERIES single-text queries through the Python API and
   through `neardup serve` with 8 concurrent clients (a bounded run: p50, p99, errors),
   and the server's memory.

Writes bench/results/index-DOCS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import build  # noqa: E402
from run import PY, corpus_with_truth, measure_memory  # noqa: E402

HERE = Path(__file__).resolve().parent


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ms = np.array(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def read_docs(path: Path, limit: int) -> list[tuple[str, str]]:
    docs = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if len(docs) >= limit:
                break
            row = json.loads(line)
            docs.append((row["id"], row["text"]))
    return docs


def query_texts(docs: list[tuple[str, str]], n: int, seed: int = 1) -> list[str]:
    """Half known texts with a sentence cut (near copies), half texts of their words
    shuffled (nothing known matches them)."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(docs), n, replace=False)
    out = []
    for k, i in enumerate(picks.tolist()):
        words = docs[i][1].split()
        if k % 2 == 0:
            out.append(" ".join(words[:-12]))
        else:
            out.append(" ".join(rng.permutation(words).tolist()))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def recall_precision(found: set[tuple[int, int]], truth: set[tuple[int, int]]
                     ) -> tuple[float, float]:
    hit = len(found & truth)
    return hit / len(truth) if truth else 1.0, hit / len(found) if found else 1.0


# -- part 1: side by side with datasketch + Redis -------------------------------------------

def neardup_side(docs: list[tuple[str, str]], queries: list[str], index_dir: Path
                 ) -> dict:
    from neardup.index import Index

    path = index_dir / "peer.ndx"
    with Index.create(path) as index:
        started = time.perf_counter()
        added = index.add(docs[:-1000])
        bulk = (len(docs) - 1000) / (time.perf_counter() - started)
        started = time.perf_counter()
        pairs = list(added.pairs)
        for doc in docs[-1000:]:
            pairs += index.add([doc]).pairs
        single = 1000 / (time.perf_counter() - started)
        index.query([queries[0]])  # warm
        latency = []
        for text in queries:
            started = time.perf_counter()
            index.query([text])
            latency.append(time.perf_counter() - started)
    return {"bulk": bulk, "single": single, "latency": percentiles(latency),
            "pairs": {(p.a, p.b) for p in pairs}}


def minhash(text: str, num_perm: int = 128):  # noqa: ANN201 - datasketch's MinHash
    from datasketch import MinHash

    words = text.lower().split()
    m = MinHash(num_perm=num_perm)
    m.update_batch([" ".join(words[k:k + 5]).encode() for k in range(max(1, len(words) - 4))])
    return m


def datasketch_side(docs: list[tuple[str, str]], queries: list[str], scratch: Path) -> dict:
    import redis
    from datasketch import MinHashLSH

    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(scratch)],
                              stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        for _ in range(100):  # at most 10 s
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        started = time.perf_counter()
        sketches = [minhash(text) for _, text in docs]
        sketch_rate = len(docs) / (time.perf_counter() - started)
        query_sketches = [minhash(text) for text in queries]
        config = {"type": "redis", "redis": {"host": "127.0.0.1", "port": port}}
        lsh = MinHashLSH(threshold=0.8, num_perm=128, storage_config=config)
        started = time.perf_counter()
        with lsh.insertion_session() as session:
            for (doc_id, _), m in zip(docs[:-1000], sketches[:-1000]):
                session.insert(doc_id, m)
        bulk = (len(docs) - 1000) / (time.perf_counter() - started)
        found: set[tuple[str, str]] = set()
        started = time.perf_counter()
        for (doc_id, _), m in zip(docs[-1000:], sketches[-1000:]):
            lsh.insert(doc_id, m)
        single = 1000 / (time.perf_counter() - started)
        for (doc_id, _), m in zip(docs, sketches):
            found |= {tuple(sorted((doc_id, other))) for other in lsh.query(m)
                      if other != doc_id}
        latency = []
        for m in query_sketches:
            started = time.perf_counter()
            lsh.query(m)
            latency.append(time.perf_counter() - started)
        return {"bulk": bulk, "single": single, "latency": percentiles(latency),
                "sketch_rate": sketch_rate, "pairs": found}
    finally:
        server.terminate()
        server.wait(timeout=30)


# -- part 2: at scale -------------------------------------------------------------------------

def _client(url: str, bodies: list[bytes]) -> tuple[list[float], int]:
    """One client: its queries in turn on one kept-alive connection, each timed."""
    import http.client
    from urllib.parse import urlparse

    where = urlparse(url)
    headers = {"content-type": "application/json"}
    times, errors = [], 0
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    for body in bodies:
        started = time.perf_counter()
        try:
            connection.request("POST", "/v1/query", body, headers)
            answer = connection.getresponse()
            answer.read()
            ok = answer.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
            connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        times.append(time.perf_counter() - started)
        errors += not ok
    connection.close()
    return times, errors


def http_load(url: str, queries: list[str], clients: int = 8) -> dict:
    """``clients`` client processes, each on one kept-alive connection, send the queries
    (a bounded run: each query once) and time each answer. Each client is a process of
    its own, using the standard library's http.client with bodies encoded beforehand, so
    clients do not wait on each other's interpreter lock and cost little of the cores."""
    bodies = [json.dumps({"text": text}).encode() for text in queries]
    parts = [bodies[k::clients] for k in range(clients)]
    with ProcessPoolExecutor(clients) as pool:
        list(pool.map(_client, [url] * clients, [[b] for b in bodies[:clients]]))  # warm
        started = time.perf_counter()
        results = list(pool.map(_client, [url] * clients, parts))
        wall = time.perf_counter() - started
    times = [t for part, _ in results for t in part]
    return {"latency": percentiles(times), "errors": sum(e for _, e in results),
            "requests": len(times), "per_second": len(times) / wall}


def at_scale(docs: int, queries_n: int, scratch: Path) -> dict:
    import httpx
    import psutil

    from neardup.index import Index

    corpus = build(docs, truth=False)
    index = scratch / f"news-{docs}.ndx"
    subprocess.run([PY, "-m", "neardup", "index", "create", str(index)], check=True,
                   capture_output=True)
    seconds, _, peak_pss = measure_memory(
        [PY, "-m", "neardup", "index", "add", str(index), str(corpus)],
        scratch / "add.stdout", pss=True)
    out: dict = {"add_seconds": seconds, "add_rate": docs / seconds, "add_pss": peak_pss}
    sample = read_docs(corpus, min(docs, 200_000))
    queries = query_texts(sample, queries_n, seed=2)
    with Index(index, readonly=True) as ix:
        stats = ix.stats()
        ix.query([queries[0]])
        latency = []
        for text in queries:
            started = time.perf_counter()
            ix.query([text])
            latency.append(time.perf_counter() - started)
    out.update(size=stats["bytes"], per_doc=stats["bytes_per_document"],
               documents=stats["documents"], latency=percentiles(latency))
    port = free_port()
    server = subprocess.Popen([PY, "-m", "neardup", "serve", str(index), "--port", str(port)],
                              stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):  # at most 30 s
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        out["http"] = http_load(url, queries)
        root = psutil.Process(server.pid)  # the server's processes: itself and its workers
        out["server_pss"] = sum(p.memory_full_info().pss
                                for p in [root, *root.children(recursive=True)])
        out["server_processes"] = 1 + len(root.children(recursive=True))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--peer-docs", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--no-scale", action="store_true")
    args = ap.parse_args()
    if not args.no_peer and shutil.which("redis-server") is None:
        raise SystemExit("redis-server is missing: `make redis` installs Debian's (root and "
                         "apt), or give --no-peer")
    lines = [f"`python bench/index.py --docs {args.docs} --peer-docs {args.peer_docs} "
             f"--queries {args.queries}`, {time.strftime('%Y-%m-%d %H:%M')}, "
             f"{os.cpu_count()} cores:", ""]
    with tempfile.TemporaryDirectory(dir=HERE / "data") as tmp:
        scratch = Path(tmp)
        if not args.no_peer:
            corpus, truth, ids = corpus_with_truth(20_000)
            docs = read_docs(corpus, args.peer_docs)
            names = [d for d, _ in docs]
            true80 = {(names[i], names[j]) for (i, j), s in truth.items()
                      if s >= 0.8 and i < len(docs) and j < len(docs)}
            queries = query_texts(docs, args.queries)
            ours = neardup_side(docs, queries, scratch)
            theirs = datasketch_side(docs, queries, scratch)
            lines += [f"Side by side on {len(docs):,} news-length documents "
                      f"({len(true80):,} true pairs at J >= 0.8), {len(queries):,} single-text "
                      "queries:", "",
                      "| | inserts/s, bulk | inserts/s, one at a time | query p50 ms | "
                      "query p99 ms | recall@0.8 | precision | scores |",
                      "|---|---|---|---|---|---|---|---|"]
            for name, got, scores in (
                    ("neardup index (sketching and exact verification included)", ours,
                     "exact Jaccard"),
                    ("datasketch MinHashLSH + Redis (sketching left out)", theirs,
                     "none (candidates)")):
                recall, precision = recall_precision({tuple(sorted(p)) for p in got["pairs"]},
                                                     {tuple(sorted(p)) for p in true80})
                lines.append(f"| {name} | {got['bulk']:,.0f} | {got['single']:,.0f} | "
                             f"{got['latency'][0]:.2f} | {got['latency'][1]:.2f} | "
                             f"{recall:.4f} | {precision:.4f} | {scores} |")
            lines += ["", f"datasketch's MinHash (word 5-grams, 128 permutations) sketches "
                      f"{theirs['sketch_rate']:,.0f} documents/s in Python.", ""]
        if not args.no_scale:
            got = at_scale(args.docs, args.queries, scratch)
            http = got["http"]
            lines += [
                f"At scale: {got['documents']:,} documents through `neardup index add` in "
                f"{got['add_seconds']:,.1f} s (**{got['add_rate']:,.0f} documents/s**, "
                f"sketching and verification included), peak {got['add_pss'] / 2**30:.2f} GiB "
                f"PSS; {got['size'] / 2**30:.2f} GiB on disk, {got['per_doc']:,} bytes a "
                "document.",
                f"- single-text query through the Python API: p50 {got['latency'][0]:.2f} ms, "
                f"**p99 {got['latency'][1]:.2f} ms** ({args.queries:,} queries, half near "
                "copies of stored documents)",
                f"- over HTTP, 8 concurrent clients on loopback: {http['requests']:,} "
                f"requests, p50 {http['latency'][0]:.2f} ms, **p99 {http['latency'][1]:.2f} "
                f"ms**, {http['errors']} errors, {http['per_second']:,.0f} requests/s; "
                f"server memory {got['server_pss'] / 2**20:,.0f} MiB PSS over its "
                f"{got['server_processes']} processes",
            ]
    text = "\n".join(lines)
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"index-{args.docs}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
