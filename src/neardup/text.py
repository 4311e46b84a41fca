"""The comparison's definition, as plain Python: normalise, tokenise, shingle.

This module is the reference. The compiled sketcher (:mod:`neardup.sketch`)
must produce the same tokens, and :mod:`neardup.explain` maps them back to
character offsets in the original text.

Definition (the README states it too):

* **normalise**: Unicode NFKC, then ``str.casefold``;
* **tokens**: the runs of word characters of the normalised text, i.e.
  ``re.findall(r"\\w+", normalise(text))`` (letters, digits, marks counted by
  ``str.isalnum``, and ``_``);
* **shingles**: every run of ``n`` consecutive tokens (default 5); a document
  with fewer than ``n`` tokens (but at least one) is a single shingle;
* **similarity**: the Jaccard index ``|A ∩ B| / |A ∪ B|`` of two shingle sets.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"\w+")
DEFAULT_NGRAM = 5


def normalise(text: str) -> str:
    """NFKC-normalise and casefold ``text``."""
    return unicodedata.normalize("NFKC", text).casefold()


def tokens(text: str) -> list[str]:
    """The word tokens of ``normalise(text)``."""
    return WORD.findall(normalise(text))


def shingles(toks: list[str], ngram: int = DEFAULT_NGRAM) -> set[tuple[str, ...]]:
    """The set of ``ngram``-token shingles; fewer tokens than ``ngram`` give one shingle."""
    if ngram < 1:
        raise ValueError(f"ngram must be >= 1, got {ngram}")
    if not toks:
        return set()
    width = min(ngram, len(toks))
    return {tuple(toks[i : i + width]) for i in range(len(toks) - width + 1)}


def jaccard(a: set, b: set) -> float:
    """Jaccard index of two sets; two empty sets are defined to have similarity 0."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0
