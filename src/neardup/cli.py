"""The ``neardup`` command: argument parsing and printing around :mod:`neardup.api`."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
import orjson
from click.core import ParameterSource

from . import api
from .align import Explanation
from .clean import CleanOptions
from .cluster import KeepPolicy
from .dedup import DedupOptions, DedupSummary
from .document import Document, Rejected
from .engine.local import INDEX_ADD_ADVICE, MemoryLimit, default_workers
from .engine.spark import SparkSettings
from .errors import InputError, NeardupError, os_error_message
from .find import DEFAULT_FIND_NGRAM, FindOptions
from .index import Index, IndexAdded
from .index.files import add_files
from .io.html import EXTRACTORS
from .io.readers import (
    DEFAULT_MAX_DOC_BYTES,
    ReadOptions,
    check_inputs,
    read_inputs,
    read_texts,
)
from .io.writers import KEPT_FORMATS
from .report import write_report
from .reuse import ReuseOptions
from .story import DEFAULT_STORY_THRESHOLD, StoryOptions, containment, story_shingles
from .text import DEFAULT_NGRAM

SHOWN_REJECTIONS = 10


_progress_option = click.option(
    "--progress/--no-progress", default=None,
    help="Progress bar (default: on a terminal, off in pipes and CI).")
_force_option = click.option(
    "--force", is_flag=True,
    help="Write into a non-empty directory that holds no neardup output, beside its files "
         "(none of them is ever deleted or overwritten).")


def _max_memory_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--max-memory", type=_ByteSize(), default=None, metavar="SIZE",
        help="Stop with a message, not the kernel's kill, if the run's processes hold more "
             "than this (500M, 4G; default: 3/4 of the machine's memory). Local engine.")(fn)


def _engine_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Where the work runs: ``--engine`` and Spark's options (read by
    :func:`_spark_settings`)."""
    options = [
        click.option("--engine", type=click.Choice(["local", "spark"]), default="local",
                     show_default=True,
                     help="Where the work runs: this machine's processes, or Apache Spark "
                          "(JSONL and Parquet input; pip install 'neardup[spark]' and Java "
                          "17). Both give the same results."),
        click.option("--master", default=None,
                     help="Spark master URL for --engine spark: local[N], spark://HOST:PORT, "
                          "yarn, k8s://... (default: spark-submit's, else local[--workers] "
                          "or local[*])."),
        click.option("--partitions", type=click.IntRange(1), default=None,
                     help="Spark partitions of the input and of each shuffle (default: from "
                          "the input's size and the cluster's cores)."),
        click.option("--spark-conf", multiple=True, metavar="KEY=VALUE",
                     help="A Spark setting for --engine spark (spark.executor.memory=8g, "
                          "say); repeatable."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _comparison_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--threshold", "-t", type=click.FloatRange(0, 1, min_open=True),
                     default=0.8, show_default=True,
                     help="Minimum Jaccard similarity of shingle sets for a match (with "
                          f"--match story: the containment, default {DEFAULT_STORY_THRESHOLD})."),
        click.option("--ngram", type=click.IntRange(1), default=DEFAULT_NGRAM, show_default=True,
                     help="Tokens per shingle."),
        click.option("--num-perm", type=click.IntRange(8, 1024), default=128, show_default=True,
                     help="MinHash permutations."),
        click.option("--seed", type=int, default=1, show_default=True,
                     help="Seed of the MinHash permutations."),
        click.option("--no-verify", is_flag=True,
                     help="Report the MinHash estimate instead of the exact Jaccard "
                          "(marked \"estimated\"; faster, approximate)."),
        click.option("--workers", "-w", type=click.IntRange(0), default=0,
                     help="Processes to use; 0 (default) uses all cores, 1 runs in one."),
        click.option("--max-group-pairs", type=click.IntRange(0), default=1000,
                     show_default=True,
                     help="An exact-copy group with more pairs than this is written as one "
                          "line listing its members."),
        click.option("--max-bucket", type=click.IntRange(2), default=2000, show_default=True,
                     help="An LSH bucket with more documents than this (one template across a "
                          "crawl) is linked as a star around its first document instead of "
                          "proposing all its pairs: groups still form, pairs inside are not "
                          "all listed."),
        click.option("--tmp-dir", type=click.Path(file_okay=False), default=None,
                     help="Where to spill shingle sets, and HTML pages' extracted text "
                          "between the passes of a learning run (default: the system's "
                          "temp dir, $TMPDIR)."),
        _max_memory_option,
        _progress_option,
        _engine_options,
        click.option("--clean/--raw", default=True, show_default=True,
                     help="Compare cleaned text (as `neardup clean` makes it: junk patterns, "
                          "title and date line, boilerplate learned from the corpus) or the "
                          "text as it is."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return _input_options(_cleaning_options(fn))


def _input_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--id-field", default="id", show_default=True,
                     help="JSONL/Parquet field holding the document id."),
        click.option("--text-field", default="text", show_default=True,
                     help="JSONL/Parquet field holding the text."),
        click.option("--site-field", default=None,
                     help="JSONL/Parquet field naming each document's site (boilerplate is "
                          "learned per site; HTML and WARC documents know theirs)."),
        click.option("--date-field", default="date", show_default=True,
                     help="JSONL/Parquet field holding the publication date, where present "
                          "(HTML pages know theirs)."),
        click.option("--max-doc-bytes", type=click.IntRange(1), default=DEFAULT_MAX_DOC_BYTES,
                     show_default=True, help="Documents larger than this are rejected."),
        click.option("--extractor", type=click.Choice(EXTRACTORS), default="trafilatura",
                     show_default=True,
                     help="Main-text extractor for HTML and WARC input (resiliparse: ~20x "
                          "faster, leaves more page furniture to cleaning)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _read_options(s: dict[str, Any]) -> ReadOptions:
    return ReadOptions(s["id_field"], s["text_field"], s["max_doc_bytes"], s["site_field"],
                       s["extractor"], s["date_field"])


def _cleaning_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--patterns", "pattern_files", multiple=True,
                     type=click.Path(exists=True, dir_okay=False),
                     help="More junk patterns (JSON, the format of neardup/clean/patterns.json);"
                          " repeatable."),
        click.option("--no-patterns", is_flag=True,
                     help="Do not use the built-in junk patterns."),
        click.option("--no-learn", is_flag=True,
                     help="Do not learn boilerplate from the corpus (one pass, not two)."),
        click.option("--min-repeats", type=click.IntRange(2), default=5, show_default=True,
                     help="A line is learned as boilerplate when it stands beside at least "
                          "this many different articles (per site with --site-field)."),
        click.option("--no-header", is_flag=True,
                     help="Keep a leading title and date line as text, not metadata."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _clean_options(pattern_files: tuple[str, ...], no_patterns: bool, no_learn: bool,
                   min_repeats: int, no_header: bool) -> CleanOptions:
    options = CleanOptions(patterns=not no_patterns, extra_patterns=pattern_files,
                           learn=not no_learn, min_contexts=min_repeats, header=not no_header)
    options.cleaner()  # a bad pattern file fails here, before any input is read
    return options


class _ByteSize(click.ParamType):
    """A size in bytes: a number with an optional K, M, G or T (powers of 1,024)."""

    name = "size"
    _UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        unit = text[-1:] if text[-1:] in self._UNITS else ""
        try:
            size = int(float(text[:len(text) - len(unit)]) * self._UNITS[unit])
        except ValueError:
            size = 0
        if size <= 0:
            self.fail(f"{value!r} is not a size (say 500M or 4G)", param, ctx)
        return size


@dataclass(frozen=True)
class _Run:
    """What the comparison and cleaning options of `dedup` and `pairs` ask for."""

    options: DedupOptions
    read: ReadOptions
    workers: int | None
    progress: bool | None
    max_group_pairs: int
    spark: SparkSettings | None


def _run_settings(s: dict[str, Any], keep: str = "first") -> _Run:
    clean = (_clean_options(s["pattern_files"], s["no_patterns"], s["no_learn"],
                            s["min_repeats"], s["no_header"]) if s["clean"] else None)
    options = DedupOptions(threshold=s["threshold"], ngram=s["ngram"], num_perm=s["num_perm"],
                           seed=s["seed"], verify=not s["no_verify"], keep=KeepPolicy(keep),
                           max_bucket=s["max_bucket"], tmp_dir=s["tmp_dir"], clean=clean,
                           max_memory=s["max_memory"])
    return _Run(options, _read_options(s), s["workers"] or None, s["progress"],
                s["max_group_pairs"], _spark_settings(s))


def _spark_settings(s: dict[str, Any]) -> SparkSettings | None:
    """What --engine spark and its options ask for (None: the local engine)."""
    if s["engine"] != "spark":
        for name in ("master", "partitions", "spark_conf"):
            if s[name]:
                raise click.UsageError(f"--{name.replace('_', '-')} is for --engine spark")
        return None
    conf = []
    for item in s["spark_conf"]:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--spark-conf")
        conf.append((key.strip(), value.strip()))
    master = s["master"] or (f"local[{s['workers']}]" if s["workers"] else None)
    return SparkSettings(master, s["partitions"], tuple(conf))


def _local_only(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--engine`` for a command that runs on this machine only: ``spark`` is refused in
    one line that says what to do instead."""
    def check(ctx: click.Context, param: click.Parameter, value: str) -> str:
        if value == "spark":
            raise click.BadParameter(
                f"`neardup {command}` runs on the local engine only (--workers sets its "
                "processes); `dedup`, `pairs`, `clean` and `find` run on Spark", ctx, param)
        return value
    return click.option("--engine", type=click.Choice(["local", "spark"]), default="local",
                        show_default=True, callback=check, expose_value=False,
                        help="Where the work runs: this machine only, for this command.")


def _warn_if_empty(read: int, inputs: tuple[str, ...]) -> None:
    if read == 0:
        click.echo(f"neardup: no documents found in {', '.join(inputs)}", err=True)


def _report_rejections(rejected: list[Rejected], where: str, total: int | None = None
                       ) -> None:
    """The first rejections, and how many more there are of ``total`` (default: all are
    in ``rejected``)."""
    total = len(rejected) if total is None else total
    for r in rejected[:SHOWN_REJECTIONS]:
        click.echo(f"neardup: rejected {r.message()}", err=True)
    if total > SHOWN_REJECTIONS:
        click.echo(f"neardup: ... and {total - SHOWN_REJECTIONS:,} more rejected "
                   f"({where})", err=True)


class _Commands(click.Group):
    """The one place where errors become messages: a :class:`NeardupError` or an OS error
    is one line naming the file and what to do (exit status 1), Ctrl-C or SIGTERM exits
    130 after the running command has removed its temporary files, and anything else is
    one line asking for a bug report (``NEARDUP_DEBUG=1`` shows the traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return super().invoke(ctx)
        except NeardupError as err:
            raise click.ClickException(str(err)) from None
        except KeyboardInterrupt:
            click.echo("neardup: interrupted; temporary files removed, no partial output "
                       "left (an output directory keeps its previous results)", err=True)
            raise click.exceptions.Exit(130) from None
        except OSError as err:
            if os.environ.get("NEARDUP_DEBUG"):
                raise
            raise click.ClickException(os_error_message(err)) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as err:
            if os.environ.get("NEARDUP_DEBUG"):
                raise
            raise click.ClickException(
                f"internal error: {type(err).__name__}: {err}. Please report it with the "
                "command you ran; NEARDUP_DEBUG=1 shows the traceback") from None
        finally:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _plural(n: int, word: str) -> str:
    """``1 span``, ``3 spans``, ``1,204 pairs``."""
    return f"{n:,} {word if n == 1 else word + 's'}"


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="neardup")
def main() -> None:
    """Find exact and near-duplicate documents, and say why they match.

    INPUT is a directory (text and HTML files, recursively), a JSONL file (.jsonl/.ndjson,
    also .gz/.zst), a Parquet file, an HTML page, a WARC archive (.warc/.warc.gz), a text
    file, or - for JSONL on standard input. Texts are cleaned before comparing unless
    --raw is given.
    """


_MATCH_OPTION = click.option(
    "--match", type=click.Choice(["jaccard", "story"]), default="jaccard", show_default=True,
    help="What makes two documents match: Jaccard of their shingle sets (near-identical "
         "texts), or one story (one holds the other's, up to abridgement, extension, a new "
         "headline and dateline, and OCR noise: containment of OCR-normalised 3-word runs, "
         f"default threshold {DEFAULT_STORY_THRESHOLD}).")


def _threshold(match: str, given: float) -> float:
    """The threshold asked for, or the story rule's default when none was given."""
    ctx = click.get_current_context()
    if match == "story" and ctx.get_parameter_source("threshold") is ParameterSource.DEFAULT:
        return DEFAULT_STORY_THRESHOLD
    return given


@main.command()
@_force_option
@click.argument("inputs", nargs=-1, required=True)
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="Directory for pairs.jsonl, clusters.jsonl, rejected.jsonl, summary.json "
                   "and kept/.")
@click.option("--keep", type=click.Choice([p.value for p in KeepPolicy]), default="first",
              show_default=True, help="Which copy of each group to keep.")
@click.option("--kept-format", type=click.Choice(KEPT_FORMATS), default="input",
              show_default=True,
              help="kept/ as each input's own format (records copied whole), or as Parquet: "
                   "id, text, url, title, site, date, source and record of each kept "
                   "document, one file per input.")
@_MATCH_OPTION
@_comparison_options
def dedup(inputs: tuple[str, ...], output: str, keep: str, kept_format: str, force: bool,
          match: str, **settings: Any) -> None:
    """Group duplicates, keep one copy of each group, write the results to --output."""
    run = _run_settings(settings, keep)
    if match == "story":
        _story_dedup(list(inputs), output, run, _threshold(match, settings["threshold"]),
                     keep, kept_format, force)
        return
    result = api.dedup_files(list(inputs), output, run.options, run.read, run.workers,
                             run.progress, run.max_group_pairs, force, run.spark, kept_format)
    first = result.first_rejected if isinstance(result, DedupSummary) else result.rejected
    _report_rejections(first, f"see {Path(output) / 'rejected.jsonl'}", result.stats.rejected)
    _warn_if_empty(result.stats.documents_read, inputs)
    s = result.stats
    click.echo(
        f"{s.documents_read:,} read: {s.kept:,} kept, {s.removed:,} removed "
        f"({s.exact_duplicates:,} exact, {s.near_duplicates:,} near duplicates) in "
        f"{_plural(s.groups, 'group')}, {s.rejected:,} rejected; {_plural(s.pairs, 'pair')}; "
        f"{result.seconds:.1f}s -> {output}", err=True)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@_MATCH_OPTION
@_comparison_options
def pairs(inputs: tuple[str, ...], match: str, **settings: Any) -> None:
    """Print every matching pair as JSON lines: {"a", "b", "jaccard"} (with --match story:
    {"a", "b", "containment"})."""
    run = _run_settings(settings)
    if match == "story":
        _story_pairs(list(inputs), run, _threshold(match, settings["threshold"]))
        return
    out = sys.stdout.buffer
    result = api.print_pairs(list(inputs), out, run.options, run.read, run.workers,
                             run.progress, run.max_group_pairs, run.spark)
    out.flush()
    first = result.first_rejected if isinstance(result, DedupSummary) else result.rejected
    _report_rejections(first, "use `neardup dedup` for rejected.jsonl", result.stats.rejected)
    _warn_if_empty(result.stats.documents_read, inputs)


@main.command()
@_force_option
@click.argument("inputs", nargs=-1, required=True)
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="Directory for cleaned.jsonl, boilerplate.jsonl, rejected.jsonl and "
                   "summary.json.")
@_cleaning_options
@_input_options
@click.option("--dedup-paragraphs", is_flag=True,
              help="Also drop every paragraph (line of 5+ words) already seen in an earlier "
                   "document, for corpora where whole-document dedup is not enough.")
@click.option("--workers", "-w", type=click.IntRange(0), default=0,
              help="Processes to use; 0 (default) uses all cores, 1 runs in one.")
@click.option("--tmp-dir", type=click.Path(file_okay=False), default=None,
              help="Where to keep a copy of standard input, and HTML pages' extracted text "
                   "between the passes of a learning run (default: the system's temp dir, "
                   "$TMPDIR).")
@_progress_option
@_engine_options
def clean(inputs: tuple[str, ...], output: str, dedup_paragraphs: bool, workers: int,
          tmp_dir: str | None, progress: bool | None, force: bool, **settings: Any) -> None:
    """Remove boilerplate: junk patterns, title/date lines, lines the corpus repeats."""
    options = replace(_clean_options(settings["pattern_files"], settings["no_patterns"],
                                     settings["no_learn"], settings["min_repeats"],
                                     settings["no_header"]), paragraphs=dedup_paragraphs)
    spark = _spark_settings({**settings, "workers": workers})
    if spark is not None and dedup_paragraphs:
        from .engine.spark.clean import PARAGRAPHS_LOCAL_ONLY

        raise click.UsageError(PARAGRAPHS_LOCAL_ONLY)
    summary = api.clean_files(list(inputs), output, options, _read_options(settings),
                              progress, workers or None, force, spark, tmp_dir)
    _warn_if_empty(summary["documents_read"], inputs)
    removed = ", ".join(f"{n:,} {k}" for k, n in summary["removed_by_kind"].items()) or "nothing"
    click.echo(f"{summary['documents_read']:,} read, {summary['cleaned']:,} cleaned, "
               f"{summary['rejected']:,} rejected; removed {removed}; "
               f"{_plural(summary['learned_lines'], 'boilerplate line')} learned -> {output}",
               err=True)


@main.command()
@_force_option
@_local_only("reuse")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="Directory for pairs.jsonl, groups.jsonl, rejected.jsonl and summary.json.")
@click.option("--min-words", type=click.IntRange(1), default=40, show_default=True,
              help="Shortest passage reported, in words.")
