"""Why two documents match: shared passages and each side's extra spans.

Tokens are those of :mod:`neardup.text`, each mapped back to its character
span in the *original* text, so every passage and extra span can be shown
and cut out exactly.

Alignment: every ``ngram``-token window of A that also occurs in B anchors a
passage, which is then extended token by token while A and B agree; tokens of
A (and of B) covered by no passage are that side's extras. Extras are grouped
into spans broken at line ends, so a title, a date line and a footer come out
as separate spans. A passage may appear in a different order in the two
documents (moved paragraphs are still shared).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from ._unicode_tables import MARKS
from .clean.cleaner import Cleaner, Removal
from .text import (
    DEFAULT_NGRAM,
    TOKEN,
    char_class_pattern,
    jaccard,
    normalise,
    shingles,
    tokens,
)


@dataclass(frozen=True)
class Tokens:
    """Normalised tokens of a text and their ``[start, end)`` character spans in it."""

    text: str
    words: list[str]
    starts: list[int]
    ends: list[int]

    @cached_property
    def hashes(self) -> np.ndarray:
        """A 64-bit hash per token (Python's string hash: equal words, equal hashes, within
        one process), computed once per :class:`Tokens`."""
        return np.fromiter(map(hash, self.words), dtype=np.int64,
                           count=len(self.words)).view(np.uint64)


def tokenize_with_offsets(text: str) -> Tokens:
    """The tokens of :func:`neardup.text.tokens` with their spans in ``text``.

    ASCII stretches are tokenised in bulk (NFKC leaves ASCII alone and casefolding it is
    lowercasing, so offsets carry over). Whitespace-separated runs holding other
    characters are normalised one by one (NFKC does not compose across whitespace, so the
    tokens are the same as normalising the whole text). Where normalising could compose or
    change lengths, each character with the marks (and Hangul vowel and final jamo) after
    it is normalised on its own and its output mapped back to it; should that not
    reproduce the run's normal form, the run's tokens get the whole run's span.
    """
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    at = 0
    for run in () if text.isascii() else _NON_ASCII_RUN.finditer(text):
        _ascii_tokens(text, at, run.start(), words, starts, ends)
        _run_tokens(run, words, starts, ends)
        at = run.end()
    _ascii_tokens(text, at, len(text), words, starts, ends)
    return Tokens(text, words, starts, ends)


_NON_ASCII_RUN = re.compile(r"\S*[^\x00-\x7f]\S*")


#: :data:`~neardup.text.TOKEN` on lowercase ASCII, where no character is a mark or of a
#: script written without spaces: a run of ``\w``. Ten times faster than the full pattern.
_ASCII_TOKEN = re.compile(r"[0-9a-z_]+")
_ASCII_WORD = np.zeros(256, dtype=np.int8)
_ASCII_WORD[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789_", dtype=np.uint8)] = 1


def _ascii_tokens(text: str, start: int, end: int, words: list[str], starts: list[int],
                  ends: list[int]) -> None:
    low = text[start:end].lower()
    if len(low) < 256:
        for m in _ASCII_TOKEN.finditer(low):
            words.append(m.group())
            starts.append(start + m.start())
            ends.append(start + m.end())
        return
    # Long stretches: word boundaries from a character table in numpy (\w on ASCII).
    edges = np.diff(_ASCII_WORD[np.frombuffer(low.encode("ascii"), dtype=np.uint8)],
                    prepend=0, append=0)
    words.extend(_ASCII_TOKEN.findall(low))
    starts.extend((np.flatnonzero(edges == 1) + start).tolist())
    ends.extend((np.flatnonzero(edges == -1) + start).tolist())


def _run_tokens(run: re.Match[str], words: list[str], starts: list[int],
                ends: list[int]) -> None:
    raw = run.group()
    norm = normalise(raw)
    base = run.start()
    if _one_to_one(raw, norm):
        for m in TOKEN.finditer(norm):
            words.append(m.group())
            starts.append(base + m.start())
            ends.append(base + m.end())
        return
    # Where each normalised character comes from: the span of the cluster it came out of.
    first: list[int] = []
    last: list[int] = []
    pieces: list[str] = []
    for cluster in _CLUSTER.finditer(raw):
        piece = normalise(cluster.group())
        pieces.append(piece)
        if _one_to_one(cluster.group(), piece):
            first.extend(range(cluster.start(), cluster.end()))
            last.extend(range(cluster.start() + 1, cluster.end() + 1))
        else:
            first.extend([cluster.start()] * len(piece))
            last.extend([cluster.end()] * len(piece))
    exact = "".join(pieces) == norm
    for m in TOKEN.finditer(norm):
        words.append(m.group())
        if exact:
            starts.append(base + first[m.start()])
            ends.append(base + last[m.end() - 1])
        else:
            starts.append(base)
            ends.append(run.end())


# Characters NFKC may compose with the one before them: marks, Hangul medial and final jamo.
_JOINING = f"{char_class_pattern(MARKS)}\u1160-\u11ff\ud7b0-\ud7ff"
_COMPOSING = re.compile(f"[{_JOINING}]")
_CLUSTER = re.compile(f".[{_JOINING}]*", re.DOTALL)


def spans_in_text(text: str, norm: str, spans: np.ndarray) -> np.ndarray:
    """Token spans found in ``norm = normalise(text)`` (``(tokens, 2)`` start and end) as
    spans in ``text``: the same where normalising kept each character in place (ASCII text,
    most text), else those of :func:`tokenize_with_offsets`."""
    if text.isascii() or _one_to_one(text, norm):  # (the pattern search costs 5 us a KB)
        return spans
    t = tokenize_with_offsets(text)
    return np.array([t.starts, t.ends], dtype=np.int64).T.reshape(-1, 2)


def _one_to_one(raw: str, norm: str) -> bool:
    """Whether ``norm = normalise(raw)`` maps character to character: nothing composes and
    NFKC never deletes, so equal lengths mean each character became exactly one."""
    return len(norm) == len(raw) and not _COMPOSING.search(raw)


@dataclass(frozen=True)
class Span:
    """``text[start:end]`` of one document, and how many tokens it holds. ``boilerplate``
    says why cleaning removes it, when it does (``explain(..., cleaner=...)``)."""

    start: int
    end: int
    words: int
    text: str
    boilerplate: str | None = None


@dataclass(frozen=True)
class Passage:
    """Text both documents hold: ``a`` in the first, ``b`` in the second. ``identity`` is
    the share of its tokens aligned exactly (1.0 for a run of identical tokens, less for a
    reused passage joined across small edits)."""

    a: Span
    b: Span
    identity: float = 1.0

    @property
    def words(self) -> int:
        return self.a.words


@dataclass(frozen=True)
class Explanation:
    """The evidence for (or against) two documents being duplicates."""

    a: str
    b: str
    ngram: int
    jaccard: float
    containment_a_in_b: float
    containment_b_in_a: float
    shingles_a: int
    shingles_b: int
    shared_shingles: int
    exact: bool
    passages: list[Passage]
    only_a: list[Span]
    only_b: list[Span]
    #: Jaccard of the cleaned texts, when explained with a cleaner.
    jaccard_cleaned: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for p in d["passages"]:
            p["words"] = p["a"]["words"]
        return d


def align(a: Tokens, b: Tokens, ngram: int = DEFAULT_NGRAM) -> tuple[
        list[tuple[int, int, int]], list[bool], list[bool]]:
    """Passages as ``(i, j, length)`` token runs, and which tokens of A and B they cover.

    Scanning A left to right, the first ``ngram``-token window that also occurs in B
    anchors a run, extended while the texts agree; the scan resumes after the run. Windows
    are matched by 64-bit keys in numpy (then checked word by word), so the Python loop
    runs once per anchor, not once per token.
    """
    aw, bw = a.words, b.words
    n = max(1, min(ngram, len(aw), len(bw)))
    covered_a = [False] * len(aw)
    covered_b = [False] * len(bw)
    runs: list[tuple[int, int, int]] = []
    if not aw or not bw:
        return runs, covered_a, covered_b
    key_a, key_b = _window_keys(a, n), _window_keys(b, n)
    order = np.argsort(key_b, kind="stable")  # equal keys keep B's order
    sorted_b = key_b[order]
    lo = np.searchsorted(sorted_b, key_a, "left")
    hi = np.searchsorted(sorted_b, key_a, "right")
    anchors = np.flatnonzero(hi > lo).tolist()
    lo_l, hi_l, order_l = lo.tolist(), hi.tolist(), order.tolist()
    i, last_j = 0, 0
    for start in anchors:
        if start < i:
            continue
        window = aw[start:start + n]
        places = [p for p in order_l[lo_l[start]:hi_l[start]] if bw[p:p + n] == window]
        if not places:
            continue
        # Prefer the first occurrence after the previous passage: keeps order when text repeats.
        j = next((p for p in places if p >= last_j), places[0])
        length = n
        while start + length < len(aw) and j + length < len(bw) and \
                aw[start + length] == bw[j + length]:
            length += 1
        runs.append((start, j, length))
        covered_a[start:start + length] = [True] * length
        covered_b[j:j + length] = [True] * length
        i, last_j = start + length, j + length
    return runs, covered_a, covered_b


def _window_keys(t: Tokens, n: int) -> np.ndarray:
    """A 64-bit key per ``n``-token window of ``t`` (equal windows, equal keys)."""
    ids = t.hashes
    windows = len(ids) - n + 1
    key = np.zeros(max(windows, 0), dtype=np.uint64)
    for k in range(n):
        key = key * np.uint64(0x9E3779B97F4A7C15) + ids[k:k + windows]
    return key


def token_span(t: Tokens, first: int, last: int) -> Span:
    """The span of ``t``'s tokens ``first`` to ``last`` (inclusive) in its text."""
    start, end = t.starts[first], t.ends[last]
    return Span(start, end, last - first + 1, t.text[start:end])


