"""The public Python API. The CLI is a thin layer over these functions.

In memory::

    import neardup
    pairs = neardup.find_pairs(["text one ...", "text two ..."], threshold=0.8)
    result = neardup.dedup({"a": "text ...", "b": "text ..."})
    why = neardup.explain(text_a, text_b)
    reuse = neardup.find_reuse({"wire": "...", "paper": "..."})

On files (what ``neardup reuse`` and ``neardup report`` run)::

    neardup.reuse_files(["corpus/"], "out/")
    neardup.write_report("out/")        # out/report.html

On files (what ``neardup dedup`` runs)::

    result = neardup.dedup_files(["corpus/"], "out/")
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from .align import Explanation
from .align import explain as _explain_texts
from .clean import Cleaned, CleanOptions
from .clean.passes import CleanTask, FirstPass, first_pass, needs_first_pass
from .dedup import DedupOptions, DedupResult, DedupSummary, Pair, compared_text, payload_dtype
from .document import Docs, Document, as_documents
from .engine import LocalEngine, default_workers
from .engine.local import MemoryLimit
from .engine.local_dedup import Deduplicator
from .engine.local_story import StoryFinder, StoryRun
from .engine.spark import SparkSettings
from .errors import InputError
from .find import Finder, FindOptions, FindResult, Match
from .intake import Intake, map_batches
from .io.outdir import CLEAN_FILES, DEDUP_FILES, FIND_FILES, REUSE_FILES, OutputDir
from .io.pages import ParsedPages
from .io.readers import (
    RawRecord,
    ReadOptions,
    check_inputs,
    input_fingerprints,
    input_size,
    is_remote,
    read_input,
    read_inputs,
    read_jsonl_stream,
)
from .io.writers import (
    KEPT_FORMATS,
    jsonl_line,
    rejected_rows,
    summary_header,
    summary_text,
    write_jsonl,
    write_kept,
    write_kept_parquet,
    write_lines,
    write_summary,
)
from .progress import progress_wanted, reporter, track
from .reuse import ReuseFinder, ReuseOptions, ReuseResult
from .store import LiveTempDir, SpilledColumns, SpilledParts, SpilledRows, SpillStore
from .story import StoryOptions, StoryResult, StorySummary, find_stories
from .text import DEFAULT_NGRAM


def dedup(docs: Docs, threshold: float = 0.8, *, workers: int = 1,
          options: DedupOptions | None = None) -> DedupResult:
    """Exact and near-duplicate groups of in-memory documents (see :class:`DedupResult`).
    ``docs`` streams through once, or is held and read twice when ``options.clean``
    learns boilerplate."""
    opts = options or DedupOptions(threshold=threshold)
    documents: Iterable[Document] = as_documents(docs)
    learned = None
    if opts.clean is not None and opts.clean.learn:
        documents = list(documents)
        learned = first_pass(documents, opts.clean, LocalEngine(workers)).lines
    with Deduplicator(opts, LocalEngine(workers), *_spill_stores(opts),
                      learned=learned) as run:
        run.add(documents)
        return run.finish()


def find_pairs(docs: Docs, threshold: float = 0.8, *, workers: int = 1,
               options: DedupOptions | None = None) -> list[Pair]:
    """Every pair of documents whose shingle-set Jaccard is at least ``threshold``.

    Each ``Pair.jaccard`` is exact (verified), unless ``options.verify`` is off.
    """
    result = dedup(docs, threshold, workers=workers, options=options)
    return [p for p in result.iter_pairs(max_group_pairs=None) if isinstance(p, Pair)]


def stories(docs: Docs, options: StoryOptions = StoryOptions(),
            clean: CleanOptions | None = CleanOptions(), *, workers: int = 1) -> StoryResult:
    """Group documents that are copies of one story (:mod:`neardup.story`): abridged,
    extended, re-headlined or OCR-noisy. Texts are cleaned first as ``dedup`` cleans them
    (``clean=None`` compares them as they are); learning boilerplate reads ``docs``
    twice, so they are held."""
    documents = list(as_documents(docs))
    learned = None
    if clean is not None and clean.learn:
        learned = first_pass(documents, clean, LocalEngine(workers)).lines
    cleaner = clean.cleaner(learned) if clean is not None else None
    return find_stories([d.id for d in documents],
                        [compared_text(d, cleaner) for d in documents], options)


def _spill_stores(options: DedupOptions
                  ) -> tuple[SpillStore, SpilledColumns, SpilledRows]:
    """Where the local engine keeps each document's payload, its band keys and its
    signature bytes until they are needed: spill files in ``tmp_dir``, removed with the
    payload store."""
    payloads = SpillStore(payload_dtype(options), options.tmp_dir)
    return (payloads, SpilledColumns(payloads.directory, "bands", np.uint64),
            SpilledRows(payloads.directory, "signatures"))


def _reuse_finder(options: ReuseOptions, workers: int | None,
                  progress: bool | None = False) -> ReuseFinder:
    """A reuse run on the local engine: texts and counted pairs in spill files."""
    texts = SpillStore(np.uint8, options.tmp_dir)
    return ReuseFinder(options, LocalEngine(workers), texts, SpilledParts(texts.directory),
                       reporter(progress))


def explain(a: str, b: str, ngram: int = DEFAULT_NGRAM, a_id: str = "A",
            b_id: str = "B", clean: CleanOptions | None = None,
            story: bool = False, learned: dict[int, int] | None = None) -> Explanation:
    """Why two texts match: exact Jaccard, containment, shared passages, each side's extras.
    With ``clean``, extras that cleaning removes are marked, and the cleaned Jaccard given:
    the patterns and the header rule, and the boilerplate ``learned`` from a corpus
    (:func:`learn_boilerplate`) when given, so that the texts compared are those ``dedup``
    compares on that corpus. With ``story``, passages are aligned through OCR noise
    (:func:`neardup.align.explain`)."""
    return _explain_texts(a, b, ngram, a_id, b_id,
                          clean.cleaner(learned) if clean is not None else None, story)


def learn_boilerplate(inputs: list[str], read: ReadOptions = ReadOptions(),
                      clean: CleanOptions = CleanOptions(), workers: int | None = None,
                      progress: bool | None = None) -> dict[int, int]:
    """The boilerplate lines ``dedup`` learns from ``inputs`` (its first pass), for
    :func:`explain`: line key -> the number of different articles it stood beside."""
    check_inputs(inputs, read)
    return _learn(inputs, read, None, clean, workers, progress).lines


def find_reuse(docs: Docs, options: ReuseOptions = ReuseOptions(), *,
               workers: int = 1) -> ReuseResult:
    """Passages of at least ``options.min_words`` words that documents share, even when the
    documents as wholes differ: pairs with their aligned passages (offsets in both texts,
    identity, containment both ways) and passage groups across documents with provenance
    (see :mod:`neardup.reuse`). ``docs`` streams through once."""
    with _reuse_finder(options, workers) as finder:
        finder.add(as_documents(docs))
        return finder.finish()


def find_texts(queries: Docs, corpus: Docs, options: FindOptions = FindOptions(), *,
               workers: int = 1) -> FindResult:
    """Where each query occurs in ``corpus``: per query, the share of its n-grams found and
    the documents holding them; per document and query, the checked passages (``matches``,
    in reading order). See :mod:`neardup.find`. ``corpus`` streams through once."""
    finder = Finder(options, LocalEngine(workers))
    finder.set_queries(as_documents(queries))
    matches: list[Match] = []
    finder.scan(as_documents(corpus), matches.append)
    result = finder.finish()
    result.matches = matches
    return result


def clean(docs: Docs, options: CleanOptions = CleanOptions()) -> list[tuple[str, Cleaned]]:
    """Clean in-memory documents: ``(id, Cleaned)`` in order. With ``options.learn`` the
    documents are read twice (learn boilerplate, then clean), so pass a list, not a generator.
    """
    documents = list(as_documents(docs))
    learned = (first_pass(documents, options, LocalEngine(1)) if needs_first_pass(options)
               else FirstPass())
    cleaner = options.cleaner(learned.lines)
    return [(d.id, cleaner.clean(d.text, d.meta.get("site", ""), d.meta.get("title"),
                                 learned.seen, n, learned.names))
            for n, d in enumerate(documents)]


def clean_files(inputs: list[str], outdir: str | Path, options: CleanOptions = CleanOptions(),
                read: ReadOptions = ReadOptions(), progress: bool | None = None,
                workers: int | None = None, force: bool = False,
                spark: SparkSettings | None = None, tmp_dir: str | None = None
                ) -> dict[str, Any]:
    """Clean files into ``outdir``: ``cleaned.jsonl`` (id, text, title, date, removed spans
    with reasons and offsets into the original), ``boilerplate.jsonl`` (the learned lines),
    ``rejected.jsonl`` and ``summary.json``; returns the summary. Outputs appear only when
    complete (see :mod:`neardup.io.outdir`). With ``spark`` the executors write each output
    but the summary as a directory of part files whose concatenation is the local
    engine's file (:mod:`neardup.engine.spark.clean`; paragraph dedup is local only).
    ``tmp_dir``: where a copy of standard input and HTML pages' extracted text between the
    passes go (default: the system's temporary directory), and Spark's scratch space."""
    _check_inputs(inputs, read, spark)
    if tmp_dir is not None:
        LiveTempDir(tmp_dir).close()  # one that cannot be used says so now, as dedup's does
    started = time.perf_counter()
    fingerprints = input_fingerprints(inputs)
    if spark is not None:
        from .engine.spark.clean import SparkClean

        on_spark = SparkClean(options, read, spark, _progress(progress))
        with _spark_output(str(outdir), "clean", force, spark, tmp_dir,
                           CLEAN_FILES) as (out, staging):
            summary = {**summary_header("clean", inputs, read, fingerprints),
                       **on_spark.write(inputs, staging),
                       "seconds": round(time.perf_counter() - started, 3)}
            out.write_text("summary.json", summary_text(summary))
            out.commit()
        return summary
    with OutputDir(outdir, "clean", force=force, expected=CLEAN_FILES) as out, \
            _stdin_copy(inputs, tmp_dir) as stdin:
        learned, second, pages = FirstPass(), stdin, None
        if needs_first_pass(options):
            pages = ParsedPages(tmp_dir)
            learned = _learn(inputs, read, stdin, options, workers, progress, pages)
            second = stdin.replay() if stdin else None  # standard input was read once already
        task = CleanTask(options.cleaner(learned.lines), learned)
        replay = _records(inputs, read, second, ranges=not task.needs_positions, pages=pages)
        summary = _write_cleaned(replay, task, LocalEngine(workers), out, progress,
                                 input_size(inputs))
        summary = {**summary_header("clean", inputs, read, fingerprints), **summary,
                   "seconds": round(time.perf_counter() - started, 3),
                   "learned_lines": len(learned.lines or {})}
        write_summary(out.file("summary.json"), summary)
        out.commit()
    return summary


def _write_cleaned(records: Iterable[RawRecord], task: CleanTask, engine: LocalEngine,
                   out: OutputDir, progress: bool | None, total_bytes: int | None
                   ) -> dict[str, Any]:
    intake = Intake()
    reading = track(records, total_bytes, progress, desc="cleaning",
                    count=lambda: intake.documents_read)

    kinds: dict[str, int] = {}
    seen_lines: dict[str, dict[str, Any]] = {}
    chars_in = chars_out = 0
    with open(out.file("cleaned.jsonl"), "w", encoding="utf-8") as fh, reading:
        # Positions among the records that reached the engine, as the first pass counts.
        for first, sent, done in map_batches(engine, task, reading, intake,
                                             with_positions=task.needs_positions):
            skip = intake.absorb(first, sent, done.ids, done.failed,
                                 [False] * len(done.ids)).tolist()  # a repeated id
            if any(skip):
                done.lines = [line for line, no in zip(done.lines, skip) if not no]
                done.chars_in = [n for n, no in zip(done.chars_in, skip) if not no]
                done.chars_out = [n for n, no in zip(done.chars_out, skip) if not no]
            if done.lines:
                fh.write("\n".join(done.lines) + "\n")
            chars_in += sum(done.chars_in)
            chars_out += sum(done.chars_out)
            for place, kind, n in done.kinds:
                if not skip[place]:
                    kinds[kind] = kinds.get(kind, 0) + n
            for place, text, reason in done.repeated:
                if not skip[place]:
                    entry = seen_lines.setdefault(text, {"line": text, "reason": reason,
                                                         "removed_from": 0})
                    entry["removed_from"] += 1
    rejected = intake.rejected
    write_jsonl(out.file("boilerplate.jsonl"),
                sorted(seen_lines.values(), key=lambda e: -e["removed_from"]))
    write_jsonl(out.file("rejected.jsonl"), rejected_rows(rejected))
    read = intake.documents_read
    return {"documents_read": read, "cleaned": read - len(rejected), "rejected": len(rejected),
            "characters_in": chars_in, "characters_out": chars_out,
            "removed_by_kind": dict(sorted(kinds.items(), key=lambda kv: -kv[1]))}


class _StdinCopy:
    """Reads standard input while saving it, so kept lines can be written later."""

    def __init__(self, stream: IO[bytes], tmp_dir: str | None) -> None:
        self.stream = stream
        self._dir = LiveTempDir(tmp_dir)  # swept by the next run should this one die
        self.copy = open(os.path.join(self._dir.path, "stdin.jsonl"), "w+b")
        self._replays: list[IO[bytes]] = []

    def read1(self, size: int = -1) -> bytes:
        """What standard input has ready (up to ``size`` bytes), saved as it is read."""
        data = self.stream.read1(size)
        self.copy.write(data)
        if not data:
            self.copy.flush()
        return data

    def replay(self) -> IO[bytes]:
        """Standard input again, from the copy (after it has been read through once)."""
        self.copy.flush()
        self._replays.append(open(self.copy.name, "rb"))
        return self._replays[-1]

    def close(self) -> None:
        for replay in self._replays:
            replay.close()
        self.copy.close()
        self._dir.close()


@contextmanager
def _stdin_copy(inputs: list[str], tmp_dir: str | None) -> Iterator[_StdinCopy | None]:
    """A saving copy of standard input when ``-`` is among the inputs, removed at the end."""
    copy = _StdinCopy(sys.stdin.buffer, tmp_dir) if "-" in inputs else None
    try:
        yield copy
    finally:
        if copy is not None:
            copy.close()


def _learn(inputs: list[str], read: ReadOptions, stdin: IO[bytes] | _StdinCopy | None,
           options: CleanOptions, workers: int | None, progress: bool | None,
           pages: ParsedPages | None = None) -> FirstPass:
    """The first pass over the inputs (:func:`~neardup.clean.passes.first_pass`);
    ``pages`` keeps what HTML pages extracted to, for the second (:func:`_records`)."""
    intake = Intake()
    with track(_records(inputs, read, stdin), input_size(inputs), progress, desc="learning",
               count=lambda: intake.documents_read) as reading:
        return first_pass(reading, options, LocalEngine(workers), intake, pages)


def _records(inputs: list[str], read: ReadOptions, stdin: IO[bytes] | _StdinCopy | None,
             ranges: bool = True, pages: ParsedPages | None = None) -> Iterator[RawRecord]:
    """:func:`_read_inputs`, with each HTML page given what it extracted to in the first
    pass when ``pages`` holds that."""
    records = _read_inputs(inputs, read, stdin, ranges)
    return pages.replay(records) if pages is not None else records


def _read_inputs(inputs: list[str], read: ReadOptions, stdin: IO[bytes] | _StdinCopy | None,
                 ranges: bool) -> Iterator[RawRecord]:
    """Records of all inputs, JSONL lines unparsed (an engine parses them in its workers);
    ``-`` is read from ``stdin`` (a saving or replaying stream). With ``ranges``, plain
    JSONL files are not read here but cut into ranges the workers read
    (:func:`~neardup.io.readers.jsonl_ranges`): for stages that need no record's
    position before its batch is read."""
    for path in inputs:
        if path == "-":
            yield from read_jsonl_stream(
                stdin if stdin is not None else sys.stdin.buffer,  # type: ignore[arg-type]
                "-", read, deferred=True)
        else:
            yield from read_input(path, read, deferred=True, ranges=ranges)


def _check_inputs(inputs: list[str], read: ReadOptions, spark: SparkSettings | None) -> None:
    """:func:`check_inputs` for an engine: Spark reads other file systems itself (and
    says what it cannot read), the local engine none."""
    remote = [p for p in inputs if is_remote(p)]
    if remote and spark is None:
        raise InputError(f"{remote[0]}: only --engine spark reads inputs on another file "
                         "system; add it, or copy the input here")
    if len(remote) < len(inputs) or not inputs:
        check_inputs([p for p in inputs if not is_remote(p)], read)


def run_files(inputs: list[str], options: DedupOptions = DedupOptions(),
              read: ReadOptions = ReadOptions(), workers: int | None = None,
              progress: bool | None = None, stdin: _StdinCopy | None = None,
              spark: SparkSettings | None = None) -> DedupResult:
    """Read inputs and decide duplicates, writing nothing. Raises InputError for unusable
    inputs before any work starts. With ``options.clean`` learning boilerplate, inputs are
    read twice (standard input is saved on the first read).

    With ``spark``, the work runs on Apache Spark (JSONL and Parquet inputs, from any path
    Spark reads) and gives the same result."""
    _check_inputs(inputs, read, spark)
    if spark is not None:
        from .engine.spark.plan import spark_dedup

        return spark_dedup(inputs, options, read, spark, _progress(progress))
    learning = options.clean is not None and options.clean.learn
    own_copy = learning and stdin is None and "-" in inputs
    if own_copy:
        stdin = _StdinCopy(sys.stdin.buffer, options.tmp_dir)
    try:
        learned, replay, pages = None, stdin, None
        if learning:
            assert options.clean is not None
            pages = ParsedPages(options.tmp_dir)
            learned = _learn(inputs, read, stdin, options.clean, workers, progress, pages).lines
            replay = stdin.replay() if stdin is not None else None
        with Deduplicator(options, LocalEngine(workers), *_spill_stores(options),
                          reporter(progress), learned,
                          MemoryLimit(options.max_memory)) as run:
            with track(_records(inputs, read, replay, pages=pages), input_size(inputs), progress,
                       count=lambda: run.documents_read) as reading:
                run.add(reading)
            return run.finish()
    finally:
        if own_copy and stdin is not None:
            stdin.close()


def print_pairs(inputs: list[str], stream: IO[bytes], options: DedupOptions = DedupOptions(),
                read: ReadOptions = ReadOptions(), workers: int | None = None,
                progress: bool | None = None, max_group_pairs: int | None = 1_000,
                spark: SparkSettings | None = None) -> DedupResult | DedupSummary:
    """Dedup ``inputs`` and write every matching pair to ``stream`` as the lines of
    ``pairs.jsonl``. With ``spark``, the executors make the lines and the driver passes
    them on a partition at a time; a :class:`~neardup.dedup.DedupSummary` comes back."""
    if spark is not None:
        from .engine.spark.plan import SparkDedup

        _check_inputs(inputs, read, spark)
        return SparkDedup(options, read, spark, _progress(progress)).print_pairs(
            inputs, stream, max_group_pairs)
    result = run_files(inputs, options, read, workers, progress)
    for lines in result.pair_lines(max_group_pairs):
        stream.write(lines)
    return result


def reuse_files(inputs: list[str], outdir: str | Path, options: ReuseOptions = ReuseOptions(),
                read: ReadOptions = ReadOptions(), workers: int | None = None,
                progress: bool | None = None, force: bool = False) -> ReuseResult:
    """Find reuse in files and write ``outdir``: ``pairs.jsonl`` (documents sharing
    passages: offsets in both texts, words, identity, containment both ways),
    ``groups.jsonl`` (passages across documents, largest first, with dates, origin and
    credits), ``rejected.jsonl`` and ``summary.json``. Raises
    :class:`~neardup.errors.InputError` or :class:`~neardup.errors.OutputError` for unusable
    inputs or outputs before any work starts; outputs appear only when complete."""
    check_inputs(inputs, read)
    started = time.perf_counter()
    fingerprints = input_fingerprints(inputs)
    with OutputDir(outdir, "reuse", force=force, expected=REUSE_FILES) as out, \
            _reuse_finder(options, workers, progress) as finder, \
            open(out.file("pairs.jsonl"), "w", encoding="utf-8") as pairs_file:
        with track(_records(inputs, read, None), input_size(inputs), progress,
                   count=lambda: finder.intake.documents_read) as reading:
            finder.add(reading)
        result = finder.finish(lambda pair: pairs_file.write(jsonl_line(pair.to_dict())))
        pairs_file.close()  # whole on disk before the commit moves it
        write_jsonl(out.file("groups.jsonl"), (g.to_dict() for g in result.groups))
        write_jsonl(out.file("rejected.jsonl"), rejected_rows(result.rejected))
        result.seconds = time.perf_counter() - started
        write_summary(out.file("summary.json"), {
            **summary_header("reuse", inputs, read, fingerprints), **result.stats.to_dict(),
            "seconds": round(result.seconds, 3), "settings": asdict(options)})
        out.commit()
    return result


def find_files(queries: list[str], corpus: list[str], outdir: str | Path,
               options: FindOptions = FindOptions(), read: ReadOptions = ReadOptions(),
               query_read: ReadOptions = ReadOptions(), workers: int | None = None,
               progress: bool | None = None, force: bool = False, remove: bool = False,
               kept_format: str = "input", tmp_dir: str | None = None,
               spark: SparkSettings | None = None) -> FindResult:
    """Find the texts of ``queries`` in ``corpus`` and write ``outdir``: ``queries.jsonl``
    (per query: n-grams, overlap, longest passage, documents, contaminated),
    ``matches.jsonl`` (per query and document sharing an n-gram: overlap and passages,
    character offsets into both texts as read), ``rejected.jsonl`` (both sides, with
    ``side``) and ``summary.json``. With ``remove``, also ``kept/`` (the corpus without
    each document whose overlap with some query reaches ``options.min_overlap``, in its
    input's format, or Parquet with ``kept_format="parquet"``) and ``removed.jsonl``.
    ``read`` reads the corpus, ``query_read`` the queries. With ``spark``, the queries'
    table is broadcast to the executors, which scan the corpus and write each output but
    ``queries.jsonl`` and the summary as a directory of part files; the result then holds
    the queries and stats and the first rejections, not the matches and removals. Raises
    :class:`~neardup.errors.InputError` or :class:`~neardup.errors.OutputError` for
    unusable inputs or outputs before any work starts; outputs appear only when complete."""
    if kept_format not in KEPT_FORMATS:
        raise ValueError(f"kept_format is one of {', '.join(KEPT_FORMATS)}, not {kept_format!r}")
    if "-" in queries:
        raise InputError("-: the queries are read from files; standard input can hold the "
                         "corpus only")
    check_inputs(queries, query_read)
    _check_inputs(corpus, read, spark)
    started = time.perf_counter()
    fingerprints = input_fingerprints(corpus)
    expected = FIND_FILES + (("removed.jsonl",) if remove else ())
    summary = {**summary_header("find", corpus, read, fingerprints),
               "queries_from": queries, "query_read": asdict(query_read)}
    if spark is not None:
        from .engine.spark.find import SparkFind

        finder = Finder(options, LocalEngine(1))
        finder.set_queries(read_inputs(queries, query_read))
        on_spark = SparkFind(finder, read, spark, _progress(progress))
        with _spark_output(str(outdir), "find", force, spark, tmp_dir, expected) as (out,
                                                                                   staging):
            result = on_spark.write(corpus, staging, remove, kept_format, tmp_dir)
            out.write_text("queries.jsonl",
                           "".join(jsonl_line(q.to_dict()) for q in result.queries))
            result.seconds = time.perf_counter() - started
            out.write_text("summary.json", summary_text(_find_summary(summary, result,
                                                                      remove)))
            out.commit()
        return result
    with OutputDir(outdir, "find", force=force, expected=expected) as out, \
            _stdin_copy(corpus, tmp_dir) as stdin, \
            open(out.file("matches.jsonl"), "w", encoding="utf-8") as matches_file:
        finder = Finder(options, LocalEngine(workers))
        finder.set_queries(read_inputs(queries, query_read))
        with track(_records(corpus, read, stdin), input_size(corpus), progress,
                   count=lambda: finder.intake.documents_read) as reading:
            finder.scan(reading, lambda m: matches_file.write(jsonl_line(m.to_dict())))
        matches_file.close()  # whole on disk before the commit moves it
        result = finder.finish()
        write_jsonl(out.file("queries.jsonl"), (q.to_dict() for q in result.queries))
        write_jsonl(out.file("rejected.jsonl"), [
            *rejected_rows(result.rejected_queries, "query"),
            *rejected_rows(result.rejected, "corpus")])
        if remove:
            write_jsonl(out.file("removed.jsonl"), (r.to_dict() for r in result.removals))
            _write_kept(kept_format, corpus, result.sources.records_by_path(
                np.flatnonzero(result.kept)), out, read, stdin.copy.name if stdin else None)
        result.seconds = time.perf_counter() - started
        write_summary(out.file("summary.json"), _find_summary(summary, result, remove))
        out.commit()
    return result


def _find_summary(header: dict[str, Any], result: FindResult, remove: bool) -> dict[str, Any]:
    """What a find run's ``summary.json`` holds."""
    return {**header, **result.stats.to_dict(), "seconds": round(result.seconds, 3),
            "settings": {**asdict(result.options), "removed": remove}}


def dedup_files(inputs: list[str], outdir: str | Path, options: DedupOptions = DedupOptions(),
                read: ReadOptions = ReadOptions(), workers: int | None = None,
                progress: bool | None = None, max_group_pairs: int | None = 1_000,
                force: bool = False, spark: SparkSettings | None = None,
                kept_format: str = "input") -> DedupResult | DedupSummary:
    """Dedup files into ``outdir``: ``pairs.jsonl``, ``clusters.jsonl``, ``rejected.jsonl``,
    ``kept/`` and ``summary.json`` (see :mod:`neardup.io.writers`). With ``spark``, the
    executors write each output but the summary as a directory of part files, and a
    :class:`~neardup.dedup.DedupSummary` comes back (the stats and the first rejections),
    not every document's decisions. ``kept/`` holds the kept records in their input's own
    format, or with ``kept_format="parquet"`` the kept documents as Parquet
    (:data:`~neardup.io.writers.KEPT_COLUMNS`). Raises :class:`~neardup.errors.InputError`
    or :class:`~neardup.errors.OutputError` for unusable inputs or outputs before any work
    starts; outputs appear only when complete."""
    if kept_format not in KEPT_FORMATS:
        raise ValueError(f"kept_format is one of {', '.join(KEPT_FORMATS)}, not {kept_format!r}")
    _check_inputs(inputs, read, spark)
    started = time.perf_counter()
    fingerprints = input_fingerprints(inputs)
    if spark is not None:
        return _dedup_on_spark(inputs, str(outdir), options, read, progress, max_group_pairs,
                               force, spark, kept_format, fingerprints, started)
    with OutputDir(outdir, "dedup", force=force, expected=DEDUP_FILES) as out, \
            _stdin_copy(inputs, options.tmp_dir) as stdin:
        result = run_files(inputs, options, read, workers, progress, stdin)
        outputs = _DedupOutputs(result, inputs, out, max_group_pairs,
                                stdin.copy.name if stdin else None, read, kept_format)
        # The outputs are independent: with more than one worker, kept/ (copied from the
        # inputs) is written beside pairs and clusters, in processes forked with the result.
        for _ in LocalEngine(min(workers or default_workers(), 2)).map(outputs, outputs.parts):
            pass
        result.seconds = time.perf_counter() - started
        write_summary(out.file("summary.json"), summary_dict(result, inputs, read, fingerprints))
        out.commit()
    return result


def _stories_of_files(inputs: list[str], options: StoryOptions, read: ReadOptions,
                      clean: CleanOptions | None, workers: int | None, progress: bool | None,
                      stdin: _StdinCopy | None, tmp_dir: str | None,
                      max_memory: int | None) -> StoryRun:
    """The story rule over the inputs: boilerplate learned first (when ``clean`` learns),
    then the records read, cleaned and shingled by the workers."""
    learned, replay, pages = None, stdin, None
    if clean is not None and clean.learn:
        pages = ParsedPages(tmp_dir)
        learned = _learn(inputs, read, stdin, clean, workers, progress, pages).lines
        replay = stdin.replay() if stdin is not None else None
    cleaner = clean.cleaner(learned) if clean is not None else None
    store = SpillStore(np.uint64, tmp_dir)  # the shingle sets, and the pairs counted
    try:
        finder = StoryFinder(options, LocalEngine(workers), store, cleaner,
                             report=reporter(progress), check_memory=MemoryLimit(max_memory))
        with track(_records(inputs, read, replay, pages=pages), input_size(inputs), progress,
                   count=lambda: finder.intake.documents_read) as reading:
            finder.add(reading)
        return finder.finish()
    finally:
        store.close()


def print_story_pairs(inputs: list[str], stream: IO[bytes],
                      options: StoryOptions = StoryOptions(), read: ReadOptions = ReadOptions(),
                      clean: CleanOptions | None = CleanOptions(), workers: int | None = None,
                      progress: bool | None = None, spark: SparkSettings | None = None,
                      tmp_dir: str | None = None, max_memory: int | None = None
                      ) -> StoryRun | StorySummary:
    """``pairs --match story``: write each pair of one story to ``stream`` as a line of
    ``pairs.jsonl`` (``{"a", "b", "containment"}``). With ``spark``, the executors make
    the lines and the driver passes them on a partition at a time; a
    :class:`~neardup.story.StorySummary` comes back. ``tmp_dir`` and ``max_memory``: as
    for :func:`story_files`."""
    _check_inputs(inputs, read, spark)
    if spark is not None:
        from .engine.spark.story import SparkStories

        return SparkStories(options, read, spark, clean, _progress(progress)
                            ).print_pairs(inputs, stream)
    with _stdin_copy(inputs, tmp_dir) as stdin:
        run = _stories_of_files(inputs, options, read, clean, workers, progress, stdin,
                                tmp_dir, max_memory)
    for pair in run.result.pairs:
        stream.write(orjson.dumps(pair.to_dict()) + b"\n")
    return run


def story_files(inputs: list[str], outdir: str | Path, options: StoryOptions = StoryOptions(),
                read: ReadOptions = ReadOptions(), clean: CleanOptions | None = CleanOptions(),
                workers: int | None = None, progress: bool | None = None, force: bool = False,
                kept_format: str = "input", spark: SparkSettings | None = None,
                tmp_dir: str | None = None, max_memory: int | None = None
                ) -> StoryRun | StorySummary:
    """``dedup --match story``: group the copies of each story in the inputs (see
    :mod:`neardup.story`) and write ``outdir`` as :func:`dedup_files` does: ``pairs.jsonl``
    (``{"a", "b", "containment"}``), ``clusters.jsonl`` (``containment_to_kept`` for
    each member), ``rejected.jsonl``, ``kept/`` and ``summary.json``. Texts are cleaned
    as ``dedup`` cleans them unless ``clean`` is None. With ``spark``, the executors write
    each output but the summary as a directory of part files, the same lines as the local
    engine's files, and a :class:`~neardup.story.StorySummary` comes back. ``tmp_dir``:
    where the local engine spills the shingle sets, and where a copy of standard input and
    HTML pages' extracted text wait between the passes (default: the system's temporary
    directory); ``max_memory``: the local engine stops with a message if its processes
    hold more (default: 3/4 of the machine's memory)."""
    if kept_format not in KEPT_FORMATS:
        raise ValueError(f"kept_format is one of {', '.join(KEPT_FORMATS)}, not {kept_format!r}")
    _check_inputs(inputs, read, spark)
    started = time.perf_counter()
    fingerprints = input_fingerprints(inputs)
    done: StoryRun | StorySummary
    if spark is not None:
        from .engine.spark.story import SparkStories

        on_spark = SparkStories(options, read, spark, clean, _progress(progress))
        with _spark_output(str(outdir), "dedup", force, spark, tmp_dir,
                           DEDUP_FILES) as (spark_out, staging):
            done = on_spark.write(inputs, staging, kept_format)
            spark_out.write_text("summary.json", summary_text(_story_summary(
                done, inputs, read, fingerprints, started, options, clean)))
            spark_out.commit()
        return done
    with OutputDir(outdir, "dedup", force=force, expected=DEDUP_FILES) as out, \
            _stdin_copy(inputs, tmp_dir) as stdin:
        done = _stories_of_files(inputs, options, read, clean, workers, progress, stdin,
                                 tmp_dir, max_memory)
        result, intake = done.result, done.intake
        write_jsonl(out.file("pairs.jsonl"), (p.to_dict() for p in result.pairs))
        write_jsonl(out.file("clusters.jsonl"), result.iter_cluster_rows())
        write_jsonl(out.file("rejected.jsonl"), rejected_rows(intake.rejected))
        _write_kept(kept_format, inputs, intake.sources.records_by_path(
            np.flatnonzero(result.keep)), out, read, stdin.copy.name if stdin else None)
        write_summary(out.file("summary.json"), _story_summary(
            done, inputs, read, fingerprints, started, options, clean))
        out.commit()
    return done


def _story_summary(done: StoryRun | StorySummary, inputs: list[str], read: ReadOptions,
                   fingerprints: list[dict[str, Any]], started: float, options: StoryOptions,
                   clean: CleanOptions | None) -> dict[str, Any]:
    """``summary.json`` of a ``dedup --match story`` run, on either engine."""
    return {
        **summary_header("dedup", inputs, read, fingerprints), **done.counts(),
        "candidates": done.candidates,
        "seconds": round(time.perf_counter() - started, 3),
        "settings": {"match": "story", "threshold": options.threshold,
                     "min_shared": options.min_shared,
                     "max_doc_frequency": options.max_doc_frequency,
                     "star_above": options.star_above, "cleaned": clean is not None},
    }


def _progress(progress: bool | None) -> bool:
    """Whether to show progress: as asked, else when standard error is a terminal."""
    return progress if progress is not None else progress_wanted()


def _dedup_on_spark(inputs: list[str], outdir: str, options: DedupOptions, read: ReadOptions,
                    progress: bool | None, max_group_pairs: int | None, force: bool,
                    spark: SparkSettings, kept_format: str,
                    fingerprints: list[dict[str, Any]], started: float) -> DedupSummary:
    """:func:`dedup_files` on Spark: the executors write the outputs into the output
    directory's staging directory, local (:class:`~neardup.io.outdir.OutputDir`) or on
    another file system (:class:`~neardup.engine.spark.files.RemoteOutputDir`)."""
    from .engine.spark.plan import SparkDedup

    on_spark = SparkDedup(options, read, spark, _progress(progress))
    with _spark_output(outdir, "dedup", force, spark, options.tmp_dir,
                       DEDUP_FILES) as (out, staging):
        summary = on_spark.write(inputs, staging, max_group_pairs, kept_format)
        summary.seconds = time.perf_counter() - started
        out.write_text("summary.json",
                       summary_text(summary_dict(summary, inputs, read, fingerprints)))
        out.commit()
    return summary


@contextmanager
def _spark_output(outdir: str, command: str, force: bool, spark: SparkSettings,
                  tmp_dir: str | None, expected: tuple[str, ...]
                  ) -> Iterator[tuple[OutputDir | Any, str]]:
    """A Spark run's output directory, local (:class:`~neardup.io.outdir.OutputDir`) or on
    another file system (:class:`~neardup.engine.spark.files.RemoteOutputDir`), held while
    the block runs, with the URI of its staging directory for the executors to write in.
    The block commits it."""
    from .engine.spark.files import HadoopFiles, RemoteOutputDir
    from .engine.spark.session import session

    out: OutputDir | RemoteOutputDir
    if is_remote(outdir):
        out = RemoteOutputDir(HadoopFiles(session(spark, tmp_dir)), outdir, command, force)
    else:
        out = OutputDir(outdir, command, force=force, expected=expected)
    with out:
        yield out, (out.staging if isinstance(out.staging, str)
                    else Path(out.staging).resolve().as_uri())


class _DedupOutputs:
    """Writes one part of a dedup run's output directory (a task for the engine)."""

    parts = ("kept", "pairs and clusters")

    def __init__(self, result: DedupResult, inputs: list[str], out: OutputDir,
                 max_group_pairs: int | None, stdin_copy: str | None, read: ReadOptions,
                 kept_format: str) -> None:
        self.result, self.inputs, self.out = result, inputs, out
        self.max_group_pairs, self.stdin_copy = max_group_pairs, stdin_copy
        self.read, self.kept_format = read, kept_format

    def __call__(self, part: str) -> None:
        result, out = self.result, self.out
        if part == "kept":
            _write_kept(self.kept_format, self.inputs, result.sources.records_by_path(
                np.flatnonzero(result.keep)), out, self.read, self.stdin_copy)
            return
        write_lines(out.file("pairs.jsonl"), result.pair_lines(self.max_group_pairs))
        write_lines(out.file("clusters.jsonl"), result.cluster_lines())
        write_jsonl(out.file("rejected.jsonl"), rejected_rows(result.rejected))


def _write_kept(kept_format: str, inputs: list[str], kept: dict[str, np.ndarray],
                out: OutputDir, read: ReadOptions, stdin_copy: str | None) -> None:
    """``kept/``: the kept records (by path, as ``Sources.records_by_path`` gives them) in
    their inputs' own format, or as Parquet."""
    if kept_format == "parquet":
        write_kept_parquet(inputs, kept, out.subdir("kept"), read, stdin_copy)
    else:
        write_kept(inputs, kept, out.subdir("kept"), stdin_copy)


def summary_dict(result: DedupResult | DedupSummary, inputs: list[str],
                 read: ReadOptions = ReadOptions(),
                 fingerprints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What ``summary.json`` holds: the run's :class:`~neardup.dedup.Stats` and settings."""
    opts = result.options
    return {
        **summary_header("dedup", inputs, read,
                      fingerprints if fingerprints is not None else input_fingerprints(inputs)),
        **result.stats.to_dict(),
        "seconds": round(result.seconds, 3),
        "settings": {"threshold": opts.threshold, "ngram": opts.ngram,
                     "num_perm": opts.num_perm, "seed": opts.seed, "keep": opts.keep.value,
                     "verified": opts.verify, "cleaned": opts.clean is not None},
    }