@click.option("--max-gap", type=click.IntRange(0), default=10, show_default=True,
              help="Words of edit (changed, inserted or dropped) allowed inside one passage "
                   "between two aligned runs.")
@click.option("--min-shared", type=click.IntRange(1), default=10, show_default=True,
              help="Shared shingles that make two documents worth aligning.")
@click.option("--max-doc-frequency", type=click.IntRange(2), default=1000, show_default=True,
              help="Shingles found in more documents than this are ignored (stock phrases, "
                   "templates).")
@click.option("--star-above", type=click.IntRange(1), default=50, show_default=True,
              help="Shingles found in more documents than this pair each one with the first "
                   "only (a passage in 500 outlets costs 499 alignments, not 124,750).")
@click.option("--series-field", default=None,
              help="Field naming each document's source (publication, site): reuse between "
                   "two documents of one source is ignored. For HTML and WARC input use "
                   "`site` (the page's host).")
@click.option("--ngram", type=click.IntRange(1), default=DEFAULT_NGRAM, show_default=True,
              help="Tokens per shingle (and the shortest aligned run).")
@click.option("--workers", "-w", type=click.IntRange(0), default=0,
              help="Processes to use; 0 (default) uses all cores, 1 runs in one.")
@click.option("--tmp-dir", type=click.Path(file_okay=False), default=None,
              help="Where to spill texts while aligning (default: the system's temp dir).")
