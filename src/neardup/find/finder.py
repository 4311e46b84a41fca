"""Where given texts (queries) occur in a corpus, and how much of each.

Flow (files are never opened here):

1. **queries**: read, booked (duplicate ids and texts without words are rejected, as in
   every command) and turned into the query table (:mod:`neardup.find.table`);
2. **scan**: the corpus streams through the engine once, in batches
   (:class:`~neardup.find.scan.ScanTask`); each batch comes back with its checked matches,
   which go to the caller's sink in reading order and are summed per query here;
3. **finish**: per query, the share of its n-grams found anywhere in the corpus, its
   longest passage and the documents holding it; and which documents reach
   ``min_overlap`` with some query (for ``--remove``).

Definitions: a query's *n-grams* are its positions (:mod:`neardup.find.table`); a
document's *overlap* with a query is the share of those positions it holds in checked
passages; the query's overlap is the share held by any document. A query is
*contaminated*, and a document is removed, at ``overlap >= min_overlap``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import Any

import numpy as np

from ..document import Document, RawRecord, Rejected, Source
from ..engine.base import Engine
from ..intake import Intake, map_batches
from ..text import TOKEN, normalise
from .scan import DocumentMatch, FoundPassage, ScanTask
from .table import QueryTable

DEFAULT_FIND_NGRAM = 13


@dataclass(frozen=True)
class FindOptions:
    """Settings of a find run."""

    ngram: int = DEFAULT_FIND_NGRAM  #: tokens per n-gram (GPT-3's decontamination used 13)
    min_overlap: float = 0.5  #: overlap that makes a query contaminated, a document removed
    batch_size: int = 256

    def __post_init__(self) -> None:
        if not 1 <= self.ngram <= 63:
            raise ValueError(f"ngram must be 1 to 63, got {self.ngram}")
        if not 0.0 < self.min_overlap <= 1.0:
            raise ValueError(f"min_overlap must be in (0, 1], got {self.min_overlap}")

    def reaches(self, overlap: float) -> bool:
        """The one test of contamination and removal."""
        return overlap >= self.min_overlap - 1e-12


@dataclass
class Match:
    """A corpus document holding n-grams of a query: the share of the query's n-grams it
    holds, the passages, and the document's site and date where the corpus has them."""

    query: str
    doc: str
    overlap: float
    passages: list[FoundPassage]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "doc": self.doc, "overlap": round(self.overlap, 6),
                "passages": [p.to_dict() for p in self.passages], **self.meta}


@dataclass
class QueryReport:
    """One query's result over the whole corpus."""

    id: str
    source: str
    ngrams: int
    overlap: float
    longest: int
    documents: int
    contaminated: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "ngrams": self.ngrams,
                "overlap": round(self.overlap, 6), "longest": self.longest,
                "documents": self.documents, "contaminated": self.contaminated}


@dataclass
class Removal:
    """A corpus document removed: the query it overlaps most (the first on a tie)."""

    doc: str
    source: Source | None
    query: str
    overlap: float

    def to_dict(self) -> dict[str, Any]:
        return {"doc": self.doc, "source": self.source.path if self.source else None,
                "record": self.source.record if self.source else None, "query": self.query,
                "overlap": round(self.overlap, 6)}


@dataclass
class FindStats:
    queries_read: int = 0
    queries: int = 0
    queries_rejected: int = 0
    contaminated: int = 0
    documents_read: int = 0
    documents_rejected: int = 0
    documents_matched: int = 0
    matches: int = 0
    removed: int = 0
    query_ngrams: int = 0
    table_bytes: int = 0
    per_file: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FindResult:
    queries: list[QueryReport]
    removals: list[Removal]  #: (on Spark, in removed.jsonl only)
    rejected_queries: list[Rejected]
    rejected: list[Rejected]  #: the corpus's (on Spark, the first: the files hold them all)
    stats: FindStats
    options: FindOptions
    #: Per document number, whether it stays in ``kept/``: not rejected, not removed.
    kept: np.ndarray
    sources: Any  #: where each document was read (:class:`~neardup.document.Sources`)
    matches: list[Match] = field(default_factory=list)
    seconds: float = 0.0


