"""An index that remembers: documents added over time, each new one compared with all
those already in it, and texts looked up without adding them.

The rule is the batch run's (:mod:`neardup.dedup`): a document's candidates are the
documents sharing one of its LSH band keys whose signature bytes pass the test of
:mod:`neardup.sigfilter`, every candidate is verified by exact Jaccard of shingle sets,
and a pair matches at ``jaccard >= threshold``; token-identical copies
(the same 128-bit exact key) are marked ``exact``. So a corpus added in several batches
gives the pairs ``neardup pairs`` gives on the whole corpus, each with the same score,
``a`` the document added (or read) first. One difference: a band key shared by more than
``max_bucket`` stored documents (a template repeated through a crawl) links a new
document to the first of them only, as the batch run links such a bucket as a star.

>>> with Index.create("news.ndx", DedupOptions(threshold=0.8)) as index:
...     added = index.add([("a1", text_1), ("a2", text_2)])
...     added.pairs            # the matching pairs the new documents form
...     index.query([text_3])  # what is known like text_3, nothing added
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from ..clean.cleaner import Cleaner, CleanOptions
from ..dedup import DedupOptions, Pair, compared_text, score_pairs, sketch_texts
from ..document import Docs, Document, Rejected, Source, as_documents
from ..engine.base import batched
from ..errors import InputError
from ..intake import NO_WORDS
from ..lsh import candidate_pairs
from ..sigfilter import RowsInMemory, SignatureFilter
from ..sketch import SKETCH_VERSION, Sketcher
from .store import IndexBusy, SqliteStore

__all__ = ["Index", "IndexAdded", "IndexBusy", "Match", "QueryResult"]

#: Each band's salt: a band's keys are stored xor its salt, so one table holds all bands.
_SALT_SEED = 0x9E3779B97F4A7C15


def _salts(bands: int) -> np.ndarray:
    return np.array([xxhash.xxh64_intdigest(b"band%d" % b, _SALT_SEED) for b in range(bands)],
                    dtype=np.uint64)


@dataclass(frozen=True)
class Match:
    """A known document a text matches: its id, exact Jaccard, token-identical or not."""

    id: str
    jaccard: float
    exact: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "jaccard": round(self.jaccard, 6)}
        if self.exact:
            d["exact"] = True
        return d


@dataclass
class QueryResult:
    """What the index knows like one text: its matches, best first."""

    id: str
    matches: list[Match]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "matches": [m.to_dict() for m in self.matches]}


#: Why a document whose id the index holds with another text is rejected.
ID_CONFLICT = ("id already in the index with another text: remove it first "
               "(neardup index remove) to replace it")


@dataclass
class IndexAdded:
    """What one addition did: the pairs its new documents form (with the index and among
    themselves), how many were added, how many were already there with the same text, and
    what was rejected (no words, or an id already there with another text)."""

    pairs: list[Pair] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    known: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def conflicts(self) -> bool:
        """Whether a document was refused for an id the index holds with another text."""
        return any(r.reason == ID_CONFLICT for r in self.rejected)

    def extend(self, other: IndexAdded) -> None:
        self.pairs += other.pairs
        self.added += other.added
        self.known += other.known
        self.rejected += other.rejected
        self.seconds += other.seconds


#: The layout of the index's tables; an index of another layout is refused.
FORMAT = 2


def _options_to_settings(options: DedupOptions) -> dict[str, Any]:
    clean = options.clean
    return {
        "format": FORMAT, "sketch_version": SKETCH_VERSION, "threshold": options.threshold,
        "ngram": options.ngram, "num_perm": options.num_perm, "seed": options.seed,
        "max_miss": options.max_miss, "max_bucket": options.max_bucket,
        "clean": None if clean is None else {"patterns": clean.patterns,
                                             "extra_patterns": list(clean.extra_patterns),
                                             "header": clean.header},
    }


def _settings_to_options(settings: dict[str, Any], path: Path) -> DedupOptions:
    if settings.get("format") != FORMAT:
        raise InputError(f"{path}: made by another version of neardup (index format "
                         f"{settings.get('format')}, this one reads {FORMAT}); build it again "
                         "from its documents")
    if settings.get("sketch_version") != SKETCH_VERSION:
        raise InputError(f"{path}: made by another version of neardup (sketch version "
                         f"{settings.get('sketch_version')}, this one reads {SKETCH_VERSION}); "
                         "build it again from its documents")
    clean = settings["clean"]
    return DedupOptions(
        threshold=settings["threshold"], ngram=settings["ngram"],
        num_perm=settings["num_perm"], seed=settings["seed"], max_miss=settings["max_miss"],
        max_bucket=settings["max_bucket"],
        clean=None if clean is None else CleanOptions(
            patterns=clean["patterns"], extra_patterns=tuple(clean["extra_patterns"]),
            header=clean["header"], learn=False))


class Index:
    """A persistent MinHash LSH index with exact verification (see the module's
    docstring). Open one with ``Index(path)`` (``readonly=True`` to only query), make one
    with :meth:`create`. One process writes at a time; any number read."""

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.store = SqliteStore(self.path, readonly=readonly)
        self.options = _settings_to_options(self.store.settings(), self.path)
        self._setup()

    @classmethod
    def create(cls, path: str | Path, options: DedupOptions = DedupOptions()) -> Index:
        """A new, empty index at ``path`` whose settings (threshold, shingles, permutations,
        cleaning) are fixed for its life. Cleaning, if asked, uses the built-in patterns
        and header rules only: boilerplate learned from a corpus would change as the index
        grows."""
        if not options.verify:
            raise ValueError("an index always verifies (it keeps shingle sets)")
        if options.clean is not None and options.clean.paragraphs:
            raise ValueError("paragraph-level cleaning is part of `neardup clean`")
        store = SqliteStore(path, create=True)
        try:
            store.write_settings(_options_to_settings(options))
        finally:
            store.close()
        return cls(path)

    def _setup(self) -> None:
        opts = self.options
        self.lsh = opts.lsh_params
        self.sketcher = Sketcher(opts.sketch_params)
        self.salts = _salts(self.lsh.bands)
        self.cleaner: Cleaner | None = (opts.clean.cleaner(None) if opts.clean is not None
                                        else None)

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    def __len__(self) -> int:
        return self.store.count()

    # -- adding ---------------------------------------------------------------------------

    def add(self, docs: Docs | Iterable[Document | Rejected],
            batch_size: int = 25_000) -> IndexAdded:
        """Add documents (see :meth:`add_batches`); everything one call did."""
        total = IndexAdded()
        for part in self.add_batches(docs, batch_size):
            total.extend(part)
        return total

    def add_batches(self, docs: Docs | Iterable[Document | Rejected],
                    batch_size: int = 25_000) -> Iterator[IndexAdded]:
        """Add documents ``batch_size`` at a time, each batch in one transaction: what a
        batch yields is committed (on disk, for every reader) when it is yielded. A
        document whose id the index holds with the same text is not added again, and its
        pairs with the documents stored before it come again: a run cut short and run
        again reports every pair. With another text it is rejected (remove the old one
        first)."""
        for batch in batched(_documents(docs), batch_size):
            yield self._add_batch(batch)

    def _add_batch(self, records: list[Document | Rejected]) -> IndexAdded:
        started = time.perf_counter()
        out = IndexAdded(rejected=[r for r in records if isinstance(r, Rejected)])
        docs = [r for r in records if isinstance(r, Document)]
        hashes = [_text_hash(d.text) for d in docs]
        with self.store.transaction() as store:
            known = store.known([d.id for d in docs])
            fresh: list[Document] = []
            fresh_hashes: list[bytes] = []
            again: list[Document] = []  # known with the same text: their pairs again
            again_docs: list[int] = []
            in_batch: dict[str, bytes] = {}
            for doc, digest in zip(docs, hashes):
                stored = known.get(doc.id)
                earlier = stored[1] if stored is not None else in_batch.get(doc.id)
                if earlier == digest:
                    out.known += 1
                    if stored is not None:
                        again.append(doc)
                        again_docs.append(stored[0])
                elif earlier is not None:
                    out.rejected.append(Rejected(doc.source or Source("<memory>"),
                                                 ID_CONFLICT, doc.id))
                else:
                    in_batch[doc.id] = digest
                    fresh.append(doc)
                    fresh_hashes.append(digest)
            sketched = self._sketch(fresh)
            empty = sketched.ntokens == 0
            for k in np.flatnonzero(empty).tolist():
                out.rejected.append(Rejected(fresh[k].source or Source("<memory>"), NO_WORDS,
                                             fresh[k].id))
            ok = np.flatnonzero(~empty)
            sketched = sketched.take(ok)
            fresh = [fresh[k] for k in ok.tolist()]
            fresh_hashes = [fresh_hashes[k] for k in ok.tolist()]
            # A document added before (a run cut short after its commit, or added twice)
            # gives again the pairs it formed: those with the documents stored before it.
            out.pairs = self._pairs_with_known(self._sketch(again), [d.id for d in again],
                                               np.array(again_docs, dtype=np.int64))
            out.pairs += self._pairs_with_known(sketched, [d.id for d in fresh])
            out.pairs += self._pairs_among(sketched, [d.id for d in fresh])
            rows = [(doc.id, digest, sketched.keys[k].tobytes(), int(sketched.ntokens[k]),
                     sketched.salted[k].tobytes(), sketched.payload(k).tobytes(), doc.text)
                    for k, (doc, digest) in enumerate(zip(fresh, fresh_hashes))]
            store.insert(rows, sketched.salted, sketched.signatures)
        out.added = [d.id for d in fresh]
        out.seconds = time.perf_counter() - started
        return out

    # -- querying -------------------------------------------------------------------------

    def query(self, docs: Docs | Iterable[Document | Rejected]) -> list[QueryResult]:
        """The known documents each text matches (exact Jaccard at least the threshold),
        best first; nothing is added. A text with no words matches nothing."""
        out: list[QueryResult] = []
        records = [d for d in _documents(docs) if isinstance(d, Document)]
        sketched = self._sketch(records)
        pairs = self._pairs_with_known(sketched, [d.id for d in records], with_position=True)
        found: list[list[Match]] = [[] for _ in records]
        for position, pair in pairs:
            found[position].append(Match(pair.a, pair.jaccard, pair.exact))
        for doc, matches in zip(records, found):
            matches.sort(key=lambda m: (-m.jaccard, m.id))
            out.append(QueryResult(doc.id, matches))
        return out

    # -- the rest -------------------------------------------------------------------------

    def remove(self, ids: Sequence[str]) -> list[str]:
        """Remove documents by id (a take-down); returns the ids that were there."""
        with self.store.transaction() as store:
            return store.remove(list(ids))

    def text(self, doc_id: str) -> str | None:
        """The text a stored document was added with (as given, before any cleaning), or
        None for an id the index does not hold."""
        return self.store.text(doc_id)

    def similarity(self, a: str, b: str) -> float:
        """The exact Jaccard of two stored documents' shingle sets."""
        found = [self.store.get(a), self.store.get(b)]
        if found[0] is None or found[1] is None:
            missing = a if found[0] is None else b
            raise KeyError(f"no document {missing!r} in the index")
        stored = self.store.payloads([found[0][0], found[1][0]])
        payloads = [np.frombuffer(stored[doc][1], dtype=np.uint64)
                    for doc in (found[0][0], found[1][0])]
        return float(score_pairs(payloads, np.array([0]), np.array([1]), True)[0])

    def order(self, ids: Sequence[str]) -> dict[str, int]:
        """Each stored id's place in the order of addition (its document number)."""
        known = self.store.known(list(ids))
        return {doc_id: doc for doc_id, (doc, _) in known.items()}

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self.store.get(doc_id) is not None

    def stats(self) -> dict[str, Any]:
        """``documents``, the settings, and the size on disk (bytes, database and log)."""
        size = self.store.size_on_disk()
        count = self.store.count()
        return {"path": str(self.path), "documents": count,
                "settings": {**_options_to_settings(self.options),
                             "bands": self.lsh.bands, "rows": self.lsh.rows},
                "bytes": size, "bytes_per_document": round(size / count) if count else None}

    def integrity(self) -> str:
        """SQLite's integrity check of the file: ``"ok"`` when sound."""
        return self.store.integrity()

    # -- the algorithm --------------------------------------------------------------------

    def _sketch(self, docs: list[Document]) -> _Sketched:
        texts = [compared_text(d, self.cleaner) for d in docs]
        keys, ntokens, bands, signatures, counts, payload = sketch_texts(
            self.sketcher, self.lsh, texts, True)
        bands = np.asarray(bands, dtype=np.uint64).reshape(len(docs), self.lsh.bands)
        return _Sketched(np.asarray(keys, dtype=np.uint64).reshape(len(docs), 2),
                         np.asarray(ntokens).reshape(len(docs)), bands,
                         (bands ^ self.salts).view(np.int64),
                         np.asarray(signatures, dtype=np.uint8).reshape(
                             len(docs), self.options.num_perm),
                         np.asarray(counts), payload)

    #: New documents whose stored candidates are looked up together, and candidates
    #: tested and verified together: what a batch holds at once, however large the index
    #: and however many candidates its shared paragraphs make.
    _LOOKUP_DOCS = 2_048
    _CANDIDATE_CHUNK = 65_536

    def _pairs_with_known(self, sketched: _Sketched, ids: list[str],
                          before: np.ndarray | None = None,
                          with_position: bool = False) -> list[Any]:
        """Verified pairs of each sketched document with stored ones, ``a`` the stored;
        with ``before``, only stored documents numbered below ``before[k]``."""
        pairs: list[Any] = []
        if not len(self.salts):
            return pairs
        for lo in range(0, len(ids), self._LOOKUP_DOCS):
            new = np.arange(lo, min(lo + self._LOOKUP_DOCS, len(ids)))
            candidates = self._known_candidates(sketched, new, before)
            for at in range(0, len(candidates), self._CANDIDATE_CHUNK):
                chunk = candidates[at:at + self._CANDIDATE_CHUNK]
                pairs += self._verified_with_known(chunk[self._agree_with_known(
                    chunk, sketched)], sketched, ids, with_position)
        return pairs

    def _known_candidates(self, sketched: _Sketched, new: np.ndarray,
                          before: np.ndarray | None) -> np.ndarray:
        """``(stored doc, k)`` for each sketched document ``k`` of ``new`` and each stored
        document sharing one of its band keys (numbered below ``before[k]``, if given),
        unique, sorted by stored document."""
        salted = sketched.salted[new][sketched.ntokens[new] > 0]
        keys, docs = self.store.documents_of_keys(salted)
        if not len(keys):
            return np.empty((0, 2), np.int64)
        order = np.lexsort((docs, keys))
        keys, docs = keys[order], docs[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[starts, len(keys)])
        # A key past max_bucket stored documents links to its first only (the batch star).
        big = sizes > self.options.max_bucket
        if big.any():
            keep = np.ones(len(keys), dtype=bool)
            for s, size in zip(starts[big].tolist(), sizes[big].tolist()):
                keep[s + 1:s + size] = False
            keys, docs = keys[keep], docs[keep]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            sizes = np.diff(np.r_[starts, len(keys)])
        unique_keys = keys[starts]
        flat = sketched.salted[new].ravel()
        row = np.repeat(new, sketched.salted.shape[1])
        at = np.searchsorted(unique_keys, flat)
        hit = (at < len(unique_keys)) & (unique_keys[np.minimum(at, len(unique_keys) - 1)]
                                         == flat) & (sketched.ntokens[row] > 0)
        row, at = row[hit], at[hit]
        counts = sizes[at]
        fresh = np.repeat(row, counts)
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        old = docs[np.repeat(starts[at], counts) + within]
        if before is not None:
            earlier = old < before[fresh]
            old, fresh = old[earlier], fresh[earlier]
        if not len(fresh):
            return np.empty((0, 2), np.int64)
        return np.unique(np.stack([old, fresh], axis=1), axis=0)

    def _agree_with_known(self, candidates: np.ndarray, sketched: _Sketched) -> np.ndarray:
        """Which ``(stored doc, k)`` candidates pass the signature test; a stored document
        with no signature stored (added by an older neardup) passes."""
        cutoff = self.options.agreement_cutoff
        if not cutoff or not len(candidates):
            return np.ones(len(candidates), dtype=bool)
        stored = self.store.signatures(candidates[:, 0].tolist())
        if not stored:
            return np.ones(len(candidates), dtype=bool)
        stored_docs = np.array(sorted(stored), dtype=np.int64)
        rows = np.concatenate([np.frombuffer(b"".join(stored[d] for d in stored_docs.tolist()),
                                             dtype=np.uint8).reshape(len(stored_docs), -1),
                               sketched.signatures])
        at = np.minimum(np.searchsorted(stored_docs, candidates[:, 0]), len(stored_docs) - 1)
        has_row = stored_docs[at] == candidates[:, 0]
        test = SignatureFilter(RowsInMemory(rows), cutoff)
        passed = np.ones(len(candidates), dtype=bool)
        passed[has_row] = test(at[has_row], len(stored_docs) + candidates[has_row, 1])
        return passed

    def _verified_with_known(self, candidates: np.ndarray, sketched: _Sketched,
                             ids: list[str], with_position: bool) -> list[Any]:
        """The matching pairs among ``(stored doc, k)`` candidates, each verified exactly."""
        if not len(candidates):
            return []
        stored = self.store.payloads(candidates[:, 0].tolist())
        stored_docs = sorted(stored)
        payloads = [np.frombuffer(stored[d][1], dtype=np.uint64) for d in stored_docs]
        fresh, second = np.unique(candidates[:, 1], return_inverse=True)  # this chunk's own
        payloads += [sketched.payload(k) for k in fresh.tolist()]
        first = np.searchsorted(np.array(stored_docs, dtype=np.int64), candidates[:, 0])
        scores = score_pairs(payloads, first, len(stored_docs) + second.ravel(), True)
        pairs: list[Any] = []
        for (doc, k), score in zip(candidates.tolist(), scores.tolist()):
            key, _, doc_id = stored[doc]
            pair = self._match(doc_id, ids[k], score, key == sketched.keys[k].tobytes())
            if pair is not None:
                pairs.append((k, pair) if with_position else pair)
        return pairs

    def _pairs_among(self, sketched: _Sketched, ids: list[str]) -> list[Pair]:
        """Verified pairs among the documents of one batch, ``a`` read first."""
        if len(ids) < 2:
            return []
        keep = SignatureFilter(RowsInMemory(sketched.signatures),
                               self.options.agreement_cutoff).on(np.arange(len(ids)))
        candidates = candidate_pairs(sketched.bands, self.options.max_bucket, keep)
        if not len(candidates):
            return []
        payloads = [sketched.payload(k) for k in range(len(ids))]
        scores = score_pairs(payloads, candidates[:, 0], candidates[:, 1], True)
        pairs = []
        for (a, b), score in zip(candidates.tolist(), scores.tolist()):
            pair = self._match(ids[a], ids[b], score,
                               bool((sketched.keys[a] == sketched.keys[b]).all()))
            if pair is not None:
                pairs.append(pair)
        return pairs

    def _match(self, a: str, b: str, score: float, exact: bool) -> Pair | None:
        """The pair of a verified candidate, or None: token-identical copies (the same
        exact key) always match, with Jaccard 1; others at the threshold (the batch
        run's rule)."""
        if exact:
            return Pair(a, b, 1.0, exact=True)
        if self.options.matches(score):
            return Pair(a, b, score)
        return None


