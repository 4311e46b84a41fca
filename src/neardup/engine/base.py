"""What the algorithm modules ask of an engine and of a progress display, and nothing more.

An engine maps a picklable task over a stream of items, results in input order
(:class:`Engine`); :class:`~neardup.engine.local.LocalEngine` is the one this machine
runs. Progress is reported through a :class:`Reporter` the caller passes in (the API draws
bars on a terminal; :func:`silent` draws nothing), so no algorithm module knows how, or
whether, progress is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")


class Engine(Protocol):
    """Maps ``task`` over ``items``; results come in the order of the items."""

    def map(self, task: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...


class PayloadWriter(Protocol):
    """Appends a batch's payloads (one flat array) where the store keeps them, in whatever
    process the task runs; returns where they went. Picklable."""

    def append(self, flat: np.ndarray) -> Any: ...


class PayloadStore(Protocol):
    """Per-document arrays (the shingle sets exact verification reads back), written where
    they are computed and read back by document number: the local engine's spill files
    (:class:`~neardup.store.SpillStore`), or any store the workers and the reader share."""

    def writer(self) -> PayloadWriter: ...

    def register(self, where: Any, counts: np.ndarray) -> None:
        """The next documents' arrays went ``where``, ``counts`` items each."""

    def reader(self) -> PayloadReader:
        """A picklable reader of every array registered so far, for the workers."""

    def close(self) -> None: ...


class PayloadReader(Protocol):
    """Reads stored arrays by document number, in any process."""

    def get(self, doc: int) -> np.ndarray: ...

    def many(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The arrays of ``docs`` end to end, and the ``len(docs) + 1`` offsets where each
        starts (the last is where the last ends)."""


class ColumnStore(Protocol):
    """A matrix appended a batch of rows at a time and read back one column at a time
    (the band keys: a column is one band), so the whole never stands in memory."""

    def append(self, rows: np.ndarray) -> None: ...

    def reader(self) -> ColumnReader:
        """A picklable reader of the rows appended so far, for the workers."""

    def close(self) -> None: ...


class RowStore(Protocol):
    """A matrix appended a batch of rows at a time, read back whole, once, by the process
    that tests pairs of its rows (the signature bytes of :mod:`neardup.sigfilter`)."""

    def append(self, rows: np.ndarray) -> None: ...

    def reader(self) -> Any:
        """A picklable source of the matrix (``.matrix()``), for the workers."""

    def close(self) -> None: ...


class ColumnReader(Protocol):
    """Reads one column of a :class:`ColumnStore`, in any process."""

    def column(self, k: int) -> np.ndarray: ...


class Reporter(Protocol):
    """Opens a display of ``total`` units of work; what it yields advances it by ``n``."""

    def __call__(self, total: int, desc: str, unit: str = "it"
                 ) -> AbstractContextManager[Callable[[int], None]]: ...


@contextmanager
def silent(total: int, desc: str, unit: str = "it") -> Iterator[Callable[[int], None]]:
    """The reporter that shows nothing."""
    yield lambda n: None


def mapped(engine: Engine | None, task: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``task`` over ``items`` on ``engine``, or in this process when there is none."""
    return engine.map(task, items) if engine is not None else map(task, items)


def reported(report: Reporter, items: Iterable[T], total: int, desc: str, unit: str = "it",
             step: int = 1) -> Iterator[T]:
    """Pass ``items`` through, each advancing ``report`` by ``step`` units (the last by what
    remains of ``total``)."""
    done = 0
    with report(total, desc, unit) as advance:
        for item in items:
            yield item
            n = min(step, total - done)
            done += n
            advance(n)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
