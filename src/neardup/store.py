"""Spill files of per-document arrays, written where they are computed, read back by number.

Exact verification needs each candidate's shingle hashes again, long after the
document streamed past. Holding them would make memory grow with the corpus's
text, and sending them from worker processes back to the main one costs more
than computing them. So each process appends its arrays to its own file in a
shared temporary directory (:class:`SpillWriter`), returns only where they
went, and the main process records that per document (:class:`SpillStore`)
and reads arrays back with ``pread`` when it needs them. The OS page cache
keeps this fast while the files fit in memory.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._sketch import read_ranges
from .errors import OutputError, os_error_message

SPILL_PREFIX = "neardup-spill-"
_LOCK = ".lock"


def make_spill_dir(parent: str | None) -> tuple[str, int]:
    """A new spill directory under ``parent`` (the system's temp dir by default) and the fd
    of the lock that marks it live, after removing the spill directories of dead runs.

    A live run holds an ``flock`` on its directory's lock file (worker processes inherit
    it); the kernel drops it when the run dies, however it dies. So a spill directory whose
    lock can be taken belongs to nobody and is swept.
    """
    try:
        if parent is not None:
            os.makedirs(parent, exist_ok=True)
        base = parent if parent is not None else tempfile.gettempdir()
        sweep_spill_dirs(base)
        directory = tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=base)
        fd = os.open(os.path.join(directory, _LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise OutputError(os_error_message(err, "cannot make a temporary directory in") +
                          " (set --tmp-dir)") from None
    fcntl.flock(fd, fcntl.LOCK_EX)
    return directory, fd


class LiveTempDir:
    """A temporary directory of this run (:func:`make_spill_dir`): removed by
    :meth:`close`, or by the next run if this one dies first."""

    def __init__(self, parent: str | None) -> None:
        self.path, self._lock_fd = make_spill_dir(parent)

    def close(self) -> None:
        _remove_spill_dir(Path(self.path))
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def sweep_spill_dirs(base: str) -> int:
    """Remove the spill directories under ``base`` that no live run holds; how many."""
    swept = 0
    for candidate in Path(base).glob(SPILL_PREFIX + "*"):
        try:
            fd = os.open(candidate / _LOCK, os.O_RDWR)
        except OSError:
            continue  # not ours to judge (no lock file yet, or not readable)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live run
        finally:
            os.close(fd)
        _remove_spill_dir(candidate)
        swept += 1
    return swept


def _remove_spill_dir(directory: Path) -> None:
    """Remove a spill directory, its lock file last: should this process die part-way,
    what is left still has its lock file, so the next run sweeps it."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return  # gone already (another run swept it)
    for entry in entries:
        if entry.name != _LOCK:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    (directory / _LOCK).unlink(missing_ok=True)
    try:
        directory.rmdir()
    except OSError:
        pass  # not empty (a file appeared), or gone already


@dataclass(frozen=True)
class SpillRef:
    """Where a batch of arrays went: file name in the spill directory, first item's index."""

    file: str
    start: int


class SpillWriter:
    """Appends arrays to this process's own file in ``directory``. Picklable: a copy in a
    worker process opens its own file there on first use."""

    def __init__(self, directory: str, dtype: np.dtype | type) -> None:
        self.directory = directory
        self.dtype = np.dtype(dtype)
        self._fd: int | None = None
        self._pid = -1
        self._size = 0

    def __getstate__(self) -> dict:
        return {"directory": self.directory, "dtype": self.dtype, "_fd": None, "_pid": -1,
                "_size": 0}

    def append(self, flat: np.ndarray) -> SpillRef:
        if self._fd is None or self._pid != os.getpid():  # first use, or a forked copy
            self._pid = os.getpid()
            name = os.path.join(self.directory, f"spill-{self._pid}.bin")
            self._fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._size = 0
        data = np.ascontiguousarray(flat, dtype=self.dtype)
        write_all(self._fd, data)
        ref = SpillRef(f"spill-{self._pid}.bin", self._size)
        self._size += int(data.size)
        return ref


