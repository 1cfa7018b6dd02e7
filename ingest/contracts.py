"""Canonical contracts: one per source entity.

This module is the single source of truth for what an export must contain. It is
read by validation (ingest/validate.py), by the DuckDB table definitions
(ingest/load.py), by the sample-export generator, and by docs/exports.md (a test
fails when the docs and these contracts disagree).

Column types are logical types; `DUCKDB_TYPES` maps them to storage types.
- string:    free text, trimmed
- integer:   whole number
- decimal:   money or quantity; stored DECIMAL(18,2)
- date:      calendar date
- timestamp: point in time, UTC
- boolean:   true/false (also 1/0, yes/no, да/нет)
- inn:       Russian taxpayer number, 10 digits (organisation) or 12 (individual), check digits verified
- kpp:       Russian tax registration reason code, 9 characters (4 digits, 2 digits or capitals, 3 digits)
- email:     e-mail address, stored lower-case
- phone:     phone number, stored as digits with country code (+7...)
- enum:      one of `allowed`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

LogicalType = Literal[
    "string", "integer", "decimal", "date", "timestamp", "boolean", "inn", "kpp", "email", "phone", "enum"
]
Severity = Literal["reject", "flag"]

DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18,2)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "inn": "VARCHAR",
    "kpp": "VARCHAR",
    "email": "VARCHAR",
    "phone": "VARCHAR",
    "enum": "VARCHAR",
}

OFFICES = ("MSK", "SPB", "EKB", "NSK", "KZN", "NNV", "KRD", "VLD")
CAMPAIGN_RESPONSES = ("sent", "opened", "clicked", "registered", "attended", "responded", "held_out")
PRODUCT_LINES = ("licenses", "cloud", "hardware", "services", "support", "training")
CURRENCIES = ("RUB", "USD", "EUR", "KZT")


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    description: str
    required: bool = False
    allowed: tuple[str, ...] = ()
    min_value: float | None = None
    max_length: int = 4000
    # What an invalid non-empty value does to its row: reject sends the row to
    # quarantine; flag keeps the row, stores NULL and records the issue in _issues.
    invalid: Severity = "reject"
    pii: bool = False

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class Contract:
    entity: str
    source: Literal["finance", "crm", "web"]
    kind: Literal["snapshot", "event"]
    description: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    event_time: str | None = None
    rules: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.entity} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _c(name: str, type_: LogicalType, description: str, **kw) -> Column:
    return Column(name=name, type=type_, description=description, **kw)


# Lineage columns added by the loader to every raw table, in this order.
LINEAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("_source_file", "VARCHAR", "path of the export file the row came from"),
    ("_content_hash", "VARCHAR", "sha256 of the file's bytes"),
    ("_row_number", "BIGINT", "1-based record number in the file (header excluded)"),
    ("_batch_id", "VARCHAR", "id of the ingest batch"),
    ("_loaded_at", "TIMESTAMP", "when the row was loaded (UTC)"),
    ("_snapshot_date", "DATE", "for snapshot entities: the date of the snapshot; NULL for events"),
    ("_dialect", "VARCHAR", "the dialect the file was read with"),
    ("_issues", "VARCHAR[]", "non-fatal issues (flagged values set to NULL, repaired mojibake)"),
    ("_invalid_values", "JSON", "original text of flagged values that were set to NULL, by column"),
    ("_extras", "JSON", "columns the export had that the contract does not know, kept as text"),
)

CONTRACTS: dict[str, Contract] = {}


def _register(contract: Contract) -> Contract:
    for key in contract.key:
        contract.column(key)
    if contract.event_time:
        contract.column(contract.event_time)
    CONTRACTS[contract.entity] = contract
    return contract


# --------------------------------------------------------------------------- finance
_register(
    Contract(
        entity="counterparties",
        source="finance",
        kind="snapshot",
        description="Legal entities the accounting system invoices: one row per counterparty card.",
        grain="one row per counterparty per snapshot",
        key=("counterparty_id",),
        columns=(
            _c("counterparty_id", "string", "accounting's code of the counterparty", required=True),
            _c("name", "string", "name as written in accounting, with legal form", required=True),
            _c("inn", "inn", "taxpayer number; rows with a wrong check digit are quarantined"),
            _c("kpp", "kpp", "tax registration reason code (branch), organisations only"),
            _c("region", "string", "region of registration"),
            _c("address", "string", "legal address"),
            _c("created_date", "date", "when the card was created"),
        ),
    )
)
_register(
    Contract(
        entity="invoices",
        source="finance",
        kind="event",
        description="Invoices issued to counterparties, by the supplier's office and product line.",
        grain="one row per invoice",
        key=("invoice_id",),
        event_time="invoice_date",
        columns=(
            _c("invoice_id", "string", "invoice number, unique in accounting", required=True),
            _c("counterparty_id", "string", "counterparty invoiced", required=True),
            _c("invoice_date", "date", "date of issue", required=True),
            _c("due_date", "date", "payment due date"),
            _c("office_code", "enum", "supplier's office that issued it", required=True, allowed=OFFICES),
            _c("product_line", "enum", "product line of the invoice", required=True, allowed=PRODUCT_LINES),
            _c("amount", "decimal", "amount before VAT", required=True, min_value=0),
            _c("vat_amount", "decimal", "VAT on the amount", min_value=0),
            _c("currency", "enum", "ISO currency code", required=True, allowed=CURRENCIES),
            _c("deal_ref", "string", "CRM deal id when accounting recorded it"),
            _c(
                "cost_amount",
                "decimal",
                "cost of sales of what was invoiced, before VAT, in the invoice's currency; empty when "
                "accounting has not posted it (the product line's standard cost share is used then)",
                min_value=0,
            ),
        ),
    )
)
_register(
    Contract(
        entity="payments",
        source="finance",
        kind="event",
        description="Money received from counterparties, applied to an invoice where known.",
        grain="one row per payment",
        key=("payment_id",),
        event_time="payment_date",
        columns=(
            _c("payment_id", "string", "payment document number", required=True),
            _c("counterparty_id", "string", "counterparty that paid", required=True),
            _c("invoice_id", "string", "invoice the payment settles; empty when unapplied"),
            _c("payment_date", "date", "date the money arrived", required=True),
            _c("amount", "decimal", "amount paid", required=True, min_value=0),
            _c("currency", "enum", "ISO currency code", required=True, allowed=CURRENCIES),
        ),
    )
)
_register(
    Contract(
        entity="credit_notes",
        source="finance",
        kind="event",
        description="Credit notes that reduce an invoice (returns, discounts, corrections).",
        grain="one row per credit note",
        key=("credit_note_id",),
        event_time="credit_note_date",
        columns=(
            _c("credit_note_id", "string", "credit note number", required=True),
            _c("invoice_id", "string", "invoice it corrects", required=True),
            _c("counterparty_id", "string", "counterparty", required=True),
            _c("credit_note_date", "date", "date of issue", required=True),
            _c("amount", "decimal", "amount credited, positive", required=True, min_value=0),
            _c("currency", "enum", "ISO currency code", required=True, allowed=CURRENCIES),
            _c("reason", "string", "why it was issued"),
        ),
    )
)

# --------------------------------------------------------------------------- CRM
PARTNER_TIERS = ("distributor", "reseller", "agent")
ROLES = ("sales_manager", "account_manager", "support_agent", "marketing")
_register(
    Contract(
        entity="users",
        source="crm",
        kind="snapshot",
        description="CRM users: the supplier's managers, support agents and marketers.",
        grain="one row per user per snapshot",
        key=("user_id",),
        columns=(
            _c("user_id", "string", "CRM user id", required=True),
            _c("full_name", "string", "name of the employee", required=True, pii=True),
            _c("email", "email", "work e-mail", invalid="flag", pii=True),
            _c("office_code", "enum", "office the user works in", allowed=OFFICES),
            _c("role", "enum", "role", allowed=ROLES),
            _c("hired_date", "date", "date of hire"),
            _c("left_date", "date", "date the user left; empty while employed"),
        ),
    )
)
_register(
    Contract(
        entity="partners",
        source="crm",
        kind="snapshot",
        description="Partners that bring deals and serve end users: distributors, resellers under them, agents.",
        grain="one row per partner per snapshot",
        key=("partner_id",),
        columns=(
            _c("partner_id", "string", "CRM partner id", required=True),
            _c("name", "string", "partner company name", required=True),
            _c("partner_type", "enum", "tier of the partner", required=True, allowed=PARTNER_TIERS),
            _c("inn", "inn", "partner's taxpayer number", invalid="flag"),
            _c("region", "string", "partner's region"),
            _c("parent_partner_id", "string", "the partner above it in the chain (a reseller's distributor)"),
            _c(
                "commission_percent",
                "decimal",
                "commission paid to the partner, percent of the amount of the deals it brings",
                min_value=0,
            ),
        ),
    )
)
_register(
    Contract(
        entity="accounts",
        source="crm",
        kind="snapshot",
        description="CRM accounts (companies), optionally linked to a parent account.",
        grain="one row per account per snapshot",
        key=("account_id",),
        columns=(
            _c("account_id", "string", "CRM account id", required=True),
            _c("name", "string", "company name as typed in the CRM", required=True),
            _c("inn", "inn", "taxpayer number; invalid values are flagged and dropped", invalid="flag"),
            _c("kpp", "kpp", "tax registration reason code", invalid="flag"),
            _c("parent_account_id", "string", "parent account in the CRM hierarchy"),
            _c("region", "string", "region"),
            _c("website", "string", "company website"),
            _c("phone", "phone", "main company phone", invalid="flag"),
            _c("industry", "string", "industry"),
            _c("owner_user_id", "string", "manager who owns the account"),
            _c("office_code", "enum", "supplier's office serving the account", allowed=OFFICES),
            _c("created_at", "timestamp", "when the account was created"),
        ),
    )
)
_register(
    Contract(
        entity="contacts",
        source="crm",
        kind="snapshot",
        description="People at client companies.",
        grain="one row per contact per snapshot",
        key=("contact_id",),
        columns=(
            _c("contact_id", "string", "CRM contact id", required=True),
            _c("account_id", "string", "account the person works for now"),
            _c("full_name", "string", "person's name", required=True, pii=True),
            _c("email", "email", "e-mail", invalid="flag", pii=True),
            _c("phone", "phone", "phone", invalid="flag", pii=True),
            _c("job_title", "string", "position"),
            _c("is_active", "boolean", "false once the person left the account"),
            _c("created_at", "timestamp", "when the contact was created"),
        ),
    )
)
LEAD_CHANNELS = (
    "web_form", "ad", "event", "webinar", "email", "referral", "cold_call", "partner", "chat", "inbound_call",
)  # fmt: skip
_register(
    Contract(
        entity="leads",
        source="crm",
        kind="snapshot",
        description="Leads: prospects that asked or were found, converted or not.",
        grain="one row per lead per snapshot",
        key=("lead_id",),
        columns=(
            _c("lead_id", "string", "CRM lead id", required=True),
            _c("created_at", "timestamp", "when the lead was created", required=True),
            _c("source_channel", "enum", "where the lead came from", allowed=LEAD_CHANNELS),
            _c("company_name", "string", "company name as typed by the prospect"),
            _c("inn", "inn", "taxpayer number if given", invalid="flag"),
            _c("contact_name", "string", "name of the person", pii=True),
            _c("email", "email", "e-mail given", invalid="flag", pii=True),
            _c("phone", "phone", "phone given", invalid="flag", pii=True),
            _c("region", "string", "region if known"),
            _c("campaign_id", "string", "campaign that produced the lead"),
            _c("web_visitor_id", "string", "web visitor id when the lead came from the site"),
            _c(
                "status",
                "enum",
                "lead status",
                required=True,
                allowed=("new", "working", "qualified", "converted", "disqualified"),
            ),
            _c("converted_account_id", "string", "account created or matched on conversion"),
            _c("converted_deal_id", "string", "deal opened on conversion"),
            _c("converted_at", "timestamp", "when the lead was converted"),
            _c("owner_user_id", "string", "manager working the lead"),
        ),
    )
)
DEAL_STAGES = ("qualification", "proposal", "negotiation", "won", "lost")
_register(
    Contract(
        entity="deals",
        source="crm",
        kind="snapshot",
        description="Deals (opportunities) with their current stage.",
        grain="one row per deal per snapshot",
        key=("deal_id",),
        columns=(
            _c("deal_id", "string", "CRM deal id", required=True),
            _c("account_id", "string", "account the deal is with", required=True),
            _c("created_at", "timestamp", "when the deal was opened", required=True),
            _c("stage", "enum", "current stage", required=True, allowed=DEAL_STAGES),
            _c("amount", "decimal", "expected or won amount", min_value=0),
            _c("currency", "enum", "ISO currency code", allowed=CURRENCIES),
            _c("product_line", "enum", "product line", allowed=PRODUCT_LINES),
            _c("expected_close_date", "date", "expected close date while open"),
            _c("closed_at", "timestamp", "when the deal was won or lost"),
            _c("lost_reason", "string", "why it was lost"),
            _c("owner_user_id", "string", "manager who owns the deal"),
            _c("partner_id", "string", "partner (distributor, reseller or agent) that sold the deal"),
            _c("lead_id", "string", "lead the deal came from"),
            _c("campaign_id", "string", "primary campaign credited in the CRM"),
            _c("office_code", "enum", "supplier's office", allowed=OFFICES),
        ),
    )
)
_register(
    Contract(
        entity="deal_stage_changes",
        source="crm",
        kind="event",
        description="Every stage a deal entered, with the time (the CRM's stage history).",
        grain="one row per deal per stage entered",
        key=("deal_id", "stage", "changed_at"),
        event_time="changed_at",
        columns=(
            _c("deal_id", "string", "CRM deal id", required=True),
            _c("stage", "enum", "stage entered", required=True, allowed=DEAL_STAGES),
            _c("changed_at", "timestamp", "when it entered the stage", required=True),
            _c("amount", "decimal", "deal amount at that time", min_value=0),
        ),
    )
)
_register(
    Contract(
        entity="activities",
        source="crm",
        kind="event",
        description="Calls, e-mails, meetings and events logged in the CRM.",
        grain="one row per activity",
        key=("activity_id",),
        event_time="occurred_at",
        columns=(
            _c("activity_id", "string", "CRM activity id", required=True),
            _c(
                "activity_type",
                "enum",
                "kind of touch",
                required=True,
                allowed=("call", "email", "meeting", "event"),
            ),
            _c("direction", "enum", "who initiated it", allowed=("inbound", "outbound")),
            _c("occurred_at", "timestamp", "when it happened", required=True),
            _c("account_id", "string", "account"),
            _c("contact_id", "string", "contact"),
            _c("lead_id", "string", "lead, for touches with prospects"),
            _c("deal_id", "string", "deal it relates to"),
            _c("owner_user_id", "string", "employee who made or took it"),
            _c("duration_seconds", "integer", "duration of calls and meetings", min_value=0),
            _c("outcome", "string", "result as recorded"),
        ),
    )
)
_register(
    Contract(
        entity="tickets",
        source="crm",
        kind="snapshot",
        description="Support tickets with their current state.",
        grain="one row per ticket per snapshot",
        key=("ticket_id",),
        columns=(
            _c("ticket_id", "string", "ticket id", required=True),
            _c("account_id", "string", "account that raised it"),
            _c("contact_id", "string", "person who raised it"),
            _c("opened_at", "timestamp", "when it was opened", required=True),
            _c(
                "priority",
                "enum",
                "priority",
                required=True,
                allowed=("low", "normal", "high", "critical"),
            ),
            _c(
                "status",
                "enum",
                "current status",
                required=True,
                allowed=("open", "in_progress", "waiting", "resolved", "closed"),
            ),
            _c("resolved_at", "timestamp", "when it was resolved"),
            _c("category", "string", "topic"),
            _c("channel", "enum", "how it came in", allowed=("phone", "email", "portal", "chat")),
            _c("owner_user_id", "string", "support agent"),
            _c("partner_id", "string", "partner that raised it for its end user"),
        ),
    )
)
_register(
    Contract(
        entity="campaigns",
        source="crm",
        kind="snapshot",
        description="Marketing campaigns with their cost.",
        grain="one row per campaign per snapshot",
        key=("campaign_id",),
        columns=(
            _c("campaign_id", "string", "CRM campaign id", required=True),
            _c("name", "string", "campaign name", required=True),
            _c(
                "campaign_type",
                "enum",
                "kind",
                required=True,
                allowed=("email", "ads", "event", "webinar"),
            ),
            _c("start_date", "date", "first day", required=True),
            _c("end_date", "date", "last day"),
            _c("cost", "decimal", "total cost", min_value=0),
            _c("currency", "enum", "ISO currency code", allowed=CURRENCIES),
            _c("utm_campaign", "string", "utm_campaign tag used in its links"),
            _c("office_code", "enum", "office that ran it", allowed=OFFICES),
            _c("product_line", "enum", "product line the campaign promotes", allowed=PRODUCT_LINES),
        ),
    )
)
_register(
    Contract(
        entity="campaign_members",
        source="crm",
        kind="event",
        description=(
            "Who a campaign touched and how they responded; members held out as a control group "
            "(selected, deliberately not contacted) have the response held_out."
        ),
        grain="one row per campaign touch",
        key=("campaign_member_id",),
        event_time="touched_at",
        columns=(
            _c("campaign_member_id", "string", "member row id", required=True),
            _c("campaign_id", "string", "campaign", required=True),
            _c("contact_id", "string", "contact touched"),
            _c("lead_id", "string", "lead touched"),
            _c("account_id", "string", "account of the contact"),
            _c(
                "touched_at",
                "timestamp",
                "when they were touched (held out: when the campaign went out without them)",
                required=True,
            ),
            _c(
                "response",
                "enum",
                "furthest response; held_out for a member of the control group",
                required=True,
                allowed=CAMPAIGN_RESPONSES,
            ),
        ),
    )
)

# --------------------------------------------------------------------------- web
WEB_EVENT_TYPES = ("page_view", "form_submit", "chat_start", "chat_message", "ad_click")
_register(
    Contract(
        entity="web_events",
        source="web",
        kind="event",
        description="Site events: page views, form submits, chat and ad clicks.",
        grain="one row per web event",
        key=("event_id",),
        event_time="event_at",
        columns=(
            _c("event_id", "string", "event id", required=True),
            _c("event_at", "timestamp", "when it happened (UTC)", required=True),
            _c("visitor_id", "string", "anonymous browser id", required=True),
            _c("event_type", "enum", "kind of event", required=True, allowed=WEB_EVENT_TYPES),
            _c("page_url", "string", "page"),
            _c("referrer", "string", "referring URL"),
            _c("utm_source", "string", "utm_source"),
            _c("utm_medium", "string", "utm_medium"),
            _c("utm_campaign", "string", "utm_campaign"),
            _c("chat_session_id", "string", "chat session for chat events"),
            _c("form_company", "string", "company typed into a form"),
            _c("form_inn", "inn", "INN typed into a form", invalid="flag"),
            _c("form_email", "email", "e-mail typed into a form", invalid="flag", pii=True),
            _c("form_phone", "phone", "phone typed into a form", invalid="flag", pii=True),
            _c("lead_id", "string", "lead the form or chat created in the CRM"),
            _c("device", "enum", "device class", allowed=("desktop", "mobile", "tablet")),
            _c("geo_region", "string", "region from the IP address"),
        ),
    )
)


def get_contract(entity: str) -> Contract:
    try:
        return CONTRACTS[entity]
    except KeyError:
        known = ", ".join(sorted(CONTRACTS))
        raise KeyError(f"unknown entity {entity!r}; known entities: {known}") from None
