"""Engines move batches of data to where the work runs; they hold no similarity logic.

The algorithm modules know only :mod:`.base` (what an engine does); the API picks one:
:class:`LocalEngine` here, or the Spark plan (:mod:`.spark`)."""

from .base import Engine, Reporter, batched, reported, silent
from .local import LocalEngine, default_workers, release_freed_memory

__all__ = ["Engine", "LocalEngine", "Reporter", "batched", "default_workers",
           "release_freed_memory", "reported", "silent"]
