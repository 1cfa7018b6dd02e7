"""The model jobs: what the CLI (`crmw models run`), Dagster and the benchmark call.

`run_all(settings, as_of)` trains where needed, scores, backtests and writes every ml table for one
as-of date, and returns a small summary. The finer `run_*` functions do one model each (for Dagster
assets); each opens the warehouse for writing, so run them one after another, not in parallel.

Every job runs as of a date: it reads the warehouse cut at that date (`models.data.Frames.before`),
so re-running a past date gives the same rows, and rows written for a date replace that date's rows.
The default as-of date is the day after the latest data in the warehouse.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from models import churn, forecast, leads, nba, registry, segments
from models.context import RunContext
from models.inputs import model_connection
from models.schema import empty_rows, read_table, replace_rows
from models.status import SKIPPED, TRAINED, CannotScore
from warehouse.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_CHURN_HORIZON_DAYS = 180
DEFAULT_FORECAST_HORIZON_MONTHS = 6
DEFAULT_LEAD_HORIZON_DAYS = 90
DEFAULT_THREADS = 1  # native threads per model fit: 1 is fastest when other stages share the cores


@contextmanager
def _context(
    settings: Settings,
    as_of: date | None,
    churn_horizon_days: int = DEFAULT_CHURN_HORIZON_DAYS,
    forecast_horizon_months: int = DEFAULT_FORECAST_HORIZON_MONTHS,
    lead_horizon_days: int = DEFAULT_LEAD_HORIZON_DAYS,
    threads: int = DEFAULT_THREADS,
) -> Iterator[RunContext]:
    settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    # the warehouse file on DuckDB; on Spark a workspace with the marts it reads (models/inputs.py)
    with model_connection(settings) as con, threadpool_limits(threads):
        yield RunContext.open(
            settings,
            con,
            as_of,
            churn_horizon_days=churn_horizon_days,
            forecast_horizon_months=forecast_horizon_months,
            lead_horizon_days=lead_horizon_days,
        )


def _write(ctx: RunContext, table: str, rows: pd.DataFrame, **where: Any) -> int:
    return replace_rows(ctx.con, table, rows, {"as_of_date": ctx.as_of, **where})


def _metrics_rows(ctx: RunContext, rows: pd.DataFrame, run_id: str) -> pd.DataFrame:
    if rows.empty:
        return rows
    return rows.assign(as_of_date=ctx.as_of, model_run_id=run_id)


def _outcome(run: dict) -> dict:
    """What the summary says of a registered run: its id, status, horizon and the reason, if any."""
    out = {"run_id": run["run_id"], "status": run.get("status") or TRAINED}
    for key in ("horizon_days", "horizon_months"):
        if run.get(key) is not None and not pd.isna(run.get(key)):
            out[key] = int(run[key])
    if isinstance(run.get("reason"), str) and run["reason"]:
        out["reason"] = run["reason"]
    return out


# ---------------------------------------------------------------------------- one model each
def segments_job(ctx: RunContext) -> dict:
    run, model = segments.train(ctx)
    rows = segments.score(ctx, run, model)
    moved = segments.migration(ctx, run, model)
    n = _write(ctx, "client_segments", rows)
    m = _write(ctx, "client_segment_migration", moved)
    return {
        **_outcome(run),
        "rows": {"ml.client_segments": n, "ml.client_segment_migration": m},
        "segments": rows["segment"].value_counts().to_dict(),
        "changed_since": int(moved["has_changed"].sum()) if len(moved) else 0,
    }


def churn_job(ctx: RunContext, with_backtest: bool = True) -> dict:
    churn.require_invoices(ctx)
    plan = churn.label_plan(ctx)
    bt = churn.backtest(ctx, plan) if with_backtest else pd.DataFrame()
    run, scorer = churn.train(ctx, plan, bt if with_backtest else None)
    rows = churn.score(ctx, run, scorer)
    n = _write(ctx, "churn_scores", rows)
    if with_backtest:
        _write(ctx, "model_metrics", _metrics_rows(ctx, bt, run["run_id"]), model_name=churn.MODEL_NAME)
    return {
        **_outcome(run),
        "rows": {"ml.churn_scores": n},
        "risk_bands": rows["risk_band"].value_counts().to_dict(),
        "backtest": churn.summarise_backtest(bt),
    }


def leads_job(ctx: RunContext, with_backtest: bool = True) -> dict:
    if not leads.has_lead_data(ctx):
        raise CannotScore(f"no CRM leads before {ctx.as_of}: lead scoring needs the CRM's leads export")
    plan = leads.label_plan(ctx)
    bt = leads.backtest(ctx, plan) if with_backtest else pd.DataFrame()
    run, pipe = leads.train(ctx, plan, bt if with_backtest else None)
    rows = leads.score(ctx, run, pipe, plan)
    n = _write(ctx, "lead_scores", rows)
    if with_backtest:
        _write(ctx, "model_metrics", _metrics_rows(ctx, bt, run["run_id"]), model_name=leads.MODEL_NAME)
    return {
        **_outcome(run),
        "rows": {"ml.lead_scores": n},
        "bands": rows["score_band"].value_counts().to_dict(),
        "backtest": leads.pooled_metrics(bt, ctx),
    }


def forecast_job(ctx: RunContext) -> dict:
    bt = forecast.backtest(ctx)
    run, fc = forecast.train(ctx, bt)
    rows = forecast.forecast(ctx, bt, run["run_id"], fc)
    n = _write(ctx, "sales_forecast", rows)
    acc = bt.accuracy.assign(as_of_date=ctx.as_of, model_run_id=run["run_id"])
    m = _write(ctx, "forecast_accuracy", acc)
    return {
        **_outcome(run),
        "rows": {"ml.sales_forecast": n, "ml.forecast_accuracy": m},
        "history_months": fc.history_months,
        "regime": fc.regime,
        "basis": forecast.history_note(fc),
        "wape": forecast.summarise(bt.accuracy),
    }


def next_best_actions_job(ctx: RunContext) -> dict:
    churn_scores = read_table(ctx.con, "churn_scores", ctx.as_of)
    lead_scores = read_table(ctx.con, "lead_scores", ctx.as_of)
    rows = nba.score(ctx, churn_scores, lead_scores)
    if rows.empty:
        raise CannotScore(f"no client invoiced or seen in the CRM or on the web before {ctx.as_of}")
    n = _write(ctx, "next_best_actions", rows)
    return {
        "status": TRAINED,
        "rows": {"ml.next_best_actions": n},
        "actions": rows["action"].value_counts().to_dict(),
    }


# what each job writes (cleared for the date when it is skipped), its model's name and title
JOB_OUTPUTS: dict[str, tuple[str, str, tuple[tuple[str, dict], ...]]] = {
    "segments": (
        segments.MODEL_NAME,
        "Value segments",
        (("client_segments", {}), ("client_segment_migration", {})),
    ),
    "churn": (
        churn.MODEL_NAME,
        "Churn risk model",
        (("churn_scores", {}), ("model_metrics", {"model_name": churn.MODEL_NAME})),
    ),
    "leads": (
        leads.MODEL_NAME,
        "Lead scoring model",
        (("lead_scores", {}), ("model_metrics", {"model_name": leads.MODEL_NAME})),
    ),
    "forecast": (
        forecast.MODEL_NAME,
        "Sales forecast",
        (("sales_forecast", {}), ("forecast_accuracy", {})),
    ),
    "next_best_actions": (nba.MODEL_NAME, "Next best actions", (("next_best_actions", {}),)),
}


def _skip(ctx: RunContext, job: str, reason: str) -> dict:
    """Clear the job's rows for the date and record why it was skipped (ml.model_runs, model card)."""
    model_name, title, outputs = JOB_OUTPUTS[job]
    rows = {}
    for table, where in outputs:
        _write(ctx, table, empty_rows(table), **where)
        rows[f"ml.{table}"] = 0
    horizon = {
        "churn": {"horizon_days": ctx.churn_horizon_days},
        "leads": {"horizon_days": ctx.lead_horizon_days},
        "forecast": {"horizon_months": ctx.forecast_horizon_months},
    }.get(job, {})
    run = registry.record_skip(
        ctx.con, ctx.settings, model_name, title, ctx.as_of, reason, sorted(ctx.sources), **horizon
    )
    return {"run_id": run["run_id"], "status": SKIPPED, "reason": reason, "rows": rows}


