"""``neardup dedup`` as a plan of partitioned Spark stages, with the local engine's results.

Every per-document step runs on the executors; the driver sees counts (one row an input
split, one a range of group numbers), the stats and the settings. Stages, and what each
shuffles:

1. **read and sketch** (no shuffle): JSONL lines or Parquet rows, read by Spark from any
   path its Hadoop file system reads, are parsed, cleaned and sketched on the executors by
   the same functions the local engine runs (the compiled kernel, on Arrow batches). Each
   record carries its place: (input file, split offset, row in split), the order it would be
   read in, and its rank among its split's documents.
2. **number** (no shuffle): each split's counts reach the driver (:func:`split_bases`);
   a document's number is its split's base plus its rank, a JSONL line's the lines of its
   file's earlier splits plus its row.
3. **book** (shuffles: the ids, the exact keys): empty texts and ids read before are
   refused, exact copies find their first (:func:`book_documents`), worded as the local engine
   words them (:class:`RejectionReasons`).
4. **band** (shuffles: one row per representative and band; then the rows of keys two
   documents share, joined with their documents' signature bytes): rows of one band key
   meet in one partition, whose candidate pairs, tested by :mod:`neardup.sigfilter`,
   follow :func:`neardup.lsh.band_pair_codes`, the local engine's rule.
5. **verify** (shuffle: the candidate pairs, joined twice with the shingle sets of the
   documents in them): exact Jaccard and the match test on the executors
   (:class:`ScorePairs`).
6. **components** (:mod:`neardup.engine.spark.components`), then **decide** (the grouped
   documents only: :func:`_grouped`, :meth:`SparkDedup._to_kept`, :func:`_stats`).
7. **write** (:mod:`neardup.engine.spark.outputs`): each output sorted across partitions
   and written as part files by the executors; or, for a caller who wants a
   :class:`DedupResult` in memory, collected (:func:`collect`).

Stages hand over through Parquet files (:class:`~neardup.engine.spark.session.StageFiles`).
Nothing depends on partition counts or the order tasks finish in, so any cluster, any
number of partitions and adaptive execution give the same pairs, scores, groups and kept
documents as the local engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

import numpy as np

from ...clean.cleaner import Cleaner
from ...dedup import (
    DedupOptions,
    DedupResult,
    DedupSummary,
    Stats,
    Status,
    compared_text,
    payload_dtype,
    score_pairs,
    sketch_texts,
)
from ...document import Document, Rejected, Source, Sources
from ...errors import InputError
from ...io.readers import (
    BOM,
    ReadOptions,
    input_kind,
    is_remote,
    parse_jsonl_line,
    record_from_row,
    walk_files,
)
from ...sigfilter import RowsInMemory, SignatureFilter
from ...sketch import Sketcher
from .components import connected_components
from .files import HadoopFiles
from .session import (
    SparkSettings,
    StageFiles,
    StageProgress,
    choose_partitions,
    failures_in_one_line,
    session,
)

_NOWHERE = Source("<executor>")
#: A Parquet row's number while ``kept/`` is written (a name no input column has).
_KEPT_NUMBER = "__neardup_number"
#: A placed row's kind (:meth:`PlacedRecords.ranked`): a document, a record that did not
#: parse, a blank line.
DOCUMENT, REJECTED, BLANK = 0, 1, 2


@dataclass(frozen=True)
class InputFile:
    """One file Spark reads: its URI, the name outputs give it (as the local engine
    names it), its kind (``jsonl`` or ``parquet``), and the position of the input it was
    given as or found under."""

    uri: str
    name: str
    kind: str
    input: int


def file_key(uri: str) -> str:
    """One spelling of a file's URI (``file:/x``, ``file:///x`` and ``/x`` alike)."""
    parsed = urlparse(uri)
    host = parsed.netloc if parsed.scheme not in ("", "file") else ""
    return host + unquote(parsed.path)


def _kind(name: str) -> str | None:
    """``jsonl`` or ``parquet`` for a file Spark reads (gzipped JSONL too), else None."""
    kind = input_kind(name)
    if kind == "parquet" or (kind == "jsonl" and not name.lower().endswith(".zst")):
        return kind
    return None


_NOT_READ = ("--engine spark reads JSONL (.jsonl, .ndjson, .json, optionally .gz; recompress "
             "zstd with gzip) and Parquet")


def list_inputs(spark: Callable[[], Any], inputs: list[str]
                ) -> tuple[list[InputFile], list[Rejected]]:
    """The JSONL and Parquet files of ``inputs`` in reading order (a directory: the files
    below it, in the local engine's order), and a :class:`Rejected` for everything else a
    directory holds. ``spark`` gives the session, asked for only to list paths on other
    file systems. Raises :class:`InputError` for an input given by name that Spark cannot
    read, and when no input holds a file it can."""
    files: list[InputFile] = []
    skipped: list[Rejected] = []
    for index, path in enumerate(inputs):
        if path == "-":
            raise InputError("standard input (-) cannot be read by --engine spark; give a file")
        if is_remote(path):
            found: list[tuple[str, str] | Rejected] = _list_remote(spark(), path)
        elif os.path.isdir(path):
            found = [f if isinstance(f, Rejected) else (f.resolve().as_uri(), str(f))
                     for f in walk_files(Path(path))]
        elif os.path.exists(path):
            if _kind(path) is None:
                raise InputError(f"{path}: {_NOT_READ}; run other inputs with the local "
                                 "engine")
            found = [(Path(path).resolve().as_uri(), path)]
        else:
            found = []
        if not found:
            raise InputError(f"{path}: no such file or directory")
        for entry in found:
            if isinstance(entry, Rejected):
                skipped.append(entry)
                continue
            uri, name = entry
            kind = _kind(name)
            if kind is not None:
                files.append(InputFile(uri, name, kind, index))
            else:
                skipped.append(Rejected(Source(name), f"not read: {_NOT_READ}"))
    if not files:
        raise InputError(f"{', '.join(inputs)}: no JSONL or Parquet file to read ({_NOT_READ})")
    return files, skipped


def _list_remote(spark: Any, path: str) -> list[tuple[str, str]]:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    statuses = fs.globStatus(hadoop_path) or []
    found: list[str] = []
    for status in statuses:
        if status.isDirectory():
            listing = fs.listFiles(status.getPath(), True)
            while listing.hasNext():
                found.append(listing.next().getPath().toString())
        else:
            found.append(status.getPath().toString())
    return [(uri, uri) for uri in sorted(found)]


SKETCH_SCHEMA = ("file int, block long, row long, record long, kind byte, prank long, "
                  "id string, reason string, key_hi long, key_lo long, ntokens long, "
                  "bands binary, sig binary, payload binary")


