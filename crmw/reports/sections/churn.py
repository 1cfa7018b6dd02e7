"""Churn-risk watchlist: the clients most likely to leave, weighted by what they are
worth, with the drivers behind each score and the manager who owns the client."""

from __future__ import annotations

import pandas as pd

from crmw.reports import charts
from crmw.reports.churn import churn_scores, scores_as_of
from crmw.reports.formatting import fmt_int, fmt_pct, fmt_rub
from crmw.reports.model import Context, Metric, Section, Table, report_section
from crmw.reports.sections.common import label_clients, owner_at, revenue_lines_sql, shorten, trailing_12m

WATCHLIST_SIZE = 12
HIGH_BANDS = ("high", "very_high", "critical")

REVENUE_12M_SQL = """
select client_id, cast(sum(net_revenue_rub) as double) as revenue_12m_rub
from {lines}
where client_id is not null and invoice_date > $from and invoice_date <= $last
group by 1
"""


def _scored(ctx: Context, scores: pd.DataFrame, period) -> pd.DataFrame:
    frame = scores_as_of(scores, period.last_day).copy()
    revenue = ctx.source.df(REVENUE_12M_SQL.format(lines=revenue_lines_sql(ctx.source)), trailing_12m(period))
    frame = frame.merge(revenue, on="client_id", how="left")
    frame["revenue_12m_rub"] = frame["revenue_12m_rub"].fillna(0.0)
    frame["revenue_at_risk_rub"] = frame["revenue_12m_rub"] * frame["churn_probability"]
    frame["is_high"] = frame["risk_band"].str.lower().isin(HIGH_BANDS)
    return frame


def _summary(frame: pd.DataFrame) -> dict:
    return {
        "scored": len(frame),
        "high": int(frame["is_high"].sum()),
        "revenue_high_rub": frame.loc[frame["is_high"], "revenue_12m_rub"].sum() if len(frame) else None,
        "expected_loss_rub": frame["revenue_at_risk_rub"].sum() if len(frame) else None,
    }


@report_section("churn", "Churn-risk watchlist")
def churn_watchlist(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.fct_invoices", "marts.dim_clients")
    scores = churn_scores(ctx.source)
    frames = {p: _scored(ctx, scores, p) for p in ctx.comparisons}
    current = frames[ctx.period]
    if current.empty:
        section.unavailable = f"no churn scores were made on or before {ctx.period.last_day:%d %b %Y}"
        return
    cur, prev, year = (_summary(frames[p]) for p in ctx.comparisons)
    as_of = current["as_of_date"].dropna().max() if current["as_of_date"].notna().any() else None

    def metric(label, key, unit="int", **kw):
        prev_value = prev[key] if len(frames[ctx.previous]) else None
        year_value = year[key] if len(frames[ctx.year_ago]) else None
        return Metric(label, cur[key], prev_value, year_value, unit=unit, better="down", **kw)

    section.metrics = [
        metric("High-risk clients", "high", headline=True, note=f"of {fmt_int(cur['scored'])} scored"),
        metric("Their 12-month revenue", "revenue_high_rub", "rub"),
        metric("Expected revenue loss", "expected_loss_rub", "rub", note="Σ probability × 12-month revenue"),
    ]

    watch = current.sort_values(["revenue_at_risk_rub", "churn_probability"], ascending=False).head(
        WATCHLIST_SIZE
    )
    owner_sql = owner_at()
    info = ctx.source.df(
        f"""
        select c.client_id, c.client_name, c.primary_inn, o.owner_manager_id
        from marts.dim_clients as c
        left join {owner_sql} as o on o.client_id = c.client_id
        where c.client_id in (select unnest($ids))
        """,
        {"ids": watch["client_id"].tolist(), "last": ctx.period.last_day},
    )
    watch = watch.merge(info, on="client_id", how="left")
    watch["label"] = label_clients(watch)
    if ctx.source.has("marts.mart_client_360"):
        flags = ctx.source.df(
            "select client_id, sales_offer_blocked_reason from marts.mart_client_360 "
            "where client_id in (select unnest($ids))",
            {"ids": watch["client_id"].tolist()},
        )
        watch = watch.merge(flags, on="client_id", how="left")
    section.chart_title = "Churn probability against 12-month revenue"
    section.chart_svg = _chart(current, watch)
    section.tables.append(
        Table(
            title="Watchlist: most revenue at risk" + (f" (scores as of {as_of:%d %b %Y})" if as_of else ""),
            columns=[
                "Client",
                "Owner",
                "Churn probability",
                "Risk",
                "12-month revenue",
                "Drivers",
                "Blocked by",
            ],
            rows=[
                [
                    r["label"],
                    r.get("owner_manager_id") or "–",
                    fmt_pct(r["churn_probability"]),
                    r["risk_band"] or "–",
                    fmt_rub(r["revenue_12m_rub"]),
                    shorten(r["drivers"] or "–", 70),
                    (r.get("sales_offer_blocked_reason") or "–").replace("_", " "),
                ]
                for r in watch.to_dict("records")
            ],
            align=["l", "l", "r", "l", "r", "l", "l"],
        )
    )
    section.summary = (
        f"{fmt_int(cur['high'])} of {fmt_int(cur['scored'])} scored clients are at high risk of leaving; "
        f"they brought {fmt_rub(cur['revenue_high_rub'])} in the last 12 months. Weighted by probability, "
        f"{fmt_rub(cur['expected_loss_rub'])} of 12-month revenue is at risk."
    )
    section.notes.append(
        "Scores come from the churn model (ml.churn_scores) made on or before the period end; drivers are "
        "the features that pushed each score up. 'Blocked by': an open ticket or overdue money that must be "
        "dealt with before the next offer (as of the warehouse date)."
    )


@charts.styled
def _chart(current: pd.DataFrame, watch: pd.DataFrame) -> str:
    fig, (left, right) = charts.new_figure(charts.WIDE, ncols=2, width_ratios=[1, 1.4])
    left.hist(current["churn_probability"], bins=[i / 20 for i in range(21)], color=charts.COLORS["actual"])
    charts.pct_axis(left, "x")
    left.set_title("Clients by churn probability")
    left.set_ylabel("clients")

    colors = [charts.COLORS["bad"] if h else "#7fa7cc" for h in current["is_high"]]
    right.scatter(current["churn_probability"], current["revenue_12m_rub"], s=14, c=colors, alpha=0.8)
    for r in watch.head(5).to_dict("records"):
        right.annotate(
            shorten(r["label"], 22),
            (r["churn_probability"], r["revenue_12m_rub"]),
            fontsize=7,
            xytext=(4, 3),
            textcoords="offset points",
        )
    charts.pct_axis(right, "x")
    charts.rub_axis(right)
    right.set_xlabel("churn probability")
    right.set_title("Risk against value (red: high risk)")
    return charts.to_svg(fig, title="Churn risk")
