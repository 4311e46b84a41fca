"""Passage groups: the same passage across many documents, as one group.

Each shared passage found between two documents is two spans, one in each. Spans are
nodes of a graph with two kinds of edges:

* a passage links its two spans;
* within one document, spans that overlap by at least ``min_overlap`` of the shorter
  (after sorting by start, each against the extent of the run it would join) are the same
  stretch of text, a *member*, seen from different pairs.

A group is a connected component; its members are the stretches of text in it, one per
document unless a document repeats the passage at two places. A wire paragraph printed by
40 outlets is one group of 40 (or 41, with the wire's own copy) members, however many of
the 40 * 39 / 2 pairs were aligned. Two different passages of one source can be chained
into one group only by a copy that overlaps both by at least ``min_overlap``.
"""

from __future__ import annotations

import numpy as np

from ..cluster import components


def group_spans(docs: np.ndarray, starts: np.ndarray, ends: np.ndarray, links: np.ndarray,
                min_overlap: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Group and member of each span.

    ``docs[k]``, ``starts[k]``, ``ends[k]``: span ``k``'s document and ``[start, end)``
    offsets; ``links``: ``(m, 2)`` pairs of spans that are one passage's two sides.
    Returns ``(group, member)``: per span, its group's label (the smallest span number in
    the group) and its member's label (the first span, in document order, of its stretch).
    """
    n = len(docs)
    member = np.arange(n)
    order = np.lexsort((starts, docs)).tolist()
    doc_l, start_l, end_l = docs.tolist(), starts.tolist(), ends.tolist()
    head = -1
    extent_start = extent_end = 0
    for k in order:
        if head >= 0 and doc_l[k] == doc_l[head]:
            overlap = min(extent_end, end_l[k]) - start_l[k]
            shorter = min(end_l[k] - start_l[k], extent_end - extent_start)
            if overlap > 0 and overlap >= min_overlap * shorter:
                member[k] = head
                extent_end = max(extent_end, end_l[k])
                continue
        head, extent_start, extent_end = k, start_l[k], end_l[k]
    same_stretch = np.stack([np.arange(n), member], axis=1)[member != np.arange(n)]
    group = components(n, np.concatenate([links.reshape(-1, 2), same_stretch]))
    return group, member
