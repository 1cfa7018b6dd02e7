"""Campaign ROI: what the campaigns of the last 12 months cost and the won revenue
credited to them (mart_campaign_performance, linear attribution; first and last touch
alongside). A month holds too few campaigns to judge, so the window is the 12 months
up to the period end, compared with the same window ending a period and a year earlier.
"""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.formatting import fmt_int, fmt_pct, fmt_rub
from reports.model import Context, Metric, Section, Table, report_section
from reports.sections.common import shorten, trailing_12m

CAMPAIGNS_SQL = """
select
    campaign_id, campaign_name, campaign_type, office_code, start_date, end_date,
    cast(cost_rub as double) as cost_rub,
    touches, responses, leads_created, deals_influenced,
    first_touch_revenue_rub, last_touch_revenue_rub, linear_revenue_rub, linear_roi,
    attribution_window_days
from marts.mart_campaign_performance
where start_date > $from and start_date <= $last
"""


def _totals(frame: pd.DataFrame) -> dict:
    cost = frame["cost_rub"].sum()
    revenue = frame["linear_revenue_rub"].sum()
    return {
        "campaigns": len(frame),
        "cost_rub": cost,
        "linear_revenue_rub": revenue,
        "roi": (revenue - cost) / cost if cost else None,
        "leads_created": frame["leads_created"].sum(),
    }


@report_section("campaigns", "Campaign ROI")
def campaign_roi(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.mart_campaign_performance")
    frames = {p: ctx.source.df(CAMPAIGNS_SQL, trailing_12m(p)) for p in ctx.comparisons}
    cur, prev, year = (_totals(frames[p]) for p in ctx.comparisons)

    def metric(label, key, unit="int", better="up", **kw):
        return Metric(label, cur[key], prev[key], year[key], unit=unit, better=better, **kw)

    section.metrics = [
        metric("Campaigns started in 12 months", "campaigns", better=None),
        metric("Their cost", "cost_rub", "rub", better=None),
        metric("Won revenue credited (linear)", "linear_revenue_rub", "rub"),
        metric("Campaign ROI (linear)", "roi", "roi", headline=True, note="(credited revenue − cost) / cost"),
        metric("Leads created", "leads_created"),
    ]
    frame = frames[ctx.period].sort_values("cost_rub", ascending=False)
    if frame.empty:
        section.summary = f"No campaign started in the 12 months to {ctx.period.last_day:%d %b %Y}."
    else:
        section.chart_title = "Cost and credited won revenue per campaign"
        section.chart_svg = _chart(frame.head(10))
        best = frame.sort_values("linear_roi", ascending=False).iloc[0]
        section.summary = (
            f"{len(frame)} campaigns started in the 12 months to {ctx.period.last_day:%d %b %Y}, costing "
            f"{fmt_rub(cur['cost_rub'])}; won deals credited to them (linear attribution) bring "
            f"{fmt_rub(cur['linear_revenue_rub'])}, an ROI of {fmt_pct(cur['roi'], 0)}. "
            f"Best return: {shorten(best['campaign_name'], 60)} (ROI {fmt_pct(best['linear_roi'], 0)})."
        )
    section.tables.append(
        Table(
            title="Campaigns started in the last 12 months",
            columns=[
                "Campaign",
                "Type",
                "Start",
                "Cost",
                "Leads",
                "Won deals",
                "Credited revenue (linear)",
                "First touch",
                "Last touch",
                "ROI",
            ],
            rows=[
                [
                    r["campaign_name"],
                    r["campaign_type"] or "–",
                    f"{pd.Timestamp(r['start_date']):%d %b %Y}",
                    fmt_rub(r["cost_rub"]),
                    fmt_int(r["leads_created"]),
                    fmt_int(r["deals_influenced"]),
                    fmt_rub(r["linear_revenue_rub"]),
                    fmt_rub(r["first_touch_revenue_rub"]),
                    fmt_rub(r["last_touch_revenue_rub"]),
                    fmt_pct(r["linear_roi"], 0),
                ]
                for r in frame.head(12).to_dict("records")
            ],
            align=["l", "l", "l", "r", "r", "r", "r", "r", "r", "r"],
            clip={0: "26%"},
            empty_text="no campaigns",
        )
    )
    window_days = int(frame["attribution_window_days"].iloc[0]) if not frame.empty else 90
    section.notes.append(
        f"Won deals are credited to campaigns that touched the client in the {window_days} days before the "
        "win; linear attribution splits each deal over those touches. Credit counts every win up to the "
        "warehouse's as-of date, so campaigns of the last few months are still collecting theirs."
    )


@charts.styled
def _chart(frame: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure((9.2, 3.6))
    y = list(range(len(frame)))
    height = 0.38
    ax.barh(
        [i - height / 2 for i in y],
        frame["cost_rub"],
        height=height,
        color=charts.COLORS["previous"],
        label="cost",
    )
    ax.barh(
        [i + height / 2 for i in y],
        frame["linear_revenue_rub"].astype(float),
        height=height,
        color=charts.COLORS["actual"],
        label="won revenue credited (linear)",
    )
    ax.set_yticks(y, [shorten(n, 42) for n in frame["campaign_name"]])
    ax.invert_yaxis()
    charts.rub_axis(ax, "x")
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    ax.set_title("Campaigns of the last 12 months, by cost")
    return charts.to_svg(fig, title="Campaign cost and credited revenue")