class PlacedRecords:
    """Input rows (Arrow batches) as records with their place. Rows of one file split come
    in order within a task, so each is numbered within its split."""

    def __init__(self, files: dict[str, int], read: ReadOptions) -> None:
        self.files, self.read = files, read
        self._rows_before: dict[tuple[int, int], int] = {}
        self._documents_before: dict[tuple[int, int], int] = {}
        self._numbers: dict[str, int] = {}  # path as Spark spells it -> file number

    def _file_of(self, path: str) -> int:
        number = self._numbers.get(path)
        if number is None:
            number = self._numbers[path] = self.files.get(file_key(path), -1)
        return number

    def of(self, batch: Any) -> Iterator[tuple[int, int, int, int, Document | Rejected | None]]:
        """``(file, block, row, record number or -1, record)`` per row; None for a blank
        line."""
        columns = batch.to_pydict()
        row_index = columns.get("row_index")
        for k, (path, block) in enumerate(zip(columns["path"], columns["block"])):
            file = self._file_of(path)
            split = (file, block)
            row = self._rows_before.get(split, 0)
            self._rows_before[split] = row + 1
            yield (file, block, row, -1 if row_index is None else row_index[k],
                   self._record(columns, k, block, row))

    def ranked(self, batch: Any) -> Iterator[tuple[int, int, int, int, int, int,
                                                   Document | Rejected | None]]:
        """``(file, block, row, record number or -1, kind, prank, record)`` per row:
        ``kind`` a document, a rejection or a blank line; ``prank`` a document's rank
        among its split's documents (stage 2 numbers documents by it)."""
        for file, block, row, number, record in self.of(batch):
            split = (file, block)
            prank = self._documents_before.get(split, 0)
            kind = (BLANK if record is None else
                    DOCUMENT if isinstance(record, Document) else REJECTED)
            if kind == DOCUMENT:
                self._documents_before[split] = prank + 1
            yield file, block, row, number, kind, prank, record

    def _record(self, columns: dict[str, list[Any]], k: int, block: int, row: int
                ) -> Document | Rejected | None:
        if "value" in columns:
            line = columns["value"][k]
            if block == 0 and row == 0:
                line = line.removeprefix(BOM)
            if not line.strip():
                return None
            return parse_jsonl_line(line, _NOWHERE, self.read)  # as the local reader: no newline
        meta = {key: columns[name][k] for key, name in self.read.meta_fields.items()
                if name in columns}
        return record_from_row(columns["doc_id"][k], columns["doc_text"][k], meta, _NOWHERE,
                               self.read)


class SketchPartition:
    """Stage 1 on an executor: Arrow batches of input rows in, one row out per record
    (documents sketched, rejections with their reason, blank lines marked), each with its
    place and its rank among the documents of its split."""

    def __init__(self, files: dict[str, int], read: ReadOptions, options: DedupOptions,
                 cleaner: Cleaner | None) -> None:
        self.files, self.read, self.options, self.cleaner = files, read, options, cleaner

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        rows = self.rows_maker()
        placed = PlacedRecords(self.files, self.read)
        for batch in batches:
            out: dict[str, list[Any]] = {k: [] for k in ("file", "block", "row", "record",
                                                         "kind", "prank", "id", "reason")}
            texts: list[str] = []
            for file, block, row, number, kind, prank, record in placed.ranked(batch):
                if isinstance(record, Document):
                    texts.append(compared_text(record, self.cleaner))
                for name, value in (("file", file), ("block", block), ("row", row),
                                    ("record", number), ("kind", kind), ("prank", prank),
                                    ("id", None if record is None else record.id),
                                    ("reason", record.reason
                                     if isinstance(record, Rejected) else None)):
                    out[name].append(value)
            yield rows(out, texts)

    def rows_maker(self) -> Callable[[dict[str, list[Any]], list[str]], Any]:
        """What makes a batch's output rows from its records' places (``out``) and the
        texts its documents compare (``texts``), in this task."""
        sketcher = Sketcher(self.options.sketch_params)
        lsh = self.options.lsh_params
        return lambda out, texts: self._batch(out, texts, sketcher, lsh)

    def _batch(self, out: dict[str, list[Any]], texts: list[str], sketcher: Sketcher,
               lsh: Any) -> Any:
        import pyarrow as pa

        n = len(out["file"])
        keys, ntokens, bands, sig_bytes, counts, payload = sketch_texts(
            sketcher, lsh, texts, self.options.verify)
        is_doc = np.array(out["kind"], dtype=np.int8) == DOCUMENT
        signed_keys = np.zeros((n, 2), dtype=np.int64)
        signed_keys[is_doc] = keys.view(np.int64)
        tokens = np.zeros(n, dtype=np.int64)
        tokens[is_doc] = ntokens
        # Bands and payloads as Arrow list and binary columns over the kernel's own buffers
        # (no object per document); rows that are not documents hold empty ones.
        per_row = np.zeros(n, dtype=np.int64)
        per_row[is_doc] = counts
        payload_column = binary_column(payload, per_row * payload.dtype.itemsize)
        # A document's band keys (bands x 8 bytes) and signature bytes as one binary value
        # each: Spark moves a binary column as one buffer, an array column value by value.
        band_column = binary_column(bands, np.where(is_doc, bands.shape[1] * 8, 0))
        sig_column = binary_column(sig_bytes, np.where(is_doc, sig_bytes.shape[1], 0))
        return pa.RecordBatch.from_pydict({
            "file": pa.array(out["file"], pa.int32()), "block": pa.array(out["block"], pa.int64()),
            "row": pa.array(out["row"], pa.int64()), "record": pa.array(out["record"], pa.int64()),
            "kind": pa.array(out["kind"], pa.int8()), "prank": pa.array(out["prank"], pa.int64()),
            "id": pa.array(out["id"], pa.string()), "reason": pa.array(out["reason"], pa.string()),
            "key_hi": signed_keys[:, 0], "key_lo": signed_keys[:, 1], "ntokens": tokens,
            "bands": band_column, "sig": sig_column, "payload": payload_column})


def binary_column(values: np.ndarray, row_bytes: np.ndarray) -> Any:
    """An Arrow binary column over ``values``' own buffer: row ``i`` is the next
    ``row_bytes[i]`` bytes of it (0 for a row that is not a document)."""
    import pyarrow as pa

    offsets = np.zeros(len(row_bytes) + 1, dtype=np.int32)
    np.cumsum(row_bytes, out=offsets[1:])
    return pa.BinaryArray.from_buffers(pa.binary(), len(row_bytes), [
        None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(values))])


class BandRows:
    """Stage 3a on an executor: each representative's ``(band, key, ord)`` rows."""

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            ords = batch.column("ord").to_numpy()
            keys = _fixed_rows(batch.column("bands"))
            width = keys.shape[1]
            yield pa.RecordBatch.from_pydict({
                "band": np.tile(np.arange(width, dtype=np.int32), len(keys)),
                "key": keys.ravel(), "ord": np.repeat(ords, width)})


def partition_table(batches: Iterator[Any]) -> Any:
    """A partition's Arrow batches as one table, or None when it holds no row."""
    import pyarrow as pa

    held = [b for b in batches if b.num_rows]
    return pa.Table.from_batches(held) if held else None


