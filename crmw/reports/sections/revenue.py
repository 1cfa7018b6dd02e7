"""Revenue against forecast: what was invoiced, what the model expected (with its
interval), and how accurate the model has been."""

from __future__ import annotations

import pandas as pd

from crmw.reports import charts
from crmw.reports.formatting import fmt_pct, fmt_rub
from crmw.reports.model import Context, Metric, Section, report_section
from crmw.reports.sections.common import revenue_lines_sql, revenue_note, window
from crmw.reports.source import ColumnMissing, TableMissing

REVENUE_SQL = """
select
    coalesce(sum(net_revenue_rub), 0) as revenue_rub,
    count(*) as invoices,
    count(distinct client_id) as paying_clients
from {lines}
where invoice_date >= $start and invoice_date < $end
"""


def revenue_by_period(ctx: Context, periods) -> pd.DataFrame:
    rows = []
    for period in periods:
        row = ctx.source.row(REVENUE_SQL.format(lines=revenue_lines_sql(ctx.source)), window(period))
        rows.append({"period": period, **row})
    return pd.DataFrame(rows)


@report_section("revenue", "Revenue against forecast")
def revenue(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.fct_invoices")

    trend = ctx.period.trailing(ctx.trend_length)
    actual = revenue_by_period(ctx, trend)
    current, previous, year_ago = (
        ctx.source.row(REVENUE_SQL.format(lines=revenue_lines_sql(ctx.source)), window(p))
        for p in ctx.comparisons
    )

    forecast = None
    try:
        from crmw.reports.forecast import forecast_for_periods

        forecast = forecast_for_periods(ctx.source, trend)
    except (TableMissing, ColumnMissing) as exc:
        section.partial.append(f"Forecast not available yet: {exc}.")

    section.metrics = [
        Metric(
            "Revenue invoiced",
            current["revenue_rub"],
            previous["revenue_rub"],
            year_ago["revenue_rub"],
            unit="rub",
            headline=True,
        ),
        Metric("Invoices", current["invoices"], previous["invoices"], year_ago["invoices"]),
        Metric(
            "Paying clients",
            current["paying_clients"],
            previous["paying_clients"],
            year_ago["paying_clients"],
        ),
    ]
    this_forecast = None
    if forecast is not None:
        this_forecast = (
            forecast.set_index("period").get("forecast_rub", pd.Series(dtype=float)).get(ctx.period)
        )
        if this_forecast is not None and not pd.isna(this_forecast):
            row = forecast.set_index("period").loc[ctx.period]
            section.metrics.append(
                Metric(
                    "Forecast for the period",
                    row["forecast_rub"],
                    unit="rub",
                    better=None,
                    note=_interval_text(row),
                )
            )
            if row.get("forecast_rub"):
                gap = (current["revenue_rub"] - row["forecast_rub"]) / row["forecast_rub"]
                section.metrics.append(
                    Metric(
                        "Actual against forecast",
                        gap,
                        unit="pct",
                        better="up",
                        headline=True,
                        note="(actual − forecast) / forecast",
                    )
                )

    section.chart_title = f"Revenue by {'month' if ctx.kind == 'monthly' else 'week'}"
    section.chart_svg = _chart(ctx, actual, forecast)

    try:
        from crmw.reports.forecast import accuracy_table

        accuracy = accuracy_table(ctx.source)
        if accuracy is not None:
            section.tables.append(accuracy)
    except (TableMissing, ColumnMissing) as exc:
        section.partial.append(f"Measured forecast accuracy not available yet: {exc}.")

    change = _relative(current["revenue_rub"], previous["revenue_rub"])
    yoy = _relative(current["revenue_rub"], year_ago["revenue_rub"])
    section.summary = (
        f"{fmt_rub(current['revenue_rub'])} invoiced in {ctx.period.label} from "
        f"{current['paying_clients']:,} clients"
        + (f", {change} on {ctx.previous.label}" if change else "")
        + (f" and {yoy} on {ctx.year_ago.label}" if yoy else "")
        + "."
    )
    if this_forecast is not None and not pd.isna(this_forecast):
        section.summary += f" The forecast was {fmt_rub(this_forecast)}."
    section.notes.append(revenue_note(ctx.source))


def _relative(current, base) -> str:
    if not base:
        return ""
    return f"{(float(current) - float(base)) / float(base) * 100:+.1f}%"


def _interval_text(row) -> str:
    low, high = row.get("lower_rub"), row.get("upper_rub")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    level = row.get("interval_level")
    level_text = f"{fmt_pct(level, 0)} " if level is not None and not pd.isna(level) else ""
    return f"{level_text}interval {fmt_rub(low, compact=True)} – {fmt_rub(high, compact=True)}"


@charts.styled
def _chart(ctx: Context, actual: pd.DataFrame, forecast: pd.DataFrame | None) -> str:
    fig, (ax,) = charts.new_figure(charts.WIDE)
    labels = [p.short_label for p in actual["period"]]
    x = list(range(len(labels)))
    colors = [
        charts.COLORS["actual"]
        if p == ctx.period
        else charts.COLORS["previous"]
        if p == ctx.year_ago
        else "#7fa7cc"
        for p in actual["period"]
    ]
    ax.bar(x, actual["revenue_rub"].astype(float), color=colors, width=0.7, label="Actual", zorder=2)
    if forecast is not None and not forecast.empty:
        merged = actual[["period"]].merge(forecast, on="period", how="left")
        has = merged["forecast_rub"].notna()
        xs = [i for i, ok in zip(x, has, strict=True) if ok]
        if xs:
            if {"lower_rub", "upper_rub"} <= set(merged.columns):
                ax.fill_between(
                    xs,
                    merged.loc[has, "lower_rub"].astype(float),
                    merged.loc[has, "upper_rub"].astype(float),
                    color=charts.COLORS["interval"],
                    alpha=0.6,
                    linewidth=0,
                    label="Forecast interval",
                    zorder=1,
                )
            ax.plot(
                xs,
                merged.loc[has, "forecast_rub"].astype(float),
                color=charts.COLORS["forecast"],
                marker="o",
                markersize=3.5,
                label="Forecast",
                zorder=3,
            )
        ax.legend(loc="upper left", ncols=3)
    ax.set_xticks(x, labels)
    charts.rub_axis(ax)
    ax.set_title(
        f"Invoiced revenue, {labels[0]} – {labels[-1]}"
        + ("  (dark: this period, grey: a year earlier)" if len(labels) > 12 else "")
    )
    return charts.to_svg(fig, title="Revenue by period")
