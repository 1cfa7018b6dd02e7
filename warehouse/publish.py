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


def connect_published(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (for notebooks and reports)."""
    if not published.exists():
        raise FileNotFoundError(f"no published warehouse at {published}; run `crmw run` first")
    return duckdb.connect(str(published), read_only=True)