class SharedKeys:
    """Stage 3b on an executor: a partition holding every row of its band keys -> the rows
    of the keys held by two documents or more (the others make no pair: most rows, so
    only these go on to meet their documents' signature bytes)."""

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        table = partition_table(batches)
        if table is None:
            return
        band, key = table.column("band").to_numpy(), table.column("key").to_numpy()
        order = np.lexsort((key, band))
        band, key = band[order], key[order]
        starts = np.flatnonzero(np.r_[True, (band[1:] != band[:-1]) | (key[1:] != key[:-1])])
        sizes = np.diff(np.r_[starts, len(key)])
        shared = order[np.repeat(sizes > 1, sizes)]
        yield from table.take(pa.array(np.sort(shared))).to_batches()


class BandPairs:
    """Stage 3c on an executor: a partition holding every row of its band keys (with each
    document's signature bytes when ``cutoff`` asks for the signature test) -> the
    candidate pairs ``(a, b)``, ``a < b``, unique within the partition. Each
    band's rows go through :func:`neardup.lsh.band_pair_codes`, the local engine's rule
    (buckets, stars past ``max_bucket``, the test bucket by bucket), in document order, so
    a star is centred on the document it is centred on locally."""

    def __init__(self, max_bucket: int, cutoff: int = 0) -> None:
        self.max_bucket, self.cutoff = max_bucket, cutoff

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from ...lsh import band_pair_codes

        table = partition_table(batches)
        if table is None:
            return
        band, key = table.column("band").to_numpy(), table.column("key").to_numpy()
        ords = table.column("ord").to_numpy()
        order = np.lexsort((ords, band))
        band, key, ords = band[order], key[order], ords[order]
        rows = (_fixed_rows(table.column("sig").combine_chunks(), np.uint8)[order]
                if self.cutoff else None)
        firsts, seconds = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        cuts = np.flatnonzero(np.r_[True, band[1:] != band[:-1], True])
        for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            m = hi - lo
            keep = (SignatureFilter(RowsInMemory(rows[lo:hi]), self.cutoff).on(np.arange(m))
                    if rows is not None else None)
            codes = band_pair_codes(key[lo:hi], self.max_bucket, keep)
            firsts.append(ords[lo:hi][codes // m])
            seconds.append(ords[lo:hi][codes % m])
        first, second = np.concatenate(firsts), np.concatenate(seconds)
        order = np.lexsort((second, first))
        first, second = first[order], second[order]
        unique = np.r_[True, (first[1:] != first[:-1]) | (second[1:] != second[:-1])]
        first, second = first[unique], second[unique]
        for start in range(0, len(first), 1 << 20):
            yield pa.RecordBatch.from_pydict({"a": first[start:start + (1 << 20)],
                                              "b": second[start:start + (1 << 20)]})



class ScorePairs:
    """Stage 4 on an executor: rows ``(a, b, first, second)`` of pairs joined with both of
    their documents' payloads -> each pair's score (:func:`neardup.dedup.score_pairs`) and
    whether it matches (:meth:`~neardup.dedup.DedupOptions.matches`)."""

    def __init__(self, options: DedupOptions) -> None:
        self.options = options
        self.verify = options.verify
        self.dtype = np.dtype(payload_dtype(options))

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from ... import faults

        faults.at("verifying")
        for batch in batches:
            if not batch.num_rows:
                continue
            payloads = (binary_items(batch.column("first"), self.dtype)
                        + binary_items(batch.column("second"), self.dtype))
            k = np.arange(batch.num_rows)
            scores = score_pairs(payloads, k, batch.num_rows + k, self.verify)
            yield pa.RecordBatch.from_pydict({
                "a": batch.column("a"), "b": batch.column("b"), "score": scores,
                "match": np.asarray(self.options.matches(scores), dtype=bool)})


def _fixed_rows(column: Any, dtype: type = np.int64) -> np.ndarray:
    """A ``(rows, width)`` matrix of ``dtype`` from a binary column whose values are all of
    one length (documents' band keys as int64, their signature bytes as uint8), viewing the
    column's buffer."""
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset:
                                                                 column.offset + len(column) + 1]
    data = column.buffers()[2]
    if data is None or not len(column):
        return np.empty((len(column), 0), dtype)
    keys = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]].view(dtype)
    return keys.reshape(len(column), -1)


def binary_items(column: Any, dtype: np.dtype) -> list[np.ndarray]:
    """Each value of an Arrow binary column as an array of ``dtype``, viewing the column's
    buffer (no copy, no bytes object per value)."""
    n = len(column)
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset:
                                                                 column.offset + n + 1]
    data = column.buffers()[2]
    values = (np.frombuffer(data, dtype=np.uint8) if data is not None
              else np.empty(0, np.uint8))
    return [values[s:e].view(dtype) for s, e in zip(offsets[:-1].tolist(),
                                                    offsets[1:].tolist())]


def _place() -> list[Any]:
    """A row's place: its file and the start of its split."""
    from pyspark.sql import functions as F

    return [F.col("_metadata.file_path").alias("path"),
            F.col("_metadata.file_block_start").alias("block")]


def _read_lines(spark: Any, uris: list[str]) -> Any:
    """The lines of JSONL files (``value``, as bytes) with their place. Every read of
    the same files is cut into the same splits (they depend on the files' total size and
    the settings :meth:`SparkDedup._run` fixes), so places agree between reads."""
    from pyspark.sql import functions as F

    return spark.read.text(uris).select(F.col("value").cast("binary").alias("value"),
                                        *_place())


def read_inputs(spark: Any, files: list[InputFile], read: ReadOptions) -> list[Any]:
    """The input rows with their place: a DataFrame over the JSONL files and one over the
    Parquet files (whichever there are)."""
    from pyspark.sql import functions as F

    place = _place()
    frames = []
    jsonl = [f.uri for f in files if f.kind == "jsonl"]
    if jsonl:
        frames.append(_read_lines(spark, jsonl))
    parquet = [f.uri for f in files if f.kind == "parquet"]
    if parquet:
        df = spark.read.parquet(*parquet)
        missing = [f for f in (read.id_field, read.text_field) if f not in df.columns]
        if missing:
            raise InputError(f"{parquet[0]}: no column {missing[0]!r} in the Parquet input "
                             f"(columns: {', '.join(df.columns)}); name the right one with "
                             "--id-field / --text-field")
        meta = [F.col(name) for name in read.meta_fields.values() if name in df.columns]
        frames.append(df.select(F.col(read.id_field).alias("doc_id"),
                                F.col(read.text_field).alias("doc_text"), *meta, *place,
                                F.col("_metadata.row_index").alias("row_index")))
    return frames


#: How many rejections a run that writes its outputs brings to the driver, to show.
SHOWN_REJECTIONS = 10


@dataclass
class SparkOutcome:
    """What a run decided, held by the executors: per document (``documents``: ``ord, id,
    file, number, ntokens, status, exact_rep, cluster, size, kept, to_kept, keep``), the
    records not compared (``rejected``: ``file, number, id, reason``), the matching pairs of
    exact representatives (``edges``: ``a, b, score``); and on the driver the stats, the
    input names, the inputs not read, and the progress display."""

    documents: Any
    rejected: Any
    edges: Any
    stats: Stats
    names: list[str]
    skipped: list[Rejected]
    options: DedupOptions
    partitions: int
    progress: StageProgress

    def collect(self) -> DedupResult:
        """The outcome on the driver (:func:`collect`): every document's decisions."""
        return collect(self.documents, self.rejected, self.edges, self.names, self.skipped,
                       self.stats, self.options)

    def first_rejections(self, count: int) -> list[Rejected]:
        """The first ``count`` records not compared, in reading order."""
        return first_rejections(self.rejected, self.names, self.skipped, count)


