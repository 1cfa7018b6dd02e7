"""What the model jobs did (ml.model_runs, written by models/; models/schema.py has its columns):
per model, its latest run known by a date, whether it was trained, scored by its baseline or skipped,
the horizon it used and why. The report's models section, banners and the churn and revenue sections
read it."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from reports.source import Source

RUNS_TABLE = "ml.model_runs"
# model_name in ml.model_runs -> what the report calls it, in the order the report lists them
MODEL_TITLES = {
    "segments": "Value segments",
    "churn": "Churn risk",
    "lead": "Lead scores",
    "sales_forecast": "Sales forecast",
    "next_best_actions": "Next best actions",
}
RUN_COLUMNS = ["model_name", "as_of_date", "status", "horizon", "reason", "history_months", "regime"]


def latest_runs(source: Source, end: date | None = None) -> pd.DataFrame:
    """The latest run of each model made as of `end` at the latest (as_of_date is exclusive: from
    data strictly before it): model_name, as_of_date, status (trained, baseline, skipped), horizon
    (in words), reason, and for the forecast the months of history and the regime. Empty when the
    models have not run (or ran before runs had a status)."""
    if not source.has(RUNS_TABLE) or "status" not in source.columns(RUNS_TABLE):
        return pd.DataFrame(columns=RUN_COLUMNS)
    frame = source.df(
        f"""
        select model_name, as_of_date, coalesce(status, 'trained') as status, horizon_days,
            horizon_months, reason, params
        from {RUNS_TABLE}
        where as_of_date <= $day
        qualify row_number() over (
            partition by model_name order by as_of_date desc, trained_at desc
        ) = 1
        """,
        {"day": end or date.max},
    )
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    frame["horizon"] = [
        f"{int(d)} days" if pd.notna(d) else f"{int(m)} months" if pd.notna(m) else ""
        for d, m in zip(frame["horizon_days"], frame["horizon_months"], strict=True)
    ]
    params = [json.loads(p) if isinstance(p, str) and p else {} for p in frame["params"]]
    frame["history_months"] = [p.get("history_months") for p in params]
    frame["regime"] = [p.get("regime") for p in params]
    order = {name: i for i, name in enumerate(MODEL_TITLES)}
    frame = frame.sort_values("model_name", key=lambda s: s.map(order).fillna(len(order)))
    return frame[RUN_COLUMNS].reset_index(drop=True)


def run_of(runs: pd.DataFrame, model_name: str) -> dict | None:
    hit = runs[runs["model_name"] == model_name]
    return None if hit.empty else hit.iloc[0].to_dict()


def not_trained_notes(runs: pd.DataFrame) -> list[str]:
    """One sentence per model its latest run skipped or scored by its baseline."""
    notes = []
    for r in runs.to_dict("records"):
        title = MODEL_TITLES.get(r["model_name"], r["model_name"])
        if r["status"] == "skipped":
            notes.append(f"{title}: not made as of {r['as_of_date']:%d %b %Y}: {r['reason']}.")
        elif r["status"] == "baseline":
            notes.append(f"{title}: scored by the model's baseline as of {r['as_of_date']:%d %b %Y}.")
    return notes
