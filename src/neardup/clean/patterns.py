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


class PatternError(ValueError):
    """A pattern file that cannot be used; the message names the file and the entry."""


def load_patterns(extra: list[str | Path] = (), builtin: bool = True) -> list[Pattern]:
    """The built-in patterns (``neardup/clean/patterns.json``) and those of ``extra`` files."""
    sources: list[tuple[str, str]] = []
    if builtin:
        sources.append(("patterns.json (built in)",
                        resources.files(__package__).joinpath("patterns.json").read_text("utf-8")))
    sources += [(str(p), Path(p).read_text("utf-8")) for p in extra]
    patterns = []
    for name, source in sources:
        try:
            entries = json.loads(source)["patterns"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise PatternError(f"{name}: expected {{\"patterns\": [...]}} ({err})") from None
        for n, entry in enumerate(entries):
            label = f"{name}: pattern {entry.get('name', n)!r}"
            where = entry.get("where", "line")
            if where not in ("line", "end"):
                raise PatternError(f"{label}: 'where' must be \"line\" or \"end\"")
            if "name" not in entry or "regex" not in entry:
                raise PatternError(f"{label}: needs \"name\" and \"regex\"")
            try:
                regex = re.compile(entry["regex"])
            except re.error as err:
                raise PatternError(f"{label}: bad regex: {err}") from None
            patterns.append(Pattern(entry["name"], entry.get("reason", entry["name"]), where,
                                    regex))
    return patterns
