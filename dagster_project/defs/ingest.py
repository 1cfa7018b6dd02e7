"""Ingest domain: landing files into raw.* (assets), the landing sensor, the daily schedule."""

import json
from datetime import timedelta

import dagster as dg

from dagster_project.resources import WRITER_POOL, CrmwResource
from ingest.contracts import CONTRACTS
from ingest.landing import event_files_for_months, landing_files, non_event_files
from ingest.load import BatchResult, ingest_paths

EVENT_ENTITIES = sorted(e for e, c in CONTRACTS.items() if c.kind == "event")
SNAPSHOT_ENTITIES = sorted(e for e, c in CONTRACTS.items() if c.kind == "snapshot")
MONTHLY = dg.MonthlyPartitionsDefinition(start_date="2023-01", fmt="%Y-%m", end_offset=1)


def raw_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", entity])


def _spec(entity: str) -> dg.AssetSpec:
    contract = CONTRACTS[entity]
    return dg.AssetSpec(
        raw_key(entity),
        group_name="ingest",
        description=f"{contract.description} ({contract.source}; {contract.grain}).",
        kinds={"duckdb"},
        skippable=True,
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
    batch = ingest_paths(
        non_event_files(settings.landing_dir), settings.warehouse_path, landing=settings.landing_dir
    )
    yield from _results(context, batch)


@dg.multi_asset(
    specs=[_spec(e) for e in EVENT_ENTITIES],
    partitions_def=MONTHLY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    pool=WRITER_POOL,
)
def raw_events(context: dg.AssetExecutionContext, crmw: CrmwResource):
    """Event exports of the partition's months (files named <entity>__YYYY-MM...).

    Re-running a month reloads its files and replaces their rows: idempotent.
    """
    settings = crmw.settings()
    months = set(context.partition_keys)
    files = event_files_for_months(settings.landing_dir, months)
    context.log.info(f"{len(files)} event files for {len(months)} month(s)")
    batch = ingest_paths(files, settings.warehouse_path, force=True, landing=settings.landing_dir)
    yield from _results(context, batch)


@dg.asset_check(asset=raw_key("invoices"), blocking=False, description="Every landing file could be read.")
def landing_files_are_all_readable(crmw: CrmwResource) -> dg.AssetCheckResult:
    from warehouse.connection import connect

    settings = crmw.settings()
    con = connect(settings.warehouse_path, read_only=True)
    try:
        refused = con.execute(
            "select file_path, reason from meta.refused_files r where not exists "
            "(select 1 from meta.load_manifest m where m.file_path = r.file_path and m.loaded_at > r.refused_at)"
        ).fetchall()
    finally:
        con.close()
    return dg.AssetCheckResult(
        passed=not refused,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"refused_files": len(refused), "examples": "\n".join(r[1] for r in refused[:5])},
    )


# How stale each source may be, shown in the UI (asset checks, evaluated hourly by the
# sensor): snapshot exports are re-sent at least monthly; a month's event exports are due
# by the 5th of the next month.
snapshot_freshness = dg.build_last_update_freshness_checks(
    assets=[raw_snapshots], lower_bound_delta=timedelta(days=35)
)
event_freshness = dg.build_time_partition_freshness_checks(assets=[raw_events], deadline_cron="0 6 5 * *")
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=[*snapshot_freshness, *event_freshness], minimum_interval_seconds=3600
)

ingest_snapshots_job = dg.define_asset_job(
    "ingest_snapshots", selection=dg.AssetSelection.assets(raw_snapshots)
)
ingest_events_job = dg.define_asset_job("ingest_events", selection=dg.AssetSelection.assets(raw_events))


@dg.sensor(jobs=[ingest_snapshots_job, ingest_events_job], minimum_interval_seconds=60)
def landing_sensor(context: dg.SensorEvaluationContext, crmw: CrmwResource):
    """Starts ingest for files that appeared or changed in the landing folder."""
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
    if snapshots:
        yield dg.RunRequest(
            run_key=f"snapshots-{len(now)}-{hash(frozenset(now.items()))}", job_name="ingest_snapshots"
        )
    for month in sorted(m for m in months if m in set(MONTHLY.get_partition_keys())):
        yield dg.RunRequest(
            run_key=f"events-{month}-{hash(frozenset(now.items()))}",
            job_name="ingest_events",
            partition_key=month,
        )
    context.update_cursor(json.dumps(now))


defs = dg.Definitions(
    assets=[raw_snapshots, raw_events],
    asset_checks=[landing_files_are_all_readable, *snapshot_freshness, *event_freshness],
    jobs=[ingest_snapshots_job, ingest_events_job],
    sensors=[landing_sensor, freshness_sensor],
)
