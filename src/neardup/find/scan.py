"""Finding the query table's n-grams in a batch of corpus documents, and the passages.

Per batch (:class:`ScanTask`, run by an engine's workers):

1. the compiled kernel tokenises and hashes each document and returns the n-grams that
   pass the table's filter (``_sketch.ngram_hits``);
2. the sorted table says which of them some query holds, and where: rows
   ``(document, document position, query, query position)``;
3. rows of one document and query on one diagonal (document position minus query
   position) at consecutive positions are one *passage*: a run of ``r`` consecutive
   n-grams is ``r + n - 1`` tokens both texts hold in the same order, as long as the run
   can be (the n-gram after it differs);
4. each passage is checked token by token (the normalised tokens of both texts, with their
   character spans, :func:`neardup.align.tokenize_with_offsets`); one whose tokens differ
   (two n-grams with one 64-bit hash) is dropped, so every reported passage is a real
   token match.

A document's *overlap* with a query is the share of the query's n-gram positions that
start inside a checked passage with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _sketch
from ..align import Tokens, tokenize_with_offsets
from ..document import Document, RecordBatch, Rejected
from ..text import normalise
from .table import QueryTable


@dataclass(frozen=True)
class FoundPassage:
    """Tokens both texts hold in the same order: ``[start, end)`` character spans in the
    query's text and in the document's, and their length in tokens."""

    query: tuple[int, int]
    doc: tuple[int, int]
    tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {"query": list(self.query), "doc": list(self.doc), "tokens": self.tokens}


@dataclass
class DocumentMatch:
    """One corpus document's passages with one query: which of the query's n-gram
    positions they cover (sorted, distinct) and the passages themselves."""

    doc: int  #: the document's place in its batch (among the records that parsed)
    query: int
    covered: np.ndarray  #: int64 query positions whose n-gram the document holds
    passages: list[FoundPassage]


@dataclass
class ScannedBatch:
    ids: list[str]
    failed: list[tuple[int, str, str | None]]
    ntokens: np.ndarray
    matches: list[DocumentMatch]
    metas: dict[int, dict[str, Any]]  #: site and date of the documents that matched


class ScanTask:
    """Per batch of records: parse, find the table's n-grams, check the passages."""

    def __init__(self, table: QueryTable) -> None:
        self.table = table

    def __call__(self, batch: RecordBatch) -> ScannedBatch:
        docs: list[Document] = []
        failed: list[tuple[int, str, str | None]] = []
        for i, doc in batch.parsed():
            if isinstance(doc, Rejected):
                failed.append((i, doc.reason, doc.id))
            else:
                docs.append(doc)
        ntokens, matches = find_in(self.table, [d.text for d in docs])
        metas = {m.doc: {k: docs[m.doc].meta[k] for k in ("site", "date")
                         if k in docs[m.doc].meta} for m in matches}
        return ScannedBatch([d.id for d in docs], failed, ntokens, matches, metas)


def find_in(table: QueryTable, texts: list[str]) -> tuple[np.ndarray, list[DocumentMatch]]:
    """Each text's token count, and its checked matches with the table's queries (by text,
    then query)."""
    docs, starts, hashes, ntokens = _sketch.ngram_hits(
        [normalise(t) for t in texts], table.ngram, table.short_widths, table.filter,
        table.log2_words)
    ntok = np.frombuffer(ntokens, dtype=np.int64)
    doc = np.frombuffer(docs, dtype=np.int32)
    if not len(doc):
        return ntok, []
    first, count = table.rows_of(np.frombuffer(hashes, dtype=np.uint64))
    held = count > 0
    if not held.any():
        return ntok, []
    doc, dpos, first, count = (doc[held].astype(np.int64),
                               np.frombuffer(starts, dtype=np.int32)[held].astype(np.int64),
                               first[held], count[held])
    # One row per (document n-gram, query n-gram) with one hash.
    rows = np.repeat(first - np.cumsum(count) + count, count) + np.arange(count.sum())
    doc, dpos = np.repeat(doc, count), np.repeat(dpos, count)
    query = table.queries[rows].astype(np.int64)
    qpos = table.positions[rows].astype(np.int64)
    # A short query's hash is of its whole length: it holds only at a run that long.
    diag = dpos - qpos
    order = np.lexsort((qpos, diag, query, doc))
    doc, query, qpos, diag = doc[order], query[order], qpos[order], diag[order]
    brk = np.r_[True, (doc[1:] != doc[:-1]) | (query[1:] != query[:-1])
                | (diag[1:] != diag[:-1]) | (qpos[1:] != qpos[:-1] + 1)]
    heads = np.flatnonzero(brk)
    lengths = np.diff(np.r_[heads, len(doc)])
    return ntok, _checked(table, texts, doc[heads], query[heads], qpos[heads], diag[heads],
                          lengths)


def _checked(table: QueryTable, texts: list[str], doc: np.ndarray, query: np.ndarray,
             qstart: np.ndarray, diag: np.ndarray, runs: np.ndarray) -> list[DocumentMatch]:
    """The runs (sorted by document and query) as passages checked token by token."""
    widths = table.widths
    doc_tokens: dict[int, Tokens] = {}
    query_tokens: dict[int, Tokens] = {}
    matches: list[DocumentMatch] = []
    current: DocumentMatch | None = None
    for d, q, qs, dg, r in zip(doc.tolist(), query.tolist(), qstart.tolist(), diag.tolist(),
                               runs.tolist()):
        if d not in doc_tokens:
            doc_tokens[d] = tokenize_with_offsets(texts[d])
        if q not in query_tokens:
            query_tokens[q] = tokenize_with_offsets(table.texts[q])
        dt, qt = doc_tokens[d], query_tokens[q]
        n = r + int(widths[q]) - 1
        ds = qs + dg
        if qt.words[qs:qs + n] != dt.words[ds:ds + n]:
            continue  # two n-grams with one hash: not a match
        passage = FoundPassage((qt.starts[qs], qt.ends[qs + n - 1]),
                               (dt.starts[ds], dt.ends[ds + n - 1]), n)
        if current is None or (current.doc, current.query) != (d, q):
            current = DocumentMatch(d, q, np.empty(0, np.int64), [])
            matches.append(current)
        current.passages.append(passage)
        current.covered = np.union1d(current.covered, np.arange(qs, qs + r))
    for m in matches:
        m.passages.sort(key=lambda p: (p.query, p.doc))
    return matches
