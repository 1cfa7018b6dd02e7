"""Our tables reshaped into the files a vendor exports: Salesforce objects, Bitrix24 lists, GA4 events.

A `VendorFile` lists the file's primary columns (each carries one contract column, typed as in a
`Table`, and is where faults are planted), the columns derived from the primaries' final text
(flags such as IsClosed, name parts, ids of the other kind) and constants. Faults are planted on
the primaries, so every planted fault sits in a field the dialect reads back into the column the
fault is about; derived columns follow the faulted text, so they never contradict it.

What each file carries is read from the dialect (ingest/dialects/): a primary is named by its contract
column and written under the dialect's header for it, with the first code the dialect maps to each of
our values; the flags and name parts the dialect reads fields under or from, and the files, are
named as it names them. So what we write is what we read. Below, each vendor file has one function that says which
columns it carries, in the vendor's order, and what it adds beside them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ingest.contracts import CONTRACTS, Column
from ingest.dialects.bitrix24 import BITRIX24
from ingest.dialects.ga4 import GA4
from ingest.dialects.model import Dialect
from ingest.dialects.salesforce import KEY_PREFIXES, SALESFORCE
from ingest.parsing import derive_key
from sample_exports.clock import NULL, numbered_ids
from sample_exports.ids import id_numbers, salesforce_ids
from sample_exports.params import SECONDS_PER_DAY

Texts = dict[str, np.ndarray]
Derive = Callable[[Texts], np.ndarray]


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
    derived: dict[str, Derive] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()  # written columns, in order
    truth_ids: np.ndarray | None = None  # the record id each table row loads with (source_records)


@dataclass
class Lookups:
    user_names: dict[str, str] = field(default_factory=dict)  # user id (as written) -> full name


# ---------------------------------------------------------------------------- primaries
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


@dataclass
class _Shape:
    """One table on its way into a vendor's files.

    A file's `order` names its written columns: a contract column stands for its primary (written
    under the dialect's header for it; a hidden one is planted but not written), anything else is
    the header of a derived column or a constant. Primaries are made from the table's column
    unless made before with `p` (other values, a type, a name); faults are planted in the order of
    `plant`, or else of `order`.
    """

    dialect: Dialect
    entity: str
    columns: dict[str, np.ndarray]
    period: str
    lookups: Lookups
    made: dict[str, Primary] = field(default_factory=dict)

    def header(self, column: str, nth: int = 0) -> str:
        """The export's name for a column: the source of its nth field (GA4: the event parameter)."""
        f = self.dialect.fields_for(self.entity, column)[nth]
        header = f.param or f.source
        if not isinstance(header, str):
            raise TypeError(f"{self.dialect.name}.{self.entity}.{column} is read from several sources")
        return header

    def p(self, column: str, values: np.ndarray | None = None, *, nth: int = 0, **kw) -> Primary:
        header = column if kw.get("hidden") else self.header(column, nth)
        values = self.columns[column] if values is None else values
        made = self.made[column] = _primary(self.dialect, self.entity, header, column, values, **kw)
        return made

    def stem(self, among: Iterable[str] = ()) -> str:
        """The vendor's name for a file of this entity: the first the dialect knows it by (`file_names`),
        or the one of `among` (names spelled as the vendor does) the dialect knows it by."""
        known = [name for name, entity in self.dialect.file_names.items() if entity == self.entity]
        found = [name for name in among if name.lower() in known] if among else known
        if not found:
            raise KeyError(f"{self.dialect.name} names no file of {self.entity} among {list(among)}")
        return found[0]

    def ref(self, values: np.ndarray) -> np.ndarray:
        """Event files of odd months refer to other records by 15-character ids (ingest makes them 18)."""
        short = CONTRACTS[self.entity].kind == "event" and int(self.period[5:7]) % 2 == 1
        return _short_ids(values) if short else values

    def field_order(self, order: Iterable[str]) -> tuple[str, ...]:
        """The contract columns among `order`, in the order the dialect lists their fields."""
        position = {}
        for i, f in enumerate(self.dialect.fields[self.entity]):
            position.setdefault(f.column, i)
        return tuple(sorted((c for c in order if c in position), key=position.__getitem__))

    def file(
        self,
        stem: str,
        order: tuple[str, ...],
        *,
        plant: tuple[str, ...] | None = None,
        derived: dict[str, Derive] | None = None,
        constants: dict[str, str] | None = None,
        key: str | None = None,
        truth_ids: np.ndarray | None = None,
    ) -> VendorFile:
        derived, constants = derived or {}, constants or {}
        extras = derived.keys() | constants.keys()
        planted = plant or tuple(c for c in order if c not in extras)
        primaries = [self.made[c] if c in self.made else self.p(c) for c in planted]
        if self.made.keys() != set(planted):
            raise ValueError(
                f"{stem}: primaries made but not planted: {sorted(set(self.made) - set(planted))}"
            )
        written = tuple(c if c in extras else self.made[c].header for c in order if not self._hidden(c))
        expected = {p.header for p in primaries if not p.hidden} | extras
        if len(set(written)) != len(written) or set(written) != expected:
            raise ValueError(f"{stem}: order {written} does not write each of {sorted(expected)} once")
        head = self.made[key].header if key else primaries[0].header
        self.made = {}
        return VendorFile(stem, self.entity, primaries, head, derived, constants, written, truth_ids)

    def _hidden(self, token: str) -> bool:
        return token in self.made and self.made[token].hidden

    # ------------------------------------------------------------------------ derived columns
    def when(self, column: str) -> tuple[str, str]:
        """The flag a column's field is read under: its header and the code written for that case."""
        when = self.dialect.field_for(self.entity, column).when
        if when is None:
            raise KeyError(f"{self.dialect.name}.{self.entity}.{column} is read unconditionally")
        return when[0], when[1][0]

    def name_parts(self, column: str, nth: int) -> dict[str, Derive]:
        """The name parts the dialect reads `column` from (its nth field), split off the written name."""
        parts = self.dialect.fields_for(self.entity, column)[nth].source
        whole = self.made[column].header if column in self.made else self.header(column)
        return {part: (lambda t, k=k: _name_parts(t[whole], len(parts))[k]) for k, part in enumerate(parts)}

    def flag(self, column: str, codes: tuple[str, ...], yes: str, no: str) -> Derive:
        """`yes` where the written code of `column` is one of `codes`, `no` elsewhere."""
        header = self.header(column)
        return lambda t: _in(t[header], codes, yes, no)


