"""Text reuse: passages documents share, grouped across the corpus, with provenance.

See :mod:`neardup.reuse.finder` for the flow and :func:`neardup.find_reuse` for the API.
"""

from .finder import (
    GroupMember,
    ReuseFinder,
    ReuseGroup,
    ReuseOptions,
    ReusePair,
    ReuseResult,
    ReuseStats,
)
from .provenance import Attribution, attributions, parse_date

__all__ = ["Attribution", "GroupMember", "ReuseFinder", "ReuseGroup", "ReuseOptions",
           "ReusePair", "ReuseResult", "ReuseStats", "attributions", "parse_date"]
