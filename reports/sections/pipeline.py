"""Pipeline, win rate and cycle time, from the deals (fct_deals) as they stood at the
end of each period: stage on a day is the furthest stage entered before it."""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.formatting import fmt_pct, fmt_rub
from reports.model import Context, Metric, Section, Table, report_section
from reports.sections.common import window

STAGES = ("qualification", "proposal", "negotiation")

FLOW_SQL = """
select
    count(case when created_at >= $start and created_at < $end then 1 end) as deals_opened,
    count(case when won_at >= $start and won_at < $end then 1 end) as deals_won,
    count(case when lost_at >= $start and lost_at < $end then 1 end) as deals_lost,
    coalesce(sum(case when won_at >= $start and won_at < $end then amount_rub end), 0) as won_amount_rub,
    median(case when won_at >= $start and won_at < $end then days_created_to_won end) as median_days_to_won,
    count(case when created_at < $end and (closed_at is null or closed_at >= $end) then 1 end) as open_deals,
    coalesce(sum(case when created_at < $end and (closed_at is null or closed_at >= $end)
        then amount_rub end), 0) as open_amount_rub
from marts.fct_deals
"""

STAGE_SQL = """
select
    case
        when negotiation_at < $end then 'negotiation'
        when proposal_at < $end then 'proposal'
        else 'qualification'
    end as stage,
    count(*) as deals,
    coalesce(sum(amount_rub), 0) as amount_rub
from marts.fct_deals
where created_at < $end and (closed_at is null or closed_at >= $end)
group by 1
"""

MANAGER_SQL = """
select
    coalesce(manager_id, 'unassigned') as manager_id,
    count(case when won_at >= $start and won_at < $end then 1 end) as won,
    count(case when lost_at >= $start and lost_at < $end then 1 end) as lost,
    coalesce(sum(case when won_at >= $start and won_at < $end then amount_rub end), 0) as won_amount_rub,
    count(case when created_at < $end and (closed_at is null or closed_at >= $end) then 1 end) as open_deals,
    coalesce(sum(case when created_at < $end and (closed_at is null or closed_at >= $end)
        then amount_rub end), 0) as open_amount_rub
from marts.fct_deals
group by 1
having won + lost + open_deals > 0
order by won_amount_rub desc, open_amount_rub desc
limit 8
"""


def _flow(ctx: Context, period) -> dict:
    row = ctx.source.row(FLOW_SQL, window(period))
    closed = (row["deals_won"] or 0) + (row["deals_lost"] or 0)
    row["win_rate"] = row["deals_won"] / closed if closed else None
    return row


def _stages(ctx: Context, period) -> pd.Series:
    frame = ctx.source.df(STAGE_SQL, {"end": period.end}).set_index("stage")
    return frame["amount_rub"].reindex(list(STAGES)).fillna(0).astype(float)


@report_section("pipeline", "Pipeline, win rate and cycle time")
def pipeline(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.fct_deals")
    cur, prev, year = (_flow(ctx, p) for p in ctx.comparisons)

    def metric(label, key, unit="int", better="up", **kw):
        return Metric(label, cur[key], prev[key], year[key], unit=unit, better=better, **kw)

    section.metrics = [
        metric("Won amount", "won_amount_rub", "rub", headline=True),
        metric("Deals won", "deals_won"),
        metric("Win rate", "win_rate", "pct", headline=True, note="won / (won + lost) among deals closed"),
        metric("Median days to win", "median_days_to_won", "days", better="down"),
        metric("Deals opened", "deals_opened"),
        metric("Open pipeline at period end", "open_amount_rub", "rub", note=f"{cur['open_deals']:,} deals"),
    ]

    trend = ctx.period.trailing(ctx.trend_length)
    flows = pd.DataFrame([{"period": p, **_flow(ctx, p)} for p in trend])
    stages = pd.DataFrame({p: _stages(ctx, p) for p in ctx.comparisons}).T
    section.chart_title = "Won amount and open pipeline by stage"
    section.chart_svg = _chart(ctx, flows, stages)

    managers = ctx.source.df(MANAGER_SQL, window(ctx.period))
    section.tables.append(
        Table(
            title=f"By deal owner, {ctx.period.label}",
            columns=["Manager", "Won", "Lost", "Win rate", "Won amount", "Open deals", "Open amount"],
            rows=[
                [
                    r["manager_id"],
                    f"{r['won']:,}",
                    f"{r['lost']:,}",
                    fmt_pct(r["won"] / (r["won"] + r["lost"]) if r["won"] + r["lost"] else None),
                    fmt_rub(r["won_amount_rub"]),
                    f"{r['open_deals']:,}",
                    fmt_rub(r["open_amount_rub"]),
                ]
                for r in managers.to_dict("records")
            ],
        )
    )
    section.summary = (
        f"{cur['deals_won']:,} deals won for {fmt_rub(cur['won_amount_rub'])} "
        f"(win rate {fmt_pct(cur['win_rate'])} against {fmt_pct(prev['win_rate'])} the period before); "
        f"{cur['open_deals']:,} deals worth {fmt_rub(cur['open_amount_rub'])} were open at the end of the period."
    )
    section.notes.append(
        "A deal counts in the period it was won or lost (won_at, lost_at); cycle time is days from "
        "opening to the win. Managers are shown by CRM user id."
    )


@charts.styled
def _chart(ctx: Context, flows: pd.DataFrame, stages: pd.DataFrame) -> str:
    fig, (left, right) = charts.new_figure(charts.WIDE, ncols=2, width_ratios=[1.6, 1])
    x = list(range(len(flows)))
    colors = [charts.COLORS["actual"] if p == ctx.period else "#7fa7cc" for p in flows["period"]]
    left.bar(x, flows["won_amount_rub"].astype(float), color=colors, width=0.7)
    left.set_xticks(x, [p.short_label for p in flows["period"]], rotation=45, ha="right")
    charts.rub_axis(left)
    left.set_title("Won amount")

    order = list(STAGES)
    height = 0.26
    series = [
        (ctx.period, charts.COLORS["actual"], "this period end"),
        (ctx.previous, "#7fa7cc", "previous"),
        (ctx.year_ago, charts.COLORS["previous"], "a year earlier"),
    ]
    for i, (period, color, name) in enumerate(series):
        values = stages.loc[period].reindex(order).astype(float).values
        right.barh(
            [k + (i - 1) * height for k in range(len(order))], values, height=height, color=color, label=name
        )
    right.set_yticks(range(len(order)), order)
    right.invert_yaxis()
    charts.rub_axis(right, "x")
    right.tick_params(axis="x", labelrotation=30)
    right.grid(axis="x")
    right.grid(axis="y", visible=False)
    right.legend(loc="lower right", fontsize=7.5)
    right.set_title("Open pipeline by stage")
    return charts.to_svg(fig, title="Won amount and open pipeline by stage")
