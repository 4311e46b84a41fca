"""A Spark dedup run's output, written by the executors where the data is.

Each output the local engine writes as one file is a directory of part files here:
``pairs.jsonl/``, ``clusters.jsonl/``, ``rejected.jsonl/`` and, for each input, its
``kept/`` entry. The rows of an output are sorted across partitions (a range
partitioning) and within each, and written by the task that holds them; its part files,
read in the order of their names, are the local engine's file, byte for byte (``kept/``
as Parquet: the same rows). The lines are made by the functions the local engine writes
with (:func:`neardup.dedup.pair_lines`, :func:`~neardup.dedup.cluster_lines`,
:func:`neardup.io.writers.jsonl_line`). Only ``summary.json`` is written by the driver.

Spark writes through its own commit protocol into the run's staging directory
(:class:`neardup.io.outdir.OutputDir`, or on another file system
:class:`~neardup.engine.spark.files.RemoteOutputDir`), whose commit then makes the whole
run visible.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...dedup import Status, cluster_lines, exact_group_line, json_strings, pair_lines
from ...document import Document, Rejected, Source
from ...io.outdir import PART_PREFIX
from ...io.readers import BOM, ReadOptions, parse_jsonl_line, record_from_row
from ...io.writers import (
    KEPT_COLUMNS,
    jsonl_line,
    kept_documents,
    kept_parquet_path,
    kept_path,
    rejected_rows,
)
from .files import HadoopFiles

_OK = int(Status.OK)


class ClusterLines:
    """On an executor: rows of group members, in order, as lines of ``clusters.jsonl``
    (one row a batch: the lines joined)."""

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            if not batch.num_rows:
                continue
            rows = batch.to_pydict()
            to_kept = np.array([np.nan if v is None else v for v in rows["to_kept"]])
            lines = cluster_lines(rows["id"], rows["cluster"], rows["size"], rows["keep"],
                                  to_kept)
            yield pa.RecordBatch.from_pydict({"value": pa.array([lines[:-1]], pa.binary())})


class PairLines:
    """On an executor: rows of matching pairs, in order, as lines of ``pairs.jsonl``: a
    row with ``members`` is a group of exact copies listed whole, one without a score a
    pair of exact copies, the others near pairs."""

    def __init__(self, estimated: bool) -> None:
        self.estimated = estimated

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            if not batch.num_rows:
                continue
            rows = batch.to_pydict()
            kinds = [0 if m is not None else 1 if s is None else 2
                     for m, s in zip(rows["members"], rows["score"])]
            pieces = []
            start = 0
            for end in range(1, len(kinds) + 1):
                if end < len(kinds) and kinds[end] == kinds[start]:
                    continue
                if kinds[start] == 0:
                    pieces += [exact_group_line(m) for m in rows["members"][start:end]]
                else:
                    scores = (None if kinds[start] == 1 else
                              np.array(rows["score"][start:end], dtype=float))
                    pieces.append(pair_lines(json_strings(rows["a"][start:end]),
                                             json_strings(rows["b"][start:end]), scores,
                                             self.estimated))
                start = end
            lines = b"".join(pieces)
            yield pa.RecordBatch.from_pydict({"value": pa.array([lines[:-1]], pa.binary())})


class RejectedLines:
    """On an executor: rows ``(file, number, id, reason)`` of records not compared, in
    reading order, as lines of ``rejected.jsonl`` (an input not read: ``file`` -1, the
    ``number``-th of ``skipped``). With ``queries``, each line says its side of a ``find``
    run: the first ``queries`` of ``skipped`` are the queries'."""

    def __init__(self, names: list[str], skipped: list[Rejected],
                 queries: int | None = None) -> None:
        self.names, self.skipped, self.queries = names, skipped, queries

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            if not batch.num_rows:
                continue
            rows = batch.to_pydict()
            refused = [self.skipped[number] if file < 0 else
                       Rejected(Source(self.names[file], number), reason, doc_id)
                       for file, number, doc_id, reason in zip(
                           rows["file"], rows["number"], rows["id"], rows["reason"])]
            if self.queries is None:
                rows_out = list(rejected_rows(refused))
            else:
                rows_out = [next(iter(rejected_rows(
                    [r], "query" if file < 0 and number < self.queries else "corpus")))
                    for r, file, number in zip(refused, rows["file"], rows["number"])]
            lines = "".join(jsonl_line(row) for row in rows_out).encode()
            yield pa.RecordBatch.from_pydict({"value": pa.array([lines[:-1]], pa.binary())})