@_progress_option
@_input_options
def reuse(inputs: tuple[str, ...], output: str, min_words: int, max_gap: int, min_shared: int,
          max_doc_frequency: int, star_above: int, series_field: str | None, ngram: int,
          workers: int, tmp_dir: str | None, progress: bool | None, force: bool,
          **settings: Any) -> None:
    """Find passages documents share (text reuse), even when the documents as wholes differ.

    Writes every pair of documents sharing passages of --min-words or more (offsets in
    both, words, identity, containment both ways) and groups of the same passage across
    documents, with each copy's date and the attribution phrases it carries. Text is
    compared as it is (not cleaned): offsets point into the original documents.
    """
    if min_words < ngram:
        raise click.BadParameter(f"must be at least --ngram ({ngram})", param_hint="--min-words")
    read = _read_options(settings)
    if series_field is not None:
        if settings["site_field"] not in (None, series_field):
            raise click.UsageError("--series-field and --site-field name different fields")
        read = replace(read, site_field=series_field)
    options = ReuseOptions(ngram=ngram, min_words=min_words, max_gap=max_gap,
                           min_shared=min_shared, star_above=min(star_above, max_doc_frequency),
                           max_doc_frequency=max_doc_frequency,
                           same_series=series_field is None, tmp_dir=tmp_dir)
    result = api.reuse_files(list(inputs), output, options, read, workers or None, progress,
                             force)
    _report_rejections(result.rejected, f"see {Path(output) / 'rejected.jsonl'}")
    s = result.stats
    _warn_if_empty(s.documents_read, inputs)
    click.echo(
        f"{s.documents_read:,} read, {s.rejected:,} rejected: {_plural(s.pairs, 'pair')} "
        f"{'shares' if s.pairs == 1 else 'share'} {_plural(s.passages, 'passage')}; "
        f"{_plural(s.groups, 'passage group')} across {_plural(s.documents_in_groups, 'document')}"
        f"; {result.seconds:.1f}s -> {output}", err=True)
    capped = s.capped
    if capped.get("skipped_shingles") or capped.get("star_shingles"):
        click.echo(
            f"neardup: capped: {_plural(capped['skipped_shingles'], 'shingle')} in more than "
            f"{max_doc_frequency:,} documents skipped as template, "
            f"{_plural(capped['star_shingles'], 'shingle')} in more than "
            f"{capped['star_above']:,} linked to their first document only"
            + (f" (--star-above {star_above:,} lowered to keep counting linear)"
               if capped["star_above"] < star_above else "")
            + " (summary.json: capped)", err=True)