def first_rejections(rejected: Any, names: list[str], skipped: list[Rejected], count: int
                     ) -> list[Rejected]:
    """The first ``count`` of ``rejected`` (rows ``file, number, id, reason``; an input
    not read: ``file`` -1, the ``number``-th of ``skipped``), in reading order."""
    first = rejected.orderBy("file", "number").limit(count).toArrow().to_pylist()
    return [skipped[r["number"]] if r["file"] < 0 else
            Rejected(Source(names[r["file"]], r["number"]), r["reason"], r["id"])
            for r in first]


@dataclass
class StartedRun:
    """A run's Spark session, its inputs (the files Spark reads, and the inputs not
    read), where its stages hand over, and its progress display."""

    spark: Any
    files: list[InputFile]
    skipped: list[Rejected]
    stages: StageFiles
    shown: StageProgress


@contextmanager
def started_run(settings: SparkSettings, tmp_dir: str | None, inputs: list[str],
                progress: bool) -> Iterator[StartedRun]:
    """Start a run on Spark: the inputs listed (a local input's problem is found before
    Spark starts), the session started for their size, progress shown. A failed job in the
    block is one line (:class:`~neardup.engine.spark.session.SparkJobFailed`) naming the
    step; the stage files are removed after it."""
    def start() -> Any:
        return session(settings, tmp_dir)

    files, skipped = list_inputs(start, inputs)
    spark = session(settings, tmp_dir, input_size(files))
    with StageProgress(spark, progress) as shown, failures_in_one_line(lambda: shown.step):
        stages = StageFiles(spark)
        try:
            yield StartedRun(spark, files, skipped, stages, shown)
        finally:
            stages.close()


class SparkDedup:
    """One ``dedup`` run on Spark (see the module's docstring for the stages)."""

    def __init__(self, options: DedupOptions, read: ReadOptions, settings: SparkSettings,
                 progress: bool = False) -> None:
        if options.clean is not None and options.clean.paragraphs:
            raise ValueError("paragraph-level dedup is part of `neardup clean`, not of dedup")
        self.options, self.read, self.settings = options, read, settings
        self.progress = progress
        self._files: list[InputFile] = []
        self._line_bases: dict[tuple[int, int], int] = {}

    def run(self, inputs: list[str]) -> DedupResult:
        """Dedup ``inputs``: the outcome brought to the driver as a :class:`DedupResult`."""
        with self.outcome(inputs) as outcome:
            outcome.progress.step = "collecting the result"
            return outcome.collect()

    def write(self, inputs: list[str], staging: str, max_group_pairs: int | None = 1_000,
              kept_format: str = "input") -> DedupSummary:
        """Dedup ``inputs`` and write the outputs into ``staging`` (the URI of an output
        directory's staging directory), each by the executors as part files
        (:mod:`neardup.engine.spark.outputs`). Returns the stats and the first
        rejections."""
        from pyspark.sql import functions as F

        from . import outputs

        with self.outcome(inputs) as outcome:
            parts = outcome.partitions
            write_outputs(staging, outcome.progress, {
                "pairs.jsonl": outputs.pair_line_rows(outcome.documents, outcome.edges, parts,
                                                      max_group_pairs, not self.options.verify),
                "clusters.jsonl": outputs.cluster_line_rows(outcome.documents, parts)},
                outcome.rejected, outcome.names, outcome.skipped,
                outcome.documents.where(F.col("keep")).select("file", "number"),
                KeptSources(self._files, self._line_bases, self.read, inputs),
                kept_format == "parquet", parts)
            return DedupSummary(outcome.stats, self.options,
                                outcome.first_rejections(SHOWN_REJECTIONS))

    def print_pairs(self, inputs: list[str], stream: IO[bytes],
                    max_group_pairs: int | None = 1_000) -> DedupSummary:
        """Dedup ``inputs`` and write ``pairs.jsonl``'s lines to ``stream``, as the
        executors make them, a partition at a time (the driver holds one partition's
        lines, not every document). Returns the stats and the first rejections."""
        from . import outputs

        with self.outcome(inputs) as outcome:
            outcome.progress.step = "writing the pairs"
            rows = outputs.pair_line_rows(outcome.documents, outcome.edges,
                                          outcome.partitions, max_group_pairs,
                                          not self.options.verify)
            for row in rows.toLocalIterator():
                stream.write(row.value + b"\n")
            return DedupSummary(outcome.stats, self.options,
                                outcome.first_rejections(SHOWN_REJECTIONS))

    @contextmanager
    def outcome(self, inputs: list[str]) -> Iterator[SparkOutcome]:
        """The run's outcome on the executors, for the block to collect or write; its
        stage files are removed after it. A failed job is one line
        (:class:`~neardup.engine.spark.session.SparkJobFailed`) naming the step."""
        with started_run(self.settings, self.options.tmp_dir, inputs, self.progress) as run:
            self._files = run.files
            yield self._run(run.spark, run.stages, run.files, run.skipped, run.shown)

    def _run(self, spark: Any, stages: StageFiles, files: list[InputFile],
             skipped: list[Rejected], shown: StageProgress) -> SparkOutcome:

        opts = self.options
        partitions = cut_inputs(spark, files, self.settings)
        learned = None
        if opts.clean is not None and opts.clean.learn:
            shown.step = "learning boilerplate"
            learned = learn_lines(spark, files, self.read, opts.clean.min_contexts)
        cleaner = opts.clean.cleaner(learned) if opts.clean is not None else None
        index = {file_key(f.uri): i for i, f in enumerate(files)}
        sketch = SketchPartition(index, self.read, opts, cleaner)
        sketched = union([frame.mapInArrow(sketch, SKETCH_SCHEMA)
                          for frame in read_inputs(spark, files, self.read)])
        return self._stages(spark, stages, sketched, skipped, partitions, shown)

    def _stages(self, spark: Any, stages: StageFiles, sketched: Any, skipped: list[Rejected],
                partitions: int, shown: StageProgress) -> SparkOutcome:
        from pyspark.sql import functions as F

        opts = self.options
        shown.step = "reading and sketching"
        records = number_records(stages.put(sketched, "sketched"), len(skipped))
        self._line_bases = records.line_bases
        numbered, n = records.frame, records.documents
        read_records = records.read
        # Records not compared but for the refused documents: those that did not parse,
        # and the inputs not read.
        unparsed = read_records - n
        docs = numbered.where(F.col("kind") == DOCUMENT)
        sketches = docs.select("ord", "bands", "sig", "payload")

        shown.step = "booking"
        documents = stages.put(book_documents(docs), "documents")
        names = [f.name for f in self._files]
        rejected = stages.put(rejected_records(spark, numbered, documents, names, skipped),
                              "rejected")

        shown.step = "banding"
        # The representatives: every document but the refused and the later exact copies
        # (few: an anti-join with them is broadcast when they are).
        others = documents.where(F.col("ord") != F.col("exact_rep")).select("ord")
        keyed = (sketches.select("ord", "bands").join(others, "ord", "left_anti")
                 .mapInArrow(BandRows(), "band int, key long, ord long")
                 .repartition(partitions, "band", "key"))
        cutoff = opts.agreement_cutoff
        if cutoff:
            # Only the rows of keys two documents share meet their documents' signature
            # bytes (a join on the document), and meet again by key to make their pairs.
            keyed = (keyed.mapInArrow(SharedKeys(), "band int, key long, ord long")
                     .join(sketches.select("ord", "sig"), "ord")
                     .repartition(partitions, "band", "key"))
        candidates = (keyed.mapInArrow(BandPairs(opts.max_bucket, cutoff), "a long, b long")
                      .distinct())

        shown.step = "verifying"
        scored = stages.put(self._scored(candidates, sketches, stages, "candidates"),
                            "scored")
        tally = scored.agg(F.count("*").alias("candidates"),
                           F.sum(F.col("match").cast("long")).alias("verified")).first()
        edges = scored.where("match").select("a", "b", "score")

        shown.step = "connected components"
        roots = connected_components(edges.select("a", "b"),
                                     edge_count=int(tally["verified"] or 0),
                                     materialize=lambda frame: stages.put(frame, "components"))
        members = stages.put(_grouped(documents, roots, n, partitions, opts.keep.token_sign),
                             "groups")

        shown.step = "deciding"
        members = stages.put(self._to_kept(members, edges, sketches, stages), "kept")
        decided = (documents.join(members.select("ord", "cluster", "size", "kept", "to_kept"),
                                  "ord", "left")
                   .withColumn("keep", (F.col("status") == _OK)
                               & (F.col("cluster").isNull() | (F.col("ord") == F.col("kept")))))
        outcome = stages.put(decided, "outcome")
        stats = _stats(outcome, edges, read_records, unparsed,
                       int(tally["candidates"]), int(tally["verified"] or 0), opts)
        return SparkOutcome(outcome, rejected, stages.put(edges, "edges"), stats, names, skipped,
                            opts, partitions, shown)

    def _scored(self, pairs: Any, sketches: Any, stages: StageFiles, name: str) -> Any:
        """``(a, b, score, match)`` for each pair ``(a, b)`` of documents: the payloads of
        the documents the pairs hold are joined to them twice, by each side's document, and
        each pair is scored where its two payloads meet (:class:`ScorePairs`, the match
        test :meth:`DedupOptions.matches`). The pairs and their documents are written
        first: Spark then knows their size, and when the documents are few it sends their
        numbers to every task that reads payloads (a broadcast, under Spark's
        ``autoBroadcastJoinThreshold``), so only the payloads of those documents move,
        not every document's."""
        from pyspark.sql import functions as F

        pairs = stages.put(pairs, name)
        held = stages.put(pairs.select(F.col("a").alias("ord"))
                          .unionByName(pairs.select(F.col("b").alias("ord"))).distinct(),
                          f"{name}-documents")
        payloads = sketches.select("ord", "payload").join(held, "ord", "left_semi")
        joined = (pairs
                  .join(payloads.select(F.col("ord").alias("a"),
                                        F.col("payload").alias("first")), "a")
                  .join(payloads.select(F.col("ord").alias("b"),
                                        F.col("payload").alias("second")), "b"))
        return joined.select("a", "b", "first", "second").mapInArrow(
            ScorePairs(self.options), "a long, b long, score double, match boolean")

    def _to_kept(self, members: Any, edges: Any, sketches: Any, stages: StageFiles) -> Any:
        """Each group member's Jaccard to its group's kept document (``to_kept``): 1 for a
        token-identical copy, the verified score for a matching pair of their exact
        representatives, else scored here (each such pair once)."""
        from pyspark.sql import functions as F

        members = (members
                   .withColumn("a", F.least("exact_rep", "kept_rep"))
                   .withColumn("b", F.greatest("exact_rep", "kept_rep"))
                   .join(edges.withColumnRenamed("score", "edge_score"), ["a", "b"], "left"))
        missing = (members.where((F.col("a") != F.col("b")) & F.col("edge_score").isNull())
                   .select("a", "b").distinct())
        extra = self._scored(missing, sketches, stages, "to-kept").select(
            "a", "b", F.col("score").alias("extra_score"))
        return (members.join(extra, ["a", "b"], "left")
                .withColumn("to_kept", F.when(F.col("a") == F.col("b"), F.lit(1.0))
                            .otherwise(F.coalesce("edge_score", "extra_score"))))

