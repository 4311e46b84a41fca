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


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` nodes; a label is the smallest node in its component.

    ``edges`` is an ``(m, 2)`` integer array. Union by smallest root, path halving.
    """
    parent = np.arange(n, dtype=np.int64)
    par = parent.tolist()  # a Python list is several times faster than numpy item access here

    def find(x: int) -> int:
        while par[x] != x:
            par[x] = par[par[x]]
            x = par[x]
        return x

    for a, b in edges.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                par[rb] = ra
            else:
                par[ra] = rb
    return np.array([find(x) for x in range(n)], dtype=np.int64)


def choose_kept(members: np.ndarray, ntokens: np.ndarray, policy: KeepPolicy) -> int:
    """The member to keep. ``members`` are document indices in reading order."""
    if policy is KeepPolicy.FIRST:
        return int(members.min())
    sizes = ntokens[members]
    # argmax/argmin return the first extreme; members are sorted, so ties go to the earliest.
    order = np.argsort(members, kind="stable")
    ranked = members[order], sizes[order]
    pick = np.argmax(ranked[1]) if policy is KeepPolicy.LONGEST else np.argmin(ranked[1])
    return int(ranked[0][pick])
