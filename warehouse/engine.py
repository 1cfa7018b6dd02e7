"""The engine a warehouse runs on, and the one small interface Python steps use to read and write its
tables whichever it is: a table as a DataFrame (Arrow or pandas), and a DataFrame as a table.

`CRMW_ENGINE` (warehouse.settings) picks the engine: `duckdb` (the default: one DuckDB file) or
`spark` (Apache Spark: local mode on one machine, or a cluster; docs/scale-out.md). dbt builds the
same models on both (warehouse.dbt); the Python steps (client resolution outside dbt, the model jobs'
inputs and outputs, the quality suites' reads, publishing) go through `open_tables`:

    with open_tables(settings) as tables:
        invoices = tables.read("marts", "fct_invoices", ["client_id", "amount_rub"])
        tables.write("ml", "churn_scores", scores)

Reads take the columns they need (projection pushed into the engine); a filter, aggregate or
sample a step needs at scale goes in the engine's SQL (`tables.query`) before the rows reach Python.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Protocol

import duckdb
import pandas as pd
import pyarrow as pa

from warehouse.connection import connect
from warehouse.schemas import SCHEMAS, ensure_schemas
from warehouse.settings import Settings

log = logging.getLogger(__name__)


class Tables(Protocol):
    """A warehouse's tables, read and written as DataFrames."""

    engine: str

    def exists(self, schema: str, table: str) -> bool: ...

    def table_names(self, schema: str) -> list[str]: ...

    def columns(self, schema: str, table: str) -> list[str]: ...

    def read_arrow(self, schema: str, table: str, columns: Sequence[str] | None = None) -> pa.Table: ...

    def query_arrow(self, sql: str) -> pa.Table: ...

    def write(
        self, schema: str, table: str, data: pd.DataFrame | pa.Table, mode: str = "overwrite"
    ) -> int: ...


def _as_arrow(data: pd.DataFrame | pa.Table) -> pa.Table:
    """Arrow, with columns of no type (all empty) as text: no engine stores a column of type null."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


def _naive_utc(table: pa.Table) -> pa.Table:
    """Spark hands timestamps over in UTC with the zone attached; the warehouse's are naive UTC."""
    fields = [
        pa.field(f.name, pa.timestamp(f.type.unit)) if pa.types.is_timestamp(f.type) and f.type.tz else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


def _quoted(names: Sequence[str], quote: str) -> str:
    return ", ".join(f"{quote}{n}{quote}" for n in names)


class DuckDBTables:
    """The tables of a DuckDB warehouse file (or of any DuckDB connection)."""

    engine = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def exists(self, schema: str, table: str) -> bool:
        rows = self.con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
        return bool(rows[0][0])

    def table_names(self, schema: str) -> list[str]:
        return [
            r[0]
            for r in self.con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = current_database() and table_schema = ? order by 1",
                [schema],
            ).fetchall()
        ]

    def columns(self, schema: str, table: str) -> list[str]:
        return [
            r[0]
            for r in self.con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
        ]

    def read_arrow(self, schema: str, table: str, columns: Sequence[str] | None = None) -> pa.Table:
        cols = _quoted(columns, '"') if columns else "*"
        return self.con.sql(f'select {cols} from "{schema}"."{table}"').to_arrow_table()

    def query_arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def write(self, schema: str, table: str, data: pd.DataFrame | pa.Table, mode: str = "overwrite") -> int:
        if mode not in ("overwrite", "append"):
            raise ValueError(f"unknown write mode {mode!r}: overwrite or append")
        rows = _as_arrow(data)
        append = mode == "append" and self.exists(schema, table)
        if schema in SCHEMAS:
            ensure_schemas(self.con, schema)
        else:
            self.con.execute(f'create schema if not exists "{schema}"')
        self.con.register("_written_rows", rows)
        try:
            if append:
                self.con.execute(f'insert into "{schema}"."{table}" by name select * from _written_rows')
            else:
                self.con.execute(
                    f'create or replace table "{schema}"."{table}" as select * from _written_rows'
                )
        finally:
            self.con.unregister("_written_rows")
        return rows.num_rows


