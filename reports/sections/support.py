"""Support backlog: tickets opened and resolved in each period, and what was still
unresolved at its end (fct_tickets holds each ticket's latest state with its
opening and resolution times, so the backlog on any past day can be rebuilt)."""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.formatting import fmt_hours, fmt_int
from reports.model import Context, Metric, Section, Table, report_section
from reports.sections.common import TOP_N, client_table, window, with_client_info

# open at the end: opened before it and resolved after it, or never resolved and still open
OPEN_AT_END = "opened_at < $end and (resolved_at >= $end or (resolved_at is null and is_open))"

FLOW_SQL = f"""
select
    count(case when opened_at >= $start and opened_at < $end then 1 end) as opened,
    count(case when resolved_at >= $start and resolved_at < $end then 1 end) as resolved,
    median(case when resolved_at >= $start and resolved_at < $end then resolution_hours end)
        as median_resolution_hours,
    count(case when {OPEN_AT_END} then 1 end) as backlog,
    count(case when {OPEN_AT_END} and priority in ('high', 'critical') then 1 end) as backlog_high,
    count(case when {OPEN_AT_END} and date_diff('day', opened_at, $end) > 30 then 1 end) as backlog_over_30d
from marts.fct_tickets
"""

CLIENTS_SQL = f"""
select
    client_id,
    count(*) as open_tickets,
    count(case when priority in ('high', 'critical') then 1 end) as high_priority,
    max(date_diff('day', opened_at, $end)) as oldest_days
from marts.fct_tickets
where {OPEN_AT_END} and client_id is not null
group by 1
order by high_priority desc, open_tickets desc, oldest_days desc
limit {TOP_N}
"""

CATEGORY_SQL = f"""
select coalesce(category, 'none') as category, count(*) as open_tickets
from marts.fct_tickets
where {OPEN_AT_END}
group by 1
order by 2 desc
limit 6
"""


@report_section("support", "Support backlog")
def support_backlog(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.fct_tickets")
    cur, prev, year = (ctx.source.row(FLOW_SQL, window(p)) for p in ctx.comparisons)

    def metric(label, key, unit="int", better="down", **kw):
        return Metric(label, cur[key], prev[key], year[key], unit=unit, better=better, **kw)

    section.metrics = [
        metric("Unresolved at period end", "backlog", headline=True),
        metric("of them high or critical", "backlog_high"),
        metric("of them open over 30 days", "backlog_over_30d"),
        metric("Tickets opened", "opened", better=None),
        metric("Tickets resolved", "resolved", better="up"),
        metric("Median time to resolve", "median_resolution_hours", unit="hours"),
    ]

    trend = ctx.period.trailing(ctx.trend_length)
    flows = pd.DataFrame([{"period": p, **ctx.source.row(FLOW_SQL, window(p))} for p in trend])
    section.chart_title = "Tickets opened, resolved and unresolved"
    section.chart_svg = _chart(ctx, flows)

    clients = with_client_info(ctx, ctx.source.df(CLIENTS_SQL, {"end": ctx.period.end}))
    section.tables.append(
        client_table(
            f"Clients with unresolved tickets at the end of {ctx.period.label}",
            clients,
            {
                "Unresolved": ("open_tickets", fmt_int),
                "High or critical": ("high_priority", fmt_int),
                "Oldest, days": ("oldest_days", fmt_int),
            },
            empty_text="no unresolved tickets",
        )
    )
    categories = ctx.source.df(CATEGORY_SQL, {"end": ctx.period.end})
    if not categories.empty:
        section.tables.append(
            Table(
                title="Unresolved tickets by topic",
                columns=["Topic", "Unresolved"],
                rows=[[r["category"], fmt_int(r["open_tickets"])] for r in categories.to_dict("records")],
            )
        )
    section.summary = (
        f"{fmt_int(cur['backlog'])} tickets were unresolved at the end of {ctx.period.label} "
        f"({fmt_int(cur['backlog_high'])} high or critical, {fmt_int(cur['backlog_over_30d'])} open over "
        f"30 days); {fmt_int(cur['opened'])} were opened and {fmt_int(cur['resolved'])} resolved, "
        f"in a median {fmt_hours(cur['median_resolution_hours'])}."
    )
    section.notes.append(
        "Open tickets and overdue money block the next sales offer to a client (mart_client_360)."
    )


@charts.styled
def _chart(ctx: Context, flows: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure(charts.WIDE)
    x = list(range(len(flows)))
    width = 0.38
    ax.bar([i - width / 2 for i in x], flows["opened"], width=width, color="#7fa7cc", label="opened")
    ax.bar(
        [i + width / 2 for i in x],
        flows["resolved"],
        width=width,
        color=charts.COLORS["good"],
        label="resolved",
    )
    ax.plot(
        x,
        flows["backlog"],
        color=charts.COLORS["bad"],
        marker="o",
        markersize=4,
        label="unresolved at period end",
    )
    ax.set_xticks(x, [p.short_label for p in flows["period"]])
    charts.thousands_axis(ax)
    ax.legend(loc="upper left", ncols=3)
    ax.set_ylim(0, max(1, flows[["opened", "resolved", "backlog"]].max().max()) * 1.2)
    ax.set_title("Tickets per period")
    return charts.to_svg(fig, title="Support tickets opened, resolved and unresolved")
