"""The business rules in Python: the one offer-block rule, and receivables aged on any day.

The rules and their thresholds are defined once, in the dbt seed `business_rules` (published as
`marts.business_rules`). The dbt models read it (`int_business_rules`; the macro
`offer_block_reason`; `int_invoices__aged`, `int_clients__offer_block`) to publish ageing and the
block on the warehouse's as-of date. Python reads the same rows here to apply the same rule on any
day: the next best action, scored as of a date, and the report, which ages receivables at every
period end. `offer_blocks` on the warehouse's as-of date gives what `int_clients__offer_block`
holds (tests/models/test_offer_block.py).

The rule: an open ticket of a blocking priority (high or critical), or money overdue at least
`offer_block_min_days_past_due` days (30) adding up to `offer_block_min_overdue_rub` (50,000 RUB,
VAT included), blocks sales offers to the client. Money overdue more than `write_off_after_days`
(180) is written off: it is not receivable any more and blocks nothing; more than
`doubtful_after_days` (90), it is doubtful.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from warehouse.dbt import DBT_PROJECT_DIR

log = logging.getLogger(__name__)

RULES_TABLE = "marts.business_rules"
RULES_SEED = DBT_PROJECT_DIR / "seeds" / "business_rules.csv"
CREDIT_NOTES_TABLE = "marts.fct_credit_notes"
BLOCK_TICKET = "open_urgent_ticket"
BLOCK_OVERDUE = "overdue_payment"
BLOCK_BOTH = "open_urgent_ticket_and_overdue_payment"

Query = Callable[[str, dict], pd.DataFrame]


class BusinessRulesMissing(LookupError):
    """A business rule the code needs is not in the seed: add the row to dbt/seeds/business_rules.csv."""


@dataclass(frozen=True)
class BusinessRules:
    """The rows of the seed business_rules, typed (see its descriptions for what each one does)."""

    offer_block_ticket_priorities: tuple[str, ...]
    offer_block_min_overdue_rub: float
    offer_block_min_days_past_due: int
    doubtful_after_days: int
    write_off_after_days: int
    cost_per_call_rub: float
    cost_per_email_rub: float
    cost_per_meeting_rub: float
    cost_per_event_rub: float
    cost_per_ticket_rub: float
    campaign_lift_window_days: int
    campaign_lift_min_clients: int
    campaign_lift_history_days: int

    @classmethod
    def from_values(cls, values: dict[str, str], where: str) -> BusinessRules:
        typed: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in values:
                raise BusinessRulesMissing(f"business rule {f.name!r} is missing from {where}")
            text = str(values[f.name]).strip()
            if f.type == "tuple[str, ...]":
                typed[f.name] = tuple(text.split())
            elif f.type == "int":
                typed[f.name] = int(float(text))
            else:
                typed[f.name] = float(text)
        return cls(**typed)


def has_table(query: Query, table: str) -> bool:
    """A `schema.table` is in the database `query` reads."""
    schema, name = table.split(".")
    found = query(
        "select count(*) as n from information_schema.tables where table_schema = $schema and table_name = $name",
        {"schema": schema, "name": name},
    )
    return bool(found["n"].iloc[0])


def credit_notes_sql(query: Query) -> str:
    """The credit notes for aged_invoices: the published ones, none when the warehouse predates them."""
    return CREDIT_NOTES_SQL if has_table(query, CREDIT_NOTES_TABLE) else NO_CREDIT_NOTES_SQL


def rules_from_seed() -> BusinessRules:
    """The rules as the dbt project's seed file states them (what the next build publishes)."""
    with open(RULES_SEED, encoding="utf-8", newline="") as fh:
        values = {row["rule_name"]: row["value"] for row in csv.DictReader(fh)}
    return BusinessRules.from_values(values, str(RULES_SEED))


def load_rules(query: Query) -> BusinessRules:
    """The rules the warehouse was built with (marts.business_rules), else the seed file's."""
    if not has_table(query, RULES_TABLE):
        log.warning("%s is not in the warehouse (built before it existed): using %s", RULES_TABLE, RULES_SEED)
        return rules_from_seed()
    rows = query(f"select rule_name, value from {RULES_TABLE}", {})
    return BusinessRules.from_values(dict(zip(rows["rule_name"], rows["value"], strict=True)), RULES_TABLE)


def blocked_reason(blocking_tickets, blocking_overdue_rub, rules: BusinessRules) -> np.ndarray:
    """The offer-block rule (the dbt macro offer_block_reason): the reason per client, None when not blocked.
    `blocking_tickets`: open tickets of a blocking priority; `blocking_overdue_rub`: money overdue at least
    offer_block_min_days_past_due days and not written off."""
    tickets = np.asarray(blocking_tickets, dtype=float) > 0
    overdue = np.asarray(blocking_overdue_rub, dtype=float) >= rules.offer_block_min_overdue_rub
    return np.where(
        tickets & overdue, BLOCK_BOTH, np.where(tickets, BLOCK_TICKET, np.where(overdue, BLOCK_OVERDUE, None))
    ).astype(object)


