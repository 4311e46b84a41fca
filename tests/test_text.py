"""The definition (neardup.text) on every script, and the kernel against it."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import numpy as np
from hypothesis import assume, given, settings

from neardup.sketch import Sketcher, SketchParams, shingle_sequence
from neardup.text import normalise, tokens

from .strategies import mixed_text

M64 = (1 << 64) - 1


def fmix64(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & M64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & M64
    return k ^ (k >> 33)


def token_hash(token: str) -> int:
    """The kernel's token hash, written out: FNV-1a-64 over code points, xor length, fmix."""
    h = 0xCBF29CE484222325
    for ch in token:
        h = ((h ^ ord(ch)) * 0x100000001B3) & M64
    return fmix64(h ^ len(token))


def test_committed_tables_are_what_the_generator_writes() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    try:
        import unicode_tables
    finally:
        sys.path.pop(0)
    committed = Path(unicode_tables.TARGET).read_text(encoding="utf-8")
    fresh = unicode_tables.render()
    # The header names the regex version; the tables themselves must match exactly.
    assert committed.split('"""', 2)[2] == fresh.split('"""', 2)[2]


def test_unspaced_scripts_give_one_token_per_character() -> None:
    assert tokens("東京Tower2020年に") == ["東", "京", "tower2020", "年", "に"]
    assert tokens("コーヒーを飲む。") == ["コ", "ー", "ヒ", "ー", "を", "飲", "む"]
    assert tokens("ｺｰﾋｰ") == ["コ", "ー", "ヒ", "ー"]  # halfwidth kana: NFKC first
    # Thai: leading vowels are tokens, vowel and tone marks stay on their consonant.
    assert tokens("ที่นี่ เมื่อ ๒๕๖๗") == ["ที่", "นี่", "เ", "มื่", "อ", "๒", "๕", "๖", "๗"]
    assert tokens("ສະບາຍດີ") == ["ສ", "ະ", "ບ", "າ", "ຍ", "ດີ"]  # Lao
    assert tokens("ភាសាខ្មែរ") == ["ភា", "សា", "ខ្", "មែ", "រ"]  # Khmer: coeng joins
    assert tokens("မြန်မာ") == ["မြ", "န်", "မာ"]  # Myanmar


def test_spaced_scripts_keep_word_tokens_with_their_marks() -> None:
    assert tokens("Hello, World! hindi हिन्दी  كِتَاب") == ["hello", "world", "hindi", "हिन्दी",
                                                          "كِتَاب"]
    assert tokens("e\u0301cole 한국어 don't") == ["école", "한국어", "don", "t"]
    assert tokens("donʼt") == ["donʼt"]  # U+02BC is shared with Latin: not unspaced
    assert tokens("👍 ① ½ x²") == ["1", "1", "2", "x2"]  # NFKC: ① -> 1, ½ -> 1⁄2
    assert tokens("") == tokens("  。、！") == []


@given(mixed_text)
@settings(max_examples=600, deadline=None)
def test_kernel_tokens_equal_the_reference(text: str) -> None:
    expected = [fmix64(token_hash(t)) for t in tokens(text)]  # 1-token shingles
    got = shingle_sequence(text, 1).tolist()
    assert got == expected
    batch = Sketcher(SketchParams()).sketch([text])
    assert batch.ntokens[0] == len(expected)


@given(mixed_text, mixed_text)
@settings(max_examples=300, deadline=None)
def test_exact_key_follows_the_tokens(a: str, b: str) -> None:
    respaced = " ".join(tokens(a))  # the same tokens, other separators
    assume(tokens(respaced) == tokens(a))
    keys = Sketcher(SketchParams()).sketch([a, respaced, b]).keys
    assert np.all(keys[0] == keys[1])
    assert bool(np.all(keys[0] == keys[2])) == (tokens(a) == tokens(b))


def test_normalise_keeps_lone_surrogates() -> None:
    assert normalise("A\ud800") == "a\ud800"
    assert tokens("ab\ud800cd") == ["ab", "cd"]


@given(mixed_text)
@settings(max_examples=600, deadline=None)
def test_normalise_is_nfkc_then_casefold(text: str) -> None:
    assert normalise(text) == unicodedata.normalize("NFKC", text).casefold()
