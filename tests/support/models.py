"""Warehouses built from generated exports for the model tests (tests/models/).

Building one takes a minute or two, so each (scale, sources) warehouse is built once per test
session into a template folder and every test that needs its own copy gets one (`fresh_home`):
DuckDB allows one writer per file, and the registry's artefacts live under each home.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from models.schema import ensure_ml_schema
from tests.support.homes import build_home, generate_sample
from warehouse.connection import connect
from warehouse.settings import Settings

_TEMPLATES: dict[tuple[float, bool], Path] = {}

# the tables a model run writes, with the columns that describe a run rather than its results
SCORE_TABLES = {
    "client_segments": ["model_run_id"],
    "client_segment_migration": ["model_run_id"],
    "churn_scores": ["model_run_id"],
    "lead_scores": ["model_run_id"],
    "sales_forecast": ["model_run_id"],
    "forecast_accuracy": ["model_run_id"],
    "model_metrics": ["model_run_id"],
    "next_best_actions": [],
}
SORT_KEYS = {
    "client_segments": ["client_id"],
    "client_segment_migration": ["client_id"],
    "churn_scores": ["client_id"],
    "lead_scores": ["subject_type", "lead_id", "client_id"],
    "sales_forecast": ["forecast_month", "level", "product_line", "office_code"],
    "forecast_accuracy": ["level", "horizon_months", "method"],
    "model_metrics": ["model_name", "backtest_as_of_date", "method"],
    "next_best_actions": ["client_id"],
}


def template_warehouse(
    root: Path, scale: float, finance_only: bool = False, exports: Path | None = None
) -> Path:
    """The home of a warehouse built from generated exports (seed 42; `exports` when given), built once
    per session. (Scale 0.01 with every source is the session's `built_home` fixture.)"""
    key = (scale, finance_only)
    if key not in _TEMPLATES:
        exports = exports or generate_sample(root / f"exports-{scale}", scale=scale)
        home = root / f"home-{scale}-{'finance' if finance_only else 'all'}"
        settings = build_home(home, exports, *(["finance"] if finance_only else []), run_tests=False)
        with connect(settings.warehouse_path) as con:
            ensure_ml_schema(con)
        _TEMPLATES[key] = home
    return _TEMPLATES[key]


def fresh_home(template: Path, dest: Path) -> Settings:
    """A copy of a template warehouse (and its pseudonym key) in its own home, without the template's
    artefacts."""
    settings = Settings(home=dest).ensure()
    shutil.copy(Settings(home=template).warehouse_path, settings.warehouse_path)
    if (template / "secrets").exists():
        shutil.copytree(template / "secrets", dest / "secrets", dirs_exist_ok=True)
    return settings


def scores(settings: Settings, as_of: date) -> dict[str, pd.DataFrame]:
    """Every score table's rows for one as-of date, sorted, without the columns naming the run."""
    out = {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for table, drop in SCORE_TABLES.items():
            df = con.execute(f"select * from ml.{table} where as_of_date = ?", [as_of]).df()
            df = df.drop(columns=drop).sort_values(SORT_KEYS[table]).reset_index(drop=True)
            out[table] = df
    return out


def query(settings: Settings, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).df()
