"""Boilerplate learned from the corpus: lines a site repeats around different articles.

Counting repeated lines is not enough in a news corpus: the paragraphs of a syndicated
story recur in every copy, and removing them would delete the article. So a line counts
once per distinct *context*, a value that says which text the document is. A template
line ("Share this article", a newsletter prompt, a masthead) stands beside many different
articles and gathers many contexts; a line of one text, however often copied, stands
beside that text and gathers one. A line is boilerplate when it has at least
``min_contexts`` contexts, counted per site when documents name one, across the corpus
otherwise.

The context says which text a document is, from its longest line (its main paragraph:
template lines are short), by min-hashing: for each of ``CONTEXT_HASHES`` = 4 random
orders of the line's 3-word shingles, the first shingle, kept as a 16-bit fingerprint.
A line's count of contexts is, for each of the 4, the number of different fingerprints
among the documents beside it, and then the least of the 4. Copies of one text keep their
main paragraph up to small edits; two copies whose longest lines share a fraction ``J``
of their shingles (Jaccard) agree on each fingerprint with probability ``J``, so ``n``
copies show about ``1 + (n - 1)(1 - J)`` fingerprints in each order, and the least of 4
orders is lower still. An exact hash of the line would give ``n`` as soon as each copy's
edits touch it. Different articles share almost no 3-word runs in their main paragraphs
and show ``n`` fingerprints in every order (two of them agree by chance with probability
``2**-16``). Measured on 300 texts printed in 8 copies with one word of the main
paragraph changed in each copy: 1 min-hash counted 5 or more contexts for 12 of them,
4 for none; with two words changed, 55 and 0. On the 728 SPDX licence texts, families
of near-identical licences, the default cleaning keeps all 393 pairs that the raw texts
give (an exact hash of the longest line: 349). 3-word shingles: 2-, 4- and 5-word ones
kept fewer; a min-hash of the whole document's shingles does worse where a long template
outweighs a short article, since it then falls on the template.

Memory: two 64-bit values per (line, document), the line's key and the four fingerprints,
held as numpy arrays; nothing of the text itself is kept.
"""

from __future__ import annotations

import numpy as np
import xxhash

from .._sketch import shingle_sequence
from ..text import TOKEN, normalise

DEFAULT_MIN_CONTEXTS = 5
#: Tokens per shingle, and min-hashes (16 bits each, packed in 64), of a document's
#: context (see above).
CONTEXT_NGRAM = 3
CONTEXT_HASHES = 4
# Each min-hash's order: the shingle hash XOR a constant, times an odd constant.
_ORDER_XOR = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                       0xD6E8FEB86659FD93], dtype=np.uint64)
_ORDER_MUL = np.uint64(0xFF51AFD7ED558CCD)
#: Lines longer than this many words (or 12 characters a word) are taken for article
#: text and never counted: template lines are short, and skipping the rest is most of
#: the speed of learning.
MAX_LINE_WORDS = 40


def line_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of every line (without its newline)."""
    spans, start = [], 0
    for line in text.split("\n"):
        end = start + len(line)
        spans.append((start, end))
        start = end + 1
    return spans


def line_key(line: str, site: str = "", max_words: int | None = MAX_LINE_WORDS) -> int | None:
    """64-bit key of a line's words, case and spacing ignored, per site; None for a line
    with no words or more than ``max_words``. (Lighter than the comparison's tokens: a
    template repeats its lines verbatim, and this runs on every line of the corpus twice.)"""
    if max_words is not None and len(line) > 12 * max_words:
        return None
    words = line.casefold().split()
    if not words or (max_words is not None and len(words) > max_words):
        return None
    return xxhash.xxh3_64_intdigest((site + "\x00" + " ".join(words)).encode())


def text_context(line: str) -> int:
    """Which text a document is, from its main paragraph ``line``: the 16-bit fingerprints
    of the first 3-word shingle in each of 4 orders, packed in one 64-bit value (for a
    line of fewer words, its one shingle; of no words, its bytes)."""
    hashes = np.frombuffer(shingle_sequence(normalise(line), CONTEXT_NGRAM), dtype=np.uint64)
    if not len(hashes):
        hashes = np.array([xxhash.xxh3_64_intdigest(line.encode())], dtype=np.uint64)
    with np.errstate(over="ignore"):  # the orders multiply modulo 2**64
        first = ((hashes[:, None] ^ _ORDER_XOR) * _ORDER_MUL).argmin(axis=0)
    fingerprints = hashes[first] >> np.uint64(48)
    return sum(int(f) << (16 * j) for j, f in enumerate(fingerprints.tolist()))


def count_contexts(lines: np.ndarray, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct line key of ``lines`` and its count of contexts: per min-hash, the
    distinct fingerprints among ``contexts[i]`` for its rows ``i``; the least of the
    :data:`CONTEXT_HASHES` counts."""
    keys, line_ids = np.unique(lines, return_inverse=True)
    counts = np.full(len(keys), np.iinfo(np.int64).max, dtype=np.int64)
    shifted = line_ids.astype(np.uint64) << np.uint64(16)
    for j in range(CONTEXT_HASHES):
        fingerprint = (contexts >> np.uint64(16 * j)) & np.uint64(0xFFFF)
        distinct = np.unique(shifted | fingerprint) >> np.uint64(16)
        counts = np.minimum(counts, np.bincount(distinct.astype(np.int64),
                                                minlength=len(keys)))
    return keys, counts