class _CorpusAfterIn(click.Command):
    """`find QUERIES... --in CORPUS... -o OUT`: every argument after ``--in`` up to the next
    option is a corpus input (click's options take one value each)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        spread: list[str] = []
        taking = False
        for arg in args:
            if arg == "--in":
                taking = True
                continue
            if taking and (arg == "-" or not arg.startswith("-")):
                spread += ["--in", arg]
                continue
            taking = False
            spread.append(arg)
        return super().parse_args(ctx, spread)


@main.command(cls=_CorpusAfterIn)
@_force_option
@click.argument("queries", nargs=-1, required=True)
@click.option("--in", "corpus", multiple=True, required=True,
              help="Corpus inputs to search (any input neardup reads), after QUERIES: "
                   "`--in a.jsonl b/ c.parquet`.")
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="Directory for queries.jsonl, matches.jsonl, rejected.jsonl and "
                   "summary.json (and kept/, removed.jsonl with --remove).")
@click.option("--ngram", type=click.IntRange(1, 63), default=DEFAULT_FIND_NGRAM,
              show_default=True,
              help="Tokens per n-gram; a query shorter than this matches as a whole.")
@click.option("--min-overlap", type=click.FloatRange(0, 1, min_open=True), default=0.5,
              show_default=True,
              help="Share of a query's n-grams that makes it contaminated (anywhere in the "
                   "corpus) and a document removed (in that document).")
@click.option("--remove", is_flag=True,
              help="Write kept/, the corpus without each document reaching --min-overlap "
                   "with some query, and removed.jsonl.")
@click.option("--kept-format", type=click.Choice(KEPT_FORMATS), default="input",
              show_default=True,
              help="kept/ in each input's own format, or the kept documents as Parquet.")
@click.option("--query-id-field", default="id", show_default=True,
              help="JSONL/Parquet field holding a query's id.")
@click.option("--query-text-field", multiple=True,
              help="JSONL/Parquet field holding a query's text (default: text); repeat it "
                   "to join several fields, a question and its answer, with a newline.")
@click.option("--workers", "-w", type=click.IntRange(0), default=0,
              help="Processes to use; 0 (default) uses all cores, 1 runs in one.")
@click.option("--tmp-dir", type=click.Path(file_okay=False), default=None,
              help="Where to keep a copy of standard input for kept/ (default: the system's "
                   "temp dir).")
@_progress_option
@_engine_options
@_input_options
def find(queries: tuple[str, ...], corpus: tuple[str, ...], output: str, ngram: int,
         min_overlap: float, remove: bool, kept_format: str, query_id_field: str,
         query_text_field: tuple[str, ...], workers: int, tmp_dir: str | None,
         progress: bool | None, force: bool, **settings: Any) -> None:
    """Find given texts (QUERIES: files of them) in a corpus: where each occurs, how much.

    A query matches a corpus document where they share a run of --ngram tokens; per
    query, the share of its n-grams found in the corpus (contaminated at --min-overlap)
    and its longest passage; per query and document, the overlap and each shared passage
    as character offsets into both texts, checked token by token. --id-field,
    --text-field and the other input options read the corpus.
    """
    read = _read_options(settings)
    fields = query_text_field or ("text",)
    query_read = replace(read, id_field=query_id_field, text_field=fields[0],
                         more_text_fields=tuple(fields[1:]), option_prefix="query-")
    result = api.find_files(list(queries), list(corpus), output,
                            FindOptions(ngram=ngram, min_overlap=min_overlap), read,
                            query_read, workers or None, progress, force, remove,
                            kept_format, tmp_dir,
                            _spark_settings({**settings, "workers": workers}))
    where = f"see {Path(output) / 'rejected.jsonl'}"
    _report_rejections(result.rejected_queries, where)
    _report_rejections(result.rejected, where, result.stats.documents_rejected)
    s = result.stats
    _warn_if_empty(s.queries_read, queries)
    _warn_if_empty(s.documents_read, corpus)
    click.echo(
        f"{s.queries:,} {'query' if s.queries == 1 else 'queries'} "
        f"({s.queries_rejected:,} rejected), "
        f"{s.contaminated:,} at overlap >= {min_overlap:g}; {s.documents_read:,} documents "
        f"read, {s.documents_rejected:,} rejected, {s.documents_matched:,} matched"
        + (f", {s.removed:,} removed" if remove else "")
        + f"; {result.seconds:.1f}s -> {output}", err=True)


@main.command()
@click.argument("outdir", type=click.Path(exists=True, file_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Where to write the report (default: OUTDIR/report.html).")
@click.option("--max-pairs", type=click.IntRange(0), default=300, show_default=True,
              help="Pairs listed and shown side by side (dedup: lowest similarity first; "
                   "reuse: most shared words first).")
@click.option("--max-groups", type=click.IntRange(0), default=300, show_default=True,
              help="Groups listed, largest first.")
def report(outdir: str, output: str | None, max_pairs: int, max_groups: int) -> None:
    """Write a static HTML report of a `dedup` or `reuse` output directory.

    It opens from disk in any browser (no server): the run's figures, a histogram of pair
    similarities, groups by size, and each listed pair side by side with shared passages
    and each copy's extras highlighted. The inputs are read again for the texts.
    """
    path = write_report(outdir, output, max_pairs, max_groups,
                        warn=lambda message: click.echo(f"neardup: warning: {message}", err=True))
    click.echo(f"report -> {path}", err=True)


@main.command()
@click.argument("a")
@click.argument("b")
@click.option("--in", "corpus", multiple=True,
              help="Read A and B as document ids from this input (repeatable); without it, "
                   "A and B are files.")
@click.option("--threshold", "-t", type=click.FloatRange(0, 1, min_open=True), default=0.8,
              show_default=True, help="Jaccard at which the verdict says near duplicates.")
@click.option("--ngram", type=click.IntRange(1), default=DEFAULT_NGRAM, show_default=True,
              help="Tokens per shingle.")
@click.option("--id-field", default="id", show_default=True,
              help="With --in: JSONL/Parquet field holding the document id.")
@click.option("--text-field", default="text", show_default=True,
              help="JSONL/Parquet field holding the text.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--clean/--raw", default=True, show_default=True,
              help="Mark which differences cleaning removes (junk patterns, title and date "
                   "line) and give the Jaccard after cleaning too.")
@_MATCH_OPTION
def explain(a: str, b: str, corpus: tuple[str, ...], threshold: float, ngram: int,
            id_field: str, text_field: str, as_json: bool, clean: bool, match: str) -> None:
    """Show why A and B match: Jaccard, containment, shared passages, each one's extras."""
    read = ReadOptions(id_field, text_field)
    texts = _load_pair(a, b, list(corpus), read)
    cleaning = CleanOptions() if clean else None
    # With --in, the boilerplate dedup would learn from that corpus is removed too: the
    # texts compared are the ones dedup compares there.
    learned = (api.learn_boilerplate(list(corpus), read, cleaning, progress=False)
               if corpus and cleaning is not None else None)
    result = api.explain(texts[a], texts[b], ngram, a, b, cleaning, match == "story", learned)
    story = None
    if match == "story":
        cleaner = cleaning.cleaner(learned) if cleaning is not None else None
        compared = [cleaner.clean(texts[k]).text if cleaner else texts[k] for k in (a, b)]
        story = _StoryScore(*(story_shingles(t) for t in compared),
                            threshold=_threshold(match, threshold))
    if as_json:
        body = result.to_dict()
        if story is not None:
            body["story"] = story.to_dict()
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        click.echo(format_explanation(result, threshold, story, learned is not None))


