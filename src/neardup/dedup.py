"""Exact and near-duplicate detection over a stream of documents.

Flow (each step is a function of its inputs; files are never opened here):

1. **sketch** every document in batches (:class:`SketchTask`, run by an
   engine): exact key, token count, LSH band keys, shingle hashes;
2. **exact groups**: documents with equal 128-bit keys (same token sequence);
3. **candidates**: one representative per exact group goes through LSH
   banding (:mod:`neardup.lsh`);
4. **filter and verify**: a pair that shares a band key is a candidate if its
   signature bytes agree in enough places (:mod:`neardup.sigfilter`, tested per band
   as the pairs are made, so they never all stand in memory); each candidate's exact
   Jaccard from its stored shingle sets;
   pairs at or above the threshold are matches (or, with ``verify=False``,
   the MinHash estimate decides and is reported as such);
5. **groups**: connected components of matches, exact copies included; one
   member kept per group by a :class:`~neardup.cluster.KeepPolicy`, and every
   member's Jaccard to the kept one computed.

Per-document state kept for the whole corpus is fixed-size (key, counts, band
keys, where it was read from); texts stream through once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

import numpy as np
import orjson

from .clean import Cleaner, CleanOptions
from .cluster import KeepPolicy, group_labels, kept_members
from .document import Document, RawRecord, RecordBatch, Rejected, Source, Sources
from .engine.base import (
    ColumnReader,
    ColumnStore,
    Engine,
    PayloadReader,
    PayloadStore,
    PayloadWriter,
    Reporter,
    RowStore,
    reported,
    silent,
)
from .intake import Intake, concat, map_batches
from .lsh import band_keys, band_pair_codes, pairs_from_codes
from .minhash import DEFAULT_MAX_MISS, LSHParams, choose_lsh_params, estimate_jaccard
from .sigfilter import DEFAULT_MAX_DROP, SignatureFilter, agreement_cutoff, signature_bytes
from .similarity import jaccard_flat, jaccard_many
from .sketch import Sketcher, SketchParams
from .text import DEFAULT_NGRAM


@dataclass(frozen=True)
class DedupOptions:
    """Settings of a dedup run; the defaults are the README's definition."""

    threshold: float = 0.8
    ngram: int = DEFAULT_NGRAM
    num_perm: int = 128
    seed: int = 1
    keep: KeepPolicy = KeepPolicy.FIRST
    verify: bool = True
    max_miss: float = DEFAULT_MAX_MISS
    max_bucket: int = 2_000
    #: Chance that the signature test drops a pair at the threshold (:mod:`.sigfilter`).
    max_drop: float = DEFAULT_MAX_DROP
    batch_size: int = 256
    tmp_dir: str | None = None
    #: Bytes the run's processes may hold (None: 3/4 of the machine's memory); the local
    #: engine stops with a one-line error past it.
    max_memory: int | None = None
    #: Clean texts before comparing (None: compare them raw).
    clean: CleanOptions | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        object.__setattr__(self, "keep", KeepPolicy(self.keep))

    @property
    def sketch_params(self) -> SketchParams:
        return SketchParams(self.ngram, self.num_perm, self.seed)

    @property
    def lsh_params(self) -> LSHParams:
        return choose_lsh_params(self.threshold, self.num_perm, self.max_miss)

    @property
    def agreement_cutoff(self) -> int:
        """How many signature bytes of a pair must agree for it to be verified
        (:func:`~neardup.sigfilter.agreement_cutoff`); 0 without verification, where the
        signatures' own estimate is the test."""
        if not self.verify:
            return 0
        return agreement_cutoff(self.threshold, self.num_perm, self.max_drop)

    def matches(self, scores: np.ndarray | float) -> np.ndarray | bool:
        """The match test, for every engine and the index: a score at least the threshold.
        The tolerance keeps a pair whose exact Jaccard equals the threshold (4/5 at 0.8)
        from failing on the last bit of a float division."""
        return scores >= self.threshold - 1e-12


