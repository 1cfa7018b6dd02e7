"""Running the Dagster graph from the command line: run, backfill, status, ui.

DAGSTER_HOME is CRMW_HOME/dagster, so runs started here show in `crmw ui`. Its
dagster.yaml caps every concurrency pool at one slot: the assets that write the
warehouse share the pool `duckdb_writer`, so two runs never write at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path

from warehouse.settings import Settings

log = logging.getLogger(__name__)

DAGSTER_YAML = """\
# Written by crmw. Every concurrency pool (the warehouse writers share `duckdb_writer`)
# runs one step at a time: DuckDB allows one writing process.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def dagster_home(settings: Settings) -> Path:
    home = settings.home / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def _instance(settings: Settings):
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home(settings))
    os.environ["CRMW_HOME"] = str(settings.home)
    return dg.DagsterInstance.get()


def _months_with_event_files(settings: Settings) -> list[str]:
    from ingest.landing import landing_files

    return sorted({f.month for f in landing_files(settings.landing_dir) if f.kind == "event" and f.month})


def run_everything(
    settings: Settings,
    full_refresh: bool = False,
    months: tuple[str, str] | None = None,
    log_level: str = "WARNING",
    score: bool = True,
):
    """Materialise the whole graph in this process: ingest (the months given, or every
    month that has files) and dbt build in one run; then models as of the last month,
    the scores joined back, publish and reports in a second run (skipped with score=False)."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from dagster_project.definitions import defs
    from dagster_project.defs.ingest import MONTHLY

    instance = _instance(settings)
    if months is None:
        present = _months_with_event_files(settings)
        valid = set(MONTHLY.get_partition_keys())
        present = [m for m in present if m in valid]
        months = (present[0], present[-1]) if present else (MONTHLY.get_last_partition_key(),) * 2
    loggers = {"console": {"config": {"log_level": log_level}}}
    refresh_config = {
        "ops": {"dbt_warehouse": {"config": {"full_refresh": full_refresh}}},
        "loggers": loggers,
    }
    tags = {ASSET_PARTITION_RANGE_START_TAG: months[0], ASSET_PARTITION_RANGE_END_TAG: months[1]}
    log.info("running the whole graph for months %s..%s", *months)
    # dagster-dbt echoes every dbt event to stdout; keep the terminal readable and the
    # full log in a file (verbose mode shows it live).
    log_path = settings.home / "logs" / "last-run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with log_path.open("w") as sink, contextlib.ExitStack() as stack:
        if log_level != "DEBUG":
            stack.enter_context(contextlib.redirect_stdout(sink))
        results.append(
            defs.resolve_job_def("refresh").execute_in_process(
                instance=instance, tags=tags, run_config=refresh_config, raise_on_error=False
            )
        )
        if results[-1].success and score:
            # Models score as of the end of the last month loaded (capped at the data's end).
            results.append(
                defs.resolve_job_def("score_and_publish").execute_in_process(
                    instance=instance,
                    partition_key=months[1],
                    run_config={"loggers": loggers},
                    raise_on_error=False,
                )
            )
    log.info("run log: %s", log_path)
    result = results[-1]
    failures = [e for r in results for e in r.all_events if e.event_type_value == "STEP_FAILURE"]
    return {
        "success": all(r.success for r in results),
        "run_id": result.run_id,
        "failed_steps": [e.step_key for e in failures],
        "errors": [_error_text(e) for e in failures],
        "log": str(log_path),
    }


def _error_text(event) -> str:
    error = getattr(event.event_specific_data, "error", None)
    if error is None:
        return event.step_key or "unknown step"
    cause = error.cause.message if getattr(error, "cause", None) else ""
    return f"{event.step_key}: {error.message.strip()} {cause.strip()}".strip()[:2000]


def backfill(
    settings: Settings, start: str, end: str, log_level: str = "WARNING", score: bool = True
) -> dict:
    """Re-ingest the months start..end (YYYY-MM) in one run and rebuild what depends on them
    (models scored as of the end of the range, the scores joined back, publish, report)."""
    return run_everything(settings, months=(start, end), log_level=log_level, score=score)


def status(settings: Settings) -> dict:
    """Last run, freshness of each source, failed checks."""
    from warehouse.connection import connect

    instance = _instance(settings)
    records = instance.get_run_records(limit=1)
    last = records[0].dagster_run if records else None
    out: dict = {
        "last_run": None
        if last is None
        else {"run_id": last.run_id, "job": last.job_name, "status": last.status.value},
    }
    if settings.warehouse_path.exists():
        con = connect(settings.warehouse_path, read_only=True)
        try:
            out["sources"] = con.execute(
                "select source, entity, max(loaded_at)::varchar, max(period_end)::varchar, "
                "date_diff('day', max(loaded_at), now()::timestamp) "
                "from meta.load_manifest where status = 'loaded' group by all order by 1, 2"
            ).fetchall()
            out["refused_files"] = con.execute("select count(*) from meta.refused_files").fetchone()[0]
        finally:
            con.close()
    if last is not None:
        from dagster import DagsterEventType

        checks = instance.get_records_for_run(
            last.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        out["failed_checks"] = [
            r.event_log_entry.dagster_event.event_specific_data.check_name
            for r in checks
            if not r.event_log_entry.dagster_event.event_specific_data.passed
        ]
    return out


def ui(settings: Settings, host: str = "127.0.0.1", port: int = 3000) -> int:
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home(settings)), "CRMW_HOME": str(settings.home)}
    cmd = [
        str(Path(sys.executable).parent / "dagster-webserver"),
        "-m",
        "dagster_project.definitions",
        "-h",
        host,
        "-p",
        str(port),
    ]
    return subprocess.call(cmd, env=env)
