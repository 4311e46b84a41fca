"""The public Python API. The CLI is a thin layer over these functions.

In memory::

    import neardup
    pairs = neardup.find_pairs(["text one ...", "text two ..."], threshold=0.8)
    result = neardup.dedup({"a": "text ...", "b": "text ..."})
    why = neardup.explain(text_a, text_b)

On files (what ``neardup dedup`` runs)::

    result = neardup.dedup_files(["corpus/"], "out/")
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from .align import Explanation
from .align import explain as _explain_texts
from .dedup import Deduplicator, DedupOptions, DedupResult, Pair
from .document import Document, Source
from .engine import LocalEngine
from .io.readers import (
    RawRecord,
    ReadOptions,
    check_inputs,
    input_size,
    read_input,
    read_jsonl_stream,
)
from .io.writers import rejected_rows, write_jsonl, write_kept, write_summary
from .progress import track
from .text import DEFAULT_NGRAM

Docs = Iterable[str] | Iterable[tuple[str, str]] | Iterable[Document] | Mapping[str, str]


def as_documents(docs: Docs) -> Iterator[Document]:
    """Documents from strings (ids ``"0"``, ``"1"``, ...), ``(id, text)`` pairs, a mapping
    of id to text, or :class:`Document` objects."""
    items = docs.items() if isinstance(docs, Mapping) else docs
    for n, item in enumerate(items):
        if isinstance(item, Document):
            yield item
        elif isinstance(item, str):
            yield Document(str(n), item, Source("<memory>", n))
        else:
            doc_id, text = item
            yield Document(str(doc_id), text, Source("<memory>", n))


def dedup(docs: Docs, threshold: float = 0.8, *, workers: int = 1,
          options: DedupOptions | None = None) -> DedupResult:
    """Exact and near-duplicate groups of in-memory documents (see :class:`DedupResult`)."""
    with Deduplicator(options or DedupOptions(threshold=threshold), LocalEngine(workers)) as run:
        run.add(as_documents(docs))
        return run.finish()


def find_pairs(docs: Docs, threshold: float = 0.8, *, workers: int = 1,
               options: DedupOptions | None = None) -> list[Pair]:
    """Every pair of documents whose shingle-set Jaccard is at least ``threshold``.

    Each ``Pair.jaccard`` is exact (verified), unless ``options.verify`` is off.
    """
    result = dedup(docs, threshold, workers=workers, options=options)
    return [p for p in result.iter_pairs(max_group_pairs=None) if isinstance(p, Pair)]


def explain(a: str, b: str, ngram: int = DEFAULT_NGRAM, a_id: str = "A",
            b_id: str = "B") -> Explanation:
    """Why two texts match: exact Jaccard, containment, shared passages, each side's extras."""
    return _explain_texts(a, b, ngram, a_id, b_id)


class _StdinCopy:
    """Reads standard input line by line while saving it, so kept lines can be written later."""

    def __init__(self, stream: IO[bytes], tmp_dir: str | None) -> None:
        self.stream = stream
        self.copy = tempfile.NamedTemporaryFile(prefix="neardup-stdin-", dir=tmp_dir,
                                                delete=False)

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self.copy.write(line)
            yield line
        self.copy.flush()


def _records(inputs: list[str], read: ReadOptions,
             stdin: _StdinCopy | None) -> Iterator[RawRecord]:
    """Records of all inputs, JSONL lines unparsed (the engine parses them in its workers)."""
    for path in inputs:
        if path == "-":
            yield from read_jsonl_stream(stdin if stdin is not None else sys.stdin.buffer,
                                         "-", read, deferred=True)  # type: ignore[arg-type]
        else:
            yield from read_input(path, read, deferred=True)


def run_files(inputs: list[str], options: DedupOptions = DedupOptions(),
              read: ReadOptions = ReadOptions(), workers: int | None = None,
              progress: bool | None = None, stdin: _StdinCopy | None = None) -> DedupResult:
    """Read inputs and decide duplicates, writing nothing. Raises InputError for unusable
    inputs before any work starts."""
    check_inputs(inputs)
    with Deduplicator(options, LocalEngine(workers), progress) as run:
        run.add(track(_records(inputs, read, stdin), input_size(inputs), progress))
        return run.finish()


def dedup_files(inputs: list[str], outdir: str | Path, options: DedupOptions = DedupOptions(),
                read: ReadOptions = ReadOptions(), workers: int | None = None,
                progress: bool | None = None, max_group_pairs: int | None = 1_000
                ) -> DedupResult:
    """Dedup files into ``outdir``: ``pairs.jsonl``, ``clusters.jsonl``, ``rejected.jsonl``,
    ``kept/`` and ``summary.json`` (see :mod:`neardup.io.writers`). Raises
    :class:`~neardup.io.readers.InputError` for unusable inputs before any work starts."""
    check_inputs(inputs)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stdin = _StdinCopy(sys.stdin.buffer, options.tmp_dir) if "-" in inputs else None
    try:
        result = run_files(inputs, options, read, workers, progress, stdin)
        write_jsonl(out / "pairs.jsonl", (p.to_dict() for p in result.iter_pairs(max_group_pairs)))
        write_jsonl(out / "clusters.jsonl", result.iter_cluster_rows())
        write_jsonl(out / "rejected.jsonl", rejected_rows(result.rejected))
        kept_dir = out / "kept"
        if kept_dir.exists():
            shutil.rmtree(kept_dir)
        kept_sources = [result.sources[i] for i in result.kept_indices()]
        write_kept(inputs, kept_sources, kept_dir, stdin.copy.name if stdin else None)
    finally:
        if stdin is not None:
            stdin.copy.close()
            Path(stdin.copy.name).unlink(missing_ok=True)
    result.seconds = time.perf_counter() - started
    write_summary(out / "summary.json", summary_dict(result, inputs))
    return result


def summary_dict(result: DedupResult, inputs: list[str]) -> dict[str, Any]:
    """What ``summary.json`` holds: the run's :class:`~neardup.dedup.Stats` and settings."""
    opts = result.options
    return {
        "inputs": inputs,
        **result.stats.to_dict(),
        "seconds": round(result.seconds, 3),
        "settings": {"threshold": opts.threshold, "ngram": opts.ngram,
                     "num_perm": opts.num_perm, "seed": opts.seed, "keep": opts.keep.value,
                     "verified": opts.verify},
    }
