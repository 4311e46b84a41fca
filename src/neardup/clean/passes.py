"""The two passes of cleaning a corpus, as engine tasks.

Pass one (:func:`first_pass`, :class:`LearnTask` in the workers) reads every document to
learn boilerplate lines and where paragraphs first appear; pass two (:class:`CleanTask`)
cleans each document with what was learned and serialises its row. The tasks see only
records by column (:class:`~neardup.document.RecordBatch`) and never open files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..document import Document, RawRecord, RecordBatch, Rejected
from ..engine.base import Engine
from ..intake import Intake, map_batches
from ..io.pages import ParsedPages, extracts_page
from .cleaner import REPEATED_LINE, Cleaner, CleanOptions
from .learn import RepeatedLines, SeenParagraphs


@dataclass
class CleanedBatch:
    """A batch's cleaned documents, by column (pickling a few lists costs far less than an
    object a document). ``place`` is a document's number among ``ids``."""

    ids: list[str]  # of the documents that parsed, in order
    lines: list[str]  # each one's cleaned.jsonl row, serialised
    chars_in: list[int]
    chars_out: list[int]
    kinds: list[tuple[int, str, int]]  # (place, kind, removals of that kind)
    repeated: list[tuple[int, str, str]]  # (place, line, reason): each learned line removed
    failed: list[tuple[int, str, str | None]]  # (position in batch, reason, id): not parsed


class CleanTask:
    """Cleans a batch (the records by column; with paragraph dedup, ``(positions, batch)``:
    the records' positions too), parsing them first if need be, and returns finished rows:
    parsing, cleaning and JSON all run in the engine's workers."""

    def __init__(self, cleaner: Cleaner, learned: FirstPass) -> None:
        self.cleaner, self.learned = cleaner, learned

    @property
    def needs_positions(self) -> bool:
        """Whether each record's position among those read is needed (paragraph dedup
        looks up where a paragraph was first seen), so records must be numbered as they
        are sent."""
        return self.learned.seen is not None

    def __call__(self, work: RecordBatch | tuple[list[int], RecordBatch]) -> CleanedBatch:
        positions, batch = work if isinstance(work, tuple) else (None, work)
        out = CleanedBatch([], [], [], [], [], [], [])
        docs, at, out.failed = batch.documents()
        for i, doc in zip(at, docs):
            row = cleaned_row(self.cleaner, doc, self.learned,
                              None if positions is None else positions[i])
            place = len(out.ids)
            out.repeated += [(place, line, reason) for line, reason in row.repeated]
            out.kinds += [(place, kind, n) for kind, n in row.kinds]
            out.lines.append(row.line)
            out.ids.append(doc.id)
            out.chars_in.append(row.chars_in)
            out.chars_out.append(row.chars_out)
        return out


@dataclass
class CleanedRow:
    """One document cleaned: its ``cleaned.jsonl`` row (serialised), its length before
    and after, its removals counted by kind (in order of each kind's first removal) and
    the learned lines removed from it, ``(line, reason)`` in order."""

    line: str
    chars_in: int
    chars_out: int
    kinds: list[tuple[str, int]]
    repeated: list[tuple[str, str]]


def cleaned_row(cleaner: Cleaner, doc: Document, learned: FirstPass,
                position: int | None = None) -> CleanedRow:
    """Clean one document as every engine does (``position``: its place among the records
    read, for paragraph dedup)."""
    text, meta = doc.text, doc.meta
    c = cleaner.clean(text, meta.get("site", ""), meta.get("title"), learned.seen, position,
                      learned.names)
    kinds: dict[str, int] = {}
    repeated = []
    for r in c.removed:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
        if r.kind == REPEATED_LINE:
            repeated.append((r.text, r.reason))
    line = json.dumps({"id": doc.id, "text": c.text, **meta, **c.meta,
                       "removed": [r.to_dict() for r in c.removed]}, ensure_ascii=False)
    return CleanedRow(line, len(text), len(c.text), list(kinds.items()), repeated)


