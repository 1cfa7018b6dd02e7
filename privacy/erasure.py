"""Erasing a person everywhere under the home (`crmw forget`): raw and quarantine rows (every
snapshot), the pii schema, the derived tables, the published copy, the resolution's pair cache,
the landing files, and any other file a run wrote (reports, data docs, logs, Dagster's storage).

The order matters: the warehouse first (found, erased, audited, then rewritten into a new file so
the bytes of deleted rows are gone), the published copy made again from it, then the files. A
build afterwards recomputes the marts' totals without the person; until then they are complete
except for the person. See docs/privacy.md, "Erasure".
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingest.contracts import CONTRACTS
from ingest.parsing import sql_ident
from privacy.files import scrub_home_files
from privacy.person import (
    ID_COLUMNS,
    MAX_ROUNDS,
    VISITOR_COLUMNS,
    Person,
    text_patterns,
    tokens_for,
)
from warehouse.compact import rewrite_database
from warehouse.connection import connect
from warehouse.pseudonyms import pseudonym_key
from warehouse.publish import publish
from warehouse.settings import Settings

log = logging.getLogger(__name__)

AUDIT_DDL = """
create table if not exists meta.erasures (
    erasure_id varchar not null,
    requested_at timestamp not null,
    finished_at timestamp not null,
    reason varchar,
    identified_by varchar not null,
    rows_deleted bigint not null,
    rows_changed bigint not null,
    files_rewritten bigint not null,
    files_removed bigint not null,
    tables json
)
"""

# Where to look for the person in each source entity, and what a matching row tells about them.
# column -> what it holds: email, phone, inn, visitor, id:<kind>, name (a person's), company (the
# name of a sole proprietor when the row's INN is a person's), proprietor (a sole proprietor's name)
FINDERS: dict[str, dict[str, str]] = {
    "contacts": {"contact_id": "id:contact", "email": "email", "phone": "phone", "full_name": "name"},
    "leads": {
        "lead_id": "id:lead",
        "email": "email",
        "phone": "phone",
        "inn": "inn",
        "contact_name": "name",
        "company_name": "company",
        "web_visitor_id": "visitor",
    },
    "web_events": {
        "visitor_id": "visitor",
        "form_email": "email",
        "form_phone": "phone",
        "form_inn": "inn",
        "form_company": "company",
        "lead_id": "id:lead",
    },
    "counterparties": {"counterparty_id": "id:counterparty", "inn": "inn", "name": "proprietor"},
    "accounts": {"account_id": "id:account", "inn": "inn", "name": "proprietor", "phone": "phone"},
    "partners": {"partner_id": "id:partner", "inn": "inn", "name": "proprietor"},
}
# what makes a row of these entities the person's (the other columns are only collected)
MATCHING = {"email", "phone", "inn", "visitor"}


@dataclass
class ErasureReport:
    erasure_id: str
    found: dict[str, int] = field(default_factory=dict)  # what was found: kind -> how many values
    rows_deleted: Counter = field(default_factory=Counter)  # table -> rows
    rows_changed: Counter = field(default_factory=Counter)  # table -> rows
    files_rewritten: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        if not any(self.found.values()):
            found = "nothing of the person in the warehouse"
        else:
            found = ", ".join(f"{n} {kind}" for kind, n in sorted(self.found.items()) if n)
        return (
            f"erasure {self.erasure_id}: found {found}; deleted {sum(self.rows_deleted.values()):,} rows and "
            f"changed {sum(self.rows_changed.values()):,} in {len(self.rows_deleted | self.rows_changed)} tables; "
            f"rewrote {len(self.files_rewritten)} files and removed {len(self.files_removed)}, in {self.seconds:.1f}s. "
            "Run `crmw run` (or `crmw build`) to recompute the marts' totals without them."
        )


# --------------------------------------------------------------------------- finding the person
def _match_sql(column: str, holds: str) -> str:
    c = sql_ident(column)
    text = f"trim({c}::VARCHAR)"
    if holds == "email":
        return f"lower({text}) in (select value from _erase_emails)"
    if holds in ("phone", "inn"):
        return f"(length({text}) <= 40 and regexp_replace({text}, '[^0-9]', '', 'g') in (select value from _erase_digits))"
    kind = "visitor" if holds == "visitor" else holds.split(":", 1)[1]
    return f"{text} in (select value from _erase_ids_of where kind = {_literal(kind)})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _load_person(con, person: Person) -> None:
    """The person's values into temp tables the queries read (never pasted into SQL)."""
    con.execute("create or replace temp table _erase_emails (value varchar)")
    con.execute("create or replace temp table _erase_digits (value varchar)")
    con.execute("create or replace temp table _erase_ids_of (kind varchar, value varchar)")
    if person.emails:
        con.executemany("insert into _erase_emails values (?)", [[e] for e in sorted(person.emails)])
    digits = person.digit_values()
    if digits:
        con.executemany("insert into _erase_digits values (?)", [[d] for d in sorted(digits)])
    pairs = [[kind, v] for kind, values in person.ids.items() for v in values]
    pairs += [["visitor", v] for v in person.visitors]
    if pairs:
        con.executemany("insert into _erase_ids_of values (?, ?)", pairs)


