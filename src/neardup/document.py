"""What flows through the pipeline: documents, and records that could not be read."""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from .errors import InputError


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

    @classmethod
    def of_file(cls, path: str, records: np.ndarray) -> Sources:
        """Records of one file, by record number."""
        sources = cls()
        sources._paths, sources._path_numbers = [path], {path: 0}
        sources._path.frombytes(np.zeros(len(records), np.int32).tobytes())
        sources._record.frombytes(np.asarray(records, np.int64).tobytes())
        return sources

    def extend(self, sources: Iterable[Source | None]) -> None:
        if not isinstance(sources, Sources):
            for source in sources:
                self.append(source)
            return
        numbers = np.empty(len(sources._paths) + 1, np.int32)
        numbers[-1] = -1  # no source stays none
        for k, path in enumerate(sources._paths):
            number = self._path_numbers.get(path)
            if number is None:
                number = self._path_numbers[path] = len(self._paths)
                self._paths.append(path)
            numbers[k] = number
        self._path.frombytes(numbers[np.frombuffer(sources._path, np.int32)].tobytes())
        self._record.extend(sources._record)

    def __len__(self) -> int:
        return len(self._path)

    def records_by_path(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """Record numbers (-1: the file is the record) of the documents at ``indices``,
        by path, in the order given; documents with no source left out."""
        paths = np.frombuffer(self._path, np.int32)[indices]
        records = np.frombuffer(self._record, np.int64)[indices]
        return {self._paths[p]: records[paths == p] for p in np.unique(paths[paths >= 0]).tolist()}

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


@dataclass(frozen=True, slots=True)
class LineBlock:
    """Consecutive JSONL records of one input, read but not yet parsed: the lines as read
    (``data``), and per record (a line that is not blank) its line number (``lines``,
    1-based) and where it starts and ends in ``data``.

    The reading process only cuts a file into blocks; the workers parse the lines, so a
    block costs the reader what one record would (see :class:`Unparsed`). It travels to
    them as one string of bytes: pickling a list of lines costs several times more.
    """

    path: str
    data: bytes
    lines: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    parse: Callable[[bytes, Source], Document | Rejected]
    next_line: int = 0  # the number of the line after the block (0: not known)

    @classmethod
    def of_lines(cls, path: str, data: bytes, first: int,
                 parse: Callable[[bytes, Source], Document | Rejected]) -> LineBlock:
        """The records of ``data`` (whole lines), its first line numbered ``first``."""
        raw = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(raw == _NEWLINE)  # where each line ends (its newline)
        if len(raw) and raw[-1] != _NEWLINE:
            ends = np.r_[ends, len(raw)]  # a last line with no newline
        starts = np.r_[0, ends[:-1] + 1].astype(np.int64) if len(ends) else ends
        count = len(ends)
        lines = np.arange(first, first + count, dtype=np.int64)
        # A blank line (empty, or only ASCII whitespace as bytes.strip() sees it) is no
        # record. Only a line that starts with whitespace can be one: check those alone.
        maybe = np.flatnonzero((starts == ends) | _ASCII_SPACE[raw[np.minimum(
            starts, len(raw) - 1)]]) if len(raw) else starts
        if len(maybe):
            blank = [k for k in maybe.tolist() if not data[starts[k]:ends[k]].strip()]
            if blank:
                record = np.ones(len(ends), dtype=bool)
                record[blank] = False
                lines, starts, ends = lines[record], starts[record], ends[record]
        return cls(path, data, lines, starts, ends.astype(np.int64), parse, first + count)

    def __len__(self) -> int:
        return len(self.lines)

    def numbered(self, lines_before: int) -> LineBlock:
        """This block without its data (what the reading process books of a
        :class:`FileRange` a worker read), its line numbers moved on by ``lines_before``:
        the lines of the file before the range."""
        return LineBlock(self.path, b"", self.lines + lines_before, self.starts, self.ends,
                         self.parse, self.next_line + lines_before)

    @property
    def size(self) -> int:
        return len(self.data)

    def split(self, size: int) -> Iterator[LineBlock]:
        """This block as blocks of at most ``size`` records."""
        if len(self) <= size:
            yield self
            return
        for start in range(0, len(self), size):
            end = min(start + size, len(self))
            begin, stop = int(self.starts[start]), int(self.ends[end - 1])
            yield LineBlock(self.path, self.data[begin:stop], self.lines[start:end],
                            self.starts[start:end] - begin, self.ends[start:end] - begin,
                            self.parse)

    def source(self, i: int) -> Source:
        return Source(self.path, int(self.lines[i]))

    def sources(self, keep: np.ndarray | None = None) -> Sources:
        """The records' sources (those numbered in ``keep``)."""
        return Sources.of_file(self.path, self.lines if keep is None else self.lines[keep])

    def records(self) -> Iterator[Document | Rejected]:
        data, path, parse = self.data, self.path, self.parse
        for number, start, end in zip(self.lines.tolist(), self.starts.tolist(),
                                      self.ends.tolist()):
            yield parse(data[start:end], Source(path, number))


@dataclass(frozen=True, slots=True)
class FileRange:
    """Whole lines of a plain JSONL file, bytes ``start`` to ``stop``, not read yet.

    Sent to a worker in place of the lines: the worker reads them itself (:meth:`load`),
    so reading runs in every worker at once and no text is copied between processes.
    Where its lines stand in the file is known only once the ranges before it are read:
    :meth:`load` numbers them from 1 within the range, and the process that gets the
    ranges back in order numbers them in the file (:meth:`LineBlock.numbered`).
    ``opens`` marks a file's first range (its numbering starts again at 1); ``file`` is
    the file's identity when it was cut (device and inode), so that a file replaced or
    removed since is an error, not other lines read at these offsets.
    """

    path: str
    start: int
    stop: int
    parse: Callable[[bytes, Source], Document | Rejected]
    opens: bool = False
    file: tuple[int, int] = (0, 0)

    @property
    def size(self) -> int:
        return self.stop - self.start

    def load(self) -> LineBlock:
        """The range's lines as read now (fewer, should the file have shrunk since)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            raise InputError(f"{self.path}: removed while it was being read; put it back "
                             "and run again") from None
        try:
            found = os.fstat(fd)
            if (found.st_dev, found.st_ino) != self.file:
                raise InputError(f"{self.path}: replaced by another file while it was being "
                                 "read; run again once it stays put")
            data = os.pread(fd, self.size, self.start)
        finally:
            os.close(fd)
        return LineBlock.of_lines(self.path, data, 1, self.parse)


_NEWLINE = ord("\n")
#: The bytes ``bytes.strip()`` removes (and ``bytes.isspace()`` accepts), by value.
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[list(b" \t\n\r\x0b\x0c")] = True

#: A record as readers give it: parsed, rejected, or still to be parsed (one, or a block).
RawRecord = Document | Rejected | Unparsed | LineBlock | FileRange

_NOWHERE = Source("<worker>")


class RecordBatch:
    """Records on their way to a worker, kept by column: pickling one object per record
    costs ten times more than pickling these lists (23 against 2 µs a record, measured).

    ``items[i]`` is a document's text, or an unparsed record's raw data (``ids[i]`` is then
    None and ``parsers[i]`` parses it). A :class:`LineBlock` or :class:`FileRange`
    travels as it is.
    """

    __slots__ = ("items", "ids", "parsers", "metas", "block")

    def __init__(self, records: list[Document | Unparsed] | LineBlock | FileRange) -> None:
        self.block = records if isinstance(records, (LineBlock, FileRange)) else None
        alone = [] if self.block is not None else records  # records sent one by one
        self.items = [r.data if isinstance(r, Unparsed) else r.text for r in alone]
        self.ids = [None if isinstance(r, Unparsed) else r.id for r in alone]
        self.parsers = [r.parse if isinstance(r, Unparsed) else None for r in alone]
        self.metas = [r.meta if isinstance(r, Document) else None for r in alone]

    def __len__(self) -> int:
        if isinstance(self.block, FileRange):
            raise TypeError("the records of a FileRange are counted once it is read")
        return len(self.block) if self.block is not None else len(self.items)

    def __getstate__(self) -> tuple:
        return self.items, self.ids, self.parsers, self.metas, self.block

    def __setstate__(self, state: tuple) -> None:
        self.items, self.ids, self.parsers, self.metas, self.block = state

    def documents(self) -> tuple[list[Document], list[int],
                                 list[tuple[int, str, str | None]]]:
        """The records that parsed and their positions in the batch, and ``(position,
        reason, id)`` of those that did not (what a stage's task sends back to be booked:
        :meth:`neardup.intake.Intake.absorb`)."""
        docs: list[Document] = []
        positions: list[int] = []
        failed: list[tuple[int, str, str | None]] = []
        for i, record in self.parsed():
            if isinstance(record, Rejected):
                failed.append((i, record.reason, record.id))
            else:
                docs.append(record)
                positions.append(i)
        return docs, positions, failed

    def parsed(self) -> Iterator[tuple[int, Document | Rejected]]:
        """Each record's position in the batch and what it parses to (a record sent
        alone has its source known only to the sender: a rejection of one here carries a
        placeholder)."""
        if isinstance(self.block, FileRange):
            raise TypeError("a FileRange is read where its batch runs: send it through "
                            "intake.map_batches")
        if self.block is not None:
            yield from enumerate(self.block.records())
            return
        for i, (item, doc_id, parse, meta) in enumerate(
                zip(self.items, self.ids, self.parsers, self.metas)):
            if doc_id is None:
                yield i, parse(item, _NOWHERE)
            else:
                yield i, Document(doc_id, item, None, meta)


#: What the library's functions take as documents: strings (ids ``"0"``, ``"1"``, ...),
#: ``(id, text)`` pairs, :class:`Document` objects, or a mapping of id to text.
Docs = Iterable[str] | Iterable[tuple[str, str]] | Iterable[Document] | Mapping[str, str]


def as_documents(docs: Docs) -> Iterator[Document]:
    """Documents from strings (ids ``"0"``, ``"1"``, ...), ``(id, text)`` pairs, a mapping
    of id to text, or :class:`Document` objects."""
    items = docs.items() if isinstance(docs, Mapping) else docs
    for n, item in enumerate(items):
        if isinstance(item, Document):
            yield item
        elif isinstance(item, str):
            yield Document(str(n), item, Source("<memory>", n))
        else:
            doc_id, text = item
            yield Document(str(doc_id), text, Source("<memory>", n))