@dataclass
class _StoryScore:
    """The story rule on two texts, for ``explain --match story``."""

    a: Any
    b: Any
    threshold: float

    @property
    def containment(self) -> float:
        return containment(self.a, self.b)

    @property
    def shared(self) -> int:
        return round(self.containment * min(len(self.a), len(self.b)))

    def to_dict(self) -> dict[str, Any]:
        return {"containment": round(self.containment, 6), "shingles_a": len(self.a),
                "shingles_b": len(self.b), "shared_shingles": self.shared,
                "threshold": self.threshold, "one_story": self.containment >= self.threshold}


def _story_dedup(inputs: list[str], output: str, run: _Run, threshold: float, keep: str,
                 kept_format: str, force: bool) -> None:
    """``dedup --match story``: the story rule's groups, written as dedup writes its own."""
    if keep != "first":
        raise click.UsageError("--match story keeps the copy with the most of the story "
                               "(see `neardup.story`); leave out --keep")
    started = time.perf_counter()
    done = api.story_files(inputs, output, StoryOptions(threshold=threshold), run.read,
                           run.options.clean, run.workers, run.progress, force, kept_format,
                           run.spark, run.options.tmp_dir, run.options.max_memory)
    n = done.counts()
    _report_rejections(done.rejections, f"see {Path(output) / 'rejected.jsonl'}",
                       n["rejected"])
    _warn_if_empty(n["documents_read"], tuple(inputs))
    click.echo(
        f"{n['documents_read']:,} read: {n['kept']:,} kept, {n['removed']:,} removed (copies "
        f"of a story) in {_plural(n['groups'], 'group')}, {n['rejected']:,} rejected; "
        f"{_plural(n['pairs'], 'pair')}; {time.perf_counter() - started:.1f}s -> {output}",
        err=True)


