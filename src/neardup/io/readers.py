"""Readers: turn inputs into a stream of :class:`Document` and :class:`Rejected`.

Supported inputs, chosen by the path:

* a directory: every regular file below it, recursively, in sorted order, read
  as UTF-8 text; a document's id is its path relative to the directory;
* ``*.jsonl``, ``*.ndjson``, ``*.json`` (one object a line), optionally
  compressed (``.gz``, ``.zst``): one document a line, fields named by
  ``id_field`` and ``text_field``;
* ``*.parquet``: the same two columns;
* ``*.html``, ``*.htm`` (also inside directories): a web page, its main text and metadata
  extracted (:mod:`neardup.io.html`, needs ``neardup[html]``);
* ``*.warc``, ``*.warc.gz``: every HTML response in a web archive;
* ``-``: JSONL on standard input;
* any other file: one text document, its id the path as given.

A record that cannot be used becomes a :class:`Rejected` naming the file and
line (or row) and the reason; reading goes on with the next record.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

import orjson
import xxhash
import zstandard

from ..document import (
    Document,
    FileRange,
    LineBlock,
    RawRecord,
    Rejected,
    Source,
    Unparsed,
)
from ..errors import InputError
from .html import (
    HTML_SUFFIXES,
    WARC_SUFFIXES,
    MissingExtra,
    check_extractor,
    read_html_file,
    read_warc,
)
from .outdir import LOCK, MANIFEST

#: What a truncated or corrupt (compressed) stream raises part-way through.
STREAM_ERRORS = (OSError, EOFError, ValueError, zlib.error, zstandard.ZstdError)

DEFAULT_MAX_DOC_BYTES = 32 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
_BINARY_SNIFF = 8192
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSIONS = ("", ".gz", ".zst")


@dataclass(frozen=True)
class ReadOptions:
    id_field: str = "id"
    text_field: str = "text"
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES
    #: JSONL/Parquet field naming the document's site or source, kept as ``meta["site"]``.
    site_field: str | None = None
    #: Main-text extractor for HTML and WARC (see :mod:`neardup.io.html`).
    extractor: str = "trafilatura"
    #: JSONL/Parquet field holding the publication date, kept as ``meta["date"]`` if present.
    date_field: str | None = "date"
    #: More JSONL/Parquet text fields, joined after ``text_field`` with a newline where
    #: present (a question and its answer as one text).
    more_text_fields: tuple[str, ...] = ()
    #: Before ``id-field`` and ``text-field`` in messages: the options that name the fields
    #: (``query-`` for the queries of ``neardup find``).
    option_prefix: str = ""

    @cached_property
    def meta_fields(self) -> dict[str, str]:
        """Record fields copied into ``Document.meta``, by meta key (computed once: it is
        asked for each record read)."""
        return {key: name for key, name in (("site", self.site_field),
                                            ("date", self.date_field)) if name}


Record = Document | Rejected


def is_remote(path: str) -> bool:
    """A path another file system serves (``hdfs://``, ``s3a://``...), which only an engine
    such as Spark reads."""
    scheme = urlparse(path).scheme
    return len(scheme) > 1 and scheme != "file"


def input_kind(path: str) -> str:
    """``"stdin"``, ``"dir"``, ``"jsonl"``, ``"parquet"``, ``"html"``, ``"warc"`` or
    ``"text"``."""
    if path == "-":
        return "stdin"
    if os.path.isdir(path):
        return "dir"
    name = path.lower()
    if name.endswith(HTML_SUFFIXES):
        return "html"
    if name.endswith(WARC_SUFFIXES):
        return "warc"
    for suffix in JSONL_SUFFIXES:
        if any(name.endswith(suffix + c) for c in COMPRESSIONS):
            return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    return "text"


def check_inputs(paths: list[str], options: ReadOptions | None = None) -> None:
    """Raise :class:`InputError` for an input that does not exist or cannot be opened, or
    an HTML/WARC input when the extractor is not installed."""
    if not paths:
        raise InputError("no input given: name files, directories, or - for standard input")
    if paths.count("-") > 1:
        raise InputError("standard input (-) can be read only once")
    for path in paths:
        if path == "-":
            continue
        if not os.path.exists(path):
            if os.path.islink(path):
                raise InputError(f"{path}: a symbolic link to {os.readlink(path)}, which does "
                                 "not exist")
            raise InputError(f"{path}: no such file or directory")
        if not os.access(path, os.R_OK):
            raise InputError(f"{path}: permission denied; make it readable, or leave it out")
        kind = input_kind(path)
        if options is not None and kind in ("html", "warc"):
            try:
                check_extractor(options.extractor)
            except (MissingExtra, ValueError) as err:
                raise InputError(f"{path}: {err}") from None
        if options is not None and kind in ("jsonl", "parquet"):
            _check_fields(path, kind, options)


#: Records looked at to tell whether an input has the id and text fields at all.
FIELD_PEEK = 1000


def _check_fields(path: str, kind: str, options: ReadOptions) -> None:
    """Raise :class:`InputError` when the first records of a JSONL or Parquet input have
    no id field or no text field at all: a wrong ``--text-field`` would reject every record.
    An input that cannot be opened is left for the reader to report."""
    wanted = (options.id_field, options.text_field)
    seen: dict[str, None] = {}
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            seen = dict.fromkeys(pq.ParquetFile(path).schema_arrow.names)
        except Exception:  # noqa: BLE001 - the reader reports a broken file as a rejection
            return
    else:
        try:
            with open_compressed(path) as fh:
                looked = 0
                for line in fh:
                    try:
                        obj = orjson.loads(line.removeprefix(BOM))
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(obj, dict):
                        if all(f in obj for f in wanted):
                            return
                        seen.update(dict.fromkeys(obj))
                        looked += 1
                        if looked >= FIELD_PEEK:
                            break
        except STREAM_ERRORS:
            pass  # the reader reports the break where it happens
        if not seen:
            return  # no object read: the reader reports each line
    for field, option in zip(wanted, (f"--{options.option_prefix}id-field",
                                      f"--{options.option_prefix}text-field")):
        if field not in seen:
            where = "column" if kind == "parquet" else "field"
            raise InputError(
                f"{path}: no record has the {where} {field!r} (the first records have "
                f"{', '.join(map(repr, list(seen)[:12])) or 'no fields'}); name the right one "
                f"with {option}")


def input_size(paths: list[str]) -> int | None:
    """Total bytes to read (for progress), or None if unknown (standard input)."""
    total = 0
    for path in paths:
        kind = input_kind(path)
        if kind == "stdin":
            return None
        if kind == "dir":
            total += sum(_size(p) for p in walk_files(Path(path)) if isinstance(p, Path))
        else:
            total += _size(Path(path))
    return total


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def input_fingerprints(paths: list[str], block: int = 65536) -> list[dict[str, object]]:
    """What each input was like when a run read it, so a later reader (the report) can
    tell that it changed: a file's size, mtime and a hash of its first and last ``block``
    bytes; a directory's file count, total size, latest mtime and a hash of its listing
    (names, sizes, mtimes). Standard input and inputs on other file systems have none."""
    prints: list[dict[str, object]] = []
    for path in paths:
        if path == "-" or is_remote(path):
            prints.append({"path": path})
            continue
        try:
            if os.path.isdir(path):
                digest = xxhash.xxh64()
                files = size = mtime = 0
                for file in walk_files(Path(path)):
                    if not isinstance(file, Path):
                        continue
                    st = file.stat()
                    files, size, mtime = files + 1, size + st.st_size, max(mtime, st.st_mtime_ns)
                    name = file.relative_to(path)  # as the run saw it, wherever it ran from
                    digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
                prints.append({"path": path, "files": files, "size": size,
                               "mtime_ns": mtime, "listing_xxh64": digest.hexdigest()})
            else:
                st = os.stat(path)
                digest = xxhash.xxh64()
                with open(path, "rb") as fh:
                    digest.update(fh.read(block))
                    if st.st_size > block:
                        fh.seek(max(block, st.st_size - block))
                        digest.update(fh.read(block))
                prints.append({"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                               "ends_xxh64": digest.hexdigest()})
        except OSError:
            prints.append({"path": path, "unreadable": True})
    return prints


def read_inputs(paths: list[str], options: ReadOptions = ReadOptions(),
                deferred: bool = False) -> Iterator[RawRecord]:
    """All records of all inputs, in order (each input as :func:`read_input`)."""
    for path in paths:
        yield from read_input(path, options, deferred)


def read_texts(paths: list[str], ids: set[str], options: ReadOptions = ReadOptions()
               ) -> dict[str, str]:
    """The texts of the documents with these ids (the first record of an id, as everywhere
    else), reading only until all are found; ids not found are absent."""
    texts: dict[str, str] = {}
    for record in read_inputs(paths, options):
        if isinstance(record, Document) and record.id in ids:
            texts.setdefault(record.id, record.text)
            if len(texts) == len(ids):
                break
    return texts


def read_input(path: str, options: ReadOptions = ReadOptions(),
               deferred: bool = False, ranges: bool = False) -> Iterator[RawRecord]:
    """The records of one input. With ``deferred``, JSONL lines come unparsed, as
    :class:`LineBlock` s, for the caller to parse where it likes; otherwise every record
    is parsed. With ``ranges`` too, a plain (uncompressed) JSONL file comes as
    :class:`FileRange` s, for the workers to read themselves."""
    kind = input_kind(path)
    if kind == "jsonl" and deferred and ranges and _plain_file(path):
        yield from jsonl_ranges(path, partial(parse_jsonl_line, options=options))
        return
    if kind == "stdin":
        yield from read_jsonl_stream(sys.stdin.buffer, "-", options, deferred)
    elif kind == "dir":
        root = Path(path)
        for file in walk_files(root):
            if isinstance(file, Rejected):
                yield file
                continue
            doc_id = file.relative_to(root).as_posix()
            if file.name.lower().endswith(HTML_SUFFIXES):
                yield _finish(read_html_file(str(file), doc_id, options.extractor,
                                             options.max_doc_bytes), deferred)
            else:
                yield read_text_file(file, doc_id, options)
    elif kind == "html":
        yield _finish(read_html_file(path, path, options.extractor, options.max_doc_bytes),
                      deferred)
    elif kind == "warc":
        for record in read_warc(path, options.extractor, options.max_doc_bytes):
            yield _finish(record, deferred)
    elif kind == "jsonl":
        with open_compressed(path) as fh:
            yield from read_jsonl_stream(fh, path, options, deferred)
    elif kind == "parquet":
        yield from read_parquet(path, options)
    else:
        yield read_text_file(Path(path), path, options)


def _finish(record: RawRecord, deferred: bool) -> RawRecord:
    """Parse now unless the caller defers parsing to where the work runs."""
    return record if deferred or not isinstance(record, Unparsed) else record.parsed()


def walk_files(root: Path) -> Iterator[Path | Rejected]:
    """The regular files below ``root`` in sorted order, and a :class:`Rejected` for each
    directory that cannot be listed, link that points nowhere and special file (a silent
    skip would lose their documents unseen)."""
    problems: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=problems.append):
        while problems:
            err = problems.pop(0)
            yield Rejected(Source(str(err.filename or dirpath)),
                           f"cannot read directory: {err.strerror}; its files are not read "
                           "(fix its permissions, or leave it out)")
        dirnames.sort()
        for name in [d for d in dirnames if _is_output_dir(Path(dirpath) / d)]:
            # Its own output (staging files included) must not become its input.
            dirnames.remove(name)
            yield Rejected(Source(str(Path(dirpath) / name)), "a neardup output directory, "
                           "not read (give it as an input of its own to read it)")
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.is_file():
                yield p
            elif p.is_symlink() and not p.exists():
                yield Rejected(Source(str(p)), f"symbolic link to {os.readlink(p)}, which "
                               "does not exist")
            else:
                yield Rejected(Source(str(p)), "not a regular file (a device, pipe or "
                               "socket); left out")
        for name in dirnames:
            p = Path(dirpath) / name
            if p.is_symlink():  # os.walk does not descend into it: say so
                yield Rejected(Source(str(p)), "symbolic link to a directory, not followed "
                               "(give it as an input of its own to read it)")
    for err in problems:
        yield Rejected(Source(str(err.filename or root)),
                       f"cannot read directory: {err.strerror}; its files are not read "
                       "(fix its permissions, or leave it out)")


def _is_output_dir(path: Path) -> bool:
    try:
        return (path / LOCK).exists() or (path / MANIFEST).exists()
    except OSError:  # unreadable: os.walk reports it as such
        return False


def _too_large(size: int, what: str, options: ReadOptions) -> str | None:
    if size <= options.max_doc_bytes:
        return None
    return (
        f"{what} of {size:,} bytes is over the limit of {options.max_doc_bytes:,} "
        "(raise it with --max-doc-bytes)"
    )


def _decode(data: bytes) -> tuple[str | None, str | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as err:
        return None, f"invalid UTF-8 at byte {err.start}"


def read_text_file(path: Path, doc_id: str, options: ReadOptions) -> Record:
    source = Source(str(path))
    try:
        with open(path, "rb") as fh:
            data = fh.read(options.max_doc_bytes + 1)
            size = os.fstat(fh.fileno()).st_size
    except OSError as err:
        return Rejected(source, f"cannot read: {err.strerror}", doc_id)
    problem = _too_large(size, "document", options)
    if problem:
        return Rejected(source, problem, doc_id)
    if b"\x00" in data[:_BINARY_SNIFF]:
        return Rejected(source, "binary file (NUL bytes), not text", doc_id)
    text, problem = _decode(data.removeprefix(BOM))
    if problem:
        return Rejected(source, problem, doc_id)
    return Document(doc_id, text, source, size=size)


def open_compressed(path: str) -> BinaryIO:
    """Open a file for binary reading, decompressing ``.gz`` and ``.zst`` by name."""
    lower = path.lower()
    if lower.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if lower.endswith(".zst"):
        return io.BufferedReader(_ZstdFrames(open(path, "rb")), 1 << 17)
    return open(path, "rb")


class _ZstdFrames(io.RawIOBase):
    """The decompressed bytes of a ``.zst`` file of one or more frames. Unlike
    ``zstandard``'s stream reader, which ends quietly where a truncated file ends, it
    raises :class:`EOFError` when the file stops inside a frame."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._frame: Any = None  # the decompressor of the frame being read
        self._out = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not len(self._out):
            data = b""
            if self._frame is not None and self._frame.eof:
                data, self._frame = self._frame.unused_data, None  # the next frame's start
            if not data:
                data = self._raw.read(1 << 17)
            if not data:
                if self._frame is not None:
                    raise EOFError(f"zstd file ends inside a frame, at byte "
                                   f"{self._raw.tell():,} (truncated)")
                return 0
            if self._frame is None:
                self._frame = zstandard.ZstdDecompressor().decompressobj()
            self._out = memoryview(self._frame.decompress(data))
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


#: Bytes a JSONL reader cuts into one :class:`LineBlock` (about 500 news articles).
BLOCK_BYTES = 1 << 20


#: Bytes of a plain JSONL file in one :class:`FileRange` (about 250 news articles).
RANGE_BYTES = 1 << 19


def _plain_file(path: str) -> bool:
    """A regular file that is not compressed, so its lines can be read from any offset."""
    return os.path.isfile(path) and not path.lower().endswith(COMPRESSIONS[1:])


def jsonl_ranges(path: str, parse: Any, size: int = RANGE_BYTES) -> Iterator[FileRange]:
    """A plain JSONL file cut at line ends into :class:`FileRange` s of about ``size``
    bytes (a longer line makes a longer range). Only the bytes around each cut are read
    here; the lines are read by whoever loads the range."""
    with open(path, "rb") as fh:
        found = os.fstat(fh.fileno())
        end, file = found.st_size, (found.st_dev, found.st_ino)
        start = len(BOM) if fh.read(len(BOM)) == BOM else 0
        opens = True
        while start < end:
            stop = min(start + size, end)
            if stop < end:  # move the cut to just past the next line end
                fh.seek(stop - 1)
                while True:
                    window = fh.read(1 << 14)
                    newline = window.find(b"\n")
                    if newline >= 0 or not window:
                        stop = stop + newline if newline >= 0 else end
                        break
                    stop += len(window)
            yield FileRange(path, start, stop, parse, opens, file)
            start, opens = stop, False


def read_jsonl_stream(fh: BinaryIO, name: str, options: ReadOptions,
                      deferred: bool = False) -> Iterator[RawRecord]:
    """The records of a JSONL stream: with ``deferred``, :class:`LineBlock` s of unparsed
    lines; otherwise each line parsed. Blank lines are skipped but counted, so a record's
    line number is its line in the file. A stream that breaks off (a truncated or corrupt
    compressed file) ends with one :class:`Rejected` after the last whole line."""
    for block in line_blocks(fh, name, partial(parse_jsonl_line, options=options)):
        if deferred or isinstance(block, Rejected):
            yield block
        else:
            yield from block.records()


def line_blocks(fh: BinaryIO, name: str, parse: Any = None) -> Iterator[LineBlock | Rejected]:
    """``fh`` cut at line ends into blocks of about :data:`BLOCK_BYTES` (their records to
    be parsed by ``parse``), then a :class:`Rejected` if it breaks off."""
    read = fh.read1 if hasattr(fh, "read1") else fh.read  # what is there, without waiting
    # Lines read and not yet cut, the last perhaps incomplete. Kept as the chunks read and
    # joined once: growing one buffer costs more in page faults than the reading.
    pending: list[bytes] = []
    first = 1  # number of the first line in ``pending``
    try:
        while True:
            chunk = read(BLOCK_BYTES)
            if first == 1 and not pending:
                chunk = chunk.removeprefix(BOM)
            if not chunk:  # the end: a last line with no newline is a line
                block, pending = b"".join(pending), []
            else:
                cut = chunk.rfind(b"\n") + 1
                if not cut or sum(map(len, pending)) + cut < BLOCK_BYTES // 2:
                    pending.append(chunk)  # no line ends here, or little to send yet
                    continue
                block = b"".join([*pending, memoryview(chunk)[:cut]])
                pending = [chunk[cut:]] if cut < len(chunk) else []
            if block:
                lines = LineBlock.of_lines(name, block, first, parse)
                yield lines
                first = lines.next_line
            if not chunk:
                return
    except STREAM_ERRORS as err:
        read_so_far = b"".join(pending)
        complete = read_so_far[:read_so_far.rfind(b"\n") + 1]
        if complete:
            lines = LineBlock.of_lines(name, complete, first, parse)
            yield lines
            first = lines.next_line
        yield Rejected(
            Source(name, first),
            f"cannot read further: {err}; the records before this line are kept, the rest of "
            "this file is lost (re-create or re-download the file)")


def parse_jsonl_line(line: bytes, source: Source, options: ReadOptions) -> Record:
    """One JSONL line as a :class:`Document`, or a :class:`Rejected` saying what is wrong."""
    problem = _too_large(len(line), "record", options)
    if problem:
        return Rejected(source, problem)
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as bad:
            return Rejected(source, f"invalid UTF-8 at byte {bad.start} of the line")
        return Rejected(source, f"malformed JSON: {err.msg} at column {err.colno}")
    if not isinstance(obj, dict):
        return Rejected(source, f"expected a JSON object, found {type(obj).__name__}")
    doc_id, text = obj.get(options.id_field), obj.get(options.text_field)
    if options.more_text_fields:
        text = _joined(text, [obj.get(f) for f in options.more_text_fields])
    if type(doc_id) is str and type(text) is str and len(text) <= options.max_doc_bytes:
        record: Record = Document(doc_id, text, source, size=len(text))  # the usual record
    else:
        record = _record_from_fields(doc_id, text, source, options)
        if not isinstance(record, Document):
            return record
    for key, name in options.meta_fields.items():
        value = obj.get(name)
        if value is not None:
            record.meta[key] = str(value)
    return record


def _joined(text: object, more: list[object]) -> object:
    """The text field with the further text fields that hold text, a newline between."""
    if not isinstance(text, str) or not more:
        return text
    return "\n".join([text, *(m for m in more if isinstance(m, str))])


def _record_from_fields(doc_id: object, text: object, source: Source,
                        options: ReadOptions) -> Record:
    if doc_id is None:
        return Rejected(
            source,
            f"missing id field {options.id_field!r} (name another with "
            f"--{options.option_prefix}id-field)",
        )
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
        return Rejected(source, f"id field {options.id_field!r} is not a string or integer")
    doc_id = str(doc_id)
    if text is None:
        return Rejected(
            source,
            f"missing text field {options.text_field!r} (name another with "
            f"--{options.option_prefix}text-field)",
            doc_id,
        )
    if not isinstance(text, str):
        return Rejected(source, f"text field {options.text_field!r} is not a string", doc_id)
    problem = _too_large(len(text), "text", options)
    if problem:
        return Rejected(source, problem, doc_id)
    return Document(doc_id, text, source, size=len(text))


def read_parquet(path: str, options: ReadOptions) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several types for a bad file
        yield Rejected(Source(path), f"not a readable Parquet file: {err}")
        return
    names = pf.schema_arrow.names
    missing = [f for f in (options.id_field, options.text_field) if f not in names]
    if missing:
        rows = pf.metadata.num_rows
        for row in range(rows):
            yield Rejected(
                Source(path, row),
                f"no column {missing[0]!r} in this file (columns: {', '.join(names)}); "
                f"name the right one with --{options.option_prefix}id-field / "
                f"--{options.option_prefix}text-field",
            )
        return
    extra = {key: name for key, name in options.meta_fields.items() if name in names}
    more = [name for name in options.more_text_fields if name in names]
    columns = [options.id_field, options.text_field, *extra.values(), *more]
    row = 0
    batches = pf.iter_batches(columns=columns)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as err:  # noqa: BLE001 - pyarrow raises several types for bad data
            yield Rejected(Source(path, row), f"cannot read further: {err}; the rows before "
                           "this one are kept, the rest of this file is lost")
            return
        ids = batch.column(0).to_pylist()
        texts = batch.column(1).to_pylist()
        metas = {key: batch.column(2 + k).to_pylist() for k, key in enumerate(extra)}
        further = [batch.column(2 + len(extra) + k).to_pylist() for k in range(len(more))]
        for k, (doc_id, text) in enumerate(zip(ids, texts)):
            text = _joined(text, [values[k] for values in further])
            yield record_from_row(doc_id, text, {key: values[k] for key, values in
                                                 metas.items()}, Source(path, row), options)
            row += 1


def record_from_row(doc_id: object, text: object, meta: dict[str, object], source: Source,
                    options: ReadOptions) -> Record:
    """One Parquet row (its id, text and meta fields by meta key) as a :class:`Document`,
    or a :class:`Rejected` saying what is wrong."""
    record = _record_from_fields(doc_id, text, source, options)
    if isinstance(record, Document):
        for key, value in meta.items():
            if value is not None:
                record.meta[key] = str(value)
    return record
