"""Receivables ageing and overdue clients at the end of each period.

mart_receivables holds the ageing on the warehouse's as-of date only; a report on an
earlier period needs it on that period's last day, so it is recomputed here from
fct_invoices and fct_payments with the mart's rules: applied payments settle their
invoice, unapplied ones the counterparty's oldest open invoices in the same currency
first (FIFO by due date), credit notes (when published, marts.fct_credit_notes) reduce
their invoice. On the warehouse's as-of date the result is checked against the mart.
"""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.formatting import fmt_int, fmt_pct, fmt_rub
from reports.model import Context, Metric, Section, Table, report_section
from reports.sections.common import (
    TOP_N,
    client_table,
    credit_note_rows_sql,
    has_credit_notes,
    with_client_info,
)

BUCKETS = ("not_due", "1-30", "31-60", "61-90", "91-180", "180+")
BUCKET_LABELS = {
    "not_due": "not due",
    "1-30": "1–30 days",
    "31-60": "31–60",
    "61-90": "61–90",
    "91-180": "91–180",
    "180+": "over 180",
}

AGED_INVOICES_SQL = """
with

days as (
    select unnest($days)::date as day
),

invoices as (
    select
        days.day, invoices.invoice_id, invoices.client_id, invoices.counterparty_id, invoices.currency,
        invoices.rub_per_unit, invoices.invoice_date,
        coalesce(invoices.due_date, invoices.invoice_date) as due_date, invoices.amount_with_vat
    from marts.fct_invoices as invoices
    join days on invoices.invoice_date <= days.day
),

paid as (
    select days.day, payments.invoice_id, sum(payments.amount) as paid_amount
    from marts.fct_payments as payments
    join days on payments.payment_date <= days.day
    where payments.invoice_id is not null
    group by 1, 2
),

credited as (
    select days.day, notes.invoice_id, sum(notes.amount) as credited_amount
    from ({credit_notes}) as notes
    join days on notes.credit_note_date <= days.day
    group by 1, 2
),

unapplied as (
    select days.day, payments.counterparty_id, payments.currency, sum(payments.amount) as unapplied_amount
    from marts.fct_payments as payments
    join days on payments.payment_date <= days.day
    where payments.invoice_id is null
    group by 1, 2, 3
),

balances as (
    select
        invoices.*,
        invoices.amount_with_vat - coalesce(credited.credited_amount, 0) - coalesce(paid.paid_amount, 0)
            as open_before_unapplied
    from invoices
    left join paid on paid.day = invoices.day and paid.invoice_id = invoices.invoice_id
    left join credited on credited.day = invoices.day and credited.invoice_id = invoices.invoice_id
),

fifo as (
    select
        balances.*,
        coalesce(unapplied.unapplied_amount, 0) as counterparty_unapplied,
        coalesce(sum(greatest(balances.open_before_unapplied, 0)) over (
            partition by balances.day, balances.counterparty_id, balances.currency
            order by balances.due_date, balances.invoice_date, balances.invoice_id
            rows between unbounded preceding and 1 preceding
        ), 0) as open_before_this
    from balances
    left join unapplied
        on unapplied.day = balances.day
        and unapplied.counterparty_id = balances.counterparty_id
        and unapplied.currency = balances.currency
),

settled as (
    select
        *,
        open_before_unapplied - case
            when open_before_unapplied <= 0 then 0
            when counterparty_unapplied - open_before_this <= 0 then 0
            when counterparty_unapplied - open_before_this >= open_before_unapplied then open_before_unapplied
            else counterparty_unapplied - open_before_this
        end as open_amount
    from fifo
),

aged as (
    select
        day,
        client_id,
        cast(open_amount * rub_per_unit as double) as open_amount_rub,
        case when day > due_date then date_diff('day', due_date, day) else 0 end as days_past_due
    from settled
    where open_amount > 0
)

select
    day,
    client_id,
    open_amount_rub,
    days_past_due,
    case
        when days_past_due = 0 then 'not_due'
        when days_past_due <= 30 then '1-30'
        when days_past_due <= 60 then '31-60'
        when days_past_due <= 90 then '61-90'
        when days_past_due <= 180 then '91-180'
        else '180+'
    end as ageing_bucket
from aged
"""


