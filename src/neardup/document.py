"""What flows through the pipeline: documents, and records that could not be read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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
