"""The comparison's definition, as plain Python: normalise, tokenise, shingle.

This module is the reference. The compiled sketcher (:mod:`neardup.sketch`)
must produce the same tokens, and :mod:`neardup.align` maps them back to
character offsets in the original text.

Definition (the docs state it too, in "What similar means"):

* **normalise**: Unicode NFKC, then ``str.casefold``;
* **characters** of the normalised text fall in four classes:

  - *mark*: general category M (combining marks, and the vowel and tone signs of
    Thai, Lao, Khmer, Myanmar, Devanagari, ...), table ``MARKS``;
  - *unspaced*: a letter or digit of a script written without spaces between words
    (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, ... table ``UNSPACED``);
  - *word*: any other character of ``\\w`` (``str.isalnum()`` or ``_``);
  - *separator*: everything else (spaces, punctuation, symbols, emoji, lone surrogates);

* **tokens**, read left to right: an unspaced character with the marks after it is
  one token; a run of word characters and marks is one token; separators end
  tokens. So ``東京Tower2020年`` is ``東 京 tower2020 年`` and Thai ``ที่นี่`` is
  ``ที่ นี่`` (each consonant with its vowel and tone marks). The same rule holds for
  every document: no language is guessed;
* **shingles**: every run of ``n`` consecutive tokens (default 5); a document
  with fewer than ``n`` tokens (but at least one) is a single shingle;
* **similarity**: the Jaccard index ``|A ∩ B| / |A ∪ B|`` of two shingle sets.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from ._unicode_tables import COMPAT, MARKS, UNSPACED


def char_class_pattern(ranges: tuple[tuple[int, int], ...]) -> str:
    """The inside of a regular-expression character class that matches ``ranges``."""
    return "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)


#: One token of the definition (match it on normalised text).
TOKEN = re.compile(
    f"[{char_class_pattern(UNSPACED)}][{char_class_pattern(MARKS)}]*"
    f"|(?:[^\\W{char_class_pattern(UNSPACED)}]|[{char_class_pattern(MARKS)}])+"
)
DEFAULT_NGRAM = 5


def normalise(text: str) -> str:
    """NFKC-normalise and casefold ``text``."""
    if not unicodedata.is_normalized("NFKC", text):
        # CPython normalises a whole string at ~150 ns a character once one character needs
        # it, and Chinese text does (fullwidth punctuation and digits). Replacing each
        # compatibility character by its one-character decomposition first leaves the NFKC
        # form the same, and usually leaves nothing more to do.
        text = _fold_compat(text)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return text.casefold()


def _single_char_forms() -> np.ndarray:
    table = np.arange(0x10000, dtype=np.uint32)
    for lo, hi in COMPAT:
        for cp in range(lo, min(hi, 0xFFFF) + 1):
            form = unicodedata.normalize("NFKD", chr(cp))
            if len(form) == 1:
                table[cp] = ord(form)
    return table


_SINGLE_CHAR_FORM = _single_char_forms()


def _fold_compat(text: str) -> str:
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    folded = np.where(codes < 0x10000, _SINGLE_CHAR_FORM[np.minimum(codes, 0xFFFF)], codes)
    return folded.tobytes().decode("utf-32-le", "surrogatepass")


def tokens(text: str) -> list[str]:
    """The tokens of ``normalise(text)``."""
    return TOKEN.findall(normalise(text))


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
