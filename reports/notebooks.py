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

from reports import charts
from reports.churn import (
    SCORE_COLUMNS,
    backtest_summary,
    churn_backtest,
    churn_scores,
    driver_groups,
    score_dates,
    scores_as_of,
)
from reports.forecast import (
    FORECAST_COLUMNS,
    accuracy_frame,
    accuracy_summary,
    forecast_frame,
    forecast_levels,
)
from reports.formatting import client_label, fmt_int, fmt_pct, fmt_rub, known_to, rub_axis_label
from reports.periods import month_period
from reports.sections.common import revenue_lines_sql
from reports.segments import (
    SEGMENT_COLUMNS,
    client_segments,
    migration_matrix,
    moved_clients,
    segment_comparison,
    segment_dates,
    segment_order,
    segments_on,
)
from reports.source import Source, TableMissing
from warehouse.publish import connect_published
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

__all__ = [
    "Source",
    "accuracy_by_horizon",
    "annotate_empty",
    "client_names",
    "churn_backtest_or_empty",
    "client_segments_or_empty",
    "churn_scores_or_empty",
    "driver_groups",
    "forecast_levels_or_empty",
    "score_dates",
    "fmt_int",
    "fmt_pct",
    "fmt_rub",
    "forecast_against_actuals",
    "known_to",
    "migration_matrix",
    "monthly_revenue",
    "moved_clients",
    "movers",
    "open_published",
    "revenue_12m",
    "rub_axis_label",
    "scores_as_of",
    "segment_comparison",
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
    except TableMissing as exc:
        print(f"{what} not available yet: {exc}")
        return _empty(columns)


def _empty(columns: list[str]) -> pd.DataFrame:
    """An empty frame whose columns have the dtypes the real one has, so masks and sums work on it."""

    def dtype(column: str) -> str:
        if column.startswith(("is_", "has_")):
            return "bool"
        if column.endswith(("_rub", "_probability", "probability", "_days", "days_since_last_invoice")):
            return "float64"
        return "object"

    return pd.DataFrame({c: pd.Series(dtype=dtype(c)) for c in columns})


def client_segments_or_empty(source: Source) -> pd.DataFrame:
    return _or_empty(lambda: client_segments(source), SEGMENT_COLUMNS, "Client segments")


def churn_scores_or_empty(source: Source) -> pd.DataFrame:
    return _or_empty(lambda: churn_scores(source), [*SCORE_COLUMNS, "is_high"], "Churn scores")


def churn_backtest_or_empty(source: Source) -> pd.DataFrame:
    """Mean backtest quality per method (the churn model and its baselines)."""
    return _or_empty(lambda: backtest_summary(churn_backtest(source)), [], "Churn backtest")


def forecast_levels_or_empty(source: Source) -> list[str]:
    """The levels the sales forecast is published at ('total', product lines, offices)."""
    try:
        return forecast_levels(source)
    except TableMissing:
        return []


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


def forecast_against_actuals(source: Source, level: str = "total") -> pd.DataFrame:
    """Every forecast of a level with the actual net revenue of its month when the month is
    over (company-wide level 'total' only: actuals per product line or office are not
    computed here): FORECAST_COLUMNS + actual_rub, error_pct, inside_80, inside_95.
    Empty while the forecast is not published."""
    forecasts = _or_empty(lambda: forecast_frame(source, level), FORECAST_COLUMNS, "Sales forecast")
    actual = monthly_revenue(source).set_index("month")["revenue_rub"].astype(float)
    last_day = source.last_data_day()
    out = forecasts.copy()
    out["actual_rub"] = pd.Series(
        [
            actual.get(m, 0.0)
            if level == "total" and last_day and month_period(m).last_day <= last_day
            else None
            for m in out["forecast_month"]
        ],
        index=out.index,
        dtype=float,
    )
    out["error_pct"] = (out["forecast_rub"] - out["actual_rub"]) / out["actual_rub"]
    known = out["actual_rub"].notna()
    out["inside_80"] = (
        (out["actual_rub"] >= out["lower_80_rub"]) & (out["actual_rub"] <= out["upper_80_rub"])
    ).where(known)
    out["inside_95"] = (
        (out["actual_rub"] >= out["lower_95_rub"]) & (out["actual_rub"] <= out["upper_95_rub"])
    ).where(known)
    return out


def accuracy_by_horizon(source: Source) -> pd.DataFrame:
    """The model jobs' own backtest of the forecast (ml.forecast_accuracy), summarised per
    horizon against the best baseline; empty while not published."""
    return _or_empty(lambda: accuracy_summary(accuracy_frame(source)), [], "Forecast accuracy")


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
