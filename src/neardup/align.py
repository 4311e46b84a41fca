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
from typing import Any

from .clean.cleaner import Cleaner, Removal
from .text import DEFAULT_NGRAM, WORD, jaccard, normalise, shingles

_RUN = re.compile(r"\S+")


@dataclass(frozen=True)
class Tokens:
    """Normalised tokens of a text and their ``[start, end)`` character spans in it."""

    text: str
    words: list[str]
    starts: list[int]
    ends: list[int]


def tokenize_with_offsets(text: str) -> Tokens:
    """The tokens of :func:`neardup.text.tokens` with their spans in ``text``.

    Normalisation is applied per whitespace-separated run (NFKC does not
    compose across whitespace, so the tokens are the same as normalising the
    whole text). Where normalising changes a run's length, offsets are mapped
    per character; if that is not exact the token gets its whole run's span.
    """
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for run in _RUN.finditer(text):
        raw = run.group()
        norm = normalise(raw)
        base = run.start()
        if len(norm) == len(raw):
            for m in WORD.finditer(norm):
                words.append(m.group())
                starts.append(base + m.start())
                ends.append(base + m.end())
            continue
        # Each normalised character's origin, if char-wise normalisation reproduces the run.
        origin: list[int] = []
        for i, ch in enumerate(raw):
            origin.extend([i] * len(normalise(ch)))
        exact = "".join(normalise(ch) for ch in raw) == norm
        for m in WORD.finditer(norm):
            words.append(m.group())
            if exact:
                starts.append(base + origin[m.start()])
                ends.append(base + origin[m.end() - 1] + 1)
            else:
                starts.append(base)
                ends.append(run.end())
    return Tokens(text, words, starts, ends)


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
    """Passages as ``(i, j, length)`` token runs, and which tokens of A and B they cover."""
    n = max(1, min(ngram, len(a.words), len(b.words)))
    index: dict[tuple[str, ...], list[int]] = {}
    for j in range(len(b.words) - n + 1):
        index.setdefault(tuple(b.words[j : j + n]), []).append(j)
    covered_a = [False] * len(a.words)
    covered_b = [False] * len(b.words)
    runs: list[tuple[int, int, int]] = []
    i, last_j = 0, 0
    while i <= len(a.words) - n:
        places = index.get(tuple(a.words[i : i + n]))
        if not places:
            i += 1
            continue
        # Prefer the first occurrence after the previous passage: keeps order when text repeats.
        j = next((p for p in places if p >= last_j), places[0])
        length = n
        while (i + length < len(a.words) and j + length < len(b.words)
               and a.words[i + length] == b.words[j + length]):
            length += 1
        runs.append((i, j, length))
        for k in range(length):
            covered_a[i + k] = True
            covered_b[j + k] = True
        i, last_j = i + length, j + length
    return runs, covered_a, covered_b


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
    return WORD.search(normalise(s)) is not None


def explain(a_text: str, b_text: str, ngram: int = DEFAULT_NGRAM, a_id: str = "A",
            b_id: str = "B", cleaner: Cleaner | None = None) -> Explanation:
    """Exact Jaccard, containment both ways, shared passages and extras of two texts.

    With a ``cleaner``, each extra span that cleaning removes is marked with the reason,
    and the Jaccard of the cleaned texts is given too.
    """
    ta, tb = tokenize_with_offsets(a_text), tokenize_with_offsets(b_text)
    sa, sb = shingles(ta.words, ngram), shingles(tb.words, ngram)
    common = len(sa & sb)
    runs, cov_a, cov_b = align(ta, tb, ngram) if ta.words and tb.words else ([], [], [])
    only_a = _extra_spans(ta, cov_a or [False] * len(ta.words))
    only_b = _extra_spans(tb, cov_b or [False] * len(tb.words))
    jaccard_cleaned = None
    if cleaner is not None:
        ca, cb = cleaner.clean(a_text), cleaner.clean(b_text)
        only_a, only_b = _mark(only_a, ca.removed), _mark(only_b, cb.removed)
        jaccard_cleaned = jaccard(shingles(WORD.findall(normalise(ca.text)), ngram),
                                  shingles(WORD.findall(normalise(cb.text)), ngram))
    return Explanation(
        a=a_id, b=b_id, ngram=ngram,
        jaccard=jaccard(sa, sb),
        containment_a_in_b=common / len(sa) if sa else 0.0,
        containment_b_in_a=common / len(sb) if sb else 0.0,
        shingles_a=len(sa), shingles_b=len(sb), shared_shingles=common,
        exact=ta.words == tb.words and bool(ta.words),
        passages=[Passage(token_span(ta, i, i + n - 1), token_span(tb, j, j + n - 1))
                  for i, j, n in runs],
        only_a=only_a, only_b=only_b, jaccard_cleaned=jaccard_cleaned,
    )


def _mark(spans: list[Span], removed: list[Removal]) -> list[Span]:
    """Spans with the reason of the removal that covers them, if one does."""
    out = []
    for span in spans:
        reason = next((r.reason for r in removed if r.start <= span.start and span.end <= r.end),
                      None)
        out.append(replace(span, boilerplate=reason) if reason else span)
    return out
