"""A Spark standalone cluster as a user starts one, for tests and benchmarks: a master and
workers from the pyspark package's own ``bin/spark-class``, on 127.0.0.1, started and
stopped here, bounded in time."""

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
from contextlib import contextmanager
from pathlib import Path

START_SECONDS = 90


class ClusterDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as r:
            return int(json.load(r).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


@contextmanager
def standalone_cluster(root: Path, workers: int = 2, cores: int = 1, memory: str = "2g"
                       ) -> Iterator[str]:
    """``spark://127.0.0.1:PORT`` of a master with ``workers`` live workers (each
    ``cores`` cores and ``memory``; executors at Spark's default 1 GiB), its logs and
    work directories under ``root``; every process stopped (SIGTERM, then SIGKILL) at the
    end. Raises :class:`ClusterDidNotStart` with the daemons' last log lines."""
    import pyspark

    home = Path(pyspark.__file__).parent
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(root), "SPARK_WORKER_DIR": str(root / "work")}
    port, ui_port = free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"
    commands = [["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                 str(port), "--webui-port", str(ui_port)]]
    commands += [["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                  "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
                  "--work-dir", str(root / f"work{k}")] for k in range(workers)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for k, command in enumerate(commands):
            with open(root / f"daemon{k}.log", "wb") as log:
                processes.append(subprocess.Popen(
                    [str(home / "bin" / "spark-class"), *command], env=env, stdout=log,
                    stderr=log, start_new_session=True))
        deadline = time.monotonic() + START_SECONDS
        while _alive_workers(ui_port) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                logs = "\n".join((root / f"daemon{k}.log").read_text()[-800:]
                                 for k in range(len(commands)))
                raise ClusterDidNotStart(f"no standalone cluster in {START_SECONDS} s:\n{logs}")
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


def driver_env() -> dict[str, str]:
    """What a driver process on this machine needs: the executors run this Python (a
    cluster's users ship theirs: README, Spark), and everything stays on loopback."""
    return {"PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
