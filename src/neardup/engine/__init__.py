"""Engines move batches of data to where the work runs; they hold no similarity logic."""

from .local import LocalEngine, batched, default_workers, release_freed_memory

__all__ = ["LocalEngine", "batched", "default_workers", "release_freed_memory"]