class PlacedLines:
    """On an executor: JSONL lines (``value``, with their split's ``path`` and ``block``)
    as ``(file, number, value)``: a line's number is the lines of its file before its
    split (``line_bases``) plus its row in the split, plus one; the byte-order mark of a
    file's first line is dropped, as the local reader drops it."""

    SCHEMA = "file int, number long, value binary"

    def __init__(self, files: dict[str, int], line_bases: dict[tuple[int, int], int]) -> None:
        self.files, self.line_bases = files, line_bases

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from .plan import file_key

        rows_before: dict[tuple[int, int], int] = {}
        for batch in batches:
            paths, blocks = batch.column("path").to_pylist(), batch.column("block").to_pylist()
            values = batch.column("value").to_pylist()
            file_no, numbers = [], []
            for k, (path, block) in enumerate(zip(paths, blocks)):
                file = self.files[file_key(path)]
                row = rows_before.get((file, block), 0)
                rows_before[(file, block)] = row + 1
                if block == 0 and row == 0:
                    values[k] = values[k].removeprefix(BOM)
                file_no.append(file)
                numbers.append(self.line_bases.get((file, block), 0) + row + 1)
            yield pa.RecordBatch.from_pydict({
                "file": pa.array(file_no, pa.int32()), "number": pa.array(numbers, pa.int64()),
                "value": pa.array(values, pa.binary())})


class KeptDocuments:
    """On an executor: kept records (JSONL lines as :class:`PlacedLines` gives them, or
    Parquet rows with their ``row_index``) as documents in :data:`KEPT_COLUMNS`
    (:func:`neardup.io.writers.kept_documents`), with their ``target``, ``file`` and
    ``number``."""

    def __init__(self, names: list[str], read: ReadOptions, targets: list[int],
                 files: dict[str, int] | None = None) -> None:
        self.names, self.read, self.targets, self.files = names, read, targets, files

    @staticmethod
    def schema() -> str:
        return ", ".join([f"{c} {'long' if c == 'record' else 'string'}" for c in KEPT_COLUMNS]
                         + ["target int", "file int", "number long"])

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from .plan import file_key

        for batch in batches:
            rows = batch.to_pydict()
            if "value" in rows:
                places = list(zip(rows["file"], rows["number"]))
                docs = [parse_jsonl_line(line, Source(self.names[f], n), self.read)
                        for line, (f, n) in zip(rows["value"], places)]
            else:
                places = [(self.files[file_key(p)], n)  # type: ignore[index]
                          for p, n in zip(rows["path"], rows["row_index"])]
                meta = {key: name for key, name in self.read.meta_fields.items()
                        if name in rows}
                docs = [record_from_row(rows["doc_id"][k], rows["doc_text"][k],
                                        {key: rows[name][k] for key, name in meta.items()},
                                        Source(self.names[f], n), self.read)
                        for k, (f, n) in enumerate(places)]
            held = [k for k, d in enumerate(docs) if isinstance(d, Document)]
            table = kept_documents([docs[k] for k in held])  # type: ignore[misc]
            chosen = [places[k] for k in held]
            yield pa.RecordBatch.from_pydict({
                **{name: table.column(name).combine_chunks() for name in KEPT_COLUMNS},
                "target": pa.array([self.targets[f] for f, _ in chosen], pa.int32()),
                "file": pa.array([f for f, _ in chosen], pa.int32()),
                "number": pa.array([n for _, n in chosen], pa.int64())})


