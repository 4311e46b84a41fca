"""Lists of other stories in a page's HTML, found and removed before extraction.

A news page often ends (or is flanked) by cards that lead to the site's other articles:
"Other opinion columns", "More from this section", "Most read". Each card is a short block
headed by a link to another page of the same site, often with a summary under it. Extractors
keep such a list when it sits inside the article's container, and it then enters every
comparison of the page: two copies of one article with different lists score lower, two
different articles beside the same list score higher.

The rule (:func:`drop_story_teasers`). In a parsed page, an element is a **card** when

* its first heading (``h1``-``h6``) is mostly one link: the link's text is at least half of
  the heading's text;
* that link leads to a page of the same site: a relative address, or an absolute one whose
  host is the page's own (from its URL, its canonical link or ``og:url``);
* its whole text is at most :data:`MAX_CARD_CHARS` characters.

Siblings that are cards make a **list of other stories** when there are at least
:data:`MIN_CARDS` of them and their links all differ. Every card of such a list is removed,
unless the lists hold more than half of the page's text: then the page is a section front
or an index, the lists are what it says, and they stay.
A heading the article itself links (a listicle's items, each linking to a shop) is not a card:
its link leaves the site. Two cards are not a list: an article's "previous / next" pair stays.

Measured (``bench/extraction.py``): on the 26 real pages of Mozilla Readability's test suite
it removes a list of five opinion columns that trafilatura keeps under a column (that page's
Jaccard to its gold text goes from 0.80 to 0.99). It finds lists on 36 of 95 pages of three
suites, where trafilatura drops them anyway, and changes no other page's score. It costs
about 2% of the extraction's CPU time.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from lxml import etree

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
NOT_TEXT = ("script", "style", "noscript", "template")  # elements whose text is not shown
MAX_CARD_CHARS = 400
MIN_CARDS = 3


def element_text(element: etree._Element, between: str = "") -> str:
    """The element's text with runs of white space as one space; ``between`` goes between
    its parts (a space to count the words of a list whose items only the markup
    separates)."""
    return " ".join(between.join(element.itertext()).split())


def _bare_host(host: str) -> str:
    return host.lower().removeprefix("www.")


def page_host(tree: etree._Element, url: str | None = None) -> str:
    """The page's own host: from its URL if known, else its canonical link or ``og:url``."""
    if url:
        return urlsplit(url).hostname or ""
    for address in tree.xpath("//link[@rel='canonical']/@href|//meta[@property='og:url']/@content"):
        host = urlsplit(str(address)).hostname
        if host:
            return host
    return ""


def _same_site(href: str | None, host: str) -> bool:
    if not href:
        return False
    parts = urlsplit(href.strip())
    if parts.scheme and parts.scheme not in ("http", "https"):
        return False  # mailto:, javascript:
    if not parts.path.strip("/") and not parts.query:
        return False  # the home page or an anchor in this page
    if not parts.netloc:
        return True
    link, own = _bare_host(parts.hostname or ""), _bare_host(host)
    return bool(own) and (link == own or link.endswith("." + own))


def _heading_link(heading: etree._Element, host: str) -> str | None:
    """The same-site link that makes up at least half of the heading's text, if any."""
    text = len(element_text(heading))
    for link in heading.iter("a"):
        if text and len(element_text(link)) * 2 >= text and _same_site(link.get("href"), host):
            return link.get("href")
    return None


def _first_heading(element: etree._Element) -> etree._Element | None:
    return next(element.iter(*HEADINGS), None)


def _attached(element: etree._Element, root: etree._Element) -> bool:
    for ancestor in element.iterancestors():
        if ancestor is root:
            return True
    return element is root


def _remove(element: etree._Element) -> None:
    """Remove ``element`` but keep the text that follows it (lxml stores it on the element)."""
    parent = element.getparent()
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _page_chars(tree: etree._Element) -> int:
    """Characters of the page's visible text, about (white space at the ends aside)."""
    body = tree.find(".//body")
    root = body if body is not None else tree
    return sum(len((e.text or "").strip()) if e.tag not in NOT_TEXT else 0
               for e in root.iter() if isinstance(e.tag, str)) + sum(
        len((e.tail or "").strip()) for e in root.iter())


def story_lists(tree: etree._Element, host: str = "") -> list[list[etree._Element]]:
    """Every list of other stories in ``tree`` (the module's rule): each list's cards."""
    candidates: dict[etree._Element, list[etree._Element]] = {}
    for heading in tree.iter(*HEADINGS):
        if _heading_link(heading, host) is None:
            continue
        child = heading
        for parent in heading.iterancestors():
            # each ancestor level is a possible (list, card) pair; checked below
            candidates.setdefault(parent, []).append(child)
            child = parent
    lists = []
    for children in candidates.values():
        if len(children) < MIN_CARDS:
            continue
        cards = []
        for child in dict.fromkeys(children):
            first = _first_heading(child)
            link = _heading_link(first, host) if first is not None else None
            if link is not None and len(element_text(child)) <= MAX_CARD_CHARS:
                cards.append((child, link))
        if len(cards) >= MIN_CARDS and len({link for _, link in cards}) == len(cards):
            lists.append([child for child, _ in cards])
    return lists


def drop_story_teasers(tree: etree._Element, host: str = "") -> int:
    """Remove every list of other stories (the module's rule) from ``tree`` in place,
    unless the lists hold most of the page's text (a section front, whose lists are the
    page); return how many cards went. ``host`` is the page's own (:func:`page_host`)."""
    lists = story_lists(tree, host)
    cards = [card for found in lists for card in found]
    if not cards or sum(len(element_text(c)) for c in cards) * 2 > _page_chars(tree):
        return 0
    dropped = 0
    for card in cards:
        if _attached(card, tree):  # not inside a card removed already
            _remove(card)
            dropped += 1
    return dropped
