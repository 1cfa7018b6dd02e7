"""The tables ingest writes: raw.<entity> (typed, with lineage), quarantine.<entity> (text, with
reasons), meta.load_manifest and meta.refused_files. Their DDL comes from the contracts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest.contracts import CONTRACTS, LINEAGE_COLUMNS, Contract
from ingest.parsing import sql_ident
from warehouse.schemas import ensure_schemas

MANIFEST_DDL = """
create table if not exists meta.load_manifest (
    batch_id varchar not null,
    file_path varchar not null,
    file_name varchar not null,
    content_hash varchar not null,
    size_bytes bigint,
    entity varchar not null,
    source varchar not null,
    dialect varchar not null,
    format varchar not null,
    encoding varchar not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    rows_flagged bigint not null,
    snapshot_date date,
    period_start date,
    period_end date,
    status varchar not null,
    loaded_at timestamp not null,
    seconds double,
    file_key varchar
);
alter table meta.load_manifest add column if not exists file_key varchar;
update meta.load_manifest set file_key = file_name where file_key is null;
create table if not exists meta.refused_files (
    batch_id varchar not null,
    file_path varchar not null,
    content_hash varchar,
    error_class varchar not null,
    reason varchar not null,
    refused_at timestamp not null
);
"""


def raw_table_ddl(contract: Contract) -> str:
    cols = [f"{sql_ident(c.name)} {c.duckdb_type}" for c in contract.columns]
    cols += [f"{name} {type_}" for name, type_, _ in LINEAGE_COLUMNS]
    return f"create table if not exists raw.{sql_ident(contract.entity)} ({', '.join(cols)})"


QUARANTINE_LINEAGE = (
    ("_source_file", "VARCHAR"),
    ("_content_hash", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_batch_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
    ("_dialect", "VARCHAR"),
    ("_reasons", "VARCHAR[]"),
    ("_raw_line", "VARCHAR"),
    ("_extras", "JSON"),
)


def quarantine_table_ddl(contract: Contract) -> str:
    cols = [f"{sql_ident(c.name)} VARCHAR" for c in contract.columns]
    cols += [f"{name} {type_}" for name, type_ in QUARANTINE_LINEAGE]
    return f"create table if not exists quarantine.{sql_ident(contract.entity)} ({', '.join(cols)})"


def ingest_table_ddl() -> list[str]:
    """Every statement that creates ingest's tables where missing (also written into the dbt project's
    on-run-start hook, so `dbt build` alone works on a warehouse nothing was loaded into yet)."""
    statements = [s.strip() for s in MANIFEST_DDL.split(";") if s.strip()]
    for contract in CONTRACTS.values():
        statements += [raw_table_ddl(contract), quarantine_table_ddl(contract)]
    return statements


def ensure_ingest_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw, quarantine and meta table ingest writes, empty, where missing."""
    ensure_schemas(con, "raw", "quarantine", "meta")
    for statement in ingest_table_ddl():
        con.execute(statement)


def record_refusal(con, batch_id: str, path: Path, content_hash, error_class: str, reason: str) -> None:
    con.execute(
        "insert into meta.refused_files values (?, ?, ?, ?, ?, ?)",
        [batch_id, str(path), content_hash, error_class, reason, datetime.now(UTC).replace(tzinfo=None)],
    )