# Receivables on each of several days, with int_invoices__aged's rules: applied payments settle their
# invoice, unapplied ones the counterparty's oldest open invoices in the same currency first (FIFO by due
# date), credit notes reduce their invoice; open money overdue more than $write_off_after_days is written
# off, more than $doubtful_after_days doubtful. Amounts include VAT. {credit_notes}: a query of
# (invoice_id, credit_note_date, amount).
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
        cast(cast(open_amount * rub_per_unit as decimal(18, 2)) as double) as open_amount_rub,
        case when day > due_date then date_diff('day', due_date, day) else 0 end as days_past_due
    from settled
    where open_amount > 0
)

select
    day,
    client_id,
    open_amount_rub,
    days_past_due,
    days_past_due > $doubtful_after_days and days_past_due <= $write_off_after_days as is_doubtful,
    days_past_due > $write_off_after_days as is_written_off,
    case
        when days_past_due > $write_off_after_days then 'written_off'
        when days_past_due = 0 then 'not_due'
        when days_past_due <= 30 then '1-30'
        when days_past_due <= 60 then '31-60'
        when days_past_due <= 90 then '61-90'
        when days_past_due <= 180 then '91-180'
        else '180+'
    end as ageing_bucket
from aged
"""

# Tickets open at the end of each day (opened by then, not resolved by then), of a blocking priority.
BLOCKING_TICKETS_SQL = """
select days.day, tickets.client_id, count(*) as blocking_tickets
from marts.fct_tickets as tickets
join (select unnest($days)::date as day) as days
    on tickets.opened_date <= days.day
    and (tickets.is_open or tickets.resolved_at >= days.day + interval 1 day)
where tickets.client_id is not null
    and list_contains($priorities, tickets.priority)
group by 1, 2
"""

NO_CREDIT_NOTES_SQL = (
    "select null::varchar as invoice_id, null::date as credit_note_date, 0::double as amount where false"
)
CREDIT_NOTES_SQL = (
    f"select invoice_id, credit_note_date, cast(amount as double) as amount from {CREDIT_NOTES_TABLE}"
)


def aged_invoices(
    query: Query, days: Sequence[date], rules: BusinessRules, credit_notes_sql: str
) -> pd.DataFrame:
    """Open invoices at the end of each day: day, client_id, open_amount_rub, days_past_due, is_doubtful,
    is_written_off, ageing_bucket (one query for every day)."""
    frame = query(
        AGED_INVOICES_SQL.format(credit_notes=credit_notes_sql),
        {
            "days": list(days),
            "doubtful_after_days": rules.doubtful_after_days,
            "write_off_after_days": rules.write_off_after_days,
        },
    )
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def offer_blocks(query: Query, day: date, rules: BusinessRules, credit_notes: str) -> pd.DataFrame:
    """Every client with a blocking ticket or money overdue long enough to count at the end of `day`,
    indexed by client_id: blocking_tickets, blocking_overdue_amount_rub, blocking_max_days_past_due and
    sales_offer_blocked_reason (None when the rule does not block)."""
    aged = aged_invoices(query, [day], rules, credit_notes)
    counts = aged[
        ~aged["is_written_off"]
        & (aged["days_past_due"] > 0)
        & (aged["days_past_due"] >= rules.offer_block_min_days_past_due)
        & aged["client_id"].notna()
    ]
    overdue = counts.groupby("client_id").agg(
        blocking_overdue_amount_rub=("open_amount_rub", "sum"),
        blocking_max_days_past_due=("days_past_due", "max"),
    )
    tickets = query(
        BLOCKING_TICKETS_SQL, {"days": [day], "priorities": list(rules.offer_block_ticket_priorities)}
    )
    tickets = tickets.set_index("client_id")["blocking_tickets"]
    out = pd.DataFrame(index=overdue.index.union(tickets.index).rename("client_id"))
    out["blocking_tickets"] = tickets.reindex(out.index).fillna(0).astype(int)
    out["blocking_overdue_amount_rub"] = overdue["blocking_overdue_amount_rub"].reindex(out.index).fillna(0.0)
    out["blocking_max_days_past_due"] = (
        overdue["blocking_max_days_past_due"].reindex(out.index).fillna(0).astype(int)
    )
    out["sales_offer_blocked_reason"] = pd.Series(
        blocked_reason(out["blocking_tickets"], out["blocking_overdue_amount_rub"], rules),
        index=out.index,
        dtype=object,
    )
    return out
