"""Our tables reshaped into the files a vendor exports: Salesforce objects, Bitrix24 lists, GA4 events.

A `VendorFile` lists the file's primary columns (each carries one contract column, typed as in a
`Table`, and is where faults are planted), the columns derived from the primaries' final text
(flags such as IsClosed, name parts, ids of the other kind) and constants. Faults are planted on
the primaries, so every planted fault sits in a field the dialect reads back into the column the
fault is about; derived columns follow the faulted text, so they never contradict it.

What each file carries is read from the dialect (ingest/dialects/): the codes written are the first
the dialect maps to each of our values, so what we write is what we read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ingest.contracts import CONTRACTS, Column
from ingest.dialects.bitrix24 import BITRIX24
from ingest.dialects.ga4 import GA4
from ingest.dialects.model import Dialect
from ingest.dialects.salesforce import KEY_PREFIXES, SALESFORCE
from ingest.parsing import derive_key
from sample_exports.clock import NULL
from sample_exports.ids import id_numbers, salesforce_ids
from sample_exports.params import SECONDS_PER_DAY

Texts = dict[str, np.ndarray]


@dataclass
class Primary:
    header: str
    column: Column  # type, required, allowed (the export's codes), minimum: for formatting and faults
    values: np.ndarray  # typed as in writers.Table
    hidden: bool = False  # planted and used by derived columns, not written
    faults: bool = True  # False for a field read only under a condition a fault could not follow
    format_type: str = ""  # the type the values are written as (the column's, unless faults=False)


@dataclass
class VendorFile:
    stem: str  # the vendor's name for the file (Opportunity, deal, events)
    entity: str
    primaries: list[Primary]
    key: str  # primary whose text gets '-1' on a faulty copy (faults.py)
    derived: dict[str, Callable[[Texts], np.ndarray]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()  # written columns, in order
    truth_ids: np.ndarray | None = None  # the record id each table row loads with (source_records)


@dataclass
class Lookups:
    user_names: dict[str, str] = field(default_factory=dict)  # user id (as written) -> full name


# ---------------------------------------------------------------------------- helpers
def _column(dialect: Dialect, entity: str, column: str, name: str | None = None, **changes) -> Column:
    """The contract column, renamed, with the export's codes as its allowed values."""
    col = CONTRACTS[entity].column(column)
    fields = dialect.fields_for(entity, column)
    if fields and fields[0].values:
        changes.setdefault("allowed", tuple(v for v, _ in fields[0].values))
    return dataclasses.replace(col, name=name or column, **changes)


def _codes(dialect: Dialect, entity: str, column: str, values: np.ndarray) -> np.ndarray:
    """Our values -> the codes the export writes for them."""
    f = dialect.field_for(entity, column)
    if not f.values:
        return values
    out = np.empty(len(values), dtype=object)
    for ours in {v for v in values.tolist() if v is not None}:
        out[values == ours] = f.written(ours)
    return out


def _primary(dialect: Dialect, entity: str, header: str, column: str, values, **kw) -> Primary:
    name = kw.pop("name", None)
    faults = kw.pop("faults", True)
    hidden = kw.pop("hidden", False)
    col = _column(dialect, entity, column, name=name, **kw)
    format_type = col.type
    values = np.asarray(values)
    if col.allowed and values.dtype == object:
        values = _codes(dialect, entity, column, values)
    if not faults:
        col = dataclasses.replace(col, type="string", required=False, min_value=None, allowed=())
    return Primary(header, col, values, hidden=hidden, faults=faults, format_type=format_type)


