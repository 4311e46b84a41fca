"""Corpora that share paragraphs, at scale: candidates per document, time, peak memory,
recall on a sample against brute force.

    python bench/shared.py [--docs 320000 1000000 2000000 5000000] [--pool 10000]
                           [--command dedup|pairs] [--workers 2] [--repeat 1] [--sample 1000]
                           [--peer rensa|datasketch] [--spark 'local[2]']

Documents of 2-4 real paragraphs (tests/paragraphs.py: real ABC news sentences, 2-5 to a
paragraph, 30% of words swapped once per paragraph) from one fixed pool, 10% near copies,
about 1.4 KB each. With a fixed pool the pairs that share a paragraph grow with the square
of the corpus. Each run is a whole process (`neardup dedup --raw` or `pairs --raw`); peak
memory is the sum of PSS over its process tree. Recall: every pair at J >= 0.8 that holds
one of ``--sample`` documents drawn at random, found by exact Jaccard over every document
sharing a paragraph with it (the oracle's own shingles). With ``--peer``, the peer's
pipeline (bench/peers.py: its MinHash and LSH at 0.8, no verification) runs on the same
corpus right after, each size: its docs/s, peak PSS, the pairs it reports (LSH candidates)
and their recall. With ``--spark MASTER`` neardup runs with ``--engine spark --master
MASTER`` (Spark's default memory settings; peak memory then covers the driver, its JVM and
the Python workers). ``--spark standalone`` starts a standalone cluster for the run (a
master and two workers of one core and 2 GiB from pyspark's bin/spark-class, on
127.0.0.1: tests/standalone.py); peak memory then covers the driver alone (its Python and
its JVM), the executors being the workers' children. Writes
bench/results/shared-COMMAND-wW-poolP.md (``-spark-MASTER`` added).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/paragraphs.py
from run import measure_memory  # noqa: E402

from tests import paragraphs  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
CHUNK = 100_000


def corpus(docs: int, pool: int) -> Path:
    """The corpus as JSONL under bench/data (built on first use, renamed into place), and
    beside it which pool paragraphs each document holds (for the recall sample)."""
    path = DATA / f"shared-{docs}-pool{pool}.jsonl"
    made = path.with_suffix(".paragraphs.npy")
    if path.exists() and made.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pool_texts = paragraphs.pool_paragraphs(pool)
    held = np.full((docs, 4), -1, dtype=np.int32)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for start in range(0, docs, CHUNK):
            part = paragraphs.generate(min(CHUNK, docs - start), pool, start=start,
                                       paragraphs=pool_texts)
            fh.writelines(json.dumps({"id": f"d{start + i:08d}", "text": t}) + "\n"
                          for i, t in enumerate(part.texts))
            for i, chosen in enumerate(part.paragraphs):
                held[start + i, :len(chosen)] = chosen
    np.save(made, held)
    tmp.replace(path)
    print(f"built {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def sampled_truth(path: Path, sample: int, seed: int = 0
                  ) -> tuple[np.ndarray, dict[tuple[int, int], float]]:
    """The sampled documents, and every pair at J >= 0.8 that holds one of them: each
    sampled document against every document that shares a paragraph with it, by exact
    Jaccard of the oracle's own shingles. Two passes over the file; the sampled documents'
    sets are kept, each other document's set is made once and dropped."""
    held = np.load(path.with_suffix(".paragraphs.npy"))
    chosen = np.sort(np.random.default_rng(seed).choice(len(held), sample, replace=False))
    sampled_by_paragraph: dict[int, list[int]] = {}
    for d in chosen.tolist():
        for p in held[d][held[d] >= 0].tolist():
            sampled_by_paragraph.setdefault(p, []).append(d)
    wanted = np.array(sorted(sampled_by_paragraph), dtype=held.dtype)
    partners = set(np.flatnonzero(np.isin(held, wanted).any(axis=1)).tolist())
    picked = set(chosen.tolist())

    def shingles(line: str) -> frozenset[int]:
        return frozenset(map(hash, paragraphs.shingle_set(json.loads(line)["text"])))

    sets: dict[int, frozenset[int]] = {}
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i in picked:
                sets[i] = shingles(line)
    truth: dict[tuple[int, int], float] = {}
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i not in partners:
                continue
            mine = sets[i] if i in sets else shingles(line)
            others = {s for p in held[i][held[i] >= 0].tolist()
                      for s in sampled_by_paragraph.get(p, ())}
            for s in others - {i}:
                theirs = sets[s]
                small, large = sorted((len(mine), len(theirs)))
                if not small or small < 0.8 * large:
                    continue
                score = len(mine & theirs) / len(mine | theirs)
                if score >= 0.8:
                    truth[(min(i, s), max(i, s))] = score
    return chosen, truth


