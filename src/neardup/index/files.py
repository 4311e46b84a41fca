"""``neardup index add``: files into an index, and with an output directory what
``neardup dedup`` writes, for the new documents.

The output directory holds ``pairs.jsonl`` (the pairs the new documents form),
``clusters.jsonl`` (each group the pairs make, with the documents already in the index
marked ``"known": true``), ``kept/`` (the new documents kept, in their input's format),
``rejected.jsonl`` and ``summary.json``. The keep rule: a document already in the index
wins (the earliest added), else the group's first new document in reading order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from ..cluster import components
from ..document import Document, Rejected, Source
from ..io.outdir import OutputDir
from ..io.readers import (
    ReadOptions,
    check_inputs,
    input_fingerprints,
    input_size,
    read_inputs,
)
from ..io.writers import (
    rejected_rows,
    summary_header,
    write_jsonl,
    write_kept,
    write_summary,
)
from ..progress import track
from . import Index, IndexAdded

#: The files ``index add -o`` writes (``kept/`` aside).
INDEX_ADD_FILES = ("pairs.jsonl", "clusters.jsonl", "rejected.jsonl", "summary.json")


def add_files(index: Index, inputs: list[str], outdir: str | Path | None = None,
              read: ReadOptions = ReadOptions(), batch_size: int = 25_000,
              force: bool = False,
              on_batch: Callable[[IndexAdded], None] | None = None,
              progress: bool | None = None,
              check_memory: Callable[[str], None] = lambda stage: None) -> IndexAdded:
    """Add the documents of ``inputs`` to ``index``, a batch at a time (``on_batch`` sees
    each once it is committed); with ``outdir``, write the output described above.
    ``progress``: a bar on standard error (None: on a terminal, not in pipes or CI);
    ``check_memory`` is called at each batch and raises to stop a run that holds too much
    (:class:`~neardup.engine.local.MemoryLimit`): the batches committed before it stay."""
    check_inputs(inputs, read)
    started = time.perf_counter()
    sources: dict[str, Source] = {}

    def records() -> Iterator[Document | Rejected]:
        for record in track(read_inputs(inputs, read), input_size(inputs), progress,
                            desc="adding"):
            if isinstance(record, Document) and record.source is not None:
                sources.setdefault(record.id, record.source)
            yield record

    total = IndexAdded()
    output = (OutputDir(outdir, "index add", force=force, expected=INDEX_ADD_FILES)
              if outdir is not None else nullcontext())
    with output as out:
        for part in index.add_batches(records(), batch_size):
            if on_batch is not None:
                on_batch(part)
            total.extend(part)
            check_memory("adding")
        total.seconds = time.perf_counter() - started
        if out is not None:
            _write(out, index, inputs, read, total, sources)
            out.commit()
    return total


def _write(out: OutputDir, index: Index, inputs: list[str], read: ReadOptions,
           added: IndexAdded, sources: dict[str, Source]) -> None:
    fresh = set(added.added)
    rows, removed = group_rows(index, added)
    write_jsonl(out.file("pairs.jsonl"), (p.to_dict() for p in added.pairs))
    write_jsonl(out.file("clusters.jsonl"), rows)
    write_jsonl(out.file("rejected.jsonl"), rejected_rows(added.rejected))
    kept: dict[str, list[int]] = {}
    for doc_id in added.added:
        source = sources.get(doc_id)
        if doc_id in removed or source is None:
            continue
        records = kept.setdefault(source.path, [])  # a file that is one document: none
        if source.record is not None:
            records.append(source.record)
    write_kept(inputs, {path: np.array(sorted(r), dtype=np.int64) for path, r in kept.items()},
               out.subdir("kept"))
    write_summary(out.file("summary.json"), {
        **summary_header("index add", inputs, read, input_fingerprints(inputs)),
        "index": str(index.path), "documents_in_index": len(index),
        "added": len(fresh), "known": added.known, "rejected": len(added.rejected),
        "kept": len(fresh) - len(removed), "removed": len(removed),
        "groups": len({r["cluster"] for r in rows}), "pairs": len(added.pairs),
        "seconds": round(added.seconds, 3), "settings": index.stats()["settings"]})


def group_rows(index: Index, added: IndexAdded) -> tuple[list[dict[str, Any]], set[str]]:
    """The groups the pairs make, a row per member (as ``clusters.jsonl`` holds them, with
    ``known`` for documents already in the index), and the new documents not kept."""
    names = sorted({p.a for p in added.pairs} | {p.b for p in added.pairs})
    if not names:
        return [], set()
    number = {name: k for k, name in enumerate(names)}
    edges = np.array([(number[p.a], number[p.b]) for p in added.pairs], dtype=np.int64)
    labels = components(len(names), edges)
    fresh_order = {doc_id: k for k, doc_id in enumerate(added.added)}
    stored_order = index.order([n for n in names if n not in fresh_order])
    direct = {frozenset((p.a, p.b)): p.jaccard for p in added.pairs}
    groups: dict[int, list[str]] = {}
    for name, label in zip(names, labels.tolist()):
        groups.setdefault(label, []).append(name)

    def rank(doc_id: str) -> tuple[int, int]:  # the index's documents first, oldest first
        if doc_id in stored_order:
            return (0, stored_order[doc_id])
        return (1, fresh_order.get(doc_id, len(fresh_order)))

    rows: list[dict[str, Any]] = []
    removed: set[str] = set()
    ordered = sorted(groups.values(), key=lambda members: min(map(rank, members)))
    for cluster, members in enumerate(ordered):
        members.sort(key=rank)
        kept = members[0]
        for doc_id in members:
            score = 1.0 if doc_id == kept else direct.get(frozenset((doc_id, kept)))
            if score is None:
                score = index.similarity(doc_id, kept)
            if doc_id != kept and doc_id in fresh_order:
                removed.add(doc_id)
            rows.append({"id": doc_id, "cluster": cluster, "size": len(members),
                         "keep": doc_id == kept, "jaccard_to_kept": round(score, 6),
                         "known": doc_id not in fresh_order})
    return rows, removed