def _either(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.where(np.array([v is not None for v in first.tolist()], dtype=bool), first, second)


def _present(values: np.ndarray) -> np.ndarray:
    return np.array([v is not None for v in values.tolist()], dtype=bool)


def _words(texts: np.ndarray, which: int | None) -> np.ndarray:
    """A word of each text (None when absent); which=None: every word after the first two."""
    out = np.empty(len(texts), dtype=object)
    for i, t in enumerate(texts.tolist()):
        if not t:
            continue
        parts = t.split(" ")
        if which is None:
            out[i] = " ".join(parts[2:]) or None
        else:
            out[i] = parts[which] if len(parts) > which else None
    return out


def _in(texts: np.ndarray, codes: tuple[str, ...], yes: str, no: str) -> np.ndarray:
    lowered = {c.lower() for c in codes}
    return np.array([yes if t and t.lower() in lowered else no for t in texts.tolist()], dtype=object)


def _date_part(texts: np.ndarray, length: int = 10) -> np.ndarray:
    return np.array([t[:length] if t else None for t in texts.tolist()], dtype=object)


def _at(days: np.ndarray, hour: int) -> np.ndarray:
    """Days -> seconds at an hour of the day (UTC), empty stays empty."""
    return np.where(days == NULL, NULL, days * SECONDS_PER_DAY + hour * 3600)


def _sequence(prefix: str, n: int, width: int = 8) -> np.ndarray:
    return np.strings.add(prefix, np.strings.zfill(np.arange(1, n + 1).astype(str), width)).astype(object)


# ---------------------------------------------------------------------------- Salesforce
SF = SALESFORCE
_SF_CLOSED = tuple(v for v, ours in SF.field_for("deals", "stage").values if ours in ("won", "lost"))
_SF_WON = tuple(v for v, ours in SF.field_for("deals", "stage").values if ours == "won")
_SF_CONVERTED = tuple(v for v, ours in SF.field_for("leads", "status").values if ours == "converted")
_SF_CASE_CLOSED = tuple(v for v, ours in SF.field_for("tickets", "status").values if ours == "closed")
_SF_RESPONDED = ("Opened", "Clicked", "Registered", "Attended", "Responded")


def _last_names(t: Texts) -> np.ndarray:
    """Names are written surname first, as Salesforce shows them in a Russian locale."""
    return _words(t["Name"], 0)


def _first_names(t: Texts) -> np.ndarray:
    out = np.empty(len(t["Name"]), dtype=object)
    for i, v in enumerate(t["Name"].tolist()):
        if v and " " in v:
            out[i] = v.split(" ", 1)[1]
    return out


def _short_ids(values: np.ndarray) -> np.ndarray:
    """15-character ids, as report exports and URLs carry them."""
    return np.array([v[:15] if v else None for v in values.tolist()], dtype=object)


def salesforce_files(table, period: str, lookups: Lookups) -> list[VendorFile]:
    e, c = table.entity, table.columns
    # event files of odd months refer to other records by 15-character ids (ingest makes them 18)
    short = CONTRACTS[e].kind == "event" and int(period[5:7]) % 2 == 1
    ref = _short_ids if short else (lambda v: v)

    def p(header, column, values=None, **kw):
        return _primary(SF, e, header, column, c[column] if values is None else values, **kw)

    if e == "users":
        left = c["left_date"]
        return [
            VendorFile(
                "User",
                e,
                [
                    p("Id", "user_id"),
                    p("Name", "full_name"),
                    p("Email", "email"),
                    p("Division", "office_code"),
                    p("Department", "role"),
                    p("CreatedDate", "hired_date", _at(c["hired_date"], 6), type="timestamp"),
                    p(
                        "left_date",
                        "left_date",
                        _at(left, 15),
                        type="timestamp",
                        hidden=True,
                    ),
                ],
                key="Id",
                derived={
                    "FirstName": _first_names,
                    "LastName": _last_names,
                    "Username": lambda t: t["Email"],
                    "IsActive": lambda t: np.where(_present(t["left_date"]), "false", "true").astype(object),
                    "LastModifiedDate": lambda t: _either(
                        t["left_date"], np.full(len(t["Id"]), _SF_LAST_CHANGE)
                    ),
                },
                order=(
                    "Id",
                    "Username",
                    "LastName",
                    "FirstName",
                    "Name",
                    "Division",
                    "Department",
                    "Email",
                    "IsActive",
                    "CreatedDate",
                    "LastModifiedDate",
                ),
            )
        ]
    if e == "accounts":
        return [
            VendorFile(
                "Account",
                e,
                [
                    p("Id", "account_id"),
                    p("Name", "name"),
                    p("INN__c", "inn"),
                    p("KPP__c", "kpp"),
                    p("ParentId", "parent_account_id"),
                    p("BillingState", "region"),
                    p("Website", "website"),
                    p("Phone", "phone"),
                    p("Industry", "industry"),
                    p("OwnerId", "owner_user_id"),
                    p("Office__c", "office_code"),
                    p("CreatedDate", "created_at"),
                ],
                key="Id",
                constants={"IsDeleted": "false", "BillingCountry": "Russia"},
                order=(
                    "Id",
                    "IsDeleted",
                    "Name",
                    "ParentId",
                    "BillingState",
                    "BillingCountry",
                    "Phone",
                    "Website",
                    "Industry",
                    "OwnerId",
                    "CreatedDate",
                    "INN__c",
                    "KPP__c",
                    "Office__c",
                ),
                truth_ids=c["account_id"],
            )
        ]
    if e == "contacts":
        return [
            VendorFile(
                "Contact",
                e,
                [
                    p("Id", "contact_id"),
                    p("AccountId", "account_id"),
                    p("Name", "full_name"),
                    p("Email", "email"),
                    p("Phone", "phone"),
                    p("Title", "job_title"),
                    p("Active__c", "is_active"),
                    p("CreatedDate", "created_at"),
                ],
                key="Id",
                derived={"FirstName": _first_names, "LastName": _last_names},
                constants={"IsDeleted": "false"},
                order=(
                    "Id",
                    "IsDeleted",
                    "AccountId",
                    "LastName",
                    "FirstName",
                    "Name",
                    "Phone",
                    "Email",
                    "Title",
                    "CreatedDate",
                    "Active__c",
                ),
            )
        ]
    if e == "leads":
        conv = c["converted_at"]
        return [
            VendorFile(
                "Lead",
                e,
                [
                    p("Id", "lead_id"),
                    p("CreatedDate", "created_at"),
                    p("LeadSource", "source_channel"),
                    p("Company", "company_name"),
                    p("INN__c", "inn"),
                    p("Name", "contact_name"),
                    p("Email", "email"),
                    p("Phone", "phone"),
                    p("State", "region"),
                    p("Web_Visitor_Id__c", "web_visitor_id"),
                    p("Status", "status"),
                    p("ConvertedAccountId", "converted_account_id"),
                    p("ConvertedOpportunityId", "converted_deal_id"),
                    p(
                        "ConvertedDate",
                        "converted_at",
                        np.where(conv == NULL, NULL, conv // SECONDS_PER_DAY),
                        type="date",
                    ),
                    p("OwnerId", "owner_user_id"),
                ],
                key="Id",
                derived={
                    "FirstName": _first_names,
                    "LastName": _last_names,
                    "IsConverted": lambda t: _in(t["Status"], _SF_CONVERTED, "true", "false"),
                },
                constants={"IsDeleted": "false"},
                order=(
                    "Id",
                    "IsDeleted",
                    "LastName",
                    "FirstName",
                    "Name",
                    "Company",
                    "State",
                    "Phone",
                    "Email",
                    "LeadSource",
                    "Status",
                    "OwnerId",
                    "IsConverted",
                    "ConvertedDate",
                    "ConvertedAccountId",
                    "ConvertedOpportunityId",
                    "CreatedDate",
                    "INN__c",
                    "Web_Visitor_Id__c",
                ),
                truth_ids=c["lead_id"],
            )
        ]
    if e == "deals":
        close = np.where(c["expected_close_date"] != NULL, c["expected_close_date"], c["closed_at"])
        close = np.where(
            close == NULL, NULL, np.where(c["expected_close_date"] != NULL, close, close // SECONDS_PER_DAY)
        )
        return [
            VendorFile(
                "Opportunity",
                e,
                [
                    p("Id", "deal_id"),
                    p("AccountId", "account_id"),
                    p("CreatedDate", "created_at"),
                    p("StageName", "stage"),
                    p("Amount", "amount"),
                    p("CurrencyIsoCode", "currency"),
                    p("Product_Line__c", "product_line"),
                    p("CloseDate", "expected_close_date", close, name="CloseDate"),
                    p("Loss_Reason__c", "lost_reason"),
                    p("OwnerId", "owner_user_id"),
                    p("PartnerAccountId", "partner_id"),
                    p("CampaignId", "campaign_id"),
                    p("Office__c", "office_code"),
                ],
                key="Id",
                derived={
                    "IsClosed": lambda t: _in(t["StageName"], _SF_CLOSED, "true", "false"),
                    "IsWon": lambda t: _in(t["StageName"], _SF_WON, "true", "false"),
                    "Name": lambda t: np.array(
                        [f"Opportunity {v[-6:]}" if v else None for v in t["Id"].tolist()]
                    ),
                },
                constants={"IsDeleted": "false"},
                order=(
                    "Id",
                    "IsDeleted",
                    "AccountId",
                    "Name",
                    "StageName",
                    "Amount",
                    "CloseDate",
                    "IsClosed",
                    "IsWon",
                    "CurrencyIsoCode",
                    "CampaignId",
                    "OwnerId",
                    "CreatedDate",
                    "PartnerAccountId",
                    "Product_Line__c",
                    "Loss_Reason__c",
                    "Office__c",
                ),
            )
        ]
    if e == "deal_stage_changes":
        return [
            VendorFile(
                "OpportunityHistory",
                e,
                [
                    p("OpportunityId", "deal_id", ref(c["deal_id"])),
                    p("StageName", "stage"),
                    p("CreatedDate", "changed_at"),
                    p("Amount", "amount"),
                ],
                key="OpportunityId",
                derived={"Id": lambda t: _history_ids(len(t["OpportunityId"]), period)},
                constants={"IsDeleted": "false"},
                order=("Id", "OpportunityId", "CreatedDate", "StageName", "Amount", "IsDeleted"),
            )
        ]
    if e == "activities":
        return _salesforce_activities(table, period, ref)
    if e == "tickets":
        return [
            VendorFile(
                "Case",
                e,
                [
                    p("Id", "ticket_id"),
                    p("AccountId", "account_id"),
                    p("ContactId", "contact_id"),
                    p("CreatedDate", "opened_at"),
                    p("Priority", "priority"),
                    p("Status", "status"),
                    p("ClosedDate", "resolved_at"),
                    p("Type", "category"),
                    p("Origin", "channel"),
                    p("OwnerId", "owner_user_id"),
                ],
                key="Id",
                derived={
                    "CaseNumber": lambda t: _sequence("", len(t["Id"])),
                    "IsClosed": lambda t: _in(t["Status"], _SF_CASE_CLOSED, "true", "false"),
                },
                constants={"IsDeleted": "false"},
                order=(
                    "Id",
                    "IsDeleted",
                    "CaseNumber",
                    "ContactId",
                    "AccountId",
                    "Type",
                    "Status",
                    "Origin",
                    "Priority",
                    "IsClosed",
                    "ClosedDate",
                    "OwnerId",
                    "CreatedDate",
                ),
            )
        ]
    if e == "campaigns":
        return [
            VendorFile(
                "Campaign",
                e,
                [
                    p("Id", "campaign_id"),
                    p("Name", "name"),
                    p("Type", "campaign_type"),
                    p("StartDate", "start_date"),
                    p("EndDate", "end_date"),
                    p("ActualCost", "cost"),
                    p("CurrencyIsoCode", "currency"),
                    p("UTM_Campaign__c", "utm_campaign"),
                    p("Office__c", "office_code"),
                ],
                key="Id",
                constants={"IsDeleted": "false", "Status": "Completed"},
                order=(
                    "Id",
                    "IsDeleted",
                    "Name",
                    "Type",
                    "Status",
                    "StartDate",
                    "EndDate",
                    "CurrencyIsoCode",
                    "ActualCost",
                    "UTM_Campaign__c",
                    "Office__c",
                ),
            )
        ]
    if e == "campaign_members":
        return [
            VendorFile(
                "CampaignMember",
                e,
                [
                    p("Id", "campaign_member_id"),
                    p("CampaignId", "campaign_id", ref(c["campaign_id"])),
                    p("ContactId", "contact_id", ref(c["contact_id"])),
                    p("LeadId", "lead_id", ref(c["lead_id"])),
                    p("AccountId", "account_id", ref(c["account_id"])),
                    p("CreatedDate", "touched_at"),
                    p("Status", "response"),
                ],
                key="Id",
                derived={"HasResponded": lambda t: _in(t["Status"], _SF_RESPONDED, "true", "false")},
                constants={"IsDeleted": "false"},
                order=(
                    "Id",
                    "IsDeleted",
                    "CampaignId",
                    "LeadId",
                    "ContactId",
                    "AccountId",
                    "Status",
                    "HasResponded",
                    "CreatedDate",
                ),
            )
        ]
    raise KeyError(f"salesforce has no object for {e}")


_SF_LAST_CHANGE = "2026-01-15T09:00:00.000Z"


def _history_ids(n: int, period: str) -> np.ndarray:
    month = int(period[:4]) * 12 + int(period[5:7])
    return salesforce_ids(KEY_PREFIXES["OpportunityHistory"], month * 1_000_000 + np.arange(1, n + 1))


def _salesforce_activities(table, period: str, ref) -> list[VendorFile]:
    c, e = table.columns, table.entity
    kind = c["activity_type"]
    _, numbers = id_numbers(c["activity_id"])
    files = []
    for stem, types in (("Task", ("call", "email")), ("Event", ("meeting", "event"))):
        rows = np.flatnonzero(np.isin(kind, types))
        sub = {k: v[rows] for k, v in c.items()}
        ids = salesforce_ids(KEY_PREFIXES[stem], numbers[rows])
        who = _either(sub["contact_id"], sub["lead_id"])
        what = _either(sub["deal_id"], sub["account_id"])

        def p(header, column, values, **kw):
            return _primary(SF, e, header, column, values, **kw)

        primaries = [
            p("Id", "activity_id", ids),
            p("Type", "activity_type", sub["activity_type"]),
            p("AccountId", "account_id", ref(sub["account_id"])),
            p("WhoId", "contact_id", ref(who), name="WhoId"),
            p("WhatId", "deal_id", ref(what), name="WhatId"),
            p("OwnerId", "owner_user_id", ref(sub["owner_user_id"])),
        ]
        if stem == "Task":
            call = sub["activity_type"] == "call"
            primaries += [
                p("CallType", "direction", np.where(call, sub["direction"], None).astype(object)),
                p("CompletedDateTime", "occurred_at", sub["occurred_at"]),
                p("CallDurationInSeconds", "duration_seconds", np.where(call, sub["duration_seconds"], NULL)),
                p("CallDisposition", "outcome", sub["outcome"]),
            ]
            derived = {
                "ActivityDate": lambda t: _date_part(t["CompletedDateTime"]),
                "TaskSubtype": lambda t: t["Type"],
                "Status": lambda t: np.full(len(t["Id"]), "Completed", dtype=object),
            }
            order = (
                "Id",
                "WhoId",
                "WhatId",
                "ActivityDate",
                "Status",
                "OwnerId",
                "Type",
                "TaskSubtype",
                "AccountId",
                "CallDurationInSeconds",
                "CallType",
                "CallDisposition",
                "CompletedDateTime",
            )
        else:
            minutes = np.where(sub["duration_seconds"] == NULL, NULL, (sub["duration_seconds"] + 30) // 60)
            primaries += [
                p("ActivityDateTime", "occurred_at", sub["occurred_at"]),
                p("DurationInMinutes", "duration_seconds", minutes),
            ]
            derived = {
                "ActivityDate": lambda t: _date_part(t["ActivityDateTime"]),
                "StartDateTime": lambda t: t["ActivityDateTime"],
            }
            order = (
                "Id",
                "WhoId",
                "WhatId",
                "ActivityDateTime",
                "ActivityDate",
                "DurationInMinutes",
                "StartDateTime",
                "AccountId",
                "OwnerId",
                "Type",
                "EventSubtype",
            )
        files.append(
            VendorFile(
                stem,
                e,
                primaries,
                key="Id",
                derived=derived,
                constants={"EventSubtype": "Event"} if stem == "Event" else {},
                order=order,
            )
        )
    return files


# ---------------------------------------------------------------------------- Bitrix24
BX = BITRIX24
_BX_CLOSED = tuple(v for v, ours in BX.field_for("deals", "stage").values if ours in ("won", "lost"))


def _bitrix_names(t: Texts, hidden: str) -> dict[str, np.ndarray]:
    return {"Фамилия": _words(t[hidden], 0), "Имя": _words(t[hidden], 1), "Отчество": _words(t[hidden], None)}


def _owner_names(lookups: Lookups):
    def names(t: Texts) -> np.ndarray:
        return np.array([lookups.user_names.get(v) if v else None for v in t["ID ответственного"].tolist()])

    return names


def bitrix_files(table, period: str, lookups: Lookups) -> list[VendorFile]:
    e, c = table.entity, table.columns

    def p(header, column, values=None, **kw):
        return _primary(BX, e, header, column, c[column] if values is None else values, **kw)

    owner = {"Ответственный": _owner_names(lookups)}
    if e == "accounts":
        return [
            VendorFile(
                "company",
                e,
                [
                    p("ID", "account_id"),
                    p("Название компании", "name"),
                    p("Сфера деятельности", "industry"),
                    p("Телефон", "phone"),
                    p("Сайт", "website"),
                    p("Регион", "region"),
                    p("ИНН", "inn"),
                    p("КПП", "kpp"),
                    p("ID ответственного", "owner_user_id"),
                    p("Офис", "office_code"),
                    p("Дата создания", "created_at"),
                ],
                key="ID",
                derived=owner,
                constants={"Тип компании": "Клиент"},
                order=(
                    "ID",
                    "Название компании",
                    "Тип компании",
                    "Сфера деятельности",
                    "Телефон",
                    "Сайт",
                    "Регион",
                    "ИНН",
                    "КПП",
                    "Ответственный",
                    "ID ответственного",
                    "Офис",
                    "Дата создания",
                ),
                truth_ids=c["account_id"],
            )
        ]
    if e == "contacts":
        return [
            VendorFile(
                "contact",
                e,
                [
                    p("ID", "contact_id"),
                    p("full_name", "full_name", hidden=True),
                    p("Должность", "job_title"),
                    p("Телефон", "phone"),
                    p("E-mail", "email"),
                    p("ID компании", "account_id"),
                    p("Дата создания", "created_at"),
                ],
                key="ID",
                derived={
                    **{
                        k: (lambda t, k=k: _bitrix_names(t, "full_name")[k])
                        for k in ("Фамилия", "Имя", "Отчество")
                    }
                },
                order=(
                    "ID",
                    "Имя",
                    "Отчество",
                    "Фамилия",
                    "Должность",
                    "Телефон",
                    "E-mail",
                    "ID компании",
                    "Дата создания",
                ),
            )
        ]
    if e == "leads":
        conv = c["converted_at"]
        return [
            VendorFile(
                "lead",
                e,
                [
                    p("ID", "lead_id"),
                    p("Статус", "status"),
                    p("Источник", "source_channel"),
                    p("contact_name", "contact_name", hidden=True),
                    p("Название компании", "company_name"),
                    p("ИНН", "inn"),
                    p("Телефон", "phone"),
                    p("E-mail", "email"),
                    p("Регион", "region"),
                    p("ID компании", "converted_account_id"),
                    p(
                        "Дата закрытия",
                        "converted_at",
                        np.where(conv == NULL, NULL, conv // SECONDS_PER_DAY),
                        type="date",
                        faults=False,
                    ),
                    p("ID ответственного", "owner_user_id"),
                    p("Дата создания", "created_at"),
                ],
                key="ID",
                derived={
                    **owner,
                    **{
                        k: (lambda t, k=k: _bitrix_names(t, "contact_name")[k])
                        for k in ("Фамилия", "Имя", "Отчество")
                    },
                },
                order=(
                    "ID",
                    "Статус",
                    "Источник",
                    "Имя",
                    "Отчество",
                    "Фамилия",
                    "Название компании",
                    "ИНН",
                    "Телефон",
                    "E-mail",
                    "Регион",
                    "ID компании",
                    "Дата закрытия",
                    "Ответственный",
                    "ID ответственного",
                    "Дата создания",
                ),
                truth_ids=c["lead_id"],
            )
        ]
    if e == "deals":
        close = np.where(c["expected_close_date"] != NULL, c["expected_close_date"], c["closed_at"])
        close = np.where(
            close == NULL, NULL, np.where(c["expected_close_date"] != NULL, close, close // SECONDS_PER_DAY)
        )
        return [
            VendorFile(
                "deal",
                e,
                [
                    p("ID", "deal_id"),
                    p("Стадия сделки", "stage"),
                    p("Сумма", "amount"),
                    p("Валюта", "currency"),
                    p("ID компании", "account_id"),
                    p("ID ответственного", "owner_user_id"),
                    p("Дата создания", "created_at"),
                    p("Предполагаемая дата закрытия", "expected_close_date", close, name="close_date"),
                    p("Продуктовая линия", "product_line"),
                    p("Причина отказа", "lost_reason"),
                    p("ID лида", "lead_id"),
                    p("Офис", "office_code"),
                ],
                key="ID",
                derived={**owner, "Закрыта": lambda t: _in(t["Стадия сделки"], _BX_CLOSED, "Да", "Нет")},
                order=(
                    "ID",
                    "Стадия сделки",
                    "Сумма",
                    "Валюта",
                    "ID компании",
                    "Ответственный",
                    "ID ответственного",
                    "Дата создания",
                    "Предполагаемая дата закрытия",
                    "Закрыта",
                    "Продуктовая линия",
                    "Причина отказа",
                    "ID лида",
                    "Офис",
                ),
            )
        ]
    if e == "activities":
        return [
            VendorFile(
                "activity",
                e,
                [
                    p("ID", "activity_id"),
                    p("Тип", "activity_type"),
                    p("Направление", "direction"),
                    p("Дата начала", "occurred_at"),
                    p("ID ответственного", "owner_user_id"),
                    p("ID компании", "account_id"),
                    p("ID контакта", "contact_id"),
                    p("ID лида", "lead_id"),
                    p("ID сделки", "deal_id"),
                    p("Результат", "outcome"),
                ],
                key="ID",
                derived=owner,
                order=(
                    "ID",
                    "Тип",
                    "Направление",
                    "Дата начала",
                    "Ответственный",
                    "ID ответственного",
                    "ID компании",
                    "ID контакта",
                    "ID лида",
                    "ID сделки",
                    "Результат",
                ),
            )
        ]
    raise KeyError(f"bitrix24 has no list for {e}")


# ---------------------------------------------------------------------------- GA4
SESSION_SECONDS = 1800


def _session_ids(timestamps: np.ndarray) -> np.ndarray:
    """ga_session_id: the session's start in epoch seconds (here: the event's half hour)."""
    out = np.empty(len(timestamps), dtype=object)
    text = np.where(_present(timestamps), timestamps, "").astype(str)
    ok = np.char.isdigit(text) & (np.char.str_len(text) <= 18)
    seconds = text[ok].astype(np.int64) // 1_000_000
    out[ok] = (seconds // SESSION_SECONDS * SESSION_SECONDS).astype(str)
    return out


def ga4_event_ids(texts: Texts, rows: np.ndarray) -> np.ndarray:
    """The event ids ingest derives (the GA4 dialect's EVENT_ID) of some rows, from their written text."""
    sessions = _session_ids(texts["event_timestamp"][rows])
    parts = zip(
        texts["user_pseudo_id"][rows].tolist(),
        texts["event_timestamp"][rows].tolist(),
        texts["event_name"][rows].tolist(),
        sessions.tolist(),
        strict=True,
    )
    return np.array([derive_key(list(row)) for row in parts], dtype=object)


GA4_PARAMS = ("page_location", "page_referrer", "chat_session_id", "form_company", "form_inn", "lead_id")


def ga4_files(table, period: str, lookups: Lookups) -> list[VendorFile]:
    e, c = table.entity, table.columns
    _, numbers = id_numbers(c["event_id"])
    micros = np.where(c["event_at"] == NULL, NULL, c["event_at"] * 1_000_000 + numbers % 1_000_000)

    def p(header, column, values=None, **kw):
        return _primary(GA4, e, header, column, c[column] if values is None else values, **kw)

    return [
        VendorFile(
            "events",
            e,
            [
                p("event_timestamp", "event_at", micros),
                p("event_name", "event_type"),
                p("user_pseudo_id", "visitor_id"),
                p("page_location", "page_url"),
                p("page_referrer", "referrer"),
                p("manual_source", "utm_source"),
                p("manual_medium", "utm_medium"),
                p("manual_campaign_name", "utm_campaign"),
                p("chat_session_id", "chat_session_id"),
                p("form_company", "form_company"),
                p("form_inn", "form_inn"),
                p("lead_id", "lead_id"),
                p("device.category", "device"),
                p("geo.region", "geo_region"),
            ],
            key="user_pseudo_id",
            derived={"ga_session_id": lambda t: _session_ids(t["event_timestamp"])},
            truth_ids=None,  # filled by the writer from the clean rows' text (ga4_event_ids)
        )
    ]


SHAPERS: dict[str, Callable[..., list[VendorFile]]] = {
    "salesforce": salesforce_files,
    "bitrix24": bitrix_files,
    "ga4": ga4_files,
}