class SpillStore:
    """Index of spilled arrays by document number, and reads them back."""

    def __init__(self, dtype: np.dtype | type, directory: str | None = None) -> None:
        self.dtype = np.dtype(dtype)
        self._dir = LiveTempDir(directory)
        self.directory = self._dir.path
        self._files: dict[str, int] = {}
        self._parts: list[tuple[int, np.ndarray, np.ndarray]] = []  # (file, starts, counts)
        self._index: np.ndarray | None = None  # (documents, 3): file, start, count
        self._reader: SpillReader | None = None

    def writer(self) -> SpillWriter:
        return SpillWriter(self.directory, self.dtype)

    def register(self, ref: SpillRef, counts: np.ndarray) -> None:
        """Record the next documents: their arrays were written at ``ref``, ``counts`` long."""
        if ref.file not in self._files:
            self._files[ref.file] = len(self._files)
        counts = np.asarray(counts, dtype=np.int64)
        starts = ref.start + np.cumsum(counts) - counts  # a batch of none has none
        self._parts.append((self._files[ref.file], starts, counts))
        if self._reader is not None:  # it indexes fewer documents than there now are
            self._reader.close()
        self._index, self._reader = None, None

    def reader(self) -> SpillReader:
        """A picklable reader of every array registered so far (for worker processes)."""
        if self._index is None:
            self._index = np.concatenate(
                [np.stack([np.full(len(s), f), s, c], axis=1) for f, s, c in self._parts]
                or [np.empty((0, 3), np.int64)])
            names = sorted(self._files, key=self._files.__getitem__)
            self._reader = SpillReader(self.directory, self.dtype, names, self._index)
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._dir.close()


class SpilledColumns:
    """A matrix of ``dtype`` appended a batch of rows at a time, each column to its own
    file in ``directory`` (the caller's spill directory, removed with it), read back one
    column at a time: memory holds one column, not the matrix. Rows are gathered up to
    ``buffer_bytes`` and written a column at a time, a few large writes instead of one
    small write per column per batch."""

    def __init__(self, directory: str, name: str, dtype: np.dtype | type,
                 buffer_bytes: int = 16 << 20) -> None:
        self.directory, self.name, self.dtype = directory, name, np.dtype(dtype)
        self.buffer_bytes = buffer_bytes
        self._fds: list[int] = []
        self._pending: list[np.ndarray] = []
        self._pending_bytes = 0

    def append(self, rows: np.ndarray) -> None:
        self._pending.append(rows)
        self._pending_bytes += rows.size * self.dtype.itemsize
        if self._pending_bytes >= self.buffer_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        rows = np.concatenate(self._pending).astype(self.dtype, copy=False)
        self._pending, self._pending_bytes = [], 0
        if not self._fds:
            self._fds = [os.open(_column_path(self.directory, self.name, k),
                                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                         for k in range(rows.shape[1])]
        for k, fd in enumerate(self._fds):
            write_all(fd, np.ascontiguousarray(rows[:, k]))

    def reader(self) -> SpilledColumnsReader:
        self._flush()
        return SpilledColumnsReader(self.directory, self.name, self.dtype)

    def close(self) -> None:
        self._pending, self._pending_bytes = [], 0
        for fd in self._fds:
            os.close(fd)
        self._fds = []


@dataclass(frozen=True)
class SpilledColumnsReader:
    """Reads a column of :class:`SpilledColumns` from its file, in any process."""

    directory: str
    name: str
    dtype: np.dtype

    def column(self, k: int) -> np.ndarray:
        return np.fromfile(_column_path(self.directory, self.name, k), dtype=self.dtype)


class SpilledRows:
    """A matrix of fixed-width uint8 rows (the signature bytes of :mod:`neardup.sigfilter`)
    appended a batch at a time to one file in ``directory`` (the caller's spill directory,
    removed with it) and read back whole by :class:`SpilledRowsReader`."""

    def __init__(self, directory: str, name: str, buffer_bytes: int = 16 << 20) -> None:
        self.path = os.path.join(directory, f"{name}.bin")
        self.buffer_bytes = buffer_bytes
        self.width = 0
        self._fd: int | None = None
        self._pending: list[np.ndarray] = []
        self._pending_bytes = 0

    def append(self, rows: np.ndarray) -> None:
        self.width = rows.shape[1]
        if not len(rows):  # a batch with no parsable record
            return
        self._pending.append(np.ascontiguousarray(rows, dtype=np.uint8))
        self._pending_bytes += rows.size
        if self._pending_bytes >= self.buffer_bytes:
            self._flush()

    def _flush(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for rows in self._pending:
            write_all(self._fd, rows)
        self._pending, self._pending_bytes = [], 0

    def reader(self) -> SpilledRowsReader:
        self._flush()
        return SpilledRowsReader(self.path, self.width)

    def close(self) -> None:
        self._pending, self._pending_bytes = [], 0
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SpilledRowsReader:
    """The matrix of :class:`SpilledRows`, read into memory when first asked for, in the
    process that asks. Picklable (by path); a process forked after the read shares the
    pages. They are private anonymous memory advised to be huge pages: the rows are read
    at random, one or two 64-byte lines each, and with 4 KiB pages nearly every read
    missed the TLB (measured: 160 ns a pair of rows against 62 ns with huge pages)."""

    def __init__(self, path: str, width: int) -> None:
        self.path, self.width = path, width
        self._matrix: np.ndarray | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_matrix": None}

    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            size = os.path.getsize(self.path) if self.width else 0
            if not size:
                self._matrix = np.empty((0, max(self.width, 1)), dtype=np.uint8)
                return self._matrix
            area = mmap.mmap(-1, size)
            if hasattr(mmap, "MADV_HUGEPAGE"):
                area.madvise(mmap.MADV_HUGEPAGE)
            with open(self.path, "rb") as fh:
                if fh.readinto(area) != size:
                    raise OSError(f"{self.path}: shorter than it was written")
            self._matrix = np.frombuffer(area, dtype=np.uint8).reshape(-1, self.width)
        return self._matrix


def _column_path(directory: str, name: str, k: int) -> str:
    return os.path.join(directory, f"{name}-{k}.bin")


def write_all(fd: int, data: bytes | np.ndarray) -> None:
    """Write all of ``data`` (``os.write`` may write less than it is given); an array
    (contiguous) is written from where it lies, not copied first."""
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view):]


