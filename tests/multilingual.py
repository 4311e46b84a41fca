"""Test corpora in scripts written without spaces, from the real prose in data/multilingual.

:func:`build` cuts a language's paragraphs into documents and plants, for a share of them,
light copies as the issue describes them: up to 1.5% of the characters replaced, some
punctuation changed, lines reflowed, a header or footer line added (some in English, so
documents mix scripts). Overlapping windows of the same paragraphs stand beside them:
partial copies, which pair only where their exact Jaccard says so.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from neardup.text import jaccard, normalise, shingles, tokens

DATA = Path(__file__).resolve().parent / "data" / "multilingual"
LANGUAGES = ("zh", "ja", "th", "lo", "km", "my")

HEADERS = {
    "zh": ["新华社北京电", "本报讯 记者 王红", "来源：人民网"],
    "ja": ["【共同通信】", "東京新聞 2024年5月1日", "（ニュース速報）"],
    "th": ["ข่าวด่วน", "กรุงเทพฯ 12 พ.ค. 2567", "สำนักข่าวไทย"],
    "lo": ["ຂ່າວ ວຽງຈັນ", "ສຳນັກຂ່າວສານປະເທດລາວ"],
    "km": ["ព័ត៌មាន ភ្នំពេញ", "ទីភ្នាក់ងារសារព័ត៌មាន"],
    "my": ["ရန်ကုန် သတင်း", "မြန်မာ့အလင်း"],
}
FOOTERS_EN = ["Read more at example.com/news", "© 2024 Example Media. All rights reserved.",
              "Source: Reuters, 12 May 2024"]
PUNCTUATION = {"，": ",", "。": ".", "、": ",", "：": ":", "（": "(", "）": ")", " ": "  "}
_JOINS_PREVIOUS = re.compile(r"[\u0300-\u036f\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc"
                             r"\u0ec8-\u0ecd\u17b4-\u17d3\u102b-\u103e\u1056-\u1059\u3099\u309a]")


@dataclass
class Corpus:
    """Documents by id, the planted copies as ``(original id, copy id)``, and the partial
    copies as ``(window id, id of a document it holds half of)``."""

    lang: str
    docs: dict[str, str] = field(default_factory=dict)
    planted: list[tuple[str, str]] = field(default_factory=list)
    partial: list[tuple[str, str]] = field(default_factory=list)


def paragraphs(lang: str) -> list[str]:
    return [p for p in (DATA / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if p]


def light_copy(text: str, lang: str, rng: random.Random, max_edit: float = 0.015) -> str:
    """A light copy: up to ``max_edit`` of its characters replaced (a character as a reader
    counts them: a consonant with its vowel and tone marks is one), punctuation changed,
    lines reflowed, a line added."""
    chars = list(text)
    # Replace characters by others of the same text; never a mark, nor one that has marks.
    editable = [i for i, c in enumerate(chars) if not c.isspace() and not _JOINS_PREVIOUS.match(c)
                and (i + 1 == len(chars) or not _JOINS_PREVIOUS.match(chars[i + 1]))]
    pools = {ascii_: [chars[i] for i in editable if chars[i].isascii() == ascii_]
             for ascii_ in (True, False)}
    readers_chars = sum(1 for c in chars if not c.isspace() and not _JOINS_PREVIOUS.match(c))
    for i in rng.sample(editable, int(readers_chars * rng.uniform(0, max_edit))):
        chars[i] = rng.choice(pools[chars[i].isascii()])  # a letter for a letter
    out = "".join(chars)
    for a, b in PUNCTUATION.items():  # punctuation changed in some places
        if rng.random() < 0.5:
            out = out.replace(a, b, rng.randrange(1, 4))
    if rng.random() < 0.5:  # reflowed: paragraph breaks moved
        out = re.sub(r"(.)\n(.)", _rejoin if lang in ("zh", "ja") else r"\1 \2", out)
        cuts = sorted(rng.sample(range(1, len(out)), min(3, len(out) - 1)))
        cuts = [c for c in cuts if not _JOINS_PREVIOUS.match(out[c])]
        out = "".join(out[a:b] + "\n" for a, b in zip([0, *cuts], cuts)) + out[cuts[-1]:] \
            if cuts else out
    extra = rng.choice([*HEADERS[lang], *FOOTERS_EN])
    return f"{extra}\n{out}" if rng.random() < 0.5 else f"{out}\n{extra}"


def _rejoin(m: re.Match[str]) -> str:
    """Lines of Chinese or Japanese join without a space, unless both sides are Latin."""
    a, b = m.group(1), m.group(2)
    return f"{a} {b}" if a.isascii() and b.isascii() else a + b


def build(lang: str, seed: int = 0, doc_chars: int = 800, copies: int = 2,
          share: float = 0.4) -> Corpus:
    """Documents of about ``doc_chars`` characters from ``lang``'s paragraphs: disjoint ones,
    a ``share`` of them with ``copies`` light copies each, and the overlapping windows
    between them."""
    rng = random.Random(f"{lang}-{seed}")
    paras = paragraphs(lang)
    corpus = Corpus(lang)
    starts = []
    i = 0
    while i < len(paras):  # windows of whole paragraphs, about doc_chars long
        j, size = i, 0
        while j < len(paras) and size < doc_chars:
            size += len(paras[j])
            j += 1
        starts.append((i, j))
        corpus.docs[f"{lang}-{len(corpus.docs):04d}"] = "\n".join(paras[i:j])
        i = j
    for k, ((a, b), (c, d)) in enumerate(zip(starts, starts[1:])):  # half of each neighbour
        mid1, mid2 = (a + b + 1) // 2, (c + d + 1) // 2
        if mid1 < b and c < mid2:
            window = f"{lang}-{len(corpus.docs):04d}w"
            corpus.docs[window] = "\n".join(paras[mid1:mid2])
            corpus.partial += [(window, f"{lang}-{k:04d}"), (window, f"{lang}-{k + 1:04d}")]
    originals = [k for k in corpus.docs if not k.endswith("w")]
    for orig in rng.sample(originals, int(len(originals) * share)):
        for n in range(copies):
            copy_id = f"{orig}c{n}"
            corpus.docs[copy_id] = light_copy(corpus.docs[orig], lang, rng)
            corpus.planted.append((orig, copy_id))
    return corpus


def brute_force_pairs(docs: dict[str, str], threshold: float, ngram: int = 5,
                      tokenize=tokens) -> dict[tuple[str, str], float]:
    """Every pair with exact shingle Jaccard >= threshold (the oracle), by brute force."""
    ids = sorted(docs)
    sets = {i: shingles(tokenize(docs[i]), ngram) for i in ids}
    out = {}
    for x, a in enumerate(ids):
        for b in ids[x + 1:]:
            j = jaccard(sets[a], sets[b])
            if j >= threshold:
                out[(a, b)] = j
    return out


def word_tokens(text: str) -> list[str]:
    """The former definition (runs of ``\\w``), to show what it missed."""
    return re.findall(r"\w+", normalise(text))
