"""Running the dbt project (dbt/) from Python: plain functions, no Dagster.

`build_warehouse` is what `crmw build`, the demo and the tests call. It points dbt at
the settings' warehouse file (CRMW_WAREHOUSE_PATH, read by dbt/profiles.yml), runs
`dbt build` in-process with dbtRunner, and raises `WarehouseBuildError` naming each
model or test that failed, with dbt's message. Every raw table exists before the
models run (the project's on-run-start hook creates the missing ones empty, from the
contracts): every source is optional, a company with accounting only still gets
every mart.

dbt's target/ and logs/ go under CRMW_HOME/dbt/, so two homes never share them (partial
parsing included: each home parses with its own settings), and the home's ground truth, when
it has one, reaches dbt as the var `resolution_ground_truth_path`.

The engine (CRMW_ENGINE, docs/scale-out.md) picks the profile's target: DuckDB, or Spark through
dbt-spark's session method in this process (the session warehouse.spark makes, shared with the
Python steps). dbt-spark runs no Python models there, so a whole build on Spark is two dbt runs with
client resolution between them (`resolve_clients`, given by resolution.runner.build_warehouse).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.connection import connect
from warehouse.errors import WarehouseBusy, WarehouseError
from warehouse.settings import PROJECT_DIR, Settings, get_settings

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_DIR / "dbt"
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
# dbt reads the warehouse path from the environment when it renders profiles.yml;
# one dbt invocation at a time per process, as dbt itself requires.
_DBT_LOCK = threading.Lock()
# What dbt builds before client resolution where it runs outside dbt (Spark): the records it reads.
RESOLUTION_INPUTS = "+int_entity_records"


class WarehouseBuildError(WarehouseError):
    """dbt ran, and some models or tests failed. Retrying does not help: fix the model or the data."""

    retryable = False

    def __init__(self, message: str, failures: Sequence[NodeResult] = ()) -> None:
        self.failures = list(failures)
        super().__init__(message)


@dataclass(frozen=True)
class NodeResult:
    """What dbt did with one model, seed, snapshot or test."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    message: str | None
    seconds: float

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES

    def describe(self) -> str:
        text = f"{self.resource_type} {self.name}: {self.status}"
        if self.message:
            text += f": {self.message.strip()}"
        return text


@dataclass
class BuildResult:
    """The outcome of one dbt invocation."""

    command: str
    success: bool
    seconds: float
    warehouse_path: Path
    nodes: list[NodeResult] = field(default_factory=list)

    @property
    def failures(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.failed]

    @property
    def warnings(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status == "warn"]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for node in self.nodes:
            out[node.status] = out.get(node.status, 0) + 1
        return out


def dbt_args(
    command: str,
    settings: Settings,
    *,
    full_refresh: bool = False,
    select: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    vars: Mapping[str, Any] | None = None,
    threads: int | None = None,
    skip_tests: bool = False,
    log_level_file: str = "info",
    indirect_selection: str | None = None,
) -> list[str]:
    """The argument list for one dbt command (what `dbt <command> ...` would be typed with).

    dbt.log gets `log_level_file` (info: each node's start, result and errors); dbt's default, debug,
    also writes every statement (some 100,000 lines a build; about 1 s of a 13 s daily build at scale
    0.1, within the noise of a shared machine)."""
    dbt_home = settings.dbt_dir
    args = [
        command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(dbt_home / "target"),
        "--log-path",
        str(dbt_home / "logs"),
        "--log-level-file",
        log_level_file,
    ]
    if full_refresh and command in {"build", "run", "seed"}:
        args.append("--full-refresh")
    for flag, value in (("--select", select), ("--exclude", exclude)):
        if value:
            args += [flag, *([value] if isinstance(value, str) else list(value))]
    if skip_tests and command == "build":
        args += ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    vars = {**home_vars(settings), **(vars or {})}
    if indirect_selection:
        args += ["--indirect-selection", indirect_selection]
    if vars:
        args += ["--vars", json.dumps(dict(vars), default=str)]
    if threads:
        args += ["--threads", str(threads)]
    return args


def home_vars(settings: Settings) -> dict[str, str]:
    """The dbt vars a home's settings decide (today: its ground truth, when it has one)."""
    if settings.ground_truth is None:
        return {}
    return {"resolution_ground_truth_path": str(settings.ground_truth)}


