"""The story rule: one document is a copy of another's story, up to abridgement, extension,
a new headline and dateline, and OCR-level noise.

Local papers print a wire story cut to fit (the last paragraphs dropped), under their own
headline and dateline, sometimes with a paragraph of their own; digitised archives add OCR
errors (``rn`` read as ``m``, ``e`` as ``c``, letters dropped, words split at line ends).
Whole-document Jaccard of 5-word shingles misses such copies: an abridged copy keeping 60%
scores about 0.6, and noise on 5% of characters breaks about three quarters of 5-word
shingles. The rule here asks instead how much of the *shorter* copy the other holds, on
shingles that survive the noise.

Definition (``neardup.text`` gives the tokens):

1. **The story text** (:func:`story_text`): a word hyphenated at a line end is joined
   (``exam-\\nple``), the text is normalised (NFKC, casefold), each class of OCR
   confusions becomes one letter (:data:`OCR_CLASSES`, in order: ``rn``->``m``,
   ``cl``->``d``, ``vv``->``w``, ``0``->``o``, ``1``, ``i`` and ``|``->``l``, ``5``->``s``,
   ``c``->``e``, ``u``->``n``, ``b``->``h``, ``f``->``t``, ``a``->``o``), and every vowel
   ``a e i o u y`` after a word's first character is dropped. What is left is a skeleton
   that a misread letter, a confused pair or a dropped vowel changes no more.
2. **Shingles**: the set ``S(d)`` of runs of :data:`STORY_NGRAM` (3) tokens of the story
   text, hashed to 64 bits (:func:`story_shingles`); of :data:`UNSPACED_NGRAM` (4) in a
   text mostly in scripts written without spaces, where each character is a token.
3. **Containment** ``C(a, b) = |S(a) ∩ S(b)| / min(|S(a)|, |S(b)|)``: the share of the
   shorter copy's shingles the other holds (:func:`containment`). An abridged copy keeps
   its original's shingles, so ``C`` stays near 1 whatever is cut; a headline, a dateline
   or a local paragraph adds shingles only to one side.
4. **One story** when ``C(a, b) >= threshold`` (default :data:`DEFAULT_STORY_THRESHOLD`,
   0.35); groups are the connected components of those pairs.

The threshold and shingles were chosen by measurement (``python bench/story_measures.py``:
brute force over every pair of copies planted in real ABC news, abridged to 40-90%,
extended, re-headlined, with OCR noise on 1-8% of characters). Containment of 3-word
shingles on the skeleton gave an adjusted Rand index of at least 0.95 for every threshold
from 0.15 to 0.55 on three seeds, and 1.0 at its best on each; 0.35 sits in the middle.
2-word shingles did almost as well on that corpus (0.25 to 0.60) but joined a 40-word
copy to another story on the same topic through the names both use (``python
bench/story.py --seeds 3``); Jaccard of 5-word shingles at 0.8 gave 0.08 there.

Candidates come from an inverted index of the shingles
(:func:`neardup.reuse.candidates.shared_shingle_pairs`): two documents are compared when
they share at least ``min_shared`` shingles held by at most ``max_doc_frequency``
documents, so stock phrases and templates do not make candidates; every candidate's ``C``
is then computed exactly on the whole sets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _sketch
from .align import Tokens
from .cluster import components
from .document import Rejected
from .engine.base import Engine, PayloadReader, Reporter, mapped, reported, silent
from .reuse.candidates import CandidateStats, PairParts, shared_shingle_pairs
from .similarity import intersections_flat
from .text import UNSPACED, char_class_pattern, normalise

#: Tokens per story shingle: three words; in text written without spaces, where each
#: character is a token, :data:`UNSPACED_NGRAM` characters (a few characters of Thai or
#: Chinese are shared by almost any two texts).
STORY_NGRAM = 3
UNSPACED_NGRAM = 4
#: The containment at which two documents are one story.
DEFAULT_STORY_THRESHOLD = 0.35
#: OCR's usual confusions, each class written as one letter; applied in this order.
OCR_CLASSES: tuple[tuple[str, str], ...] = (
    ("rn", "m"), ("cl", "d"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l"), ("|", "l"),
    ("5", "s"), ("c", "e"), ("u", "n"), ("b", "h"), ("f", "t"), ("a", "o"))
_HYPHENATED = re.compile(r"(\w)-[ \t]*\r?\n[ \t]*(\w)")
_LINE_END_HYPHEN = re.compile(r"-[ \t]*\r?\n")  # found fast: a literal comes first
_INNER_VOWEL = re.compile(r"\B[aeiouy]")
_UNSPACED_CHAR = re.compile(f"[{char_class_pattern(UNSPACED)}]")
_FIRST_UNSPACED = chr(min(start for start, _ in UNSPACED))
_SINGLE = str.maketrans({a: b for a, b in OCR_CLASSES if len(a) == 1})
_PAIRS = tuple((a, b) for a, b in OCR_CLASSES if len(a) == 2)


def story_text(text: str) -> str:
    """The skeleton of ``text`` that the story rule compares (step 1 of the module's
    definition)."""
    if _LINE_END_HYPHEN.search(text):  # most texts have none: skip the slower pattern
        text = _HYPHENATED.sub(r"\1\2", text)
    text = normalise(text)
    for pair, letter in _PAIRS:  # the pairs first: "rn" before its "n" becomes "u"
        text = text.replace(pair, letter)
    return _INNER_VOWEL.sub("", text.translate(_SINGLE))


#: How ``explain --match story`` aligns two copies: runs of this many equal story tokens
#: anchor a passage, runs at most :data:`ALIGN_MAX_GAP` tokens apart on both sides are
#: joined, and passages under :data:`ALIGN_MIN_WORDS` tokens are not shown.
ALIGN_NGRAM = 3
ALIGN_MAX_GAP = 6
ALIGN_MIN_WORDS = 8
_LINE_BREAK_HYPHEN = re.compile(r"-[ \t]*\r?\n[ \t]*")


def story_tokens(tokens: Tokens) -> Tokens:
    """``tokens`` (of :func:`neardup.align.tokenize_with_offsets`) as the story rule reads
    them: a word hyphenated at a line end is one token again, and each token is its story
    text; the spans stay those of the original text, so an alignment on these tokens
    points into the text as it was written, noise and all."""
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    k, text = 0, tokens.text
    while k < len(tokens.words):
        word, start, end = tokens.words[k], tokens.starts[k], tokens.ends[k]
        if k + 1 < len(tokens.words) and _LINE_BREAK_HYPHEN.fullmatch(
                text, end, tokens.starts[k + 1]):
            word, end, k = word + tokens.words[k + 1], tokens.ends[k + 1], k + 1
        words.append(story_text(word))
        starts.append(start)
        ends.append(end)
        k += 1
    return Tokens(text, words, starts, ends)


def story_shingles(text: str) -> np.ndarray:
    """``S(text)``: the sorted, distinct 64-bit hashes of the story text's runs of
    :func:`story_ngram` tokens (a text of fewer tokens has one shingle, none has none)."""
    skeleton = story_text(text)
    sequence = np.frombuffer(_sketch.shingle_sequence(skeleton, story_ngram(skeleton)),
                             dtype=np.uint64)
    return np.unique(sequence)


def story_ngram(skeleton: str) -> int:
    """:data:`UNSPACED_NGRAM` for a text mostly written without spaces (more characters
    of those scripts than space-separated words), else :data:`STORY_NGRAM`."""
    if not skeleton or max(skeleton) < _FIRST_UNSPACED:
        return STORY_NGRAM  # no character of those scripts: no need to count them
    unspaced = len(_UNSPACED_CHAR.findall(skeleton))
    return UNSPACED_NGRAM if unspaced and unspaced > len(skeleton.split()) else STORY_NGRAM


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """``C(a, b)``: the share of the smaller of two shingle sets (sorted, distinct) that
    the other holds; 0.0 when either is empty."""
    smaller = min(len(a), len(b))
    return _sketch.intersection_size(a, b) / smaller if smaller else 0.0


@dataclass(frozen=True)
class StoryOptions:
    """The story rule's settings (see the module)."""

    threshold: float = DEFAULT_STORY_THRESHOLD
    #: Shingles two documents must share (among those counted) to be compared at all.
    min_shared: int = 5
    #: A shingle in more documents than this is not counted for candidates (templates).
    max_doc_frequency: int = 1_000
    #: A shingle in more documents than this links each to the first only (a wire story
    #: in 500 papers costs 499 comparisons, not 124,750; its group still forms).
    star_above: int = 50


