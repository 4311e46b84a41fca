"""Reading-order bookkeeping shared by the stages that stream documents through an engine.

Every record read is either a document a stage works on or a :class:`Rejected` with its
reason, in reading order, so ``read = used + rejected`` always holds. Records are cut
into :class:`RecordBatch` es for the engine; what comes back is booked here: ids, where
each document was read from, and which records failed to parse, had no words or repeated
an earlier id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from .document import (
    Document,
    FileRange,
    LineBlock,
    RawRecord,
    RecordBatch,
    Rejected,
    Source,
    Sources,
    Unparsed,
)
from .engine.base import Engine

T = TypeVar("T")
R = TypeVar("R")
#: What a batch sent to an engine holds: records, or a block of JSONL lines.
Batch = list[Document | Unparsed] | LineBlock
NO_WORDS = "no words to compare (empty, or only spaces and punctuation)"


class Intake:
    """Ids, sources and rejections of the records a stage has read, in reading order."""

    def __init__(self, batch_size: int = 256) -> None:
        self.batch_size = batch_size
        self.ids: list[str] = []
        self.sources = Sources()
        self.documents_read = 0
        # Each record's reading position (its order among all read): one more a record,
        # and for a FileRange, whose records are counted only once read, room for one a
        # byte, the most it can hold.
        self._position = 0
        self._lines_before: dict[str, int] = {}  # per file, the lines of its ranges read
        # Ids accepted so far. Where each was first read is looked up only when an id
        # repeats (rare): a set costs a third of a dict of numbers at ten million ids.
        self._seen: set[str] = set()
        self._accepted = bytearray()  # per document: 1 if its id was not read before
        self._first: dict[str, int] | None = None  # id -> document number, once needed
        self._rejected: list[tuple[Any, Rejected]] = []  # (reading order, what and why)

    def batches(self, records: Iterable[RawRecord],
                pending: deque[tuple[int, Batch]]) -> Iterator[RecordBatch]:
        """Records cut into batches; rejected ones are booked, each batch sent is also put
        on ``pending`` with its first record's reading position. A block of lines is cut
        into batches of its own."""
        batch: list[Document | Unparsed] = []
        first = 0
        for record in records:
            if isinstance(record, (LineBlock, FileRange)):
                if batch:
                    pending.append((first, batch))
                    yield RecordBatch(batch)
                    batch = []
                if isinstance(record, FileRange):
                    pending.append((self._position, record))
                    self._position += record.size + 1
                    yield RecordBatch(record)
                    continue
                for block in record.split(self.batch_size):
                    pending.append((self._position, block))
                    self._position += len(block)
                    self.documents_read += len(block)
                    yield RecordBatch(block)
                continue
            if isinstance(record, Rejected):
                self._rejected.append((self._position, record))
            else:
                if not batch:
                    first = self._position
                batch.append(record)
            self._position += 1
            self.documents_read += 1
            if len(batch) >= self.batch_size:
                pending.append((first, batch))
                yield RecordBatch(batch)
                batch = []
        if batch:
            pending.append((first, batch))
            yield RecordBatch(batch)

    def loaded(self, read: FileRange, block: LineBlock) -> LineBlock:
        """Book the records of a range as a worker read them (``block``, numbered within
        the range, without its data): counted, and numbered in their file. A file's
        ranges must come here in reading order."""
        before = 0 if read.opens else self._lines_before.get(read.path, 0)
        block = block.numbered(before)
        self._lines_before[read.path] = block.next_line - 1
        self.documents_read += len(block)
        return block

    def absorb(self, first: int, batch: Batch, ids: list[str],
               failed: list[tuple[int, str, str | None]], empty: list[bool]) -> np.ndarray:
        """Book a processed batch: ``ids`` of the documents that parsed (in order),
        ``failed`` ``(position in batch, reason, id)`` for those that did not, ``empty``
        per parsed document. Returns per parsed document whether it is rejected (no words,
        or an id read before); rejected ones keep their place in the stage's arrays."""
        parsed = np.ones(len(batch), dtype=bool)
        for i, reason, doc_id in failed:
            parsed[i] = False
            source = (batch.source(i) if isinstance(batch, LineBlock)
                      else batch[i].source or Source("<memory>"))
            self.reject(first + i, Rejected(source, reason, doc_id))
        numbers = np.flatnonzero(parsed) if failed else None
        sources: Sequence[Source | None] = (
            batch.sources(numbers) if isinstance(batch, LineBlock)
            else [batch[i].source for i in (range(len(batch)) if numbers is None
                                            else numbers.tolist())])
        positions = (range(first, first + len(batch)) if numbers is None
                     else (first + numbers).tolist())
        return self.book(positions, ids, sources, empty)

    def reject(self, position: Any, record: Rejected) -> None:
        """Book a record that did not parse, at its reading ``position`` (any sortable key,
        one kind per intake)."""
        self._rejected.append((position, record))

    def book(self, positions: Sequence[Any], ids: list[str],
             sources: Sequence[Source | None], empty: list[bool]) -> np.ndarray:
        """Book documents that parsed, in reading order: ``positions`` as :meth:`reject`
        takes them. Returns per document whether it is rejected (no words, or an id read
        before); rejected ones keep their place in the stage's arrays."""
        seen = self._seen
        if not any(empty):
            fresh = set(ids)
            if len(fresh) == len(ids) and seen.isdisjoint(fresh):  # the usual batch
                seen |= fresh
                if self._first is not None:
                    self._first.update(zip(ids, range(len(self.ids), len(self.ids) + len(ids))))
                self._accepted += b"\x01" * len(ids)
                self.ids += ids
                self.sources.extend(sources)
                return np.zeros(len(ids), dtype=bool)
        rejected = np.zeros(len(ids), dtype=bool)
        for i, (doc_id, source) in enumerate(zip(ids, sources)):
            if empty[i]:
                rejected[i] = True
                self.reject(positions[i], Rejected(source or Source("<memory>"), NO_WORDS,
                                                   doc_id))
            elif doc_id in seen:
                rejected[i] = True
                earlier = self.sources[self._first_reading(doc_id)]
                self.reject(positions[i], Rejected(source or Source("<memory>"),
                                                   duplicate_id_reason(doc_id, earlier),
                                                   doc_id))
            else:
                seen.add(doc_id)
                if self._first is not None:
                    self._first[doc_id] = len(self.ids)
            self._accepted.append(0 if rejected[i] else 1)
            self.ids.append(doc_id)
            self.sources.append(source)
        return rejected

    def _first_reading(self, doc_id: str) -> int:
        """The document number an accepted id was first read at (the index is built at the
        first repeated id, then kept up to date)."""
        if self._first is None:
            self._first = {}
            for number, (seen_id, accepted) in enumerate(zip(self.ids, self._accepted)):
                if accepted:
                    self._first.setdefault(seen_id, number)
        return self._first[doc_id]

    @property
    def rejected(self) -> list[Rejected]:
        """Every record not used, in reading order."""
        return [r for _, r in sorted(self._rejected, key=lambda pair: pair[0])]


