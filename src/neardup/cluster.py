"""Groups from matching pairs (connected components) and which copy to keep.

Groups are the connected components of the graph whose edges are the verified
pairs. Components can chain: A~B and B~C put A and C in one group even when A
and C are far apart, which is why every member's similarity to the kept copy
is reported alongside.
"""

from __future__ import annotations

from enum import Enum

import numpy as np


class KeepPolicy(str, Enum):
    """Which member of a group is kept."""

    FIRST = "first"  #: the one read first
    LONGEST = "longest"  #: the one with the most tokens (ties: read first)
    SHORTEST = "shortest"  #: the one with the fewest tokens (ties: read first)

    @property
    def token_sign(self) -> int:
        """The rule, for every engine: a group keeps the member with the smallest
        ``(token_sign * ntokens, document number)``."""
        return {"first": 0, "longest": -1, "shortest": 1}[self.value]


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` nodes; a label is the smallest node in its component.

    ``edges`` is an ``(m, 2)`` integer array. Hook and compress, in numpy: every node
    points at a node no larger than itself; each round hooks the larger of the two roots
    of every edge whose ends have different roots onto the smaller, then jumps pointers
    until each node points at its root. Rounds end when every edge's ends share a root;
    there are a few, each a handful of array passes, instead of a Python loop per edge.
    """
    parent = np.arange(n, dtype=np.int64)
    if not len(edges):
        return parent
    a, b = np.asarray(edges[:, 0], np.int64), np.asarray(edges[:, 1], np.int64)
    while True:
        ra, rb = parent[a], parent[b]
        differ = ra != rb
        if not differ.any():
            return parent
        ra, rb = ra[differ], rb[differ]
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def group_labels(exact_rep: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Group number of each document, ``-1`` for a document alone (or invalid).

    ``exact_rep[i]`` is the first document token-identical to ``i`` (``-1`` if ``i`` is
    invalid); ``edges`` are matching pairs of such representatives. A group is a connected
    component of the edges together with every exact copy of its members; groups are
    numbered in order of their first document.
    """
    nodes, local = (np.unique(edges, return_inverse=True) if len(edges)
                    else (np.empty(0, np.int64), np.empty(0, np.int64)))
    return labels_from_roots(exact_rep, nodes, nodes[components(len(nodes),
                                                                local.reshape(-1, 2))])


def labels_from_roots(exact_rep: np.ndarray, nodes: np.ndarray, roots: np.ndarray
                      ) -> np.ndarray:
    """Group numbers as :func:`group_labels` gives them, from the connected components of
    the representatives' edges found elsewhere (an engine's own components): ``roots[k]``
    is the smallest node in the component of representative ``nodes[k]``; a
    representative in no edge is its own root."""
    n = len(exact_rep)
    root_of_rep = np.arange(n, dtype=np.int64)
    root_of_rep[np.asarray(nodes, dtype=np.int64)] = roots
    valid = exact_rep >= 0
    root = np.full(n, -1, dtype=np.int64)
    root[valid] = root_of_rep[exact_rep[valid]]
    sizes = np.bincount(root[valid], minlength=n)
    labels = np.full(n, -1, dtype=np.int64)
    in_group = valid & (sizes[np.maximum(root, 0)] > 1)
    # The root is the smallest document of its group, so numbering roots in order numbers
    # groups by their first document.
    _, labels[in_group] = np.unique(root[in_group], return_inverse=True)
    return labels


def kept_members(labels: np.ndarray, ntokens: np.ndarray, policy: KeepPolicy) -> np.ndarray:
    """The document kept in each group ``0 .. labels.max()``, by ``policy``; ties go to the
    document read first."""
    members = np.flatnonzero(labels >= 0)
    if not len(members):
        return np.empty(0, dtype=np.int64)
    size_key = policy.token_sign * np.asarray(ntokens[members], dtype=np.int64)
    order = members[np.lexsort((members, size_key, labels[members]))]
    first_of_group = np.r_[True, labels[order][1:] != labels[order][:-1]]
    return order[first_of_group]
