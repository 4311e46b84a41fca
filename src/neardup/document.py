"""What flows through the pipeline: documents, and records that could not be read."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from: a file (or ``-`` for standard input) and its place in it.

    ``record`` is the 1-based line number in JSONL, the 0-based row in Parquet, the
    1-based response record in WARC, and ``None`` for a text or HTML file (the file is the
    record).
    """

    path: str
    record: int | None = None

    def __str__(self) -> str:
        if self.record is None:
            return self.path
        name = self.path.lower()
        unit = ("row" if name.endswith(".parquet") else
                "record" if name.endswith((".warc", ".warc.gz")) else "line")
        return f"{self.path}:{unit} {self.record}"


class Sources(Sequence["Source | None"]):
    """Where each of many documents was read from, held as arrays: a table of paths, and
    per document a path number and a record number (12 bytes, not a :class:`Source`
    object of about 90). Indexing gives a :class:`Source` (or None: not known)."""

    def __init__(self) -> None:
        self._paths: list[str] = []
        self._path_numbers: dict[str, int] = {}
        self._path = array("i")  # -1: no source
        self._record = array("q")  # -1: no record number (the file is the record)

    def append(self, source: Source | None) -> None:
        if source is None:
            self._path.append(-1)
            self._record.append(-1)
            return
        number = self._path_numbers.get(source.path)
        if number is None:
            number = self._path_numbers[source.path] = len(self._paths)
            self._paths.append(source.path)
        self._path.append(number)
        self._record.append(-1 if source.record is None else source.record)

    def extend(self, sources: Iterable[Source | None]) -> None:
        for source in sources:
            self.append(source)

    def __len__(self) -> int:
        return len(self._path)

    @overload
    def __getitem__(self, i: int) -> Source | None: ...

    @overload
    def __getitem__(self, i: slice) -> list[Source | None]: ...

    def __getitem__(self, i: int | slice) -> Source | None | list[Source | None]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        path = self._path[i]
        if path < 0:
            return None
        record = self._record[i]
        return Source(self._paths[path], None if record < 0 else record)


@dataclass(slots=True)
class Document:
    """One document: a stable id, its text, where it was read from, and its size there.

    ``size`` is the bytes the record took in its input (for progress), 0 if unknown.
    """

    id: str
    text: str
    source: Source | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    size: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that cannot be compared, and why; it is reported, never silently dropped."""

    source: Source
    reason: str
    id: str | None = None
    size: int = 0

    def message(self) -> str:
        where = str(self.source) + (f" (id {self.id!r})" if self.id is not None else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A record read but not yet parsed (a JSONL line).

    Parsing is deferred so that it runs where the rest of the per-document work runs,
    in a worker process, instead of in the one process that reads the input.
    ``parse`` is picklable (a module-level function or a partial of one).
    """

    source: Source
    data: bytes
    parse: Callable[[bytes, Source], Document | Rejected]

    @property
    def size(self) -> int:
        return len(self.data)

    def parsed(self) -> Document | Rejected:
        return self.parse(self.data, self.source)


_NOWHERE = Source("<worker>")


class RecordBatch:
    """Records on their way to a worker, kept by column: pickling one object per record
    costs ten times more than pickling these lists (23 against 2 µs a record, measured).

    ``items[i]`` is a document's text, or an unparsed record's raw data (``ids[i]`` is then
    None and ``parsers[i]`` parses it).
    """

    __slots__ = ("items", "ids", "parsers", "metas")

    def __init__(self, records: list[Document | Unparsed]) -> None:
        self.items = [r.data if isinstance(r, Unparsed) else r.text for r in records]
        self.ids = [None if isinstance(r, Unparsed) else r.id for r in records]
        self.parsers = [r.parse if isinstance(r, Unparsed) else None for r in records]
        self.metas = [r.meta if isinstance(r, Document) else None for r in records]

    def __len__(self) -> int:
        return len(self.items)

    def __getstate__(self) -> tuple:
        return self.items, self.ids, self.parsers, self.metas

    def __setstate__(self, state: tuple) -> None:
        self.items, self.ids, self.parsers, self.metas = state

    def parsed(self) -> Iterator[tuple[int, Document | Rejected]]:
        """Each record's position in the batch and what it parses to (its source is
        only known to the sender, so a rejection here carries a placeholder)."""
        for i, (item, doc_id, parse, meta) in enumerate(
                zip(self.items, self.ids, self.parsers, self.metas)):
            if doc_id is None:
                yield i, parse(item, _NOWHERE)
            else:
                yield i, Document(doc_id, item, None, meta)
