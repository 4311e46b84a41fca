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
4. each passage is checked token by token: the tokens of both texts, as strings of their
   normal forms (where the kernel's ``token_spans`` finds them), must be equal; where they
   differ (the table keeps a hash prefix, which two n-grams may share) each n-gram of the
   run is checked alone and only those equal are kept, so every reported passage is a
   real token match. Its spans are reported in the texts as read
   (:func:`neardup.align.spans_in_text`).

A document's *overlap* with a query is the share of the query's n-gram positions that
start inside a checked passage with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _sketch
from ..align import spans_in_text
from ..document import Document, RecordBatch
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
    overlap: float = 0.0  #: the share of the query's positions covered

    @property
    def longest(self) -> int:
        """Tokens of the longest passage."""
        return max(p.tokens for p in self.passages)


@dataclass
class ScannedBatch:
    ids: list[str]
    failed: list[tuple[int, str, str | None]]
    ntokens: np.ndarray
    matches: list[DocumentMatch]
    metas: dict[int, dict[str, Any]]  #: site and date of the documents that matched


def reported_meta(doc: Document) -> dict[str, Any]:
    """What a match line says of its document beside its id: its site and date, where the
    corpus has them."""
    return {key: doc.meta[key] for key in ("site", "date") if key in doc.meta}


class ScanTask:
    """Per batch of records: parse, find the table's n-grams, check the passages."""

    def __init__(self, table: QueryTable) -> None:
        self.table = table
        self._queries: TokenCache | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_queries": None}

    def __call__(self, batch: RecordBatch) -> ScannedBatch:
        docs, _, failed = batch.documents()
        if self._queries is None:
            self._queries = TokenCache(self.table.texts)
        ntokens, matches = find_in(self.table, [d.text for d in docs], self._queries)
        metas = {m.doc: reported_meta(docs[m.doc]) for m in matches}
        return ScannedBatch([d.id for d in docs], failed, ntokens, matches, metas)


def find_in(table: QueryTable, texts: list[str],
            queries: TokenCache | None = None) -> tuple[np.ndarray, list[DocumentMatch]]:
    """Each text's token count, and its checked matches with the table's queries (by text,
    then query). ``queries`` keeps the queries' tokens between calls."""
    norms = [normalise(t) for t in texts]
    docs, starts, hashes, ntokens = _sketch.ngram_hits(
        norms, table.ngram, table.short_widths, table.filter, table.log2_words)
    ntok = np.frombuffer(ntokens, dtype=np.int64)
    doc = np.frombuffer(docs, dtype=np.int32)
    if not len(doc):
        return ntok, []
    index, query, qpos = table.entries(np.frombuffer(hashes, dtype=np.uint64))
    if not len(index):
        return ntok, []
    # One row per (document n-gram, query n-gram) with one hash prefix.
    doc = doc[index].astype(np.int64)
    dpos = np.frombuffer(starts, dtype=np.int32)[index].astype(np.int64)
    diag = dpos - qpos
    order = np.lexsort((qpos, diag, query, doc))
    doc, query, qpos, diag = doc[order], query[order], qpos[order], diag[order]
    same_place = (doc[1:] == doc[:-1]) & (query[1:] == query[:-1]) & (diag[1:] == diag[:-1])
    if (same_place & (qpos[1:] == qpos[:-1])).any():  # two hashes of one prefix at a place
        keep = np.r_[True, ~(same_place & (qpos[1:] == qpos[:-1]))]
        doc, query, qpos, diag = doc[keep], query[keep], qpos[keep], diag[keep]
        same_place = (doc[1:] == doc[:-1]) & (query[1:] == query[:-1]) & (diag[1:] ==
                                                                         diag[:-1])
    brk = np.r_[True, ~same_place | (qpos[1:] != qpos[:-1] + 1)]
    heads = np.flatnonzero(brk)
    lengths = np.diff(np.r_[heads, len(doc)])
    if queries is None:
        queries = TokenCache(table.texts)
    return ntok, _checked(table, texts, norms, queries, doc[heads], query[heads], qpos[heads],
                          diag[heads], lengths)


class TokenizedText:
    """A text's tokens: spans in its normal form (what is compared) and in the text as read
    (what is reported)."""

    __slots__ = ("norm", "spans", "read")

    def __init__(self, text: str, norm: str | None = None) -> None:
        self.norm = normalise(text) if norm is None else norm
        self.spans = np.frombuffer(_sketch.token_spans(self.norm),
                                   dtype=np.int32).reshape(-1, 2).astype(np.int64)
        self.read = spans_in_text(text, self.norm, self.spans)

    def same_tokens(self, i: int, other: TokenizedText, j: int, n: int) -> bool:
        """Whether tokens ``i`` to ``i + n - 1`` here are ``j`` to ``j + n - 1`` there."""
        a, b = self.spans[i:i + n].tolist(), other.spans[j:j + n].tolist()
        if len(a) < n or len(b) < n:
            return False
        x, y = self.norm, other.norm
        return all(x[s:e] == y[t:u] for (s, e), (t, u) in zip(a, b))


class TokenCache:
    """The tokens of the queries a worker has met, kept for the next batches (at most
    ``size`` queries; the oldest go first)."""

    def __init__(self, texts: list[str], size: int = 65536) -> None:
        self.texts, self.size = texts, size
        self._kept: dict[int, TokenizedText] = {}

    def __getitem__(self, q: int) -> TokenizedText:
        found = self._kept.get(q)
        if found is None:
            if len(self._kept) >= self.size:
                del self._kept[next(iter(self._kept))]
            found = self._kept[q] = TokenizedText(self.texts[q])
        return found


def _real_runs(qt: TokenizedText, dt: TokenizedText, qs: int, ds: int, run: int,
               width: int) -> list[tuple[int, int]]:
    """The n-grams of a run (``run`` consecutive positions from ``qs`` in the query, ``ds``
    in the document) whose tokens really are equal, as ``(query position, n-grams)``
    runs: the whole run, as nearly always; else each n-gram checked alone (a hash prefix
    two n-grams share put a false one in the run)."""
    if qt.same_tokens(qs, dt, ds, run + width - 1):
        return [(qs, run)]
    out: list[tuple[int, int]] = []
    for k in range(run):
        if not qt.same_tokens(qs + k, dt, ds + k, width):
            continue
        if out and out[-1][0] + out[-1][1] == qs + k:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((qs + k, 1))
    return out


def _checked(table: QueryTable, texts: list[str], norms: list[str], queries: TokenCache,
             doc: np.ndarray, query: np.ndarray, qstart: np.ndarray, diag: np.ndarray,
             runs: np.ndarray) -> list[DocumentMatch]:
    """The runs (sorted by document and query) as passages checked token by token."""
    widths = table.widths
    doc_tokens: dict[int, TokenizedText] = {}
    matches: list[DocumentMatch] = []
    current: DocumentMatch | None = None
    for d, q, qs, dg, r in zip(doc.tolist(), query.tolist(), qstart.tolist(), diag.tolist(),
                               runs.tolist()):
        if d not in doc_tokens:
            doc_tokens[d] = TokenizedText(texts[d], norms[d])
        dt, qt = doc_tokens[d], queries[q]
        for start, count in _real_runs(qt, dt, qs, qs + dg, r, int(widths[q])):
            n = count + int(widths[q]) - 1
            ds = start + dg
            passage = FoundPassage((int(qt.read[start, 0]), int(qt.read[start + n - 1, 1])),
                                   (int(dt.read[ds, 0]), int(dt.read[ds + n - 1, 1])), n)
            if current is None or (current.doc, current.query) != (d, q):
                current = DocumentMatch(d, q, np.empty(0, np.int64), [])
                matches.append(current)
            current.passages.append(passage)
            current.covered = np.union1d(current.covered, np.arange(start, start + count))
    ngrams = table.ngrams
    for m in matches:
        m.passages.sort(key=lambda p: (p.query, p.doc))
        m.overlap = len(m.covered) / int(ngrams[m.query])
    return matches
