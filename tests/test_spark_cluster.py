"""neardup on a real Spark standalone cluster, as a user starts one: a master and two workers
from the pyspark package's own ``bin/spark-class``, on 127.0.0.1, each worker one core and
2 GiB (executors at Spark's default 1 GiB). Two ``neardup dedup`` drivers run on it at once,
an application of one core each: the outputs are the local engine's, also for the one
whose executor is killed in the middle of the job. The command lines are a user's: one
gives inputs and output relative to the working directory, into a directory that holds
the other engine's output, which the run replaces (and the local engine then replaces the
Spark one); the other reads and writes a Hadoop file system that is not the local one
(viewfs, mounting local folders), with ``kept/`` as Parquet.

Needs Java 17 (``make test`` installs it where it can); under CI=true a missing one fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .standalone import ClusterDidNotStart, driver_env, standalone_cluster
from .test_spark import _output, _outputs, corpus  # noqa: F401 - corpus is a fixture

# The module's tests share one cluster and its two runs: one test process runs them all.
pytestmark = pytest.mark.xdist_group("standalone-cluster")
SMALL_EXECUTOR_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://127.0.0.1:PORT`` of a master with two live workers; stopped at the end."""
    try:
        with standalone_cluster(tmp_path_factory.mktemp("standalone")) as url:
            yield url
    except ClusterDidNotStart as err:
        pytest.fail(str(err))


def _dedup(inputs: list[str], out: Path | str, *extra: str) -> list[str]:
    """The command line of ``neardup dedup`` over ``inputs`` into ``out``."""
    return [sys.executable, "-m", "neardup", "dedup", *inputs, "-o", str(out), *extra]


