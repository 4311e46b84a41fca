"""``neardup dedup --match story`` (:mod:`neardup.story`) as Spark stages, with the local
engine's results.

The stages, and what each shuffles:

1. **read, clean and shingle** (no shuffle): records are read, placed and cleaned as the
   dedup plan does it (:class:`~neardup.engine.spark.plan.SketchPartition`); each
   document's story shingles (:func:`~neardup.story.story_shingles`) are its payload, and
   their number stands for its words.
2. **number and book** (shuffles: the ids): as the dedup plan; a document with no shingle
   or an id read before is refused, worded as the local engine words it.
3. **postings** (shuffles: one row a shingle of a document): each shingle's hash with its
   low bits cleared, as the local engine packs it
   (:func:`~neardup.reuse.candidates.document_mask`), beside its document. The driver sees
   how many shingles each number of holders has, and lowers the star cut-off from there
   as the local engine does (:func:`~neardup.reuse.candidates.star_cutoff`). The rows of
   one shingle meet in one partition, sorted, and are counted there by the local
   engine's function (:func:`~neardup.reuse.candidates.pair_counts`); the pairs linked by
   at least ``min_shared`` shingles are the candidates (shuffle: the pair counts).
4. **verify** (shuffle: the candidates, joined twice with their documents' shingle sets):
   ``C`` on the executors (:func:`~neardup.story.containment`).
5. **components** (:mod:`neardup.engine.spark.components`), then **decide** (shuffle: the
   grouped documents' shingle sets, by group): each group decided by
   :func:`~neardup.story.decide_group`, the local engine's function.
6. **write**: each output sorted across partitions and written as part files by the
   executors (:mod:`neardup.engine.spark.outputs`), ``kept/`` as the dedup plan writes it.

Nothing depends on partition counts or the order tasks finish in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from ..._sketch import sort_u64
from ...clean.cleaner import Cleaner, CleanOptions
from ...document import Rejected
from ...io.readers import ReadOptions
from ...io.writers import jsonl_line
from ...reuse.candidates import (
    MIN_BUDGET,
    PAIR_BUDGET,
    CandidateStats,
    document_mask,
    pair_budget_of,
    pair_counts,
    star_cutoff,
    summed_pairs,
)
from ...story import (
    StoryOptions,
    StoryPair,
    StorySummary,
    cluster_row,
    containment,
    decide_group,
    story_shingles,
)
from . import outputs
from .components import connected_components
from .plan import (
    _OK,
    DOCUMENT,
    SHOWN_REJECTIONS,
    SKETCH_SCHEMA,
    InputFile,
    KeptSources,
    SketchPartition,
    StageProgress,
    binary_column,
    binary_items,
    book_documents,
    cut_inputs,
    file_key,
    first_rejections,
    learn_lines,
    number_records,
    partition_table,
    read_inputs,
    rejected_records,
    started_run,
    union,
    write_outputs,
)
from .session import SparkSettings

_U64 = np.dtype(np.uint64)


class StoryPartition(SketchPartition):
    """Stage 1 on an executor: as :class:`SketchPartition` places and cleans the records,
    each document's story shingles as its payload and their number as ``ntokens``. Its
    exact key is its place: the story rule has no exact copies apart."""

    def __init__(self, files: dict[str, int], read: ReadOptions, cleaner: Cleaner | None
                 ) -> None:
        self.files, self.read, self.cleaner = files, read, cleaner

    def rows_maker(self) -> Any:
        return self._story_rows

    def _story_rows(self, out: dict[str, list[Any]], texts: list[str]) -> Any:
        import pyarrow as pa

        n = len(out["file"])
        sets = [story_shingles(t) for t in texts]
        is_doc = np.array(out["kind"], dtype=np.int8) == DOCUMENT
        counts = np.zeros(n, dtype=np.int64)
        counts[is_doc] = [len(s) for s in sets]
        payload = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint64)
        nothing = binary_column(np.empty(0, dtype=np.uint8), np.zeros(n, dtype=np.int64))
        return pa.RecordBatch.from_pydict({
            "file": pa.array(out["file"], pa.int32()), "block": pa.array(out["block"], pa.int64()),
            "row": pa.array(out["row"], pa.int64()), "record": pa.array(out["record"], pa.int64()),
            "kind": pa.array(out["kind"], pa.int8()), "prank": pa.array(out["prank"], pa.int64()),
            "id": pa.array(out["id"], pa.string()), "reason": pa.array(out["reason"], pa.string()),
            "key_hi": np.array(out["block"], dtype=np.int64),
            "key_lo": (np.array(out["file"], dtype=np.int64) << 40)
            | np.array(out["row"], dtype=np.int64),
            "ntokens": counts, "bands": nothing, "sig": nothing,
            "payload": binary_column(payload, counts * 8)})


class Postings:
    """Stage 3 on an executor: each document's shingles as postings, packed as the local
    engine packs them (:func:`~neardup.reuse.candidates.shared_shingle_pairs`): the
    hash's high bits, the document's number in the low bits (signed, as Spark holds a
    long; values that share their high bits order the same signed or not, so a sort
    keeps each shingle's postings together, by document)."""

    def __init__(self, low: int) -> None:
        self.low = low

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        keep = ~np.uint64(self.low)
        for batch in batches:
            sets = binary_items(batch.column("payload"), _U64)
            if not sets:
                continue
            ords = batch.column("ord").to_numpy().astype(np.uint64)
            packed = ((np.concatenate(sets) & keep)
                      | np.repeat(ords, [len(s) for s in sets]))
            yield pa.RecordBatch.from_pydict({"packed": packed.view(np.int64)})


class CountPairs:
    """Stage 3 on an executor: a partition's packed postings, every one of a shingle in
    it, sorted here as unsigned numbers (each shingle's together, by document; a radix
    sort, :func:`~neardup._sketch.sort_u64`) and counted by
    :func:`~neardup.reuse.candidates.pair_counts` into ``(pair, shared)`` rows (``pair``
    = ``a << 32 | b``)."""

    def __init__(self, low: int, star_above: int, max_doc_frequency: int) -> None:
        self.low, self.star_above, self.max_doc_frequency = low, star_above, max_doc_frequency

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        table = partition_table(batches)
        if table is None:
            return
        packed = table.column("packed").to_numpy().view(np.uint64).copy()
        sort_u64(packed)
        keys, counted = pair_counts(packed, np.uint64(self.low), self.star_above,
                                    self.max_doc_frequency, None, CandidateStats())
        yield pa.RecordBatch.from_pydict({"pair": keys.view(np.int64),
                                          "shared": counted.astype(np.int32)})


class SumPairs:
    """Stage 3 on an executor: a partition's pair counts, every row of a pair in it,
    summed as the local engine sums them (:func:`~neardup.reuse.candidates.summed_pairs`);
    the pairs linked by at least ``min_shared`` shingles, as ``(a, b)``. (Summed here in
    one sort, not by Spark's aggregation: each task of the step before already summed
    its own rows, so Spark's partial sums would find nothing to merge.)"""

    def __init__(self, min_shared: int) -> None:
        self.min_shared = min_shared

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        table = partition_table(batches)
        if table is None:
            return
        keys, _ = summed_pairs(table.column("pair").to_numpy().view(np.uint64),
                               table.column("shared").to_numpy(), self.min_shared)
        yield pa.RecordBatch.from_pydict({
            "a": (keys >> np.uint64(32)).astype(np.int64),
            "b": (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)})


class Containments:
    """Stage 4 on an executor: rows ``(a, b, first, second)``, a pair with both shingle
    sets, to ``(a, b, score)``: ``C(a, b)``."""

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            if not batch.num_rows:
                continue
            firsts = binary_items(batch.column("first"), _U64)
            seconds = binary_items(batch.column("second"), _U64)
            yield pa.RecordBatch.from_pydict({
                "a": batch.column("a"), "b": batch.column("b"),
                "score": np.array([containment(x, y) for x, y in zip(firsts, seconds)],
                                  dtype=np.float64)})


class DecideGroups:
    """Stage 5 on an executor: a partition's group members ``(cluster, ord, payload)``,
    sorted by group and reading order, each group decided by
    :func:`~neardup.story.decide_group`: ``(ord, keep, to_kept)``."""

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        table = partition_table(batches)
        if table is None:
            return
        cluster = table.column("cluster").to_numpy()
        ords = table.column("ord").to_numpy()
        sets = binary_items(table.column("payload").combine_chunks(), _U64)
        starts = np.flatnonzero(np.r_[True, cluster[1:] != cluster[:-1]])
        keep, to_kept = [], []
        for start, stop in zip(starts.tolist(), np.append(starts[1:], len(ords)).tolist()):
            decided = decide_group(sets[start:stop])
            keep.append(decided[1])
            to_kept.append(decided[2])
        yield pa.RecordBatch.from_pydict({"ord": ords, "keep": np.concatenate(keep),
                                          "to_kept": np.concatenate(to_kept)})


class StoryLines:
    """On an executor: rows in order as JSON lines, one row a batch (the lines joined);
    ``kind`` is ``pairs`` (``a, b, score``: :meth:`StoryPair.to_dict`) or ``clusters``
    (:func:`~neardup.story.cluster_row`)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            if not batch.num_rows:
                continue
            rows = batch.to_pylist()
            if self.kind == "pairs":
                dicts = [StoryPair(r["a"], r["b"], r["score"]).to_dict() for r in rows]
            else:
                dicts = [cluster_row(r["id"], r["cluster"], r["size"], r["keep"],
                                     r["to_kept"]) for r in rows]
            lines = "".join(jsonl_line(d) for d in dicts).encode()
            yield pa.RecordBatch.from_pydict({"value": pa.array([lines[:-1]], pa.binary())})


@dataclass
class StoryOutcome:
    """What a run decided, held by the executors: per document (``documents``: ``ord, id,
    file, number, status, cluster, size, keep, to_kept``), the records not compared
    (``rejected``), the pairs of one story (``edges``: ``a, b, score``); on the driver the
    summary, the input names, the inputs not read, the partitions and the progress
    display."""

    documents: Any
    rejected: Any
    edges: Any
    summary: StorySummary
    names: list[str]
    skipped: list[Rejected]
    partitions: int
    progress: StageProgress

    def pair_rows(self) -> Any:
        """``pairs.jsonl``'s lines (a ``value`` column), in order across partitions."""
        from pyspark.sql import functions as F

        ids = self.documents.select("ord", "id")
        named = (self.edges.join(ids.select(F.col("ord").alias("a"), F.col("id").alias("ia")),
                                 "a")
                 .join(ids.select(F.col("ord").alias("b"), F.col("id").alias("ib")), "b"))
        rows = outputs.sorted_by(named.select(F.col("a").alias("oa"), F.col("b").alias("ob"),
                                              F.col("ia").alias("a"), F.col("ib").alias("b"),
                                              "score"), self.partitions, "oa", "ob")
        return rows.mapInArrow(StoryLines("pairs"), "value binary")

    def cluster_rows(self) -> Any:
        """``clusters.jsonl``'s lines, by group, then reading order."""
        return outputs.cluster_line_rows(self.documents, self.partitions,
                                         StoryLines("clusters"))


class SparkStories:
    """One ``dedup --match story`` run on Spark (see the module's docstring)."""

    def __init__(self, options: StoryOptions, read: ReadOptions, settings: SparkSettings,
                 clean: CleanOptions | None, progress: bool = False) -> None:
        self.options, self.read, self.settings = options, read, settings
        self.clean, self.progress = clean, progress
        self._files: list[InputFile] = []
        self._line_bases: dict[tuple[int, int], int] = {}

    def write(self, inputs: list[str], staging: str, kept_format: str = "input"
              ) -> StorySummary:
        """The stories of ``inputs``, the outputs written into ``staging`` (a URI) by the
        executors; their counts and first rejections."""
        from pyspark.sql import functions as F

        with started_run(self.settings, None, inputs, self.progress) as run:
            outcome = self._run(run)
            write_outputs(staging, outcome.progress, {
                "pairs.jsonl": outcome.pair_rows(), "clusters.jsonl": outcome.cluster_rows()},
                outcome.rejected, outcome.names, outcome.skipped,
                outcome.documents.where(F.col("keep")).select("file", "number"),
                KeptSources(self._files, self._line_bases, self.read, inputs),
                kept_format == "parquet", outcome.partitions)
            return outcome.summary

    def print_pairs(self, inputs: list[str], stream: IO[bytes]) -> StorySummary:
        """The stories of ``inputs``, ``pairs.jsonl``'s lines written to ``stream`` a
        partition at a time."""
        with started_run(self.settings, None, inputs, self.progress) as run:
            outcome = self._run(run)
            outcome.progress.step = "writing the pairs"
            for row in outcome.pair_rows().toLocalIterator():
                stream.write(row.value + b"\n")
            return outcome.summary

    def _run(self, run: Any) -> StoryOutcome:
        from pyspark.sql import functions as F

        spark, stages, shown, opts = run.spark, run.stages, run.shown, self.options
        self._files = run.files
        partitions = cut_inputs(spark, run.files, self.settings)
        learned = None
        if self.clean is not None and self.clean.learn:
            shown.step = "learning boilerplate"
            learned = learn_lines(spark, run.files, self.read, self.clean.min_contexts)
        cleaner = self.clean.cleaner(learned) if self.clean is not None else None
        index = {file_key(f.uri): i for i, f in enumerate(run.files)}
        shingled = union([frame.mapInArrow(StoryPartition(index, self.read, cleaner),
                                           SKETCH_SCHEMA)
                          for frame in read_inputs(spark, run.files, self.read)])

        shown.step = "reading and shingling"
        records = number_records(stages.put(shingled, "shingled"), len(run.skipped))
        self._line_bases = records.line_bases
        numbered, n = records.frame, records.documents
        docs = numbered.where(F.col("kind") == DOCUMENT)

        shown.step = "booking"
        documents = stages.put(book_documents(docs), "documents")
        names = [f.name for f in run.files]
        rejected = stages.put(rejected_records(spark, numbered, documents, names, run.skipped),
                              "rejected")
        sets = stages.put(docs.select("ord", "payload").join(
            documents.where(F.col("status") == _OK).select("ord"), "ord", "left_semi"),
            "sets")

        shown.step = "indexing shingles"
        low = int(document_mask(max(n, 1)))
        postings = stages.put(sets.mapInArrow(Postings(low), "packed long"), "postings")
        shingle = F.col("packed").bitwiseAND(~low)  # a posting's shingle: its high bits
        held = (postings.groupBy(shingle).count()
                .groupBy(F.least("count", F.lit(opts.star_above + 1)).alias("holders"))
                .agg(F.count("*").alias("shingles"), F.sum("count").alias("postings"))
                .toArrow())
        histogram = np.zeros(opts.star_above + 2, dtype=np.int64)
        histogram[held.column("holders").to_numpy()] = held.column("shingles").to_numpy()
        total = int(held.column("postings").to_numpy().sum())
        star = (star_cutoff(histogram, opts.star_above,
                            pair_budget_of(total, PAIR_BUDGET, MIN_BUDGET))
                if n >= 2 and total else opts.star_above)

        shown.step = "counting shared shingles"
        counted = (postings.repartition(partitions, shingle)
                   .mapInArrow(CountPairs(low, star, opts.max_doc_frequency),
                               "pair long, shared int")
                   .repartition(partitions, "pair")
                   .mapInArrow(SumPairs(opts.min_shared), "a long, b long"))
        candidates = stages.put(counted, "candidates")

        shown.step = "verifying"
        scored = (candidates
                  .join(sets.select(F.col("ord").alias("a"), F.col("payload").alias("first")),
                        "a")
                  .join(sets.select(F.col("ord").alias("b"), F.col("payload").alias("second")),
                        "b")
                  .select("a", "b", "first", "second")
                  .mapInArrow(Containments(), "a long, b long, score double"))
        edges = stages.put(scored.where(F.col("score") >= opts.threshold), "edges")
        pairs = edges.count()

        shown.step = "connected components"
        roots = connected_components(edges.select("a", "b"), edge_count=pairs,
                                     materialize=lambda frame: stages.put(frame, "components"))
        members = stages.put(roots.select(F.col("node").alias("ord"),
                                          F.col("root").alias("cluster")), "members")

        shown.step = "deciding"
        sizes = members.groupBy("cluster").agg(F.count("*").alias("size"))
        decided = (members.join(sets, "ord")
                   .repartition(partitions, "cluster").sortWithinPartitions("cluster", "ord")
                   .select("cluster", "ord", "payload")
                   .mapInArrow(DecideGroups(),
                               "ord long, keep boolean, to_kept double"))
        grouped = members.join(sizes, "cluster").join(decided, "ord")
        outcome = stages.put(
            documents.select("ord", "id", "file", "number", "status")
            .join(grouped.select("ord", "cluster", "size", F.col("keep").alias("kept_copy"),
                                 "to_kept"), "ord", "left")
            .withColumn("keep", (F.col("status") == _OK)
                        & F.coalesce("kept_copy", F.lit(True)))
            .drop("kept_copy"), "outcome")
        tally = outcome.agg(
            F.sum(F.col("keep").cast("long")).alias("kept"),
            F.sum((F.col("cluster").isNotNull() & ~F.col("keep")).cast("long")).alias("removed"),
            F.countDistinct("cluster").alias("groups")).first()
        rejected_count = rejected.count()
        counts = {"documents_read": int(tally["kept"] or 0) + int(tally["removed"] or 0)
                  + rejected_count, "kept": int(tally["kept"] or 0),
                  "removed": int(tally["removed"] or 0), "rejected": rejected_count,
                  "groups": int(tally["groups"] or 0), "pairs": pairs}
        summary = StorySummary(counts, candidates.count(), first_rejections(
            rejected, names, run.skipped, SHOWN_REJECTIONS))
        return StoryOutcome(outcome, rejected, edges, summary, names, run.skipped, partitions,
                            shown)