def sorted_by(frame: Any, partitions: int, *keys: str) -> Any:
    """``frame`` range-partitioned and sorted by ``keys``: its partitions, in order, hold
    the rows in order."""
    return frame.repartitionByRange(partitions, *keys).sortWithinPartitions(*keys)


def write_lines(frame: Any, directory: str, files: HadoopFiles, extension: str = ".jsonl",
                partition: str | None = None, compression: str = "none") -> None:
    """Write a ``value`` column of lines (binary, without their newline) as text part
    files into ``directory`` (a URI), named as :func:`name_parts` names them."""
    from pyspark.sql import functions as F

    columns = [F.col("value").cast("string").alias("value")]
    if partition is not None:
        columns.append(F.col(partition))
    writer = frame.select(*columns).write.option("compression", compression)
    if partition is not None:
        writer = writer.partitionBy(partition)
    writer.text(directory)
    name_parts(files, directory, extension)
    if partition is None and not files.files(directory):  # no rows: one empty part
        files.write_text(f"{directory}/{PART_PREFIX}00000{extension}", "")


_SPARK_PART = re.compile(r"part-(\d+)-.*?(?:-c(\d+))?(?:\.[a-z0-9.]+)?$")


def name_parts(files: HadoopFiles, directory: str, extension: str) -> None:
    """Spark's part files below ``directory`` renamed ``part-NNNNN`` + ``extension`` (the
    task's partition, so the names sort in the rows' order), and its marker and checksum
    files removed."""
    for uri in files.files(directory):
        parent, name = uri.rsplit("/", 1)
        if name == "_SUCCESS" or name.endswith(".crc"):
            files.delete(uri)
            continue
        found = _SPARK_PART.match(name)
        if found is None:
            continue
        count = int(found.group(2) or 0)
        files.rename(uri, f"{parent}/{PART_PREFIX}{found.group(1)}"
                     + (f"-{count}" if count else "") + extension)


def pair_line_rows(documents: Any, edges: Any, partitions: int, max_group_pairs: int | None,
                   estimated: bool) -> Any:
    """The lines of ``pairs.jsonl`` (a ``value`` column of chunks of lines, in order across
    partitions): every pair of exact copies (a group of more than ``max_group_pairs`` pairs
    as one line listing it), then every near pair of representatives ``edges`` expanded
    to each copy of one side with each of the other, in the local engine's order
    (:meth:`neardup.dedup.DedupResult.pair_lines`)."""
    from pyspark.sql import functions as F

    ok = documents.where(F.col("status") == _OK).select("ord", "id", "exact_rep")
    copies = ok.groupBy("exact_rep").agg(F.count("*").alias("c")).where(F.col("c") > 1)
    whole = (F.lit(False) if max_group_pairs is None else
             F.col("c") * (F.col("c") - 1) / 2 > max_group_pairs)
    columns = ["section", "k1", "k2", "k3", "k4", "a", "b", "score", "members"]
    none_string, none_score = F.lit(None).cast("string"), F.lit(None).cast("double")
    none_members = F.lit(None).cast("array<string>")

    def side(name: str) -> Any:
        return ok.select(F.col("ord").alias(f"{name}o"), F.col("id").alias(f"{name}id"),
                         F.col("exact_rep").alias(name))

    expanded = ok.join(copies.where(~whole).select("exact_rep"), "exact_rep")
    x = expanded.select(F.col("exact_rep").alias("rep"), F.col("ord").alias("xo"),
                        F.col("id").alias("xid"))
    y = expanded.select(F.col("exact_rep").alias("rep"), F.col("ord").alias("yo"),
                        F.col("id").alias("yid"))
    exact = (x.join(y, "rep").where(F.col("xo") < F.col("yo"))
             .select(F.lit(0).alias("section"), F.col("rep").alias("k1"), F.col("xo").alias("k2"),
                     F.col("yo").alias("k3"), F.lit(0).cast("long").alias("k4"),
                     F.col("xid").alias("a"), F.col("yid").alias("b"), none_score.alias("score"),
                     none_members.alias("members")))
    listed = (ok.join(copies.where(whole).select("exact_rep"), "exact_rep")
              .groupBy("exact_rep")
              .agg(F.sort_array(F.collect_list(F.struct("ord", "id"))).alias("m"))
              .select(F.lit(0).alias("section"), F.col("exact_rep").alias("k1"),
                      F.lit(-1).cast("long").alias("k2"), F.lit(-1).cast("long").alias("k3"),
                      F.lit(0).cast("long").alias("k4"), none_string.alias("a"),
                      none_string.alias("b"), none_score.alias("score"),
                      F.col("m.id").alias("members")))
    first = F.col("xo") < F.col("yo")
    near = (edges.join(side("x").withColumnRenamed("x", "a"), "a")
            .join(side("y").withColumnRenamed("y", "b"), "b")
            .select(F.lit(1).alias("section"), F.col("a").alias("k1"), F.col("b").alias("k2"),
                    F.col("xo").alias("k3"), F.col("yo").alias("k4"),
                    F.when(first, F.col("xid")).otherwise(F.col("yid")).alias("a"),
                    F.when(first, F.col("yid")).otherwise(F.col("xid")).alias("b"), "score",
                    none_members.alias("members")))
    rows = sorted_by(exact.select(*columns).unionByName(listed.select(*columns))
                     .unionByName(near.select(*columns)), partitions, *columns[:5])
    return rows.mapInArrow(PairLines(estimated), "value binary")