class RepeatedLines:
    """Learns boilerplate lines from documents shown to :meth:`add`; then :meth:`finish`."""

    def __init__(self, min_contexts: int = DEFAULT_MIN_CONTEXTS) -> None:
        self.min_contexts = min_contexts
        self._lines: list[np.ndarray] = []
        self._contexts: list[np.ndarray] = []
        self._pending_lines: list[int] = []
        self._pending_contexts: list[int] = []
        self.boilerplate: dict[int, int] | None = None  # line key -> contexts seen

    @staticmethod
    def observe(text: str, site: str = "") -> tuple[list[int], int]:
        """The document's distinct line keys and its context (pure; runs in workers)."""
        lines = [text[s:e] for s, e in line_spans(text)]
        keys = list({k for k in (line_key(line, site) for line in lines) if k is not None})
        if len(keys) < 2:
            return [], 0  # a one-line document gives no context to tell template from article
        return keys, text_context(max(lines, key=len))

    def add(self, text: str, site: str = "") -> None:
        """Learn from one document."""
        keys, context = self.observe(text, site)
        self._pending_lines.extend(keys)
        self._pending_contexts.extend([context] * len(keys))
        if len(self._pending_lines) > 1_000_000:
            self._flush()

    def add_arrays(self, keys: np.ndarray, contexts: np.ndarray) -> None:
        """Many documents' line keys at once (:meth:`observe` in a worker), each with its
        document's context beside it."""
        self._flush()
        if len(keys):
            self._lines.append(np.asarray(keys, dtype=np.uint64))
            self._contexts.append(np.asarray(contexts, dtype=np.uint64))

    def _flush(self) -> None:
        if self._pending_lines:
            self._lines.append(np.array(self._pending_lines, dtype=np.uint64))
            self._contexts.append(np.array(self._pending_contexts, dtype=np.uint64))
            self._pending_lines, self._pending_contexts = [], []

    def finish(self) -> dict[int, int]:
        """Boilerplate line keys, each with the number of contexts it was seen in."""
        self._flush()
        self.boilerplate = {}
        if self._lines:
            keys, counts = count_contexts(np.concatenate(self._lines),
                                          np.concatenate(self._contexts))
            frequent = counts >= self.min_contexts
            self.boilerplate = dict(zip(keys[frequent].tolist(), counts[frequent].tolist()))
        self._lines, self._contexts = [], []
        return self.boilerplate


class SeenParagraphs:
    """Where each paragraph (line) first appears, for paragraph-level deduplication.

    :meth:`add_arrays` every document in reading order; :meth:`finish` keeps only
    paragraphs found in two or more documents, as sorted arrays (16 bytes each). Then
    :meth:`first_reader` tells, for a paragraph, the first document that had it: every later
    copy can go.
    Paragraphs of fewer than ``min_words`` words are not tracked (a "Yes." or a dateline
    repeats without being a copied paragraph).
    """

    def __init__(self, min_words: int = 5) -> None:
        self.min_words = min_words
        self._keys: list[np.ndarray] = []
        self._docs: list[np.ndarray] = []
        self.keys = np.empty(0, dtype=np.uint64)
        self.first = np.empty(0, dtype=np.int64)

    def paragraph_keys(self, text: str) -> dict[int, tuple[int, int]]:
        """Key -> span of each tracked paragraph of ``text`` (first span when repeated)."""
        out: dict[int, tuple[int, int]] = {}
        for s, e in line_spans(text):
            if len(TOKEN.findall(text, s, e)) < self.min_words:
                continue
            key = line_key(text[s:e], max_words=None)
            if key is not None and key not in out:
                out[key] = (s, e)
        return out

    def add_arrays(self, first: int, keys: np.ndarray, counts: np.ndarray) -> None:
        """Consecutive documents' paragraph keys (:meth:`paragraph_keys` in a worker):
        ``counts[k]`` of ``keys`` (end to end) are document ``first + k``'s."""
        self._keys.append(np.asarray(keys, dtype=np.uint64))
        self._docs.append(np.repeat(np.arange(first, first + len(counts), dtype=np.int64),
                                    counts))

    def finish(self) -> None:
        keys = np.concatenate(self._keys) if self._keys else np.empty(0, np.uint64)
        docs = np.concatenate(self._docs) if self._docs else np.empty(0, np.int64)
        self._keys, self._docs = [], []
        order = np.lexsort((docs, keys))
        keys, docs = keys[order], docs[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        counts = np.diff(np.r_[starts, len(keys)])
        repeated = starts[counts > 1]
        self.keys, self.first = keys[repeated], docs[repeated]

    def first_reader(self, key: int) -> int | None:
        """The first document with this paragraph, if it appears in more than one."""
        i = int(np.searchsorted(self.keys, np.uint64(key)))
        if i < len(self.keys) and int(self.keys[i]) == key:
            return int(self.first[i])
        return None
