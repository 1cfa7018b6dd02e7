"""Ingest domain: landing files into raw.* (assets) and the landing sensor (on by default).

Freshness: each raw asset carries a Dagster FreshnessPolicy, evaluated by the daemon: it
says whether the loads happen on time (snapshot exports are re-sent at least monthly; a
month's event exports are due by the 5th of the next month). Whether the data reaches
its own calendar (an export whose latest month is complete is fresh, whatever the date
today) is a data-quality check (quality/health.py), shown by `crmw status` and the report.
"""

import hashlib
import json
from datetime import timedelta

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG as PARTITION_RANGE_END,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_START_TAG as PARTITION_RANGE_START,
)

from dagster_project.resources import WRITER_POOL, CrmwResource
from ingest.contracts import CONTRACTS
from ingest.landing import event_files_for_months, landing_files, non_event_files
from ingest.load import BatchResult, ingest_into

EVENT_ENTITIES = sorted(e for e, c in CONTRACTS.items() if c.kind == "event")
SNAPSHOT_ENTITIES = sorted(e for e, c in CONTRACTS.items() if c.kind == "snapshot")
MONTHLY = dg.MonthlyPartitionsDefinition(start_date="2023-01", fmt="%Y-%m", end_offset=1)


def raw_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", entity])


# Snapshot exports are re-sent at least monthly; warn after a month without a load.
SNAPSHOT_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=35), warn_window=timedelta(days=31)
)
# A month's event exports are due by the 5th of the next month, 06:00 UTC.
EVENT_FRESHNESS = dg.FreshnessPolicy.cron(deadline_cron="0 6 5 * *", lower_bound_delta=timedelta(days=28))
# The sensor looks at the landing folder this often (a look is a directory listing: cheap).
LANDING_SENSOR_SECONDS = 30


def _spec(entity: str) -> dg.AssetSpec:
    contract = CONTRACTS[entity]
    return dg.AssetSpec(
        raw_key(entity),
        group_name="ingest",
        description=f"{contract.description} ({contract.source}; {contract.grain}).",
        kinds={"duckdb"},
        skippable=True,
        freshness_policy=EVENT_FRESHNESS if contract.kind == "event" else SNAPSHOT_FRESHNESS,
    )


def _results(context: dg.AssetExecutionContext, batch: BatchResult):
    for entity in sorted(k.path[-1] for k in context.selected_asset_keys):
        files = [f for f in batch.files if f.entity == entity]
        yield dg.MaterializeResult(
            asset_key=raw_key(entity),
            metadata={
                "files_loaded": sum(f.status == "loaded" for f in files),
                "rows_loaded": sum(f.rows_loaded for f in files),
                "rows_quarantined": sum(f.rows_quarantined for f in files),
                "batch_id": batch.batch_id,
            },
        )
    for refused in batch.refused:
        context.log.error(f"refused: {refused.message}")


@dg.multi_asset(specs=[_spec(e) for e in SNAPSHOT_ENTITIES], can_subset=True, pool=WRITER_POOL)
def raw_snapshots(context: dg.AssetExecutionContext, crmw: CrmwResource):
    """Every full-snapshot export in the landing folder not loaded before (load once, by content)."""
    settings = crmw.settings()
    batch = ingest_into(settings, non_event_files(settings.landing_dir), landing=settings.landing_dir)
    yield from _results(context, batch)


class EventIngestConfig(dg.Config):
    reload: bool = True
    """Reload every file of the months, replacing their rows (a backfill, a re-run). False loads only
    the files whose content was not loaded before: what the landing sensor asks for."""


@dg.multi_asset(
    specs=[_spec(e) for e in EVENT_ENTITIES],
    partitions_def=MONTHLY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    pool=WRITER_POOL,
)
def raw_events(context: dg.AssetExecutionContext, crmw: CrmwResource, config: EventIngestConfig):
    """Event exports of the partition's months (files named <entity>__YYYY-MM...).

    Re-running a month reloads its files and replaces their rows: idempotent.
    """
    settings = crmw.settings()
    months = set(context.partition_keys)
    files = event_files_for_months(settings.landing_dir, months)
    context.log.info(f"{len(files)} event files for {len(months)} month(s)")
    batch = ingest_into(settings, files, force=config.reload, landing=settings.landing_dir)
    yield from _results(context, batch)


@dg.asset_check(asset=raw_key("invoices"), blocking=False, description="Every landing file could be read.")
def landing_files_are_all_readable(crmw: CrmwResource) -> dg.AssetCheckResult:
    from ingest.load import open_loaded
    from quality.health import unreadable_files

    con = open_loaded(crmw.settings())
    try:
        refused = unreadable_files(con)  # what `crmw status` counts too
    finally:
        con.close()
    return dg.AssetCheckResult(
        passed=not refused,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"refused_files": len(refused), "examples": "\n".join(r[1] for r in refused[:5])},
    )


ingest_snapshots_job = dg.define_asset_job(
    "ingest_snapshots", selection=dg.AssetSelection.assets(raw_snapshots)
)
ingest_events_job = dg.define_asset_job("ingest_events", selection=dg.AssetSelection.assets(raw_events))


@dg.sensor(
    jobs=[ingest_snapshots_job, ingest_events_job],
    minimum_interval_seconds=LANDING_SENSOR_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext, crmw: CrmwResource):
    """Starts ingest for files that appeared or changed in the landing folder (on by default).

    One run for the snapshots and one for the event months (a partition range), each loading
    only files whose content was not loaded before: on its first look at a landing folder
    that `crmw run` already loaded, the sensor's runs load nothing twice."""
    seen = json.loads(context.cursor) if context.cursor else {}
    now, months, snapshots = {}, set(), False
    for f in landing_files(crmw.settings().landing_dir):
        stat = f.path.stat()
        stamp = f"{stat.st_mtime_ns}:{stat.st_size}"
        now[str(f.path)] = stamp
        if seen.get(str(f.path)) == stamp:
            continue
        if f.kind == "event":
            months.add(f.month)
        else:
            snapshots = True
    # the run key names what the folder held, stably across processes (str hashes are salted)
    state = hashlib.sha256(json.dumps(now, sort_keys=True).encode()).hexdigest()[:16]
    if snapshots:
        yield dg.RunRequest(run_key=f"snapshots-{state}", job_name="ingest_snapshots")
    new_months = sorted(months & set(MONTHLY.get_partition_keys()))
    if new_months:
        yield dg.RunRequest(
            run_key=f"events-{state}",
            job_name="ingest_events",
            run_config={"ops": {"raw_events": {"config": {"reload": False}}}},
            tags={PARTITION_RANGE_START: new_months[0], PARTITION_RANGE_END: new_months[-1]},
        )
    context.update_cursor(json.dumps(now))


defs = dg.Definitions(
    assets=[raw_snapshots, raw_events],
    asset_checks=[landing_files_are_all_readable],
    jobs=[ingest_snapshots_job, ingest_events_job],
    sensors=[landing_sensor],
)