def _run_job(ctx: RunContext, name: str, job: Callable[[], dict]) -> dict:
    """One job, or its skip when the data cannot support it (CannotScore); other errors stop the run."""
    started = time.perf_counter()
    try:
        out = job()
    except CannotScore as exc:
        out = _skip(ctx, name, str(exc))
    out["seconds"] = round(time.perf_counter() - started, 2)
    log.info("%s %s in %.1fs", name, out["status"], out["seconds"])
    return out


# ---------------------------------------------------------------------------- public entry points
def run_all(
    settings: Settings,
    as_of: date | None = None,
    churn_horizon_days: int = DEFAULT_CHURN_HORIZON_DAYS,
    forecast_horizon_months: int = DEFAULT_FORECAST_HORIZON_MONTHS,
    *,
    lead_horizon_days: int = DEFAULT_LEAD_HORIZON_DAYS,
    backtest: bool = True,
    threads: int = DEFAULT_THREADS,
) -> dict:
    """Train where needed, score, backtest and write every ml table as of `as_of` (default: the day
    after the latest data). A model the data cannot support is skipped with its reason (and its rows
    for the date cleared); the others still run. Returns a summary: as-of date, sources, seconds, and
    per model its status (trained, baseline, skipped), reason, horizon used, rows per table, run id and
    the backtest metrics next to their baselines."""
    started = time.perf_counter()
    summary: dict[str, Any] = {}
    with _context(
        settings, as_of, churn_horizon_days, forecast_horizon_months, lead_horizon_days, threads
    ) as ctx:
        summary["as_of"] = ctx.as_of
        summary["sources"] = sorted(ctx.sources)
        summary["horizons"] = {
            "churn_days": churn_horizon_days,
            "forecast_months": forecast_horizon_months,
            "lead_days": lead_horizon_days,
        }
        for name, job in (
            ("segments", lambda: segments_job(ctx)),
            ("churn", lambda: churn_job(ctx, backtest)),
            ("leads", lambda: leads_job(ctx, backtest)),
            ("forecast", lambda: forecast_job(ctx)),
            ("next_best_actions", lambda: next_best_actions_job(ctx)),
        ):
            summary[name] = _run_job(ctx, name, job)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    log.info("models as of %s done in %.1fs", summary["as_of"], summary["seconds"])
    return summary


