"""Publishing: the read-only copy analysts, notebooks and reports read.

DuckDB allows one writer. The pipeline writes warehouse.duckdb; after a
successful build, the analyst-facing schemas are copied into a new file next to
it, which then replaces published.duckdb with an atomic rename. A reader holding
the old published file open keeps its (complete) snapshot and never blocks the
next build; a new reader opens the new file. Nobody ever sees a half-built one.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

import duckdb

from warehouse.connection import connect, restrict_to_owner

log = logging.getLogger(__name__)

PUBLISHED_SCHEMAS = ("marts", "ml", "meta")
# Columns kept out of the published copy: text taken from export files (why a file was refused,
# which may quote its first line; the sample bad values of a quality check) may hold personal data.
UNPUBLISHED_COLUMNS = {("meta", "refused_files"): ("reason",), ("meta", "dq_results"): ("details",)}


def publish(warehouse: Path, published: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS) -> dict:
    started = time.perf_counter()
    tmp = published.with_name(f".{published.name}.{uuid.uuid4().hex[:8]}.tmp")
    con = connect(warehouse)
    tables = 0
    try:
        con.execute("checkpoint")
        con.execute("attach ? as pub", [str(tmp)])
        present = {
            r[0]
            for r in con.execute(
                "select schema_name from information_schema.schemata where catalog_name = current_database()"
            ).fetchall()
        }
        for schema in schemas:
            if schema not in present:
                continue
            con.execute(f'create schema if not exists pub."{schema}"')
            for (table,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = current_database() and table_schema = ? order by 1",
                [schema],
            ).fetchall():
                hidden = UNPUBLISHED_COLUMNS.get((schema, table), ())
                columns = f"* exclude ({', '.join(hidden)})" if hidden else "*"
                con.execute(
                    f'create table pub."{schema}"."{table}" as select {columns} from "{schema}"."{table}"'
                )
                tables += 1
            _copy_comments(con, schema)
        con.execute("detach pub")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    restrict_to_owner(tmp)
    os.replace(tmp, published)
    seconds = time.perf_counter() - started
    log.info("published %d tables to %s in %.1fs", tables, published, seconds)
    return {"tables": tables, "seconds": round(seconds, 2), "path": str(published)}


def _copy_comments(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """The schema's table (or view) and column comments, onto its copy in the attached `pub`."""
    relations = con.execute(
        "select table_name, comment from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and comment is not null "
        "union all select view_name, comment from duckdb_views() where database_name = current_database() "
        "and schema_name = ? and comment is not null",
        [schema, schema],
    ).fetchall()
    for table, comment in relations:
        con.execute(f'comment on table pub."{schema}"."{table}" is {_literal(comment)}')
    columns = con.execute(
        "select table_name, column_name, comment from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and comment is not null",
        [schema],
    ).fetchall()
    for table, column, comment in columns:
        con.execute(f'comment on column pub."{schema}"."{table}"."{column}" is {_literal(comment)}')


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def connect_published(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (for notebooks and reports)."""
    if not published.exists():
        raise FileNotFoundError(f"no published warehouse at {published}; run `crmw run` first")
    return duckdb.connect(str(published), read_only=True)


def publish_tables(tables, published: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS) -> dict:
    """Publishing from an engine other than DuckDB (warehouse.engine.Tables): every table of `schemas`
    copied through Arrow into a new DuckDB file, renamed into place as `publish` does. Readers keep
    reading one DuckDB file whichever engine built the warehouse; at cluster scale the published copy
    holds what reports read, and analysts query the engine for the rest (docs/scale-out.md)."""
    started = time.perf_counter()
    published.parent.mkdir(parents=True, exist_ok=True)
    tmp = published.with_name(f".{published.name}.{uuid.uuid4().hex[:8]}.tmp")
    con = connect(tmp)
    count = 0
    try:
        for schema in schemas:
            names = tables.table_names(schema)
            if not names:
                continue
            con.execute(f'create schema if not exists "{schema}"')
            for table in names:
                con.register("_published_rows", tables.read_arrow(schema, table))
                try:
                    con.execute(f'create table "{schema}"."{table}" as select * from _published_rows')
                finally:
                    con.unregister("_published_rows")
                count += 1
        con.execute("checkpoint")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, published)
    seconds = time.perf_counter() - started
    log.info("published %d tables from %s to %s in %.1fs", count, tables.engine, published, seconds)
    return {"tables": count, "seconds": round(seconds, 2), "path": str(published)}
