"""Manager key-person risk: revenue whose relationship runs through one employee or one
person at the client, by owning manager, at the end of each period.

The rules are mart_manager_book's (int_clients__relationship_spread): CRM touches in the
365 days up to the day, campaign touches left out; a client is at risk when those ran
through one employee or one client-side person. They are applied here on each period's
last day, since the mart holds the warehouse's as-of date only.
"""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.formatting import fmt_int, fmt_pct, fmt_rub
from reports.model import Context, Metric, Section, Table, report_section
from reports.sections.common import owner_at, revenue_lines_sql, trailing_12m

CLIENT_RISK_SQL = """
with

revenue as (
    select client_id, sum(net_revenue_rub) as revenue_12m_rub
    from {lines}
    where client_id is not null and invoice_date > $from and invoice_date <= $last
    group by 1
),

spread as (
    select
        client_id,
        count(distinct manager_id) as managers_12m,
        count(distinct contact_key) as contacts_12m
    from marts.fct_interactions
    where client_id is not null
        and occurred_date > $from and occurred_date <= $last
        and source_system = 'crm'
        and interaction_type not like 'campaign_%'
    group by 1
),

owners as {owners}

select
    revenue.client_id,
    cast(revenue.revenue_12m_rub as double) as revenue_12m_rub,
    coalesce(owners.owner_manager_id, 'unassigned') as owner_manager_id,
    coalesce(spread.managers_12m, 0) as managers_12m,
    coalesce(spread.contacts_12m, 0) as contacts_12m,
    coalesce(spread.managers_12m = 1, false) as is_single_manager,
    coalesce(spread.contacts_12m = 1, false) as is_single_contact
from revenue
left join spread on spread.client_id = revenue.client_id
left join owners on owners.client_id = revenue.client_id
"""

LEFT_WITH_CLIENTS_SQL = """
with owners as {owners}
select count(distinct m.manager_id) as managers, count(*) as clients
from owners
join marts.dim_managers as m on m.manager_id = owners.owner_manager_id
where m.left_date is not null and m.left_date <= $last
"""


def client_risk(ctx: Context, period) -> pd.DataFrame:
    frame = ctx.source.df(
        CLIENT_RISK_SQL.format(owners=owner_at(), lines=revenue_lines_sql(ctx.source)), trailing_12m(period)
    )
    frame["at_risk"] = frame["is_single_manager"] | frame["is_single_contact"]
    return frame


def _summary(ctx: Context, period, frame: pd.DataFrame) -> dict:
    total = frame["revenue_12m_rub"].sum()
    at_risk = frame.loc[frame["at_risk"], "revenue_12m_rub"].sum()
    by_owner = frame.groupby("owner_manager_id")["revenue_12m_rub"].sum()
    left = ctx.source.row(LEFT_WITH_CLIENTS_SQL.format(owners=owner_at()), {"last": period.last_day})
    return {
        "at_risk_rub": at_risk,
        "at_risk_share": at_risk / total if total else None,
        "clients_at_risk": int(frame["at_risk"].sum()),
        "top_owner_share": by_owner.max() / total if total else None,
        "left_managers": left["managers"],
        "left_clients": left["clients"],
    }


@report_section("key_person", "Manager key-person risk")
def key_person_risk(ctx: Context, section: Section) -> None:
    ctx.source.require(
        "marts.fct_invoices", "marts.fct_interactions", "marts.dim_client_owner_history", "marts.dim_managers"
    )
    frames = {p: client_risk(ctx, p) for p in ctx.comparisons}
    cur, prev, year = (_summary(ctx, p, frames[p]) for p in ctx.comparisons)

    def metric(label, key, unit="int", better="down", **kw):
        return Metric(label, cur[key], prev[key], year[key], unit=unit, better=better, **kw)

    section.metrics = [
        metric("12-month revenue at key-person risk", "at_risk_rub", "rub"),
        metric("Share of 12-month revenue at risk", "at_risk_share", "pct", headline=True),
        metric("Paying clients at risk", "clients_at_risk"),
        metric("Largest book's share of revenue", "top_owner_share", "pct"),
        metric(
            "Managers who left but still own clients",
            "left_managers",
            note=f"{fmt_int(cur['left_clients'])} clients",
        ),
    ]

    frame = frames[ctx.period]
    books = (
        frame.assign(at_risk_rub=frame["revenue_12m_rub"].where(frame["at_risk"], 0.0))
        .groupby("owner_manager_id")
        .agg(
            clients=("client_id", "count"),
            revenue_12m_rub=("revenue_12m_rub", "sum"),
            at_risk_rub=("at_risk_rub", "sum"),
            single_manager=("is_single_manager", "sum"),
            single_contact=("is_single_contact", "sum"),
        )
        .sort_values("revenue_12m_rub", ascending=False)
    )
    managers = ctx.source.df(
        "select manager_id, role, office_code, left_date from marts.dim_managers"
    ).set_index("manager_id")
    books = books.join(managers, how="left")
    section.chart_title = "12-month revenue of each manager's book, and the part at key-person risk"
    section.chart_svg = _chart(books.head(12))
    section.tables.append(
        Table(
            title=f"Books by owning manager on {ctx.period.last_day:%d %b %Y}",
            columns=[
                "Manager",
                "Office",
                "Paying clients",
                "12-month revenue",
                "At risk",
                "Share at risk",
                "One employee",
                "One contact",
            ],
            rows=[
                [
                    f"{manager_id}"
                    + (
                        " (left)"
                        if pd.notna(r.get("left_date"))
                        and pd.Timestamp(r["left_date"]).date() <= ctx.period.last_day
                        else ""
                    ),
                    r.get("office_code") or "–",
                    fmt_int(r["clients"]),
                    fmt_rub(r["revenue_12m_rub"]),
                    fmt_rub(r["at_risk_rub"]),
                    fmt_pct(r["at_risk_rub"] / r["revenue_12m_rub"] if r["revenue_12m_rub"] else None),
                    fmt_int(r["single_manager"]),
                    fmt_int(r["single_contact"]),
                ]
                for manager_id, r in books.head(12).iterrows()
            ],
        )
    )
    section.summary = (
        f"{fmt_rub(cur['at_risk_rub'])} ({fmt_pct(cur['at_risk_share'])}) of the last 12 months' revenue "
        f"comes from {fmt_int(cur['clients_at_risk'])} clients whose relationship runs through one employee "
        f"or one person at the client; the largest book holds {fmt_pct(cur['top_owner_share'])} of revenue."
    )
    section.notes.append(
        "Managers are CRM user ids (names stay in the restricted pii schema). 'One employee': every CRM "
        "touch in 12 months was by the same employee; 'one contact': with the same person at the client."
    )


@charts.styled
def _chart(books: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure(charts.WIDE)
    x = list(range(len(books)))
    safe = (books["revenue_12m_rub"] - books["at_risk_rub"]).astype(float)
    ax.bar(x, safe, color="#7fa7cc", width=0.65, label="spread over several people")
    ax.bar(
        x,
        books["at_risk_rub"].astype(float),
        bottom=safe,
        color=charts.COLORS["bad"],
        width=0.65,
        label="at key-person risk",
    )
    ax.set_xticks(x, list(books.index), rotation=0)
    charts.rub_axis(ax)
    ax.legend(loc="upper right")
    ax.set_title("12-month revenue by owning manager")
    return charts.to_svg(fig, title="Key-person risk by manager")
