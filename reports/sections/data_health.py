"""Data freshness and data quality: how far each export reaches (meta.load_manifest),
what ingest refused or quarantined, and the latest verdict of every check (suites and dbt
tests). The rules are quality.health's, the same `crmw status` and the Dagster checks use:
for the latest complete month the period end is the end of the data's calendar."""

from __future__ import annotations

from datetime import timedelta

import matplotlib.dates as mdates
import pandas as pd

from quality.health import FRESH_SLACK_DAYS, export_reach, judge_freshness, latest_checks
from reports import charts
from reports.formatting import fmt_date, fmt_datetime, fmt_int
from reports.model import Context, Metric, Section, Table, report_section

# a few days short of the period end is still fresh (quality.health, shared with `crmw status`)
STALE_DAYS = 10

LOADED_SQL = """
select
    count(*) as files,
    coalesce(sum(rows_loaded), 0) as rows_loaded,
    coalesce(sum(rows_quarantined), 0) as rows_quarantined,
    coalesce(sum(rows_flagged), 0) as rows_flagged,
    coalesce(sum(rows_read), 0) as rows_read
from meta.load_manifest
where status = 'loaded'
    and coalesce(period_start, snapshot_date) <= $last
    and coalesce(period_end, snapshot_date) >= $start
"""


def _loaded(ctx: Context, period) -> dict:
    row = ctx.source.row(LOADED_SQL, {"start": period.start, "last": period.last_day})
    row["quarantine_share"] = row["rows_quarantined"] / row["rows_read"] if row["rows_read"] else None
    return row


@report_section("data", "Data freshness and data quality")
def data_health(ctx: Context, section: Section) -> None:
    ctx.source.require("meta.load_manifest")
    fresh = judge_freshness(export_reach(ctx.source.con, until=ctx.period.last_day), ctx.period.last_day)
    stale = fresh[~fresh["is_fresh"]]
    cur, prev, year = (_loaded(ctx, p) for p in ctx.comparisons)

    section.metrics = [
        Metric(
            "Exports covering the period",
            len(fresh) - len(stale),
            unit="int",
            better="up",
            note=f"of {len(fresh)} kinds of export",
            headline=False,
        ),
        Metric("Files loaded for the period", cur["files"], prev["files"], year["files"], better=None),
        Metric("Rows loaded", cur["rows_loaded"], prev["rows_loaded"], year["rows_loaded"], better=None),
        Metric(
            "Rows quarantined",
            cur["quarantine_share"],
            prev["quarantine_share"],
            year["quarantine_share"],
            unit="pct",
            better="down",
            note=f"{fmt_int(cur['rows_quarantined'])} rows",
        ),
    ]
    if ctx.source.has("meta.refused_files"):
        refused = ctx.source.one("select count(*) from meta.refused_files")
        section.metrics.append(Metric("Files refused (all time)", refused, better="down"))

    dq_text = _quality_status(ctx, section)
    section.chart_title = "How far each export reaches"
    section.chart_svg = _chart(ctx, fresh)
    section.tables.append(
        Table(
            title=f"Exports that stop more than {FRESH_SLACK_DAYS} days before the period end",
            columns=["Source", "Export", "Files", "Data through", "Last loaded", "Days short of period end"],
            rows=[
                [
                    r["source"],
                    r["entity"],
                    fmt_int(r["files"]),
                    fmt_date(r["data_through"]),
                    fmt_datetime(r["last_loaded_at"]),
                    fmt_int(r["days_short"]),
                ]
                for r in stale.to_dict("records")
            ],
            align=["l", "l", "r", "r", "r", "r"],
            empty_text=f"none: all {len(fresh)} exports reach the period end",
        )
    )
    stale_text = (
        f"{len(stale)} of {len(fresh)} exports stop more than {FRESH_SLACK_DAYS} days before the period end "
        f"({', '.join(f'{r.source}/{r.entity}' for r in stale.itertuples())})"
        if len(stale)
        else f"every export reaches the period end (within {FRESH_SLACK_DAYS} days)"
    )
    section.summary = (
        f"{stale_text.capitalize()}; {fmt_int(cur['rows_quarantined'])} of {fmt_int(cur['rows_read'])} rows "
        f"for the period were quarantined. {dq_text}"
    )
    section.notes.append(
        "'Data through' is the last day an export covers (its period end, or its snapshot date). "
        "Quarantined rows failed the export's contract and are not in the marts (crmw quarantine lists them)."
    )


