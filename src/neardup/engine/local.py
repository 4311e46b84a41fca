"""Run a picklable task over a stream of batches, in this process or a pool of processes."""

from __future__ import annotations

import ctypes
import fcntl
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from ..errors import MemoryLimitError

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def release_freed_memory() -> None:
    """Hand memory freed by this process back to the OS (glibc keeps freed heap otherwise),
    so worker processes forked next do not start with it mapped. A no-op off glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def machine_memory() -> int:
    """Bytes of memory this process's machine (or its cgroup, if that is smaller) has."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                value = fh.read().strip()
        except OSError:
            continue
        if value.isdigit():
            total = min(total, int(value))
    return total


#: The share of the machine's memory a run may take unless told otherwise.
DEFAULT_MEMORY_SHARE = 0.75


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _process_memory(pid: int) -> int:
    """A process's proportional set size (pages shared with its forked siblings counted
    once among them), or its resident set size where the kernel gives no PSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def tree_memory() -> int:
    """Bytes held by this process and every process below it (its workers)."""
    todo, total = [os.getpid()], 0
    while todo:
        current = todo.pop()
        total += _process_memory(current)
        todo.extend(_children(current))
    return total


#: What a batch run past its memory limit can do.
RUN_ADVICE = ("raise --max-memory, run fewer --workers, or split the input (or run it on "
              "Spark: --engine spark)")
#: What `index add` past its memory limit can do.
INDEX_ADD_ADVICE = "raise --max-memory, or add with a smaller --batch-size"


class MemoryLimit:
    """Stops a run whose processes together hold more than ``limit`` bytes (default: 3/4
    of the machine's memory), with one line that says where and what to do, before the
    kernel would kill it without a word. Called with the name of the stage at each batch
    and each chunk of work; it measures (PSS over the process tree, a few milliseconds for
    a large process) at most every ``every`` seconds. Everything that grows with the pairs
    is made and tested in bounded chunks; what grows with the corpus is fixed per document
    (docs: How it works), so a run that passes the limit does so by its number of documents."""

    def __init__(self, limit: int | None = None, every: float = 1.0,
                 advice: str = RUN_ADVICE) -> None:
        """``advice``: what the message tells the user to do, after the limit."""
        self.limit = limit if limit is not None else int(machine_memory() * DEFAULT_MEMORY_SHARE)
        self.every, self.advice = every, advice
        self._last = float("-inf")

    def __call__(self, stage: str) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        used = tree_memory()
        if used > self.limit:
            raise MemoryLimitError(
                f"{stage}: this run holds {used / 2**20:,.0f} MiB, over --max-memory "
                f"{self.limit / 2**20:,.0f} MiB; {self.advice}")


class WorkerDied(RuntimeError):
    """A worker process ended without answering (killed, out of memory, crashed)."""


_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}
_STOP = None  # sent to a worker: no more items
_END = object()  # the end of the items to map


def _serve(task: Callable[[Any], Any], items: Connection, results: Connection,
           siblings: list[Connection]) -> None:
    """A worker's life: results of ``task`` for the items it is sent, in order. It ends
    when the main process says so or goes away (its pipes close)."""
    for end in siblings:  # see _Worker: closed, so pipes close when the main process goes
        end.close()
    # Ctrl-C reaches the whole process group. The main process alone decides what an
    # interrupt means (stop the workers, remove temporary files); a worker dying of it
    # would only muddle the message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)  # held by the parent's fork
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def receive() -> None:
        # Items are taken off the pipe as soon as they arrive, so the main process never
        # blocks sending one while this worker blocks sending a result (no deadlock).
        while True:
            try:
                item = items.recv()
            except (EOFError, OSError):
                item = _STOP
            inbox.put(item)
            if item is _STOP:
                return

    threading.Thread(target=receive, daemon=True).start()
    while (item := inbox.get()) is not _STOP:
        try:
            answer: tuple[bool, Any] = (True, task(item))
        except Exception as err:  # noqa: BLE001 - sent to the main process to raise there
            answer = (False, err)
        try:
            results.send(answer)
        except OSError:
            return  # the main process is gone
        except Exception:  # noqa: BLE001 - an unpicklable result or error
            results.send((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))


#: Linux's fcntl to resize a pipe (not named in the fcntl module before Python 3.10).
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
PIPE_BYTES = 1 << 20


def _widen_pipe(end: Connection) -> None:
    """Let a pipe hold a whole batch (1 MiB, Linux's default cap, instead of 64 KiB).

    A worker takes items off its pipe in a thread, which needs the GIL for each read;
    while the worker computes, that thread gets it only every switch interval (5 ms).
    Through a 64 KiB pipe a batch of news text takes several reads, so sending one cost
    more than sketching it and a second worker added almost nothing; through 1 MiB it
    takes one. Elsewhere (not Linux, or a lower cap) pipes stay as they are."""
    try:
        fcntl.fcntl(end.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self, ctx: Any, task: Callable[[Any], Any], earlier: list[_Worker]) -> None:
        items_in, self.items = ctx.Pipe(duplex=False)
        self.results, results_out = ctx.Pipe(duplex=False)
        for end in (self.items, self.results):
            _widen_pipe(end)
        # The main process's ends of this worker's pipes and of earlier workers': the fork
        # copies them into the worker, where, left open, they would keep pipes from closing.
        siblings = [self.items, self.results,
                    *(end for w in earlier for end in (w.items, w.results))]
        self.process = ctx.Process(target=_serve,
                                   args=(task, items_in, results_out, siblings), daemon=True)
        # Ctrl-C or SIGTERM arriving during the fork would be raised inside the interpreter's
        # at-fork callbacks, where it is swallowed: hold them until the fork is done.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
        try:
            self.process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        items_in.close()  # the worker's ends: closed here, so a dead worker reads as EOF
        results_out.close()
        self.in_flight = 0

    def send(self, item: Any) -> None:
        self.items.send(item)
        self.in_flight += 1

    def receive(self) -> Any:
        try:
            ok, value = self.results.recv()
        except (EOFError, OSError):
            self.process.join(1)
            code = self.process.exitcode
            how = f"killed by signal {-code}" if code and code < 0 else f"exit status {code}"
            raise WorkerDied(f"a worker process ended without finishing its work ({how}; "
                             "out of memory? try fewer --workers)") from None
        self.in_flight -= 1
        if not ok:
            raise value
        return value

    def stop(self, finished: bool) -> None:
        """Let the worker end (``finished``), or end it now (an error or an interrupt)."""
        if finished:
            try:
                self.items.send(_STOP)
            except OSError:
                pass
            self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.items.close()
        self.results.close()


class _Done:
    """A result the main process computed itself, waiting for its turn to be yielded."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class LocalEngine:
    """Maps a task over batches, results in input order.

    ``workers == 1`` runs in the calling process. Otherwise ``workers - 1`` processes each
    receive the task once (forked with it where the platform allows), and the calling
    process is the last worker: it keeps every process fed (up to two batches in flight
    each) and, rather than wait for the next result, computes a batch itself. So
    ``workers`` processes compute on ``workers`` cores, none of them only waiting, and the
    batches the calling process computes cost no copying between processes. A stream
    larger than memory flows through with bounded buffering. Should the consumer stop
    early, or anything raise (Ctrl-C included), the workers are killed at once: nothing
    waits on a worker that will never answer, and a worker that dies (out of memory) is
    an error, not a hang.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers and workers > 0 else default_workers()

    def map(self, task: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self.workers == 1:
            for item in items:
                yield task(item)
            return
        release_freed_memory()  # so the workers forked now do not start with it mapped
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        workers: list[_Worker] = []
        for _ in range(self.workers - 1):
            workers.append(_Worker(ctx, task, workers))
        finished = False
        try:
            # The worker of each batch in flight, or the result already computed, in order.
            holders: deque[_Worker | _Done] = deque()
            source = iter(items)
            more, computed_here = True, 0
            while True:
                while more and len(holders) < 2 * self.workers:
                    least = min(workers, key=lambda w: w.in_flight)
                    # A worker gets a second batch to queue once this process has taken
                    # one itself: so two batches are shared, and a worker never runs dry
                    # while this process computes.
                    feed = least.in_flight == 0 or (least.in_flight == 1 and computed_here)
                    if not feed and _ready(holders[0]):
                        break  # every worker is fed and a result is there to yield
                    item = next(source, _END)
                    if item is _END:
                        more = False
                        break
                    if feed:
                        least.send(item)
                        holders.append(least)
                    else:  # work instead of waiting
                        holders.append(_Done(task(item)))
                        computed_here += 1
                if not holders:
                    break
                head = holders.popleft()
                yield head.value if isinstance(head, _Done) else head.receive()
            finished = True
        finally:
            for worker in workers:
                worker.stop(finished)


def _ready(holder: _Worker | _Done) -> bool:
    """Whether the result of this batch can be had without waiting."""
    return isinstance(holder, _Done) or holder.results.poll()
