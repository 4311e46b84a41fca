"""The machine's own ceiling for two cores: the sketching kernel alone, in one process, then
in two processes at once on the same texts (nothing else running, nothing sent between them).

    python bench/kernel_scaling.py [--docs 20000] [--repeat 5]

Prints each run's seconds and the ratio of two-at-once against alone: 1.0 means the second
core is as fast as the first; more means the two slow each other down (shared caches, memory
bandwidth, a shared host), and no engine on this machine can reach 2x.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

from neardup.sketch import Sketcher, SketchParams

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import build  # noqa: E402


def _sketch_all(args: tuple[list[str], int]) -> float:
    texts, repeat = args
    sketcher = Sketcher(SketchParams(5, 128, 1))
    started = time.perf_counter()
    for _ in range(repeat):
        for i in range(0, len(texts), 256):
            sketcher.sketch(texts[i:i + 256], with_shingles=True)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with open(build(args.docs, truth=False), encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    work = (texts, args.repeat)
    for trial in range(3):
        alone = _sketch_all(work)
        with mp.get_context("fork").Pool(2) as pool:
            together = pool.map(_sketch_all, [work, work])
        print(f"trial {trial + 1}: alone {alone:.2f} s, two at once "
              f"{together[0]:.2f} and {together[1]:.2f} s: "
              f"{max(together) / alone:.2f}x the time of one")


if __name__ == "__main__":
    main()
