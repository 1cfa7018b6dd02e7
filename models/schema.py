"""The `ml` schema of the warehouse: what the models write, and the one way they write it.

`ensure_ml_schema(con)` creates every ml table (empty) that is missing, so dbt models reading them
(`mart_client_scores`) build before the first model run. `replace_rows` deletes a table's rows for
one as-of date and inserts the new ones in one transaction: re-running a date replaces it, and no
rows (a skipped model, a backtest without dates) leave the date empty.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

import duckdb
import pandas as pd

from warehouse.schemas import ensure_schemas

log = logging.getLogger(__name__)

ML_SCHEMA = "ml"

# table -> ordered (column, DuckDB type); every table has as_of_date, the date scores are computed as of
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "model_runs": (
        ("run_id", "varchar"),
        ("model_name", "varchar"),
        ("version", "integer"),
        ("as_of_date", "date"),
        ("trained_at", "timestamp"),
        ("horizon_days", "integer"),
        ("horizon_months", "integer"),
        ("train_window_start", "date"),
        ("train_window_end", "date"),
        ("train_rows", "bigint"),
        ("train_positives", "bigint"),
        ("sources", "varchar"),
        ("features", "varchar"),
        ("params", "varchar"),
        ("metrics", "varchar"),
        ("data_fingerprint", "varchar"),
        ("artifact_path", "varchar"),
        ("model_card_path", "varchar"),
        # trained: the model; baseline: the model could not be trained, its baseline scored instead;
        # skipped: nothing scored. reason: why (and why a horizon shorter than asked was used)
        ("status", "varchar"),
        ("reason", "varchar"),
    ),
    "client_segments": (
        ("as_of_date", "date"),
        ("client_id", "varchar"),
        ("segment", "varchar"),
        ("value_class", "varchar"),
        ("behaviour", "varchar"),
        ("revenue_12m_rub", "double"),
        ("gross_margin_12m_rub", "double"),
        ("margin_class", "varchar"),
        ("revenue_rank_12m", "integer"),
        ("gross_margin_rank_12m", "integer"),
        ("days_since_last_invoice", "double"),
        ("invoice_days_12m", "double"),
        ("tenure_days", "double"),
        ("product_lines_12m", "double"),
        ("late_paid_share_12m", "double"),
        ("expected_purchases", "double"),
        ("expected_value_rub", "double"),
        ("horizon_days", "integer"),
        ("model_run_id", "varchar"),
    ),
    "client_segment_migration": (
        ("as_of_date", "date"),
        ("from_as_of_date", "date"),
        ("client_id", "varchar"),
        ("from_segment", "varchar"),
        ("to_segment", "varchar"),
        ("has_changed", "boolean"),
        ("from_revenue_12m_rub", "double"),
        ("to_revenue_12m_rub", "double"),
        ("model_run_id", "varchar"),
    ),
    "churn_scores": (
        ("as_of_date", "date"),
        ("client_id", "varchar"),
        ("churn_probability", "double"),
        ("risk_band", "varchar"),
        ("drivers", "varchar"),
        ("driver_features", "varchar"),
        ("days_since_last_invoice", "double"),
        ("revenue_12m_rub", "double"),
        ("horizon_days", "integer"),
        ("model_run_id", "varchar"),
        (
            "method",
            "varchar",
        ),  # model, or the baseline scored in its place (bg_nbd, days_since_last_purchase)
    ),
    "model_metrics": (
        ("as_of_date", "date"),
        ("model_name", "varchar"),
        ("backtest_as_of_date", "date"),
        ("horizon_days", "integer"),
        ("method", "varchar"),
        ("is_baseline", "boolean"),
        ("rows_scored", "bigint"),
        ("positives", "bigint"),
        ("roc_auc", "double"),
        ("pr_auc", "double"),
        ("brier", "double"),
        ("train_rows", "bigint"),
        ("model_run_id", "varchar"),
    ),
    "sales_forecast": (
        ("as_of_date", "date"),
        ("forecast_month", "date"),
        ("horizon_months", "integer"),
        ("level", "varchar"),
        ("product_line", "varchar"),
        ("office_code", "varchar"),
        ("forecast_rub", "double"),
        ("baseline_rub", "double"),
        ("pipeline_rub", "double"),
        ("lower_80_rub", "double"),
        ("upper_80_rub", "double"),
        ("lower_95_rub", "double"),
        ("upper_95_rub", "double"),
        ("model_run_id", "varchar"),
        ("method", "varchar"),  # seasonal (two full years or more) or short_history: see models/forecast.py
        ("history_months", "integer"),  # complete months of revenue the forecast rests on
    ),
    "forecast_accuracy": (
        ("as_of_date", "date"),
        ("level", "varchar"),
        ("horizon_months", "integer"),
        ("method", "varchar"),
        ("is_baseline", "boolean"),
        ("origins", "integer"),
        ("first_origin_month", "date"),
        ("last_origin_month", "date"),
        ("actual_rub", "double"),
        ("wape", "double"),
        ("bias", "double"),
        ("coverage_80", "double"),
        ("coverage_95", "double"),
        ("model_run_id", "varchar"),
    ),
    "lead_scores": (
        ("as_of_date", "date"),
        ("subject_type", "varchar"),
        ("lead_id", "varchar"),
        ("client_id", "varchar"),
        ("source_channel", "varchar"),
        ("win_probability", "double"),
        ("score_band", "varchar"),
        ("reasons", "varchar"),
        ("horizon_days", "integer"),
        ("model_run_id", "varchar"),
        ("method", "varchar"),  # model, or source_channel (the baseline scored in its place)
    ),
    "next_best_actions": (
        ("as_of_date", "date"),
        ("client_id", "varchar"),
        ("action", "varchar"),
        ("is_sales_offer", "boolean"),
        ("product_line", "varchar"),
        ("reason", "varchar"),
        ("is_sales_offer_blocked", "boolean"),
        ("blocked_reason", "varchar"),
        ("churn_probability", "double"),
        ("horizon_days", "integer"),
    ),
}


def ensure_ml_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ml schema and every ml table that is missing (empty), and add the columns a table
    written by an older version lacks (NULL in its old rows); nothing else is changed."""
    ensure_schemas(con, ML_SCHEMA)
    present = set(
        con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = ?",
            [ML_SCHEMA],
        ).fetchall()
    )
    tables = {table for table, _ in present}
    for table, columns in TABLES.items():
        if table not in tables:
            cols = ", ".join(f"{name} {dtype}" for name, dtype in columns)
            con.execute(f"create table if not exists {ML_SCHEMA}.{table} ({cols})")
            continue
        for name, dtype in columns:
            if (table, name) not in present:
                con.execute(f"alter table {ML_SCHEMA}.{table} add column {name} {dtype}")


