"""``neardup dedup`` on the local engine: documents streamed through worker processes,
their per-document state in arrays and spill files on this machine.

The algorithm (what is sketched, the match test, the exact copies, the decisions) is
:mod:`neardup.dedup`'s; this module only moves batches, bands and chunks of pairs to the
workers (:class:`~neardup.engine.local.LocalEngine`) and keeps what comes back, as
:mod:`neardup.engine.spark.plan` does on a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from ..clean import Cleaner
from ..cluster import group_labels
from ..dedup import (
    DedupOptions,
    DedupResult,
    Status,
    compared_text,
    decide,
    exact_representatives,
    representatives,
    score_pairs,
    sketch_texts,
)
from ..document import RawRecord, RecordBatch, Rejected, Sources
from ..intake import Intake, concat, map_batches
from ..lsh import band_pair_codes, pairs_from_codes
from ..minhash import LSHParams
from ..sigfilter import SignatureFilter
from ..similarity import jaccard_flat
from ..sketch import Sketcher, SketchParams
from .base import (
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

R = TypeVar("R")


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
        docs, _, failed = batch.documents()
        texts = [compared_text(doc, self.cleaner) for doc in docs]
        ids = [doc.id for doc in docs]
        keys, ntokens, bands, sig_bytes, counts, payload = sketch_texts(
            self._sketcher, self.lsh, texts, self.keep_shingles)
        return SketchedBatch(keys, ntokens, bands, sig_bytes, counts,
                             self.spill.append(payload), ids, failed)


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


