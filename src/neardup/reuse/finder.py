"""Text reuse over a stream of documents: pairs sharing passages, and passage groups.

Flow (each step a function of its inputs; files are never opened here):

1. **index** every document in batches (:class:`IndexTask`, run by an engine): its
   distinct shingle hashes, token count and date; its text is spilled to disk by the
   worker, so the corpus's text is never held in memory;
2. **candidates**: pairs sharing at least ``min_shared`` shingles, skipping common ones
   (:mod:`neardup.reuse.candidates`);
3. **align** each candidate pair (:class:`AlignTask`, on the engine): the passages of at
   least ``min_words`` words both hold (:mod:`neardup.reuse.passages`);
4. **group** passages across documents (:mod:`neardup.reuse.groups`) and read each
   member's provenance: date and attribution phrases (:mod:`neardup.reuse.provenance`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..align import Passage, Span, Tokens, tokenize_with_offsets
from ..document import RawRecord, RecordBatch, Rejected
from ..engine.base import (
    Engine,
    PayloadReader,
    PayloadStore,
    PayloadWriter,
    Reporter,
    batched,
    reported,
    silent,
)
from ..intake import Intake, concat, map_batches
from ..sketch import Sketcher, SketchParams, shingle_sequence
from ..text import DEFAULT_NGRAM, tokens
from .candidates import PairParts, ShingleBlocks, shared_shingle_pairs
from .groups import group_spans
from .passages import may_share_passages, shared_passages
from .provenance import Attribution, attributions, document_date


@dataclass(frozen=True)
class ReuseOptions:
    """Settings of a reuse run. The cut-offs are explained in :mod:`neardup.reuse.candidates`
    and :mod:`neardup.reuse.passages`."""

    ngram: int = DEFAULT_NGRAM
    min_words: int = 40  #: shortest passage reported, in words on both sides
    max_gap: int = 10  #: unmatched words inside one passage between two aligned runs
    min_shared: int = 10  #: shared shingles that make two documents a candidate pair
    star_above: int = 50  #: shingles in more documents link each one to the first only
    max_doc_frequency: int = 1_000  #: shingles in more documents are skipped
    #: Reuse between two documents of the same series (``meta["site"]``) is reported;
    #: False ignores it (a source's own mastheads and templates).
    same_series: bool = True
    min_overlap: float = 0.5  #: overlap that makes two spans of a document one member
    batch_size: int = 256
    tmp_dir: str | None = None

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise ValueError(f"ngram must be at least 1, got {self.ngram}")
        if self.min_words < self.ngram:
            raise ValueError(f"min_words ({self.min_words}) must be at least ngram "
                             f"({self.ngram})")
        if not 1 <= self.star_above <= self.max_doc_frequency:
            raise ValueError("need 1 <= star_above <= max_doc_frequency")


@dataclass(frozen=True)
class ReusePair:
    """Passages documents ``a`` and ``b`` share (``a`` read first), and how much of each
    document they make up: ``containment_a`` is the share of ``a``'s words inside them."""

    a: str
    b: str
    passages: list[Passage]
    containment_a: float
    containment_b: float
    shared_shingles: int  #: the counted shingles that made the pair a candidate

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for p in d["passages"]:
            p["words"] = max(p["a"]["words"], p["b"]["words"])
        return d

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> ReusePair:
        """A pair as :meth:`to_dict` wrote it (a line of ``pairs.jsonl``)."""
        passages = [Passage(Span(**p["a"]), Span(**p["b"]), p["identity"])
                    for p in row["passages"]]
        return cls(row["a"], row["b"], passages, row["containment_a"], row["containment_b"],
                   row["shared_shingles"])


@dataclass(frozen=True)
class GroupMember:
    """One document's copy of a group's passage: ``text[start:end]`` of document ``id``."""

    id: str
    start: int
    end: int
    words: int
    date: str | None
    attributions: list[Attribution] = field(default_factory=list)