@dataclass
class KeptSources:
    """Where a run's kept records are read again from: the files Spark read, each
    split's first line number, how records were read, and the inputs as given."""

    files: list[InputFile]
    line_bases: dict[tuple[int, int], int]
    read: ReadOptions
    inputs: list[str]


def write_outputs(staging: str, shown: StageProgress, lines: dict[str, Any], rejected: Any,
                  names: list[str], skipped: list[Rejected], kept: Any, sources: KeptSources,
                  kept_as_parquet: bool, partitions: int) -> None:
    """A run's outputs into ``staging`` (a URI), by the executors: each of ``lines`` (a
    ``value`` column of lines, in order) under its name, then ``rejected.jsonl`` and
    ``kept/`` (the records ``kept``, rows ``file, number``)."""
    from . import outputs

    files = HadoopFiles(kept.sparkSession)
    for name, rows in lines.items():
        shown.step = f"writing {name}"
        outputs.write_lines(rows, f"{staging}/{name}", files)
    shown.step = "writing rejected.jsonl"
    outputs.write_rejected(rejected, names, skipped, f"{staging}/rejected.jsonl", files,
                           partitions)
    shown.step = "writing kept/"
    write_kept(kept, sources.files, sources.line_bases, sources.read, files, sources.inputs,
               f"{staging}/kept", kept_as_parquet, partitions)


