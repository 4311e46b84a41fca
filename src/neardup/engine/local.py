"""Run a picklable task over a stream of batches, in this process or a pool of processes."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_task: Callable[[Any], Any] | None = None


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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


def release_freed_memory() -> None:
    """Hand memory freed by this process back to the OS (glibc keeps freed heap otherwise),
    so worker processes forked next do not start with it mapped. A no-op off glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _install(task: Callable[[Any], Any]) -> None:
    global _task
    _task = task
    # Ctrl-C reaches the whole process group. The main process alone decides what an
    # interrupt means (stop the pool, remove temporary files); a worker dying of it would
    # lose its batch and leave the main process waiting for it for ever.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run(item: Any) -> Any:
    assert _task is not None
    return _task(item)


class LocalEngine:
    """Maps a task over batches, results in input order.

    ``workers == 1`` runs in the calling process. Otherwise a pool of
    ``workers`` processes each receives the task once; at most
    ``2 * workers`` batches are in flight, so a stream larger than memory
    flows through with bounded buffering.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers and workers > 0 else default_workers()

    def map(self, task: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self.workers == 1:
            for item in items:
                yield task(item)
            return
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        with ctx.Pool(self.workers, initializer=_install, initargs=(task,)) as pool:
            pending: deque = deque()
            for item in items:
                pending.append(pool.apply_async(_run, (item,)))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
