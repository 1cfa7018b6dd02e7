"""Receivables ageing and overdue clients at the end of each period.

mart_receivables holds the ageing on the warehouse's as-of date only; a report on an
earlier period needs it on that period's last day, so it is recomputed here with the
mart's rules (models/rules.py: applied payments settle their invoice, unapplied ones the
counterparty's oldest open invoices in the same currency first, credit notes reduce their
invoice; the business rules' write-off and doubtful-debt ages). On the warehouse's as-of
date the figures equal the mart's (a note says so, or says by how much they differ).
"""

from __future__ import annotations

import pandas as pd

from models import rules
from reports import charts
from reports.formatting import fmt_int, fmt_pct, fmt_rub
from reports.model import Context, Metric, Section, Table, report_section
from reports.sections.common import TOP_N, client_table, with_client_info

BUCKETS = ("not_due", "1-30", "31-60", "61-90", "91-180", "180+")
BUCKET_LABELS = {
    "not_due": "not due",
    "1-30": "1–30 days",
    "31-60": "31–60",
    "61-90": "61–90",
    "91-180": "91–180",
    "180+": "over 180",
}


def business_rules(ctx: Context) -> rules.BusinessRules:
    return rules.load_rules(ctx.source.df)


def aged_invoices(ctx: Context, periods) -> dict:
    """Open invoices on each period's last day: {period: frame of client_id, open_amount_rub,
    days_past_due, is_doubtful, is_written_off, ageing_bucket}, in one query."""
    periods = list(dict.fromkeys(periods))
    frame = rules.aged_invoices(
        ctx.source.df,
        [p.last_day for p in periods],
        business_rules(ctx),
        rules.credit_notes_sql(ctx.source.df),
    )
    return {p: frame[frame["day"] == p.last_day].drop(columns="day").reset_index(drop=True) for p in periods}


def _summary(aged: pd.DataFrame) -> dict:
    """What clients owe (written-off money apart, as mart_receivables counts it)."""
    written_off = aged[aged["is_written_off"]]
    aged = aged[~aged["is_written_off"]]
    overdue = aged[aged["days_past_due"] > 0]
    total = float(aged["open_amount_rub"].sum())
    return {
        "open_rub": total,
        "overdue_rub": float(overdue["open_amount_rub"].sum()),
        "overdue_share": float(overdue["open_amount_rub"].sum()) / total if total else None,
        "doubtful_rub": float(aged.loc[aged["is_doubtful"], "open_amount_rub"].sum()),
        "written_off_rub": float(written_off["open_amount_rub"].sum()),
        "overdue_clients": overdue["client_id"].nunique(),
    }