@dataclass(frozen=True)
class ReuseGroup:
    """A passage found in several documents.

    ``members`` are in reading order. ``origin`` is the member with the earliest date
    (None when no member is dated); ``text`` is the origin's copy, else the first read.
    ``credits`` maps each credited source to the members whose documents credit it.
    """

    members: list[GroupMember]
    text: str
    origin: str | None
    credits: dict[str, list[str]]

    @property
    def size(self) -> int:
        """Distinct documents holding the passage."""
        return len({m.id for m in self.members})

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "origin": self.origin, "credits": self.credits,
                "text": self.text, "members": [asdict(m) for m in self.members]}


@dataclass
class ReuseStats:
    documents_read: int = 0
    rejected: int = 0
    candidate_pairs: int = 0
    pairs: int = 0
    passages: int = 0
    groups: int = 0
    documents_in_groups: int = 0
    #: what the candidate cut-offs did (:class:`~neardup.reuse.candidates.CandidateStats`)
    capped: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReuseResult:
    """What a reuse run found. ``pairs`` in reading order of ``a`` then ``b`` (empty when
    they went to a sink, as :func:`neardup.reuse_files` does); ``groups`` largest first."""

    pairs: list[ReusePair]
    groups: list[ReuseGroup]
    rejected: list[Rejected]
    stats: ReuseStats
    options: ReuseOptions
    seconds: float = 0.0


@dataclass
class IndexedBatch:
    ids: list[str]
    failed: list[tuple[int, str, str | None]]
    ntokens: np.ndarray
    counts: np.ndarray  # distinct shingles per document
    shingles: np.ndarray
    text_spill: Any  # where the texts went (the store's own reference)
    text_bytes: np.ndarray
    dates: list[str | None]
    series: list[str | None]


class IndexTask:
    """Per batch: parse, hash shingles, spill texts (UTF-8) for alignment later."""

    def __init__(self, ngram: int, spill: PayloadWriter) -> None:
        self.ngram, self.spill = ngram, spill
        self._sketcher: Sketcher | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_sketcher": None}

    def __call__(self, batch: RecordBatch) -> IndexedBatch:
        if self._sketcher is None:
            # Only the shingle sets are used; one permutation keeps MinHash's cost nil.
            self._sketcher = Sketcher(SketchParams(self.ngram, num_perm=1))
        docs, _, failed = batch.documents()
        sk = self._sketcher.sketch([d.text for d in docs], with_shingles=True)
        encoded = [d.text.encode("utf-8", "surrogatepass") for d in docs]
        ref = self.spill.append(np.frombuffer(b"".join(encoded), dtype=np.uint8))
        assert sk.shingles is not None
        return IndexedBatch(
            [d.id for d in docs], failed, sk.ntokens, sk.shingle_counts, sk.shingles, ref,
            np.array([len(e) for e in encoded], dtype=np.int64),
            [document_date(d.text, d.meta) for d in docs],
            [None if d.meta.get("site") is None else str(d.meta["site"]) for d in docs])


def _text(reader: PayloadReader, doc: int) -> str:
    return reader.get(doc).tobytes().decode("utf-8", "surrogatepass")


class AlignTask:
    """Per batch of candidate pairs ``(i, j, shared)``: the passages each pair shares.
    Pairs whose shared shingles cannot chain into a passage are dropped before their texts
    are tokenised (:func:`~neardup.reuse.passages.may_share_passages`)."""

    def __init__(self, texts: PayloadReader, options: ReuseOptions) -> None:
        self.texts, self.options = texts, options

    def __call__(self, pairs: np.ndarray) -> list[tuple[int, int, int, list[Passage]]]:
        opts = self.options
        # A batch's pairs share documents: each is read and hashed once, tokenised once.
        docs, local = np.unique(pairs[:, :2], return_inverse=True)
        local = local.reshape(-1, 2)
        texts = [_text(self.texts, d) for d in docs.tolist()]
        possible = may_share_passages([shingle_sequence(t, opts.ngram) for t in texts],
                                      local[:, 0], local[:, 1], min_words=opts.min_words,
                                      max_gap=opts.max_gap, ngram=opts.ngram)
        tokens: dict[int, Tokens] = {}

        def tokens_of(k: int) -> Tokens:
            if k not in tokens:
                tokens[k] = tokenize_with_offsets(texts[k])
            return tokens[k]

        found = []
        for (i, j, shared), (x, y) in zip(pairs[possible].tolist(), local[possible].tolist()):
            passages = shared_passages(tokens_of(x), tokens_of(y), min_words=opts.min_words,
                                       max_gap=opts.max_gap, ngram=opts.ngram)
            if passages:
                found.append((i, j, shared, passages))
        return found