# ---------------------------------------------------------------------------- helpers
def _ours(dialect: Dialect, entity: str, column: str, *ours: str) -> tuple[str, ...]:
    """The export's codes for some of our values (every code the dialect maps to them)."""
    return tuple(v for v, o in dialect.field_for(entity, column).values if o in ours)


def _either(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.where(_present(first), first, second)


def _present(values: np.ndarray) -> np.ndarray:
    return np.array([v is not None for v in values.tolist()], dtype=bool)


def _name_parts(texts: np.ndarray, n: int) -> list[np.ndarray]:
    """Each text split at spaces into n parts: a word each, the last part the rest (None when absent)."""
    out = [np.empty(len(texts), dtype=object) for _ in range(n)]
    for i, t in enumerate(texts.tolist()):
        if not t:
            continue
        words = t.split(" ")
        for k in range(n - 1):
            out[k][i] = words[k] if len(words) > k else None
        out[n - 1][i] = " ".join(words[n - 1 :]) or None
    return out


def _in(texts: np.ndarray, codes: tuple[str, ...], yes: str, no: str) -> np.ndarray:
    lowered = {c.lower() for c in codes}
    return np.array([yes if t and t.lower() in lowered else no for t in texts.tolist()], dtype=object)


def _date_part(texts: np.ndarray, length: int = 10) -> np.ndarray:
    return np.array([t[:length] if t else None for t in texts.tolist()], dtype=object)


def _at(days: np.ndarray, hour: int) -> np.ndarray:
    """Days -> seconds at an hour of the day (UTC), empty stays empty."""
    return np.where(days == NULL, NULL, days * SECONDS_PER_DAY + hour * 3600)


def _days(seconds: np.ndarray) -> np.ndarray:
    """Seconds -> the day (UTC), empty stays empty."""
    return np.where(seconds == NULL, NULL, seconds // SECONDS_PER_DAY)


def _close_dates(c: dict[str, np.ndarray]) -> np.ndarray:
    """The one close date a CRM keeps: expected while a deal is open, the day it closed once closed."""
    return np.where(c["expected_close_date"] != NULL, c["expected_close_date"], _days(c["closed_at"]))


def _short_ids(values: np.ndarray) -> np.ndarray:
    """15-character ids, as report exports and URLs carry them."""
    return np.array([v[:15] if v else None for v in values.tolist()], dtype=object)


Shaper = Callable[[_Shape], "VendorFile | list[VendorFile]"]


def _shape(
    dialect: Dialect, files: dict[str, Shaper], table, period: str, lookups: Lookups
) -> list[VendorFile]:
    """The vendor's files of a table: one per object or list, Salesforce activities split in two."""
    if table.entity not in files:
        raise KeyError(f"{dialect.name} exports no file for {table.entity}")
    made = files[table.entity](_Shape(dialect, table.entity, table.columns, period, lookups))
    return made if isinstance(made, list) else [made]


# ---------------------------------------------------------------------------- Salesforce
SF = SALESFORCE
_TRUE, _FALSE = SF.true_values[0], SF.false_values[0]
_SF_CLOSED = _ours(SF, "deals", "stage", "won", "lost")
_SF_WON = _ours(SF, "deals", "stage", "won")
_SF_CONVERTED = _ours(SF, "leads", "status", "converted")
_SF_CASE_CLOSED = _ours(SF, "tickets", "status", "closed")
_SF_RESPONDED = _ours(
    SF, "campaign_members", "response", "opened", "clicked", "registered", "attended", "responded"
)
# activity types written as Tasks: those a Task's subtype maps to; the others are Events
_SF_TASK_TYPES = tuple(dict.fromkeys(o for _, o in SF.fields_for("activities", "activity_type")[1].values))
_SF_EVENT_TYPES = tuple(
    dict.fromkeys(o for _, o in SF.field_for("activities", "activity_type").values if o not in _SF_TASK_TYPES)
)
_SF_LAST_CHANGE = "2026-01-15T09:00:00.000Z"


def _sf_object(s: _Shape, order: tuple[str, ...], **kw) -> VendorFile:
    """A Data Export object file; faults are planted field by field in the order the dialect lists them."""
    return s.file(s.stem(KEY_PREFIXES), order, plant=s.field_order(order), **kw)


def _sf_users(s: _Shape) -> VendorFile:
    c = s.columns
    s.p("hired_date", _at(c["hired_date"], 6), type="timestamp")
    s.p("left_date", _at(c["left_date"], 15), type="timestamp", hidden=True)
    names = s.name_parts("full_name", 1)
    active, inactive = s.when("left_date")
    modified, email = s.header("left_date"), s.header("email")
    order = ("user_id", "Username", *names, "full_name", "office_code", "role", "email", active, "hired_date")
    return _sf_object(
        s,
        (*order, "left_date", modified),
        derived={
            **names,
            "Username": lambda t: t[email],
            active: lambda t: np.where(_present(t["left_date"]), inactive, _TRUE).astype(object),
            modified: lambda t: _either(t["left_date"], np.full(len(t["left_date"]), _SF_LAST_CHANGE)),
        },
    )


def _sf_accounts(s: _Shape) -> VendorFile:
    order = ("account_id", "IsDeleted", "name", "parent_account_id", "region", "BillingCountry", "phone")
    return _sf_object(
        s,
        (*order, "website", "industry", "owner_user_id", "created_at", "inn", "kpp", "office_code"),
        constants={"IsDeleted": _FALSE, "BillingCountry": "Russia"},
        truth_ids=s.columns["account_id"],
    )


def _sf_contacts(s: _Shape) -> VendorFile:
    names = s.name_parts("full_name", 1)
    order = ("contact_id", "IsDeleted", "account_id", *names, "full_name", "phone", "email", "job_title")
    return _sf_object(s, (*order, "created_at", "is_active"), derived=names, constants={"IsDeleted": _FALSE})


def _sf_leads(s: _Shape) -> VendorFile:
    s.p("converted_at", _days(s.columns["converted_at"]), type="date")
    names = s.name_parts("contact_name", 1)
    order = ("lead_id", "IsDeleted", *names, "contact_name", "company_name", "region", "phone", "email")
    order += ("source_channel", "status", "owner_user_id", "IsConverted", "converted_at")
    order += ("converted_account_id", "converted_deal_id", "created_at", "inn", "web_visitor_id")
    return _sf_object(
        s,
        order,
        derived={**names, "IsConverted": s.flag("status", _SF_CONVERTED, _TRUE, _FALSE)},
        constants={"IsDeleted": _FALSE},
        truth_ids=s.columns["lead_id"],
    )


def _sf_opportunities(s: _Shape) -> VendorFile:
    # CloseDate is the expected close of an open deal and the close of a closed one: named for both
    s.p("expected_close_date", _close_dates(s.columns), name=s.header("expected_close_date"))
    (closed, yes), (_, no) = s.when("closed_at"), s.when("expected_close_date")
    deal_id = s.header("deal_id")
    order = ("deal_id", "IsDeleted", "account_id", "Name", "stage", "amount", "expected_close_date", closed)
    order += ("IsWon", "currency", "campaign_id", "owner_user_id", "created_at", "partner_id")
    return _sf_object(
        s,
        (*order, "product_line", "lost_reason", "office_code"),
        derived={
            closed: s.flag("stage", _SF_CLOSED, yes, no),
            "IsWon": s.flag("stage", _SF_WON, _TRUE, _FALSE),
            "Name": lambda t: np.array([f"Opportunity {v[-6:]}" if v else None for v in t[deal_id].tolist()]),
        },
        constants={"IsDeleted": _FALSE},
    )


def _sf_opportunity_history(s: _Shape) -> VendorFile:
    s.p("deal_id", s.ref(s.columns["deal_id"]))
    deal_id = s.header("deal_id")
    return _sf_object(
        s,
        ("Id", "deal_id", "changed_at", "stage", "amount", "IsDeleted"),
        derived={"Id": lambda t: _history_ids(len(t[deal_id]), s.period)},
        constants={"IsDeleted": _FALSE},
    )


def _history_ids(n: int, period: str) -> np.ndarray:
    month = int(period[:4]) * 12 + int(period[5:7])
    return salesforce_ids(KEY_PREFIXES["OpportunityHistory"], month * 1_000_000 + np.arange(1, n + 1))


def _sf_cases(s: _Shape) -> VendorFile:
    status = s.header("status")
    order = ("ticket_id", "IsDeleted", "CaseNumber", "contact_id", "account_id", "category", "status")
    return _sf_object(
        s,
        (
            *order,
            "channel",
            "priority",
            "IsClosed",
            "resolved_at",
            "owner_user_id",
            "opened_at",
            "partner_id",
        ),
        derived={
            "CaseNumber": lambda t: numbered_ids("", len(t[status]), 8),
            "IsClosed": s.flag("status", _SF_CASE_CLOSED, _TRUE, _FALSE),
        },
        constants={"IsDeleted": _FALSE},
    )


def _sf_campaigns(s: _Shape) -> VendorFile:
    order = ("campaign_id", "IsDeleted", "name", "campaign_type", "Status", "start_date", "end_date")
    return _sf_object(
        s,
        (*order, "currency", "cost", "utm_campaign", "office_code", "product_line"),
        constants={"IsDeleted": _FALSE, "Status": "Completed"},
    )


def _sf_campaign_members(s: _Shape) -> VendorFile:
    for column in ("campaign_id", "contact_id", "lead_id", "account_id"):
        s.p(column, s.ref(s.columns[column]))
    order = ("campaign_member_id", "IsDeleted", "campaign_id", "lead_id", "contact_id", "account_id")
    return _sf_object(
        s,
        (*order, "response", "HasResponded", "touched_at"),
        derived={"HasResponded": s.flag("response", _SF_RESPONDED, _TRUE, _FALSE)},
        constants={"IsDeleted": _FALSE},
    )


def _sf_activities(s: _Shape) -> list[VendorFile]:
    """Calls and e-mails as Tasks, meetings and events as Events."""
    c = s.columns
    _, numbers = id_numbers(c["activity_id"])
    files = []
    for stem, types, shape in (("Task", _SF_TASK_TYPES, _sf_task), ("Event", _SF_EVENT_TYPES, _sf_event)):
        rows = np.flatnonzero(np.isin(c["activity_type"], types))
        sub = _Shape(s.dialect, s.entity, {k: v[rows] for k, v in c.items()}, s.period, s.lookups)
        _sf_activity_primaries(sub, salesforce_ids(KEY_PREFIXES[stem], numbers[rows]))
        files.append(shape(sub))
    return files


_SF_ACTIVITY_PRIMARIES = (
    "activity_id",
    "activity_type",
    "account_id",
    "contact_id",
    "deal_id",
    "owner_user_id",
)


def _sf_activity_primaries(s: _Shape, ids: np.ndarray) -> None:
    """What Tasks and Events share; WhoId names a contact or else a lead, WhatId a deal or else an account."""
    c = s.columns
    s.p("activity_id", ids)
    s.p("activity_type")
    s.p("account_id", s.ref(c["account_id"]))
    s.p("contact_id", s.ref(_either(c["contact_id"], c["lead_id"])), name=s.header("contact_id"))
    s.p("deal_id", s.ref(_either(c["deal_id"], c["account_id"])), name=s.header("deal_id"))
    s.p("owner_user_id", s.ref(c["owner_user_id"]))


def _sf_task(s: _Shape) -> VendorFile:
    c = s.columns
    call = c["activity_type"] == "call"
    s.p("direction", np.where(call, c["direction"], None).astype(object))
    s.p("duration_seconds", np.where(call, c["duration_seconds"], NULL))
    completed, kind = s.header("occurred_at"), s.header("activity_type")
    date, subtype = s.header("occurred_at", 2), s.header("activity_type", 1)
    order = ("activity_id", "contact_id", "deal_id", date, "Status", "owner_user_id", "activity_type")
    return s.file(
        s.stem(["Task"]),
        (*order, subtype, "account_id", "duration_seconds", "direction", "outcome", "occurred_at"),
        plant=(*_SF_ACTIVITY_PRIMARIES, "direction", "occurred_at", "duration_seconds", "outcome"),
        derived={date: lambda t: _date_part(t[completed]), subtype: lambda t: t[kind]},
        constants={"Status": "Completed"},
    )


def _sf_event(s: _Shape) -> VendorFile:
    seconds = s.columns["duration_seconds"]
    scale = s.dialect.fields_for(s.entity, "duration_seconds")[1].scale  # written in minutes
    s.p("occurred_at", nth=1)
    s.p("duration_seconds", np.where(seconds == NULL, NULL, (seconds + scale // 2) // scale), nth=1)
    start, date = s.header("occurred_at", 1), s.header("occurred_at", 2)
    order = ("activity_id", "contact_id", "deal_id", "occurred_at", date, "duration_seconds", "StartDateTime")
    return s.file(
        s.stem(["Event"]),
        (*order, "account_id", "owner_user_id", "activity_type", "EventSubtype"),
        plant=(*_SF_ACTIVITY_PRIMARIES, "occurred_at", "duration_seconds"),
        derived={date: lambda t: _date_part(t[start]), "StartDateTime": lambda t: t[start]},
        constants={"EventSubtype": "Event"},
    )


_SF_FILES: dict[str, Shaper] = {
    "users": _sf_users,
    "accounts": _sf_accounts,
    "contacts": _sf_contacts,
    "leads": _sf_leads,
    "deals": _sf_opportunities,
    "deal_stage_changes": _sf_opportunity_history,
    "activities": _sf_activities,
    "tickets": _sf_cases,
    "campaigns": _sf_campaigns,
    "campaign_members": _sf_campaign_members,
}


# ---------------------------------------------------------------------------- Bitrix24
BX = BITRIX24
_BX_CLOSED = _ours(BX, "deals", "stage", "won", "lost")
_BX_OWNER = "Ответственный"  # the responsible user's name, beside the id the dialect reads


def _bx_owner(s: _Shape) -> dict[str, Derive]:
    owner_id, names = s.header("owner_user_id"), s.lookups.user_names
    return {_BX_OWNER: lambda t: np.array([names.get(v) if v else None for v in t[owner_id].tolist()])}


def _bx_companies(s: _Shape) -> VendorFile:
    order = ("account_id", "name", "Тип компании", "industry", "phone", "website", "region", "inn", "kpp")
    return s.file(
        s.stem(),
        (*order, _BX_OWNER, "owner_user_id", "office_code", "created_at"),
        derived=_bx_owner(s),
        constants={"Тип компании": "Клиент"},
        truth_ids=s.columns["account_id"],
    )


def _bx_contacts(s: _Shape) -> VendorFile:
    s.p("full_name", hidden=True)
    surname, first, middle = names = s.name_parts("full_name", 0)
    order = ("contact_id", "full_name", first, middle, surname, "job_title", "phone", "email", "account_id")
    return s.file(s.stem(), (*order, "created_at"), derived=names)


def _bx_leads(s: _Shape) -> VendorFile:
    s.p("contact_name", hidden=True)
    s.p("converted_at", _days(s.columns["converted_at"]), type="date", faults=False)
    surname, first, middle = names = s.name_parts("contact_name", 0)
    order = ("lead_id", "status", "source_channel", "contact_name", first, middle, surname, "company_name")
    order += ("inn", "phone", "email", "region", "converted_account_id", "converted_at", _BX_OWNER)
    return s.file(
        s.stem(),
        (*order, "owner_user_id", "created_at"),
        derived={**_bx_owner(s), **names},
        truth_ids=s.columns["lead_id"],
    )


def _bx_deals(s: _Shape) -> VendorFile:
    s.p("expected_close_date", _close_dates(s.columns), name="close_date")
    (closed, yes), (_, no) = s.when("closed_at"), s.when("expected_close_date")
    order = ("deal_id", "stage", "amount", "currency", "account_id", _BX_OWNER, "owner_user_id", "created_at")
    # Bitrix shows its yes and no capitalised
    closed_flag = s.flag("stage", _BX_CLOSED, yes.capitalize(), no.capitalize())
    return s.file(
        s.stem(),
        (*order, "expected_close_date", closed, "product_line", "lost_reason", "lead_id", "office_code"),
        derived={**_bx_owner(s), closed: closed_flag},
    )


def _bx_activities(s: _Shape) -> VendorFile:
    order = ("activity_id", "activity_type", "direction", "occurred_at", _BX_OWNER, "owner_user_id")
    return s.file(
        s.stem(),
        (*order, "account_id", "contact_id", "lead_id", "deal_id", "outcome"),
        derived=_bx_owner(s),
    )


_BX_FILES: dict[str, Shaper] = {
    "accounts": _bx_companies,
    "contacts": _bx_contacts,
    "leads": _bx_leads,
    "deals": _bx_deals,
    "activities": _bx_activities,
}


# ---------------------------------------------------------------------------- GA4
SESSION_SECONDS = 1800
_GA4_EVENT_ID = GA4.field_for("web_events", "event_id").key_of  # the parts ingest derives the id from
GA4_SESSION = next(part.param for part in _GA4_EVENT_ID if part.param)  # ga_session_id
# every event parameter the dialect reads
GA4_PARAMS = frozenset(f.param for f in (*GA4.fields["web_events"], *_GA4_EVENT_ID) if f.param)


def _session_ids(timestamps: np.ndarray) -> np.ndarray:
    """ga_session_id: the session's start in epoch seconds (here: the event's half hour)."""
    out = np.empty(len(timestamps), dtype=object)
    text = np.where(_present(timestamps), timestamps, "").astype(str)
    ok = np.char.isdigit(text) & (np.char.str_len(text) <= 18)
    seconds = text[ok].astype(np.int64) // 1_000_000
    out[ok] = (seconds // SESSION_SECONDS * SESSION_SECONDS).astype(str)
    return out


def ga4_event_ids(texts: Texts, rows: np.ndarray) -> np.ndarray:
    """The event ids ingest derives (the GA4 dialect's event_id) of some rows, from their written text."""
    parts = [texts[part.param or part.source][rows].tolist() for part in _GA4_EVENT_ID]
    return np.array([derive_key(list(row)) for row in zip(*parts, strict=True)], dtype=object)


def _ga4_events(s: _Shape) -> VendorFile:
    c = s.columns
    _, numbers = id_numbers(c["event_id"])
    s.p("event_at", np.where(c["event_at"] == NULL, NULL, c["event_at"] * 1_000_000 + numbers % 1_000_000))
    timestamp = s.header("event_at")
    order = ("event_at", "event_type", "visitor_id", "page_url", "referrer", "utm_source", "utm_medium")
    order += ("utm_campaign", "chat_session_id", "form_company", "form_inn", "lead_id", "device")
    return s.file(
        s.stem(),
        (*order, "geo_region", GA4_SESSION),
        key="visitor_id",
        derived={GA4_SESSION: lambda t: _session_ids(t[timestamp])},
        truth_ids=None,  # filled by the writer from the clean rows' text (ga4_event_ids)
    )


# dialect -> (table, period, lookups) -> the vendor's files of the table
SHAPERS: dict[str, Callable[..., list[VendorFile]]] = {
    dialect.name: functools.partial(_shape, dialect, files)
    for dialect, files in ((SF, _SF_FILES), (BX, _BX_FILES), (GA4, {"web_events": _ga4_events}))
}
