"""Models domain: scikit-learn jobs (models/) as assets in schema ml, partitioned by month.

A partition YYYY-MM scores as of the first day of the next month (features strictly
before it), capped at the day after the data ends. Backfilling months re-scores
them one run each; re-running a month replaces its rows (models.schema.replace_rows).
"""

from datetime import date, timedelta

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from dagster_project.defs.ingest import MONTHLY
from dagster_project.defs.warehouse import dbt_warehouse
from dagster_project.resources import WRITER_POOL, CrmwResource

ML_TABLES = (
    "client_segments",
    "churn_scores",
    "lead_scores",
    "sales_forecast",
    "next_best_actions",
    "model_runs",
)
# the run_all summary's part for each table (model_runs: the run as a whole)
JOB_OF_TABLE = {
    "client_segments": "segments",
    "churn_scores": "churn",
    "lead_scores": "leads",
    "sales_forecast": "forecast",
    "next_best_actions": "next_best_actions",
}
UPSTREAM_MARTS = (
    "fct_invoices",
    "fct_payments",
    "fct_interactions",
    "fct_deals",
    "dim_clients",
    "mart_support",
)


def _upstream() -> list[dg.AssetKey]:
    keys = []
    for model in UPSTREAM_MARTS:
        try:
            keys.append(get_asset_key_for_model([dbt_warehouse], model))
        except Exception:  # a mart renamed or not built yet: the lineage just shows less
            continue
    return keys


def as_of_for_partition(partition_key: str) -> date:
    """The as-of date of a monthly partition: the first day of the following month."""
    year, month = map(int, partition_key.split("-"))
    return date(year + month // 12, month % 12 + 1, 1)


def data_end_as_of(settings) -> date | None:
    """The day after the latest invoice, activity or web event: the newest meaningful as-of."""
    from ingest.load import open_loaded

    if not (settings.lake_url or settings.warehouse_path.exists()):
        return None
    con = open_loaded(settings)
    try:
        (end,) = con.execute(
            "select greatest(max(period_end), max(snapshot_date)) from meta.load_manifest where status = 'loaded'"
        ).fetchone()
    finally:
        con.close()
    return end + timedelta(days=1) if end else None


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["ml", t], group_name="models", kinds={"scikitlearn", "duckdb"}, deps=_upstream())
        for t in ML_TABLES
    ],
    partitions_def=MONTHLY,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    pool=WRITER_POOL,
)
def ml_scores(context: dg.AssetExecutionContext, crmw: CrmwResource):
    """Segments, churn risk, lead scores, sales forecast and next best actions as of the month's end,
    with backtests (ml.model_metrics, ml.forecast_accuracy) and a registered model per run. A model the
    data cannot support is skipped (or scored by its baseline): its asset's metadata has the status and
    the reason, as ml.model_runs does; the run goes on."""
    from models.jobs import run_all

    settings = crmw.settings()
    as_of = as_of_for_partition(context.partition_key)
    end = data_end_as_of(settings)
    if end and as_of > end:
        context.log.info(f"partition {context.partition_key}: data ends {end}, scoring as of {end}")
        as_of = end
    summary = run_all(settings, as_of=as_of)
    for table in ML_TABLES:
        part = summary.get(JOB_OF_TABLE.get(table, ""), {})
        if part.get("status") in ("skipped", "baseline"):
            context.log.warning(f"{JOB_OF_TABLE[table]} {part['status']}: {part.get('reason')}")
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["ml", table]),
            metadata={
                "as_of": str(as_of),
                **{k: v for k, v in part.items() if isinstance(v, int | float | str)},
                **{f"rows {name}": n for name, n in part.get("rows", {}).items()},
            },
        )


models_job = dg.define_asset_job("score_models", selection=dg.AssetSelection.assets(ml_scores))
monthly_retraining = dg.build_schedule_from_partitioned_job(
    models_job, hour_of_day=3, day_of_month=1, default_status=dg.DefaultScheduleStatus.RUNNING
)

defs = dg.Definitions(assets=[ml_scores], jobs=[models_job], schedules=[monthly_retraining])
