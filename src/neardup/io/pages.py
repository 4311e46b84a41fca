"""Pages extracted in a run's first pass, kept on disk for its second.

A run that learns boilerplate reads its inputs twice: once to learn, once to clean and
compare. For JSONL input the second read is cheap; for HTML and WARC input it would run the
extractor again, and extraction is most of the cost of a page (about 60 ms, against a few
for the rest). So the first pass writes what each page extracted to (its document, or why
it was rejected) to an anonymous temporary file, in reading order, and the second pass takes
each page's result from there instead of extracting it again.

The file holds one zlib-compressed block of JSON lines per batch (news text compresses about
3x, so a page costs about 2 KB of temporary disk); it lives as long as the
:class:`ParsedPages` object (an unlinked temporary file: nothing is left behind by a crash).
If the second pass meets a page the file does not hold next (an input changed between the
passes), it stops using the file and extracts again from there on, so results are never
mixed up; if the file cannot be written (a full disk), the second pass extracts every page
again, as it would without it.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from functools import partial
from typing import IO

import orjson

from ..document import Document, RawRecord, Rejected, Source, Unparsed
from .html import parse_html


def extracts_page(parse: object) -> bool:
    """Whether a record's parser is HTML extraction (an HTML file or a WARC response)."""
    return getattr(parse, "func", None) is parse_html


def is_page(record: object) -> bool:
    """Whether ``record`` is an HTML page (or WARC response) still to be extracted."""
    return isinstance(record, Unparsed) and extracts_page(record.parse)


_LENGTH = struct.Struct("<Q")  # a block's compressed size, before it
_FIRST_PASS = Source("<first pass>")  # the reader knows the real source, as for any worker


def _page_id(record: Unparsed) -> str | None:
    return getattr(record.parse, "keywords", {}).get("doc_id")


def _as_parsed(result: Document | Rejected, data: bytes,
               source: Source) -> Document | Rejected:
    """What the first pass extracted, as the record's parse result in the second."""
    return result


class ParsedPages:
    """The first pass's extraction results, written in reading order and read back once
    in the same order (:meth:`replay`). ``tmp_dir``: where the file goes (default: the
    system's temporary directory)."""

    def __init__(self, tmp_dir: str | None = None) -> None:
        self._file: IO[bytes] | None = None
        try:
            if tmp_dir:
                os.makedirs(tmp_dir, exist_ok=True)
            self._file = tempfile.TemporaryFile(dir=tmp_dir)
        except OSError:  # no room or no right to write there: pages are extracted again
            pass  # (the run's own spill files meet the same directory and say what to do)

    def add(self, results: Iterable[Document | Rejected]) -> None:
        """Append pages' results, in reading order."""
        rows = [orjson.dumps([r.id, r.text, r.meta, r.size]) if isinstance(r, Document)
                else orjson.dumps([r.id, None, r.reason]) for r in results]
        if not rows or self._file is None:
            return
        block = zlib.compress(b"\n".join(rows), 1)
        try:
            self._file.write(_LENGTH.pack(len(block)) + block)
        except OSError:  # a full temporary disk: the second pass extracts again instead
            self.close()

    def _results(self) -> Iterator[Document | Rejected]:
        if self._file is None:
            return
        try:
            self._file.flush()  # the last writes, if the disk filled, fail here
            self._file.seek(0)
        except OSError:
            self.close()
            return
        while head := self._file.read(_LENGTH.size):
            (length,) = _LENGTH.unpack(head)
            for line in zlib.decompress(self._file.read(length)).split(b"\n"):
                doc_id, text, meta_or_reason, *size = orjson.loads(line)
                if text is None:
                    yield Rejected(_FIRST_PASS, meta_or_reason, doc_id)
                else:
                    yield Document(doc_id, text, None, meta_or_reason, size[0])

    def replay(self, records: Iterable[RawRecord]) -> Iterator[RawRecord]:
        """``records`` (the inputs read again), each page given the result the first pass
        extracted instead of extracting it again."""
        results: Iterator[Document | Rejected] | None = (
            self._results() if self._file is not None else None)
        for record in records:
            if results is not None and is_page(record):
                assert isinstance(record, Unparsed)
                result = next(results, None)
                if result is not None and result.id == _page_id(record):
                    record = Unparsed(record.source, record.data, partial(_as_parsed, result))
                else:
                    results = None  # out of step: extract every page from here on
            yield record

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:  # its buffer could not be written: the file is closed anyway
                pass
            self._file = None