def run_segments(settings: Settings, as_of: date | None = None, *, churn_horizon_days: int = 180) -> dict:
    with _context(settings, as_of, churn_horizon_days=churn_horizon_days) as ctx:
        return _run_job(ctx, "segments", lambda: segments_job(ctx))


def run_churn(
    settings: Settings, as_of: date | None = None, *, churn_horizon_days: int = 180, backtest: bool = True
) -> dict:
    with _context(settings, as_of, churn_horizon_days=churn_horizon_days) as ctx:
        return _run_job(ctx, "churn", lambda: churn_job(ctx, backtest))


def run_leads(
    settings: Settings, as_of: date | None = None, *, lead_horizon_days: int = 90, backtest: bool = True
) -> dict:
    with _context(settings, as_of, lead_horizon_days=lead_horizon_days) as ctx:
        return _run_job(ctx, "leads", lambda: leads_job(ctx, backtest))


def run_forecast(settings: Settings, as_of: date | None = None, *, forecast_horizon_months: int = 6) -> dict:
    with _context(settings, as_of, forecast_horizon_months=forecast_horizon_months) as ctx:
        return _run_job(ctx, "forecast", lambda: forecast_job(ctx))


def run_next_best_actions(
    settings: Settings, as_of: date | None = None, *, churn_horizon_days: int = 180
) -> dict:
    """Needs ml.churn_scores and ml.lead_scores of the same date (run_churn, run_leads first)."""
    with _context(settings, as_of, churn_horizon_days=churn_horizon_days) as ctx:
        return _run_job(ctx, "next_best_actions", lambda: next_best_actions_job(ctx))