def _quality_status(ctx: Context, section: Section) -> str:
    """The checks' one-line verdict (quality.status_line) and the checks, suites and dbt tests,
    whose latest run did not pass."""
    from quality import status_line

    line = status_line(ctx.source.con)
    latest = latest_checks(ctx.source.con)
    if latest.empty:
        section.metrics.insert(
            0,
            Metric(
                "Data-quality checks",
                "not run yet",
                unit="text",
                better=None,
                headline=True,
                note="quality.run_quality records them in meta.dq_suite_runs",
            ),
        )
        return line
    failed = latest[latest["verdict"] != "passed"]
    blocking = failed[failed["verdict"] == "failed"]
    verdict = (
        f"FAILED: {len(blocking)} blocking"
        if len(blocking)
        else f"passed, {len(failed)} warning(s)"
        if len(failed)
        else "passed"
    )
    checked = pd.Timestamp(latest["checked_at"].max())
    section.metrics.insert(
        0,
        Metric(
            "Data-quality checks",
            verdict,
            unit="text",
            better=None,
            headline=True,
            note=f"{_counted(latest)}, checked {checked:%d %b %Y %H:%M} UTC",
        ),
    )
    section.tables.append(
        Table(
            title="Checks whose latest run did not pass",
            columns=["Asset", "Check", "Kind", "Verdict", "What failed"],
            rows=[
                [r["asset"], r["check_name"], r["kind"], r["verdict"], r["message"] or "–"]
                for r in failed.sort_values(["verdict", "asset"]).head(8).to_dict("records")
            ],
            align=["l", "l", "l", "l", "l"],
            clip={0: "20%", 1: "22%", 4: "40%"},
            empty_text=f"none: all {_counted(latest)} passed",
        )
    )
    return line


def _counted(checks: pd.DataFrame) -> str:
    """'210 suites and 312 dbt tests'."""
    counts = checks["kind"].value_counts()
    return " and ".join(
        f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(counts.items(), reverse=True)
    )


@charts.styled
def _chart(ctx: Context, fresh: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure((9.2, max(2.2, 0.17 * len(fresh) + 0.9)))
    labels = [f"{r.source}/{r.entity}" for r in fresh.itertuples()]
    y = list(range(len(fresh)))
    start = ctx.period.start - timedelta(days=ctx.period.days * 2)
    colors = []
    for lag in fresh["days_short"]:
        if lag is None or pd.isna(lag) or lag > STALE_DAYS:
            colors.append(charts.COLORS["bad"])
        elif lag > FRESH_SLACK_DAYS:
            colors.append(charts.COLORS["warn"])
        else:
            colors.append(charts.COLORS["good"])
    through = [pd.Timestamp(d) for d in fresh["data_through"]]
    ax.hlines(y, pd.Timestamp(start), through, color=colors, linewidth=5)
    ax.axvline(pd.Timestamp(ctx.period.start), color=charts.COLORS["previous"], linewidth=1, linestyle="--")
    ax.axvline(pd.Timestamp(ctx.period.last_day), color=charts.COLORS["text"], linewidth=1.2)
    ax.text(pd.Timestamp(ctx.period.last_day), -0.75, "period end ", fontsize=8, va="center", ha="right")
    ax.set_yticks(y, labels)
    ax.set_ylim(len(fresh) - 0.4, -1.2)
    ax.set_xlim(
        pd.Timestamp(start), pd.Timestamp(ctx.period.end + timedelta(days=max(2, ctx.period.days // 4)))
    )
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y"))
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", labelsize=7.5)
    ax.set_title("Data through (green: reaches the period end, amber: a few days short, red: stale)")
    return charts.to_svg(fig, title="Data freshness by export")
