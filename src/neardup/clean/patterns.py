"""Junk patterns: a small, documented data file of things that appear once per page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

#: How far from the end an 'end' pattern may start; footers are short.
END_WINDOW = 600


@dataclass(frozen=True)
class Pattern:
    """One kind of junk: ``where`` is ``"line"`` (the whole stripped line matches) or
    ``"end"`` (a match that ends the document)."""

    name: str
    reason: str
    where: str
    regex: re.Pattern[str]

    def spans(self, text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """``[start, end)`` spans of ``text`` this pattern marks as junk."""
        if self.where == "end":
            offset = max(0, len(text.rstrip()) - END_WINDOW)
            m = self.regex.search(text.rstrip(), offset)
            return [(m.start(), m.end())] if m and m.end() > m.start() else []
        found = []
        for start, end in lines:
            line = text[start:end]
            stripped = line.strip()
            if stripped and self.regex.fullmatch(stripped):
                lead = len(line) - len(line.lstrip())
                found.append((start + lead, start + lead + len(stripped)))
        return found


def load_patterns(extra: list[str | Path] = (), builtin: bool = True) -> list[Pattern]:
    """The built-in patterns (``neardup/clean/patterns.json``) and those of ``extra`` files."""
    sources = []
    if builtin:
        sources.append(resources.files(__package__).joinpath("patterns.json").read_text("utf-8"))
    sources += [Path(p).read_text("utf-8") for p in extra]
    patterns = []
    for source in sources:
        for entry in json.loads(source)["patterns"]:
            where = entry.get("where", "line")
            if where not in ("line", "end"):
                raise ValueError(f"pattern {entry.get('name')!r}: 'where' must be line or end")
            patterns.append(Pattern(entry["name"], entry.get("reason", entry["name"]), where,
                                    re.compile(entry["regex"])))
    return patterns
