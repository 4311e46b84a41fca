"""neardup: find exact and near-duplicate documents, and say why they match."""

from .align import Explanation, Passage, Span
from .api import dedup, dedup_files, explain, find_pairs, iter_pairs_files
from .cluster import KeepPolicy
from .dedup import DedupOptions, DedupResult, ExactGroup, Pair
from .document import Document, Rejected, Source

__version__ = "0.1.0"

__all__ = [
    "DedupOptions", "DedupResult", "Document", "ExactGroup", "Explanation", "KeepPolicy",
    "Pair", "Passage", "Rejected", "Source", "Span", "dedup", "dedup_files", "explain",
    "find_pairs", "iter_pairs_files",
]