@report_section("receivables", "Receivables ageing and overdue clients")
def receivables(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.fct_invoices", "marts.fct_payments")
    trend = ctx.period.trailing(ctx.trend_length)
    aged = aged_invoices(ctx, [*trend, ctx.previous, ctx.year_ago])
    cur, prev, year = (_summary(aged[p]) for p in ctx.comparisons)

    def metric(label, key, unit="rub", better="down", **kw):
        return Metric(label, cur[key], prev[key], year[key], unit=unit, better=better, **kw)

    policy = business_rules(ctx)
    section.metrics = [
        metric("Open receivables", "open_rub", better=None),
        metric("Overdue", "overdue_rub", headline=True),
        metric("Overdue share", "overdue_share", unit="pct"),
        metric(f"Doubtful (over {policy.doubtful_after_days} days)", "doubtful_rub"),
        metric(f"Written off (over {policy.write_off_after_days} days)", "written_off_rub"),
        metric("Clients with overdue money", "overdue_clients", unit="int"),
    ]

    buckets = pd.DataFrame(
        {
            p: aged[p][~aged[p]["is_written_off"]]
            .groupby("ageing_bucket")["open_amount_rub"]
            .sum()
            .reindex(BUCKETS)
            .fillna(0)
            for p in trend
        }
    ).T
    section.chart_title = "Open receivables by days past due, at each period end"
    section.chart_svg = _chart(ctx, buckets)

    section.tables.append(_overdue_clients(ctx, aged[ctx.period]))
    section.summary = (
        f"On {ctx.period.last_day:%d %b %Y} clients owed {fmt_rub(cur['open_rub'])}, of which "
        f"{fmt_rub(cur['overdue_rub'])} ({fmt_pct(cur['overdue_share'])}) was past due and "
        f"{fmt_rub(cur['doubtful_rub'])} doubtful (over {policy.doubtful_after_days} days), spread over "
        f"{fmt_int(cur['overdue_clients'])} clients; {fmt_rub(cur['written_off_rub'])} unpaid for over "
        f"{policy.write_off_after_days} days is written off."
    )
    section.notes.append(
        "Amounts include VAT, in roubles, on the last day of each period, net of credit notes and of "
        f"payments not applied to an invoice. Money overdue over {policy.write_off_after_days} days is written "
        "off (business rule write_off_after_days): it is not counted as receivable and blocks no offer."
    )
    section.notes.extend(_reconciliation(ctx, cur))


def _reconciliation(ctx: Context, cur: dict) -> list[str]:
    """On the warehouse's as-of date the figures are mart_receivables': say so, or by how much they differ."""
    if not ctx.source.has("marts.mart_receivables") or ctx.as_of != ctx.period.last_day:
        return []
    mart = ctx.source.row(
        "select sum(open_amount_rub) as open_rub, sum(overdue_amount_rub) as overdue_rub "
        "from marts.mart_receivables"
    )
    if mart["open_rub"] is None:
        return []
    if (
        abs(float(mart["open_rub"]) - cur["open_rub"]) <= 1
        and abs(float(mart["overdue_rub"]) - cur["overdue_rub"]) <= 1
    ):
        return ["These are the figures of mart_receivables on the same day."]
    return [
        f"mart_receivables on the same day differs: {fmt_rub(mart['open_rub'])} open, "
        f"{fmt_rub(mart['overdue_rub'])} overdue."
    ]


def _overdue_clients(ctx: Context, aged: pd.DataFrame) -> Table:
    aged = aged[~aged["is_written_off"]]
    overdue = aged[aged["days_past_due"] > 0]
    per_client = (
        overdue.groupby("client_id")
        .agg(overdue_rub=("open_amount_rub", "sum"), max_days=("days_past_due", "max"))
        .sort_values("overdue_rub", ascending=False)
        .head(TOP_N)
    )
    open_total = aged.groupby("client_id")["open_amount_rub"].sum()
    per_client["open_rub"] = open_total.reindex(per_client.index)
    return client_table(
        f"Clients with the most overdue money on {ctx.period.last_day:%d %b %Y}",
        with_client_info(ctx, per_client.reset_index()),
        {
            "Overdue": ("overdue_rub", fmt_rub),
            "Open in total": ("open_rub", fmt_rub),
            "Oldest, days past due": ("max_days", fmt_int),
        },
        empty_text="no client had overdue money",
    )


@charts.styled
def _chart(ctx: Context, buckets: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure(charts.WIDE)
    x = list(range(len(buckets)))
    bottom = [0.0] * len(buckets)
    for bucket, color in zip(BUCKETS, charts.AGEING_COLORS, strict=True):
        values = buckets[bucket].astype(float).tolist()
        ax.bar(x, values, bottom=bottom, color=color, width=0.7, label=BUCKET_LABELS[bucket])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(x, [p.short_label for p in buckets.index])
    charts.rub_axis(ax)
    ax.legend(loc="upper left", ncols=6, title=None)
    ax.set_ylim(0, max(bottom) * 1.18 if max(bottom) else 1)
    ax.set_title("Open receivables by days past due")
    return charts.to_svg(fig, title="Receivables ageing")
