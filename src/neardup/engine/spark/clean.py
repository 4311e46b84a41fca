"""``neardup clean`` on Spark: the local engine's output files, written by the executors.

The stages, and what each shuffles:

1. **learn** (shuffle: each document's distinct ``(line, context)`` keys): the boilerplate
   lines, as ``dedup`` learns them (:func:`~neardup.engine.spark.plan.learn_lines`); only
   the learned lines (those repeated across contexts) reach the driver.
2. **clean** (no shuffle): each record parsed and cleaned on the executors by
   :func:`neardup.clean.passes.cleaned_row`, the local engine's function; the row of
   ``cleaned.jsonl`` is made there.
3. **number** (no shuffle): :func:`~neardup.engine.spark.plan.number_records`.
4. **book** (shuffle: the ids): a document whose id was read before is refused, worded as
   the local engine words it.
5. **write**: ``cleaned.jsonl/`` in reading order, ``boilerplate.jsonl/`` (each learned
   line removed, the documents it was removed from), ``rejected.jsonl/``, each as part
   files (:mod:`neardup.engine.spark.outputs`); the driver writes ``summary.json`` from
   aggregates.

Paragraph dedup (``--dedup-paragraphs``) runs on the local engine only: it drops a
paragraph seen in an *earlier* document, an order over the whole corpus that this plan
does not build.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from ...clean.cleaner import Cleaner, CleanOptions
from ...clean.passes import FirstPass, cleaned_row
from ...document import Document, Rejected
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
    learn_lines,
    number_records,
    read_inputs,
    started_run,
    union,
)
from .session import SparkSettings, StageFiles, StageProgress

#: Why ``--dedup-paragraphs`` is refused on Spark, and what to do.
PARAGRAPHS_LOCAL_ONLY = ("--dedup-paragraphs runs on the local engine only (it drops "
                         "paragraphs seen in earlier documents, an order over the whole "
                         "corpus); leave out --engine spark for it")


class CleanPartition:
    """Stage 2 on an executor: Arrow batches of input rows in, one row out per record,
    placed as :class:`~neardup.engine.spark.plan.PlacedRecords` places it; a document
    cleaned (its ``cleaned.jsonl`` line, lengths, removals by kind, learned lines
    removed), a rejection with its reason."""

    SCHEMA = ("file int, block long, row long, record long, kind byte, prank long, "
              "id string, reason string, value string, chars_in long, chars_out long, "
              "kinds array<struct<kind: string, n: long>>, "
              "repeated array<struct<line: string, reason: string>>")
    #: :attr:`SCHEMA` as the Arrow batches spell it.
    ARROW = pa.schema([
        ("file", pa.int32()), ("block", pa.int64()), ("row", pa.int64()),
        ("record", pa.int64()), ("kind", pa.int8()), ("prank", pa.int64()),
        ("id", pa.string()), ("reason", pa.string()), ("value", pa.string()),
        ("chars_in", pa.int64()), ("chars_out", pa.int64()),
        ("kinds", pa.list_(pa.struct([("kind", pa.string()), ("n", pa.int64())]))),
        ("repeated", pa.list_(pa.struct([("line", pa.string()), ("reason", pa.string())])))])

    def __init__(self, files: dict[str, int], read: ReadOptions, cleaner: Cleaner) -> None:
        self.files, self.read, self.cleaner = files, read, cleaner

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        schema = self.ARROW
        placed = PlacedRecords(self.files, self.read)
        learned = FirstPass()  # the learned lines are in the cleaner
        for batch in batches:
            out: dict[str, list[Any]] = {field.name: [] for field in schema}
            for file, block, row, number, kind, prank, record in placed.ranked(batch):
                cleaned = (cleaned_row(self.cleaner, record, learned)
                           if isinstance(record, Document) else None)
                for name, value in (
                        ("file", file), ("block", block), ("row", row), ("record", number),
                        ("kind", kind), ("prank", prank),
                        ("id", None if record is None else record.id),
                        ("reason", record.reason if isinstance(record, Rejected) else None),
                        ("value", cleaned and cleaned.line),
                        ("chars_in", cleaned and cleaned.chars_in),
                        ("chars_out", cleaned and cleaned.chars_out),
                        ("kinds", cleaned and [{"kind": k, "n": n} for k, n in cleaned.kinds]),
                        ("repeated", cleaned and [{"line": line, "reason": reason}
                                                  for line, reason in cleaned.repeated])):
                    out[name].append(value)
            yield pa.RecordBatch.from_pydict(out, schema=schema)


class BoilerplateLines:
    """On an executor: rows ``(line, reason, removed_from)`` in order, as lines of
    ``boilerplate.jsonl`` (one row a batch: the lines joined)."""

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            if batch.num_rows:
                lines = "".join(jsonl_line(row) for row in batch.select(
                    ["line", "reason", "removed_from"]).to_pylist()).encode()
                yield pa.RecordBatch.from_pydict({"value": pa.array([lines[:-1]],
                                                                     pa.binary())})


class SparkClean:
    """One ``clean`` run on Spark (see the module's docstring for the stages)."""

    def __init__(self, options: CleanOptions, read: ReadOptions, settings: SparkSettings,
                 progress: bool = False) -> None:
        if options.paragraphs:
            raise ValueError(PARAGRAPHS_LOCAL_ONLY)
        self.options, self.read, self.settings = options, read, settings
        self.progress = progress

    def write(self, inputs: list[str], staging: str, tmp_dir: str | None = None
              ) -> dict[str, Any]:
        """Clean ``inputs`` and write ``cleaned.jsonl``, ``boilerplate.jsonl`` and
        ``rejected.jsonl`` into ``staging`` (the URI of an output directory's staging
        directory), by the executors, as part files. Returns what ``summary.json`` says of
        the run beyond its header, as the local engine says it."""
        with started_run(self.settings, tmp_dir, inputs, self.progress) as run:
            return self._run(run.spark, run.stages, run.files, run.skipped, staging,
                             run.shown)

    def _run(self, spark: Any, stages: StageFiles, files: list[Any], skipped: list[Rejected],
             staging: str, shown: StageProgress) -> dict[str, Any]:
        from pyspark.sql import functions as F

        parts = cut_inputs(spark, files, self.settings)
        learned = None
        if self.options.learn:
            shown.step = "learning boilerplate"
            learned = learn_lines(spark, files, self.read, self.options.min_contexts)
        task = CleanPartition({file_key(f.uri): i for i, f in enumerate(files)}, self.read,
                              self.options.cleaner(learned))
        shown.step = "cleaning"
        cleaned = union([frame.mapInArrow(task, CleanPartition.SCHEMA)
                         for frame in read_inputs(spark, files, self.read)])
        records = number_records(stages.put(cleaned, "cleaned"), len(skipped))

        shown.step = "booking"
        docs = records.frame.where(F.col("kind") == DOCUMENT)
        refused = (docs.join(first_of_repeated_ids(docs), "id")
                   .where(F.col("first.ord") != F.col("ord")).select("ord", "first"))
        booked = stages.put(docs.join(refused, "ord", "left_anti"), "booked")
        names = [f.name for f in files]
        failed = (records.frame.where(F.col("kind") == REJECTED)
                  .select("file", "number", "id", "reason"))
        repeated_ids = (docs.join(refused, "ord")
                        .select("file", "number", "id", F.lit(1).cast("long").alias("ntokens"),
                                F.col("first.file").alias("first_file"),
                                F.col("first.number").alias("first_number"))
                        .mapInArrow(RejectionReasons(names), RejectionReasons.SCHEMA))
        rejected = stages.put(failed.unionByName(repeated_ids), "rejected")

        files_out = HadoopFiles(spark)
        shown.step = "writing cleaned.jsonl"
        outputs.write_lines(outputs.sorted_by(booked.select("ord", "value"), parts, "ord")
                            .select(F.col("value").cast("binary").alias("value")),
                            f"{staging}/cleaned.jsonl", files_out)
        shown.step = "writing boilerplate.jsonl"
        outputs.write_lines(_boilerplate(booked, parts), f"{staging}/boilerplate.jsonl",
                            files_out)
        shown.step = "writing rejected.jsonl"
        outputs.write_rejected(rejected, names, skipped, f"{staging}/rejected.jsonl",
                               files_out, parts)

        shown.step = "summing up"
        totals = booked.agg(F.count("*").alias("cleaned"),
                            F.sum("chars_in").alias("chars_in"),
                            F.sum("chars_out").alias("chars_out")).first()
        cleaned_count = int(totals["cleaned"])
        return {"documents_read": records.read, "cleaned": cleaned_count,
                "rejected": records.read - cleaned_count,
                "characters_in": int(totals["chars_in"] or 0),
                "characters_out": int(totals["chars_out"] or 0),
                "removed_by_kind": _removed_by_kind(booked),
                "learned_lines": len(learned or {})}


def _boilerplate(booked: Any, partitions: int) -> Any:
    """The lines of ``boilerplate.jsonl``: each learned line removed, with the reason it
    was first removed for and the documents it was removed from, most documents first
    (ties in the order of their first removal, as the local engine lists them)."""
    from pyspark.sql import functions as F

    removals = booked.select("ord", F.posexplode("repeated").alias("at", "removal"))
    lines = (removals.groupBy(F.col("removal.line").alias("line"))
             .agg(F.count("*").alias("removed_from"),
                  F.min(F.struct("ord", "at", F.col("removal.reason").alias("reason")))
                  .alias("first"))
             .select("line", F.col("first.reason").alias("reason"), "removed_from",
                     (-F.col("removed_from")).alias("order"),
                     F.col("first.ord").alias("first_ord"), F.col("first.at").alias("first_at")))
    return (outputs.sorted_by(lines, partitions, "order", "first_ord", "first_at")
            .mapInArrow(BoilerplateLines(), "value binary"))


def _removed_by_kind(booked: Any) -> dict[str, int]:
    """Removals counted by kind, most first (ties in the order each kind was first
    removed, as the local engine counts them): a row a kind reaches the driver."""
    from pyspark.sql import functions as F

    rows = (booked.select("ord", F.posexplode("kinds").alias("at", "k"))
            .groupBy(F.col("k.kind").alias("kind"))
            .agg(F.sum("k.n").alias("n"), F.min(F.struct("ord", "at")).alias("first"))
            .collect())
    rows.sort(key=lambda r: (-r["n"], r["first"]["ord"], r["first"]["at"]))
    return {r["kind"]: int(r["n"]) for r in rows}

