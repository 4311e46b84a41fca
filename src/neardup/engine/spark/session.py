"""Starting Spark for neardup, and showing its progress.

PySpark is imported here and nowhere in the algorithm modules; the plan
(:mod:`neardup.engine.spark.plan`) asks this module for a session.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import NeardupError
from ...store import LiveTempDir

#: The master when none is given: every core of this machine.
DEFAULT_MASTER = "local[*]"


class SparkUnavailable(NeardupError):
    """PySpark or a Java runtime is missing, or Spark would not start."""


class SparkJobFailed(NeardupError):
    """A Spark job of the run failed: one line naming the step and what to change."""


_RESULT_ADVICE = ("raise spark.driver.maxResultSize and the driver's memory (--spark-conf "
                  "spark.driver.maxResultSize=4g --spark-conf spark.driver.memory=6g), or "
                  "split the input")

#: Spark's reasons for a failed job, as its message words them, and what to change.
_JOB_FAILURES = (
    ("spark.driver.maxResultSize",
     "the results sent to the driver passed spark.driver.maxResultSize", _RESULT_ADVICE),
    ("TaskResultLost",
     "a task's result did not reach the driver (over spark.driver.maxResultSize, or lost "
     "with its executor)", _RESULT_ADVICE),
    ("OutOfDirectMemoryError", "an executor ran out of direct (Arrow) memory",
     "use more --partitions, or raise spark.executor.memoryOverhead"),
    ("OutOfMemoryError", "a Spark process ran out of memory",
     "use more --partitions, or raise spark.executor.memory / spark.driver.memory"),
    ("ExecutorLostFailure", "an executor was lost (killed, or out of memory)",
     "see its worker's log; use more --partitions, or raise spark.executor.memory"),
)


@contextmanager
def failures_in_one_line(step: Callable[[], str]) -> Iterator[None]:
    """Spark's failures inside the block raised as :class:`SparkJobFailed`, naming the
    step ``step()`` says the run was at (:func:`job_failure`)."""
    try:
        yield
    except Exception as err:
        failed = job_failure(err, step())
        if failed is None:
            raise
        raise failed from None


def job_failure(err: BaseException, step: str) -> SparkJobFailed | None:
    """The one-line error for a Spark job that failed during ``step`` (None when ``err``
    is not Spark's: it is not translated). With ``NEARDUP_DEBUG`` set, None: the trace."""
    if os.environ.get("NEARDUP_DEBUG") or not type(err).__module__.startswith(
            ("py4j", "pyspark")):
        return None
    text = str(err)
    for marker, cause, advice in _JOB_FAILURES:
        if marker in text:
            return SparkJobFailed(f"spark, {step}: {cause}; {advice}")
    reason = next((line.split("stage failure:", 1)[1].strip() for line in text.splitlines()
                   if "stage failure:" in line), "")
    reason = reason or next((line.strip() for line in text.splitlines() if line.strip()),
                            type(err).__name__)
    return SparkJobFailed(f"spark, {step}: the job failed ({reason[:300]}); "
                          "NEARDUP_DEBUG=1 shows Spark's trace")


def import_pyspark() -> Any:
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailable(
            "--engine spark needs PySpark: pip install 'neardup[spark]' (and a Java 17 "
            "runtime: apt install openjdk-17-jre-headless)") from None
    return pyspark


@dataclass(frozen=True)
class SparkSettings:
    """Where and how wide a Spark run is.

    ``partitions``: how many partitions the input is cut into and each shuffle has; None
    chooses from the input's size and the cluster's cores (:func:`choose_partitions`).
    Results never depend on it.
    """

    #: None: the master ``spark-submit`` was given, or :data:`DEFAULT_MASTER` outside it.
    master: str | None = None
    partitions: int | None = None
    #: Extra Spark settings (``spark.executor.memory``, say), as ``--conf`` takes them.
    conf: tuple[tuple[str, str], ...] = ()


def choose_partitions(input_bytes: int, cores: int, target_bytes: int = 64 << 20) -> int:
    """Partitions for an input: at least two per core (so a slow task does not leave a
    core idle), and enough that each holds about ``target_bytes`` of input."""
    return max(2 * cores, math.ceil(input_bytes / target_bytes), 1)


def _java_missing() -> bool:
    return not os.environ.get("JAVA_HOME") and shutil.which("java") is None


_started: dict[str, Any] = {}

#: Inputs below this many bytes: the JVM's first compiler only (see :func:`_driver_jvm`).
SMALL_INPUT = 512 << 20


def _driver_jvm(master: str | None, local: bool, input_bytes: int | None) -> list[str]:
    """The driver JVM's settings. The driver holds nothing per document: it plans, and on
    a local master of a few threads it also runs the tasks. One garbage collector thread
    (serial GC) costs such a driver nothing (1,000,000 shared-paragraph documents, `pairs
    --raw` on local[2]: 165.0 s against 165.4 s). On a small input its first compiler
    only (C1) also saves the CPU the JIT spends warming up for each new stage: on 2 cores
    a third of the JVM's CPU, and 200,000 news documents (391 MB) from 84.0 and 75.6 s to
    77.0 and 69.9 s; on 1.46 GB it cost 21% (200.0 s), so only below
    :data:`SMALL_INPUT`. A driver of a cluster runs no task, only plans, so it always
    takes C1 (the standalone-cluster test: 161-168 s to 146 s). A local master of more
    than 4 threads keeps the JVM's defaults: there the driver's JVM does a cluster's
    work."""
    if local and master is not None and _local_threads(master) > 4:
        return []
    runs_large_tasks = local and (input_bytes is None or input_bytes >= SMALL_INPUT)
    return ["-XX:+UseSerialGC", *([] if runs_large_tasks else ["-XX:TieredStopAtLevel=1"])]


def _local_threads(master: str) -> int:
    """The task threads of a ``local``, ``local[N]``, ``local[*]`` or ``local[N,F]``
    master."""
    inside = master[master.find("[") + 1:master.find("]")] if "[" in master else "1"
    first = inside.split(",")[0].strip()
    if first == "*":
        return os.cpu_count() or 1
    return int(first) if first.isdigit() else 1


def session(settings: SparkSettings, tmp_dir: str | None = None,
            input_bytes: int | None = None) -> Any:
    """The Spark session, quiet, bound to loopback when the master is local. PySpark allows
    one per process: it is started once, its scratch space in a temporary directory under
    ``tmp_dir``, and stopped (the directory removed) when the process ends.
    ``input_bytes``, the size of the run's local inputs when known, tunes the driver's JVM
    (:func:`_driver_jvm`)."""
    if "spark" in _started:
        return _started["spark"]
    import_pyspark()
    if _java_missing():
        raise SparkUnavailable("--engine spark needs a Java 17 runtime: install one (apt "
                               "install openjdk-17-jre-headless) or set JAVA_HOME")
    from pyspark.sql import SparkSession

    # Under spark-submit the driver's JVM is already up, with the submission's master.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    master = settings.master or (None if submitted else DEFAULT_MASTER)
    local = master is not None and master.startswith("local")
    scratch = LiveTempDir(tmp_dir)
    if local:
        # Executors of a local master are this machine's Python: the one running neardup.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    logging = Path(__file__).with_name("log4j2.properties").as_uri()
    builder = SparkSession.builder
    if master is not None:
        builder = builder.master(master)
    builder = (builder.appName("neardup")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.local.dir", scratch.path)
               # A plan's text is kept for the UI; a run's plans nest its persisted stages,
               # and their text in full would fill the driver's heap.
               .config("spark.sql.maxPlanStringLength", "65536")
               # Local files without Hadoop's .crc files beside each: outputs hold what
               # the local engine writes, and nothing else.
               .config("spark.hadoop.fs.file.impl", "org.apache.hadoop.fs.RawLocalFileSystem")
               .config("spark.driver.extraJavaOptions",
                       " ".join([f"-Dlog4j2.configurationFile={logging}",
                                 *_driver_jvm(master, local, input_bytes)])))
    if local:
        builder = (builder.config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
    for key, value in settings.conf:
        builder = builder.config(key, value)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    try:
        if not submitted:
            _quiet_gateway(builder)
        spark = builder.getOrCreate()
    except Exception as err:  # noqa: BLE001 - PySpark raises several kinds when Java fails
        scratch.close()
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SparkUnavailable(f"Spark did not start ({first}); check the Java 17 runtime "
                               "(java -version) and --master") from None
    # Errors reach the user as one line (job_failure); Spark's own log of them, and of
    # task failures it recovers from, only with NEARDUP_DEBUG.
    spark.sparkContext.setLogLevel("ERROR" if os.environ.get("NEARDUP_DEBUG") else "FATAL")
    _started["spark"] = spark
    _started["scratch"] = scratch.path

    def stop() -> None:
        _stopping.set()
        spark.stop()
        scratch.close()

    atexit.register(stop)
    return spark


class StageFiles:
    """Where a run keeps what one stage hands the next: Parquet files, read back as new
    DataFrames. Each stage then starts from a short plan (a plan that carried the run's
    whole lineage would take longer to plan than to run, and its text would fill the
    driver's heap), and what a lost executor held is still on disk. They go under
    ``spark.checkpoint.dir`` when it is set (give a path every executor reaches, on
    ``hdfs://`` or ``s3a://``, on a cluster of several machines), else under the
    session's scratch directory on this machine; :meth:`close` removes them."""

    def __init__(self, spark: Any) -> None:
        import uuid

        self.spark = spark
        base = spark.conf.get("spark.checkpoint.dir", None)
        if not base:
            base = Path(_started["scratch"], "stages").as_uri()
        self.root = f"{base.rstrip('/')}/neardup-{uuid.uuid4().hex}"
        self._count = 0

    def put(self, frame: Any, name: str) -> Any:
        """``frame`` computed once, written, and read back."""
        self._count += 1
        path = f"{self.root}/{self._count:03d}-{name}"
        # Uncompressed: most of what stages hand over is hashes, which do not compress.
        frame.write.option("compression", "none").parquet(path)
        return self.spark.read.parquet(path)

    def close(self) -> None:
        jvm = self.spark.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(self.root)
        path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()).delete(path, True)


#: What the JVM prints on every start that says nothing to a neardup user (the log level
#: announcement is PySpark's shell greeting; the incubator module is Spark's vector API).
_JVM_NOISE = ("WARNING: Using incubator modules", "Setting default log level to",
              "To adjust logging level use sc.setLogLevel")


def _quiet_gateway(builder: Any) -> None:
    """Start PySpark's JVM with its standard error read by a thread that passes on all
    but :data:`_JVM_NOISE`, the lines every start prints. Uses PySpark's own launcher, as
    ``getOrCreate`` would; should it change, the JVM starts as PySpark starts it."""
    import subprocess

    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None:  # started already
        return
    try:
        conf = SparkConf(loadDefaults=False)
        for key, value in builder._options.items():
            conf.set(key, value)
        gateway = launch_gateway(conf, popen_kwargs={"stderr": subprocess.PIPE})
        SparkContext._ensure_initialized(gateway=gateway, conf=conf)
    except (AttributeError, TypeError):
        return
    threading.Thread(target=_pass_on, args=(gateway.proc.stderr,), daemon=True).start()


#: Set when the session is being stopped, the run's output complete: from then on the
#: JVM's standard error is Spark's shutdown races (a future completed into a pool already
#: shut down prints a RejectedExecutionException and its stack, as in SPARK-47121), which
#: say nothing about the run, so they are not passed on.
_stopping = threading.Event()


def _pass_on(stream: Any) -> None:
    for line in iter(stream.readline, b""):
        text = line.decode("utf-8", "replace")
        if not _stopping.is_set() and not text.startswith(_JVM_NOISE):
            sys.stderr.write(text)
            sys.stderr.flush()


class StageProgress:
    """Spark's running stages on standard error while a run lasts (terminal only): the
    step, and its stages' finished and total tasks. The step also names the jobs Spark
    runs for it (their description in Spark's UI and event log)."""

    def __init__(self, spark: Any, enabled: bool) -> None:
        self.spark, self.enabled = spark, enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._step = ""

    @property
    def step(self) -> str:
        return self._step

    @step.setter
    def step(self, name: str) -> None:
        self._step = name
        self.spark.sparkContext.setJobDescription(f"neardup: {name}")

    def __enter__(self) -> StageProgress:
        if self.enabled:
            self._thread = threading.Thread(target=self._draw, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            sys.stderr.write("\r\x1b[K")

    def _draw(self) -> None:
        tracker = self.spark.sparkContext.statusTracker()
        while not self._stop.wait(0.5):
            shown = []
            for stage_id in tracker.getActiveStageIds():
                info = tracker.getStageInfo(stage_id)
                if info is not None:
                    shown.append(f"stage {stage_id}: {info.numCompletedTasks}/"
                                 f"{info.numTasks} tasks")
            sys.stderr.write(f"\r\x1b[Kspark {self.step}: " + (", ".join(shown) or "planning"))
            sys.stderr.flush()