@dataclass(frozen=True)
class StoryPair:
    """Two documents of one story; ``a`` was read first. ``containment`` is ``C(a, b)``."""

    a: str
    b: str
    containment: float

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "containment": round(self.containment, 6)}


@dataclass
class StoryResult:
    """The stories of a corpus: every pair that passes the rule, and the groups.

    ``label[d]`` numbers ``d``'s group (the smallest document number in it); ``keep[d]``
    says whether ``d`` is its group's kept copy: the member holding the most shingles that
    another member also holds (the most of the story, with the least noise), then the
    longest (the most shingles), then the first read.
    """

    ids: list[str]
    pairs: list[StoryPair]
    label: np.ndarray
    keep: np.ndarray
    shared_with_group: np.ndarray
    #: ``C(d, kept copy of d's group)``; ``nan`` for a document in no group.
    containment_to_kept: np.ndarray
    candidates: int
    stats: CandidateStats = field(default_factory=CandidateStats)

    def groups(self) -> list[list[str]]:
        """Groups of two or more, the kept copy first, in reading order of their first."""
        members = _members(self.label)
        out = []
        for label in sorted(members):
            group = members[label]
            if len(group) > 1:
                group.sort(key=lambda d: (not self.keep[d], d))
                out.append([self.ids[d] for d in group])
        return out

    def kept_ids(self) -> list[str]:
        return [self.ids[d] for d in np.flatnonzero(self.keep)]

    def iter_cluster_rows(self) -> Iterator[dict[str, Any]]:
        """``{"id", "cluster", "size", "keep", "containment_to_kept"}`` for each document
        in a group of two or more, by group, then reading order (``clusters.jsonl``)."""
        sizes = np.bincount(self.label, minlength=len(self.ids))
        members = np.flatnonzero(sizes[self.label] > 1)
        for d in members[np.lexsort((members, self.label[members]))].tolist():
            label = int(self.label[d])
            yield cluster_row(self.ids[d], label, int(sizes[label]), bool(self.keep[d]),
                              float(self.containment_to_kept[d]))


