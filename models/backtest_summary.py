"""The backtest tables of a model run, as markdown: churn and lead metrics next to their baselines,
forecast WAPE and bias per horizon next to seasonal naive and the last-3-months mean.

    python -m models.backtest_summary                # CRMW_HOME's warehouse, latest as-of date
    python -m models.backtest_summary --home DIR --as-of 2026-10-01
    python -m models.backtest_summary --home DIR --docs   # the section docs/models.md shows

`docs_section` is what docs/models.md shows between its backtest markers, per backtest date and metric,
generated from ml.model_metrics and ml.forecast_accuracy; tests hold the document to it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

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


METRICS = (("roc_auc", "ROC AUC", "higher"), ("pr_auc", "PR AUC", "higher"), ("brier", "Brier", "lower"))


def _comparison(m: pd.DataFrame, model: str) -> list[str]:
    """Per backtest date: how many were scored and how many were positive (churned, won), each metric
    for the model and its baselines, the best in bold; then how often the model was the best, per
    metric."""
    methods = ["model", *sorted(set(m["method"]) - {"model"})]
    header = "| backtest date | scored | positives | " + " | ".join(
        f"{label}: {' / '.join(methods)}" for _, label, _ in METRICS
    )
    lines = [header + " |", "|" + "---|" * (3 + len(METRICS))]
    wins = dict.fromkeys([name for name, _, _ in METRICS], 0)
    dates = sorted(m["backtest_as_of_date"].unique())
    for day in dates:
        rows = m[m["backtest_as_of_date"] == day].set_index("method")
        cells = [
            f"{pd.Timestamp(day):%Y-%m-%d}",
            f"{int(rows['rows_scored'].iloc[0]):,}",
            f"{int(rows['positives'].iloc[0]):,}",
        ]
        for name, _, better in METRICS:
            values = rows[name].reindex(methods)
            best = values.max() if better == "higher" else values.min()
            wins[name] += bool(values["model"] == best)
            cells.append(" / ".join(f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in values))
        lines.append("| " + " | ".join(cells) + " |")
    summary = ", ".join(f"{label} at {wins[name]} of {len(dates)}" for name, label, _ in METRICS)
    return [*lines, "", f"The {model} model scores best (ties included) on {summary} dates."]


def docs_section(settings: Settings, as_of: date | None = None) -> str:
    """The markdown docs/models.md shows for a run: churn and lead per backtest date and metric (model
    and baselines, the best in bold, how often the model won), and the forecast's WAPE per horizon and
    level next to its baselines, with the origins they rest on."""
    with connect(settings.warehouse_path, read_only=True) as con:
        as_of = as_of or _latest(con, "model_metrics") or _latest(con, "forecast_accuracy")
        metrics = con.execute("select * from ml.model_metrics where as_of_date = ?", [as_of]).df()
        accuracy = con.execute("select * from ml.forecast_accuracy where as_of_date = ?", [as_of]).df()
    parts = []
    for model, title in (("churn", "Churn"), ("lead", "Lead scoring")):
        m = metrics[metrics["model_name"] == model]
        if m.empty:
            parts += [f"{title}: no backtest in this run.", ""]
            continue
        horizon = int(m["horizon_days"].iloc[0])
        parts += [f"{title} (horizon {horizon} days), as of {as_of}:", "", *_comparison(m, model), ""]
    for level, title in (("total", "total"), ("product_line_office", "product line x office")):
        a = accuracy[accuracy["level"] == level]
        if a.empty:
            continue
        wape = a.pivot_table(index="horizon_months", columns="method", values="wape")
        origins = a[a["method"] == "model"].set_index("horizon_months")["origins"]
        lines = [
            "| horizon (months) | origins | " + " | ".join(f"WAPE {c}" for c in wape.columns) + " |",
            "|" + "---|" * (2 + len(wape.columns)),
        ]
        for h, row in wape.iterrows():
            values = [f"{v:.3f}" if pd.notna(v) else "" for v in row]
            lines.append(f"| {h} | {int(origins.get(h, 0))} | " + " | ".join(values) + " |")
        parts += [f"Sales forecast, {title}, WAPE by horizon:", "", *lines, ""]
    return "\n".join(parts).strip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", help="CRMW_HOME (default: the environment's)")
    parser.add_argument("--as-of", type=date.fromisoformat, help="as-of date of the run (default: latest)")
    parser.add_argument("--docs", action="store_true", help="the section docs/models.md shows")
    args = parser.parse_args(argv)
    settings = Settings(home=Path(args.home).resolve()) if args.home else get_settings()
    write = docs_section if args.docs else backtest_tables
    sys.stdout.write(write(settings, args.as_of))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
