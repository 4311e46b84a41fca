"""Cleaning before comparing: junk patterns, title/date lines, boilerplate learned from the corpus.

:class:`Cleaner` removes, from each document, spans that are not the article (each with the
reason and its character offsets in the original), using

* :mod:`.patterns`: junk that appears once per page (comment forms, captchas, share
  prompts, licence and copyright footers), from a data file users can extend;
* :mod:`.header`: the title and date line at the top of a plain-text scrape, kept as
  metadata rather than body;
* :mod:`.learn`: lines repeated across many documents *with different articles around
  them* (a site's template), learned from the corpus itself.
"""

from .cleaner import Cleaned, Cleaner, CleanOptions, Removal
from .learn import RepeatedLines
from .patterns import Pattern, load_patterns

__all__ = ["CleanOptions", "Cleaned", "Cleaner", "Pattern", "Removal", "RepeatedLines",
           "load_patterns"]
