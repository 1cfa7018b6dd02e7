"""Profit: which clients earn it, and what winning a client costs against keeping one.

The period's gross margin (net revenue less cost of sales, fct_invoices); the most profitable clients of
the 12 months to the warehouse's as-of date by contribution margin (gross margin less the cost to serve
them and their bad debt, mart_client_profitability), with their rank by revenue beside it; and the cost
of acquisition per new client against the cost of retention per retained client, for the three 12-month
periods to the as-of date (mart_acquisition_retention): the comparison the source document argues from.
"""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.formatting import fmt_int, fmt_number, fmt_pct, fmt_rub
from reports.model import Context, Metric, Section, Table, report_section
from reports.sections.common import TOP_N, client_table, revenue_lines_sql, shorten, window, with_client_info

MARGIN_SQL = """
select
    coalesce(sum(net_revenue_rub), 0) as revenue_rub,
    coalesce(sum(gross_margin_rub), 0) as gross_margin_rub
from {lines}
where invoice_date >= $start and invoice_date < $end
"""

TOP_SQL = f"""
select client_id, net_revenue_12m_rub, gross_margin_12m_rub, cost_to_serve_12m_rub, bad_debt_12m_rub,
    contribution_margin_12m_rub, revenue_rank_12m, contribution_margin_rank_12m, as_of_date
from marts.mart_client_profitability
order by contribution_margin_12m_rub desc, client_id
limit {TOP_N}
"""

COSTS_SQL = "select * from marts.mart_acquisition_retention where has_prior_year order by period_index"


@report_section("profitability", "Profit: margins, and winning against keeping clients")
def profitability(ctx: Context, section: Section) -> None:
    ctx.source.require(
        "marts.fct_invoices", "marts.mart_client_profitability", "marts.mart_acquisition_retention"
    )
    lines = revenue_lines_sql(ctx.source)
    cur, prev, year = (ctx.source.row(MARGIN_SQL.format(lines=lines), window(p)) for p in ctx.comparisons)
    for row in (cur, prev, year):
        row["margin_pct"] = (
            float(row["gross_margin_rub"]) / float(row["revenue_rub"]) if row["revenue_rub"] else None
        )
    costs = ctx.source.df(COSTS_SQL)
    now = costs.iloc[0].to_dict() if len(costs) else {}
    before = costs.iloc[1].to_dict() if len(costs) > 1 else {}

    def cost(label, key, better="down", **kw):
        return Metric(label, now.get(key), None, before.get(key), unit="rub", better=better, **kw)

    section.metrics = [
        Metric(
            "Gross margin", *(r["gross_margin_rub"] for r in (cur, prev, year)), unit="rub", headline=True
        ),
        Metric("Gross margin, % of revenue", *(r["margin_pct"] for r in (cur, prev, year)), unit="pct"),
        cost("Acquisition cost per new client", "acquisition_cost_per_new_client_rub", note="12 months"),
        cost(
            "Retention cost per retained client", "retention_cost_per_retained_client_rub", note="12 months"
        ),
    ]
    ratio = now.get("acquisition_to_retention_cost_ratio")

    top = with_client_info(ctx, ctx.source.df(TOP_SQL))
    as_of = pd.Timestamp(top["as_of_date"].iloc[0]) if len(top) else None
    if len(top):
        section.chart_title = (
            "The most profitable clients: revenue, gross and contribution margin (12 months)"
        )
        section.chart_svg = _chart(top)
    section.tables.append(
        client_table(
            f"Most profitable clients, 12 months to {as_of:%d %b %Y}"
            if as_of is not None
            else "Most profitable clients",
            top,
            {
                "Net revenue": ("net_revenue_12m_rub", fmt_rub),
                "Gross margin": ("gross_margin_12m_rub", fmt_rub),
                "Cost to serve": ("cost_to_serve_12m_rub", fmt_rub),
                "Contribution": ("contribution_margin_12m_rub", fmt_rub),
                "Revenue rank": ("revenue_rank_12m", fmt_int),
            },
            empty_text="no client invoiced in the 12 months",
        )
    )
    section.tables.append(_costs_table(costs))
    section.summary = (
        f"Gross margin in {ctx.period.label} was {fmt_rub(cur['gross_margin_rub'])} "
        f"({fmt_pct(cur['margin_pct'])} of net revenue). "
        + (
            f"Winning a new client cost {fmt_rub(now.get('acquisition_cost_per_new_client_rub'))} in the 12 months "
            f"to the warehouse's date, keeping one {fmt_rub(now.get('retention_cost_per_retained_client_rub'))}: "
            f"{fmt_number(ratio)} times as much."
            if ratio is not None and pd.notna(ratio)
            else "Too little history (two years are needed) or too few new and retained clients to set winning "
            "against keeping."
        )
    )
    section.notes.append(
        "Gross margin: net revenue less cost of sales (as accounting exported it, else the product line's "
        "standard cost share). Contribution: gross margin less the cost to serve (calls, e-mails, meetings, "
        "events and tickets at the costs of the business rules) and bad debt written off. Acquisition: the "
        "campaign costs of touches on prospects, partner commissions on the deals that brought new clients and "
        "the cost of serving prospects, per client invoiced for the first time; retention: the rest of the "
        "campaign cost and the cost to serve existing clients, per client that bought in the period and in the "
        "12 months before (partner commissions on their deals are a cost of those sales, not of keeping them)."
    )


def _costs_table(costs: pd.DataFrame) -> Table:
    return Table(
        title="Winning against keeping clients, by 12-month period",
        columns=[
            "12 months to",
            "New clients",
            "Acquisition cost",
            "per new client",
            "Retained clients",
            "Retention cost",
            "per retained client",
            "Ratio",
        ],  # fmt: skip
        rows=[
            [
                f"{pd.Timestamp(r['period_end']):%d %b %Y}",
                fmt_int(r["new_clients"]),
                fmt_rub(r["acquisition_cost_rub"]),
                fmt_rub(r["acquisition_cost_per_new_client_rub"]),
                fmt_int(r["retained_clients"]),
                fmt_rub(r["retention_cost_rub"]),
                fmt_rub(r["retention_cost_per_retained_client_rub"]),
                fmt_number(r["acquisition_to_retention_cost_ratio"]),
            ]
            for r in costs.to_dict("records")
        ],
        align=["l", "r", "r", "r", "r", "r", "r", "r"],
        empty_text="no 12-month period with a year of history before it",
    )


@charts.styled
def _chart(top: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure((9.2, 3.3))
    y = list(range(len(top)))
    height = 0.27
    series = [
        ("net_revenue_12m_rub", charts.COLORS["previous"], "net revenue"),
        ("gross_margin_12m_rub", "#7fa7cc", "gross margin"),
        ("contribution_margin_12m_rub", charts.COLORS["actual"], "contribution margin"),
    ]
    for i, (column, color, name) in enumerate(series):
        ax.barh(
            [k + (i - 1) * height for k in y],
            top[column].astype(float),
            height=height,
            color=color,
            label=name,
        )
    ax.set_yticks(y, [shorten(v, 34) for v in top["label"]])
    ax.invert_yaxis()
    charts.rub_axis(ax, "x")
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    ax.set_title("Clients ranked by contribution margin")
    return charts.to_svg(fig, title="Most profitable clients")
