"""Running the Dagster graph from the command line: run, backfill, status, ui.

DAGSTER_HOME is CRMW_HOME/dagster, so runs started here show in `crmw ui`. Its
dagster.yaml caps every concurrency pool at one slot: the assets that write the
warehouse share the pool `duckdb_writer`, so two runs never write at once.
`crmw ui` runs `dagster dev`: the webserver and the daemon (schedules, sensors, the run
queue, backfills, freshness) in one process group, bound to 127.0.0.1 by default.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from warehouse.settings import Settings

log = logging.getLogger(__name__)

DAGSTER_YAML_HEADER = "# Written by crmw."
DAGSTER_YAML = f"""\
{DAGSTER_YAML_HEADER} Every concurrency pool (the warehouse writers share `duckdb_writer`)
# runs one step at a time: DuckDB allows one writing process. Runs wait in the daemon's
# queue; two at a time is what two cores and one writer make use of.
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 2
telemetry:
  enabled: false
"""
# the jobs `crmw status` reports on, in the order a day runs them
STATUS_JOBS = (
    "ingest_snapshots",
    "ingest_events",
    "refresh",
    "score_and_publish",
    "score_models",
    "render_monthly_report",
    "render_weekly_report",
    "build_warehouse",
)


def dagster_home(settings: Settings) -> Path:
    home = settings.home / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    # ours unless someone edited it: a file we wrote earlier is brought up to date
    if not config.exists() or (
        config.read_text().startswith(DAGSTER_YAML_HEADER) and config.read_text() != DAGSTER_YAML
    ):
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


def check_backfill_range(start: str, end: str) -> str | None:
    """What is wrong with backfilling the months start..end (YYYY-MM), or None."""
    from dagster_project.defs.ingest import MONTHLY

    keys = MONTHLY.get_partition_keys()
    if start > end:
        return f"--from {start} is after --to {end}"
    if start < keys[0]:
        return f"months start at {keys[0]}; --from {start} is before"
    if end > keys[-1]:
        return f"the last month is {keys[-1]}; --to {end} is later"
    return None


EventListener = Callable[[object], None]


def run_everything(
    settings: Settings,
    full_refresh: bool = False,
    months: tuple[str, str] | None = None,
    log_level: str = "CRITICAL",
    score: bool = True,
    on_event: EventListener | None = None,
):
    """Materialise the whole graph in this process: ingest (the months given, or every
    month that has files) and dbt build in one run; then models as of the last month,
    the scores joined back, publish and reports in a second run (skipped with score=False).

    `on_event`, when given, receives every event of both runs as it happens (the CLI's
    progress lines). Dagster's own console logger prints at `log_level` (DEBUG with -v)."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
    from dagster._core.utils import make_new_run_id

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

    def listened(**kwargs) -> str:
        run_id = make_new_run_id()
        if on_event is not None:
            instance.add_event_listener(run_id, on_event)
        return run_id

    with log_path.open("w") as sink, contextlib.ExitStack() as stack:
        if log_level != "DEBUG":
            stack.enter_context(contextlib.redirect_stdout(sink))
        results.append(
            defs.resolve_job_def("refresh").execute_in_process(
                instance=instance,
                tags=tags,
                run_config=refresh_config,
                raise_on_error=False,
                run_id=listened(),
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
                    run_id=listened(),
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
    settings: Settings,
    start: str,
    end: str,
    log_level: str = "CRITICAL",
    score: bool = True,
    on_event: EventListener | None = None,
) -> dict:
    """Re-ingest the months start..end (YYYY-MM) in one run and rebuild what depends on them
    (models scored as of the end of the range, the scores joined back, publish, report)."""
    return run_everything(settings, months=(start, end), log_level=log_level, score=score, on_event=on_event)


def status(settings: Settings) -> dict:
    """The health view `crmw status` prints: the last run of each job (and the run in
    progress), the warehouse's health (quality.health: freshness against the data's
    calendar, the latest verdict of every check, quarantine, refused files) and the age of
    the published copy."""
    from quality.health import health
    from warehouse.connection import connect

    out: dict = {"runs": last_runs(settings), "health": None, "published": None}
    if settings.warehouse_path.exists():
        con = connect(settings.warehouse_path, read_only=True)
        try:
            out["health"] = health(con)
        finally:
            con.close()
    if settings.published_path.exists():
        modified = datetime.fromtimestamp(settings.published_path.stat().st_mtime, UTC)
        out["published"] = {
            "path": settings.published_path,
            "published_at": modified,
            "age_hours": (datetime.now(UTC) - modified).total_seconds() / 3600,
        }
    return out


def last_runs(settings: Settings) -> list[dict]:
    """The latest run of each job that has run (job, run id, status, start, seconds)."""
    import dagster as dg

    instance = _instance(settings)
    out = []
    for job in STATUS_JOBS:
        records = instance.get_run_records(filters=dg.RunsFilter(job_name=job), limit=1)
        if not records:
            continue
        record = records[0]
        run = record.dagster_run
        started, ended = record.start_time, record.end_time
        out.append(
            {
                "job": job,
                "run_id": run.run_id,
                "status": run.status.value,
                "partition": run.tags.get("dagster/partition")
                or "..".join(
                    filter(
                        None,
                        (
                            run.tags.get("dagster/asset_partition_range_start"),
                            run.tags.get("dagster/asset_partition_range_end"),
                        ),
                    )
                ),
                "started_at": datetime.fromtimestamp(started, UTC) if started else None,
                "seconds": (ended - started) if started and ended else None,
            }
        )
    return out


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 3000, verbose: bool = False) -> int:
    """Run `dagster dev` (webserver, daemon and code server) until Ctrl-C; its log goes to
    CRMW_HOME/logs/dagster.log (and the terminal with -v). Returns its exit status."""
    from crmw.console import console

    process = start_dagster(settings, host=host, port=port, log_to_terminal=verbose)
    url = f"http://{host}:{port}"
    console.print(f"Dagster on {url} (UI and daemon: schedules, sensor)", markup=False)
    console.print(f"log: {settings.logs_dir / 'dagster.log'}", markup=False)
    console.print("Ctrl-C stops it", markup=False)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return stop_dagster(process)


