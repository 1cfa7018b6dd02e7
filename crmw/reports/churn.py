"""Reading churn scores (ml.churn_scores) into the shape the report and the churn
notebook use: one row per client and as-of date with a probability, a risk band and
the drivers behind the score."""

from __future__ import annotations

from datetime import date

import pandas as pd

from crmw.reports.source import ColumnMissing, Source

SCORES_TABLE = "ml.churn_scores"

_SCORE_COLUMNS = ("churn_probability", "churn_risk", "probability", "score", "churn_score")
_AS_OF_COLUMNS = ("as_of_date", "scored_as_of", "score_date", "as_of")
_BAND_COLUMNS = ("risk_band", "risk_tier", "risk_level", "band")
_DRIVER_COLUMNS = ("drivers", "top_drivers", "reason_codes", "explanation", "top_features")


def churn_scores(source: Source) -> pd.DataFrame:
    """client_id, as_of_date, churn_probability, risk_band, drivers (text)."""
    source.require(SCORES_TABLE)
    t = SCORES_TABLE
    score = source.first_column(t, *_SCORE_COLUMNS)
    if score is None or "client_id" not in source.columns(t):
        raise ColumnMissing(t, [c for c in ("client_id", "churn_probability") if c not in source.columns(t)])
    as_of = source.first_column(t, *_AS_OF_COLUMNS)
    band = source.first_column(t, *_BAND_COLUMNS)
    drivers = source.first_column(t, *_DRIVER_COLUMNS)
    cols = [
        "client_id",
        f"cast({as_of} as date) as as_of_date" if as_of else "null::date as as_of_date",
        f"cast({score} as double) as churn_probability",
        f"cast({band} as varchar) as risk_band" if band else "null::varchar as risk_band",
        f"{drivers} as drivers" if drivers else "null::varchar as drivers",
    ]
    frame = source.df(f"select {', '.join(cols)} from {t}")
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    frame["drivers"] = frame["drivers"].map(drivers_text)
    if frame["risk_band"].isna().all():
        frame["risk_band"] = pd.cut(
            frame["churn_probability"], [-0.01, 0.3, 0.6, 1.01], labels=["low", "medium", "high"]
        ).astype(str)
    return frame


def drivers_text(value) -> str:
    """Drivers as short text whatever their stored shape (list, JSON text, struct list)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            try:
                return drivers_text(json.loads(text))
            except ValueError:
                return text
        return text
    if isinstance(value, dict):
        name = value.get("feature") or value.get("name") or value.get("driver") or ""
        direction = value.get("direction") or ""
        return f"{name} {direction}".strip() or str(value)
    if hasattr(value, "__iter__"):
        return "; ".join(t for t in (drivers_text(v) for v in value) if t)
    return str(value)


def scores_as_of(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """The latest scores made on or before `day` (all of them when scores carry no date)."""
    if frame["as_of_date"].isna().all():
        return frame
    dates = sorted(d for d in frame["as_of_date"].dropna().unique() if d <= day)
    if not dates:
        return frame.iloc[0:0]
    return frame[frame["as_of_date"] == dates[-1]]
