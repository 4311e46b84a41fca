"""The index's storage: one SQLite database in WAL mode.

Tables:

- ``settings``: what the index was created with (JSON by name), fixed for its life.
- ``documents``: one row a document: its number (``doc``, the rowid), id, a hash of its
  text (to tell a repeated addition from a conflicting one), its exact key (128 bits of
  its token sequence), token count, band keys and shingle set (the verification
  payload) and its text (zstd-compressed UTF-8, to show what a query matched), as blobs.
- ``bands``: ``(key, doc)`` for every band key of every document, the key salted with its
  band so one table serves all bands; a ``WITHOUT ROWID`` B-tree, so the documents of a key
  are one range read.
- ``signatures``: each document's signature bytes (:mod:`neardup.sigfilter`), in a table
  of their own so a batch's candidates are tested without reading the large rows above.
  An index made before this table has none for its older documents: their candidates
  skip the test and are all verified.

Why SQLite: it ships with Python, a transaction survives a killed process (WAL, and
``synchronous=FULL`` so a committed addition survives a power cut too), readers in other
processes see the last commit while one writer works, and ``PRAGMA integrity_check``
verifies the file. One writer at a time: a second waits for the first (up to
``busy_seconds``), then fails with a message.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zstandard

from ..errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    text_hash BLOB NOT NULL,
    key BLOB NOT NULL,
    ntokens INTEGER NOT NULL,
    bands BLOB NOT NULL,
    shingles BLOB NOT NULL,
    text BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS signatures (doc INTEGER PRIMARY KEY, bytes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS bands (
    key INTEGER NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (key, doc)
) WITHOUT ROWID;
"""

#: Bytes a database page holds: a document's row (about 5 KB with its shingle set and text)
#: fits in one, and the band B-tree is shallower.
PAGE_SIZE = 16384

#: Parameters a statement takes at most (SQLite's limit is 32,766 since 3.32).
_CHUNK = 900


class IndexBusy(InputError):
    """Another process is writing the index."""


