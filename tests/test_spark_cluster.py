"""neardup on a real Spark standalone cluster, as a user starts one: a master and two workers
from the pyspark package's own ``bin/spark-class``, on 127.0.0.1, each worker one core and
2 GiB (executors at Spark's default 1 GiB). The driver is a ``neardup dedup`` process; the
outputs are the local engine's, also when an executor is killed in the middle of the job.

Needs Java 17 (``make test`` installs it where it can); under CI=true a missing one fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .test_spark import _output, _outputs, corpus  # noqa: F401 - corpus is a fixture

START_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as r:
            return int(json.load(r).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://127.0.0.1:PORT`` of a master with two live workers; stopped at the end."""
    import pyspark

    home = Path(pyspark.__file__).parent
    root = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(root), "SPARK_WORKER_DIR": str(root / "work")}
    port, ui_port = _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    commands = [["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                 str(port), "--webui-port", str(ui_port)]]
    commands += [["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                  "--cores", "1", "--memory", "2g", "--webui-port", str(_free_port()),
                  "--work-dir", str(root / f"work{k}")] for k in range(2)]
    processes = []
    try:
        for k, command in enumerate(commands):
            log = open(root / f"daemon{k}.log", "wb")  # noqa: SIM115 - open while it runs
            processes.append(subprocess.Popen([str(home / "bin" / "spark-class"), *command],
                                              env=env, stdout=log, stderr=log,
                                              start_new_session=True))
        deadline = time.monotonic() + START_SECONDS
        while _alive_workers(ui_port) < 2:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                logs = "\n".join((root / f"daemon{k}.log").read_text()[-800:]
                                 for k in range(len(commands)))
                pytest.fail(f"the standalone cluster did not start in {START_SECONDS} s:\n{logs}")
            time.sleep(0.5)
        yield url
    finally:
        for p in processes:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


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


def _driver_env() -> dict[str, str]:
    # The executors run this Python (a cluster's users ship theirs: README, Spark).
    return {"PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}


def test_a_standalone_cluster_writes_the_local_engines_outputs(
        standalone: str, corpus: list[str], local_outputs: dict[str, object],  # noqa: F811
        tmp_path: Path) -> None:
    out = tmp_path / "cluster"
    _dedup(corpus, out, "--engine", "spark", "--master", standalone, env=_driver_env())
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
           env=_driver_env())
    point, action, pid = marker.read_text().split()  # the window was hit
    assert (point, action) == ("verifying", "kill-executor") and int(pid) > 1
    assert {name: _output(out / name) for name in _outputs(out)} == local_outputs
