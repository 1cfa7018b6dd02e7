"""Reading the sales forecast and its measured accuracy (ml.sales_forecast,
ml.forecast_accuracy) into the shapes the report and the forecast notebook use.

Shared by the revenue section and notebooks/forecast_review.ipynb.
"""

from __future__ import annotations

import pandas as pd

from crmw.reports.formatting import fmt_int, fmt_pct, fmt_rub
from crmw.reports.model import Table
from crmw.reports.periods import Period
from crmw.reports.source import ColumnMissing, Source

FORECAST_TABLE = "ml.sales_forecast"
ACCURACY_TABLE = "ml.forecast_accuracy"

# the column names the model jobs may use for each idea, most specific first
_PERIOD_COLUMNS = ("target_month", "forecast_month", "period_start", "month", "ds")
_POINT_COLUMNS = ("forecast_rub", "predicted_revenue_rub", "revenue_forecast_rub", "yhat", "forecast")
_LOWER_COLUMNS = ("lower_rub", "forecast_lower_rub", "yhat_lower", "lower")
_UPPER_COLUMNS = ("upper_rub", "forecast_upper_rub", "yhat_upper", "upper")
_ISSUED_COLUMNS = ("as_of_date", "forecast_date", "issued_at", "cutoff_date")
_LEVEL_COLUMNS = ("interval_level", "coverage_level", "level")


def _pick(
    source: Source, table: str, candidates: tuple[str, ...], what: str, required: bool = True
) -> str | None:
    column = source.first_column(table, *candidates)
    if column is None and required:
        raise ColumnMissing(table, [f"{what} ({' / '.join(candidates)})"])
    return column


def forecast_frame(source: Source) -> pd.DataFrame:
    """Every forecast row: period_start, forecast_rub, lower_rub, upper_rub, issued (the
    as-of date it was made), horizon (months ahead), interval_level."""
    source.require(FORECAST_TABLE)
    t = FORECAST_TABLE
    period = _pick(source, t, _PERIOD_COLUMNS, "target period")
    point = _pick(source, t, _POINT_COLUMNS, "point forecast")
    lower = _pick(source, t, _LOWER_COLUMNS, "interval lower bound", required=False)
    upper = _pick(source, t, _UPPER_COLUMNS, "interval upper bound", required=False)
    issued = _pick(source, t, _ISSUED_COLUMNS, "as-of date", required=False)
    level = _pick(source, t, _LEVEL_COLUMNS, "interval level", required=False)
    cols = [f"cast({period} as date) as period_start", f"cast({point} as double) as forecast_rub"]
    cols.append(f"cast({lower} as double) as lower_rub" if lower else "null::double as lower_rub")
    cols.append(f"cast({upper} as double) as upper_rub" if upper else "null::double as upper_rub")
    cols.append(f"cast({issued} as date) as issued" if issued else "null::date as issued")
    cols.append(f"cast({level} as double) as interval_level" if level else "null::double as interval_level")
    frame = source.df(f"select {', '.join(cols)} from {t}")
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    frame["issued"] = pd.to_datetime(frame["issued"]).dt.date
    return frame


def forecast_for_periods(source: Source, periods: list[Period]) -> pd.DataFrame:
    """For each period, the forecast made most recently before it began (the one a
    manager saw going into the period): period, forecast_rub, lower_rub, upper_rub."""
    frame = forecast_frame(source)
    rows = []
    for period in periods:
        hits = frame[frame["period_start"] == period.start]
        if hits.empty:
            continue
        before = hits[hits["issued"].isna() | (hits["issued"] < period.start)]
        chosen = (before if not before.empty else hits).sort_values("issued", na_position="first").iloc[-1]
        rows.append({"period": period, **chosen.drop(labels=["period_start"]).to_dict()})
    return pd.DataFrame(
        rows, columns=["period", "forecast_rub", "lower_rub", "upper_rub", "issued", "interval_level"]
    )


def accuracy_frame(source: Source) -> pd.DataFrame:
    source.require(ACCURACY_TABLE)
    return source.df(f"select * from {ACCURACY_TABLE}")


def accuracy_table(source: Source) -> Table | None:
    """The measured accuracy of the forecast, one row per horizon (or per metric)."""
    frame = accuracy_frame(source)
    if frame.empty:
        return None
    columns = list(frame.columns)
    percent_like = {c for c in columns if any(k in c for k in ("mape", "coverage", "smape", "pct", "rate"))}
    money_like = {c for c in columns if c.endswith("_rub") or c in {"mae", "rmse"}}
    count_like = {c for c in columns if c in {"n", "n_periods", "periods", "count"} or c.startswith("n_")}
    rows = []
    for record in frame.head(12).to_dict("records"):
        row = []
        for c in columns:
            value = record[c]
            if c in percent_like:
                row.append(fmt_pct(value))
            elif c in money_like:
                row.append(fmt_rub(value))
            elif c in count_like:
                row.append(fmt_int(value))
            else:
                row.append("–" if value is None else str(value))
        rows.append(row)
    return Table(
        title="Measured forecast accuracy (backtest)",
        columns=[c.replace("_", " ") for c in columns],
        rows=rows,
    )