def start_dagster(
    settings: Settings, host: str = "127.0.0.1", port: int = 3000, log_to_terminal: bool = False
) -> subprocess.Popen:
    """Start `dagster dev` for this home in its own process group (not waiting for it to listen)."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home(settings)),
        "CRMW_HOME": str(settings.home),
        **({"CRMW_GROUND_TRUTH": str(settings.ground_truth)} if settings.ground_truth else {}),
    }
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-m",
        "dagster_project.definitions",
        "-h",
        host,
        "-p",
        str(port),
        "--log-level",
        "info" if log_to_terminal else "warning",
    ]
    sink = None if log_to_terminal else (settings.logs_dir / "dagster.log").open("ab")

    def own_group() -> None:
        # A shell's `cmd &` leaves SIGINT ignored in the child, and dagster dev maps SIGTERM onto
        # its SIGINT handler: restore the default so both stop it; a group of its own lets
        # stop_dagster reach the webserver, daemon and code server it starts.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setsid()

    try:
        return subprocess.Popen(
            command,
            env=env,
            cwd=str(Path(__file__).resolve().parents[1]),
            stdout=sink,
            stderr=subprocess.STDOUT if sink else None,
            preexec_fn=own_group,
        )
    finally:
        if sink is not None:
            sink.close()


def wait_until_listening(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    """Return once the webserver answers on `url`; raise when it exits or the time is up."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster dev exited with status {process.returncode} before listening")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"dagster dev did not answer on {url} within {timeout:.0f} s")


def stop_dagster(process: subprocess.Popen, timeout: float = 60) -> int:
    """Stop `dagster dev` as Ctrl-C does (it tells the webserver and daemon to shut down),
    then anything left in its process group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        return -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