@dataclass
class FirstPass:
    """What cleaning learns by reading the corpus once before cleaning it."""

    lines: dict[int, int] | None = None  # learned boilerplate: line key -> contexts
    seen: SeenParagraphs | None = None  # paragraph -> first document (paragraph dedup)
    #: document ids by position among the records read (None: a record that did not parse)
    names: list[str | None] = field(default_factory=list)


@dataclass
class ObservedBatch:
    """What the first pass keeps of a batch, by column: per record its id (None: it did not
    parse); the line keys of every document end to end with each one's context beside it;
    and each document's paragraph keys end to end, ``paragraph_counts`` of them a record."""

    ids: list[str | None]
    line_keys: np.ndarray
    contexts: np.ndarray
    paragraph_keys: np.ndarray
    paragraph_counts: np.ndarray
    pages: list[Document | Rejected]  # what each HTML page extracted to, for the second pass


class LearnTask:
    """First-pass work on a batch, in the workers: per document its id, line keys and
    context (learned boilerplate) and paragraph keys (paragraph dedup); with
    ``keep_pages``, what each HTML page extracted to, so the second pass need not extract
    it again."""

    def __init__(self, options: CleanOptions, keep_pages: bool = False) -> None:
        self.learn = options.learn
        self.paragraphs = SeenParagraphs() if options.paragraphs else None
        self.keep_pages = keep_pages

    def __call__(self, batch: RecordBatch) -> ObservedBatch:
        ids: list[str | None] = []
        line_keys: list[int] = []
        contexts: list[int] = []
        paragraph_keys: list[int] = []
        paragraph_counts: list[int] = []
        pages: list[Document | Rejected] = []
        keep_pages = self.keep_pages and batch.block is None
        for i, doc in batch.parsed():
            if keep_pages and extracts_page(batch.parsers[i]):
                pages.append(doc)
            if not isinstance(doc, Document):
                ids.append(None)  # keeps its place: pass two numbers alike
                paragraph_counts.append(0)
                continue
            ids.append(doc.id)
            if self.learn:
                keys, context = RepeatedLines.observe(doc.text, doc.meta.get("site", ""))
                line_keys += keys
                contexts += [context] * len(keys)
            paragraphs = (list(self.paragraphs.paragraph_keys(doc.text))
                          if self.paragraphs is not None else [])
            paragraph_keys += paragraphs
            paragraph_counts.append(len(paragraphs))
        return ObservedBatch(ids, np.array(line_keys, dtype=np.uint64),
                             np.array(contexts, dtype=np.uint64),
                             np.array(paragraph_keys, dtype=np.uint64),
                             np.array(paragraph_counts, dtype=np.int64), pages)


def first_pass(records: Iterable[RawRecord], options: CleanOptions,
               engine: Engine, intake: Intake | None = None,
               pages: ParsedPages | None = None) -> FirstPass:
    """Read every document once: learn boilerplate lines and/or where paragraphs first
    appear, as ``options`` asks. The per-document work runs on ``engine``; ``intake``
    counts what is read (a new one if not given); ``pages``, if given, keeps what each
    HTML page extracted to, for the second pass (:class:`~neardup.io.pages.ParsedPages`)."""
    learner = options.learner() if options.learn else None
    seen = SeenParagraphs() if options.paragraphs else None
    names: list[str | None] = []
    # Records are numbered as the second pass numbers them: those that reached the engine.
    for _, _, observed in map_batches(engine, LearnTask(options, pages is not None), records,
                                      intake if intake is not None else Intake()):
        if pages is not None:
            pages.add(observed.pages)
        if learner is not None:
            learner.add_arrays(observed.line_keys, observed.contexts)
        if seen is not None:
            seen.add_arrays(len(names), observed.paragraph_keys, observed.paragraph_counts)
        names += observed.ids
    if seen is not None:
        seen.finish()
    return FirstPass(learner.finish() if learner else None, seen, names)


def needs_first_pass(options: CleanOptions | None) -> bool:
    return options is not None and (options.learn or options.paragraphs)