class SpillReader:
    """Reads spilled arrays by document number. Picklable: each process opens the files
    on first use."""

    def __init__(self, directory: str, dtype: np.dtype, files: list[str],
                 index: np.ndarray) -> None:
        self.directory, self.dtype, self.files, self.index = directory, dtype, files, index
        self._fds: list[int] = []
        self._pid = -1

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fds": [], "_pid": -1}

    def _files(self) -> list[int]:
        if self._pid != os.getpid():  # first use, or a copy in another process
            self._fds = [os.open(os.path.join(self.directory, n), os.O_RDONLY)
                         for n in self.files]
            self._pid = os.getpid()
        return self._fds

    def get(self, doc: int) -> np.ndarray:
        file, start, count = self.index[doc].tolist()
        size = self.dtype.itemsize
        return np.frombuffer(os.pread(self._files()[file], count * size, start * size),
                             dtype=self.dtype)

    def many(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The arrays of ``docs``, end to end, and where each starts (``len(docs) + 1``
        offsets): one ``pread`` an array in a compiled loop (:func:`read_ranges`), in file
        order. Read this way, the pages stay in the page cache and out of this process's
        memory, and a chunk of scattered documents costs about a microsecond each (read
        through a memory map, each one's page fault and copy in Python cost several)."""
        where = self.index[np.asarray(docs, dtype=np.int64)]
        offsets = np.zeros(len(where) + 1, dtype=np.int64)
        np.cumsum(where[:, 2], out=offsets[1:])
        values = np.empty(int(offsets[-1]), dtype=self.dtype)
        size = self.dtype.itemsize
        fds = self._files()
        for file in np.unique(where[:, 0]).tolist():
            mine = np.flatnonzero(where[:, 0] == file)
            order = mine[np.argsort(where[mine, 1], kind="stable")]
            # Ranges in file order, each written where its document's array goes.
            read_ranges(fds[file], where[order, 1] * size, where[order, 2] * size,
                        values, offsets[order] * size)
        return values, offsets

    def close(self) -> None:
        if self._pid == os.getpid():
            for fd in self._fds:
                os.close(fd)
        self._fds, self._pid = [], -1



class SpilledParts:
    """Numbered parts of (uint64 key, uint32 count) arrays appended to files in
    ``directory`` and read back one part at a time (a
    :class:`~neardup.reuse.candidates.PairParts`): memory holds one part, not all. Each
    process appends to files of its own, so workers can append at once; a part is read
    from all of them. Picklable."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def append(self, part: int, keys: np.ndarray, counts: np.ndarray) -> None:
        base = os.path.join(self.directory, f"pairs-{part}-{os.getpid()}")
        with open(base + ".keys", "ab") as fh:
            np.ascontiguousarray(keys, dtype=np.uint64).tofile(fh)
        with open(base + ".counts", "ab") as fh:
            np.ascontiguousarray(counts, dtype=np.uint32).tofile(fh)

    def take(self, part: int) -> tuple[np.ndarray, np.ndarray]:
        prefix = f"pairs-{part}-"
        bases = sorted(os.path.join(self.directory, name[:-len(".keys")])
                       for name in os.listdir(self.directory)
                       if name.startswith(prefix) and name.endswith(".keys"))
        keys = [np.fromfile(base + ".keys", dtype=np.uint64) for base in bases]
        counts = [np.fromfile(base + ".counts", dtype=np.uint32) for base in bases]
        for base in bases:
            os.unlink(base + ".keys")
            os.unlink(base + ".counts")
        return (np.concatenate(keys) if keys else np.empty(0, np.uint64),
                np.concatenate(counts) if counts else np.empty(0, np.uint32))