def dbt_env(settings: Settings) -> dict[str, str]:
    """What dbt's profile and hooks read: the warehouse file, the home, the engine, the lake and
    DuckDB's memory limit."""
    env = {
        "CRMW_WAREHOUSE_PATH": str(settings.warehouse_path),
        "CRMW_HOME": str(settings.home),
        "CRMW_ENGINE": settings.engine,
        "CRMW_LAKE": settings.lake_url or "",
        "CRMW_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
    }
    return env


@contextlib.contextmanager
def _warehouse_env(settings: Settings) -> Iterator[None]:
    """The profile's environment (dbt_env) set for the duration of one invocation."""
    values = dbt_env(settings)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _node_results(run_result: Any) -> list[NodeResult]:
    nodes = []
    for item in getattr(run_result, "results", None) or []:
        node = item.node
        status = getattr(item.status, "value", str(item.status))
        nodes.append(
            NodeResult(
                unique_id=node.unique_id,
                name=node.name,
                resource_type=getattr(node.resource_type, "value", str(node.resource_type)),
                status=str(status).lower(),
                message=item.message,
                seconds=float(item.execution_time or 0.0),
            )
        )
    return nodes


def _release_duckdb() -> None:
    """Close the DuckDB handle dbt-duckdb keeps per process, so the file can be opened
    read-only (or by another process) once dbt is done."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing held
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def _check_lake(settings: Settings) -> None:
    lake = settings.lake_url
    if lake and "://" not in lake and not (Path(lake) / "_crmw_lake.json").exists():
        raise WarehouseError(
            f"the warehouse reads raw from the lake at {lake}, and there is none yet: "
            f"ingest into it first (crmw ingest, with CRMW_LAKE={lake}"
            + (" or CRMW_ENGINE=spark)" if settings.engine == "spark" else ")")
        )


def run_dbt(
    args: Sequence[str],
    settings: Settings,
    on_node: Callable[[str, str], None] | None = None,
    on_event: Callable[[dict], None] | None = None,
) -> tuple[bool, Any]:
    """Run one dbt command in-process against the settings' warehouse; return (success, dbt's result).

    `on_event` receives each of dbt's structured log events as a dict (what `--log-format json`
    prints; Dagster turns them into asset events); `on_node(name, status)` is called as each model,
    seed or test finishes (progress)."""
    from dbt.cli.main import dbtRunner

    def forward(event) -> None:
        # dbt's own progress lines, at debug level: `crmw -v` shows them
        if event.info.level in ("info", "warn", "error"):
            log.debug("dbt: %s", event.info.msg)
        if on_node is not None and event.info.name == "NodeFinished":
            result = event.data.run_result
            on_node(event.data.node_info.node_name, str(result.status).lower())
        if on_event is not None:
            from dbt_common.events.functions import msg_to_dict

            on_event(msg_to_dict(event))

    _check_lake(settings)
    if settings.engine == "spark" and args and args[0] not in ("parse", "deps", "clean", "ls", "list"):
        from warehouse.spark import spark_session

        spark_session(settings)  # dbt-spark's session method uses this one (its settings, its jars)
    with _DBT_LOCK, _warehouse_env(settings):
        try:
            outcome = dbtRunner(callbacks=[forward]).invoke(["--quiet", "--no-use-colors", *args])
        finally:
            _release_duckdb()
    if outcome.exception is not None:
        message = str(outcome.exception)
        if "lock" in message.lower() and "conflicting" in message.lower():
            raise WarehouseBusy(settings.warehouse_path, "dbt could not open it") from outcome.exception
        raise WarehouseBuildError(f"dbt {args[0]} could not run: {message}") from outcome.exception
    return bool(outcome.success), outcome.result


def prepare_for_dbt(settings: Settings) -> None:
    """What every dbt build needs in the warehouse first: the pseudonym key (pii.pseudonym_key) the
    person_key macro reads (on Spark, in its catalog). Waits for another writer (up to the lock wait setting) rather than have
    dbt fail at once."""
    from warehouse.pseudonyms import prepare_key, prepare_key_in_tables

    if settings.engine == "spark":
        from warehouse.engine import SparkTables
        from warehouse.spark import spark_session

        prepare_key_in_tables(SparkTables(spark_session(settings)), settings)
        return
    con = connect(settings.warehouse_path)
    try:
        prepare_key(con, settings)
    finally:
        con.close()


def build_warehouse(
    settings: Settings | None = None,
    *,
    full_refresh: bool = False,
    select: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    vars: Mapping[str, Any] | None = None,
    threads: int | None = None,
    skip_tests: bool = False,
    command: str = "build",
    raise_on_failure: bool = True,
    on_node: Callable[[str, str], None] | None = None,
    resolve_clients: Callable[[Mapping[str, Any] | None], None] | None = None,
    on_event: Callable[[dict], None] | None = None,
) -> BuildResult:
    """Build the warehouse: `dbt build` (seeds, models, snapshots, tests) over the settings' DuckDB file.

    `full_refresh` rebuilds incremental models from scratch; `select`/`exclude` are dbt
    selectors; `vars` are dbt vars (e.g. {"as_of_date": "2026-03-31"}); `skip_tests` builds
    seeds and models without running data and unit tests. `command` may be "run", "test"
    or "seed" for a part of a build. Raises WarehouseBuildError naming every
    failed model and test (unless raise_on_failure is False), WarehouseBusy when another
    process is writing the file.
    """
    settings = settings or get_settings()
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    prepare_for_dbt(settings)
    options = dict(full_refresh=full_refresh, vars=vars, threads=threads, skip_tests=skip_tests)
    started = time.perf_counter()
    if settings.engine == "duckdb" or select or command != "build":
        runs = [dbt_args(command, settings, select=select, exclude=exclude, **options)]
    else:
        # dbt-spark runs no Python models: dbt up to the records, client resolution, dbt the rest
        if resolve_clients is None:
            raise WarehouseError(
                f"a whole build on {settings.engine} resolves clients outside dbt: "
                "build with resolution.runner.build_warehouse (crmw build does)"
            )
        excluded = [exclude] if isinstance(exclude, str) else list(exclude or [])
        runs = [
            dbt_args(
                command,
                settings,
                select=RESOLUTION_INPUTS,
                exclude=excluded,
                indirect_selection="cautious",
                **options,
            ),
            None,  # client resolution
            dbt_args(
                command,
                settings,
                exclude=[RESOLUTION_INPUTS, *excluded],
                indirect_selection="buildable",
                **options,
            ),
        ]
    success, nodes = True, []
    for args in runs:
        if args is None:
            resolve_clients(vars)
            continue
        success, run_result = run_dbt(args, settings, on_node=on_node, on_event=on_event)
        nodes += _node_results(run_result)
        if not success:
            break
    result = BuildResult(
        command=command,
        success=success,
        seconds=time.perf_counter() - started,
        warehouse_path=settings.warehouse_path,
        nodes=nodes,
    )
    log.info(
        "dbt %s %s in %.1fs: %s",
        command,
        "succeeded" if success else "failed",
        result.seconds,
        ", ".join(f"{n} {status}" for status, n in sorted(result.counts().items())) or "nothing selected",
    )
    if not success and raise_on_failure:
        failures = result.failures
        lines = "\n".join(f"  - {f.describe()}" for f in failures) or "  (no node failed: see the dbt log)"
        raise WarehouseBuildError(
            f"dbt {command} failed on {settings.warehouse_path}: {len(failures)} model(s)/test(s) failed:\n"
            f"{lines}\nlogs: {settings.home / 'dbt' / 'logs' / 'dbt.log'}",
            failures,
        )
    return result


def generate_docs(settings: Settings | None = None) -> Path:
    """`dbt docs generate --static`; returns the folder holding index.html, manifest.json and
    catalog.json, and static_index.html (all three in one page that opens offline from the file)."""
    settings = settings or get_settings()
    prepare_for_dbt(settings)
    args = dbt_args("docs", settings)
    # the build's manifest is reused when the home has one; a home whose dbt/target is gone (or a
    # warehouse copied in from elsewhere) gets its project compiled first
    reuse = ["--no-compile"] if (settings.dbt_dir / "target" / "manifest.json").exists() else []
    args = [args[0], "generate", "--static", *reuse, *args[1:]]
    success, _ = run_dbt(args, settings)
    if not success:
        raise WarehouseBuildError(f"dbt docs generate failed on {settings.warehouse_path}; see the dbt log")
    return settings.home / "dbt" / "target"
