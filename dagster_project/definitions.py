"""The Dagster code location: one Definitions merged from the domain modules."""

import dagster as dg

from dagster_project.defs import ingest, models, quality, reports, warehouse
from dagster_project.resources import CrmwResource

# What `crmw run` executes, in two runs: ingest and build over a range of months, then
# score the latest month, join the scores back, publish and report.
_scoring = dg.AssetSelection.assets(*models.defs.assets) if models.defs.assets else dg.AssetSelection.none()
_weekly = dg.AssetSelection.assets(reports.weekly_report)
refresh_job = dg.define_asset_job(
    "refresh", selection=dg.AssetSelection.all() - _scoring.downstream(include_self=True) - _weekly
)
score_and_publish_job = dg.define_asset_job(
    "score_and_publish",
    selection=_scoring.downstream(include_self=True) - _weekly,
    partitions_def=models.MONTHLY,
)


@dg.schedule(job=refresh_job, cron_schedule="0 6 * * *", execution_timezone="UTC")
def daily_refresh(context: dg.ScheduleEvaluationContext):
    """Every morning: ingest this month's and any new snapshot exports, build, check."""
    month = context.scheduled_execution_time.strftime("%Y-%m")
    return dg.RunRequest(run_key=f"daily-{context.scheduled_execution_time:%Y-%m-%d}", partition_key=month)


defs = dg.Definitions.merge(
    ingest.defs,
    warehouse.defs,
    quality.defs,
    models.defs,
    reports.defs,
    dg.Definitions(
        resources={"crmw": CrmwResource()},
        jobs=[refresh_job, score_and_publish_job],
        schedules=[daily_refresh],
    ),
)