def cluster_line_rows(documents: Any, partitions: int, lines: Any = None) -> Any:
    """The lines of ``clusters.jsonl`` (a ``value`` column): one a group member, by group,
    then reading order, made by ``lines`` (default :class:`ClusterLines`; it gets rows
    ``cluster, ord, id, size, keep, to_kept``)."""
    from pyspark.sql import functions as F

    members = documents.where(F.col("cluster").isNotNull()).select(
        "cluster", "ord", "id", "size", "keep", "to_kept")
    return sorted_by(members, partitions, "cluster", "ord").mapInArrow(
        lines if lines is not None else ClusterLines(), "value binary")


def write_rejected(rejected: Any, names: list[str], skipped: list[Rejected], directory: str,
                   files: HadoopFiles, partitions: int, queries: int | None = None) -> None:
    """``rejected.jsonl/``: every record not compared, in reading order (``queries``: as
    :class:`RejectedLines` takes it)."""
    write_lines(sorted_by(rejected, partitions, "file", "number")
                .mapInArrow(RejectedLines(names, skipped, queries), "value binary"),
                directory, files)


def kept_targets(inputs: list[str], input_files: list[Any], kept_dir: str, as_parquet: bool
                 ) -> tuple[list[int], list[str]]:
    """Where each input file's kept records go: its target's number, and the targets
    (directories of part files below ``kept_dir``, named as the local engine names its
    ``kept/`` files)."""
    here = Path("kept")
    paths: list[str] = []
    targets: list[int] = []
    for f in input_files:
        if as_parquet:
            target = kept_parquet_path(kept_path(here, inputs, f.input, inputs[f.input]))
        else:
            target = kept_path(here, inputs, f.input, f.name)
        uri = f"{kept_dir}/{target.relative_to(here).as_posix()}"
        if uri not in paths:
            paths.append(uri)
        targets.append(paths.index(uri))
    return targets, paths


def move_targets(files: HadoopFiles, written: str, paths: list[str]) -> None:
    """The parts of Spark's ``target=K`` directories under ``written`` moved into
    ``paths[K]``; ``written`` removed."""
    for directory in files.children(written):
        name = directory.rsplit("/", 1)[-1]
        if name.startswith("target="):
            target = paths[int(name.split("=", 1)[1])]
            for part in files.children(directory):
                files.rename(part, f"{target}/{part.rsplit('/', 1)[-1]}")
    files.delete(written)
