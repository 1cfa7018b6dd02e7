"""Reading churn scores and the model's backtest (ml.churn_scores, ml.model_metrics,
written by the model jobs; models/schema.py has their columns) into the shapes the
report's watchlist and notebooks/churn_drivers.ipynb use."""

from __future__ import annotations

from datetime import date

import pandas as pd

from reports.source import Source

SCORES_TABLE = "ml.churn_scores"
METRICS_TABLE = "ml.model_metrics"
CHURN_MODEL = "churn"
HIGH_BANDS = ("high",)

SCORE_COLUMNS = [
    "as_of_date",
    "client_id",
    "churn_probability",
    "risk_band",
    "drivers",
    "driver_features",
    "days_since_last_invoice",
    "revenue_12m_rub",
]


def churn_scores(source: Source) -> pd.DataFrame:
    """Every churn score: as_of_date, client_id, churn_probability, risk_band (low, medium,
    high), drivers (in words, '; '-separated), driver_features (the driver groups,
    comma-separated), days_since_last_invoice, revenue_12m_rub (both as of the score)."""
    source.require_rows(SCORES_TABLE)
    frame = source.df(f"select {', '.join(SCORE_COLUMNS)} from {SCORES_TABLE}")
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    frame["is_high"] = frame["risk_band"].astype(str).str.lower().isin(HIGH_BANDS)
    return frame


def score_dates(frame: pd.DataFrame) -> list[date]:
    return sorted(frame["as_of_date"].dropna().unique())


def scores_as_of(frame: pd.DataFrame, end: date) -> pd.DataFrame:
    """The latest scores known by `end`: as_of_date on or before it (a score's as_of_date is
    exclusive, computed from data strictly before that day). Empty when there is none."""
    dates = [d for d in score_dates(frame) if d <= end]
    if not dates:
        return frame.iloc[0:0]
    return frame[frame["as_of_date"] == dates[-1]].reset_index(drop=True)


def driver_groups(frame: pd.DataFrame) -> pd.Series:
    """How often each driver group (recency, payments, tickets, ...) is among a score's drivers."""
    groups = frame["driver_features"].fillna("").str.split(",").explode().str.strip()
    return groups[groups != ""].value_counts()


def churn_backtest(source: Source, end: date | None = None) -> pd.DataFrame:
    """The churn model's latest backtest known by `end`: per backtest date and method, the
    model and its baselines, with roc_auc, pr_auc and brier."""
    source.require_rows(METRICS_TABLE)
    frame = source.df(
        f"""
        select *
        from {METRICS_TABLE}
        where model_name = $model
            and as_of_date = (
                select max(as_of_date) from {METRICS_TABLE} where model_name = $model and as_of_date <= $day
            )
        order by backtest_as_of_date, is_baseline, method
        """,
        {"model": CHURN_MODEL, "day": end or date.max},
    )
    for column in ("as_of_date", "backtest_as_of_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def backtest_summary(backtest: pd.DataFrame) -> pd.DataFrame:
    """Mean quality per method over the backtest dates, the model first."""
    if backtest.empty:
        return pd.DataFrame()
    summary = (
        backtest.groupby(["method", "is_baseline"])
        .agg(
            backtests=("backtest_as_of_date", "nunique"),
            roc_auc=("roc_auc", "mean"),
            pr_auc=("pr_auc", "mean"),
            brier=("brier", "mean"),
            positives=("positives", "sum"),
            rows_scored=("rows_scored", "sum"),
        )
        .reset_index()
        .sort_values(["is_baseline", "pr_auc"], ascending=[True, False])
    )
    return summary.set_index("method")
