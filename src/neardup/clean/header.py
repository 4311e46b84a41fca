"""The title and date line at the top of a plain-text scrape.

A scraped page often starts with its headline on one line and a date line under it
(``November 15, 2020 - 18:2``). They describe the article rather than being part of
its body, and copies of one story differ in them, so they become metadata.
"""

from __future__ import annotations

import re

from ..text import tokens

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_TIME = (r"(?:\s*(?:[-–—,|@]|at)?\s*\d{1,2}[:.]\d{1,2}(?:[:.]\d{1,2})?"
         r"\s*(?:[ap]\.?m\.?)?(?:\s*[A-Z]{2,5})?)?")
DATE_LINE = re.compile(
    r"(?i)(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
    r"(?:" + _MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"  # November 15, 2020
    r"|\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+\d{4}"  # 15 November 2020
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?"  # 2020-11-15
    r"|\d{1,2}/\d{1,2}/\d{2,4})" + _TIME)
_SENTENCE_END = re.compile(r"[.!?…:;\"”’)]\s*$")
MAX_TITLE_WORDS = 25
#: Only this many first non-blank lines are looked at.
HEAD_LINES = 3


def header_spans(text: str, lines: list[tuple[int, int]],
                 known_title: str | None = None) -> dict[str, tuple[int, int]]:
    """``{"title": span, "date": span}`` for what the document's head holds (either or none).

    A date line is one of the first :data:`HEAD_LINES` non-blank lines that is wholly a
    date. A title is a first line of at most :data:`MAX_TITLE_WORDS` words not ending like a
    sentence, directly followed by a date line (without one, a headline cannot be told from a
    short first paragraph), or a first line with the same words as ``known_title`` (the
    title an HTML extractor found in the page's metadata).
    """
    head = [(s, e) for s, e in lines if text[s:e].strip()][:HEAD_LINES]
    found: dict[str, tuple[int, int]] = {}
    if head and known_title and tokens(text[head[0][0]:head[0][1]]) == tokens(known_title):
        found["title"] = _strip(text, *head[0])
    for k, (s, e) in enumerate(head):
        if DATE_LINE.fullmatch(text[s:e].strip()):
            found["date"] = _strip(text, s, e)
            if k == 1:
                ts, te = _strip(text, *head[0])
                title = text[ts:te]
                if len(title.split()) <= MAX_TITLE_WORDS and not _SENTENCE_END.search(title):
                    found["title"] = (ts, te)
            break
    return found


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    line = text[start:end]
    lead = len(line) - len(line.lstrip())
    return start + lead, start + len(line.rstrip())
