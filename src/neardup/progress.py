"""Progress for long runs: a bar with documents/s and ETA on a terminal, silence elsewhere."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

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


def track(records: Iterable[Record], total_bytes: int | None,
          enabled: bool | None = None, desc: str = "reading",
          count: Callable[[], int] | None = None) -> Iterator[Record]:
    """Pass records through, advancing a bar by input bytes (ETA) and counting documents:
    those passed, or as ``count`` tells (documents read so far, for records such as a
    :class:`FileRange` that are counted only once a worker reads them)."""
    if enabled is None:
        enabled = progress_wanted()
    if not enabled:
        yield from records
        return
    with tqdm(total=total_bytes, unit="B", unit_scale=True, desc=desc, file=sys.stderr,
              dynamic_ncols=True, mininterval=0.5) as bar:
        docs = shown_at = 0
        pending = 0
        for record in records:
            docs += (len(record) if isinstance(record, LineBlock)
                     else 0 if isinstance(record, FileRange) else 1)
            pending += record.size
            if docs >= shown_at + 1000 or pending >= 1 << 22:
                bar.update(pending)
                pending, shown_at = 0, docs
                bar.set_postfix_str(_rate(bar, count() if count else docs), refresh=False)
            yield record
        bar.update(pending)
        bar.set_postfix_str(_rate(bar, count() if count else docs))


def _rate(bar: tqdm, docs: int) -> str:
    if not docs:
        return ""
    elapsed = bar.format_dict.get("elapsed") or 0
    return f"{docs:,} docs, {docs / elapsed:,.0f} docs/s" if elapsed else f"{docs:,} docs"