@dataclass
class StorySummary:
    """What a run on Spark brings back, where each document's decisions stay on the
    executors: the counts ``summary.json`` reports, the candidates verified, and the
    first records rejected (in reading order)."""

    totals: dict[str, int]
    candidates: int
    rejections: list[Rejected]

    def counts(self) -> dict[str, int]:
        return self.totals


def cluster_row(doc_id: str, cluster: int, size: int, keep: bool,
                containment_to_kept: float) -> dict[str, Any]:
    """A group member's line of ``clusters.jsonl``."""
    return {"id": doc_id, "cluster": cluster, "size": size, "keep": keep,
            "containment_to_kept": round(containment_to_kept, 6)}


def find_stories(ids: list[str], texts: list[str],
                 options: StoryOptions = StoryOptions()) -> StoryResult:
    """The story rule over ``texts`` (the texts compared: cleaned or not, as the caller
    decides), ``ids[d]`` naming each. Pairs come in order of their first document."""
    sets = [story_shingles(t) for t in texts]
    return group_stories(ids, np.array([len(s) for s in sets], dtype=np.int64),
                         [s for s in sets if len(s)], SetList(sets), options)


class SetList:
    """Shingle sets held in a list, read as a
    :class:`~neardup.engine.base.PayloadReader`."""

    def __init__(self, sets: list[np.ndarray]) -> None:
        self.sets = sets

    def get(self, doc: int) -> np.ndarray:
        return self.sets[doc]

    def many(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        chosen = [self.sets[d] for d in np.asarray(docs).tolist()]
        offsets = np.zeros(len(chosen) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in chosen], out=offsets[1:])
        return (np.concatenate(chosen) if chosen else np.empty(0, np.uint64)), offsets


#: Candidate pairs verified per task, and group members decided per task.
VERIFY_CHUNK = 8192
DECIDE_CHUNK = 8192


