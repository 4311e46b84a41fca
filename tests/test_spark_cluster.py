"""neardup on a real Spark standalone cluster, as a user starts one: a master and two workers
from the pyspark package's own ``bin/spark-class``, on 127.0.0.1, each worker one core and
2 GiB (executors at Spark's default 1 GiB). The driver is a ``neardup dedup`` process; the
outputs are the local engine's, also when an executor is killed in the middle of the job.

Needs Java 17 (``make test`` installs it where it can); under CI=true a missing one fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .standalone import ClusterDidNotStart, driver_env, standalone_cluster
from .test_spark import _output, _outputs, corpus  # noqa: F401 - corpus is a fixture


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://127.0.0.1:PORT`` of a master with two live workers; stopped at the end."""
    try:
        with standalone_cluster(tmp_path_factory.mktemp("standalone")) as url:
            yield url
    except ClusterDidNotStart as err:
        pytest.fail(str(err))


def _dedup(inputs: list[str], out: Path, *extra: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([sys.executable, "-m", "neardup", "dedup", *inputs, "-o", str(out),
                          *extra], capture_output=True, text=True, timeout=900,
                         env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "Exception" not in run.stderr, run.stderr
    return run


@pytest.fixture(scope="module")
def local_outputs(corpus: list[str], tmp_path_factory: pytest.TempPathFactory  # noqa: F811
                  ) -> dict[str, object]:
    """The local engine's outputs for the corpus, by name."""
    out = tmp_path_factory.mktemp("local") / "out"
    _dedup(corpus, out)
    outputs = {name: _output(out / name) for name in _outputs(out)}
    assert {"pairs.jsonl", "clusters.jsonl", "rejected.jsonl", "kept/first.jsonl",
            "kept/second.parquet"} <= outputs.keys()
    return outputs


def test_a_standalone_cluster_writes_the_local_engines_outputs(
        standalone: str, corpus: list[str], local_outputs: dict[str, object],  # noqa: F811
        tmp_path: Path) -> None:
    out = tmp_path / "cluster"
    _dedup(corpus, out, "--engine", "spark", "--master", standalone, env=driver_env())
    assert (out / "pairs.jsonl").is_dir()  # written by the executors, as part files
    assert {name: _output(out / name) for name in _outputs(out)} == local_outputs


def test_an_executor_killed_mid_job_changes_nothing(
        standalone: str, corpus: list[str], local_outputs: dict[str, object],  # noqa: F811
        tmp_path: Path) -> None:
    """An executor is SIGKILLed as it starts verifying (the named fault point); Spark runs
    its tasks again elsewhere, and the outputs are the local engine's."""
    marker, out = tmp_path / "killed", tmp_path / "cluster"
    _dedup(corpus, out, "--engine", "spark", "--master", standalone,
           "--spark-conf", "spark.executorEnv.NEARDUP_FAULT=verifying:kill-executor",
           "--spark-conf", f"spark.executorEnv.NEARDUP_FAULT_MARKER={marker}",
           env=driver_env())
    point, action, pid = marker.read_text().split()  # the window was hit
    assert (point, action) == ("verifying", "kill-executor") and int(pid) > 1
    assert {name: _output(out / name) for name in _outputs(out)} == local_outputs
