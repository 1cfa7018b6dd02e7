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
NO_VALUE = "none"  # product line or office not given


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
            cast(amount_with_vat_rub as double) as amount_with_vat_rub,
            cast(cost_of_sales_rub as double) as cost_of_sales_rub
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
        select client_id, lead_id, channel,
            interaction_type like 'campaign_%' as is_campaign,
            coalesce(direction = 'inbound', false) as is_inbound,
            -- how far a campaign touch went: sent 0, opened 1, clicked or registered 2, responded or attended 3
            case when interaction_type like 'campaign_%' then
                case outcome when 'sent' then 0 when 'opened' then 1 when 'clicked' then 2
                    when 'registered' then 2 when 'responded' then 3 when 'attended' then 3 end
            end as response_level,
            case when contact_key is null then -1 else dense_rank() over (order by contact_key) - 1 end
                as contact_key_code,
            case when manager_id is null then -1 else dense_rank() over (order by manager_id) - 1 end
                as manager_id_code,
            cast(duration_seconds as double) as duration_seconds,
            {_days("occurred_at")} as day
        from {{s}}.fct_interactions
        where channel <> 'support_ticket' and (client_id is not null or lead_id is not null)
        order by occurred_at, interaction_id
        """,
    ),
    "web": (
        (MARTS, "fct_web_events"),
        f"""
        select events.client_id, events.lead_id, leads.lead_id as visitor_lead_id, events.event_type,
            coalesce(events.page_url like '%/pricing%' or events.page_url like '%/products/%', false)
                as is_product_page,
            {_days("events.event_at")} as day
        from {{s}}.fct_web_events as events
        left join (
            select web_visitor_id, min(lead_id) as lead_id
            from pii.stg_crm__leads
            where web_visitor_id is not null
            group by web_visitor_id
        ) as leads
            on leads.web_visitor_id = events.visitor_id
        where events.client_id is not null or events.lead_id is not null or leads.lead_id is not null
        order by events.event_at, events.event_id
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
        where valid_from is not null
        order by valid_from, client_id
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

WEB_WITHOUT_LEADS = f"""
    select client_id, lead_id, cast(null as varchar) as visitor_lead_id, event_type,
        coalesce(page_url like '%/pricing%' or page_url like '%/products/%', false) as is_product_page,
        {_days("event_at")} as day
    from {{s}}.fct_web_events
    where client_id is not null
    order by event_at, event_id
"""

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
    # every client and lead id, sorted: the integer columns `client` and `lead` index into these
    client_ids: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object), compare=False)
    lead_ids: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object), compare=False)

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
            # every event frame is sorted by day (load_frames checks), so the past is a prefix
            return df.iloc[: int(np.searchsorted(df["day"].to_numpy(), t, side="left"))]

        tickets = cut(self.tickets).copy()
        later = tickets["resolved_day"].to_numpy() >= t
        tickets.loc[later, ["resolved_day", "resolution_hours"]] = np.nan

        deals = cut(self.deals).copy()
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
        )

    def describe(self) -> str:
        return ", ".join(
            f"{f.name}: {len(getattr(self, f.name)):,}" for f in fields(self) if f.name in QUERIES
        )


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """A query's result as plain numpy columns: float or bool, and object (None for NULL) for text."""
    columns = {}
    for name, values in con.execute(sql).fetchnumpy().items():
        if isinstance(values, np.ma.MaskedArray):
            if values.dtype == object:
                values = values.filled(None)
            elif values.dtype.kind == "f":
                values = values.filled(np.nan)
            elif values.dtype.kind == "b":
                values = values.filled(False)
            else:
                values = values.astype(float).filled(np.nan)
        columns[name] = pd.Series(values, dtype=object if values.dtype == object else values.dtype)
    return pd.DataFrame(columns)


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
            out[name] = _fetch(con, sql)
        elif name == "web" and _table_exists(con, schema, table):
            # no CRM leads: only the events tied to a client
            out[name] = con.execute(
                sql.split(" or lead_id is not null")[0] + " order by event_at, event_id"
            ).df()
        else:
            log.info("%s.%s is missing: %s treated as empty", schema, table, name)
            out[name] = _placeholder(name)
    frames = _encode(out)
    log.info("loaded %s", frames.describe())
    return frames


