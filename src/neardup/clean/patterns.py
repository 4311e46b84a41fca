"""Junk patterns: a small, documented data file of things that appear once per page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import NeardupError

#: How far from the end an 'end' pattern may start; footers are short.
END_WINDOW = 600
#: 'line' patterns only look at lines up to this long: junk lines are short, and skipping
#: the long ones (article paragraphs) is most of the speed of cleaning.
MAX_JUNK_LINE = 200


@dataclass(frozen=True)
class Pattern:
    """One kind of junk: ``where`` is ``"line"`` (the whole stripped line matches) or
    ``"end"`` (a match that ends the document)."""

    name: str
    reason: str
    where: str
    regex: re.Pattern[str]
    #: Lower-case literals of which one must occur for the regex to be tried (a cheap test).
    requires: tuple[str, ...] = ()


def junk_spans(patterns: list[Pattern], text: str,
               lines: list[tuple[int, int]]) -> list[tuple[int, int, Pattern]]:
    """``(start, end, pattern)`` for every stretch of ``text`` a pattern marks as junk:
    short lines that a 'line' pattern matches whole, and a match ending the text for each
    'end' pattern."""
    found = []
    line_patterns = [p for p in patterns if p.where == "line"]
    for start, end in lines:
        if end - start > MAX_JUNK_LINE:
            continue
        line = text[start:end]
        stripped = line.strip()
        if not stripped:
            continue
        lowered = stripped.lower()
        for p in line_patterns:
            if (not p.requires or any(r in lowered for r in p.requires)) and \
                    p.regex.fullmatch(stripped):
                lead = len(line) - len(line.lstrip())
                found.append((start + lead, start + lead + len(stripped), p))
                break
    body = text.rstrip()
    tail = body[-END_WINDOW:].lower()
    for p in patterns:
        if p.where == "end" and (not p.requires or any(r in tail for r in p.requires)):
            m = p.regex.search(body, max(0, len(body) - END_WINDOW))
            if m and m.end() > m.start():
                found.append((m.start(), m.end(), p))
    return found


class PatternError(NeardupError, ValueError):
    """A pattern file that cannot be used; the message names the file and the entry."""


def load_patterns(extra: list[str | Path] = (), builtin: bool = True) -> list[Pattern]:
    """The built-in patterns (``neardup/clean/patterns.json``) and those of ``extra`` files."""
    sources: list[tuple[str, str]] = []
    if builtin:
        sources.append(("patterns.json (built in)",
                        resources.files(__package__).joinpath("patterns.json").read_text("utf-8")))
    for path in extra:
        try:
            sources.append((str(path), Path(path).read_text("utf-8")))
        except (OSError, UnicodeDecodeError) as err:
            raise PatternError(f"bad pattern file {path}: cannot read it ({err})") from None
    patterns = []
    for name, source in sources:
        try:
            entries = json.loads(source)["patterns"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise PatternError(f"bad pattern file {name}: expected "
                               f"{{\"patterns\": [...]}} ({err})") from None
        for n, entry in enumerate(entries):
            label = f"bad pattern file {name}: pattern {entry.get('name', n)!r}"
            where = entry.get("where", "line")
            if where not in ("line", "end"):
                raise PatternError(f"{label}: 'where' must be \"line\" or \"end\"")
            if "name" not in entry or "regex" not in entry:
                raise PatternError(f"{label}: needs \"name\" and \"regex\"")
            try:
                regex = re.compile(entry["regex"])
            except re.error as err:
                raise PatternError(f"{label}: bad regex: {err}") from None
            requires = tuple(r.lower() for r in entry.get("requires", ()))
            patterns.append(Pattern(entry["name"], entry.get("reason", entry["name"]), where,
                                    regex, requires))
    return patterns