def _tables(con, schema: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = current_database() "
            "and table_schema = ? and table_type = 'BASE TABLE' order by 1",
            [schema],
        ).fetchall()
    ]


def _columns(con, schema: str, table: str) -> dict[str, str]:
    return dict(
        con.execute(
            "select column_name, data_type from information_schema.columns where table_catalog = current_database() "
            "and table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    )


def _own_rows_where(entity: str, columns: dict[str, str]) -> str | None:
    """SQL: the rows of a source entity that are the person's (None when the entity has none)."""
    finders = FINDERS.get(entity, {})
    conditions = [
        _match_sql(column, holds)
        for column, holds in finders.items()
        if column in columns and (holds in MATCHING or holds.startswith("id:"))
    ]
    return " or ".join(f"({c})" for c in conditions) if conditions else None


def find_person(con, person: Person) -> Person:
    """Grow the person from raw and quarantine until nothing new turns up (their contact and lead
    ids, e-mails, phones, web visitor ids, a sole proprietor's ids and names)."""
    for _ in range(MAX_ROUNDS):
        before = (
            len(person.emails),
            len(person.phones),
            len(person.inns),
            len(person.visitors),
            len(person.all_ids()),
        )
        _load_person(con, person)
        for entity, finders in FINDERS.items():
            for schema in ("raw", "quarantine"):
                columns = _columns(con, schema, entity)
                where = _own_rows_where(entity, columns)
                if where is None:
                    continue
                wanted = [c for c in finders if c in columns]
                rows = con.execute(
                    f"select {', '.join(f'{sql_ident(c)}::VARCHAR' for c in wanted)} "
                    f"from {schema}.{sql_ident(entity)} where {where}"
                ).fetchall()
                for row in rows:
                    _collect(person, dict(zip(wanted, row, strict=True)), finders)
        after = (
            len(person.emails),
            len(person.phones),
            len(person.inns),
            len(person.visitors),
            len(person.all_ids()),
        )
        if after == before:
            break
    _load_person(con, person)
    return person


def _collect(person: Person, row: dict[str, str | None], finders: dict[str, str]) -> None:
    from ingest.parsing import parse_email, parse_inn, parse_phone

    inn = next((parse_inn(row[c]) for c, h in finders.items() if h == "inn" and row.get(c)), None)
    is_person = inn is not None and len(inn) == 12
    for column, holds in finders.items():
        value = row.get(column)
        if value is None or str(value).strip() == "":
            continue
        value = str(value).strip()
        if holds == "email" and parse_email(value):
            person.emails.add(parse_email(value))
        elif holds == "phone" and parse_phone(value):
            person.phones.add(parse_phone(value))
        elif holds == "inn" and is_person:
            person.inns.add(inn)
        elif holds == "visitor":
            person.visitors.add(value)
        elif holds.startswith("id:"):
            person.add_id(holds.split(":", 1)[1], value)
        elif holds == "name":
            person.names.add(value)
        elif holds == "proprietor" or (holds == "company" and is_person):
            person.add_proprietor(value)


# --------------------------------------------------------------------------- erasing in the warehouse
def _load_tokens(con, tokens: dict[str, str]) -> None:
    con.execute("create or replace temp table _erase_tokens (old varchar, new varchar)")
    if tokens:
        con.executemany("insert into _erase_tokens values (?, ?)", [[o, n] for o, n in tokens.items()])
    con.execute("create or replace temp table _erase_whole (value varchar)")


def _replace_ids(con, schema: str, table: str, columns: dict[str, str], only: set[str] | None) -> int:
    """Whole values that are the person's record ids (or person keys) -> their tokens."""
    targets = [c for c, t in columns.items() if t == "VARCHAR" and (only is None or c in only)]
    if not targets:
        return 0
    sets = ", ".join(
        f"{sql_ident(c)} = coalesce((select t.new from _erase_tokens t where t.old = {sql_ident(c)}), {sql_ident(c)})"
        for c in targets
    )
    where = " or ".join(f"{sql_ident(c)} in (select old from _erase_tokens)" for c in targets)
    return con.execute(f"update {schema}.{sql_ident(table)} set {sets} where {where}").fetchone()[0]


def _replace_text(
    con, schema: str, table: str, columns: dict[str, str], patterns: list[tuple[str, str]]
) -> int:
    """The person inside longer text (notes, raw lines, JSON, messages) -> [erased] or the token."""
    targets = [(c, t) for c, t in columns.items() if t in ("VARCHAR", "JSON")]
    if not targets or not patterns:
        return 0
    combined = "|".join(_group(p) for p, _ in patterns)
    sets, params = [], []
    for column, type_ in targets:
        expr = f"{sql_ident(column)}::VARCHAR"
        for pattern, replacement in patterns:
            expr = f"regexp_replace({expr}, ?, ?, 'g')"
            params += [pattern, replacement]
        sets.append(f"{sql_ident(column)} = ({expr})::{type_}")
    where = " or ".join(f"regexp_matches({sql_ident(c)}::VARCHAR, ?)" for c, _ in targets)
    params += [combined] * len(targets)
    return con.execute(
        f"update {schema}.{sql_ident(table)} set {', '.join(sets)} where {where}", params
    ).fetchone()[0]


def _group(pattern: str) -> str:
    """A pattern as a group of an alternation, its leading flags kept to itself."""
    if pattern.startswith("(?i)"):
        return f"(?i:{pattern[4:]})"
    return f"(?:{pattern})"


def _delete_whole_values(con, schema: str, table: str, columns: dict[str, str]) -> int:
    """Rows of a derived table holding one of the person's values whole (an e-mail, a phone, a
    person's INN, a sole proprietor's name, a web visitor id)."""
    text = [c for c, t in columns.items() if t == "VARCHAR"]
    if not text:
        return 0
    conditions = []
    for c in text:
        value = f"trim({sql_ident(c)})"
        conditions.append(f"lower({value}) in (select value from _erase_whole)")
        conditions.append(
            f"(length({value}) <= 40 and regexp_replace({value}, '[^0-9]', '', 'g') in (select value from _erase_digits))"
        )
    return con.execute(f"delete from {schema}.{sql_ident(table)} where {' or '.join(conditions)}").fetchone()[
        0
    ]


def erase_in_warehouse(
    con, person: Person, tokens: dict[str, str], report: ErasureReport
) -> list[tuple[str, int]]:
    """Erase the person from every table; returns the (source file, record number) of the source
    rows deleted, so the landing files lose them too."""
    _load_tokens(con, tokens)
    con.executemany("insert into _erase_whole values (?)", [[v] for v in sorted(person.whole_values())])
    patterns = text_patterns(person, tokens)
    dropped: list[tuple[str, int]] = []
    schemas = [
        r[0]
        for r in con.execute(
            "select schema_name from information_schema.schemata where catalog_name = current_database() "
            "and schema_name not in ('information_schema', 'pg_catalog') order by 1"
        ).fetchall()
    ]
    for schema in schemas:
        for table in _tables(con, schema):
            name = f"{schema}.{table}"
            columns = _columns(con, schema, table)
            if schema in ("raw", "quarantine") and table in CONTRACTS:
                where = _own_rows_where(table, columns)
                if where and table in FINDERS:
                    dropped += con.execute(
                        f"select _source_file, _row_number from {schema}.{sql_ident(table)} where {where}"
                    ).fetchall()
                    report.rows_deleted[name] += con.execute(
                        f"delete from {schema}.{sql_ident(table)} where {where}"
                    ).fetchone()[0]
                id_columns = {c for c in columns if c in ID_COLUMNS or c in VISITOR_COLUMNS}
                changed = _replace_ids(con, schema, table, columns, id_columns)
            elif schema == "pii" and table == "pseudonym_key":
                continue
            else:
                report.rows_deleted[name] += _delete_whole_values(con, schema, table, columns)
                changed = _replace_ids(con, schema, table, columns, None)
            changed += _replace_text(con, schema, table, columns, patterns)
            if changed:
                report.rows_changed[name] += changed
    report.rows_deleted = Counter({k: v for k, v in report.rows_deleted.items() if v})
    return dropped


def _audit(con, report: ErasureReport, reason: str, identified_by: list[str], requested_at: datetime) -> None:
    con.execute(AUDIT_DDL)
    tables = {
        name: {"deleted": report.rows_deleted.get(name, 0), "changed": report.rows_changed.get(name, 0)}
        for name in sorted(set(report.rows_deleted) | set(report.rows_changed))
    }
    con.execute(
        "insert into meta.erasures values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.erasure_id,
            requested_at,
            datetime.now(UTC).replace(tzinfo=None),
            reason,
            ", ".join(identified_by),
            sum(report.rows_deleted.values()),
            sum(report.rows_changed.values()),
            len(report.files_rewritten),
            len(report.files_removed),
            json.dumps(tables),
        ],
    )


# --------------------------------------------------------------------------- the whole erasure
def forget(
    settings: Settings, person: Person, *, reason: str = "", identified_by: list[str] | None = None
) -> ErasureReport:
    """Erase the person (as the request names them, grown from what the warehouse holds) everywhere
    under the home, and record it in meta.erasures (what, when and why; no personal data)."""
    started = time.perf_counter()
    requested_at = datetime.now(UTC).replace(tzinfo=None)
    report = ErasureReport(erasure_id=uuid.uuid4().hex[:12])
    key = pseudonym_key(settings)
    dropped: list[tuple[str, int]] = []
    loaded: set[str] = set()
    if settings.warehouse_path.exists():
        con = connect(settings.warehouse_path)
        try:
            from ingest.tables import ensure_ingest_tables

            ensure_ingest_tables(con)
            person = find_person(con, person)
            tokens = tokens_for(person, key)
            loaded = {
                str(Path(p).resolve())
                for (p,) in con.execute(
                    "select distinct file_path from meta.load_manifest where status = 'loaded'"
                ).fetchall()
            }
            con.execute("begin transaction")
            try:
                dropped = erase_in_warehouse(con, person, tokens, report)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            con.close()
    else:
        tokens = tokens_for(person, key)
    report.found = {
        "e-mails": len(person.emails),
        "phones": len(person.phones),
        "INNs": len(person.inns),
        "web visitors": len(person.visitors),
        "record ids": len(person.all_ids()),
    }
    patterns = text_patterns(person, tokens)
    rewritten, removed = scrub_home_files(settings, person, patterns, dropped, loaded)
    report.files_rewritten, report.files_removed = rewritten, removed
    if settings.warehouse_path.exists():
        con = connect(settings.warehouse_path)
        try:
            _audit(con, report, _scrubbed(reason, patterns), identified_by or [], requested_at)
        finally:
            con.close()
        rewrite_database(settings.warehouse_path)
        if settings.published_path.exists():
            publish(settings.warehouse_path, settings.published_path)
    report.seconds = time.perf_counter() - started
    log.info("erasure %s done in %.1fs", report.erasure_id, report.seconds)
    return report


def _scrubbed(text: str, patterns: list[tuple[str, str]]) -> str:
    """The reason as given, with anything of the person in it erased (it is kept in the audit)."""
    import re

    for pattern, replacement in patterns:
        text = re.sub(pattern, replacement, text)
    return text
