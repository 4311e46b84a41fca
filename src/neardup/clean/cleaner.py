"""Apply patterns, header detection and learned boilerplate to one document."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .header import header_spans
from .learn import DEFAULT_MIN_CONTEXTS, RepeatedLines, SeenParagraphs, line_key, line_spans
from .patterns import Pattern, junk_spans, load_patterns

_BLANK_RUN = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


REPEATED_LINE = "repeated-line"
SEEN_PARAGRAPH = "seen-paragraph"


@dataclass(frozen=True)
class Removal:
    """``original[start:end]`` was removed: ``kind`` names the rule (a pattern's name,
    ``title``, ``date`` or ``repeated-line``), ``reason`` says it for people."""

    start: int
    end: int
    kind: str
    reason: str
    text: str

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "kind": self.kind,
                "reason": self.reason, "text": self.text}


@dataclass
class Cleaned:
    """A cleaned document: its text, what was removed from the original, and metadata
    recognised on the way (``title``, ``date``)."""

    text: str
    removed: list[Removal] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CleanOptions:
    """What cleaning does; every part can be switched off."""

    patterns: bool = True  #: the built-in junk patterns
    extra_patterns: tuple[str, ...] = ()  #: more pattern files (same JSON format)
    learn: bool = True  #: boilerplate learned from the corpus (needs a first pass)
    min_contexts: int = DEFAULT_MIN_CONTEXTS  #: see :mod:`neardup.clean.learn`
    header: bool = True  #: title and date line of plain-text scrapes as metadata
    #: drop paragraphs already seen in an earlier document (needs the first pass)
    paragraphs: bool = False

    def cleaner(self, learned: dict[int, int] | None = None) -> Cleaner:
        return Cleaner(load_patterns(list(self.extra_patterns), builtin=self.patterns),
                       learned if self.learn else None, self.header)

    def learner(self) -> RepeatedLines:
        return RepeatedLines(self.min_contexts)


class Cleaner:
    """Removes junk from documents. Patterns and header detection need nothing but the
    document; learned boilerplate needs a :class:`~neardup.clean.learn.RepeatedLines`
    result (``learned``: line key -> contexts seen) from a first pass over the corpus."""

    def __init__(self, patterns: list[Pattern] | None = None,
                 learned: dict[int, int] | None = None, header: bool = True) -> None:
        self.patterns = load_patterns() if patterns is None else patterns
        self.learned = learned or {}
        self.header = header

    def clean(self, text: str, site: str = "", title: str | None = None,
              seen: SeenParagraphs | None = None, doc: int | None = None,
              names: list[str | None] | None = None) -> Cleaned:
        """Clean one document. ``site`` selects the learned lines of that site; ``title``
        (from an extractor's metadata) lets a first line repeating it go as the title;
        ``seen`` and ``doc`` (its reading position) remove paragraphs an earlier document
        already had (``names`` gives documents' ids for the reason)."""
        lines = line_spans(text)
        found: list[Removal] = []
        if seen is not None and doc is not None:
            for key, (s, e) in seen.paragraph_keys(text).items():
                first = seen.first_reader(key)
                if first is not None and first != doc:
                    where = (names[first] if names else None) or f"document {first}"
                    found.append(Removal(s, e, SEEN_PARAGRAPH,
                                         f"paragraph already in {where}", text[s:e]))
        meta: dict[str, str] = {}
        if self.header:
            for name, (s, e) in header_spans(text, lines, title).items():
                meta[name] = text[s:e]
                what = "title" if name == "title" else "date line"
                found.append(Removal(s, e, name, f"{what} (kept as metadata)", text[s:e]))
        if self.learned:
            where = "this site" if site else "this corpus"
            for s, e in lines:
                key = line_key(text[s:e], site)
                if key is not None and key in self.learned:
                    stripped = text[s:e].strip()
                    lead = text[s:e].index(stripped[0]) if stripped else 0
                    found.append(Removal(s + lead, s + lead + len(stripped), REPEATED_LINE,
                                         f"repeated on {self.learned[key]} pages of {where}",
                                         stripped))
        for s, e, pattern in junk_spans(self.patterns, text, lines):
            found.append(Removal(s, e, pattern.name, pattern.reason, text[s:e]))
        removed = _disjoint(found)
        return Cleaned(_cut(text, removed), removed, meta)


def _disjoint(spans: list[Removal]) -> list[Removal]:
    """Spans in text order, an overlapping later one dropped (the first reason found wins)."""
    out: list[Removal] = []
    for r in sorted(spans, key=lambda r: (r.start, -r.end)):
        if out and r.start < out[-1].end:
            continue
        out.append(r)
    return out


def _cut(text: str, removed: list[Removal]) -> str:
    """The text without the removed spans, blank-line runs collapsed and ends trimmed."""
    parts, pos = [], 0
    for r in removed:
        parts.append(text[pos:r.start])
        pos = r.end
    parts.append(text[pos:])
    return _BLANK_RUN.sub("\n\n", "".join(parts)).strip()
