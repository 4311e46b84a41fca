"""Writes examples/reuse.jsonl: one wire story and outlets that reuse parts of it.

Real ABC news text (tests/data/lee_background.cor). The wire story is dated first and
carries an `(AAP)` dateline; three outlets run cuts of it, lightly edited, inside their
own reporting (other real articles), one crediting the wire; one unrelated article. Run
from the repository root: `python examples/make_reuse.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
lee = (ROOT / "tests" / "data" / "lee_background.cor").read_text(encoding="utf-8").splitlines()
wire = lee[3].split()
records = [{"id": "wire-aap", "date": "2001-12-04", "site": "aap.example",
            "text": "SYDNEY (AAP) - " + " ".join(wire)}]
cuts = [(0, 70, "The Daily Example", "2001-12-05"), (30, 110, "Example Herald", "2001-12-05"),
        (60, 130, "Example Post", "2001-12-07")]
for k, (start, end, paper, day) in enumerate(cuts):
    own = lee[120 + k].split()
    cut = list(wire[start:end])
    cut[len(cut) // 2] = "reportedly"  # an edit inside the passage
    credit = ", according to AAP." if k == 1 else "."
    text = (" ".join(own[:40]) + "\n\n" + " ".join(cut) + credit + "\n\n" + " ".join(own[40:])
            + f"\n\nCopyright {paper}")
    records.append({"id": f"outlet-{k + 1}", "date": day, "site": paper, "text": text})
records.append({"id": "unrelated", "date": "2001-12-06", "site": "Example Post",
                "text": lee[150]})
with open(ROOT / "examples" / "reuse.jsonl", "w", encoding="utf-8") as fh:
    fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
