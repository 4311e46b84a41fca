"""Connected components of a graph held as a Spark DataFrame, with no extra jar.

The large-star / small-star iterations (Kiveris et al., "Connected Components in
MapReduce and Beyond", SoCC 2014). Edges are kept oriented ``(u, v)`` with ``u > v``:

- *large-star*: every node ``u`` links each larger neighbour ``v`` to
  ``m(u) = min(Γ(u) ∪ {u})``;
- *small-star*: every node ``u`` links itself and each smaller neighbour to the
  smallest of them.

Neither changes which nodes are connected, and a round of both that changes nothing leaves
each component a star around its smallest node (O(log² n) rounds in the worst case, a few
in practice). The iterations stop when the edges form such stars, which one job checks.
Every step is a group-by with ``min``, so the answer is the same whatever the partitioning
or adaptive execution does. Each round's edges are materialized, so the plan does not grow
with the rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: A bound no real graph reaches (rounds grow as log² of the longest path).
MAX_ROUNDS = 200
#: Up to this many edges, one task finds the components (:class:`ComponentsInOneTask`):
#: about 50 bytes an edge in its memory, and no rounds of jobs.
ONE_TASK_EDGES = 2_000_000


class ComponentsInOneTask:
    """On one executor: every edge ``(a, b)`` of the graph in, ``(node, root)`` out, by
    :func:`neardup.cluster.components` (hook and compress in numpy)."""

    def __call__(self, batches: Any) -> Any:
        import numpy as np
        import pyarrow as pa

        from ...cluster import components

        ends = [np.stack([b.column("a").to_numpy(), b.column("b").to_numpy()], axis=1)
                for b in batches if b.num_rows]
        if not ends:
            return
        nodes, local = np.unique(np.concatenate(ends), return_inverse=True)
        roots = nodes[components(len(nodes), local.reshape(-1, 2))]
        yield pa.RecordBatch.from_pydict({"node": nodes, "root": roots})


def connected_components(edges: Any, max_rounds: int = MAX_ROUNDS,
                         materialize: Callable[[Any], Any] | None = None,
                         edge_count: int | None = None) -> Any:
    """``(node, root)`` for every node of ``edges`` (a DataFrame of long columns ``a``,
    ``b``): ``root`` is the smallest node of its component. ``materialize`` computes each
    round's edges and gives them back as a DataFrame with a short plan (default: a local
    checkpoint). Given an ``edge_count`` up to :data:`ONE_TASK_EDGES`, one task finds them
    instead of rounds of star iterations; both give the same roots."""
    from pyspark.sql import functions as F

    if edge_count is not None and edge_count <= ONE_TASK_EDGES:
        return edges.select("a", "b").coalesce(1).mapInArrow(ComponentsInOneTask(),
                                                              "node long, root long")

    keep = materialize or (lambda frame: frame.localCheckpoint())
    current = keep(edges.select(F.greatest("a", "b").alias("u"), F.least("a", "b").alias("v"))
                   .where(F.col("u") != F.col("v")).distinct())
    for _ in range(max_rounds):
        current = keep(_small_star(_large_star(current)))
        if _is_star_forest(current):
            break
    else:
        raise RuntimeError(f"connected components did not settle in {max_rounds} rounds")
    roots = current.select("v").distinct()
    return (current.select(F.col("u").alias("node"), F.col("v").alias("root"))
            .unionByName(roots.select(F.col("v").alias("node"), F.col("v").alias("root"))))


def _is_star_forest(edges: Any) -> bool:
    """Whether every node links to one smaller node at most and no such node links on: each
    component is then a star around its smallest node (the fixed point, found in one job
    instead of comparing rounds)."""
    from pyspark.sql import functions as F

    ends = (edges.select(F.col("u").alias("n"), F.lit(1).alias("leaf"), F.lit(0).alias("hub"))
            .unionByName(edges.select(F.col("v").alias("n"), F.lit(0).alias("leaf"),
                                      F.lit(1).alias("hub"))))
    return (ends.groupBy("n").agg(F.sum("leaf").alias("leaf"), F.max("hub").alias("hub"))
            .where((F.col("leaf") > 1) | ((F.col("leaf") == 1) & (F.col("hub") == 1)))
            .isEmpty())


def _large_star(edges: Any) -> Any:
    from pyspark.sql import functions as F

    both = edges.unionByName(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
    smallest = both.groupBy("u").agg(F.least(F.col("u"), F.min("v")).alias("m"))
    return (both.where(F.col("v") > F.col("u")).join(smallest, "u")
            .select(F.col("v").alias("u"), F.col("m").alias("v")).distinct())


def _small_star(edges: Any) -> Any:
    from pyspark.sql import functions as F

    # Oriented edges (u, v) with v < u: each node's smaller neighbours, grouped under it.
    smallest = edges.groupBy("u").agg(F.min("v").alias("m"))
    linked = edges.join(smallest, "u")
    members = (linked.select(F.col("v").alias("x"), "m")
               .unionByName(smallest.select(F.col("u").alias("x"), "m")))
    return (members.where(F.col("x") != F.col("m"))
            .select(F.col("x").alias("u"), F.col("m").alias("v")).distinct())
