"""Exact and near-duplicate detection: the algorithm every engine runs.

Flow (each step is a function of its inputs; files and engines are never touched here):

1. **sketch** every document (:func:`sketch_texts`, on the text :func:`compared_text`
   gives): exact key, token count, LSH band keys, signature bytes, shingle hashes;
2. **exact groups**: documents with equal 128-bit keys (same token sequence,
   :func:`exact_representatives`);
3. **candidates**: one representative per exact group goes through LSH
   banding (:func:`neardup.lsh.band_pair_codes`);
4. **filter and verify**: a pair that shares a band key is a candidate if its
   signature bytes agree in enough places (:mod:`neardup.sigfilter`, tested per band
   as the pairs are made, so they never all stand in memory); each candidate's exact
   Jaccard from its shingle sets (:func:`score_pairs`); pairs that pass
   :meth:`DedupOptions.matches` are matches (or, with ``verify=False``, the MinHash
   estimate decides and is reported as such);
5. **groups**: connected components of matches, exact copies included; one
   member kept per group by a :class:`~neardup.cluster.KeepPolicy`, and every
   member's Jaccard to the kept one computed (:func:`decide`).

The engines move documents between these steps: :mod:`neardup.engine.local_dedup` on
this machine, :mod:`neardup.engine.spark.plan` on a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import orjson

from .clean import Cleaner, CleanOptions
from .cluster import KeepPolicy, kept_members
from .document import Document, Rejected, Source, Sources
from .lsh import band_keys
from .minhash import DEFAULT_MAX_MISS, LSHParams, choose_lsh_params, estimate_jaccard
from .sigfilter import DEFAULT_MAX_DROP, agreement_cutoff, signature_bytes
from .similarity import jaccard_many
from .sketch import Sketcher, SketchParams
from .text import DEFAULT_NGRAM


@dataclass(frozen=True)
class DedupOptions:
    """Settings of a dedup run; the defaults are the definition in the docs ("What similar
    means")."""

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