# string columns that features count distinct values of: they get an integer `<name>_code` column
DISTINCT_KEYS = ("contact_key", "manager_id", "product_line", "office_code", "legal_entity_id")


def _encode(out: dict[str, pd.DataFrame]) -> Frames:
    """Plain numpy columns (object for text), integer codes for ids, and the checks the cut relies on."""
    for name, df in out.items():
        for col in df.columns:
            if df[col].dtype != object and not pd.api.types.is_numeric_dtype(df[col]):
                df[col] = df[col].astype(object).where(df[col].notna(), None)
        if "day" in df.columns and name in FRAME_SOURCE:
            day = df["day"].to_numpy()
            if len(day) and (np.isnan(day).any() or (np.diff(day) < 0).any()):
                raise ValueError(f"frame {name} must be sorted by day with no missing day (see QUERIES)")
    clients = pd.Index(
        sorted(
            {c for df in out.values() if "client_id" in df.columns for c in df["client_id"].dropna().unique()}
        ),
        dtype=object,
    )
    leads = pd.Index(sorted(out["leads"]["lead_id"].dropna().unique()), dtype=object)
    for df in out.values():
        if "client_id" in df.columns:
            df["client"] = clients.get_indexer(df["client_id"])
        if "lead_id" in df.columns:
            df["lead"] = leads.get_indexer(df["lead_id"])
        for col in DISTINCT_KEYS:
            if col in df.columns and col + "_code" not in df.columns:
                df[col + "_code"] = pd.factorize(df[col], use_na_sentinel=True)[0]
    # the forecast's series: product line x office
    for name in ("invoices", "deals"):
        df = out[name]
        df["series"] = (
            df["product_line"].fillna(NO_VALUE).astype(str)
            + "|"
            + df["office_code"].fillna(NO_VALUE).astype(str)
        ).astype(object)
    # web events of a lead's browser count for the lead (the CRM stores the lead's visitor id)
    out["web"]["visitor_lead"] = leads.get_indexer(out["web"]["visitor_lead_id"])
    # payments and credit notes point at their invoice's row
    invoice_row = pd.Index(out["invoices"]["invoice_id"], dtype=object)
    for name in ("payments", "credit_notes"):
        out[name]["invoice_row"] = invoice_row.get_indexer(out[name]["invoice_id"])
    return Frames(**out, client_ids=clients, lead_ids=leads)


def _placeholder(name: str) -> pd.DataFrame:
    """An empty frame with the columns a query would have returned."""
    cols = {
        "invoices": ["client_id", "invoice_id", "legal_entity_id", "office_code", "product_line", "deal_id",
                     "day", "due_day", "amount_rub", "amount_with_vat_rub", "cost_of_sales_rub"],
        "payments": ["client_id", "invoice_id", "day", "amount_rub"],
        "credit_notes": ["client_id", "invoice_id", "day", "amount_rub"],
        "interactions": ["client_id", "lead_id", "channel", "is_campaign", "is_inbound", "response_level",
                         "contact_key_code", "manager_id_code", "duration_seconds", "day"],
        "web": ["client_id", "lead_id", "visitor_lead_id", "event_type", "is_product_page", "day"],
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
    numeric = {"day", "due_day", "amount_rub", "amount_with_vat_rub", "cost_of_sales_rub", "duration_seconds",
               "resolved_day", "resolution_hours", "proposal_day", "negotiation_day", "won_day", "lost_day",
               "left_day", "response_level", "contact_key_code", "manager_id_code"}  # fmt: skip
    flags = {"is_campaign", "is_inbound", "is_product_page"}
    return pd.DataFrame(
        {c: pd.Series(dtype="float64" if c in numeric else bool if c in flags else "object") for c in cols}
    )