def duplicate_id_reason(doc_id: str, earlier: Source | None) -> str:
    """Why a document whose id was read before (at ``earlier``) is rejected."""
    return (f"duplicate id {doc_id!r}, first read at {earlier or 'an earlier record'}"
            f"{_as_text(doc_id)}")


def _as_text(doc_id: str) -> str:
    """For an id of digits: that ids are compared as text (outputs write them as text)."""
    if not doc_id.lstrip("-").isdigit():
        return ""
    return (f" (ids are compared as text: {doc_id} and \"{doc_id}\" are one id; give "
            "each record its own)")


def map_batches(engine: Engine, task: Callable[[Any], R],
                records: Iterable[RawRecord], intake: Intake,
                with_positions: bool = False) -> Iterator[tuple[int, Batch, R]]:
    """Records cut into batches and mapped by ``task`` on ``engine``: ``(reading position
    of the batch's first record, its records, the task's result)``, in reading order.
    Rejected records are booked in ``intake`` on the way; booking what comes back is the
    caller's (:meth:`Intake.absorb`). With ``with_positions``, the task receives
    ``(positions, batch)``: each record's place among the records sent."""
    pending: deque[tuple[int, Batch | FileRange]] = deque()
    work: Iterable[Any] = intake.batches(records, pending)
    if with_positions:
        work = _with_positions(work)
    # zip pulls the engine first: its input generator fills `pending` before it is read.
    for (block, result), (first, batch) in zip(engine.map(_Loading(task), work),
                                               _in_order(pending)):
        if isinstance(batch, FileRange):
            assert block is not None
            batch = intake.loaded(batch, block)
        yield first, batch, result


class _Loading:
    """A task that reads a :class:`FileRange` itself before running ``task`` on its
    lines, and answers with the lines it read (their numbers, not their data) and the
    task's result. Other batches go to ``task`` as they are."""

    def __init__(self, task: Callable[[Any], R]) -> None:
        self.task = task

    def __call__(self, batch: Any) -> tuple[LineBlock | None, R]:
        if isinstance(batch, RecordBatch) and isinstance(batch.block, FileRange):
            block = batch.block.load()
            return block.numbered(0), self.task(RecordBatch(block))
        return None, self.task(batch)


def _with_positions(batches: Iterable[RecordBatch]) -> Iterator[tuple[list[int], RecordBatch]]:
    position = 0
    for batch in batches:
        yield list(range(position, position + len(batch))), batch
        position += len(batch)


def _in_order(pending: deque[T]) -> Iterator[T]:
    """Yields the oldest pending batch each time: engines return results in order."""
    while True:
        yield pending.popleft()


def concat(parts: list[np.ndarray], dtype: type, empty_shape: tuple[int, ...] = (0,)
           ) -> np.ndarray:
    """Per-batch arrays as one array in reading order (an empty one of ``empty_shape``)."""
    return np.concatenate(parts) if parts else np.empty(empty_shape, dtype=dtype)