def group_stories(ids: list[str], counts: np.ndarray, postings: list[np.ndarray],
                  sets: PayloadReader, options: StoryOptions = StoryOptions(), *,
                  parts: PairParts | None = None, engine: Engine | None = None,
                  report: Reporter = silent) -> StoryResult:
    """The story rule over documents given by their shingle sets (:func:`story_shingles`):
    ``counts[d]`` shingles for document ``d`` (0 for one that is not compared, which then
    stays alone); ``postings``, every set end to end in document order, in parts that are
    consumed as the shingle index is built (see
    :func:`~neardup.reuse.candidates.shared_shingle_pairs`); ``sets`` reads a document's
    set back for verifying candidates and deciding groups. ``engine`` (default: this
    process) runs those steps in chunks; with worker processes, ``parts`` and ``sets``
    must be stores they share (the local engine's spill files)."""
    n = len(counts)
    with report(int(counts.sum()), "finding candidates", " postings") as advance:
        candidates, _, stats = shared_shingle_pairs(
            postings, counts, min_shared=options.min_shared, star_above=options.star_above,
            max_doc_frequency=options.max_doc_frequency, parts=parts, progress=advance,
            engine=engine)
    chunks = [candidates[k:k + VERIFY_CHUNK] for k in range(0, len(candidates), VERIFY_CHUNK)]
    scores = np.concatenate([np.empty(0), *reported(
        report, mapped(engine, _Containments(sets), chunks), len(candidates),
        "verifying", " pairs", step=VERIFY_CHUNK)])
    match = scores >= options.threshold
    edges = candidates[match]
    pairs = [StoryPair(ids[a], ids[b], score)
             for (a, b), score in zip(edges.tolist(), scores[match].tolist())]
    label = components(n, edges)
    shared = np.zeros(n, dtype=np.int64)
    keep = np.ones(n, dtype=bool)  # a document alone is kept
    to_kept = np.full(n, np.nan)
    sizes = np.bincount(label, minlength=1)
    members = np.flatnonzero(sizes[label] > 1)
    members = members[np.argsort(label[members], kind="stable")]  # by group, reading order
    cuts = np.flatnonzero(np.diff(label[members])) + 1
    groups = np.split(members, cuts) if len(members) else []
    work = list(_group_chunks(groups, DECIDE_CHUNK))
    decisions = reported(report, mapped(engine, _Decisions(sets), work), len(members),
                         "deciding groups", " documents", step=DECIDE_CHUNK)
    for decided, chunk in zip(decisions, work):  # the results first: run to their end
        docs = np.concatenate(chunk)
        shared[docs], keep[docs], to_kept[docs] = decided
    return StoryResult(ids, pairs, label, keep, shared, to_kept, len(candidates), stats)


def _group_chunks(groups: list[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    """Consecutive groups, about ``size`` members at a time (a group is never split)."""
    chunk: list[np.ndarray] = []
    held = 0
    for group in groups:
        chunk.append(group)
        held += len(group)
        if held >= size:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk



class _Containments:
    """``C`` of each candidate pair of a chunk (:func:`containment`, computed for the
    whole chunk in one compiled loop), read from ``sets``. Picklable."""

    def __init__(self, sets: PayloadReader) -> None:
        self.sets = sets

    def __call__(self, pairs: np.ndarray) -> np.ndarray:
        docs, at = np.unique(pairs, return_inverse=True)
        values, offsets = self.sets.many(docs)
        first, second = at.reshape(-1, 2).T
        common = intersections_flat(values, offsets, first, second)
        sizes = np.diff(offsets)
        smaller = np.minimum(sizes[first], sizes[second])
        return np.divide(common, smaller, out=np.zeros(len(common)), where=smaller > 0)


class _Decisions:
    """:func:`decide_group` for each group of a chunk (arrays of document numbers), its
    members' sets read from ``sets``; the chunk's members' decisions end to end.
    Picklable."""

    def __init__(self, sets: PayloadReader) -> None:
        self.sets = sets

    def __call__(self, groups: list[np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        values, offsets = self.sets.many(np.concatenate(groups))
        decided, k = [], 0
        for group in groups:
            decided.append(decide_group([values[offsets[k + m]:offsets[k + m + 1]]
                                         for m in range(len(group))]))
            k += len(group)
        shared, keep, to_kept = (np.concatenate(column) for column in zip(*decided))
        return shared, keep, to_kept


def decide_group(shingles: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One group's decisions, its members' shingle sets given in reading order: how many
    of each member's shingles another member holds, which member is kept (the most such
    shingles, then the most shingles, then the first read), and each member's containment
    ``C`` with the kept one."""
    values, seen = np.unique(np.concatenate(shingles), return_counts=True)
    common = values[seen > 1]
    shared = np.array([_sketch.intersection_size(s, common) for s in shingles],
                      dtype=np.int64)
    kept = max(range(len(shingles)), key=lambda k: (shared[k], len(shingles[k]), -k))
    keep = np.zeros(len(shingles), dtype=bool)
    keep[kept] = True
    to_kept = np.array([containment(s, shingles[kept]) for s in shingles])
    return shared, keep, to_kept


def _members(label: np.ndarray) -> dict[int, list[int]]:
    """The documents of each group, by label, in reading order."""
    members: dict[int, list[int]] = {}
    for d, g in enumerate(label.tolist()):
        members.setdefault(g, []).append(d)
    return members
