"""The Dagster code location: one Definitions merged from the domain modules.

On by default (the daemon runs them as soon as `crmw ui` starts it): the landing sensor,
the daily refresh, the monthly retraining and the monthly and weekly reports.
"""

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
# partitioned by month like the model assets it runs (Dagster infers it from them)
score_and_publish_job = dg.define_asset_job(
    "score_and_publish", selection=_scoring.downstream(include_self=True) - _weekly
)


@dg.schedule(
    job=refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
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
        # Steps run one after another in the run's own process: the warehouse writers are
        # serial anyway (one DuckDB writer), and a subprocess per step would import the whole
        # code location again for each (seconds apiece on two cores).
        executor=dg.in_process_executor,
    ),
)
