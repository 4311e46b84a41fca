"""Queries planted in a corpus, and a brute-force search for them, importing nothing from
neardup.

Tokens (:func:`tokens`) follow the README's definition, written again here: NFKC,
casefold; a letter or digit of a script written without spaces (here Han, kana, Thai,
Lao, Khmer, Myanmar) with the marks after it is one token; a run of other word characters
and marks is one token; anything else separates. :func:`brute_force` compares every
n-gram of every query with every n-gram of every document.

:func:`planted` builds the benchmark's shape at any size: documents strung from real
sentences, and copies of query texts planted in some of them, each copy verbatim; with
case, whitespace and punctuation changed; with a few words edited; or partial.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

_UNSPACED = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3040, 0x30FF),
             (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))


def _unspaced(ch: str) -> bool:
    cp = ord(ch)
    return ch.isalnum() and any(lo <= cp <= hi for lo, hi in _UNSPACED)


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    current: list[str] = []
    kind = ""
    for ch in text:
        if unicodedata.category(ch).startswith("M"):
            if not current:
                kind = "word"
            current.append(ch)
        elif _unspaced(ch):
            if current:
                out.append("".join(current))
            current, kind = [ch], "unspaced"
        elif ch.isalnum() or ch == "_":
            if current and kind != "word":
                out.append("".join(current))
                current = []
            current.append(ch)
            kind = "word"
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


@dataclass
class PairTruth:
    overlap: float
    passages: list[int]  # tokens of each maximal shared run, sorted


@dataclass
class QueryTruth:
    ngrams: int
    overlap: float
    longest: int
    documents: int


def brute_force(queries: dict[str, str], docs: dict[str, str], n: int
                ) -> tuple[dict[tuple[str, str], PairTruth], dict[str, QueryTruth]]:
    """Per (query, document) sharing an n-gram: the share of the query's n-gram positions
    the document holds, and its maximal shared runs; per query, the totals."""
    doc_tokens = {d: tokens(t) for d, t in docs.items()}
    pairs: dict[tuple[str, str], PairTruth] = {}
    per_query: dict[str, QueryTruth] = {}
    for q, text in queries.items():
        tq = tokens(text)
        w = min(n, len(tq))
        grams = [tuple(tq[i:i + w]) for i in range(len(tq) - w + 1)]
        found: set[int] = set()
        longest = documents = 0
        for d, td in doc_tokens.items():
            at: dict[tuple[str, ...], list[int]] = defaultdict(list)
            for j in range(len(td) - w + 1):
                at[tuple(td[j:j + w])].append(j)
            matched = [i for i, g in enumerate(grams) if g in at]
            if not matched:
                continue
            runs = []
            for i in matched:
                for j in at[grams[i]]:
                    if i > 0 and j > 0 and tq[i - 1] == td[j - 1] and len(tq) > w:
                        continue  # not where the run starts
                    length = w
                    while (len(tq) > w and i + length < len(tq) and j + length < len(td)
                           and tq[i + length] == td[j + length]):
                        length += 1
                    runs.append(length)
            pairs[(q, d)] = PairTruth(len(matched) / len(grams), sorted(runs))
            found.update(matched)
            longest = max(longest, *runs)
            documents += 1
        per_query[q] = QueryTruth(len(grams), len(found) / len(grams), longest, documents)
    return pairs, per_query


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def sentences(lines: list[str]) -> list[str]:
    return [s.strip() for t in lines for s in _SENTENCE.split(t) if len(s.split()) >= 4]


VARIANTS = ("verbatim", "surface", "edited", "partial")


@dataclass
class Planted:
    docs: dict[str, str]
    queries: dict[str, str]
    #: (query, document, variant) for every copy planted
    copies: list[tuple[str, str, str]] = field(default_factory=list)


def vary(text: str, variant: str, rng: random.Random, vocab: list[str]) -> str:
    """A copy of ``text``: ``surface`` changes case, spaces and punctuation (never the
    tokens); ``edited`` replaces one word in 40 (at least one); ``partial`` keeps a run of
    70-90% of the words."""
    words = text.split()
    if variant == "surface":
        out = []
        for w in words:
            r = rng.random()
            w = w.upper() if r < 0.1 else w.lower() if r < 0.3 else w
            if rng.random() < 0.1:
                w = w.rstrip(",;:") + rng.choice([",", " ;", " -", "\n"])
            out.append(w)
        return rng.choice(["  ", " ", "\n"]).join(out[:1]) + " " + "  ".join(out[1:])
    if variant == "edited":
        for _ in range(max(1, len(words) // 40)):
            words[rng.randrange(len(words))] = rng.choice(vocab)
        return " ".join(words)
    if variant == "partial":
        keep = max(1, int(len(words) * rng.uniform(0.7, 0.9)))
        start = rng.randrange(len(words) - keep + 1)
        return " ".join(words[start:start + keep])
    return text


def _word_grams(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def planted(lines: list[str], docs: int, queries: int, planted_share: float = 0.5,
            seed: int = 0, query_words: tuple[int, int] = (40, 120),
            query_texts: list[str] | None = None) -> Planted:
    """``docs`` documents of 5-15 sentences of the first half of ``lines``; ``queries``
    query texts of ``query_words`` words from the second half (sentences the documents
    never use, each in one query until all are used); a share ``planted_share`` of the
    queries planted in 1-3 documents each, between two of their sentences, in a variant
    drawn from :data:`VARIANTS`."""
    rng = random.Random(seed)
    half = len(lines) // 2
    body = sentences(lines[:half])
    # The news repeats some stories: hold out only sentences sharing no 8 words with the body
    # or with a sentence held out before them.
    seen = {g for b in body for g in _word_grams(b, 8)}
    held = []
    for h in sentences(lines[half:]):
        grams = _word_grams(h, 8)
        if seen.isdisjoint(grams):
            held.append(h)
            seen |= grams
    vocab = sorted({w for s in body for w in s.split() if w.isalpha()})
    # Each document as its sentences, so a copy goes between two and is never cut by another.
    texts = [[rng.choice(body) for _ in range(rng.randint(5, 15))] for _ in range(docs)]
    out = Planted({}, {})
    at = 0  # queries take the held sentences in turn, so two share none (until all are used)
    for q in range(queries):
        words: list[str] = []
        size = rng.randint(*query_words)
        while len(words) < size:
            words += (query_texts[at % len(query_texts)] if query_texts
                      else held[at % len(held)]).split()
            at += 1
        qid = f"q{q:06d}"
        out.queries[qid] = " ".join(words)
        if rng.random() < planted_share:
            for d in rng.sample(range(docs), rng.randint(1, 3)):
                variant = rng.choice(VARIANTS)
                copy = vary(out.queries[qid], variant, rng, vocab)
                texts[d].insert(rng.randrange(len(texts[d]) + 1), copy)
                out.copies.append((qid, f"d{d:07d}", variant))
    out.docs = {f"d{d:07d}": " ".join(t) for d, t in enumerate(texts)}
    return out
