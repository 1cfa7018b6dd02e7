"""Reading the sales forecast and its measured accuracy (ml.sales_forecast,
ml.forecast_accuracy, written by the model jobs; models/schema.py has their columns)
into the shapes the report's revenue section and notebooks/forecast_review.ipynb use.

A model output's as_of_date is exclusive: it was computed from data strictly before that
day. So a forecast issued as of 1 March knew February in full and is a forecast made
before March began.

Only the company-wide forecast (level 'total') is read here: the report speaks of the
company's revenue; forecasts per product line or office are for the notebook's drill.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from reports.formatting import fmt_int, fmt_pct
from reports.model import Table
from reports.source import Source

FORECAST_TABLE = "ml.sales_forecast"
ACCURACY_TABLE = "ml.forecast_accuracy"
TOTAL_LEVEL = "total"

FORECAST_COLUMNS = [
    "issued",
    "forecast_month",
    "horizon_months",
    "forecast_rub",
    "lower_80_rub",
    "upper_80_rub",
    "lower_95_rub",
    "upper_95_rub",
    "method",
    "history_months",
]


def forecast_frame(source: Source, level: str = TOTAL_LEVEL) -> pd.DataFrame:
    """Every forecast of one level: issued (its as-of date), forecast_month (first day),
    horizon_months, forecast_rub, the 80% and 95% interval bounds, method (seasonal or
    short_history) and history_months (complete months of revenue it rests on)."""
    source.require_rows(FORECAST_TABLE)
    has_history = {"method", "history_months"} <= set(source.columns(FORECAST_TABLE))
    history = "method, history_months" if has_history else "null as method, null as history_months"
    frame = source.df(
        f"""
        select
            as_of_date as issued, forecast_month, horizon_months,
            forecast_rub, lower_80_rub, upper_80_rub, lower_95_rub, upper_95_rub, {history}
        from {FORECAST_TABLE}
        where level = $level
        order by forecast_month, as_of_date
        """,
        {"level": level},
    )
    for column in ("issued", "forecast_month"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame[FORECAST_COLUMNS]


def forecast_levels(source: Source) -> list[str]:
    source.require_rows(FORECAST_TABLE)
    return [
        r[0] for r in source.con.execute(f"select distinct level from {FORECAST_TABLE} order by 1").fetchall()
    ]


def forecast_made_before(frame: pd.DataFrame, month: date) -> pd.Series | None:
    """The forecast for `month` made most recently before the month began (what a
    manager saw going into it: issued as of the month's first day at the latest), or None."""
    hits = frame[(frame["forecast_month"] == month) & (frame["issued"] <= month)]
    return None if hits.empty else hits.sort_values("issued").iloc[-1]


def latest_forecast(frame: pd.DataFrame, end: date) -> pd.DataFrame:
    """The latest forecast known by `end` (issued as of `end` at the latest), for the months
    from `end` on."""
    issued = frame.loc[frame["issued"] <= end, "issued"]
    if issued.empty:
        return frame.iloc[0:0]
    latest = issued.max()
    return frame[(frame["issued"] == latest) & (frame["forecast_month"] >= end)].sort_values("forecast_month")


def accuracy_frame(source: Source, end: date | None = None, level: str = TOTAL_LEVEL) -> pd.DataFrame:
    """The latest backtest of the forecast known by `end` (as_of_date on or before it): one
    row per horizon and method, the model and its baselines."""
    source.require_rows(ACCURACY_TABLE)
    frame = source.df(
        f"""
        select *
        from {ACCURACY_TABLE}
        where level = $level
            and as_of_date = (
                select max(as_of_date) from {ACCURACY_TABLE}
                where level = $level and as_of_date <= $day
            )
        order by horizon_months, is_baseline, method
        """,
        {"level": level, "day": end or date.max},
    )
    for column in ("as_of_date", "first_origin_month", "last_origin_month"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def accuracy_summary(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Per horizon: the model's WAPE, bias and interval coverage next to the best baseline's WAPE."""
    if accuracy.empty:
        return pd.DataFrame()
    model = accuracy[~accuracy["is_baseline"].astype(bool)].set_index("horizon_months")
    baselines = accuracy[accuracy["is_baseline"].astype(bool)]
    best = (
        baselines.sort_values("wape").groupby("horizon_months").head(1).set_index("horizon_months")
        if not baselines.empty
        else pd.DataFrame(columns=["method", "wape"])
    )
    out = pd.DataFrame(
        {
            "method": model["method"],
            "origins": model["origins"],
            "wape": model["wape"],
            "bias": model["bias"],
            "coverage_80": model["coverage_80"],
            "coverage_95": model["coverage_95"],
            "best_baseline": best["method"].reindex(model.index),
            "best_baseline_wape": best["wape"].reindex(model.index),
        }
    )
    return out.sort_index()


def accuracy_table(summary: pd.DataFrame) -> Table:
    return Table(
        title="Measured accuracy of the forecast (backtest over past months)",
        columns=[
            "Months ahead",
            "Backtest months",
            "Error (WAPE)",
            "Bias",
            "Best baseline",
            "Its error",
            "In 80% interval",
            "In 95% interval",
        ],
        rows=[
            [
                fmt_int(horizon),
                fmt_int(r["origins"]),
                fmt_pct(r["wape"]),
                fmt_pct(r["bias"]),
                str(r["best_baseline"]) if pd.notna(r["best_baseline"]) else "–",
                fmt_pct(r["best_baseline_wape"]),
                fmt_pct(r["coverage_80"], 0),
                fmt_pct(r["coverage_95"], 0),
            ]
            for horizon, r in summary.iterrows()
        ],
        align=["r", "r", "r", "r", "l", "r", "r", "r"],
        empty_text="no backtest recorded",
    )
