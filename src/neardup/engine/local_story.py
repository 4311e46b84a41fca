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
from ..reuse.candidates import ShingleBlocks
from ..store import SpilledParts, SpillRef, SpillStore, SpillWriter
from ..story import StoryOptions, StoryResult, group_stories, story_shingles
from .base import Engine, Reporter, silent


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


class StoryFinder:
    """Streams records in, then applies the story rule.

    >>> store = SpillStore(np.uint64)  # the shingle sets, and the pairs counted
    >>> finder = StoryFinder(StoryOptions(), LocalEngine(2), store, cleaner)
    >>> finder.add(records)        # any number of times
    >>> run = finder.finish()
    >>> store.close()
    """

    def __init__(self, options: StoryOptions, engine: Engine, store: SpillStore,
                 cleaner: Cleaner | None, intake: Intake | None = None,
                 report: Reporter = silent,
                 check_memory: Callable[[str], None] = lambda stage: None) -> None:
        """``store`` keeps the shingle sets and the counted pairs in its spill directory
        (the caller closes it); ``cleaner`` makes the texts compared (None: as they are);
        ``check_memory`` is called with the stage's name at each batch read and each
        chunk of work after, and raises to stop a run that holds too much
        (:class:`~neardup.engine.local.MemoryLimit`)."""
        self.options, self.engine, self._store = options, engine, store
        self.intake = intake if intake is not None else Intake()
        self._task = StoryTask(cleaner, store.writer())
        self._report = _checking(report, check_memory)
        self._check_memory = check_memory
        self._shingles = ShingleBlocks()
        self._counts: list[np.ndarray] = []
        self._refused: list[np.ndarray] = []

    def add(self, records: Iterable[RawRecord]) -> None:
        """Read, clean and shingle records (the workers spill the sets)."""
        for first, batch, done in map_batches(self.engine, self._task, records, self.intake):
            rejected = self.intake.absorb(first, batch, done.ids, done.failed,
                                          (done.counts == 0).tolist())
            self._store.register(done.spilled, done.counts)
            shingles, compared = done.shingles, done.counts
            if rejected.any():  # a repeated id: its shingles must not link it to anything
                shingles = shingles[np.repeat(~rejected, compared)]
                compared = np.where(rejected, 0, compared)
            self._shingles.append(shingles)
            self._counts.append(compared)
            self._refused.append(rejected)
            self._check_memory("reading")

    def finish(self) -> StoryRun:
        """Candidates, verified pairs, groups and each group's kept copy."""
        rejected = concat(self._refused, bool)
        result = group_stories(self.intake.ids, concat(self._counts, np.int64),
                               self._shingles.take(),
                               self._store.reader(), self.options,
                               parts=SpilledParts(self._store.directory), engine=self.engine,
                               report=self._report)
        result.keep &= ~rejected
        return StoryRun(result, self.intake, rejected)


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
