"""Provenance: when a document was published and whom it credits.

Two kinds of evidence, both read from a document's own text and metadata:

* **dates**: the record's ``date`` field (``meta["date"]``; for HTML, the
  extractor's), else a date line among the first lines of a plain-text scrape
  (``November 15, 2020 - 18:2``). Dates are compared as ISO ``YYYY-MM-DD``; a value
  that is not one of the forms :func:`parse_date` knows counts as unknown, never as
  early or late.
* **attribution phrases**: credits a copy carries, found by the patterns in
  :data:`ATTRIBUTION_PATTERNS`: a licence footer (``All Content by Mehr News Agency
  is licensed``), a quotation credit (``quoted by Fars news agency``), a wire
  dateline (``LONDON (Reuters) -``, ``(AP)``), a source line (``Source: IRNA``), a
  copyright line. Each yields the phrase, its offsets and the credited source,
  normalised (``Associated Press`` and ``AP`` are both ``AP``).

Who copied whom is then a reading of the evidence, not a proof: within a passage group
the earliest dated member is the likely origin, and the credits say whom the copies name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..clean.header import DATE_LINE

#: Wire services and agencies recognised by name, with the name they are reported under.
AGENCIES: dict[str, str] = {
    "AP": "AP", "Associated Press": "AP", "Reuters": "Reuters", "AFP": "AFP",
    "Agence France-Presse": "AFP", "Agence France Presse": "AFP", "Xinhua": "Xinhua",
    "IRNA": "IRNA", "ISNA": "ISNA", "Mehr": "Mehr News Agency", "MNA": "Mehr News Agency",
    "Fars": "Fars News Agency", "Tasnim": "Tasnim News Agency", "Bloomberg": "Bloomberg",
    "dpa": "dpa", "DPA": "dpa", "ANSA": "ANSA", "EFE": "EFE", "Kyodo": "Kyodo", "Yonhap": "Yonhap",
    "TASS": "TASS", "RIA Novosti": "RIA Novosti", "Interfax": "Interfax", "PTI": "PTI",
    "ANI": "ANI", "AAP": "AAP", "UPI": "UPI", "Anadolu": "Anadolu Agency", "Bernama": "Bernama",
    "IANS": "IANS", "CNA": "CNA", "Press TV": "Press TV", "BBC": "BBC", "CNN": "CNN",
    "Al Jazeera": "Al Jazeera", "ABC": "ABC",
}
_KNOWN = "|".join(sorted((re.escape(k) for k in AGENCIES), key=len, reverse=True))
# A named outlet: up to four capitalised words, optionally ending "news agency" in any case.
_NAMED = r"(?:[A-Z][\w'&-]*\s+){1,4}(?:[Nn]ews\s+)?[Aa]gency"
_NAME = r"[A-Z][\w'&-]*(?:\s+(?:[A-Z][\w'&-]*|of|and|for|the))*"

#: (kind, pattern): the ``source`` group names whom the phrase credits.
ATTRIBUTION_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("licence", re.compile(rf"\bAll [Cc]ontent by (?P<source>{_NAME}) (?:is|are) licen[cs]ed")),
    ("quoted", re.compile(
        rf"\b(?:quoted|cited|reported|carried) by (?:the )?(?P<source>{_NAMED}|{_KNOWN})\b")),
    ("quoted", re.compile(
        rf"\b(?:told|according to|via) (?:the )?(?P<source>{_NAMED}|{_KNOWN})\b")),
    ("reported", re.compile(rf"\b(?P<source>{_NAMED}|{_KNOWN}) (?:reported|quoted|said|wrote)\b")),
    ("dateline", re.compile(rf"\((?P<source>{_KNOWN})\)")),
    ("dateline", re.compile(rf"(?m)[-–—]\s*(?P<source>{_KNOWN})\s*$")),
    ("source line", re.compile(
        rf"(?im)^\s*(?:source|credit|courtesy)s?\s*:\s*(?P<source>{_NAME})")),
    ("copyright", re.compile(
        rf"(?:©|\([Cc]\)|\bCopyright\b)\s*(?:\d{{4}}\s*)?(?P<source>{_NAME})")),
]


@dataclass(frozen=True)
class Attribution:
    """A phrase crediting ``source``, at ``text[start:end]`` of its document."""

    source: str
    kind: str
    phrase: str
    start: int
    end: int


def attributions(text: str) -> list[Attribution]:
    """Every attribution phrase in ``text``, in text order; overlapping matches of later
    patterns are dropped (a licence footer is not also a copyright line)."""
    found: list[Attribution] = []
    for kind, pattern in ATTRIBUTION_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < f.end and f.start < m.end() for f in found):
                continue
            source = canonical_source(m.group("source"))
            if source:
                found.append(Attribution(source, kind, m.group().strip(), m.start(), m.end()))
    return sorted(found, key=lambda a: a.start)


def canonical_source(name: str) -> str:
    """One spelling per source: known agencies by their usual name, others with spaces
    collapsed and ``news agency`` capitalised."""
    name = " ".join(name.split()).strip(" .,-")
    name = re.sub(r"^(?:the)\s+", "", name, flags=re.I)
    if name in AGENCIES:
        return AGENCIES[name]
    base = re.sub(r"\s+(?:[Nn]ews\s+)?[Aa]gency$", "", name)
    if base in AGENCIES:
        return AGENCIES[base]
    return re.sub(r"\b(news|agency)\b", lambda m: m.group().capitalize(), name)


_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_ISO = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_MONTH_FIRST = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_DAY_FIRST = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")


def parse_date(value: Any) -> str | None:
    """``YYYY-MM-DD`` from an ISO date or timestamp (``2020-11-15T18:02Z``), ``2020/11/15``,
    ``November 15, 2020`` or ``15 Nov 2020``; None for anything else."""
    if not isinstance(value, str):
        return None
    for pattern, order in ((_ISO, "ymd"), (_MONTH_FIRST, "mdy"), (_DAY_FIRST, "dmy")):
        m = pattern.search(value)
        if not m:
            continue
        parts = dict(zip(order, m.groups()))
        month = parts["m"]
        month_no = int(month) if month.isdigit() else _MONTHS.get(month[:3].lower())
        try:
            return date(int(parts["y"]), month_no or 0, int(parts["d"])).isoformat()
        except ValueError:
            continue
    return None


def document_date(text: str, meta: dict[str, Any], head_lines: int = 3) -> str | None:
    """A document's date: its ``date`` metadata, else a date line in its first lines."""
    found = parse_date(meta.get("date"))
    if found:
        return found
    for line in text.lstrip().splitlines()[:head_lines]:
        if DATE_LINE.fullmatch(line.strip()):
            return parse_date(line)
    return None
