"""The story rule (:mod:`neardup.story`) over records read from files, on the local engine:
the workers parse each batch, clean its texts, make their story shingles and write them to
a spill file; this process books the records (:class:`~neardup.intake.Intake`), builds
the shingle index from the shingles it is sent, and the workers verify the candidates and
decide the groups, reading the sets back from the spill file.

Memory: this process holds each document's shingles (8 bytes a shingle, about one a word)
until they are packed into the shingle index (8 bytes a posting), then the index until
the candidates are found; the pairs counted on the way, and the sets read back for
verification, are on disk (in the page cache, not in any process's memory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..clean import Cleaner
from ..dedup import compared_text
from ..document import RawRecord, RecordBatch, Rejected
from ..intake import Intake, concat, map_batches
from ..store import SpilledParts, SpillRef, SpillStore, SpillWriter
from ..story import StoryOptions, StoryResult, group_stories, story_shingles
from .base import Engine, Reporter, silent

#: The shingles received are gathered into arrays of about this many bytes: an array that
#: large is allocated apart from the heap, so freeing each as the shingle index is packed
#: gives its memory back at once.
SHINGLE_BLOCK = 64 << 20


@dataclass
class StoryBatch:
    """A batch's documents: ids, the records that did not parse, each document's number
    of shingles, the shingles end to end, and where the worker spilled them."""

    ids: list[str]
    failed: list[tuple[int, str, str | None]]
    counts: np.ndarray
    shingles: np.ndarray
    spilled: SpillRef


class StoryTask:
    """Per batch of records, in a worker: parse, clean, make the story shingles, spill them."""

    def __init__(self, cleaner: Cleaner | None, spill: SpillWriter) -> None:
        self.cleaner = cleaner
        self.spill = spill

    def __call__(self, batch: RecordBatch) -> StoryBatch:
        docs, _, failed = batch.documents()
        sets = [story_shingles(compared_text(d, self.cleaner)) for d in docs]
        flat = np.concatenate(sets) if sets else np.empty(0, np.uint64)
        return StoryBatch([d.id for d in docs], failed,
                          np.array([len(s) for s in sets], dtype=np.int64), flat,
                          self.spill.append(flat))


@dataclass
class StoryRun:
    """What a run over records found: the result over every document booked (rejected
    ones kept their place, alone, never kept) and the intake's bookkeeping."""

    result: StoryResult
    intake: Intake
    rejected: np.ndarray  # per document booked: refused (no words, or a repeated id)

    @property
    def rejections(self) -> list[Rejected]:
        """Every record rejected, in reading order."""
        return self.intake.rejected

    @property
    def candidates(self) -> int:
        return self.result.candidates

    def counts(self) -> dict[str, int]:
        """What ``summary.json`` and the command line report: every record read is kept
        (alone, or its group's kept copy), removed (another copy of a story kept) or
        rejected, so ``documents_read = kept + removed + rejected``."""
        result = self.result
        sizes = np.bincount(result.label, minlength=1)
        removed = int(((sizes[result.label] > 1) & ~result.keep & ~self.rejected).sum())
        kept, rejected = int(result.keep.sum()), len(self.intake.rejected)
        return {"documents_read": kept + removed + rejected, "kept": kept, "removed": removed,
                "rejected": rejected, "groups": int((sizes > 1).sum()),
                "pairs": len(result.pairs)}


def run_stories(records: Iterable[RawRecord], options: StoryOptions, cleaner: Cleaner | None,
                engine: Engine, store: SpillStore, intake: Intake | None = None,
                report: Reporter = silent,
                check_memory: Callable[[str], None] = lambda stage: None) -> StoryRun:
    """Read ``records`` through ``engine`` and apply the story rule; the shingle sets and
    the counted pairs go to ``store``'s spill directory (the caller closes it).
    ``check_memory`` is called with the stage's name at each batch read and each chunk of
    work after, and raises to stop a run that holds too much
    (:class:`~neardup.engine.local.MemoryLimit`)."""
    intake = intake if intake is not None else Intake()
    blocks: list[np.ndarray] = []
    recent: list[np.ndarray] = []
    recent_bytes = 0
    counts: list[np.ndarray] = []
    refused: list[np.ndarray] = []
    for first, batch, done in map_batches(engine, StoryTask(cleaner, store.writer()), records,
                                          intake):
        rejected = intake.absorb(first, batch, done.ids, done.failed,
                                 (done.counts == 0).tolist())
        store.register(done.spilled, done.counts)
        shingles, compared = done.shingles, done.counts
        if rejected.any():  # a repeated id: its shingles must not link it to anything
            shingles = shingles[np.repeat(~rejected, compared)]
            compared = np.where(rejected, 0, compared)
        recent.append(shingles)
        recent_bytes += shingles.nbytes
        if recent_bytes >= SHINGLE_BLOCK:
            blocks.append(np.concatenate(recent))
            recent, recent_bytes = [], 0
        counts.append(compared)
        refused.append(rejected)
        check_memory("reading")
    blocks += recent
    del recent
    rejected_all = concat(refused, bool)
    result = group_stories(intake.ids, concat(counts, np.int64), blocks, store.reader(),
                           options, parts=SpilledParts(store.directory), engine=engine,
                           report=_checking(report, check_memory))
    result.keep &= ~rejected_all
    return StoryRun(result, intake, rejected_all)


def _checking(report: Reporter, check_memory: Callable[[str], None]) -> Reporter:
    """``report``, with memory checked at each step of each stage it shows."""
    @contextmanager
    def opened(total: int, desc: str, unit: str = "it") -> Iterator[Callable[[int], None]]:
        with report(total, desc, unit) as advance:
            def step(n: int) -> None:
                advance(n)
                check_memory(desc)
            yield step
    return opened
