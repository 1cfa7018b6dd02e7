"""The backtest tables of a model run, as markdown: churn and lead metrics next to their baselines,
forecast WAPE and bias per horizon next to seasonal naive and the last-3-months mean.

    python -m models.backtest_summary                # CRMW_HOME's warehouse, latest as-of date
    python -m models.backtest_summary --home DIR --as-of 2026-10-01
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import duckdb

from models.registry import markdown_table
from warehouse.connection import connect
from warehouse.settings import Settings, get_settings


def _latest(con: duckdb.DuckDBPyConnection, table: str) -> date | None:
    row = con.execute(f"select max(as_of_date) from ml.{table}").fetchone()
    return row[0] if row else None


def backtest_tables(settings: Settings, as_of: date | None = None) -> str:
    with connect(settings.warehouse_path, read_only=True) as con:
        as_of = as_of or _latest(con, "model_metrics") or _latest(con, "forecast_accuracy")
        metrics = con.execute("select * from ml.model_metrics where as_of_date = ?", [as_of]).df()
        accuracy = con.execute("select * from ml.forecast_accuracy where as_of_date = ?", [as_of]).df()
    parts = [f"# Backtests of the model run as of {as_of}"]
    for model in ("churn", "lead"):
        m = metrics[metrics["model_name"] == model]
        if m.empty:
            parts.append(f"\n## {model}\n\n(no backtest: the model was skipped)")
            continue
        per_date = m[
            ["backtest_as_of_date", "method", "rows_scored", "positives", "roc_auc", "pr_auc", "brier"]
        ]
        mean = m.groupby("method")[["roc_auc", "pr_auc", "brier"]].mean().reset_index()
        horizon = int(m["horizon_days"].iloc[0])
        parts.append(f"\n## {model} (horizon {horizon} days), mean over backtest dates\n")
        parts.append(markdown_table(mean))
        parts.append("\nper backtest date:\n")
        parts.append(markdown_table(per_date.sort_values(["backtest_as_of_date", "method"])))
    if not accuracy.empty:
        for level in ("product_line_office", "total"):
            a = accuracy[accuracy["level"] == level]
            wape = a.pivot_table(index="horizon_months", columns="method", values="wape").reset_index()
            model = a[a["method"] == "model"].set_index("horizon_months")[
                ["bias", "coverage_80", "coverage_95"]
            ]
            table = wape.join(model, on="horizon_months").rename(columns={"bias": "model_bias"})
            origins = int(a["origins"].max())
            parts.append(
                f"\n## sales forecast, {level}: WAPE by horizon (months), {origins} rolling origins\n"
            )
            parts.append(markdown_table(table))
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", help="CRMW_HOME (default: the environment's)")
    parser.add_argument("--as-of", type=date.fromisoformat, help="as-of date of the run (default: latest)")
    args = parser.parse_args(argv)
    settings = Settings(home=Path(args.home).resolve()) if args.home else get_settings()
    sys.stdout.write(backtest_tables(settings, args.as_of))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