@dataclass
class SketchedBatch:
    """What comes back from sketching a batch: small per-document state, and where the
    verification payload (shingle sets, or signatures when estimating) was spilled."""

    keys: np.ndarray
    ntokens: np.ndarray
    band_keys: np.ndarray
    signature_bytes: np.ndarray  # (n, num_perm) uint8: see neardup.sigfilter
    counts: np.ndarray  # payload items per document
    spill: Any  # where the payloads went (the store's own reference)
    ids: list[str]  # of the documents sketched, in order
    failed: list[tuple[int, str, str | None]]  # (position in the batch, reason, id): not parsed


class SketchTask:
    """The per-batch work an engine runs: :class:`RecordBatch` -> :class:`SketchedBatch`.
    Picklable. Unparsed records are parsed here, so parsing runs in the workers too."""

    def __init__(self, params: SketchParams, lsh: LSHParams, keep_shingles: bool,
                 spill: PayloadWriter, cleaner: Cleaner | None = None) -> None:
        self.params, self.lsh, self.keep_shingles, self.spill = params, lsh, keep_shingles, spill
        self.cleaner = cleaner
        self._sketcher: Sketcher | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_sketcher": None}

    def __call__(self, batch: RecordBatch) -> SketchedBatch:
        if self._sketcher is None:
            self._sketcher = Sketcher(self.params)
        texts: list[str] = []
        ids: list[str] = []
        failed: list[tuple[int, str, str | None]] = []
        for i, doc in batch.parsed():
            if isinstance(doc, Rejected):
                failed.append((i, doc.reason, doc.id))
                continue
            texts.append(compared_text(doc, self.cleaner))
            ids.append(doc.id)
        keys, ntokens, bands, sig_bytes, counts, payload = sketch_texts(
            self._sketcher, self.lsh, texts, self.keep_shingles)
        return SketchedBatch(keys, ntokens, bands, sig_bytes, counts,
                             self.spill.append(payload), ids, failed)


def compared_text(doc: Document, cleaner: Cleaner | None) -> str:
    """The text of ``doc`` that every engine and the index compare: as read, or cleaned
    by ``cleaner`` with the document's site (for its learned lines) and title."""
    if cleaner is None:
        return doc.text
    return cleaner.clean(doc.text, doc.meta.get("site", ""), doc.meta.get("title")).text


def sketch_texts(sketcher: Sketcher, lsh: LSHParams, texts: list[str], keep_shingles: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                            np.ndarray]:
    """What every engine keeps of a batch of texts: exact keys ``(n, 2)``, token counts,
    band keys ``(n, bands)``, signature bytes ``(n, num_perm)`` (:mod:`.sigfilter`), and
    the verification payload of each document (its sorted shingle hashes when verifying,
    else its signature) as counts and one flat array."""
    sk = sketcher.sketch(texts, with_shingles=keep_shingles)
    bands = band_keys(sk.signatures, lsh)
    sig_bytes = signature_bytes(sk.signatures)
    if keep_shingles:
        assert sk.shingles is not None
        return sk.keys, sk.ntokens, bands, sig_bytes, sk.shingle_counts, sk.shingles
    counts = np.full(len(texts), sketcher.params.num_perm, dtype=np.int64)
    return sk.keys, sk.ntokens, bands, sig_bytes, counts, sk.signatures.ravel()


R = TypeVar("R")


class Status(IntEnum):
    OK = 0
    REJECTED = 1


@dataclass(frozen=True)
class Pair:
    """Two documents that match, ``a`` read before ``b``. ``jaccard`` is exact unless
    ``estimated``."""

    a: str
    b: str
    jaccard: float
    exact: bool = False  # the same token sequence
    estimated: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"a": self.a, "b": self.b, "jaccard": round(self.jaccard, 6)}
        if self.exact:
            d["exact"] = True
        if self.estimated:
            d["estimated"] = True
        return d


@dataclass(frozen=True)
class ExactGroup:
    """A large group of token-identical copies, listed once instead of as all its pairs."""

    members: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"exact_group": self.members, "size": len(self.members), "jaccard": 1.0}


