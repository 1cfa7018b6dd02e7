"""What the models read from the warehouse, loaded once per run, and its point-in-time cut.

`load_frames(con)` reads the marts the models need into thin pandas frames: dates become
day numbers (days since 1970-01-01, float, NaN when missing) so windows are plain
comparisons. Every source is optional: a table that is missing or empty gives an empty
frame, and `Frames.sources` says which sources have rows.

`Frames.before(as_of)` is the only way feature code sees the data: every event on or after
`as_of` is dropped, and the tables that are snapshots of the present (tickets, deals, leads)
are turned back into what was known on the day before `as_of` (a ticket resolved later is
open, a deal won later is open at the stage it had reached). Features computed from a cut
cannot see the future, whatever they do.

Known limits of the cut, kept because the warehouse does not record more:
- client resolution (which legal entities form a client) uses all data, as it stands today;
- a deal's amount is its latest amount, not the estimate it had on the day;
- the CRM's `is_active` flag of contacts and a lead's `status` are end states and are not read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

EPOCH = date(1970, 1, 1)
MARTS = "marts"
# Free e-mail providers: a lead writing from one of these did not give a company address.
PERSONAL_EMAIL_DOMAINS = (
    "gmail.com", "mail.ru", "yandex.ru", "ya.ru", "bk.ru", "inbox.ru", "list.ru", "rambler.ru",
    "outlook.com", "hotmail.com", "icloud.com", "yahoo.com",
)  # fmt: skip

SOURCE_FINANCE, SOURCE_CRM, SOURCE_WEB = "finance", "crm", "web"


def day_number(d: date) -> int:
    return (d - EPOCH).days


def from_day_number(n: float) -> date:
    return EPOCH + timedelta(days=int(n))


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, 1) if d.day == 1 else date(y, m + 1, min(d.day, 28))


def _days(expr: str) -> str:
    """SQL: a date or timestamp as days since 1970-01-01 (double, NULL stays NULL)."""
    return f"cast(date_diff('day', date '1970-01-01', cast({expr} as date)) as double)"


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


# Each query reads one mart; `{s}` is the marts schema. The columns are the contract with features.py.
QUERIES: dict[str, tuple[tuple[str, str], str]] = {
    "invoices": (
        (MARTS, "fct_invoices"),
        f"""
        select client_id, invoice_id, legal_entity_id, office_code, product_line, deal_id,
            {_days("invoice_date")} as day, {_days("coalesce(due_date, invoice_date)")} as due_day,
            cast(amount_rub as double) as amount_rub,
            cast(amount_with_vat_rub as double) as amount_with_vat_rub
        from {{s}}.fct_invoices
        where client_id is not null and invoice_date is not null
        order by invoice_date, invoice_id
        """,
    ),
    "payments": (
        (MARTS, "fct_payments"),
        f"""
        select client_id, invoice_id, {_days("payment_date")} as day, cast(amount_rub as double) as amount_rub
        from {{s}}.fct_payments
        where client_id is not null and payment_date is not null
        order by payment_date, payment_id
        """,
    ),
    "credit_notes": (
        ("staging", "stg_finance__credit_notes"),
        f"""
        select invoices.client_id, notes.invoice_id, {_days("notes.credit_note_date")} as day,
            cast(notes.amount * coalesce(invoices.rub_per_unit, 1) as double) as amount_rub
        from staging.stg_finance__credit_notes as notes
        inner join {{s}}.fct_invoices as invoices
            on invoices.invoice_id = notes.invoice_id
        where invoices.client_id is not null and notes.credit_note_date is not null
        order by notes.credit_note_date, notes.credit_note_id
        """,
    ),
    "interactions": (
        (MARTS, "fct_interactions"),
        f"""
        select client_id, lead_id, channel, interaction_type, direction, contact_key, manager_id,
            campaign_id, outcome, cast(duration_seconds as double) as duration_seconds,
            {_days("occurred_at")} as day
        from {{s}}.fct_interactions
        where channel <> 'support_ticket' and (client_id is not null or lead_id is not null)
        order by occurred_at, interaction_id
        """,
    ),
    "web": (
        (MARTS, "fct_web_events"),
        f"""
        select client_id, visitor_id, lead_id, event_type,
            coalesce(page_url like '%/pricing%' or page_url like '%/products/%', false) as is_product_page,
            {_days("event_at")} as day
        from {{s}}.fct_web_events
        where client_id is not null or lead_id is not null or visitor_id in (
            select web_visitor_id from pii.stg_crm__leads where web_visitor_id is not null)
        order by event_at, event_id
        """,
    ),
    "tickets": (
        (MARTS, "fct_tickets"),
        f"""
        select client_id, ticket_id, priority, {_days("opened_at")} as day,
            {_days("resolved_at")} as resolved_day,
            cast(epoch(resolved_at) - epoch(opened_at) as double) / 3600.0 as resolution_hours
        from {{s}}.fct_tickets
        where client_id is not null and opened_at is not null
        order by opened_at, ticket_id
        """,
    ),
    "deals": (
        (MARTS, "fct_deals"),
        f"""
        select deal_id, client_id, lead_id, product_line, office_code, cast(amount_rub as double) as amount_rub,
            {_days("created_at")} as day,
            {_days("coalesce(proposal_at, negotiation_at)")} as proposal_day,
            {_days("negotiation_at")} as negotiation_day,
            {_days("won_at")} as won_day,
            {_days("lost_at")} as lost_day
        from {{s}}.fct_deals
        where created_at is not null
        order by created_at, deal_id
        """,
    ),
    "owners": (
        (MARTS, "dim_client_owner_history"),
        f"""
        select client_id, owner_manager_id, previous_owner_manager_id, {_days("valid_from")} as day
        from {{s}}.dim_client_owner_history
        order by client_id, valid_from
        """,
    ),
    "managers": (
        (MARTS, "dim_managers"),
        f"select manager_id, {_days('left_date')} as left_day from {{s}}.dim_managers",
    ),
    "clients": (
        (MARTS, "dim_clients"),
        "select client_id, region from {s}.dim_clients order by client_id",
    ),
    "leads": (
        ("pii", "stg_crm__leads"),
        f"""
        select leads.lead_id, keys.client_id, leads.source_channel, leads.campaign_id,
            leads.web_visitor_id as visitor_id,
            {_days("leads.created_at")} as day,
            leads.inn is not null as has_inn,
            leads.company_name is not null as has_company,
            coalesce(leads.company_name like 'ИП %' or leads.company_name like '% ИП'
                or leads.company_name ilike 'IP %', false) as is_individual,
            coalesce(regexp_matches(leads.company_name, '(^|\\s)(АО|ПАО|AO|PAO|JSC)(\\s|$)'), false)
                as is_joint_stock,
            leads.phone is not null as has_phone,
            leads.email is not null as has_email,
            coalesce(lower(split_part(leads.email, '@', 2)) not in ({", ".join(f"'{d}'" for d in PERSONAL_EMAIL_DOMAINS)})
                and leads.email like '%@%.%', false) as has_company_email,
            leads.region is not null as has_region
        from pii.stg_crm__leads as leads
        left join intermediate.int_resolution_keys as keys
            on keys.resolution_key = 'leads:' || leads.lead_id
        where leads.created_at is not null
        order by leads.created_at, leads.lead_id
        """,
    ),
}

# what each frame needs to count as "there" (and which source it belongs to)
FRAME_SOURCE = {
    "invoices": SOURCE_FINANCE,
    "payments": SOURCE_FINANCE,
    "credit_notes": SOURCE_FINANCE,
    "interactions": SOURCE_CRM,
    "tickets": SOURCE_CRM,
    "deals": SOURCE_CRM,
    "owners": SOURCE_CRM,
    "leads": SOURCE_CRM,
    "web": SOURCE_WEB,
}


@dataclass(frozen=True)
class Frames:
    """The warehouse as the models see it (see the module docstring). Days are days since 1970-01-01."""

    invoices: pd.DataFrame
    payments: pd.DataFrame
    credit_notes: pd.DataFrame
    interactions: pd.DataFrame
    web: pd.DataFrame
    tickets: pd.DataFrame
    deals: pd.DataFrame
    owners: pd.DataFrame
    managers: pd.DataFrame
    clients: pd.DataFrame
    leads: pd.DataFrame
    as_of: date | None = None  # set on a cut: everything here happened before this day
    extra: dict = field(default_factory=dict, compare=False)

    # ------------------------------------------------------------------ what is there
    @property
    def sources(self) -> frozenset[str]:
        """Sources with at least one row: finance, crm, web."""
        present = {FRAME_SOURCE[name] for name in FRAME_SOURCE if len(getattr(self, name))}
        return frozenset(present)

    @property
    def first_day(self) -> date | None:
        days = [getattr(self, n)["day"].min() for n in FRAME_SOURCE if len(getattr(self, n))]
        days = [d for d in days if pd.notna(d)]
        return from_day_number(min(days)) if days else None

    @property
    def data_end(self) -> date | None:
        """The first day with no data: the day after the latest event of any source."""
        days = [getattr(self, n)["day"].max() for n in FRAME_SOURCE if len(getattr(self, n))]
        days = [d for d in days if pd.notna(d)]
        return from_day_number(max(days) + 1) if days else None

    @property
    def finance_start(self) -> date | None:
        if not len(self.invoices):
            return None
        return from_day_number(self.invoices["day"].min())

    # ------------------------------------------------------------------ point in time
    def before(self, as_of: date) -> Frames:
        """What was known at the start of `as_of`: events strictly before it, states as they were."""
        t = float(day_number(as_of))

        def cut(df: pd.DataFrame) -> pd.DataFrame:
            return df.loc[df["day"].to_numpy() < t].reset_index(drop=True)

        tickets = cut(self.tickets)
        later = tickets["resolved_day"].to_numpy() >= t
        tickets.loc[later, ["resolved_day", "resolution_hours"]] = np.nan

        deals = cut(self.deals)
        for col in ("proposal_day", "negotiation_day", "won_day", "lost_day"):
            deals.loc[deals[col].to_numpy() >= t, col] = np.nan

        managers = self.managers.copy()
        managers.loc[managers["left_day"].to_numpy() >= t, "left_day"] = np.nan
        return replace(
            self,
            invoices=cut(self.invoices),
            payments=cut(self.payments),
            credit_notes=cut(self.credit_notes),
            interactions=cut(self.interactions),
            web=cut(self.web),
            tickets=tickets,
            deals=deals,
            owners=cut(self.owners),
            managers=managers,
            leads=cut(self.leads),
            as_of=as_of,
            extra={},
        )

    def describe(self) -> str:
        return ", ".join(
            f"{f.name}: {len(getattr(self, f.name)):,}" for f in fields(self) if f.name in QUERIES
        )


def _empty_frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(f"select * from ({sql}) limit 0").df()


def load_frames(con: duckdb.DuckDBPyConnection) -> Frames:
    """Read the marts the models need (see QUERIES); a missing table gives an empty frame."""
    out: dict[str, pd.DataFrame] = {}
    for name, ((schema, table), template) in QUERIES.items():
        sql = template.replace("{s}", MARTS)
        needs = [(schema, table)]
        if name == "credit_notes":
            needs.append((MARTS, "fct_invoices"))
        if name == "leads":
            needs.append(("intermediate", "int_resolution_keys"))
        if name == "web":
            needs.append(("pii", "stg_crm__leads"))
        if all(_table_exists(con, s, t) for s, t in needs):
            out[name] = con.execute(sql).df()
        elif name == "web" and _table_exists(con, schema, table):
            # no CRM leads: only the events tied to a client
            out[name] = con.execute(
                sql.split(" or lead_id is not null")[0] + " order by event_at, event_id"
            ).df()
        else:
            log.info("%s.%s is missing: %s treated as empty", schema, table, name)
            out[name] = _placeholder(name)
    frames = Frames(**out)
    log.info("loaded %s", frames.describe())
    return frames


def _placeholder(name: str) -> pd.DataFrame:
    """An empty frame with the columns a query would have returned."""
    cols = {
        "invoices": ["client_id", "invoice_id", "legal_entity_id", "office_code", "product_line", "deal_id",
                     "day", "due_day", "amount_rub", "amount_with_vat_rub"],
        "payments": ["client_id", "invoice_id", "day", "amount_rub"],
        "credit_notes": ["client_id", "invoice_id", "day", "amount_rub"],
        "interactions": ["client_id", "lead_id", "channel", "interaction_type", "direction", "contact_key",
                         "manager_id", "campaign_id", "outcome", "duration_seconds", "day"],
        "web": ["client_id", "visitor_id", "lead_id", "event_type", "is_product_page", "day"],
        "tickets": ["client_id", "ticket_id", "priority", "day", "resolved_day", "resolution_hours"],
        "deals": ["deal_id", "client_id", "lead_id", "product_line", "office_code", "amount_rub", "day",
                  "proposal_day", "negotiation_day", "won_day", "lost_day"],
        "owners": ["client_id", "owner_manager_id", "previous_owner_manager_id", "day"],
        "managers": ["manager_id", "left_day"],
        "clients": ["client_id", "region"],
        "leads": ["lead_id", "client_id", "source_channel", "campaign_id", "visitor_id", "day", "has_inn",
                  "has_company", "is_individual", "is_joint_stock", "has_phone", "has_email",
                  "has_company_email", "has_region"],
    }[name]  # fmt: skip
    numeric = {"day", "due_day", "amount_rub", "amount_with_vat_rub", "duration_seconds", "resolved_day",
               "resolution_hours", "proposal_day", "negotiation_day", "won_day", "lost_day", "left_day"}  # fmt: skip
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in numeric else "object") for c in cols})
