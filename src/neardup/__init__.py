"""neardup: find exact and near-duplicate documents, and say why they match."""

import os as _os

# neardup does no linear algebra, but an idle OpenBLAS thread pool spins on the cores the
# worker processes need (11% of a core in a profile). Set before numpy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

from .align import Explanation, Passage, Span
from .api import (
    clean,
    clean_files,
    dedup,
    dedup_files,
    explain,
    find_files,
    find_pairs,
    find_reuse,
    find_texts,
    reuse_files,
    run_files,
    stories,
)
from .clean import Cleaned, CleanOptions, Removal
from .cluster import KeepPolicy
from .dedup import DedupOptions, DedupResult, ExactGroup, Pair
from .document import Document, Rejected, Source
from .find import FindOptions, FindResult, Match, QueryReport
from .index import Index
from .report import write_report
from .reuse import ReuseGroup, ReuseOptions, ReusePair, ReuseResult
from .story import StoryOptions, StoryPair, StoryResult

__version__ = "0.1.0"

__all__ = [
    "CleanOptions", "Cleaned", "Removal", "clean", "clean_files",
    "DedupOptions", "DedupResult", "Document", "ExactGroup", "Explanation", "Index",
    "KeepPolicy",
    "Pair", "Passage", "Rejected", "Source", "Span", "dedup", "dedup_files", "explain",
    "find_pairs", "run_files", "find_reuse", "ReuseGroup", "ReuseOptions", "ReusePair",
    "ReuseResult", "reuse_files", "write_report",
    "FindOptions", "FindResult", "Match", "QueryReport", "find_files", "find_texts",
    "StoryOptions", "StoryPair", "StoryResult", "stories",
]
