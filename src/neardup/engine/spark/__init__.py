"""The Spark engine: the dedup plan's stages as Spark jobs (see :mod:`.plan`).

Importing this package does not import PySpark; starting a run does.
"""

from .session import DEFAULT_MASTER, SparkSettings, SparkUnavailable

__all__ = ["DEFAULT_MASTER", "SparkSettings", "SparkUnavailable"]