class SqliteStore:
    """The tables above, opened for reading or for writing."""

    def __init__(self, path: str | Path, create: bool = False, readonly: bool = False,
                 busy_seconds: float = 60.0) -> None:
        self.path = Path(path)
        if create:
            if self.path.exists():
                raise InputError(f"{self.path}: already exists; choose a new name, or remove "
                                 "it to start again")
        elif not self.path.is_file():
            raise InputError(f"{self.path}: no index here; create one with `neardup index "
                             "create`")
        uri = self.path.resolve().as_uri() + ("?mode=ro" if readonly else "")
        try:
            self.db = sqlite3.connect(uri, uri=True, timeout=busy_seconds,
                                      isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA busy_timeout = %d" % int(busy_seconds * 1000))
            # Band keys arrive in random order: a larger page cache keeps the B-tree's inner
            # pages in memory as it grows, and reads map the file instead of copying pages.
            self.db.execute("PRAGMA cache_size = -131072")  # 128 MiB
            self.db.execute("PRAGMA mmap_size = 1073741824")
            if create:  # before the first table: rows of a few KB fit a page
                self.db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            if not readonly:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = FULL")
                self.db.executescript(SCHEMA)
            self.db.execute("SELECT count(*) FROM settings").fetchone()
            self._has_signatures = self.db.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'signatures'").fetchone() is not None
        except sqlite3.DatabaseError as err:
            raise InputError(f"{self.path}: not a neardup index ({err})") from None

    # -- settings -------------------------------------------------------------------------

    def write_settings(self, settings: dict[str, Any]) -> None:
        with self.transaction():
            self.db.executemany("INSERT INTO settings VALUES (?, ?)",
                                [(k, json.dumps(v)) for k, v in settings.items()])

    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT name, value FROM settings")}

    # -- reading --------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM documents").fetchone()[0])

    def known(self, ids: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        """The number and text hash of each of ``ids`` the index holds."""
        found: dict[str, tuple[int, bytes]] = {}
        for part in _chunks(list(ids)):
            for doc_id, doc, digest in self.db.execute(
                    f"SELECT id, doc, text_hash FROM documents WHERE id IN ({_marks(part)})",
                    part):
                found[doc_id] = (doc, digest)
        return found

    def documents_of_keys(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(key, doc)`` for every stored document under any of ``keys`` (salted band
        keys, int64)."""
        unique = np.unique(keys).tolist()
        got: list[tuple[int, int]] = []
        for part in _chunks(unique):
            got.extend(self.db.execute(
                f"SELECT key, doc FROM bands WHERE key IN ({_marks(part)})", part))
        if not got:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        table = np.array(got, dtype=np.int64)
        return table[:, 0], table[:, 1]

    def payloads(self, docs: Iterable[int]) -> dict[int, tuple[bytes, bytes, str]]:
        """``doc -> (exact key, shingles, id)`` for stored documents."""
        out: dict[int, tuple[bytes, bytes, str]] = {}
        for part in _chunks(sorted(set(docs))):
            for doc, key, shingles, doc_id in self.db.execute(
                    "SELECT doc, key, shingles, id FROM documents "
                    f"WHERE doc IN ({_marks(part)})", part):
                out[doc] = (key, shingles, doc_id)
        return out

    def signatures(self, docs: Iterable[int]) -> dict[int, bytes]:
        """``doc -> signature bytes`` for the stored documents that have them."""
        out: dict[int, bytes] = {}
        if not self._has_signatures:  # an older index, opened read-only
            return out
        for part in _chunks(sorted(set(docs))):
            out.update(self.db.execute(
                f"SELECT doc, bytes FROM signatures WHERE doc IN ({_marks(part)})", part))
        return out

    def get(self, doc_id: str) -> tuple[int, int] | None:
        """``(doc, ntokens)`` of a stored id, or None."""
        row = self.db.execute("SELECT doc, ntokens FROM documents WHERE id = ?",
                              (doc_id,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def text(self, doc_id: str) -> str | None:
        """The stored text of an id, or None."""
        row = self.db.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            return None
        return zstandard.ZstdDecompressor().decompress(row[0]).decode("utf-8", "surrogatepass")

    def size_on_disk(self) -> int:
        return sum(os.path.getsize(p) for p in (self.path, Path(f"{self.path}-wal"))
                   if p.exists())

    def integrity(self) -> str:
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])

    # -- writing --------------------------------------------------------------------------

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    def insert(self, rows: list[tuple[str, bytes, bytes, int, bytes, bytes, str]],
               salted: np.ndarray, signatures: np.ndarray) -> list[int]:
        """Store documents (``id, text_hash, key, ntokens, bands, shingles, text``) with
        their salted band keys and their signature bytes (a row of ``salted`` and of
        ``signatures`` a document); returns their numbers. Call inside :meth:`transaction`."""
        cursor = self.db.cursor()
        # Numbers follow the last one (the write lock is held), so one statement inserts all.
        last = cursor.execute("SELECT coalesce(max(doc), 0) FROM documents").fetchone()[0]
        docs = list(range(last + 1, last + 1 + len(rows)))
        compress = zstandard.ZstdCompressor(level=1).compress  # 8x faster than zlib here
        cursor.executemany(
            "INSERT INTO documents (doc, id, text_hash, key, ntokens, bands, shingles, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((doc, *row, compress(text.encode("utf-8", "surrogatepass")))
             for doc, (*row, text) in zip(docs, rows)))
        cursor.executemany("INSERT INTO signatures VALUES (?, ?)",
                           zip(docs, (row.tobytes() for row in signatures)))
        # Band rows in key order: each B-tree page is visited once a batch, not at random.
        keys = salted.ravel()
        doc_column = np.repeat(np.array(docs, dtype=np.int64), salted.shape[1])
        order = np.argsort(keys, kind="stable")
        cursor.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?)",
                           zip(keys[order].tolist(), doc_column[order].tolist()))
        return docs

    def remove(self, doc_ids: Sequence[str]) -> list[str]:
        """Remove documents by id (inside :meth:`transaction`); returns the ids removed."""
        removed = []
        for doc_id in doc_ids:
            row = self.db.execute("SELECT doc, bands FROM documents WHERE id = ?",
                                  (doc_id,)).fetchone()
            if row is None:
                continue
            doc, bands = row
            keys = np.frombuffer(bands, dtype=np.int64).tolist()
            self.db.executemany("DELETE FROM bands WHERE key = ? AND doc = ?",
                                [(k, doc) for k in keys])
            self.db.execute("DELETE FROM documents WHERE doc = ?", (doc,))
            self.db.execute("DELETE FROM signatures WHERE doc = ?", (doc,))
            removed.append(doc_id)
        return removed

    def close(self) -> None:
        self.db.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` (the write lock, waiting for another writer up to the busy
    timeout) ... ``COMMIT``, or ``ROLLBACK`` on an error."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def __enter__(self) -> SqliteStore:
        try:
            self.store.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            if "locked" in str(err) or "busy" in str(err):
                raise IndexBusy(f"{self.store.path}: another process is writing this index; "
                                "run again when it has finished") from None
            raise
        return self.store

    def __exit__(self, kind: object, *rest: object) -> None:
        self.store.db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))
