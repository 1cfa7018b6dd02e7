"""Top clients of the period (by net revenue, with their gross margin and its rank) and how clients moved
between value segments."""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.formatting import change, fmt_int, fmt_pct, fmt_rub
from reports.model import Context, Metric, Section, Table, report_section
from reports.sections.common import TOP_N, label_clients, owner_at, revenue_lines_sql, shorten, window
from reports.source import ColumnMissing, TableMissing

CLIENT_REVENUE_SQL = """
select client_id, sum(net_revenue_rub) as revenue_rub, sum(gross_margin_rub) as gross_margin_rub
from {lines}
where invoice_date >= $start and invoice_date < $end and client_id is not null
group by 1
"""

TOTALS_SQL = """
select
    coalesce(sum(net_revenue_rub), 0) as revenue_rub,
    count(distinct client_id) as paying_clients
from {lines}
where invoice_date >= $start and invoice_date < $end
"""

NEW_CLIENTS_SQL = """
select count(*) from (
    select client_id, min(invoice_date) as first_invoice_date
    from marts.fct_invoices
    where client_id is not null
    group by 1
)
where first_invoice_date >= $start and first_invoice_date < $end
"""


def _top_share(ctx: Context, period) -> float | None:
    frame = ctx.source.df(CLIENT_REVENUE_SQL.format(lines=revenue_lines_sql(ctx.source)), window(period))
    total = frame["revenue_rub"].astype(float).sum()
    if not total:
        return None
    return frame["revenue_rub"].astype(float).nlargest(TOP_N).sum() / total


@report_section("clients", "Top clients and segment movements")
def top_clients(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.fct_invoices", "marts.dim_clients")
    periods = ctx.comparisons
    lines = revenue_lines_sql(ctx.source)
    revenue = {
        p: ctx.source.df(CLIENT_REVENUE_SQL.format(lines=lines), window(p)).set_index("client_id")[
            "revenue_rub"
        ]
        for p in periods
    }
    top = revenue[ctx.period].astype(float).nlargest(TOP_N)
    margins = ctx.source.df(CLIENT_REVENUE_SQL.format(lines=lines), window(ctx.period)).set_index("client_id")
    margin_rank = margins["gross_margin_rub"].astype(float).rank(method="min", ascending=False)

    owner_sql = owner_at() if ctx.source.has("marts.dim_client_owner_history") else None
    ids = list(top.index)
    names = ctx.source.df(
        f"""
        select c.client_id, c.client_name, c.primary_inn, c.region,
               {"o.owner_manager_id" if owner_sql else "c.owner_manager_id"} as owner_manager_id
        from marts.dim_clients as c
        {f"left join {owner_sql} as o on o.client_id = c.client_id" if owner_sql else ""}
        where c.client_id in (select unnest($ids))
        """,
        {"ids": ids, **({"last": ctx.period.last_day} if owner_sql else {})},
    ).set_index("client_id")
    table = pd.DataFrame({"revenue_rub": top})
    table["gross_margin_rub"] = margins["gross_margin_rub"].reindex(table.index).astype(float)
    table["margin_rank"] = margin_rank.reindex(table.index)
    table["previous_rub"] = revenue[ctx.previous].reindex(table.index).astype(float)
    table["year_ago_rub"] = revenue[ctx.year_ago].reindex(table.index).astype(float)
    table = table.join(names)
    table["client_id"] = table.index
    table["label"] = label_clients(table)

    totals = {p: ctx.source.row(TOTALS_SQL.format(lines=lines), window(p)) for p in periods}
    new_clients = {p: ctx.source.one(NEW_CLIENTS_SQL, window(p)) for p in periods}
    shares = {p: _top_share(ctx, p) for p in periods}
    section.metrics = [
        Metric("Paying clients", *(totals[p]["paying_clients"] for p in periods)),
        Metric("New paying clients", *(new_clients[p] for p in periods), note="first invoice ever"),
        Metric(
            f"Top {TOP_N} share of revenue",
            *(shares[p] for p in periods),
            unit="pct",
            better="down",
            note="concentration",
        ),
    ]

    section.chart_title = f"Top {TOP_N} clients by revenue"
    section.chart_svg = _chart(ctx, table)
    section.tables.append(
        Table(
            title=f"Top {TOP_N} clients by net revenue, {ctx.period.label}, with their gross margin",
            columns=[
                "Client",
                "Owner",
                "Revenue",
                "Gross margin",
                "Margin rank",
                "vs previous",
                "vs year ago",
            ],
            rows=[
                [
                    r["label"],
                    r.get("owner_manager_id") or "–",
                    fmt_rub(r["revenue_rub"]),
                    fmt_rub(r["gross_margin_rub"]),
                    fmt_int(r["margin_rank"]),
                    change(r["revenue_rub"], 0 if pd.isna(r["previous_rub"]) else r["previous_rub"], "rub")[
                        0
                    ],
                    change(r["revenue_rub"], 0 if pd.isna(r["year_ago_rub"]) else r["year_ago_rub"], "rub")[
                        0
                    ],
                ]
                for r in table.to_dict("records")
            ],
            align=["l", "l", "r", "r", "r", "r", "r"],
            clip={0: "36%"},
        )
    )

    try:
        from reports.segments import segment_movement

        movement = segment_movement(ctx.source, ctx.period.end, ctx.previous.end)
        section.tables.extend(movement.tables())
        section.metrics.extend(movement.metrics())
        section.notes.extend(movement.notes)
    except (TableMissing, ColumnMissing) as exc:
        section.partial.append(f"Segment movements not available yet: {exc}.")

    top_share = shares[ctx.period]
    section.summary = (
        f"{totals[ctx.period]['paying_clients']:,} clients paid in {ctx.period.label}, "
        f"{fmt_int(new_clients[ctx.period])} of them for the first time; the top {TOP_N} brought "
        f"{fmt_pct(top_share)} of revenue."
    )
    section.notes.append(
        "Clients are resolved groups of legal entities. Sole proprietors trade under their owner's "
        "name, so they are shown by client id; owners are CRM user ids as of the period end."
    )


@charts.styled
def _chart(ctx: Context, table: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure((9.2, 3.3))
    labels = [shorten(v, 34) for v in table["label"]]
    y = list(range(len(table)))
    height = 0.27
    series = [
        ("revenue_rub", charts.COLORS["actual"], ctx.period.label),
        ("previous_rub", "#7fa7cc", ctx.previous.label),
        ("year_ago_rub", charts.COLORS["previous"], ctx.year_ago.label),
    ]
    for i, (column, color, name) in enumerate(series):
        values = table[column].fillna(0).astype(float)
        ax.barh([k + (i - 1) * height for k in y], values, height=height, color=color, label=name)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    charts.rub_axis(ax, "x")
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    ax.set_title("This period's top clients: revenue now, the period before and a year earlier")
    return charts.to_svg(fig, title="Top clients by revenue")
