"""Copies of one story as archives and media monitors meet them, planted in real news.

NEWS-COPY (Silcock et al., ICLR 2023) describes its duplicates as the copies local papers
printed of one wire article: each cut to fit (the last paragraphs dropped), given its own
headline and dateline, sometimes extended by local paragraphs, and, in digitised
archives, full of OCR errors. This module makes such copies from real articles:

- **abridged**: the first 40-90% of the article's sentences, the bottom dropped;
- **extended**: 1-3 sentences appended, each the words of a sentence from articles kept
  out of the corpus in a new order (a local addition: text no other document holds, even
  across corpora of several seeds);
- **headline and dateline**: a new first line from the article's own words, and
  ``CITY, Mon. D (AGENCY) -`` before the body;
- **OCR noise** on 1-8% of characters: the usual confusions (``rn``/``m``, ``cl``/``d``,
  ``e``/``c``, ``l``/``1``/``i``, ``o``/``0``, ``h``/``b``, ``u``/``n``, ``s``/``5``),
  dropped letters, split words; and the text set in 60-column lines with the words that
  cross a line end hyphenated.

The truth is planted: every copy's story is its original's. The negatives are the other
articles of the same source, many on the same topics and days (the Lee corpus is ABC news
of a few weeks). Nothing here imports neardup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’']))\s+(?=[\"“‘']?[A-Z0-9])")
CONFUSIONS = {"m": "rn", "rn": "m", "d": "cl", "cl": "d", "e": "c", "c": "e", "l": "1",
              "i": "l", "1": "l", "o": "0", "O": "0", "h": "b", "b": "h", "u": "n", "n": "u",
              "s": "5", "S": "5", "a": "o", "t": "f", "f": "t", "w": "vv"}
CITIES = ["SYDNEY", "MELBOURNE", "BRISBANE", "PERTH", "ADELAIDE", "HOBART", "CANBERRA",
          "DARWIN", "WOLLONGONG", "NEWCASTLE"]
AGENCIES = ["AAP", "AP", "Reuters", "ABC", "UPI"]
MONTHS = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.",
          "Nov.", "Dec."]


@dataclass
class StoryCorpus:
    ids: list[str]
    texts: list[str]
    story: list[int]  # the original's number: the planted truth
    kind: list[str]  # "original", or the changes made: "abridged+headline+ocr3%", ...


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text.strip()) if s]


def ocr_noise(text: str, rate: float, rng: np.random.Generator) -> str:
    """``text`` with about ``rate`` of its characters misread: a confusion where one
    applies, else a dropped letter, else a word split by a space."""
    out: list[str] = []
    k = 0
    while k < len(text):
        two = text[k:k + 2]
        if rng.random() >= rate:
            out.append(text[k])
            k += 1
            continue
        if two in CONFUSIONS:
            out.append(CONFUSIONS[two])
            k += 2
        elif text[k] in CONFUSIONS and rng.random() < 0.7:
            out.append(CONFUSIONS[text[k]])
            k += 1
        elif text[k].isalpha() and rng.random() < 0.6:
            k += 1  # a dropped letter
        else:
            out.append(text[k] + (" " if text[k].isalpha() else ""))
            k += 1
    return "".join(out)


def set_in_columns(text: str, width: int, rng: np.random.Generator) -> str:
    """Lines of about ``width`` characters; a word that crosses the end is hyphenated."""
    lines, line = [], ""
    for word in text.split():
        if len(line) + 1 + len(word) <= width or not line:
            line = f"{line} {word}".strip()
            continue
        room = width - len(line) - 2
        if room >= 2 and len(word) >= 5 and word.isalpha() and rng.random() < 0.7:
            cut = min(room, len(word) - 2)
            lines.append(f"{line} {word[:cut]}-")
            line = word[cut:]
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return "\n".join(lines)


def headline(sentences: list[str], rng: np.random.Generator) -> str:
    words = [w.strip(".,;:\"'“”") for w in sentences[0].split()]
    start = int(rng.integers(0, max(1, len(words) - 6)))
    return " ".join(words[start:start + int(rng.integers(4, 9))]).upper()


def dateline(rng: np.random.Generator) -> str:
    return (f"{CITIES[int(rng.integers(len(CITIES)))]}, {MONTHS[int(rng.integers(12))]} "
            f"{int(rng.integers(1, 29))} ({AGENCIES[int(rng.integers(len(AGENCIES)))]}) -")


def copy_of(original: str, additions: list[str], rng: np.random.Generator
            ) -> tuple[str, str]:
    """One printed copy of ``original``: abridged (always: 40-90% kept), and each of a
    new headline and dateline, an extension made from the sentences ``additions`` and OCR
    noise with its own chance. Answers the text and what was done."""
    sentences = split_sentences(original)
    keep = float(rng.uniform(0.4, 0.9))
    body = sentences[:max(2, round(len(sentences) * keep))]
    done = [f"abridged{keep:.0%}"]
    if rng.random() < 0.3:
        for _ in range(int(rng.integers(1, 4))):
            words = additions[int(rng.integers(len(additions)))].split()
            shuffled = " ".join(words[k] for k in rng.permutation(len(words)))
            body = body + [shuffled[:1].upper() + shuffled[1:].rstrip(".") + "."]
        done.append("extended")
    text = " ".join(body)
    if rng.random() < 0.7:
        text = f"{dateline(rng)} {text}"
        done.append("dateline")
    if rng.random() < 0.7:
        text = f"{headline(sentences, rng)}\n\n{text}"
        done.append("headline")
    if rng.random() < 0.6:
        rate = float(rng.uniform(0.01, 0.08))
        text = set_in_columns(ocr_noise(text, rate, rng), 60, rng)
        done.append(f"ocr{rate:.0%}")
    return text, "+".join(done)


def generate(articles: list[str], seed: int = 0, max_copies: int = 4,
             min_words: int = 80, local_share: float = 0.15) -> StoryCorpus:
    """Every article of at least ``min_words`` words but a ``local_share`` kept out as the
    source of local additions, each with 0 to ``max_copies`` copies (a quarter of the
    originals get none), shuffled."""
    rng = np.random.default_rng(seed)
    long_enough = [a for a in articles if len(a.split()) >= min_words]
    # The same articles are kept out whatever the seed: corpora of several seeds together
    # must not extend one seed's copies with another seed's originals.
    local = set(np.random.default_rng(0).choice(
        len(long_enough), round(len(long_enough) * local_share), replace=False).tolist())
    originals = [a for k, a in enumerate(long_enough) if k not in local]
    additions = [s for k, a in enumerate(long_enough) if k in local
                 for s in split_sentences(a)]
    rows: list[tuple[str, int, str]] = []
    for n, original in enumerate(originals):
        rows.append((original, n, "original"))
        copies = 0 if rng.random() < 0.25 else int(rng.integers(1, max_copies + 1))
        for _ in range(copies):
            text, kind = copy_of(original, additions, rng)
            rows.append((text, n, kind))
    order = rng.permutation(len(rows))
    return StoryCorpus(ids=[f"d{k:05d}" for k in range(len(rows))],
                       texts=[rows[k][0] for k in order], story=[rows[k][1] for k in order],
                       kind=[rows[k][2] for k in order])


def adjusted_rand_index(truth: list[int], found: list[int]) -> float:
    """ARI of two labellings of the same items (Hubert and Arabie, 1985)."""
    pairs = {}
    for t, f in zip(truth, found):
        pairs[(t, f)] = pairs.get((t, f), 0) + 1

    def comb2(counts: list[int]) -> float:
        return float(sum(c * (c - 1) // 2 for c in counts))

    rows: dict[int, int] = {}
    cols: dict[int, int] = {}
    for (t, f), c in pairs.items():
        rows[t] = rows.get(t, 0) + c
        cols[f] = cols.get(f, 0) + c
    index = comb2(list(pairs.values()))
    a, b = comb2(list(rows.values())), comb2(list(cols.values()))
    total = comb2([len(truth)])
    expected = a * b / total
    return (index - expected) / ((a + b) / 2 - expected)


def pair_scores(truth: list[int], found: list[int]) -> tuple[float, float]:
    """Precision and recall of the same-cluster pairs of ``found`` against ``truth``."""
    def same_pairs(labels: list[int]) -> set[tuple[int, int]]:
        groups: dict[int, list[int]] = {}
        for k, label in enumerate(labels):
            groups.setdefault(label, []).append(k)
        return {(a, b) for g in groups.values() for i, a in enumerate(g) for b in g[i + 1:]}

    t, f = same_pairs(truth), same_pairs(found)
    return (len(t & f) / len(f) if f else 1.0, len(t & f) / len(t) if t else 1.0)