class MemberTask:
    """Per batch of ``(document, [(start, end), ...])``: the attribution phrases in the
    document, and the words in each of its member spans."""

    def __init__(self, texts: PayloadReader) -> None:
        self.texts = texts

    def __call__(self, items: list[tuple[int, list[tuple[int, int]]]]
                 ) -> list[tuple[list[Attribution], list[int]]]:
        out = []
        for doc, spans in items:
            text = _text(self.texts, doc)
            out.append((attributions(text), [len(tokens(text[s:e])) for s, e in spans]))
        return out


class ReuseFinder:
    """Streams documents in, then finds the passages they share.

    >>> texts = SpillStore(np.uint8)
    >>> parts = SpilledParts(texts.directory)
    >>> with ReuseFinder(ReuseOptions(), LocalEngine(1), texts, parts) as finder:
    ...     finder.add(documents)        # any iterable of Document / Rejected / Unparsed
    ...     result = finder.finish()
    """

    def __init__(self, options: ReuseOptions, engine: Engine, texts: PayloadStore,
                 parts: PairParts, report: Reporter = silent) -> None:
        """``texts`` keeps each document's text (UTF-8 bytes) for aligning; ``parts`` the
        counted pairs while candidates are found (:mod:`neardup.reuse.candidates`); both
        are the caller's (the API's: spill files), and ``texts`` is closed with this."""
        self.options = options
        self.engine = engine
        self.report = report
        self.intake = Intake(options.batch_size)
        self._texts = texts
        self._parts = parts
        self._task = IndexTask(options.ngram, self._texts.writer())
        self._shingles = ShingleBlocks()
        self._counts: list[np.ndarray] = []
        self._ntokens: list[np.ndarray] = []
        self._dates: list[str | None] = []
        self._series: list[str | None] = []

    def add(self, records: Iterable[RawRecord]) -> None:
        """Read and index records; call any number of times before :meth:`finish`."""
        for first, batch, indexed in map_batches(self.engine, self._task, records,
                                                 self.intake):
            rejected = self.intake.absorb(first, batch, indexed.ids, indexed.failed,
                                          (indexed.ntokens == 0).tolist())
            counts = indexed.counts
            if rejected.any():  # their shingles must not link them to anything
                counts = np.where(rejected, 0, counts)
                indexed.shingles = indexed.shingles[np.repeat(~rejected, indexed.counts)]
            self._shingles.append(indexed.shingles)
            self._counts.append(counts)
            self._ntokens.append(indexed.ntokens)
            self._dates.extend(indexed.dates)
            self._series.extend(indexed.series)
            self._texts.register(indexed.text_spill, indexed.text_bytes)

    def close(self) -> None:
        """Remove the spilled texts (:meth:`finish` does this too)."""
        self._texts.close()

    def __enter__(self) -> ReuseFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def finish(self, pair_sink: Callable[[ReusePair], None] | None = None) -> ReuseResult:
        """Candidates, aligned passages and groups; removes the spilled texts.

        With ``pair_sink``, each pair goes there as it is found and is not kept in the
        result (memory then grows with groups, not with pairs and their passage texts)."""
        opts = self.options
        ids = self.intake.ids
        ntokens = concat(self._ntokens, np.int64)
        counts = concat(self._counts, np.int64)
        with self.report(int(counts.sum()), "finding candidates", " postings") as advance:
            candidates, shared, capped = shared_shingle_pairs(
                self._shingles.take(), counts, min_shared=opts.min_shared,
                star_above=opts.star_above, max_doc_frequency=opts.max_doc_frequency,
                series=None if opts.same_series else _labels(self._series),
                parts=self._parts, progress=advance, engine=self.engine)
        reader = self._texts.reader()
        pairs: list[ReusePair] = []
        n_pairs = n_passages = 0
        sides: list[tuple[int, int, int]] = []  # (doc, start, end) per passage side
        work = np.concatenate([candidates, shared[:, None]], axis=1)
        chunk = 256
        chunks = (work[k:k + chunk] for k in range(0, len(work), chunk))
        for found in reported(self.report, self.engine.map(AlignTask(reader, opts), chunks),
                              len(work), "aligning", " pairs", step=chunk):
            for i, j, count, passages in found:
                words_a = sum(p.a.words for p in passages)
                words_b = sum(p.b.words for p in passages)
                pair = ReusePair(ids[i], ids[j], passages, float(words_a / ntokens[i]),
                                 float(words_b / ntokens[j]), count)
                if pair_sink is None:
                    pairs.append(pair)
                else:
                    pair_sink(pair)
                n_pairs += 1
                n_passages += len(passages)
                for p in passages:
                    sides.append((i, p.a.start, p.a.end))
                    sides.append((j, p.b.start, p.b.end))
        groups = self._groups(np.array(sides, dtype=np.int64).reshape(-1, 3), reader)
        stats = ReuseStats(
            documents_read=self.intake.documents_read, rejected=len(self.intake.rejected),
            candidate_pairs=len(candidates), pairs=n_pairs, passages=n_passages,
            groups=len(groups),
            documents_in_groups=len({m.id for g in groups for m in g.members}),
            capped=capped.to_dict())
        self.close()
        return ReuseResult(pairs, groups, self.intake.rejected, stats, opts)

    def _groups(self, sides: np.ndarray, reader: PayloadReader) -> list[ReuseGroup]:
        if not len(sides):
            return []
        docs, starts, ends = sides.T
        links = np.arange(len(sides)).reshape(-1, 2)
        group, member = group_spans(docs, starts, ends, links, self.options.min_overlap)
        # One row per member: its document and the extent of the spans it merged.
        heads, member_of = np.unique(member, return_inverse=True)
        m_start = np.full(len(heads), np.iinfo(np.int64).max)
        m_end = np.zeros(len(heads), np.int64)
        np.minimum.at(m_start, member_of, starts)
        np.maximum.at(m_end, member_of, ends)
        m_doc, m_group = docs[heads], group[heads]
        # Per document holding members: its credits, and the words of each member in it.
        by_doc = np.argsort(m_doc, kind="stable")
        cuts = np.flatnonzero(np.diff(m_doc[by_doc])) + 1
        work = [(int(m_doc[rows[0]]), list(zip(m_start[rows].tolist(), m_end[rows].tolist())))
                for rows in np.split(by_doc, cuts)]
        batches = reported(self.report, self.engine.map(MemberTask(reader), batched(work, 256)),
                           len(work), "reading credits", " documents", step=256)
        found = [f for batch in batches for f in batch]
        credits = {doc: attrs for (doc, _), (attrs, _) in zip(work, found)}
        m_words = np.zeros(len(heads), np.int64)
        m_words[by_doc] = [w for _, ws in found for w in ws]
        ids, dates = self.intake.ids, self._dates
        order = np.lexsort((m_start, m_doc, m_group))
        bounds = np.flatnonzero(np.diff(m_group[order])) + 1
        groups = []
        for rows in np.split(order, bounds):
            members = [GroupMember(ids[d], s, e, w, dates[d], credits[d]) for d, s, e, w in zip(
                m_doc[rows].tolist(), m_start[rows].tolist(), m_end[rows].tolist(),
                m_words[rows].tolist())]
            dated = [k for k, m in enumerate(members) if m.date]
            first = min(dated, key=lambda k: members[k].date or "") if dated else 0
            doc = int(m_doc[rows][first])
            text = _text(reader, doc)[members[first].start:members[first].end]
            credited: dict[str, list[str]] = {}
            for m in members:
                for source in dict.fromkeys(a.source for a in m.attributions):
                    credited.setdefault(source, []).append(m.id)
            groups.append(ReuseGroup(members, text, members[first].id if dated else None,
                                     credited))
        groups.sort(key=lambda g: -g.size)
        return groups


def _labels(values: list[str | None]) -> np.ndarray:
    """A number per distinct value; -1 for None."""
    numbers: dict[str, int] = {}
    return np.array([-1 if v is None else numbers.setdefault(v, len(numbers)) for v in values],
                    dtype=np.int64)