@dataclass
class Stats:
    documents_read: int = 0
    rejected: int = 0
    kept: int = 0
    removed: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    groups: int = 0
    pairs: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    lsh_bands: int = 0
    lsh_rows: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def of_counts(cls, *, documents_read: int, rejected: int, valid: int, kept: int,
                  groups: int, grouped: int, grouped_representatives: int, pairs: int,
                  candidate_pairs: int, verified_pairs: int, lsh: LSHParams) -> Stats:
        """A run's stats from its counts, for every engine: ``valid`` documents compared,
        ``grouped`` of them in a group, ``grouped_representatives`` of those the first of
        their exact copies; what is not kept is removed, as an exact copy when its group
        holds an earlier token-identical document, else as a near one."""
        exact = grouped - grouped_representatives
        return cls(documents_read=documents_read, rejected=rejected, kept=kept,
                   removed=valid - kept, exact_duplicates=exact,
                   near_duplicates=valid - kept - exact, groups=groups, pairs=pairs,
                   candidate_pairs=candidate_pairs, verified_pairs=verified_pairs,
                   lsh_bands=lsh.bands, lsh_rows=lsh.rows)


@dataclass
class DedupResult:
    """Everything a dedup run decided, indexed by document number (reading order).

    ``cluster[i]`` is ``-1`` for a document in no group; ``jaccard_to_kept[i]``
    is its exact Jaccard to its group's kept document (``nan`` outside groups).
    """

    ids: list[str]
    sources: Sources
    status: np.ndarray
    keep: np.ndarray
    cluster: np.ndarray
    jaccard_to_kept: np.ndarray
    exact_rep: np.ndarray
    ntokens: np.ndarray
    rejected: list[Rejected]
    stats: Stats
    options: DedupOptions
    _rep_edges: np.ndarray = field(repr=False)
    _rep_scores: np.ndarray = field(repr=False)
    seconds: float = 0.0  # wall time, set by whoever ran it

    def kept_indices(self) -> list[int]:
        return np.flatnonzero(self.keep).tolist()

    def kept_ids(self) -> list[str]:
        return [self.ids[i] for i in self.kept_indices()]

    def groups(self) -> list[list[str]]:
        """Each group's member ids, kept first, groups in order of first member."""
        out: dict[int, list[str]] = {}
        for i in np.flatnonzero(self.cluster >= 0).tolist():
            members = out.setdefault(int(self.cluster[i]), [])
            members.insert(0, self.ids[i]) if self.keep[i] else members.append(self.ids[i])
        return [out[c] for c in sorted(out)]

    def iter_cluster_rows(self) -> Iterator[dict[str, Any]]:
        """One row per document in a group: id, cluster, size, keep, jaccard_to_kept."""
        for lines in self.cluster_lines():
            for line in lines.splitlines():
                yield orjson.loads(line)

    def cluster_lines(self, chunk: int = 100_000) -> Iterator[bytes]:
        """What ``clusters.jsonl`` holds, as JSON lines in chunks: one row per document in
        a group (:meth:`iter_cluster_rows`), by group, then reading order."""
        members = np.flatnonzero(self.cluster >= 0)
        order = members[np.lexsort((members, self.cluster[members]))]
        sizes = np.bincount(self.cluster[members]) if len(members) else np.empty(0, int)
        for start in range(0, len(order), chunk):
            docs = order[start:start + chunk]
            cluster = self.cluster[docs]
            yield cluster_lines([self.ids[i] for i in docs.tolist()], cluster.tolist(),
                                sizes[cluster].tolist(), self.keep[docs].tolist(),
                                self.jaccard_to_kept[docs])

    def iter_pairs(self, max_group_pairs: int | None = 1_000) -> Iterator[Pair | ExactGroup]:
        """Every matching pair. A group of exact copies with more than ``max_group_pairs``
        pairs comes as one :class:`ExactGroup` instead (``None``: never)."""
        estimated = not self.options.verify
        ids = self.ids
        for kind, first, second, scores in self._pair_chunks(max_group_pairs):
            if kind == "group":
                yield ExactGroup([ids[i] for i in first.tolist()])
            elif scores is None:
                for a, b in zip(first.tolist(), second.tolist()):
                    yield Pair(ids[a], ids[b], 1.0, exact=True)
            else:
                for a, b, score in zip(first.tolist(), second.tolist(), scores.tolist()):
                    yield Pair(ids[a], ids[b], score, estimated=estimated)

    def pair_lines(self, max_group_pairs: int | None = 1_000) -> Iterator[bytes]:
        """:meth:`iter_pairs` as JSON lines (each pair's :meth:`Pair.to_dict`), in chunks:
        what ``pairs.jsonl`` and ``neardup pairs`` hold."""
        ids = self.ids
        for kind, first, second, scores in self._pair_chunks(max_group_pairs):
            if kind == "group":
                yield exact_group_line([ids[i] for i in first.tolist()])
                continue
            docs, back = np.unique(np.concatenate([first, second]), return_inverse=True)
            names = json_strings([ids[i] for i in docs.tolist()])
            yield pair_lines([names[k] for k in back[:len(first)].tolist()],
                             [names[k] for k in back[len(first):].tolist()], scores,
                             not self.options.verify)

    def _pair_chunks(self, max_group_pairs: int | None, chunk: int = 1 << 20
                     ) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
        """The matching pairs as arrays of document numbers, in the order
        :meth:`iter_pairs` gives them: ``("exact", a, b, None)`` for the pairs of a group of
        exact copies, ``("group", members, members, None)`` for a group past
        ``max_group_pairs``, then ``("near", a, b, scores)`` for the verified pairs of
        representatives, each expanded to every pair of their copies (``a`` read first)."""
        valid = np.flatnonzero(self.status == Status.OK)
        reps = self.exact_rep[valid]
        order = np.argsort(reps, kind="stable")
        sorted_docs, sorted_reps = valid[order], reps[order]
        starts = np.flatnonzero(np.r_[True, sorted_reps[1:] != sorted_reps[:-1]])
        sizes = np.diff(np.r_[starts, len(sorted_reps)])
        yield from _exact_pairs(sorted_docs, starts, sizes, max_group_pairs, chunk)
        edges, edge_scores = self._rep_edges, self._rep_scores
        if not len(edges):
            return
        group_reps = sorted_reps[starts]
        ga = np.searchsorted(group_reps, edges[:, 0])
        gb = np.searchsorted(group_reps, edges[:, 1])
        counts = sizes[ga] * sizes[gb]  # every copy of one side with every copy of the other
        ends = np.cumsum(counts)
        cut = 0
        while cut < len(edges):
            stop = max(cut + 1, int(np.searchsorted(ends, ends[cut] - counts[cut] + chunk)))
            e = np.arange(cut, stop)
            n = counts[e]
            edge = np.repeat(e, n)
            within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
            width = sizes[gb[edge]]
            a = sorted_docs[starts[ga[edge]] + within // width]
            b = sorted_docs[starts[gb[edge]] + within % width]
            yield "near", np.minimum(a, b), np.maximum(a, b), edge_scores[edge]
            cut = stop


@dataclass
class DedupSummary:
    """What a run that wrote its outputs where its data is gives back, instead of a
    :class:`DedupResult` holding every document: its stats, the first records it did not
    compare (``stats.rejected`` counts them all), and its wall time."""

    stats: Stats
    options: DedupOptions
    first_rejected: list[Rejected]
    seconds: float = 0.0


def _exact_pairs(docs: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
                 max_group_pairs: int | None, chunk: int
                 ) -> Iterator[tuple[str, np.ndarray, np.ndarray, None]]:
    """The pairs of each group of exact copies (``docs[starts[g]:starts[g] + sizes[g]]``,
    groups in order), ``i < j`` within a group in row order; a group of more than
    ``max_group_pairs`` pairs as one ``("group", members, members, None)``. Groups of one
    size are expanded together (a matrix a size), in runs of about ``chunk`` pairs."""
    groups = np.flatnonzero(sizes > 1)
    pairs = sizes[groups] * (sizes[groups] - 1) // 2
    alone = pairs > chunk if max_group_pairs is None else pairs > max_group_pairs
    cuts = np.flatnonzero(alone)  # runs of ordinary groups lie between these
    bounds = np.r_[0, cuts, len(groups)]
    for k in range(len(bounds) - 1):
        run = groups[bounds[k] + (1 if k else 0):bounds[k + 1]]
        yield from _pairs_of_run(docs, starts, sizes, run, chunk)
        if k < len(cuts):
            g = int(groups[cuts[k]])
            members = docs[starts[g]:starts[g] + sizes[g]]
            if max_group_pairs is not None:
                yield "group", members, members, None
            else:  # a huge group, asked for pair by pair: a row of its triangle at a time
                for x in range(len(members) - 1):
                    yield "exact", np.full(len(members) - x - 1, members[x]), members[x + 1:], None


def _pairs_of_run(docs: np.ndarray, starts: np.ndarray, sizes: np.ndarray, run: np.ndarray,
                  chunk: int) -> Iterator[tuple[str, np.ndarray, np.ndarray, None]]:
    """The pairs of consecutive ordinary groups ``run``, in group order, in pieces."""
    counts = np.cumsum(sizes[run] * (sizes[run] - 1) // 2)
    begin = 0
    while begin < len(run):
        end = max(begin + 1, int(np.searchsorted(counts, counts[begin] + chunk)))
        part = run[begin:end]
        group_of, firsts, seconds = [], [], []
        for size in np.unique(sizes[part]).tolist():
            same = part[sizes[part] == size]
            grid = docs[starts[same][:, None] + np.arange(size)]
            i, j = np.triu_indices(size, k=1)
            group_of.append(np.repeat(same, len(i)))
            firsts.append(grid[:, i].ravel())
            seconds.append(grid[:, j].ravel())
        order = np.argsort(np.concatenate(group_of), kind="stable")  # groups in order
        yield "exact", np.concatenate(firsts)[order], np.concatenate(seconds)[order], None
        begin = end


def cluster_lines(ids: list[str], cluster: list[int], size: list[int], keep: list[bool],
                  to_kept: np.ndarray) -> bytes:
    """Lines of ``clusters.jsonl``, one a document: its id, group, group size, whether it
    is kept, and its Jaccard to the kept one."""
    return b"".join(b'{"id":%b,"cluster":%d,"size":%d,"keep":%b,"jaccard_to_kept":%b}\n'
                    % (i, c, n, b"true" if k else b"false", j)
                    for i, c, n, k, j in zip(json_strings(ids), cluster, size, keep,
                                             _json_numbers(to_kept)))


def pair_lines(a_names: list[bytes], b_names: list[bytes], scores: np.ndarray | None,
               estimated: bool) -> bytes:
    """Lines of ``pairs.jsonl`` (each :meth:`Pair.to_dict`) for pairs of ids already in
    JSON (:func:`json_strings`): exact copies when ``scores`` is None."""
    if scores is None:
        return b"".join(b'{"a":%b,"b":%b,"jaccard":1.0,"exact":true}\n' % pair
                        for pair in zip(a_names, b_names))
    end = b',"estimated":true}\n' if estimated else b"}\n"
    return b"".join(b'{"a":%b,"b":%b,"jaccard":%b%b' % (a, b, j, end)
                    for a, b, j in zip(a_names, b_names, _json_numbers(scores)))


def exact_group_line(members: list[str]) -> bytes:
    """The line of ``pairs.jsonl`` for a group of exact copies listed whole."""
    return orjson.dumps(ExactGroup(members).to_dict(), option=orjson.OPT_APPEND_NEWLINE)


#: What JSON escapes in a string.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def json_strings(values: list[str]) -> list[bytes]:
    """Each string as JSON, as ``orjson`` writes it. Most need no escaping and are quoted
    as they are, several times faster than a call to ``orjson.dumps`` each."""
    search = _JSON_ESCAPED.search
    return [orjson.dumps(v) if search(v) else b'"%b"' % v.encode() for v in values]


def _json_numbers(values: np.ndarray) -> list[bytes]:
    """Each float rounded to 6 places as JSON (NaN as null), as :meth:`Pair.to_dict` and
    ``orjson`` write them."""
    if not len(values):
        return []
    return orjson.dumps([round(v, 6) for v in values.tolist()])[1:-1].split(b",")


class Deduplicator:
    """Streams documents in, then decides exact and near duplicates.

    >>> store = SpillStore(np.uint64)  # exact verification: uint64 shingle sets
    >>> bands = SpilledColumns(store.directory, "bands", np.uint64)
    >>> signatures = SpilledRows(store.directory, "signatures")
    >>> with Deduplicator(DedupOptions(), LocalEngine(1), store, bands, signatures) as d:
    ...     d.add(documents)        # any iterable of Document / Rejected, any number of times
    ...     result = d.finish()
    """

    def __init__(self, options: DedupOptions,
                 engine: Engine, store: PayloadStore, bands: ColumnStore,
                 signatures: RowStore, report: Reporter = silent,
                 learned: dict[int, int] | None = None,
                 check_memory: Callable[[str], None] = lambda stage: None) -> None:
        """``engine`` runs the sketching; ``store`` keeps each document's payload (uint64
        shingle sets, or uint32 signatures without ``options.verify``: see
        :func:`payload_dtype`) and is closed with this; ``bands`` keeps the band keys
        (uint64, a column per band) until they are grouped; ``signatures`` keeps each
        document's signature bytes for the test between banding and verification
        (:mod:`neardup.sigfilter`); ``check_memory`` is called with the stage's name at each
        batch and each chunk of work, and raises to stop a run that holds too much
        (:class:`~neardup.engine.local.MemoryLimit`); ``learned``: boilerplate lines
        from a first pass (see :mod:`neardup.clean.learn`), used when ``options.clean``
        asks for learned boilerplate."""
        if options.clean is not None and options.clean.paragraphs:
            raise ValueError("paragraph-level dedup is part of `neardup clean`, not of dedup")
        self.options = options
        self.report = report
        self.engine = engine
        self.lsh = options.lsh_params
        self._store = store
        cleaner = options.clean.cleaner(learned) if options.clean is not None else None
        self._task = SketchTask(options.sketch_params, self.lsh, options.verify,
                                self._store.writer(), cleaner)
        self.intake = Intake(options.batch_size)
        self._status: list[np.ndarray] = []
        self._keys: list[np.ndarray] = []
        self._ntokens: list[np.ndarray] = []
        self._bands = bands
        self._signatures = signatures
        self._check_memory = check_memory

    def add(self, records: Iterable[RawRecord]) -> None:
        """Read and sketch records; call any number of times before :meth:`finish`."""
        for first, batch, sketched in map_batches(self.engine, self._task, records,
                                                  self.intake):
            rejected = self.intake.absorb(first, batch, sketched.ids, sketched.failed,
                                          (sketched.ntokens == 0).tolist())
            self._status.append(np.where(rejected, Status.REJECTED, Status.OK).astype(np.int8))
            self._keys.append(sketched.keys)
            self._ntokens.append(sketched.ntokens)
            self._bands.append(sketched.band_keys)  # to disk: 8 bytes a band a document
            self._signatures.append(sketched.signature_bytes)  # to disk: num_perm bytes
            self._store.register(sketched.spill, sketched.counts)
            self._check_memory("reading")

    @property
    def ids(self) -> list[str]:
        return self.intake.ids

    @property
    def sources(self) -> Sources:
        return self.intake.sources

    @property
    def documents_read(self) -> int:
        return self.intake.documents_read

    @property
    def rejected(self) -> list[Rejected]:
        """Every record not compared, in reading order."""
        return self.intake.rejected

    def close(self) -> None:
        """Remove the spill files (:meth:`finish` does this too)."""
        self._bands.close()
        self._signatures.close()
        self._store.close()

    def __enter__(self) -> Deduplicator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def finish(self) -> DedupResult:
        """Decide exact groups, verified pairs and groups; close the spill file."""
        opts = self.options
        n = len(self.ids)
        status = concat(self._status, np.int8, (0,))
        ntokens = concat(self._ntokens, np.int64, (0,))
        valid = np.flatnonzero(status == Status.OK)
        exact_rep = exact_representatives(concat(self._keys, np.uint64, (0, 2)), valid, n)
        reps = representatives(exact_rep)
        self._keys = []  # all per-document state now lives in the arrays above
        candidates = reps[self._candidates(reps)]
        scores = self._similarities(candidates)
        match = opts.matches(scores)
        edges, edge_scores = candidates[match], scores[match]
        result = decide(self.ids, self.sources, status, ntokens, exact_rep, len(candidates),
                        edges, edge_scores, group_labels(exact_rep, edges), self.rejected,
                        self.documents_read, opts, self._similarities)
        self.close()
        return result

    def _candidates(self, reps: np.ndarray) -> np.ndarray:
        """Candidate pairs among the documents ``reps`` (as positions in it): each band
        grouped by :class:`BandTask` on the engine, the bands' pairs merged here."""
        if len(reps) < 2:
            return np.empty((0, 2), dtype=np.int64)
        rows = self._signatures.reader()
        cutoff = self.options.agreement_cutoff
        if cutoff:
            rows.matrix()  # read once here: the workers forked next share its pages
        task = BandTask(self._bands.reader(), reps, self.options.max_bucket,
                        SignatureFilter(rows, cutoff))
        codes = self._checked(self.engine.map(task, range(self.lsh.bands)), "banding")
        return pairs_from_codes(reported(self.report, codes, self.lsh.bands, "banding",
                                         unit=" bands"), len(reps))

    def _similarities(self, pairs: np.ndarray, chunk: int = 16_384) -> np.ndarray:
        """Similarity of each pair of documents (:class:`ScoreTask` on the engine), a chunk
        of pairs at a time."""
        if not len(pairs):
            return np.empty(0)
        chunks = (pairs[start:start + chunk] for start in range(0, len(pairs), chunk))
        task = ScoreTask(self._store.reader(), self.options.verify)
        return np.concatenate(list(reported(
            self.report, self._checked(self.engine.map(task, chunks), "verifying"),
            len(pairs), "verifying", unit=" pairs", step=chunk)))

    def _checked(self, results: Iterable[R], stage: str) -> Iterator[R]:
        """``results`` passed through, memory checked at each."""
        for result in results:
            self._check_memory(stage)
            yield result


class BandTask:
    """One band's candidate pairs among the documents ``reps`` (:func:`band_pair_codes`,
    each chunk of pairs tested by ``passes``), its keys read where the band keys are
    stored. Picklable, for the workers."""

    def __init__(self, bands: ColumnReader, reps: np.ndarray, max_bucket: int,
                 passes: SignatureFilter) -> None:
        self.bands, self.reps, self.max_bucket, self.passes = bands, reps, max_bucket, passes

    def __call__(self, band: int) -> np.ndarray:
        return band_pair_codes(self.bands.column(band)[self.reps], self.max_bucket,
                               self.passes.on(self.reps))


class ScoreTask:
    """Scores a chunk of document pairs from their stored payloads (:func:`score_pairs`):
    each document's payload read once per chunk. Picklable, for the workers."""

    def __init__(self, payloads: PayloadReader, verify: bool) -> None:
        self.payloads, self.verify = payloads, verify

    def __call__(self, pairs: np.ndarray) -> np.ndarray:
        docs, local = np.unique(pairs, return_inverse=True)
        local = local.reshape(-1, 2)
        values, offsets = self.payloads.many(docs)
        if self.verify:
            return jaccard_flat(values, offsets, local[:, 0], local[:, 1])
        return score_pairs(np.split(values, offsets[1:-1]), local[:, 0], local[:, 1], False)


def payload_dtype(options: DedupOptions) -> type:
    """What a document's payload is made of: 64-bit shingle hashes to verify exactly, or
    its 32-bit MinHash signature to estimate."""
    return np.uint64 if options.verify else np.uint32


def score_pairs(payloads: list[np.ndarray], first: np.ndarray, second: np.ndarray,
                verify: bool) -> np.ndarray:
    """The score of each pair ``(payloads[first[k]], payloads[second[k]])``: exact Jaccard
    of shingle sets (intersections in one compiled call) when ``verify``, else the MinHash
    estimate from signatures."""
    if verify:
        return jaccard_many(payloads, first, second)
    return np.array([estimate_jaccard(payloads[a], payloads[b])
                     for a, b in zip(np.asarray(first).tolist(), np.asarray(second).tolist())],
                    dtype=float)


def decide(ids: list[str], sources: Sequence[Source | None], status: np.ndarray,
           ntokens: np.ndarray, exact_rep: np.ndarray, candidates: int, edges: np.ndarray,
           edge_scores: np.ndarray, labels: np.ndarray, rejected: list[Rejected],
           documents_read: int, opts: DedupOptions,
           similarities: Callable[[np.ndarray], np.ndarray]) -> DedupResult:
    """The decisions every engine ends with, from per-document arrays in reading order:
    which member of each group is kept, each member's Jaccard to it, and the run's stats.

    ``edges`` are the matching pairs of exact representatives (with ``edge_scores``),
    ``labels`` the group numbers (:func:`~neardup.cluster.group_labels`), and
    ``similarities`` scores further pairs of documents where they are stored (the engine's
    own verification), for members with no direct pair to the kept one.
    """
    n = len(ids)
    valid = np.flatnonzero(status == Status.OK)
    kept = kept_members(labels, ntokens, opts.keep)
    keep = status == Status.OK
    grouped = np.flatnonzero(labels >= 0)
    keep[grouped] = False
    keep[kept] = True
    to_kept = _similarity_to_kept(exact_rep, labels, kept, edges, edge_scores, similarities)
    copies = np.bincount(exact_rep[valid], minlength=n)
    distinct = int(np.count_nonzero(exact_rep[grouped] == grouped))  # exact copies share a group
    stats = Stats.of_counts(
        documents_read=documents_read, rejected=len(rejected), valid=len(valid),
        kept=int(keep.sum()), groups=len(kept), grouped=len(grouped),
        grouped_representatives=distinct, candidate_pairs=candidates,
        verified_pairs=len(edges), lsh=opts.lsh_params,
        pairs=int((copies * (copies - 1) // 2).sum()
                  + (copies[edges[:, 0]] * copies[edges[:, 1]]).sum()))
    return DedupResult(ids, sources, status, keep, labels, to_kept, exact_rep, ntokens,
                       rejected, stats, opts, edges, edge_scores)


def _similarity_to_kept(exact_rep: np.ndarray, labels: np.ndarray, kept: np.ndarray,
                        edges: np.ndarray, edge_scores: np.ndarray,
                        similarities: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Each grouped document's Jaccard to its group's kept one (nan outside groups):
    1 for a token-identical copy, the verified score for a direct pair, else computed."""
    to_kept = np.full(len(exact_rep), np.nan)
    grouped = np.flatnonzero(labels >= 0)
    mine, theirs = exact_rep[grouped], exact_rep[kept[labels[grouped]]]
    same = mine == theirs
    to_kept[grouped[same]] = 1.0
    a, b = mine[~same], theirs[~same]
    pairs = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)
    scores = _scores_of(pairs, edges, edge_scores, len(exact_rep))
    missing = np.isnan(scores)
    if missing.any():  # each pair scored once, however many members share it
        wanted, back = np.unique(pairs[missing], axis=0, return_inverse=True)
        scores[missing] = similarities(wanted)[back.ravel()]
    to_kept[grouped[~same]] = scores
    return to_kept


def _scores_of(pairs: np.ndarray, edges: np.ndarray, edge_scores: np.ndarray, n: int
               ) -> np.ndarray:
    """The score of each of ``pairs`` among the scored ``edges`` (nan where it is not one),
    pairs of documents numbered below ``n``: looked up by code ``a * n + b`` in the sorted
    codes of the edges."""
    scores = np.full(len(pairs), np.nan)
    if not len(edges) or not len(pairs):
        return scores
    codes = edges[:, 0].astype(np.int64) * n + edges[:, 1]
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    wanted = pairs[:, 0].astype(np.int64) * n + pairs[:, 1]
    at = np.minimum(np.searchsorted(codes, wanted), len(codes) - 1)
    found = codes[at] == wanted
    scores[found] = edge_scores[order[at[found]]]
    return scores


def representatives(exact_rep: np.ndarray) -> np.ndarray:
    """The documents that represent their exact copies (each its own representative),
    in order."""
    return np.flatnonzero(exact_rep == np.arange(len(exact_rep)))


def exact_representatives(keys: np.ndarray, valid: np.ndarray, n: int) -> np.ndarray:
    """For each document, the first valid document with the same 128-bit key (-1 if invalid).

    Grouped on the first 64 bits (a fast hash-based unique), then checked on the other 64;
    should two keys ever share a first half only, the full 128-bit grouping is used.
    """
    exact_rep = np.full(n, -1, dtype=np.int64)
    if not len(valid):
        return exact_rep
    k = keys[valid]
    _, first, inverse = np.unique(k[:, 0], return_index=True, return_inverse=True)
    if (k[first[inverse], 1] != k[:, 1]).any():
        structured = np.ascontiguousarray(k).view([("h", "<u8"), ("l", "<u8")]).ravel()
        _, first, inverse = np.unique(structured, return_index=True, return_inverse=True)
    exact_rep[valid] = valid[first][inverse.ravel()]
    return exact_rep
