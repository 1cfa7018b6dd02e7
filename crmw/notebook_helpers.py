"""What the exploration notebooks (notebooks/*.ipynb) share, so they hold questions and
pictures rather than code: the published warehouse opened read-only from CRMW_HOME, the
report's chart style and number formats, and the readers of the model outputs
(segments, churn scores, forecasts) the report uses too.

A table the models have not published yet gives an empty frame and a printed note, so
every notebook runs top to bottom on any warehouse.
"""

from __future__ import annotations

import logging
from datetime import date

import matplotlib
import pandas as pd

from crmw.publish import connect_published
from crmw.reports import charts
from crmw.reports.churn import churn_scores, scores_as_of
from crmw.reports.forecast import accuracy_frame, forecast_frame
from crmw.reports.formatting import client_label, fmt_int, fmt_pct, fmt_rub
from crmw.reports.periods import month_period
from crmw.reports.sections.common import revenue_lines_sql
from crmw.reports.segments import (
    client_segments,
    migration_matrix,
    moved_clients,
    segment_dates,
    segment_order,
    segments_on,
)
from crmw.reports.source import ColumnMissing, Source, TableMissing
from crmw.settings import Settings, get_settings

log = logging.getLogger(__name__)

__all__ = [
    "Source",
    "accuracy_by_horizon",
    "annotate_empty",
    "client_names",
    "client_segments_or_empty",
    "churn_scores_or_empty",
    "fmt_int",
    "fmt_pct",
    "fmt_rub",
    "forecast_against_actuals",
    "migration_matrix",
    "model_metrics_or_empty",
    "monthly_revenue",
    "moved_clients",
    "movers",
    "open_published",
    "revenue_12m",
    "scores_as_of",
    "segment_dates",
    "segment_order",
    "segments_on",
    "use_report_style",
]


def open_published(settings: Settings | None = None) -> Source:
    """The published warehouse of CRMW_HOME (read-only), with the tables it holds."""
    settings = settings or get_settings()
    source = Source.open(connect_published(settings.published_path))
    print(f"published warehouse: {settings.published_path}")
    print(
        f"data as of: {source.last_data_day()}; ml tables: {sorted(t for t in source.tables if t.startswith('ml.'))}"
    )
    return source


def use_report_style() -> None:
    """The report's chart style for every figure the notebook draws."""
    style = {k: v for k, v in charts.STYLE.items() if not k.startswith("svg.")}
    matplotlib.rcParams.update(style)


def _or_empty(read, columns: list[str], what: str) -> pd.DataFrame:
    try:
        return read()
    except (TableMissing, ColumnMissing) as exc:
        print(f"{what} not available yet: {exc}")
        return pd.DataFrame(columns=columns)


def client_segments_or_empty(source: Source) -> pd.DataFrame:
    return _or_empty(
        lambda: client_segments(source),
        ["client_id", "as_of_date", "segment", "segment_rank"],
        "Client segments",
    )


def churn_scores_or_empty(source: Source) -> pd.DataFrame:
    return _or_empty(
        lambda: churn_scores(source),
        ["client_id", "as_of_date", "churn_probability", "risk_band", "drivers"],
        "Churn scores",
    )


def model_metrics_or_empty(source: Source, model_like: str | None = None) -> pd.DataFrame:
    """ml.model_metrics, optionally only the rows whose model name contains `model_like`."""

    def read() -> pd.DataFrame:
        source.require("ml.model_metrics")
        frame = source.df("select * from ml.model_metrics")
        model_column = source.first_column("ml.model_metrics", "model", "model_name", "job")
        if model_like and model_column:
            frame = frame[frame[model_column].astype(str).str.contains(model_like, case=False)]
        return frame

    return _or_empty(read, [], "Model metrics")


def monthly_revenue(source: Source) -> pd.DataFrame:
    """Net revenue per calendar month: month (first day), revenue_rub, paying_clients."""
    source.require("marts.fct_invoices")
    frame = source.df(
        f"""
        select date_trunc('month', invoice_date)::date as month,
               sum(net_revenue_rub) as revenue_rub,
               count(distinct client_id) as paying_clients
        from {revenue_lines_sql(source)}
        group by 1 order by 1
        """
    )
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def revenue_12m(source: Source, day: date) -> pd.Series:
    """Net revenue per client in the 365 days up to `day` (index client_id)."""
    frame = source.df(
        f"""
        select client_id, sum(net_revenue_rub) as revenue_12m_rub
        from {revenue_lines_sql(source)}
        where client_id is not null and invoice_date > $day - interval 365 day and invoice_date <= $day
        group by 1
        """,
        {"day": day},
    )
    return frame.set_index("client_id")["revenue_12m_rub"].astype(float)


