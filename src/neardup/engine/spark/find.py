"""``neardup find`` on Spark: the query table broadcast, the corpus scanned by the executors.

The queries are read on the driver (they make one table, which every executor needs:
:class:`~neardup.find.table.QueryTable`, 16 bytes a query n-gram) and broadcast. The
stages, and what each shuffles:

1. **scan** (no shuffle): each record parsed on the executors and scanned by
   :func:`neardup.find.scan.find_in`, the local engine's function; each match's line of
   ``matches.jsonl`` is made there, and the document's removal decided by
   :func:`neardup.find.finder.removal`.
2. **number** (no shuffle): :func:`~neardup.engine.spark.plan.number_records`.
3. **book** (shuffle: the ids of documents with words): a document with no words, or
   whose id was read before, is refused, worded as the local engine words it.
4. **sum up** (shuffle: each match's covered query positions): per query, the positions
   found anywhere, its longest passage and its documents; a row per matched query reaches
   the driver, which writes ``queries.jsonl`` as the local engine does.
5. **write**: ``matches.jsonl/``, ``rejected.jsonl/`` and with ``--remove``
   ``removed.jsonl/`` and ``kept/``, as part files in reading order
   (:mod:`neardup.engine.spark.outputs`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from ...document import Document, Rejected
from ...find.finder import Finder, FindOptions, FindResult, Match, Removal, removal
from ...find.scan import TokenCache, find_in, reported_meta
from ...io.readers import ReadOptions
from ...io.writers import jsonl_line
from . import outputs
from .files import HadoopFiles
from .plan import (
    DOCUMENT,
    REJECTED,
    PlacedRecords,
    RejectionReasons,
    cut_inputs,
    file_key,
    first_of_repeated_ids,
    first_rejections,
    number_records,
    read_inputs,
    started_run,
    union,
    write_kept,
)
from .session import SparkSettings

#: The corpus rejections a Spark run brings to the driver (the rest are in the files).
FIRST_REJECTIONS = 10
_MATCH = ("struct<query: int, overlap: double, covered: array<int>, longest: int, "
          "line: string>")


class FindPartition:
    """Stage 1 on an executor: Arrow batches of input rows in, one row out per record,
    placed as :class:`~neardup.engine.spark.plan.PlacedRecords` places it: a document's
    token count and matches (each with its ``matches.jsonl`` line), the query and overlap
    that remove it, if any; a rejection with its reason."""

    SCHEMA = ("file int, block long, row long, record long, kind byte, prank long, "
              f"id string, reason string, ntokens long, matches array<{_MATCH}>, "
              "removed_by int, removed_overlap double")

    def __init__(self, files: dict[str, int], read: ReadOptions, queries: Any,
                 options: FindOptions) -> None:
        self.files, self.read, self.queries, self.options = files, read, queries, options

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        table, ids = self.queries.value
        cache = TokenCache(table.texts)
        placed = PlacedRecords(self.files, self.read)
        for batch in batches:
            rows = list(placed.ranked(batch))
            docs = [(k, r[-1]) for k, r in enumerate(rows) if isinstance(r[-1], Document)]
            ntokens, found = find_in(table, [d.text for _, d in docs], cache)
            per_row: dict[int, list[Any]] = {}
            for m in found:
                per_row.setdefault(docs[m.doc][0], []).append(m)
            ntok = {k: int(ntokens[i]) for i, (k, _) in enumerate(docs)}
            out: dict[str, list[Any]] = {name: [] for name in (
                "file", "block", "row", "record", "kind", "prank", "id", "reason", "ntokens",
                "matches", "removed_by", "removed_overlap")}
            for k, (file, block, row, number, kind, prank, record) in enumerate(rows):
                matches = per_row.get(k, [])
                removing = removal(matches, self.options) if matches else None
                doc = record if isinstance(record, Document) else None
                for name, value in (
                        ("file", file), ("block", block), ("row", row), ("record", number),
                        ("kind", kind), ("prank", prank),
                        ("id", None if record is None else record.id),
                        ("reason", record.reason if isinstance(record, Rejected) else None),
                        ("ntokens", ntok.get(k)),
                        ("matches", [{
                            "query": m.query, "overlap": m.overlap,
                            "covered": m.covered.tolist(), "longest": m.longest,
                            "line": jsonl_line(Match(ids[m.query], doc.id, m.overlap,
                                                     m.passages, reported_meta(doc)
                                                     ).to_dict())[:-1]}
                            for m in matches] if doc is not None else None),
                        ("removed_by", removing and removing.query),
                        ("removed_overlap", removing and removing.overlap)):
                    out[name].append(value)
            yield pa.RecordBatch.from_pydict(out, schema=_ARROW)


_ARROW = pa.schema([
    ("file", pa.int32()), ("block", pa.int64()), ("row", pa.int64()), ("record", pa.int64()),
    ("kind", pa.int8()), ("prank", pa.int64()), ("id", pa.string()), ("reason", pa.string()),
    ("ntokens", pa.int64()),
    ("matches", pa.list_(pa.struct([("query", pa.int32()), ("overlap", pa.float64()),
                                    ("covered", pa.list_(pa.int32())),
                                    ("longest", pa.int32()), ("line", pa.string())]))),
    ("removed_by", pa.int32()), ("removed_overlap", pa.float64())])


class SparkFind:
    """One ``find`` run on Spark over the queries a :class:`~neardup.find.finder.Finder`
    has taken (see the module's docstring for the stages)."""

    def __init__(self, finder: Finder, read: ReadOptions, settings: SparkSettings,
                 progress: bool = False) -> None:
        self.finder, self.read, self.settings = finder, read, settings
        self.progress = progress

    def write(self, inputs: list[str], staging: str, remove: bool, kept_format: str,
              tmp_dir: str | None = None) -> FindResult:
        """Scan ``inputs`` and write ``matches.jsonl``, ``rejected.jsonl`` and with
        ``remove`` ``removed.jsonl`` and ``kept/`` into ``staging`` (an output directory's
        staging URI) as part files. Returns the result: its queries and stats, the first
        rejections of the corpus; the matches and removals are in the files."""
        with started_run(self.settings, tmp_dir, inputs, self.progress) as run:
            return self._run(run, staging, inputs, remove, kept_format)

    def _run(self, run: Any, staging: str, inputs: list[str], remove: bool,
             kept_format: str) -> FindResult:
        from pyspark.sql import functions as F

        spark, stages, shown, names = run.spark, run.stages, run.shown, [
            f.name for f in run.files]
        parts = cut_inputs(spark, run.files, self.settings)
        finder = self.finder
        queries = spark.sparkContext.broadcast((finder.table, finder.query_ids))
        task = FindPartition({file_key(f.uri): i for i, f in enumerate(run.files)}, self.read,
                             queries, finder.options)
        shown.step = "scanning"
        scanned = union([frame.mapInArrow(task, FindPartition.SCHEMA)
                         for frame in read_inputs(spark, run.files, self.read)])
        records = number_records(stages.put(scanned, "scanned"), len(run.skipped))

        shown.step = "booking"
        docs = records.frame.where(F.col("kind") == DOCUMENT)
        worded = docs.where(F.col("ntokens") > 0)
        refused = (worded.join(first_of_repeated_ids(worded), "id")
                   .where(F.col("first.ord") != F.col("ord"))
                   .select("ord", F.col("first.file").alias("first_file"),
                           F.col("first.number").alias("first_number")))
        booked = stages.put(worded.join(refused, "ord", "left_anti"), "booked")
        failed = (records.frame.where(F.col("kind") == REJECTED)
                  .select("file", "number", "id", "reason"))
        not_used = (docs.join(refused, "ord", "left")
                    .where((F.col("ntokens") == 0) | F.col("first_file").isNotNull())
                    .select("file", "number", "id", "ntokens", "first_file", "first_number")
                    .mapInArrow(RejectionReasons(names), RejectionReasons.SCHEMA))
        # The queries' rejections, then the inputs not read, stand first (file -1).
        before = finder.query_intake.rejected + run.skipped
        rejected = failed.unionByName(not_used)
        if before:
            rejected = rejected.unionByName(spark.createDataFrame(
                [(-1, k, r.id, r.reason) for k, r in enumerate(before)],
                RejectionReasons.SCHEMA))
        rejected = stages.put(rejected, "rejected")

        files_out = HadoopFiles(spark)
        matches = booked.select("ord", F.posexplode("matches").alias("at", "m"))
        shown.step = "writing matches.jsonl"
        outputs.write_lines(outputs.sorted_by(matches, parts, "ord", "at")
                            .select(F.col("m.line").cast("binary").alias("value")),
                            f"{staging}/matches.jsonl", files_out)
        shown.step = "writing rejected.jsonl"
        outputs.write_rejected(rejected, names, before, f"{staging}/rejected.jsonl",
                               files_out, parts, len(finder.query_intake.rejected))
        removed = booked.where(F.col("removed_by").isNotNull())
        if remove:
            shown.step = "writing removed.jsonl"
            lines = removed.select("ord", "id", "file", "number", "removed_by",
                                   "removed_overlap").mapInArrow(
                RemovalLines(names, finder.query_ids), "ord long, value binary")
            outputs.write_lines(outputs.sorted_by(lines, parts, "ord").select("value"),
                                f"{staging}/removed.jsonl", files_out)
            shown.step = "writing kept/"
            write_kept(booked.where(F.col("removed_by").isNull()).select("file", "number"),
                       run.files, records.line_bases, self.read, files_out, inputs,
                       f"{staging}/kept", kept_format == "parquet", parts)

        shown.step = "summing up"
        found, longest, documents = self._per_query(matches, len(finder.query_ids))
        totals = booked.agg(F.count("*").alias("documents"),
                            F.sum((F.size("matches") > 0).cast("long")).alias("matched"),
                            F.sum(F.size("matches")).alias("matches")).first()
        return finder.result(found, longest, documents, records.read,
                             records.read - int(totals["documents"]),
                             int(totals["matched"] or 0), int(totals["matches"] or 0),
                             removed.count(),
                             first_rejections(rejected.where(
                                 (F.col("file") >= 0)
                                 | (F.col("number") >= len(finder.query_intake.rejected))),
                                 names, before, FIRST_REJECTIONS))

    @staticmethod
    def _per_query(matches: Any, queries: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query: its positions found in any document, its longest passage and the
        documents holding it (a row per matched query reaches the driver)."""
        from pyspark.sql import functions as F

        found_rows = (matches.select(F.col("m.query").alias("query"),
                                     F.explode("m.covered").alias("pos"))
                      .distinct().groupBy("query").count().toArrow())
        rows = (matches.groupBy(F.col("m.query").alias("query"))
                .agg(F.max("m.longest").alias("longest"), F.count("*").alias("documents"))
                .toArrow())
        found = np.zeros(queries, dtype=np.int64)
        longest = np.zeros(queries, dtype=np.int64)
        documents = np.zeros(queries, dtype=np.int64)
        found[found_rows.column("query").to_numpy()] = found_rows.column("count").to_numpy()
        q = rows.column("query").to_numpy()
        longest[q] = rows.column("longest").to_numpy()
        documents[q] = rows.column("documents").to_numpy()
        return found, longest, documents


class RemovalLines:
    """On an executor: rows of removed documents as lines of ``removed.jsonl``."""

    def __init__(self, names: list[str], query_ids: list[str]) -> None:
        self.names, self.query_ids = names, query_ids

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        from ...document import Source

        for batch in batches:
            rows = batch.to_pydict()
            lines = [jsonl_line(Removal(doc_id, Source(self.names[file], number),
                                        self.query_ids[q], overlap).to_dict()).encode()[:-1]
                     for doc_id, file, number, q, overlap in zip(
                         rows["id"], rows["file"], rows["number"], rows["removed_by"],
                         rows["removed_overlap"])]
            yield pa.RecordBatch.from_pydict({"ord": rows["ord"],
                                              "value": pa.array(lines, pa.binary())})
