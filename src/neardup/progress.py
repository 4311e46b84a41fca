"""Progress for long runs: a bar with documents/s and ETA on a terminal, silence elsewhere."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from tqdm import tqdm

from .document import Document, FileRange, LineBlock, Rejected, Unparsed

T = TypeVar("T")


def progress_wanted() -> bool:
    """True when standard error is a terminal and we are not in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def bar(total: int, desc: str, enabled: bool | None = None, unit: str = "it"
        ) -> Iterator[Callable[[int], None]]:
    """A bar of ``total`` steps (rate and ETA) on a terminal; yields the function that
    advances it (a no-op elsewhere), for work that reports its own progress."""
    if enabled is None:
        enabled = progress_wanted()
    if not enabled:
        yield lambda n: None
        return
    with tqdm(total=total, desc=desc, file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
              unit=unit, unit_scale=True) as shown:
        yield shown.update


Record = TypeVar("Record", Document, Rejected, Unparsed, LineBlock, FileRange)


def reporter(enabled: bool | None = None) -> Callable[..., Any]:
    """The :class:`~neardup.engine.base.Reporter` that draws :func:`bar` s (on a terminal
    only, unless ``enabled`` says otherwise), for the algorithm modules to report through."""
    def report(total: int, desc: str, unit: str = "it") -> Any:
        return bar(total, desc, enabled, unit)
    return report


class Tracked(Generic[Record]):
    """Records passed through a bar that advances by input bytes (ETA) and counts
    documents: those passed, or as ``count`` tells (the documents booked so far, for
    records such as a :class:`FileRange` that are counted only once a worker reads them).
    With ``count``, use it as a context manager: the bar ends, with the final count, when
    the consumer is done, not when the last record is handed out (workers are still
    reading then)."""

    def __init__(self, records: Iterable[Record], total_bytes: int | None,
                 enabled: bool | None, desc: str, count: Callable[[], int] | None) -> None:
        self._records, self._total, self._desc, self._count = records, total_bytes, desc, count
        self._enabled = progress_wanted() if enabled is None else enabled
        self._bar: tqdm | None = None
        self._docs = 0

    def __iter__(self) -> Iterator[Record]:
        if not self._enabled:
            yield from self._records
            return
        self._bar = bar = tqdm(total=self._total, unit="B", unit_scale=True, desc=self._desc,
                               file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
        shown_at = pending = 0
        for record in self._records:
            self._docs += (len(record) if isinstance(record, LineBlock)
                           else 0 if isinstance(record, FileRange) else 1)
            pending += record.size
            if self._docs >= shown_at + 1000 or pending >= 1 << 22:
                bar.update(pending)
                pending, shown_at = 0, self._docs
                bar.set_postfix_str(_rate(bar, self._counted()), refresh=False)
            yield record
        bar.update(pending)
        if self._count is None:
            self.close()

    def _counted(self) -> int:
        return self._count() if self._count is not None else self._docs

    def close(self) -> None:
        """End the bar with the final count (again: nothing)."""
        if self._bar is not None:
            self._bar.set_postfix_str(_rate(self._bar, self._counted()))
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Tracked[Record]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(records: Iterable[Record], total_bytes: int | None,
          enabled: bool | None = None, desc: str = "reading",
          count: Callable[[], int] | None = None) -> Tracked[Record]:
    """``records`` through a progress bar (:class:`Tracked`), on a terminal only unless
    ``enabled`` says otherwise."""
    return Tracked(records, total_bytes, enabled, desc, count)


def _rate(bar: tqdm, docs: int) -> str:
    if not docs:
        return ""
    elapsed = bar.format_dict.get("elapsed") or 0
    return f"{docs:,} docs, {docs / elapsed:,.0f} docs/s" if elapsed else f"{docs:,} docs"
