"""Churn-risk watchlist: the clients most likely to leave, weighted by what they are
worth, with the drivers behind each score and the manager who owns the client."""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.churn import CHURN_MODEL, backtest_summary, churn_backtest, churn_scores, scores_as_of
from reports.formatting import fmt_int, fmt_number, fmt_pct, fmt_rub, known_to
from reports.model import Context, Metric, Section, Table, report_section
from reports.model_runs import latest_runs, run_of
from reports.sections.common import label_clients, owner_at, shorten
from reports.source import TableMissing

WATCHLIST_SIZE = 10
BLOCKED_TEXT = {
    "open_ticket": "open ticket",
    "overdue_payment": "overdue money",
    "open_ticket_and_overdue_payment": "ticket, overdue",
}


def _scored(scores: pd.DataFrame, period) -> pd.DataFrame:
    frame = scores_as_of(scores, period.end).copy()
    frame["revenue_12m_rub"] = frame["revenue_12m_rub"].fillna(0.0)
    frame["revenue_at_risk_rub"] = frame["revenue_12m_rub"] * frame["churn_probability"]
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
    ctx.source.require("marts.dim_clients")
    run = run_of(latest_runs(ctx.source, ctx.period.end), CHURN_MODEL)
    if run and run["status"] == "skipped":
        section.unavailable = (
            f"the churn model was not made as of {run['as_of_date']:%d %b %Y}: {run['reason']}"
        )
        return
    scores = churn_scores(ctx.source)
    frames = {p: _scored(scores, p) for p in ctx.comparisons}
    current = frames[ctx.period]
    if current.empty:
        section.unavailable = (
            f"no churn scores were made with data up to {ctx.period.last_day:%d %b %Y} or earlier"
        )
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
        metric(
            "Revenue at risk, probability-weighted",
            "expected_loss_rub",
            "rub",
            note="Σ probability × 12-month revenue",
        ),
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
            title="Watchlist: most revenue at risk" + (f" (scored with {known_to(as_of)})" if as_of else ""),
            columns=[
                "Client",
                "Owner",
                "Churn probability",
                "12-month revenue",
                "Why (model drivers)",
                "Blocked by",
            ],
            rows=[
                [
                    r["label"],
                    r.get("owner_manager_id") or "–",
                    fmt_pct(r["churn_probability"]),
                    fmt_rub(r["revenue_12m_rub"]),
                    r["drivers"] or "–",
                    BLOCKED_TEXT.get(r.get("sales_offer_blocked_reason"), "–"),
                ]
                for r in watch.to_dict("records")
            ],
            align=["l", "l", "r", "r", "l", "l"],
            clip={0: "24%", 4: "38%"},
        )
    )
    section.summary = (
        f"{fmt_int(cur['high'])} of {fmt_int(cur['scored'])} scored clients are at high risk of leaving; "
        f"they brought {fmt_rub(cur['revenue_high_rub'])} in the last 12 months. Weighted by probability, "
        f"{fmt_rub(cur['expected_loss_rub'])} of 12-month revenue is at risk."
    )
    if run and run["status"] == "baseline":
        section.partial.append(f"Scored by the model's baseline, not the model: {run['reason']}.")
    elif run and isinstance(run["reason"], str) and run["reason"]:
        section.partial.append(f"Horizon: {run['reason']}.")
    _backtest(ctx, section)
    section.notes.append(
        "Scores come from the churn model (ml.churn_scores) made on or before the period end; drivers are "
        "the features that pushed each score up. 'Blocked by': an open ticket or overdue money that must be "
        "dealt with before the next offer (as of the warehouse date)."
    )


def _backtest(ctx: Context, section: Section) -> None:
    """How well the model ranked clients who did leave, on past dates, against its baselines."""
    try:
        summary = backtest_summary(churn_backtest(ctx.source, ctx.period.end))
    except TableMissing as exc:
        section.partial.append(f"The model's backtest is not available yet: {exc}.")
        return
    model = summary[~summary["is_baseline"].astype(bool)]
    baselines = summary[summary["is_baseline"].astype(bool)]
    if model.empty:
        return
    best = baselines.sort_values("pr_auc", ascending=False).head(1)
    note = (
        f"best baseline ({best.index[0]}): {fmt_number(best['pr_auc'].iloc[0], 2)}" if not best.empty else ""
    )
    section.metrics.append(
        Metric(
            "Backtest PR-AUC of the model", model["pr_auc"].iloc[0], unit="number2", better="up", note=note
        )
    )
    section.notes.append(
        f"Backtest: the model scored {int(model['backtests'].iloc[0])} past dates and was judged on who "
        "actually left; PR-AUC measures how well the riskiest scores found them (higher is better)."
    )


@charts.styled
def _chart(current: pd.DataFrame, watch: pd.DataFrame) -> str:
    fig, (left, right) = charts.new_figure((9.2, 3.0), ncols=2, width_ratios=[1, 1.4])
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