@dataclass
class _Sketched:
    """A batch's sketches: exact keys ``(n, 2)``, token counts, band keys ``(n, bands)``
    (plain and salted), signature bytes ``(n, num_perm)``, and shingle sets (counts and
    one flat array)."""

    keys: np.ndarray
    ntokens: np.ndarray
    bands: np.ndarray
    salted: np.ndarray
    signatures: np.ndarray
    counts: np.ndarray
    flat: np.ndarray

    def __post_init__(self) -> None:
        self.offsets = np.r_[0, np.cumsum(self.counts)].astype(np.int64)

    def payload(self, k: int) -> np.ndarray:
        return self.flat[self.offsets[k]:self.offsets[k + 1]]

    def take(self, rows: np.ndarray) -> _Sketched:
        parts = [self.payload(k) for k in rows.tolist()]
        flat = np.concatenate(parts) if parts else self.flat[:0]
        return _Sketched(self.keys[rows], self.ntokens[rows], self.bands[rows],
                         self.salted[rows], self.signatures[rows], self.counts[rows], flat)


def _text_hash(text: str) -> bytes:
    return xxhash.xxh3_128_digest(text.encode("utf-8", "surrogatepass"))


def _documents(docs: Docs | Iterable[Document | Rejected]) -> Iterator[Document | Rejected]:
    """Documents and rejections as they come; strings and ``(id, text)`` pairs as
    :func:`neardup.document.as_documents` makes them."""
    if isinstance(docs, dict):
        yield from as_documents(docs)
        return
    for n, item in enumerate(docs):  # type: ignore[union-attr]
        if isinstance(item, (Document, Rejected)):
            yield item
        else:
            yield from as_documents([item]) if isinstance(item, tuple) else \
                as_documents({str(n): item})

