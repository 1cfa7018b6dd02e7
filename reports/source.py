"""What a report reads: the published warehouse (marts, ml, meta), read-only.

Sections ask for the tables they need with `require`; a table that is not there yet
(the models have not run, a mart is new) raises `TableMissing`, and the section
renders as "not available yet" with that reason instead of failing the report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd

# who produces each schema: said in "not available yet" notes
PRODUCERS = {
    "marts": "the dbt build (crmw build)",
    "ml": "the model jobs (models.jobs.run_all)",
    "meta": "ingest and the data-quality checks",
}


class TableMissing(LookupError):
    """A table a section needs is not in the published warehouse yet; the section says so."""

    def __init__(self, tables: Sequence[str]):
        self.tables = list(tables)
        producers = sorted({PRODUCERS.get(t.split(".")[0], "the pipeline") for t in self.tables})
        names = ", ".join(f"`{t}`" for t in self.tables)
        super().__init__(
            f"{names} {'is' if len(self.tables) == 1 else 'are'} not in the published warehouse yet "
            f"(produced by {' and '.join(producers)})"
        )


class TableEmpty(TableMissing):
    """A table is published but has no rows yet (the model jobs create their tables empty)."""

    def __init__(self, tables: Sequence[str]):
        super().__init__(tables)
        names = ", ".join(f"`{t}`" for t in self.tables)
        producers = sorted({PRODUCERS.get(t.split(".")[0], "the pipeline") for t in self.tables})
        self.args = (
            f"{names} {'has' if len(self.tables) == 1 else 'have'} no rows yet (written by {' and '.join(producers)})",
        )

    def __str__(self) -> str:
        return self.args[0]


class ColumnMissing(LookupError):
    """A table is there but lacks a column the section reads (an older build); the section says so."""

    def __init__(self, table: str, columns: Sequence[str]):
        self.table = table
        self.columns = list(columns)
        super().__init__(
            f"`{table}` has no column {', '.join(f'`{c}`' for c in self.columns)}; rebuild the warehouse"
        )


@dataclass
class Source:
    """A read-only connection to the published warehouse and what it holds."""

    con: duckdb.DuckDBPyConnection
    tables: frozenset[str] = field(default_factory=frozenset)
    _columns: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection) -> Source:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
        return cls(con=con, tables=frozenset(r[0] for r in rows))

    def has(self, *tables: str) -> bool:
        return all(t in self.tables for t in tables)

    def require(self, *tables: str) -> None:
        missing = [t for t in tables if t not in self.tables]
        if missing:
            raise TableMissing(missing)

    def require_rows(self, *tables: str) -> None:
        """Like require, and each table must have rows."""
        self.require(*tables)
        empty = [t for t in tables if self.one(f"select count(*) from (select 1 from {t} limit 1)") == 0]
        if empty:
            raise TableEmpty(empty)

    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            self.require(table)
            schema, name = table.split(".", 1)
            self._columns[table] = [
                r[0]
                for r in self.con.execute(
                    "select column_name from information_schema.columns "
                    "where table_catalog = current_database() and table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, name],
                ).fetchall()
            ]
        return self._columns[table]

    def require_columns(self, table: str, *columns: str) -> None:
        missing = [c for c in columns if c not in self.columns(table)]
        if missing:
            raise ColumnMissing(table, missing)

    def first_column(self, table: str, *candidates: str) -> str | None:
        """The first of `candidates` the table has (for tables whose shape is still settling)."""
        present = set(self.columns(table))
        return next((c for c in candidates if c in present), None)

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> duckdb.DuckDBPyConnection:
        """Run a query; named parameters the query does not use are dropped (DuckDB refuses
        extras), so a section can pass one window dict to every query."""
        if isinstance(params, dict):
            params = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}
        return self.con.execute(sql, params or [])

    def df(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        return self.execute(sql, params).df()

    def one(self, sql: str, params: Sequence[Any] | dict | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def row(self, sql: str, params: Sequence[Any] | dict | None = None) -> dict[str, Any]:
        cursor = self.execute(sql, params)
        row = cursor.fetchone()
        names = [d[0] for d in cursor.description]
        return dict(zip(names, row, strict=True)) if row else dict.fromkeys(names)

    def last_data_day(self) -> date | None:
        """The warehouse's as-of date (the marts' as_of_date: var as_of_date, else the last
        day with data); failing that, the last invoice day."""
        for table, column in (
            ("marts.mart_client_360", "as_of_date"),
            ("marts.mart_receivables", "as_of_date"),
            ("marts.fct_invoices", "invoice_date"),
        ):
            if table in self.tables:
                value = self.one(f"select max({column}) from {table}")
                if value is not None:
                    return pd.Timestamp(value).date()
        return None
