"""Cleaning must not eat copies: the SPDX licence texts, real families of near-identical
documents (GPL-2.0 / -only / -or-later, the BSD and CC variants), deduplicated with the
default cleaning, against the raw texts, against a brute-force truth.

Fetch the npm package first (the registry only)::

    mkdir -p /tmp/spdx && cd /tmp/spdx && npm pack spdx-license-list@6.12.0 \\
        && tar xzf spdx-license-list-6.12.0.tgz
    python bench/licences.py /tmp/spdx/package

The truth is every pair whose raw texts' 5-word-shingle Jaccard (lower-cased word runs, as
written here) reaches 0.8. For each setting: the truth's pairs found, the pairs found
beyond it, and seconds. Writes
bench/results/licences.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS = {"default cleaning": [], "--no-learn": ["--no-learn"], "--raw": ["--raw"]}


def licence_corpus(package: Path, out: Path) -> dict[str, str]:
    """Each licence's SPDX id and text, from the package's ``spdx-full.json``, written as
    JSONL to ``out``."""
    licences = json.loads((package / "spdx-full.json").read_text(encoding="utf-8"))
    texts = {key: entry["licenseText"] for key, entry in licences.items()
             if entry.get("licenseText", "").strip()}
    with open(out, "w", encoding="utf-8") as fh:
        for key, text in texts.items():
            fh.write(json.dumps({"id": key, "text": text}) + "\n")
    return texts


def brute_force_pairs(texts: dict[str, str], threshold: float = 0.8) -> set[tuple[str, str]]:
    """Every pair with 5-word-shingle Jaccard at least ``threshold``, by trying them all."""
    sets = {}
    for key, text in texts.items():
        words = re.findall(r"\w+", text.lower())
        sets[key] = {tuple(words[i:i + 5]) for i in range(max(len(words) - 4, 1))}
    keys = sorted(sets)
    truth = set()
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            x, y = sets[a], sets[b]
            if min(len(x), len(y)) < threshold * max(len(x), len(y)):
                continue  # Jaccard is at most the ratio of the sizes
            if len(x & y) >= threshold * len(x | y):
                truth.add((a, b))
    return truth


def found_pairs(corpus: Path, extra: list[str], workdir: Path) -> tuple[set, float]:
    """The pairs ``neardup dedup`` writes, and its seconds."""
    out = workdir / "out"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "neardup", "dedup", str(corpus), "-o", str(out),
                    "--force", *extra], check=True, capture_output=True)
    seconds = time.perf_counter() - started
    pairs = {tuple(sorted((row["a"], row["b"]))) for row in
             map(json.loads, (out / "pairs.jsonl").read_text().splitlines())}
    return pairs, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("package", type=Path, help="the unpacked spdx-license-list package")
    parser.add_argument("--workdir", type=Path, default=HERE / "data" / "licences")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    corpus = args.workdir / "spdx.jsonl"
    texts = licence_corpus(args.package, corpus)
    truth = brute_force_pairs(texts)
    rows = []
    for name, extra in SETTINGS.items():
        pairs, seconds = found_pairs(corpus, extra, args.workdir)
        rows.append(f"| {name} | {len(pairs & truth)} of {len(truth)} | "
                    f"{len(pairs - truth)} | {seconds:.1f} |")
        print(rows[-1], flush=True)
    version = json.loads((args.package / "package.json").read_text())["version"]
    table = "\n".join([
        f"{len(texts)} SPDX licence texts (npm spdx-license-list {version}), "
        f"`neardup dedup` at 0.8; {datetime.now():%Y-%m-%d %H:%M}.",
        "Truth: pairs whose raw texts' 5-word-shingle Jaccard reaches 0.8 (brute force).",
        "",
        "| setting | truth's pairs found | other pairs | seconds |",
        "|---|---|---|---|", *rows, ""])
    (HERE / "results" / "licences.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
