"""Hypothesis strategies shared by the tokeniser's tests: text that mixes scripts."""

from __future__ import annotations

from hypothesis import strategies as st

#: Characters from every class of the definition and the places its edges lie.
_PIECES = [
    "a", "Z", "é", "e\u0301", "ß", "ﬁ", "_", "7", "٣", "İ",  # Latin, marks, ligature, digits
    "日", "本", "語", "々", "〆", "〇", "𠀋", "ｶ", "ﾞ", "ー", "ｰ", "か", "カ", "ㄅ",  # CJK, kana
    "ก", "ี", "่", "เ", "ำ", "ฯ", "ๆ", "๓",  # Thai: consonant, vowel and tone marks, digit
    "ລ", "ົ", "ກ", "ក", "្", "ម", "ា", "မ", "ြ", "န", "်", "ᦀ", "ꦧ",  # Lao Khmer Myanmar ...
    "한", "ب", "ِ", "я", "ह", "ि", "्",  # spaced scripts with marks
    "，", "１", "\u3000", "ａ", "ﬁ", "ำ", "ຳ", "㍿", "豈", "Ω",  # compatibility forms
    "\u0301", "\u20dd", "\u200d", "\ufe0f",  # bare combining marks, joiner, variation selector
    "👍", "👍🏽", "🇯🇵", "①", "½", "²", "ʼ", "・", "、", "。", "「", " ", "\n", "\t", "-", ".",
]

#: Mixed-script text, including characters no piece names.
mixed_text = st.lists(
    st.one_of(st.sampled_from(_PIECES),
              st.characters(codec="utf-8"),
              st.characters(categories=["Cs"])),  # lone surrogates, as JSON may hold
    max_size=80,
).map("".join)
