"""What the model jobs read and write, on either engine: the one small interface of warehouse.engine
(a table as a DataFrame) and a DuckDB connection to run the jobs' SQL on.

On DuckDB the jobs work on the warehouse file itself. On Spark, `model_connection` opens an in-memory
DuckDB workspace, copies into it the marts the jobs read (only the columns models.data's queries
name: the projection runs in Spark) and the ml tables (the registry reads earlier runs), runs the
jobs there, and writes the ml tables back to Spark, where dbt's mart_client_scores reads them.

The inputs are one row per invoice, payment, interaction, web event, ticket, deal and lead: at scale
1 the workspace holds some 7 M rows (about 1 GB). They grow with the data; past what one machine
holds (docs/scale-out.md estimates scale 100 at ~100 GB), the events must be sampled by client or
aggregated per client and day in Spark before they reach the jobs; the features are written per
event today, so that is a change to models.features, not to this module.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import duckdb

from models.data import MARTS, QUERIES, WEB_WITHOUT_LEADS
from models.schema import ML_SCHEMA, TABLES, ensure_ml_schema
from warehouse.connection import connect
from warehouse.engine import Tables, open_tables
from warehouse.settings import Settings

log = logging.getLogger(__name__)


def input_columns() -> dict[tuple[str, str], set[str]]:
    """Every table models.data's queries read, with the names the queries use (a superset of the
    columns they need from it: any name any of them mentions)."""
    import sqlglot
    from sqlglot import exp

    from models import rules

    # the business rules' own queries (receivables ageing, the offer block) read marts too
    rule_queries = [
        rules.AGED_INVOICES_SQL.replace("{credit_notes}", rules.CREDIT_NOTES_SQL),
        rules.BLOCKING_TICKETS_SQL,
        f"select rule_name, value from {rules.RULES_TABLE}",
    ]
    out: dict[tuple[str, str], set[str]] = {}
    for sql in [template for _, template in QUERIES.values()] + [WEB_WITHOUT_LEADS] + rule_queries:
        tree = sqlglot.parse_one(sql.replace("{s}", MARTS), read="duckdb")
        names = {column.name for column in tree.find_all(exp.Column)}
        for table in tree.find_all(exp.Table):
            if table.db:
                out.setdefault((table.db, table.name), set()).update(names)
    return out


def copy_inputs(tables: Tables, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Copy the jobs' input tables (the columns they use) and the ml tables from `tables` into `con`."""
    copied = {}
    wanted = dict(input_columns())
    for table in TABLES:
        wanted[(ML_SCHEMA, table)] = set()  # all columns
    for (schema, table), names in sorted(wanted.items()):
        if not tables.exists(schema, table):
            continue
        columns = [c for c in tables.columns(schema, table) if c in names] if names else None
        rows = tables.read_arrow(schema, table, columns)
        con.execute(f'create schema if not exists "{schema}"')
        con.register("_input_rows", rows)
        try:
            con.execute(f'create or replace table "{schema}"."{table}" as select * from _input_rows')
        finally:
            con.unregister("_input_rows")
        copied[f"{schema}.{table}"] = rows.num_rows
    return copied


def write_back(con: duckdb.DuckDBPyConnection, tables: Tables) -> None:
    """Every ml table of the workspace, written over the engine's."""
    for table in TABLES:
        tables.write(ML_SCHEMA, table, con.execute(f"select * from {ML_SCHEMA}.{table}").to_arrow_table())


@contextlib.contextmanager
def model_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The connection the jobs read marts and write ml tables on (see the module docstring); on
    Spark the ml tables go back when the block ends without an error."""
    if settings.engine == "duckdb":
        con = connect(settings.warehouse_path)
        try:
            ensure_ml_schema(con)
            yield con
        finally:
            con.close()
        return
    with open_tables(settings) as tables:
        con = duckdb.connect()
        try:
            con.execute("set enable_progress_bar = false")
            copied = copy_inputs(tables, con)
            log.info("model inputs from %s: %s", tables.engine, copied)
            ensure_ml_schema(con)
            yield con
            write_back(con, tables)
        finally:
            con.close()
