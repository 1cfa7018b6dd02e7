"""Reports domain: the management reports, rendered from the published warehouse.

Monthly reports are partitioned by month (the same partitions as ingest and models);
weekly reports by ISO week. Schedules (on by default) render last week's report on
Mondays and last month's on the 2nd (after the monthly retraining on the 1st).
"""

import dagster as dg

from dagster_project.defs.ingest import MONTHLY
from dagster_project.defs.warehouse import published_warehouse
from dagster_project.resources import CrmwResource

WEEKLY = dg.WeeklyPartitionsDefinition(start_date="2023-01-02", day_offset=1, fmt="%Y-%m-%d")


@dg.asset(
    deps=[published_warehouse],
    partitions_def=MONTHLY,
    # a month per run, like the model assets it follows in score_and_publish
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    group_name="reports",
    kinds={"html", "pdf"},
    description="Monthly management report (HTML and PDF) in CRMW_HOME/reports/<YYYY-MM>/.",
)
def monthly_report(context: dg.AssetExecutionContext, crmw: CrmwResource) -> dg.MaterializeResult:
    from reports.render import render_report

    result = render_report(crmw.settings(), context.partition_key, "monthly")
    metadata = {
        "html": dg.MetadataValue.path(str(result["html"])),
        "sections": dg.MetadataValue.json(result.get("sections", {})),
    }
    if result.get("pdf"):
        metadata |= {"pdf": dg.MetadataValue.path(str(result["pdf"])), "pdf_pages": result["pdf_pages"]}
    else:
        metadata["pdf"] = result.get("pdf_skipped", "not asked for")
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    deps=[published_warehouse],
    partitions_def=WEEKLY,
    group_name="reports",
    kinds={"html", "pdf"},
    description="Weekly management report (HTML and PDF) in CRMW_HOME/reports/<YYYY-Www>/.",
)
def weekly_report(context: dg.AssetExecutionContext, crmw: CrmwResource) -> dg.MaterializeResult:
    from datetime import date

    from reports.render import render_report

    year, week, _ = date.fromisoformat(context.partition_key).isocalendar()
    result = render_report(crmw.settings(), f"{year}-W{week:02d}", "weekly")
    return dg.MaterializeResult(metadata={"html": dg.MetadataValue.path(str(result["html"]))})


monthly_report_job = dg.define_asset_job("render_monthly_report", selection=[monthly_report])
weekly_report_job = dg.define_asset_job("render_weekly_report", selection=[weekly_report])

defs = dg.Definitions(
    assets=[monthly_report, weekly_report],
    jobs=[monthly_report_job, weekly_report_job],
    schedules=[
        dg.build_schedule_from_partitioned_job(
            monthly_report_job, hour_of_day=7, day_of_month=2, default_status=dg.DefaultScheduleStatus.RUNNING
        ),
        dg.build_schedule_from_partitioned_job(
            weekly_report_job, hour_of_day=7, default_status=dg.DefaultScheduleStatus.RUNNING
        ),
    ],
)
