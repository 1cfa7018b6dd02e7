"""Revenue against forecast: what was invoiced, what the model expected (with its
interval), and how accurate the model has been."""

from __future__ import annotations

import pandas as pd
from matplotlib.patches import Patch

from reports import charts
from reports.forecast import (
    accuracy_frame,
    accuracy_summary,
    accuracy_table,
    forecast_frame,
    forecast_made_before,
    latest_forecast,
)
from reports.formatting import fmt_pct, fmt_rub, known_to
from reports.model import Context, Metric, Section, report_section
from reports.model_runs import latest_runs, run_of
from reports.periods import month_period
from reports.sections.common import has_net_revenue, revenue_lines_sql, revenue_note, trailing_12m, window
from reports.source import TableMissing

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


FORECAST_AHEAD = 3  # future months the chart shows from the latest forecast
FORECAST_MODEL = "sales_forecast"


@report_section("revenue", "Revenue against forecast")
def revenue(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.fct_invoices")
    lines = revenue_lines_sql(ctx.source)
    trend = ctx.period.trailing(ctx.trend_length)
    actual = revenue_by_period(ctx, trend)
    current, previous, year_ago = (
        ctx.source.row(REVENUE_SQL.format(lines=lines), window(p)) for p in ctx.comparisons
    )
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
    section.summary = (
        f"{fmt_rub(current['revenue_rub'])} invoiced in {ctx.period.label} from {current['paying_clients']:,} clients"
        + _versus(current["revenue_rub"], previous["revenue_rub"], ctx.previous.label, ", ")
        + _versus(current["revenue_rub"], year_ago["revenue_rub"], ctx.year_ago.label, " and ")
        + "."
    )

    going_in, ahead = pd.DataFrame(), pd.DataFrame()
    if ctx.kind != "monthly":
        section.partial.append("The sales forecast is monthly: the monthly report sets revenue against it.")
    else:
        run = run_of(latest_runs(ctx.source, ctx.period.end), FORECAST_MODEL)
        try:
            going_in, ahead = _forecast(ctx, section, trend, current["revenue_rub"])
        except TableMissing as exc:
            section.partial.append(f"Forecast not available yet: {exc}.")
        if run and run["status"] == "skipped":
            section.partial.append(
                f"No forecast was made as of {run['as_of_date']:%d %b %Y}: {run['reason']}."
            )
        elif not ahead.empty:
            section.notes.append(_history_note(ahead))
        try:
            _accuracy(ctx, section)
        except TableMissing as exc:
            section.partial.append(f"Measured forecast accuracy not available yet: {exc}.")

    section.chart_title = f"Revenue by {'month' if ctx.kind == 'monthly' else 'week'}"
    section.chart_svg = _chart(ctx, actual, going_in, ahead)
    section.notes.append(revenue_note(ctx.source))
    credited = _credited_share(ctx)
    if ctx.kind == "monthly" and credited is not None:
        section.notes.append(
            "The model forecasts revenue as invoiced (gross: credit notes arrive weeks after the invoice); in the "
            f"12 months to {ctx.period.last_day:%d %b %Y} credit notes took {fmt_pct(credited)} off it."
        )
    if ctx.kind == "monthly":
        section.notes.append(
            "The forecast of a month is the one made most recently before the month began; intervals are the "
            "model's 80% (and 95%) prediction intervals. WAPE: total absolute error / total actual."
        )


def _credited_share(ctx: Context) -> float | None:
    """Share of gross revenue that credit notes took off in the 12 months to the period end."""
    if not has_net_revenue(ctx.source):
        return None
    row = ctx.source.row(
        "select sum(gross_revenue_rub) as gross, sum(credited_revenue_rub) as credited from marts.fct_invoices "
        "where invoice_date > $from and invoice_date <= $last",
        trailing_12m(ctx.period),
    )
    return float(row["credited"]) / float(row["gross"]) if row["gross"] else None


def _forecast(ctx: Context, section: Section, trend, actual_rub) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The forecasts a manager saw going into each month of the trend, and the latest
    forecast for the months ahead; the period's forecast metrics."""
    frame = forecast_frame(ctx.source)
    rows = []
    for period in trend:
        row = forecast_made_before(frame, period.start)
        if row is not None:
            rows.append({"period": period, **row.to_dict()})
    going_in = pd.DataFrame(rows)
    ahead = latest_forecast(frame, ctx.period.end).head(FORECAST_AHEAD)

    this = forecast_made_before(frame, ctx.period.start)
    if this is None:
        first = frame["issued"].min()
        section.partial.append(
            f"No forecast was made before {ctx.period.label} began (the first forecast was made with {known_to(first)})."
        )
    else:
        inside = this["lower_80_rub"] <= float(actual_rub) <= this["upper_80_rub"]
        section.metrics.append(
            Metric(
                "Forecast for the period",
                this["forecast_rub"],
                unit="rub",
                better=None,
                note=f"made with {known_to(this['issued'])}; 80% interval {_interval(this, 80)}",
            )
        )
        gap = (
            (float(actual_rub) - this["forecast_rub"]) / this["forecast_rub"]
            if this["forecast_rub"]
            else None
        )
        section.metrics.append(
            Metric(
                "Actual against forecast",
                gap,
                unit="pct",
                better="up",
                headline=True,
                note="inside the 80% interval" if inside else "outside the 80% interval",
            )
        )
        section.summary += (
            f" The forecast was {fmt_rub(this['forecast_rub'])} (80% interval {_interval(this, 80)}); the actual was "
            f"{'inside' if inside else 'outside'} it."
        )
    if not ahead.empty:
        nxt = ahead.iloc[0]
        section.metrics.append(
            Metric(
                f"Forecast for {nxt['forecast_month']:%B %Y}",
                nxt["forecast_rub"],
                unit="rub",
                better=None,
                note=f"80% interval {_interval(nxt, 80)}",
            )
        )
    return going_in, ahead


def _history_note(ahead: pd.DataFrame) -> str:
    """How much history the latest forecast rests on (ml.sales_forecast.history_months and method)."""
    months = ahead["history_months"].iloc[0] if "history_months" in ahead else None
    method = ahead["method"].iloc[0] if "method" in ahead else None
    if months is None or pd.isna(months):
        return "The latest forecast does not record how much history it rests on (made by an older version)."
    when = f"made with {known_to(ahead['issued'].iloc[0])}"
    if method == "short_history":
        why = (
            "less than the two years a seasonal pattern needs"
            if months < 24
            else "from too few clients for a seasonal pattern"
        )
        return (
            f"The latest forecast ({when}) rests on {int(months)} complete month(s) of revenue, {why}: it "
            "has no seasonality. It is the mean of the last three months unless the backtest found the "
            "trend, the open pipeline or the client base clearly better."
        )
    return (
        f"The latest forecast ({when}) rests on {int(months)} complete months of revenue, with seasonality."
    )


def _accuracy(ctx: Context, section: Section) -> None:
    summary = accuracy_summary(accuracy_frame(ctx.source, ctx.period.end))
    if summary.empty:
        return
    section.tables.append(accuracy_table(summary))
    first = summary.iloc[0]
    baseline = (
        f"best baseline ({first['best_baseline']}) {fmt_pct(first['best_baseline_wape'])}"
        if pd.notna(first["best_baseline_wape"])
        else ""
    )
    section.metrics.append(
        Metric(
            f"Forecast error, {summary.index[0]} month{'' if summary.index[0] == 1 else 's'} ahead (WAPE)",
            first["wape"],
            unit="pct",
            better="down",
            note=baseline,
        )
    )


def _interval(row, level: int) -> str:
    low, high = row.get(f"lower_{level}_rub"), row.get(f"upper_{level}_rub")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "–"
    return f"{fmt_rub(low, compact=True)} – {fmt_rub(high, compact=True)}"


def _versus(current, base, label: str, lead: str) -> str:
    """', +18.5% on August 2026' (empty when there is nothing to compare with)."""
    if not base:
        return ""
    return f"{lead}{(float(current) - float(base)) / float(base) * 100:+.1f}% on {label}"


@charts.styled
def _chart(ctx: Context, actual: pd.DataFrame, going_in: pd.DataFrame, ahead: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure(charts.WIDE)
    periods = list(actual["period"])
    future = [month_period(m) for m in ahead["forecast_month"]] if not ahead.empty else []
    labels = [p.short_label for p in periods + future]
    x = list(range(len(labels)))
    colors = [
        charts.COLORS["actual"]
        if p == ctx.period
        else charts.COLORS["previous"]
        if p == ctx.year_ago
        else "#7fa7cc"
        for p in periods
    ]
    ax.bar(
        x[: len(periods)],
        actual["revenue_rub"].astype(float),
        color=colors,
        width=0.7,
        zorder=2,
    )
    handles = [Patch(color="#7fa7cc", label="actual")]
    if not going_in.empty:
        xs = [periods.index(p) for p in going_in["period"]]
        ax.errorbar(
            xs,
            going_in["forecast_rub"].astype(float),
            yerr=[
                (going_in["forecast_rub"] - going_in["lower_80_rub"]).clip(lower=0).astype(float),
                (going_in["upper_80_rub"] - going_in["forecast_rub"]).clip(lower=0).astype(float),
            ],
            fmt="o",
            color=charts.COLORS["forecast"],
            ecolor=charts.COLORS["forecast"],
            elinewidth=1.2,
            capsize=3,
            markersize=4,
            label="forecast made before the month, 80% interval",
            zorder=3,
        )
    if not ahead.empty:
        xs = [len(periods) + i for i in range(len(future))]
        for level, alpha in ((95, 0.35), (80, 0.8)):
            ax.fill_between(
                xs,
                ahead[f"lower_{level}_rub"].astype(float),
                ahead[f"upper_{level}_rub"].astype(float),
                color=charts.COLORS["interval"],
                alpha=alpha,
                linewidth=0,
                label=f"{level}% interval",
                zorder=1,
            )
        ax.plot(
            xs,
            ahead["forecast_rub"].astype(float),
            color=charts.COLORS["forecast"],
            linestyle="--",
            marker="o",
            markersize=3.5,
            label="latest forecast",
            zorder=3,
        )
        ax.axvline(len(periods) - 0.5, color=charts.COLORS["previous"], linewidth=0.8, linestyle=":")
    if not going_in.empty or not ahead.empty:
        handles += ax.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", ncols=3, fontsize=7.5)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
    ax.set_xticks(
        x, labels, rotation=45 if len(labels) > 13 else 0, ha="right" if len(labels) > 13 else "center"
    )
    charts.rub_axis(ax)
    ax.set_title("Revenue (dark: this period, grey: a year earlier)")
    return charts.to_svg(fig, title="Revenue by period against forecast")