def empty_rows(table: str) -> pd.DataFrame:
    """No rows, with the columns of ml.<table>."""
    return pd.DataFrame({name: pd.Series(dtype=object) for name, _ in TABLES[table]})


def _typed(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    columns = [name for name, _ in TABLES[table]]
    if frame.empty:
        # nothing to write (a model skipped, a backtest without dates): whatever columns it has
        return empty_rows(table)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"rows for {ML_SCHEMA}.{table} lack columns {missing}")
    return frame[columns]


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    where: Mapping[str, object],
) -> int:
    """Delete the rows of ml.<table> matching `where` (column = value) and insert `frame`, atomically."""
    rows = _typed(table, frame)
    cols = ", ".join(name for name, _ in TABLES[table])
    clause = " and ".join(f"{k} = ?" for k in where) or "true"
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {ML_SCHEMA}.{table} where {clause}", list(where.values()))
        if len(rows):
            con.register("_ml_rows", rows)
            try:
                con.execute(f"insert into {ML_SCHEMA}.{table} ({cols}) select {cols} from _ml_rows")
            finally:
                con.unregister("_ml_rows")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    log.info("ml.%s: %d rows for %s", table, len(rows), ", ".join(f"{k}={v}" for k, v in where.items()))
    return len(rows)


def read_table(con: duckdb.DuckDBPyConnection, table: str, as_of: date | None = None) -> pd.DataFrame:
    """Rows of ml.<table> (for one as-of date when given)."""
    if table not in TABLES:
        raise KeyError(f"unknown ml table {table!r}; known: {sorted(TABLES)}")
    if as_of is None:
        return con.execute(f"select * from {ML_SCHEMA}.{table}").df()
    return con.execute(f"select * from {ML_SCHEMA}.{table} where as_of_date = ?", [as_of]).df()