def _check(run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "Exception" not in run.stderr, run.stderr
    # Nothing of the JVM's start-up chatter reaches the user.
    assert "incubator" not in run.stderr and "log level" not in run.stderr, run.stderr


def _committed(out: Path) -> dict[str, object]:
    """A finished run's outputs by name, after checking its manifest lists exactly the
    files on disk."""
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    manifest = json.loads((out / ".neardup-run.json").read_text())
    assert manifest["state"] == "complete"
    assert set(manifest["files"]) == files - {".neardup.lock", ".neardup-run.json"}
    return {name: _output(out / name) for name in _outputs(out)}


@pytest.fixture(scope="module")
def local_run(corpus: list[str], tmp_path_factory: pytest.TempPathFactory  # noqa: F811
              ) -> Path:
    """The local engine's output directory for the corpus, the inputs given relative to a
    directory beside the cluster runs' (so their names read the same in all outputs)."""
    root = tmp_path_factory.mktemp("local")
    given = [os.path.relpath(p, root) for p in corpus]
    _check(subprocess.run(_dedup(given, Path("out")), capture_output=True, text=True,
                          cwd=root, timeout=900))
    return root / "out"


@pytest.fixture(scope="module")
def local_outputs(local_run: Path) -> dict[str, object]:
    """The local engine's outputs for the corpus, by name."""
    outputs = _committed(local_run)
    assert {"pairs.jsonl", "clusters.jsonl", "rejected.jsonl", "kept/first.jsonl",
            "kept/second.parquet"} <= outputs.keys()
    assert all(len(content) for content in outputs.values())  # type: ignore[arg-type]
    return outputs


def _mounts(corpus: list[str], out: Path) -> dict[str, str]:  # noqa: F811
    """viewfs mount points (``viewfs://corpus/<name>``) -> the local folders they show:
    the corpus's folders, and ``out`` for the output."""
    folders = {"data": Path(corpus[0]).parent, "examples": Path(corpus[1]).parent,
               "out": out}
    assert Path(corpus[2]).parent == folders["data"]
    return {f"viewfs://corpus/{name}/": f"{folder}/" for name, folder in folders.items()}


def _on_viewfs(path: str, mounts: dict[str, str]) -> str:
    return next(uri + path[len(local):] for uri, local in mounts.items()
                if path.startswith(local))


@pytest.fixture(scope="module")
def cluster_runs(standalone: str, corpus: list[str], local_run: Path,  # noqa: F811
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two ``neardup dedup`` drivers on the cluster at once, each an application of one
    core (``spark.cores.max=1``, so each has an executor on its own worker): one left
    alone, one whose executor is SIGKILLed as it starts verifying (the named fault
    point; the master starts it a new executor, and Spark runs the lost tasks there).
    Their output directories, and the marker the fault point writes. The one left alone
    is given relative paths; the other reads and writes viewfs URIs, kept/ as Parquet.
    Both write into a copy of the local engine's output."""
    root = tmp_path_factory.mktemp("cluster")
    marker = root / "fault-marker"
    mounts = _mounts(corpus, root)
    viewfs = [a for uri, local in mounts.items() for a in (
        "--spark-conf", f"spark.hadoop.fs.viewfs.mounttable.corpus.link./"
                        f"{uri.split('/')[3]}={Path(local).as_uri()}")]
    fault = ["--spark-conf", "spark.executorEnv.NEARDUP_FAULT=verifying:kill-executor",
             "--spark-conf", f"spark.executorEnv.NEARDUP_FAULT_MARKER={marker}"]
    runs = {"alone": ([os.path.relpath(p, root) for p in corpus], "alone", []),
            "killed": ([_on_viewfs(p, mounts) for p in corpus],
                       _on_viewfs(f"{root}/killed", mounts),
                       [*viewfs, "--kept-format", "parquet", *fault])}
    # Executors of one core on a 2-core machine: the JVM settings the README gives for
    # small executors (they halve the executors' CPU).
    small = ["--spark-conf", f"spark.executor.extraJavaOptions={SMALL_EXECUTOR_JVM}"]
    for name in runs:
        shutil.copytree(local_run, root / name)
    started = {name: subprocess.Popen(
        _dedup(given, out, "--engine", "spark", "--master", standalone,
               "--spark-conf", "spark.cores.max=1", *small, *extra),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root,
        env={**os.environ, **driver_env()}) for name, (given, out, extra) in runs.items()}
    for name, process in started.items():
        try:
            stdout, stderr = process.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            for other in started.values():
                other.kill()
            raise
        _check(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return {"alone": root / "alone", "killed": root / "killed", "marker": marker}


def test_a_standalone_cluster_writes_the_local_engines_outputs(
        cluster_runs: dict[str, Path], local_outputs: dict[str, object],
        corpus: list[str], tmp_path: Path) -> None:  # noqa: F811
    """One test, so that one test process holds the cluster and its runs: the run left
    alone writes the local engine's outputs; so does the one whose executor was killed,
    through viewfs; and the local engine then replaces a Spark run's output."""
    out = cluster_runs["alone"]
    assert (out / "pairs.jsonl").is_dir()  # written by the executors, as part files
    assert _committed(out) == local_outputs
    _check_killed_run(cluster_runs, corpus, tmp_path)
    _check_local_run_replaces(out, corpus, local_outputs)


def _check_killed_run(cluster_runs: dict[str, Path], corpus: list[str],  # noqa: F811
                      tmp_path: Path) -> None:
    """An executor was SIGKILLed as it started verifying (the named fault point); Spark
    ran its tasks again on a new executor. The run read and wrote viewfs, staged and
    committed there as a local output is; its outputs are the local engine's (kept/ as
    Parquet: the same rows, each naming its input as it was given)."""
    point, action, pid = cluster_runs["marker"].read_text().split()  # the window was hit
    assert (point, action) == ("verifying", "kill-executor") and int(pid) > 1
    out = cluster_runs["killed"]
    local = tmp_path / "local"
    _check(subprocess.run(_dedup(corpus, local, "--kept-format", "parquet"),
                          capture_output=True, text=True, timeout=900))
    expected = _committed(local)
    assert {"kept/first.jsonl.parquet", "kept/second.parquet"} <= expected.keys()
    mounts = _mounts(corpus, out.parent)

    def as_given(value: str) -> str:  # a viewfs URI as the local run names the file
        for uri, folder in mounts.items():
            value = value.replace(uri, folder)
        return value

    got = _committed(out)
    assert got.keys() == expected.keys()
    for name, content in got.items():
        if name.endswith(".parquet"):
            content = [{**row, "source": as_given(row["source"])} for row in content]
        elif name == "rejected.jsonl":
            content = as_given(content.decode()).encode()
        assert content == expected[name], name


def _check_local_run_replaces(out: Path, corpus: list[str],  # noqa: F811
                              local_outputs: dict[str, object]) -> None:
    """Into a directory of Spark's part-file outputs, a local run writes its own files and
    leaves none of Spark's."""
    assert (out / "pairs.jsonl").is_dir()
    given = [os.path.relpath(p, out.parent) for p in corpus]
    _check(subprocess.run(_dedup(given, Path(out.name)), capture_output=True, text=True,
                          cwd=out.parent, timeout=900))
    assert (out / "pairs.jsonl").is_file()
    assert _committed(out) == local_outputs
