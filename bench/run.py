"""Side-by-side benchmark: neardup against rensa and datasketch on one corpus, one machine.

    python bench/run.py [--docs 20000] [--repeat 3]

Each pipeline runs as a whole process (reading JSONL, shingling, MinHash, LSH; neardup also
verifies every candidate exactly). Reported per pipeline: median docs/s and peak memory (sum
of RSS over the process tree, sampled every 20 ms) over the repeats, and quality of its pairs
against brute-force exact Jaccard (bench/corpus.py): recall of true pairs at J >= 0.8 and
J >= 0.85, precision (reported pairs that truly have J >= 0.8), and for neardup whether every
reported score equals the true Jaccard. Writes bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import build, truth_path  # noqa: E402

HERE = Path(__file__).resolve().parent
PY = sys.executable
PEERS = ("rensa", "rensa-split", "datasketch")



def measure(cmd: list[str], out_path: Path) -> tuple[float, int]:
    """Wall seconds and peak tree RSS (bytes) of ``cmd`` with stdout to ``out_path``."""
    seconds, rss, _ = measure_memory(cmd, out_path)
    return seconds, rss


def measure_memory(cmd: list[str], out_path: Path, pss: bool = False
                   ) -> tuple[float, int, int]:
    """Wall seconds, peak tree RSS and (with ``pss``) peak tree PSS, in bytes. PSS splits
    pages shared by forked workers among them; RSS counts them in every process."""
    with open(out_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        root = psutil.Process(proc.pid)
        peak = peak_pss = 0
        while proc.poll() is None:
            try:
                procs = [p for p in [root] + root.children(recursive=True) if p.is_running()]
                peak = max(peak, sum(p.memory_info().rss for p in procs))
                if pss:
                    peak_pss = max(peak_pss, sum(p.memory_full_info().pss for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.25 if pss else 0.02)  # reading smaps of a JVM costs a core
        seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, peak, peak_pss


def quality(out_path: Path, ids: dict[str, int], truth: dict[tuple[int, int], float]) -> dict:
    found: dict[tuple[int, int], float | None] = {}
    for line in open(out_path, encoding="utf-8"):
        row = json.loads(line)
        if "exact_group" in row:
            members = sorted(ids[m] for m in row["exact_group"])
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    found[(members[x], members[y])] = 1.0
            continue
        a, b = ids[row["a"]], ids[row["b"]]
        found[(min(a, b), max(a, b))] = row.get("jaccard")
    t80 = {k for k, v in truth.items() if v >= 0.8}
    t85 = {k for k, v in truth.items() if v >= 0.85}
    true_found = found.keys() & t80
    scored = [k for k in true_found if found[k] is not None]
    return {
        "reported": len(found),
        "recall_80": len(true_found) / len(t80),
        "recall_85": len(found.keys() & t85) / len(t85),
        "precision": len(true_found) / len(found) if found else 1.0,
        "scores_exact": (all(abs(found[k] - truth[k]) < 1e-6 for k in scored)
                         and len(scored) == len(true_found)) if scored else None,
        "below_threshold": sum(1 for k, v in found.items() if v is not None and v < 0.8),
    }


def corpus_with_truth(docs: int) -> tuple[Path, dict[tuple[int, int], float], dict[str, int]]:
    """The corpus of ``docs`` documents (built on first use), its truth (pairs of document
    numbers with J >= 0.5), and each id's document number."""
    corpus = build(docs)
    truth = {(i, j): s for i, j, s in json.loads(truth_path(docs).read_text())}
    ids = {json.loads(line)["id"]: n for n, line in enumerate(open(corpus, encoding="utf-8"))}
    return corpus, truth, ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="run only these pipelines")
    args = ap.parse_args()
    corpus, truth, ids = corpus_with_truth(args.docs)
    mean_kb = corpus.stat().st_size / len(ids) / 1024
    pipelines = {
        # --raw: the peers compare the text as it is, so neardup does too.
        "neardup --workers 1": [PY, "-m", "neardup", "pairs", str(corpus), "--raw",
                                "--workers", "1"],
        "neardup (2 cores)": [PY, "-m", "neardup", "pairs", str(corpus), "--raw"],
        "rensa": [PY, str(HERE / "peers.py"), "rensa", str(corpus)],
        "rensa-split": [PY, str(HERE / "peers.py"), "rensa-split", str(corpus)],
        "datasketch": [PY, str(HERE / "peers.py"), "datasketch", str(corpus)],
    }
    if args.only:
        pipelines = {k: v for k, v in pipelines.items() if any(o in k for o in args.only)}
    results: dict[str, dict] = {}
    out_dir = HERE / "data" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    for round_no in range(args.repeat):  # interleaved, so machine noise hits all alike
        for name, cmd in pipelines.items():
            out = out_dir / ("".join(c if c.isalnum() else "-" for c in name) + ".jsonl")
            seconds, peak = measure(cmd, out)
            r = results.setdefault(name, {"t": [], "mem": []})
            r["t"].append(seconds)
            r["mem"].append(peak)
            if round_no == 0:
                r["q"] = quality(out, ids, truth)
            print(f"  {name}: {len(ids) / seconds:,.0f} docs/s, {peak / 2**20:,.0f} MiB",
                  file=sys.stderr)
    rows = []
    base = {n: len(ids) / statistics.median(r["t"]) for n, r in results.items()}
    for name, r in results.items():
        q = r["q"]
        exact = {True: "yes", False: "NO", None: "no scores"}[q["scores_exact"]]
        rows.append(
            f"| {name} | {base[name]:,.0f} | "
            + " | ".join(f"{base[name] / base[p]:.2f}x" for p in PEERS if p in base)
            + f" | {statistics.median(r['mem']) / 2**20:,.0f} | {q['recall_80']:.4f} | "
            f"{q['recall_85']:.4f} | {q['precision']:.4f} | {q['below_threshold']} | "
            f"{exact} |")
    peers = [p for p in PEERS if p in base]
    t80 = sum(1 for v in truth.values() if v >= 0.8)
    table = "\n".join([
        f"Corpus: {len(ids):,} documents, {mean_kb:.1f} KB each on average, {t80:,} true pairs "
        f"at J >= 0.8; median of {args.repeat} runs; {os.cpu_count()} cores; "
        f"{time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "| pipeline | docs/s | " + " | ".join(f"vs {p}" for p in peers)
        + " | peak MiB | recall@0.8 | recall@0.85 | precision | pairs < 0.8 | exact scores |",
        "|---" * (8 + len(peers)) + "|",
        *rows,
    ])
    print(table)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "latest.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
