"""Writes examples/stories.jsonl, for `neardup pairs --match story` and `explain --match
story`: three Lee articles (ABC news, tests/data/lee_background.cor: 60, 61 and 62) and
printed copies of the first two as tests/story_copies.py makes them (cut to fit, a new
headline and dateline, OCR noise, hyphenated line ends), ids saying what each is; the
third article has no copy.

Run from the repository root: `python examples/make_stories.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests import story_copies  # noqa: E402

lee = (ROOT / "tests" / "data" / "lee_background.cor").read_text(encoding="utf-8").splitlines()
rng = np.random.default_rng(4)
rows = [{"id": f"abc-{k:03d}", "text": lee[k]} for k in (60, 61, 62)]
for k in (60, 61):
    sentences = story_copies.split_sentences(lee[k])
    body = " ".join(sentences[:max(2, round(len(sentences) * 0.6))])
    printed = (f"{story_copies.headline(sentences, rng)}\n\n{story_copies.dateline(rng)} "
               f"{body}")
    text = story_copies.set_in_columns(story_copies.ocr_noise(printed, 0.05, rng), 60, rng)
    rows.append({"id": f"ocr-copy-{k:03d}", "text": text})
with open(ROOT / "examples" / "stories.jsonl", "w", encoding="utf-8") as fh:
    for row in rows:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