def _extra_spans(t: Tokens, covered: list[bool]) -> list[Span]:
    """Uncovered tokens grouped into spans, broken at line ends, widened to whole lines
    where the rest of the line holds no word (so ``0 + 0 =`` keeps its ``=``)."""
    spans: list[Span] = []
    first = None
    for k in range(len(t.words) + 1):
        open_run = k < len(t.words) and not covered[k]
        if open_run and first is not None and "\n" in t.text[t.ends[k - 1] : t.starts[k]]:
            spans.append(_widen(t, first, k - 1))
            first = None
        if open_run and first is None:
            first = k
        elif not open_run and first is not None:
            spans.append(_widen(t, first, k - 1))
            first = None
    return spans


def _widen(t: Tokens, first: int, last: int) -> Span:
    text = t.text
    start, end = t.starts[first], t.ends[last]
    line_start = text.rfind("\n", 0, start) + 1
    head = text[line_start:start]
    if not _has_word(head):
        start -= len(head.lstrip())
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    tail = text[end:line_end]
    if not _has_word(tail):
        end += len(tail.rstrip())
    return Span(start, end, last - first + 1, text[start:end])


def _has_word(s: str) -> bool:
    return TOKEN.search(normalise(s)) is not None


def explain(a_text: str, b_text: str, ngram: int = DEFAULT_NGRAM, a_id: str = "A",
            b_id: str = "B", cleaner: Cleaner | None = None,
            story: bool = False) -> Explanation:
    """Exact Jaccard, containment both ways, shared passages and extras of two texts.

    With a ``cleaner``, each extra span that cleaning removes is marked with the reason,
    and the Jaccard of the cleaned texts is given too. With ``story``, passages are
    aligned on the story rule's tokens (:func:`neardup.story.story_tokens`: OCR
    confusions and dropped vowels do not break them) and joined across small
    differences, each with its ``identity``, so that a noisy copy's shared story shows as
    passages rather than as scattered runs of five words.
    """
    ta, tb = tokenize_with_offsets(a_text), tokenize_with_offsets(b_text)
    sa, sb = shingles(ta.words, ngram), shingles(tb.words, ngram)
    common = len(sa & sb)
    if story:
        passages = _story_passages(ta, tb)
        cov_a = _covered(ta, [p.a for p in passages])
        cov_b = _covered(tb, [p.b for p in passages])
    else:
        runs, cov_a, cov_b = align(ta, tb, ngram) if ta.words and tb.words else ([], [], [])
        passages = [Passage(token_span(ta, i, i + n - 1), token_span(tb, j, j + n - 1))
                    for i, j, n in runs]
    only_a = _extra_spans(ta, cov_a or [False] * len(ta.words))
    only_b = _extra_spans(tb, cov_b or [False] * len(tb.words))
    jaccard_cleaned = None
    if cleaner is not None:
        ca, cb = cleaner.clean(a_text), cleaner.clean(b_text)
        only_a, only_b = _mark(only_a, ca.removed), _mark(only_b, cb.removed)
        jaccard_cleaned = jaccard(shingles(tokens(ca.text), ngram),
                                  shingles(tokens(cb.text), ngram))
    return Explanation(
        a=a_id, b=b_id, ngram=ngram,
        jaccard=jaccard(sa, sb),
        containment_a_in_b=common / len(sa) if sa else 0.0,
        containment_b_in_a=common / len(sb) if sb else 0.0,
        shingles_a=len(sa), shingles_b=len(sb), shared_shingles=common,
        exact=ta.words == tb.words and bool(ta.words),
        passages=passages, only_a=only_a, only_b=only_b, jaccard_cleaned=jaccard_cleaned,
    )


def _story_passages(ta: Tokens, tb: Tokens) -> list[Passage]:
    # Imported here: both modules build on this one.
    from .reuse.passages import shared_passages
    from .story import ALIGN_MAX_GAP, ALIGN_MIN_WORDS, ALIGN_NGRAM, story_tokens

    return shared_passages(story_tokens(ta), story_tokens(tb), min_words=ALIGN_MIN_WORDS,
                           max_gap=ALIGN_MAX_GAP, ngram=ALIGN_NGRAM)


def _covered(t: Tokens, spans: list[Span]) -> list[bool]:
    """Which of ``t``'s tokens lie inside one of ``spans`` (character offsets)."""
    starts = np.array(t.starts, dtype=np.int64)
    covered = np.zeros(len(starts), dtype=bool)
    for span in spans:
        covered[(starts >= span.start) & (starts < span.end)] = True
    return covered.tolist()


def _mark(spans: list[Span], removed: list[Removal]) -> list[Span]:
    """Spans with the reason of the removal that covers them, if one does."""
    out = []
    for span in spans:
        reason = next((r.reason for r in removed if r.start <= span.start and span.end <= r.end),
                      None)
        out.append(replace(span, boilerplate=reason) if reason else span)
    return out
