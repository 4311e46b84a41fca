"""The story rule (:mod:`neardup.story`) over records read from files, on the local engine:
the workers parse each batch, clean its texts and make their story shingles; this process
books the records (:class:`~neardup.intake.Intake`) and groups the stories.

Memory: each document's story shingles stay until the groups are made, 8 bytes a shingle
(about one a word, so about 2.5 KB for a news article of 300 words).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..clean import Cleaner
from ..dedup import compared_text
from ..document import RawRecord, RecordBatch, Rejected
from ..intake import Intake, map_batches
from ..story import StoryOptions, StoryResult, story_groups, story_shingles
from .base import Engine

_NONE = np.empty(0, dtype=np.uint64)


@dataclass
class StoryBatch:
    """A batch's documents: ids, shingle sets, and the records that did not parse."""

    ids: list[str]
    failed: list[tuple[int, str, str | None]]
    shingles: list[np.ndarray]


class StoryTask:
    """Per batch of records, in a worker: parse, clean, make the story shingles."""

    def __init__(self, cleaner: Cleaner | None) -> None:
        self.cleaner = cleaner

    def __call__(self, batch: RecordBatch) -> StoryBatch:
        docs, _, failed = batch.documents()
        return StoryBatch([d.id for d in docs], failed,
                          [story_shingles(compared_text(d, self.cleaner)) for d in docs])


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
                engine: Engine, intake: Intake | None = None) -> StoryRun:
    """Read ``records`` through ``engine`` and apply the story rule."""
    intake = intake if intake is not None else Intake()
    shingles: list[np.ndarray] = []
    refused: list[np.ndarray] = []
    for first, batch, done in map_batches(engine, StoryTask(cleaner), records, intake):
        rejected = intake.absorb(first, batch, done.ids, done.failed,
                                 [not len(s) for s in done.shingles])
        shingles += [_NONE if r else s for s, r in zip(done.shingles, rejected.tolist())]
        refused.append(rejected)
    rejected = np.concatenate(refused) if refused else np.zeros(0, dtype=bool)
    result = story_groups(intake.ids, shingles, options)
    result.keep &= ~rejected
    return StoryRun(result, intake, rejected)
