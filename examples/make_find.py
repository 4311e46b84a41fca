"""Writes the query files for `neardup find`: examples/wire.jsonl and examples/items.jsonl.

- `wire.jsonl`: the wire story of reuse.jsonl (`wire-aap`), as an agency would look for
  where it was republished.
- `items.jsonl`: three benchmark-style items, a question and an answer each, cut from real
  ABC news (tests/data/lee_background.cor): `item-012` from article 12 (news.jsonl holds
  it, and an edited copy), `item-020` from article 20 (news.jsonl holds it twice), and
  `item-250` from article 250, which no example holds.

Run from the repository root: `python examples/make_find.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
lee = (ROOT / "tests" / "data" / "lee_background.cor").read_text(encoding="utf-8").splitlines()
wire = json.loads((ROOT / "examples" / "reuse.jsonl").read_text(encoding="utf-8").splitlines()[0])
with open(ROOT / "examples" / "wire.jsonl", "w", encoding="utf-8") as fh:
    fh.write(json.dumps({"id": wire["id"], "text": wire["text"]}, ensure_ascii=False) + "\n")
with open(ROOT / "examples" / "items.jsonl", "w", encoding="utf-8") as fh:
    for article in (12, 20, 250):
        words = lee[article].split()
        fh.write(json.dumps({"id": f"item-{article:03d}", "question": " ".join(words[:40]),
                             "answer": " ".join(words[40:60])}, ensure_ascii=False) + "\n")