class Finder:
    """Takes the queries, then streams the corpus through the engine.

    >>> finder = Finder(FindOptions(), LocalEngine(2))
    >>> finder.set_queries(query_records)           # parsed: Document / Rejected
    >>> finder.scan(corpus_records, sink=print)     # each Match, in reading order
    >>> result = finder.finish()
    """

    def __init__(self, options: FindOptions, engine: Engine) -> None:
        self.options = options
        self.engine = engine
        self.query_intake = Intake(options.batch_size)
        self.intake = Intake(options.batch_size)
        self.table = QueryTable.build([], options.ngram)
        self._query_ids: list[str] = []
        self._query_sources: list[str] = []
        self._covered = np.zeros(0, dtype=bool)
        self._longest = np.zeros(0, dtype=np.int64)
        self._documents = np.zeros(0, dtype=np.int64)
        self._kept = bytearray()
        self._removals: list[Removal] = []
        self._matched = 0
        self._matches = 0

    def set_queries(self, records: Iterable[Document | Rejected]) -> None:
        """Take the queries, parsed (all at once: they make one table)."""
        texts: list[str] = []
        intake = self.query_intake
        for item in records:
            intake.documents_read += 1
            if isinstance(item, Rejected):
                intake.reject(intake.documents_read, item)
                continue
            rejected = intake.book([intake.documents_read], [item.id], [item.source],
                                   [not _has_tokens(item.text)])
            if not rejected[0]:
                texts.append(item.text)
                self._query_ids.append(item.id)
                self._query_sources.append(item.source.path if item.source else "<memory>")
        self.table = QueryTable.build(texts, self.options.ngram)
        self._covered = np.zeros(int(self.table.first_rows[-1]), dtype=bool)
        self._longest = np.zeros(len(texts), dtype=np.int64)
        self._documents = np.zeros(len(texts), dtype=np.int64)

    def scan(self, records: Iterable[RawRecord], sink: Callable[[Match], None] | None = None
             ) -> None:
        """Stream corpus records through the engine; each match goes to ``sink``."""
        ids = self._query_ids
        task = ScanTask(self.table)
        for first, batch, scanned in map_batches(self.engine, task, records, self.intake):
            number = len(self.intake.ids)
            rejected = self.intake.absorb(first, batch, scanned.ids, scanned.failed,
                                          (scanned.ntokens == 0).tolist())
            self._kept += (~rejected).astype(np.uint8).tobytes()
            used = [m for m in scanned.matches if not rejected[m.doc]]
            for m in used:
                self._covered[self.table.first_rows[m.query] + m.covered] = True
                self._longest[m.query] = max(self._longest[m.query], m.longest)
                self._documents[m.query] += 1
                if sink is not None:
                    sink(Match(ids[m.query], scanned.ids[m.doc], m.overlap, m.passages,
                               scanned.metas.get(m.doc, {})))
            self._matches += len(used)
            for d, of_doc in groupby(used, key=lambda m: m.doc):
                self._matched += 1
                removing = removal(list(of_doc), self.options)
                if removing is not None:
                    self._kept[number + d] = 0
                    self._removals.append(Removal(scanned.ids[d],
                                                  self.intake.sources[number + d],
                                                  ids[removing.query], removing.overlap))

    @property
    def query_ids(self) -> list[str]:
        """The queries' ids, by query number."""
        return self._query_ids

    def finish(self) -> FindResult:
        """The result of the queries over the corpus scanned."""
        ngrams = self.table.ngrams
        found = (np.add.reduceat(self._covered, self.table.first_rows[:-1]) if len(ngrams)
                 else ngrams)
        result = self.result(found, self._longest, self._documents,
                             self.intake.documents_read, len(self.intake.rejected),
                             self._matched, self._matches, len(self._removals),
                             self.intake.rejected)
        result.removals = self._removals
        result.kept = np.frombuffer(bytes(self._kept), dtype=np.uint8).astype(bool)
        result.sources = self.intake.sources
        return result

    def result(self, found: np.ndarray, longest: np.ndarray, documents: np.ndarray,
               documents_read: int, documents_rejected: int, matched: int, matches: int,
               removed: int, rejected: list[Rejected]) -> FindResult:
        """The result from what the corpus held of each query (positions found anywhere,
        longest passage, documents; by query number) and the corpus's totals, however
        they were summed (here, or by an engine that scanned the corpus itself)."""
        table = self.table
        ngrams = table.ngrams
        stats = FindStats(queries_read=self.query_intake.documents_read, queries=len(table),
                          query_ngrams=int(ngrams.sum()), table_bytes=table.nbytes)
        reports = query_reports(self._query_ids, self._query_sources, ngrams, found, longest,
                                documents, self.options, stats)
        rejected_queries = self.query_intake.rejected
        stats.queries_rejected = len(rejected_queries)
        stats.documents_read = documents_read
        stats.documents_rejected = documents_rejected
        stats.documents_matched = matched
        stats.matches = matches
        stats.removed = removed
        return FindResult(reports, [], rejected_queries, rejected, stats, self.options,
                          np.zeros(0, dtype=bool), None)


def removal(matches: list[DocumentMatch], options: FindOptions) -> DocumentMatch | None:
    """The match that removes a document (its matches, by query): the one of highest
    overlap among those reaching ``min_overlap``, the first query on a tie; None if none
    reaches it."""
    reaching = [m for m in matches if options.reaches(m.overlap)]
    return max(reaching, key=lambda m: (m.overlap, -m.query)) if reaching else None


def query_reports(ids: list[str], sources: list[str], ngrams: np.ndarray, found: np.ndarray,
                  longest: np.ndarray, documents: np.ndarray, options: FindOptions,
                  stats: FindStats) -> list[QueryReport]:
    """Each query's result from its n-grams found anywhere, its longest passage and the
    documents holding it; ``stats`` gets the contaminated items, per file and in all."""
    reports = []
    for q, qid in enumerate(ids):
        overlap = float(found[q]) / int(ngrams[q])
        report = QueryReport(qid, sources[q], int(ngrams[q]), overlap, int(longest[q]),
                             int(documents[q]), options.reaches(overlap))
        reports.append(report)
        per = stats.per_file.setdefault(report.source, {"items": 0, "contaminated": 0})
        per["items"] += 1
        per["contaminated"] += report.contaminated
        stats.contaminated += report.contaminated
    return reports


def _has_tokens(text: str) -> bool:
    return TOKEN.search(normalise(text)) is not None