def aged_invoices(ctx: Context, periods) -> dict:
    """Open invoices on each period's last day: {period: frame of client_id, open_amount_rub,
    days_past_due, ageing_bucket}, in one query."""
    periods = list(dict.fromkeys(periods))
    sql = AGED_INVOICES_SQL.format(credit_notes=credit_note_rows_sql(ctx.source))
    frame = ctx.source.df(sql, {"days": [p.last_day for p in periods]})
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return {p: frame[frame["day"] == p.last_day].drop(columns="day").reset_index(drop=True) for p in periods}


def _summary(aged: pd.DataFrame) -> dict:
    overdue = aged[aged["days_past_due"] > 0]
    total = float(aged["open_amount_rub"].sum())
    over_90 = float(aged.loc[aged["days_past_due"] > 90, "open_amount_rub"].sum())
    return {
        "open_rub": total,
        "overdue_rub": float(overdue["open_amount_rub"].sum()),
        "overdue_share": float(overdue["open_amount_rub"].sum()) / total if total else None,
        "over_90_rub": over_90,
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

    section.metrics = [
        metric("Open receivables", "open_rub", better=None),
        metric("Overdue", "overdue_rub", headline=True),
        metric("Overdue share", "overdue_share", unit="pct"),
        metric("Over 90 days past due", "over_90_rub"),
        metric("Clients with overdue money", "overdue_clients", unit="int"),
    ]

    buckets = pd.DataFrame(
        {
            p: aged[p].groupby("ageing_bucket")["open_amount_rub"].sum().reindex(BUCKETS).fillna(0)
            for p in trend
        }
    ).T
    section.chart_title = "Open receivables by days past due, at each period end"
    section.chart_svg = _chart(ctx, buckets)

    section.tables.append(_overdue_clients(ctx, aged[ctx.period]))
    section.summary = (
        f"On {ctx.period.last_day:%d %b %Y} clients owed {fmt_rub(cur['open_rub'])}, of which "
        f"{fmt_rub(cur['overdue_rub'])} ({fmt_pct(cur['overdue_share'])}) was past due and "
        f"{fmt_rub(cur['over_90_rub'])} more than 90 days past due, spread over "
        f"{fmt_int(cur['overdue_clients'])} clients."
    )
    section.notes.append("Amounts include VAT, in roubles, on the last day of each period.")
    section.notes.extend(_reconciliation(ctx, cur))


def _reconciliation(ctx: Context, cur: dict) -> list[str]:
    """What a reader must know when these figures and mart_receivables can differ."""
    notes = []
    credit_notes = has_credit_notes(ctx.source)
    if not credit_notes:
        notes.append(
            "Credit notes are not in the published marts yet (marts.fct_credit_notes), so credited "
            "invoices still count as open here."
        )
    if ctx.source.has("marts.mart_receivables") and ctx.as_of == ctx.period.last_day:
        mart = ctx.source.row(
            "select sum(open_amount_rub) as open_rub, sum(overdue_amount_rub) as overdue_rub "
            "from marts.mart_receivables"
        )
        if mart["open_rub"] is not None and abs(float(mart["open_rub"]) - cur["open_rub"]) > 1:
            notes.append(
                f"mart_receivables on the same day: {fmt_rub(mart['open_rub'])} open, "
                f"{fmt_rub(mart['overdue_rub'])} overdue"
                + ("" if credit_notes else " (credit notes deducted)")
                + "."
            )
    return notes


def _overdue_clients(ctx: Context, aged: pd.DataFrame) -> Table:
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
