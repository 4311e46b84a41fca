"""Finding given texts (queries) in a corpus: where each occurs, and how much of it.

See :mod:`neardup.find.finder` for the flow and definitions, :mod:`neardup.find.table` for
the query table and its memory, and :func:`neardup.find_texts` for the API.
"""

from .finder import (
    DEFAULT_FIND_NGRAM,
    Finder,
    FindOptions,
    FindResult,
    FindStats,
    Match,
    QueryReport,
    Removal,
)
from .scan import FoundPassage
from .table import QueryTable

__all__ = ["DEFAULT_FIND_NGRAM", "FindOptions", "FindResult", "FindStats", "Finder",
           "FoundPassage", "Match", "QueryReport", "QueryTable", "Removal"]