def client_names(source: Source, client_ids) -> pd.DataFrame:
    """Display name (sole proprietors by id), region, lifecycle stage and owner of clients."""
    ids = list(client_ids)
    frame = source.df(
        """
        select client_id, client_name, primary_inn, region, lifecycle_stage, owner_manager_id
        from marts.dim_clients where client_id in (select unnest($ids))
        """,
        {"ids": ids},
    )
    frame["client"] = [
        client_label(n, c, i)
        for n, c, i in zip(frame["client_name"], frame["client_id"], frame["primary_inn"], strict=True)
    ]
    return frame.drop(columns=["client_name", "primary_inn"]).set_index("client_id")


def forecast_against_actuals(source: Source) -> pd.DataFrame:
    """Every forecast row with the actual revenue of its month and its horizon in months:
    period_start, issued, horizon_months, forecast_rub, lower_rub, upper_rub, actual_rub,
    error_pct, inside_interval. Empty when the forecast is not published yet."""
    forecasts = _or_empty(
        lambda: forecast_frame(source),
        ["period_start", "forecast_rub", "lower_rub", "upper_rub", "issued", "interval_level"],
        "Sales forecast",
    )
    actual = monthly_revenue(source).set_index("month")["revenue_rub"].astype(float)
    last_day = source.last_data_day()
    out = forecasts.copy()
    out["actual_rub"] = [
        actual.get(p) if last_day and month_period(p).last_day <= last_day else None
        for p in out["period_start"]
    ]
    out["actual_rub"] = out["actual_rub"].astype(float)
    out["horizon_months"] = [
        (p.year - i.year) * 12 + p.month - i.month if pd.notna(i) else None
        for p, i in zip(out["period_start"], out["issued"], strict=True)
    ]
    out["error_pct"] = (out["forecast_rub"] - out["actual_rub"]) / out["actual_rub"]
    out["inside_interval"] = (out["actual_rub"] >= out["lower_rub"]) & (out["actual_rub"] <= out["upper_rub"])
    return out


def accuracy_by_horizon(source: Source) -> pd.DataFrame:
    """ml.forecast_accuracy as published (empty when not yet)."""
    return _or_empty(lambda: accuracy_frame(source), [], "Forecast accuracy")


def annotate_empty(ax, text: str = "not available yet") -> None:
    """Mark a chart that has nothing to show, so a reader does not take it for zero."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=charts.COLORS["previous"])
    ax.set_xticks([])
    ax.set_yticks([])


MOVER_COLUMNS = [
    "client_id",
    "client",
    "segment_before",
    "segment_after",
    "direction",
    "revenue_12m_before_rub",
    "revenue_12m_now_rub",
    "region",
    "lifecycle_stage",
    "owner_manager_id",
]


def movers(
    source: Source,
    before: pd.DataFrame,
    after: pd.DataFrame,
    order: list[str],
    before_day: date | None,
    after_day: date,
) -> pd.DataFrame:
    """Clients whose segment changed, up or down the segment order, with their 12-month
    revenue on both days and who they are (MOVER_COLUMNS)."""
    if before.empty or after.empty or before_day is None:
        return pd.DataFrame(columns=MOVER_COLUMNS)
    moved = moved_clients(before, after)
    rank = {segment: i for i, segment in enumerate(order)}
    moved["direction"] = [
        "up" if rank.get(a, len(order)) < rank.get(b, len(order)) else "down"
        for b, a in zip(moved["segment_before"], moved["segment_after"], strict=True)
    ]
    moved["revenue_12m_before_rub"] = moved["client_id"].map(revenue_12m(source, before_day)).fillna(0.0)
    moved["revenue_12m_now_rub"] = moved["client_id"].map(revenue_12m(source, after_day)).fillna(0.0)
    moved = moved.join(client_names(source, moved["client_id"]), on="client_id")
    return moved[MOVER_COLUMNS].sort_values("revenue_12m_before_rub", ascending=False).reset_index(drop=True)