def found_pairs(out: Path, command: str) -> set[tuple[int, int]]:
    """The pairs a run reported, as document numbers (ids are d + zero-padded numbers)."""
    source = out / "pairs.jsonl" if command == "dedup" else out.with_suffix(".stdout")
    found = set()
    with open(source, encoding="utf-8") as fh:
        for line in fh:
            pair = json.loads(line)
            if "exact_group" in pair:
                members = sorted(int(m[1:]) for m in pair["exact_group"])
                found.update((a, b) for k, a in enumerate(members) for b in members[k + 1:])
            else:
                found.add((int(pair["a"][1:]), int(pair["b"][1:])))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, nargs="+", default=[1_000_000, 2_000_000, 5_000_000])
    ap.add_argument("--pool", type=int, default=10_000)
    ap.add_argument("--command", choices=["dedup", "pairs"], default="dedup")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--peer", choices=["rensa", "datasketch"])
    ap.add_argument("--spark", metavar="MASTER", help="run on Spark at this master")
    args = ap.parse_args()
    with contextlib.ExitStack() as stack:
        master = args.spark
        if args.spark == "standalone":
            from tests.standalone import driver_env, standalone_cluster

            root = DATA / "out" / "standalone"
            root.mkdir(parents=True, exist_ok=True)
            master = stack.enter_context(standalone_cluster(root))
            os.environ.update(driver_env())
        rows = _runs(args, master)
    _table(args, rows)


def _runs(args: argparse.Namespace, master: str | None) -> list[tuple]:
    rows = []
    for docs in args.docs:
        path = corpus(docs, args.pool)
        out = DATA / "out" / f"shared-{args.command}"
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "neardup", args.command, str(path), "--raw",
               "--workers", str(args.workers), "--no-progress"]
        if args.command == "dedup":
            cmd += ["-o", str(out)]
        if master:
            cmd += ["--engine", "spark", "--master", master]
        runs = [measure_memory(cmd, out.with_suffix(".stdout"), pss=True)
                for _ in range(args.repeat)]
        seconds = statistics.median(r[0] for r in runs)
        peak = statistics.median(r[2] for r in runs)
        summary = (json.loads((out / "summary.json").read_text())
                   if args.command == "dedup" else {})
        chosen, truth = sampled_truth(path, args.sample)
        found = found_pairs(out, args.command)
        hit = sum(1 for pair in truth if pair in found)
        rows.append((f"neardup {args.command}" + (f" (spark {args.spark})" if args.spark else ""),
                     docs, path.stat().st_size, seconds,
                     [r[0] for r in runs], peak, summary.get("candidate_pairs"),
                     summary.get("verified_pairs"), len(truth), hit))
        print(rows[-1], file=sys.stderr)
        if args.peer:
            peer_out = DATA / "out" / f"shared-{args.peer}.stdout"
            cmd = [sys.executable, str(HERE / "peers.py"), args.peer, str(path)]
            runs = [measure_memory(cmd, peer_out, pss=True) for _ in range(args.repeat)]
            with open(peer_out, encoding="utf-8") as fh:
                reported = sum(1 for _ in fh)
            found = found_pairs(peer_out.with_suffix(""), "pairs")
            rows.append((args.peer, docs, path.stat().st_size,
                         statistics.median(r[0] for r in runs), [r[0] for r in runs],
                         statistics.median(r[2] for r in runs), reported, None, len(truth),
                         sum(1 for pair in truth if pair in found)))
            print(rows[-1], file=sys.stderr)
    return rows


def _table(args: argparse.Namespace, rows: list[tuple]) -> None:
    base = rows[0]
    lines = [
        f"`neardup {args.command} --raw --workers {args.workers}` on documents of 2-4 real "
        f"paragraphs from one pool of {args.pool:,} (10% near copies), median of "
        f"{args.repeat} run(s), {time.strftime('%Y-%m-%d %H:%M')} "
        f"(`python bench/shared.py --docs {' '.join(map(str, args.docs))} --pool "
        f"{args.pool} --command {args.command} --workers {args.workers} --repeat "
        f"{args.repeat}" + (f" --spark '{args.spark}'" if args.spark else "") + "`):",
        "",
        "| pipeline | documents | JSONL | candidates (a document) | verified pairs | wall s "
        f"(runs) | time / its time at {base[1]:,} | docs/s | peak GiB PSS | recall at "
        f"J >= 0.8, pairs of {args.sample:,} sampled documents |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    first = {}
    for name, docs, size, seconds, times, peak, cands, verified, truth, hit in rows:
        first.setdefault(name, seconds)
        cand = f"{cands:,} ({cands / docs:.3f})" if cands is not None else "-"
        lines.append(
            f"| {name} | {docs:,} | {size / 1e9:.2f} GB | {cand} | "
            f"{verified if verified is None else f'{verified:,}'} | {seconds:,.1f} "
            f"({', '.join(f'{t:.1f}' for t in times)}) | {seconds / first[name]:.2f}x | "
            f"{docs / seconds:,.0f} | {peak / 2**30:.2f} | "
            f"{hit / truth if truth else float('nan'):.4f} ({hit:,} of {truth:,}) |")
    text = "\n".join(lines)
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    spark = ("-spark-" + "".join(c if c.isalnum() else "-" for c in args.spark).strip("-")
             if args.spark else "")
    name = f"shared-{args.command}-w{args.workers}-pool{args.pool}{spark}.md"
    (HERE / "results" / name).write_text(text + "\n")


if __name__ == "__main__":
    main()