def write_kept(kept: Any, input_files: list[InputFile], line_bases: dict[tuple[int, int], int],
               read: ReadOptions, files: HadoopFiles, inputs: list[str], kept_dir: str,
               as_parquet: bool, partitions: int) -> None:
    """``kept/``, by the executors: the inputs are read again, and the records ``kept``
    (rows ``file, number``) are picked out by a semi-join on their place and written as
    part files, one directory a target
    (:func:`~neardup.engine.spark.outputs.kept_targets`), in reading order.
    JSONL lines are copied as they are (gzipped for a gzipped input); Parquet rows
    keep their columns, with the types Spark reads them as; as Parquet, the documents
    as :data:`~neardup.io.writers.KEPT_COLUMNS`."""
    from pyspark.sql import functions as F

    from . import outputs

    spark, parts = kept.sparkSession, partitions
    names = [f.name for f in input_files]
    index = {file_key(f.uri): i for i, f in enumerate(input_files)}
    targets, paths = outputs.kept_targets(inputs, input_files, kept_dir, as_parquet)
    jsonl = [f.uri for f in input_files if f.kind == "jsonl"]
    lines = (_read_lines(spark, jsonl).mapInArrow(
        outputs.PlacedLines(index, line_bases), outputs.PlacedLines.SCHEMA)
        .join(kept, ["file", "number"], "left_semi") if jsonl else None)
    written = f"{kept_dir}/_parts"
    if as_parquet:
        task = outputs.KeptDocuments(names, read, targets, index)
        frames = [lines.mapInArrow(task, task.schema())] if lines is not None else []
        frames += [frame.mapInArrow(task, task.schema())
                   .join(kept, ["file", "number"], "left_semi")
                   for frame in read_inputs(spark, input_files, read)
                   if "row_index" in frame.columns]
        rows = outputs.sorted_by(union(frames), parts, "file", "number")
        (rows.sortWithinPartitions("target", "file", "number").drop("file", "number")
         .write.partitionBy("target").parquet(written))
        outputs.name_parts(files, written, ".parquet")
        outputs.move_targets(files, written, paths)
        return
    if lines is not None:
        target_of = spark.createDataFrame(
            [(k, t, f.name.lower().endswith(".gz")) for k, (t, f) in
             enumerate(zip(targets, input_files))], "file int, target int, gz boolean")
        lines = lines.join(F.broadcast(target_of), "file")
        compressed = {f.name.lower().endswith(".gz") for f in input_files
                      if f.kind == "jsonl"}
        for gz in sorted(compressed):
            rows = outputs.sorted_by(lines.where(F.col("gz") == gz), parts, "file",
                                     "number")
            outputs.write_lines(rows.sortWithinPartitions("target", "file", "number"),
                                f"{written}/{gz}", files, ".jsonl.gz" if gz else ".jsonl",
                                "target", "gzip" if gz else "none")
            outputs.move_targets(files, f"{written}/{gz}", paths)
    for k, f in enumerate(input_files):
        if f.kind != "parquet":
            continue
        frame = (spark.read.parquet(f.uri)
                 .withColumn(_KEPT_NUMBER, F.col("_metadata.row_index"))
                 .join(kept.where(F.col("file") == k)
                       .select(F.col("number").alias(_KEPT_NUMBER)),
                       _KEPT_NUMBER, "left_semi"))
        rows = outputs.sorted_by(frame, parts, _KEPT_NUMBER).drop(_KEPT_NUMBER)
        rows.write.parquet(f"{written}/{k}")
        outputs.name_parts(files, f"{written}/{k}", ".parquet")
        for part in files.children(f"{written}/{k}"):
            files.rename(part, f"{paths[targets[k]]}/{part.rsplit('/', 1)[-1]}")
    files.delete(written)