def _story_pairs(inputs: list[str], run: _Run, threshold: float) -> None:
    """``pairs --match story``: the story rule's pairs over the inputs."""
    out = sys.stdout.buffer
    done = api.print_story_pairs(inputs, out, StoryOptions(threshold=threshold), run.read,
                                 run.options.clean, run.workers, run.progress, run.spark,
                                 run.options.tmp_dir, run.options.max_memory)
    out.flush()
    n = done.counts()
    _report_rejections(done.rejections, "use `neardup dedup` for rejected.jsonl",
                       n["rejected"])
    _warn_if_empty(n["documents_read"], tuple(inputs))


def _load_pair(a: str, b: str, corpus: list[str], read: ReadOptions) -> dict[str, str]:
    if not corpus:
        texts = {}
        for path in (a, b):
            check_inputs([path])
            record = next(iter(read_inputs([path], read)), None)
            if record is None:
                raise InputError(f"{path}: holds no document; give two files, or two ids "
                                 "with --in")
            if isinstance(record, Rejected):
                raise InputError(record.message())
            texts[path] = record.text
        return texts
    check_inputs(corpus)
    texts = read_texts(corpus, {a, b}, read)
    if len(texts) == len({a, b}):
        return texts
    missing = sorted({a, b} - texts.keys())
    raise InputError(f"no document with id {', '.join(map(repr, missing))} in "
                     f"{', '.join(corpus)}")