class SparkTables:
    """The tables of a Spark catalog (the session of warehouse.spark)."""

    engine = "spark"

    def __init__(self, spark) -> None:
        self.spark = spark

    def exists(self, schema: str, table: str) -> bool:
        return bool(self.spark.catalog.tableExists(f"{schema}.{table}"))

    def table_names(self, schema: str) -> list[str]:
        if not self.spark.catalog.databaseExists(schema):
            return []
        return sorted(t.name for t in self.spark.catalog.listTables(schema) if not t.isTemporary)

    def columns(self, schema: str, table: str) -> list[str]:
        return list(self.spark.table(f"`{schema}`.`{table}`").columns)

    def read_arrow(self, schema: str, table: str, columns: Sequence[str] | None = None) -> pa.Table:
        frame = self.spark.table(f"`{schema}`.`{table}`")
        if columns:
            frame = frame.select(*columns)
        return _naive_utc(frame.toArrow())

    def query_arrow(self, sql: str) -> pa.Table:
        return _naive_utc(self.spark.sql(sql).toArrow())

    def parquet_files(self, schema: str, table: str) -> str | None:
        """A glob of the table's Parquet files when they sit on this machine (local mode), else None
        (a view, another format, or a cluster's storage)."""
        info = {
            row.col_name: row.data_type
            for row in self.spark.sql(f"describe table extended `{schema}`.`{table}`").collect()
        }
        location = info.get("Location") or ""
        if (info.get("Provider") or "").lower() != "parquet" or not location.startswith("file:"):
            return None
        folder = location.removeprefix("file:").removeprefix("//")
        if info.get("Partition Provider") or "# Partition Information" in info:
            return f"{folder}/**/*.parquet"
        return f"{folder}/*.parquet"

    def write(self, schema: str, table: str, data: pd.DataFrame | pa.Table, mode: str = "overwrite") -> int:
        if mode not in ("overwrite", "append"):
            raise ValueError(f"unknown write mode {mode!r}: overwrite or append")
        rows = _as_arrow(data)
        self.spark.sql(f"create database if not exists `{schema}`")
        frame = self.spark.createDataFrame(rows)
        name = f"`{schema}`.`{table}`"
        if mode == "append" and self.exists(schema, table):
            frame.select(*self.columns(schema, table)).write.insertInto(name)
        else:
            frame.write.mode("overwrite").format("parquet").saveAsTable(name)
        return rows.num_rows


@contextlib.contextmanager
def open_tables(settings: Settings, read_only: bool = False) -> Iterator[Tables]:
    """The settings' warehouse tables: the DuckDB file, or Spark's catalog (the process's session,
    left running for the next step; warehouse.spark.stop_spark ends it)."""
    if settings.engine == "spark":
        from warehouse.spark import spark_session

        yield SparkTables(spark_session(settings))
        return
    con = connect(settings.warehouse_path, read_only=read_only)
    try:
        yield DuckDBTables(con)
    finally:
        con.close()


def mirror(tables: Tables, con: duckdb.DuckDBPyConnection, schemas: Sequence[str]) -> dict[str, str]:
    """Make every table of `schemas` readable on `con` under its own name: a view over its Parquet
    files where DuckDB can read them (Spark in local mode: nothing is copied), else a copy through
    Arrow (views, which Spark computes; a cluster's tables). Returns how each one came."""
    how = {}
    for schema in schemas:
        con.execute(f'create schema if not exists "{schema}"')
        for table in tables.table_names(schema):
            files = tables.parquet_files(schema, table) if isinstance(tables, SparkTables) else None
            name = f'"{schema}"."{table}"'
            if files:
                con.execute(f"create or replace view {name} as select * from read_parquet('{files}')")
                how[f"{schema}.{table}"] = "parquet"
                continue
            con.register("_mirrored_rows", tables.read_arrow(schema, table))
            try:
                con.execute(f"create or replace table {name} as select * from _mirrored_rows")
            finally:
                con.unregister("_mirrored_rows")
            how[f"{schema}.{table}"] = "copied"
    return how


def read_frame(tables: Tables, schema: str, table: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A table as a pandas DataFrame (text as Python strings, missing values as None/NaN)."""
    return tables.read_arrow(schema, table, columns).to_pandas(types_mapper=None)