def cut_inputs(spark: Any, files: list[InputFile], settings: SparkSettings) -> int:
    """Set how the run's inputs are cut into splits and its shuffles into partitions
    (``settings.partitions``, else from the inputs' size and the cluster's cores); returns
    the partition count. Every read of the same files then gives the same splits."""
    input_bytes = input_size(files)
    partitions = (settings.partitions or
                  choose_partitions(input_bytes, spark.sparkContext.defaultParallelism))
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    spark.conf.set("spark.sql.files.maxPartitionBytes",
                   str(max(1 << 16, -(-input_bytes // partitions))))
    spark.conf.set("spark.sql.files.openCostInBytes", "0")
    return partitions


def learn_lines(spark: Any, files: list[InputFile], read: ReadOptions,
                min_contexts: int) -> dict[int, int]:
    """Boilerplate lines as :class:`~neardup.clean.learn.RepeatedLines` learns them, across
    the executors: for each of a context's min-hash fingerprints, the distinct ones beside
    each line; the least of those counts (:func:`~neardup.clean.learn.count_contexts`);
    the lines with at least ``min_contexts``, with their count."""
    from pyspark.sql import functions as F

    from ...clean.learn import CONTEXT_HASHES

    observe = ObserveLines({file_key(f.uri): i for i, f in enumerate(files)}, read)
    observed = union([frame.mapInArrow(observe, "line long, context long")
                      for frame in read_inputs(spark, files, read)])
    fingerprints = F.explode(F.array(*[
        F.struct(F.lit(j).alias("order"),
                 F.shiftrightunsigned("context", 16 * j).bitwiseAND(0xFFFF).alias("print"))
        for j in range(CONTEXT_HASHES)]))
    counts = (observed.select("line", fingerprints.alias("f"))
              .select("line", "f.order", "f.print").distinct()
              .groupBy("line", "order").count()
              .groupBy("line").agg(F.min("count").alias("count"))
              .where(F.col("count") >= min_contexts).toArrow())
    lines = counts.column("line").to_numpy().view(np.uint64).tolist()
    return dict(zip(lines, counts.column("count").to_pylist()))


@dataclass
class NumberedRecords:
    """Stage 2's result: the records with ``ord`` (a document's number in reading order,
    null for other rows) and ``number`` (a JSONL record's line, a Parquet row's index);
    the documents, the records read (blank lines are not records; inputs not read are),
    and each split's first line number (for the rows written back in ``kept/``)."""

    frame: Any
    documents: int
    read: int
    line_bases: dict[tuple[int, int], int]


def number_records(placed: Any, not_read: int) -> NumberedRecords:
    """Stage 2 over ``placed``, rows with ``file, block, row, record, kind, prank`` (as
    :class:`PlacedRecords` places them; ``prank``: a document's rank among its split's
    documents). The driver sees one row per split: its records, documents and blank
    lines (:func:`split_bases`)."""
    from pyspark.sql import functions as F

    counts = (placed.groupBy("file", "block")
              .agg(F.count("*").alias("rows"),
                   F.sum((F.col("kind") == DOCUMENT).cast("long")).alias("docs"),
                   F.sum((F.col("kind") == BLANK).cast("long")).alias("blank"))
              .toArrow())
    splits = split_bases(counts.column("file").to_numpy(), counts.column("block").to_numpy(),
                         counts.column("rows").to_numpy(), counts.column("docs").to_numpy())
    documents = int(np.sum(counts.column("docs").to_numpy()))
    read = int(np.sum(counts.column("rows").to_numpy())
               - np.sum(counts.column("blank").to_numpy())) + not_read
    split_df = placed.sparkSession.createDataFrame(
        splits, "file int, block long, base_ord long, line_base long")
    numbered = (placed.join(F.broadcast(split_df), ["file", "block"])
                .withColumn("ord", F.when(F.col("kind") == DOCUMENT,
                                          F.col("base_ord") + F.col("prank")))
                .withColumn("number", F.when(F.col("record") >= 0, F.col("record"))
                            .otherwise(F.col("line_base") + F.col("row") + 1)))
    return NumberedRecords(numbered, documents, read,
                           {(f, b): base for f, b, _, base in splits})


def first_of_repeated_ids(docs: Any) -> Any:
    """``(id, first)`` for each id that ``docs`` (rows with ``id, ord, file, number``)
    hold more than once: ``first`` the ``(ord, file, number)`` of its first document.
    Only what repeats is kept, so the join that follows meets a small table (broadcast
    when it is)."""
    from pyspark.sql import functions as F

    return (docs.groupBy("id")
            .agg(F.count("*").alias("n"), F.min(F.struct("ord", "file", "number"))
                 .alias("first"))
            .where(F.col("n") > 1).select("id", "first"))


class ObserveLines:
    """Learning boilerplate on an executor: each document's (line key, context) pairs."""

    def __init__(self, files: dict[str, int], read: ReadOptions) -> None:
        self.files, self.read = files, read

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from ...clean.learn import RepeatedLines

        placed = PlacedRecords(self.files, self.read)
        for batch in batches:
            lines: list[int] = []
            contexts: list[int] = []
            for *_, record in placed.of(batch):
                if isinstance(record, Document):
                    keys, context = RepeatedLines.observe(record.text,
                                                          record.meta.get("site", ""))
                    lines.extend(keys)
                    contexts.extend([context] * len(keys))
            yield pa.RecordBatch.from_pydict({
                "line": np.array(lines, dtype=np.uint64).view(np.int64),
                "context": np.array(contexts, dtype=np.uint64).view(np.int64)})


_OK, _REFUSED = int(Status.OK), int(Status.REJECTED)


def book_documents(docs: Any) -> Any:
    """Stage 2 on the executors: each document's ``(ord, id, file, number, ntokens,
    status, exact_rep, first_file, first_number)``. A document is refused when it has no
    words, or when a document with words and its id was read before it (``first_*``: where
    that one was read); each other one's ``exact_rep`` is the first document with its
    128-bit exact key (itself, most often; -1 for a refused one). Group-bys on the id and
    on the key keep only what repeats (:func:`first_of_repeated_ids`), so the joins that
    follow meet small tables (Spark broadcasts them when they are)."""
    from pyspark.sql import functions as F

    repeated = first_of_repeated_ids(docs.where(F.col("ntokens") > 0))
    booked = (docs.select("ord", "id", "file", "number", "ntokens", "key_hi", "key_lo")
              .join(repeated, "id", "left")
              .withColumn("status", F.when((F.col("ntokens") > 0)
                                           & (F.col("first").isNull()
                                              | (F.col("first.ord") == F.col("ord"))), _OK)
                          .otherwise(_REFUSED).cast("byte"))
              .withColumn("first_file", F.col("first.file"))
              .withColumn("first_number", F.col("first.number")))
    columns = ["ord", "id", "file", "number", "ntokens", "status", "exact_rep", "first_file",
               "first_number"]
    # Refused documents join no key: their keys (one for every empty text) would pile
    # into one partition.
    ok = booked.where(F.col("status") == _OK)
    copies = (ok.groupBy("key_hi", "key_lo")
              .agg(F.count("*").alias("n"), F.min("ord").alias("rep"))
              .where(F.col("n") > 1).select("key_hi", "key_lo", "rep"))
    return (ok.join(copies, ["key_hi", "key_lo"], "left")
            .withColumn("exact_rep", F.coalesce("rep", "ord")).select(*columns)
            .unionByName(booked.where(F.col("status") == _REFUSED)
                         .withColumn("exact_rep", F.lit(-1).cast("long")).select(*columns)))


class RejectionReasons:
    """On an executor: why each refused document was refused, worded as the local
    engine's :class:`~neardup.intake.Intake` words it."""

    SCHEMA = "file int, number long, id string, reason string"

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from ...intake import NO_WORDS, duplicate_id_reason

        for batch in batches:
            rows = batch.to_pydict()
            reasons = [NO_WORDS if ntokens == 0 else
                       duplicate_id_reason(doc_id, Source(self.names[file], number))
                       for doc_id, ntokens, file, number in zip(
                           rows["id"], rows["ntokens"], rows["first_file"],
                           rows["first_number"])]
            yield pa.RecordBatch.from_pydict({
                "file": pa.array(rows["file"], pa.int32()), "number": rows["number"],
                "id": rows["id"], "reason": reasons})


def rejected_records(spark: Any, numbered: Any, documents: Any, names: list[str],
                skipped: list[Rejected]) -> Any:
    """``(file, number, id, reason)`` of every record not compared: those that did not
    parse, refused documents, and inputs not read (``file`` -1, ``number`` their order)."""
    from pyspark.sql import functions as F

    failed = numbered.where(F.col("kind") == REJECTED).select("file", "number", "id",
                                                                "reason")
    refused = (documents.where(F.col("status") == _REFUSED)
               .select("file", "number", "id", "ntokens", "first_file", "first_number")
               .mapInArrow(RejectionReasons(names), RejectionReasons.SCHEMA))
    rejected = failed.unionByName(refused)
    if skipped:
        rejected = rejected.unionByName(spark.createDataFrame(
            [(-1, k, r.id, r.reason) for k, r in enumerate(skipped)], RejectionReasons.SCHEMA))
    return rejected


def _dense_rank(values: Any, column: str, n: int, buckets: int) -> Any:
    """``(column, rank)``: the distinct values of ``column`` (in ``[0, n)``) numbered from
    0 in order. Values fall into ``buckets`` fixed ranges; the driver sees one count a
    range and each value is numbered within its range, so the numbers do not depend on how
    Spark cut or ordered the rows."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    width = max(1, -(-n // max(1, buckets)))
    bucketed = values.withColumn("_bucket", F.floor(F.col(column) / F.lit(width)).cast("long"))
    counts = bucketed.groupBy("_bucket").count().toArrow()
    bucket, size = counts.column("_bucket").to_numpy(), counts.column("count").to_numpy()
    order = np.argsort(bucket)
    firsts = np.cumsum(np.r_[0, size[order][:-1]]) if len(order) else np.empty(0, np.int64)
    offsets = values.sparkSession.createDataFrame(
        list(zip(bucket[order].tolist(), firsts.tolist())), "_bucket long, _first long")
    within = Window.partitionBy("_bucket").orderBy(column)
    return (bucketed.join(F.broadcast(offsets), "_bucket")
            .select(column, (F.col("_first") + F.row_number().over(within) - 1)
                    .alias("rank")))


def _grouped(documents: Any, roots: Any, n: int, buckets: int, token_sign: int) -> Any:
    """Stages 5 and 6 on the executors: the members of groups, ``(ord, exact_rep,
    ntokens, root, size, cluster, kept, kept_rep)``. A document's group is the component
    (``roots``: ``(node, root)`` of the matching pairs' representatives) of its exact
    representative; a representative in no pair but with copies is its own root, and a
    document alone is in no group. Groups are numbered in order of their first document,
    as :func:`neardup.cluster.group_labels` numbers them; each keeps the member with the
    smallest ``(token_sign * ntokens, ord)``
    (:attr:`~neardup.cluster.KeepPolicy.token_sign`). Only the grouped documents move:
    they meet the grouped representatives (a small table, broadcast when it is)."""
    from pyspark.sql import functions as F

    ok = documents.where(F.col("status") == _OK).select("ord", "exact_rep", "ntokens")
    copied = ok.where(F.col("ord") != F.col("exact_rep")).select("exact_rep").distinct()
    grouped_reps = (copied.join(roots.select(F.col("node").alias("exact_rep"), "root"),
                                "exact_rep", "full")
                    .select("exact_rep", F.coalesce("root", "exact_rep").alias("root")))
    members = ok.join(grouped_reps, "exact_rep")
    sizes = members.groupBy("root").agg(F.count("*").alias("size"))
    numbers = _dense_rank(sizes.select("root"), "root", n, buckets)
    members = (members.join(sizes, "root")
               .join(numbers.withColumnRenamed("rank", "cluster"), "root"))
    kept = (members.groupBy("cluster")
            .agg(F.min(F.struct((F.col("ntokens") * token_sign).alias("key"), "ord",
                                "exact_rep")).alias("k"))
            .select("cluster", F.col("k.ord").alias("kept"),
                    F.col("k.exact_rep").alias("kept_rep")))
    return members.join(kept, "cluster")


def _stats(outcome: Any, edges: Any, documents_read: int, unparsed: int, candidates: int,
           verified: int, opts: DedupOptions) -> Stats:
    """The run's :class:`~neardup.dedup.Stats` from aggregates over the outcome (one row
    a document) and the matching pairs of representatives; ``unparsed``: the records not
    compared that are not refused documents."""
    from pyspark.sql import functions as F

    ok = F.col("status") == _OK
    grouped = F.col("cluster").isNotNull()
    row = outcome.agg(
        F.sum(ok.cast("long")).alias("valid"), F.sum((~ok).cast("long")).alias("refused"),
        F.sum(F.col("keep").cast("long")).alias("kept"),
        F.sum(grouped.cast("long")).alias("grouped"),
        F.sum((grouped & (F.col("ord") == F.col("exact_rep"))).cast("long")).alias("reps"),
        F.max("cluster").alias("last")).first()
    # Pairs of documents: those of each set of exact copies, and each matching pair of
    # representatives times both sides' copies (1 for most: only repeated ones are joined).
    copies = (outcome.where(ok).groupBy("exact_rep").agg(F.count("*").alias("c"))
              .where(F.col("c") > 1))
    exact_pairs = copies.agg(F.sum(F.col("c") * (F.col("c") - 1) / 2)).first()[0]
    near_pairs = (edges.join(copies.select(F.col("exact_rep").alias("a"),
                                           F.col("c").alias("ca")), "a", "left")
                  .join(copies.select(F.col("exact_rep").alias("b"), F.col("c").alias("cb")),
                        "b", "left")
                  .agg(F.sum(F.coalesce("ca", F.lit(1)) * F.coalesce("cb", F.lit(1))))
                  .first()[0])
    refused = int(row["refused"] or 0)
    return Stats.of_counts(
        documents_read=documents_read, rejected=unparsed + refused,
        valid=int(row["valid"] or 0),
        kept=int(row["kept"] or 0),
        groups=0 if row["last"] is None else int(row["last"]) + 1,
        grouped=int(row["grouped"] or 0), grouped_representatives=int(row["reps"] or 0),
        pairs=int(exact_pairs or 0) + int(near_pairs or 0), candidate_pairs=candidates,
        verified_pairs=verified, lsh=opts.lsh_params)


def collect(outcome: Any, rejected: Any, edges: Any, names: list[str],
            skipped: list[Rejected], stats: Stats, opts: DedupOptions) -> DedupResult:
    """A run's outcome brought to the driver as the local engine's :class:`DedupResult`,
    for a caller who asked for it in memory (it holds every document)."""
    import pyarrow.compute as pc

    table = outcome.select("ord", "id", "file", "number", "status", "ntokens", "exact_rep",
                           "cluster", "keep", "to_kept").toArrow()
    table = table.take(np.argsort(table.column("ord").to_numpy()))
    sources = Sources()
    sources.extend(Source(names[f], r) for f, r in zip(table.column("file").to_pylist(),
                                                       table.column("number").to_pylist()))
    got = rejected.toArrow()
    got = got.take(np.lexsort((got.column("number").to_numpy(), got.column("file").to_numpy())))
    refused = [skipped[number] if file < 0 else
               Rejected(Source(names[file], number), reason, doc_id)
               for file, number, doc_id, reason in zip(*(got.column(c).to_pylist() for c in
                                                        ("file", "number", "id", "reason")))]
    pairs = edges.toArrow()
    pairs = pairs.take(np.lexsort((pairs.column("b").to_numpy(), pairs.column("a").to_numpy())))
    return DedupResult(
        table.column("id").to_pylist(), sources,
        table.column("status").to_numpy().astype(np.int8),
        table.column("keep").to_numpy(zero_copy_only=False).astype(bool),
        pc.fill_null(table.column("cluster"), -1).to_numpy().astype(np.int64),
        pc.fill_null(table.column("to_kept"), np.nan).to_numpy().astype(float),
        table.column("exact_rep").to_numpy().astype(np.int64),
        table.column("ntokens").to_numpy().astype(np.int64), refused, stats, opts,
        np.stack([pairs.column("a").to_numpy(), pairs.column("b").to_numpy()], axis=1)
        .astype(np.int64).reshape(-1, 2),
        pairs.column("score").to_numpy().astype(float))


def union(frames: list[Any]) -> Any:
    """The rows of ``frames`` (one at least) as one DataFrame, columns matched by name."""
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def split_bases(file: np.ndarray, block: np.ndarray, rows: np.ndarray, docs: np.ndarray
                ) -> list[tuple[int, int, int, int]]:
    """From each split's counts (its records, blank lines included, and its documents), in
    any order: ``(file, block, base_ord, line_base)`` per split, in reading order. Reading
    order is by file, then split offset; a split's first document is numbered after every
    document of the splits before it, and its first line comes after the lines of its
    file's earlier splits (a JSONL line counts from 1: ``line_base + row + 1``)."""
    if not len(file):
        return []
    order = np.lexsort((block, file))
    file, block, rows, docs = file[order], block[order], rows[order], docs[order]
    base_ord = np.cumsum(np.r_[0, docs[:-1]]).astype(np.int64)
    rows_before = np.cumsum(np.r_[0, rows[:-1]]).astype(np.int64)
    new_file = np.r_[True, file[1:] != file[:-1]]
    file_first = np.maximum.accumulate(np.where(new_file, np.arange(len(file)), 0))
    line_base = rows_before - rows_before[file_first]
    return list(zip(file.tolist(), block.tolist(), base_ord.tolist(), line_base.tolist()))


def input_size(files: list[InputFile]) -> int:
    """The bytes of the files on this machine's file system (others count 0)."""
    return sum(_size(f.uri) for f in files)


def _size(uri: str) -> int:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        try:
            return os.path.getsize(unquote(parsed.path))
        except OSError:
            return 0
    return 0


def spark_dedup(inputs: list[str], options: DedupOptions, read: ReadOptions,
                settings: SparkSettings, progress: bool = False) -> DedupResult:
    """Dedup ``inputs`` on Spark: the same :class:`DedupResult` the local engine gives."""
    return SparkDedup(options, read, settings, progress).run(inputs)