def _preview(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return json.dumps(flat if len(flat) <= width else flat[: width - 1] + "…",
                      ensure_ascii=False)


def format_explanation(e: Explanation, threshold: float = 0.8,
                       story: _StoryScore | None = None, learned: bool = False) -> str:
    # The verdict is on what dedup compares: the cleaned texts when cleaning is on.
    score = e.jaccard if e.jaccard_cleaned is None else e.jaccard_cleaned
    cleaned = "" if e.jaccard_cleaned is None else " after cleaning"
    verdict = ("exact duplicates (same words in the same order)" if e.exact else
               f"exact duplicates{cleaned}" if score == 1.0 else
               f"near duplicates{cleaned}" if score >= threshold else
               f"not duplicates{cleaned}")
    if story is not None:
        verdict = (f"{'one story' if story.containment >= story.threshold else 'not one story'}"
                   f"{cleaned}")
        threshold = story.threshold
    lines = [
        f"A: {e.a}",
        f"B: {e.b}",
        f"Jaccard similarity ({e.ngram}-token shingles): {e.jaccard:.3f}  "
        f"({e.shared_shingles} shared of {e.shingles_a} in A, {e.shingles_b} in B)",
        f"Containment: {e.containment_a_in_b:.3f} of A is in B, "
        f"{e.containment_b_in_a:.3f} of B is in A",
        *([f"After cleaning (junk patterns, title and date line"
           f"{', boilerplate learned from --in' if learned else ''}): Jaccard "
           f"{e.jaccard_cleaned:.3f}"] if e.jaccard_cleaned is not None else []),
        *([f"Story (3-word runs after OCR normalisation{cleaned}): {story.containment:.3f} "
           f"of the shorter is in the other  ({story.shared} shared of {len(story.a)} in A, "
           f"{len(story.b)} in B)"] if story is not None else []),
        f"Verdict at threshold {threshold}: {verdict}",
        "",
        f"Shared passages ({_plural(len(e.passages), 'passage')}, "
        f"{_plural(sum(p.words for p in e.passages), 'word')}):",
    ]
    if story is not None:
        lines[-1] = lines[-1][:-2] + "; aligned on OCR-normalised words, joined across " \
            "small differences):"
    for p in e.passages:
        same = f"  {p.identity:.0%} identical" if story is not None else ""
        lines.append(f"  {p.words:>5} words  A[{p.a.start}:{p.a.end}]  B[{p.b.start}:{p.b.end}]"
                     f"{same}  {_preview(p.a.text, 60)}")
    for label, spans in (("A", e.only_a), ("B", e.only_b)):
        lines.append("")
        lines.append(f"Only in {label} ({_plural(len(spans), 'span')}, "
                     f"{_plural(sum(s.words for s in spans), 'word')}):")
        for s in spans:
            why = f"  [boilerplate: {s.boilerplate}]" if s.boilerplate else ""
            lines.append(f"  {label}[{s.start}:{s.end}]  {_preview(s.text, 70)}{why}")
    return "\n".join(lines)


@main.group(cls=_Commands)
def index() -> None:
    """A persistent index: add each day's documents, ask whether a text is already known.

    The index is one SQLite file (INDEX). Every document added is compared with everything
    already in it and with the others added with it, as `neardup pairs` compares a corpus.
    """


@index.command("create")
@click.argument("path", metavar="INDEX", type=click.Path(dir_okay=False))
@click.option("--threshold", "-t", type=click.FloatRange(0, 1, min_open=True), default=0.8,
              show_default=True, help="Minimum Jaccard similarity of shingle sets for a match.")
@click.option("--ngram", type=click.IntRange(1), default=DEFAULT_NGRAM, show_default=True,
              help="Tokens per shingle.")
@click.option("--num-perm", type=click.IntRange(8, 1024), default=128, show_default=True,
              help="MinHash permutations.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the MinHash permutations.")
@click.option("--max-bucket", type=click.IntRange(2), default=2000, show_default=True,
              help="A band key shared by more stored documents than this links a new one to "
                   "the first of them only.")
@click.option("--clean/--raw", default=False, show_default=True,
              help="Compare texts cleaned by the built-in junk patterns and title/date rules "
                   "(no boilerplate learning, which would change as the index grows), or as "
                   "they are.")
def index_create(path: str, threshold: float, ngram: int, num_perm: int, seed: int,
                 max_bucket: int, clean: bool) -> None:
    """Create an empty index; its settings are fixed for its life."""
    options = DedupOptions(threshold=threshold, ngram=ngram, num_perm=num_perm, seed=seed,
                           max_bucket=max_bucket,
                           clean=CleanOptions(learn=False) if clean else None)
    Index.create(path, options).close()
    click.echo(f"created {path}", err=True)


@index.command("add")
@click.argument("path", metavar="INDEX", type=click.Path(dir_okay=False))
@click.argument("inputs", nargs=-1, required=True)
@click.option("--batch-size", type=click.IntRange(1), default=25_000, show_default=True,
              help="Documents committed together: each batch's pairs are printed once it is "
                   "on disk. Larger batches rewrite the band index's pages less often.")
@click.option("--output", "-o", type=click.Path(file_okay=False), default=None,
              help="Also write what `dedup` writes, for the new documents: pairs.jsonl, "
                   "clusters.jsonl (documents already in the index win), kept/, "
                   "rejected.jsonl, summary.json.")
@_force_option
@_progress_option
@_max_memory_option
@_input_options
def index_add(path: str, inputs: tuple[str, ...], batch_size: int, output: str | None,
              force: bool, progress: bool | None, max_memory: int | None,
              **settings: Any) -> None:
    """Add documents; print the pairs they form as JSON lines (as `neardup pairs` does)."""
    read = _read_options(settings)
    out = sys.stdout.buffer

    def acknowledge(part: IndexAdded) -> None:
        for pair in part.pairs:  # committed: safe to acknowledge
            out.write(orjson.dumps(pair.to_dict(), option=orjson.OPT_APPEND_NEWLINE))
        out.flush()

    with Index(path) as ix:
        total = add_files(ix, list(inputs), output, read, batch_size, force, acknowledge,
                          progress, MemoryLimit(max_memory, advice=INDEX_ADD_ADVICE))
        documents = len(ix)
    _report_rejections(total.rejected, "fix them and add again")
    click.echo(f"{len(total.added):,} added, {total.known:,} already in the index, "
               f"{len(total.rejected):,} rejected; {_plural(len(total.pairs), 'pair')}; "
               f"{documents:,} documents in {path}", err=True)
    if total.conflicts:
        raise click.exceptions.Exit(1)


@index.command("query")
@click.argument("path", metavar="INDEX", type=click.Path(dir_okay=False))
@click.argument("inputs", nargs=-1, required=True)
@_input_options
def index_query(path: str, inputs: tuple[str, ...], **settings: Any) -> None:
    """Print, for each input document, the known documents it matches, with exact
    Jaccard, as JSON lines {"id", "matches": [{"id", "jaccard"}]}; nothing is added."""
    read = _read_options(settings)
    api.check_inputs(list(inputs), read)
    out = sys.stdout.buffer
    rejected: list[Rejected] = []
    with Index(path, readonly=True) as ix:
        batch: list[Document] = []
        for record in [*read_inputs(list(inputs), read), None]:
            if isinstance(record, Rejected):
                rejected.append(record)
            elif record is not None:
                batch.append(record)
            if batch and (record is None or len(batch) >= 1_000):
                for result in ix.query(batch):
                    out.write(orjson.dumps(result.to_dict(), option=orjson.OPT_APPEND_NEWLINE))
                batch = []
    out.flush()
    _report_rejections(rejected, "fix them and query again")


@index.command("remove")
@click.argument("path", metavar="INDEX", type=click.Path(dir_okay=False))
@click.argument("ids", nargs=-1, required=True)
def index_remove(path: str, ids: tuple[str, ...]) -> None:
    """Remove documents by id (take-down requests)."""
    with Index(path) as ix:
        removed = ix.remove(list(ids))
    missing = [i for i in ids if i not in set(removed)]
    click.echo(f"{len(removed):,} removed" + (f"; not in the index: {', '.join(missing)}"
                                              if missing else ""), err=True)


@index.command("stats")
@click.argument("path", metavar="INDEX", type=click.Path(dir_okay=False))
def index_stats(path: str) -> None:
    """The index as JSON: documents, settings, size on disk."""
    with Index(path, readonly=True) as ix:
        click.echo(json.dumps(ix.stats(), indent=2))


@main.command()
@click.argument("path", metavar="INDEX", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; beyond loopback only with --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8750, show_default=True)
@click.option("--token", envvar="NEARDUP_TOKEN", default=None,
              help="A secret every request must carry (Authorization: Bearer TOKEN); "
                   "also from NEARDUP_TOKEN.")
@click.option("--max-body", type=click.IntRange(1), default=16 << 20, show_default=True,
              help="Largest request body, in bytes (413 past it).")
@click.option("--workers", "-w", type=click.IntRange(0), default=0,
              help="Server processes; 0 (default) uses all cores.")
def serve(path: str, host: str, port: int, token: str | None, max_body: int,
          workers: int) -> None:
    """Serve an index over HTTP: a JSON API (/v1/query, /v1/documents, /v1/stats; schema at
    /openapi.json) and, at /, a page to check a text."""
    try:
        from .serve import check_bind
        from .serve import serve as run_server
    except ImportError as err:
        raise click.ClickException(f"neardup serve needs FastAPI and uvicorn ({err.name} is "
                                   "missing): pip install 'neardup[serve]'") from None
    check_bind(host, token)
    Index(path, readonly=True).close()  # a missing or foreign file fails before binding
    click.echo(f"serving {path} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    run_server(path, host, port, token, max_body, workers or default_workers())
