"""A spill file of per-document arrays, read back by document number.

Exact verification needs each candidate's shingle hashes again, long after the
document streamed past. Holding them would make memory grow with the corpus's
text; instead they are appended to an unnamed temporary file (the OS page
cache keeps it fast while it fits) and read back with ``pread``.
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict

import numpy as np


class ArrayStore:
    """Append-only store of one numpy array per document, all of one dtype."""

    def __init__(self, dtype: np.dtype | type, directory: str | None = None,
                 cache_size: int = 4096) -> None:
        self.dtype = np.dtype(dtype)
        self._file = tempfile.TemporaryFile(prefix="neardup-", dir=directory)
        self._fd = self._file.fileno()
        self._offsets: list[np.ndarray] = []  # per batch: start offsets (in items)
        self._counts: list[np.ndarray] = []
        self._size = 0  # items written
        self._index: tuple[np.ndarray, np.ndarray] | None = None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def append_batch(self, flat: np.ndarray, counts: np.ndarray) -> None:
        """Add documents whose arrays are ``flat`` cut into pieces of ``counts``."""
        flat = np.ascontiguousarray(flat, dtype=self.dtype)
        os.pwrite(self._fd, flat.tobytes(), self._size * self.dtype.itemsize)
        starts = self._size + np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        self._offsets.append(starts)
        self._counts.append(np.asarray(counts, dtype=np.int64))
        self._size += int(flat.size)
        self._index = None

    def __len__(self) -> int:
        return sum(len(c) for c in self._counts)

    def get(self, doc: int) -> np.ndarray:
        """The array of document ``doc`` as written."""
        if self._index is None:
            self._index = (np.concatenate(self._offsets or [np.empty(0, np.int64)]),
                           np.concatenate(self._counts or [np.empty(0, np.int64)]))
        start, count = int(self._index[0][doc]), int(self._index[1][doc])
        size = self.dtype.itemsize
        data = os.pread(self._fd, count * size, start * size)
        return np.frombuffer(data, dtype=self.dtype)

    def get_cached(self, doc: int) -> np.ndarray:
        """:meth:`get` through a small cache (least recently used out): candidates come in
        runs that share a document."""
        cached = self._cache.get(doc)
        if cached is not None:
            self._cache.move_to_end(doc)
            return cached
        values = self.get(doc)
        self._cache[doc] = values
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return values

    def close(self) -> None:
        self._file.close()
