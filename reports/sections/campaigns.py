"""Campaigns: what they caused. The campaigns of the last 12 months ranked by lift, the change in the
share of touched customers buying the promoted product line against a comparison group (their own
control group held out, or customers they did not touch, matched on what they bought before), with
its 95% interval and the incremental revenue; the revenue attribution credits to them alongside, as
attribution is what a CRM reports but counts deals the campaign did not cause. A month holds too few
campaigns to judge, so the window is the 12 months up to the period end (mart_campaign_performance).
"""

from __future__ import annotations

import math

import pandas as pd

from reports import charts
from reports.formatting import fmt_int, fmt_pct, fmt_rub
from reports.model import Context, Metric, Section, Table, report_section
from reports.sections.common import shorten, trailing_12m

CAMPAIGNS_SQL = """
select
    campaign_id, campaign_name, campaign_type, office_code, start_date, end_date,
    cast(cost_rub as double) as cost_rub,
    touches, responses, leads_created, deals_influenced,
    linear_revenue_rub, linear_roi, attribution_window_days,
    lift_method, lift_treated_clients, lift_comparison_clients, is_lift_measured,
    lift, lift_ci_low, lift_ci_high, incremental_revenue_rub, incremental_roi, has_measurable_effect,
    lift_window_days
from marts.mart_campaign_performance
where start_date > $from and start_date <= $last
"""
METHOD_WORDS = {"holdout": "control group", "matched": "matched clients", "none": "–"}


def _totals(frame: pd.DataFrame) -> dict:
    measured = frame[frame["is_lift_measured"].fillna(False).astype(bool)]
    cost = frame["cost_rub"].sum()
    measured_cost = measured["cost_rub"].sum()
    incremental = measured["incremental_revenue_rub"].sum()
    return {
        "campaigns": len(frame),
        "cost_rub": cost,
        "measured": len(measured),
        "with_effect": int(measured["has_measurable_effect"].fillna(False).astype(bool).sum()),
        "incremental_revenue_rub": incremental if len(measured) else None,
        "incremental_roi": (incremental - measured_cost) / measured_cost if measured_cost else None,
        "linear_revenue_rub": frame["linear_revenue_rub"].sum(),
    }


def _pp(value: float) -> str:
    return f"{value * 100:+.1f} pp"


def lift_text(row: dict) -> str:
    """'+12.3 pp (4.1 to 20.5)', or why there is no estimate."""
    if not row.get("is_lift_measured"):
        if row.get("lift_method") in (None, "none"):
            return "no customer touched"
        return f"too few clients ({fmt_int(row['lift_treated_clients'])} / {fmt_int(row['lift_comparison_clients'])})"
    return f"{_pp(row['lift'])} ({_pp(row['lift_ci_low'])} to {_pp(row['lift_ci_high'])})"


@report_section("campaigns", "Campaigns: what they caused")
def campaign_lift(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.mart_campaign_performance")
    ctx.source.require_columns("marts.mart_campaign_performance", "lift", "has_measurable_effect")
    frames = {p: ctx.source.df(CAMPAIGNS_SQL, trailing_12m(p)) for p in ctx.comparisons}
    cur, prev, year = (_totals(frames[p]) for p in ctx.comparisons)

    def metric(label, key, unit="int", better="up", **kw):
        return Metric(label, cur[key], prev[key], year[key], unit=unit, better=better, **kw)

    section.metrics = [
        metric("Campaigns started in 12 months", "campaigns", better=None),
        metric("Their cost", "cost_rub", "rub", better=None),
        metric("With a measurable effect", "with_effect", note=f"of {cur['measured']} measured"),
        metric("Incremental revenue", "incremental_revenue_rub", "rub", note="measured campaigns"),
        metric(
            "Incremental ROI",
            "incremental_roi",
            "roi",
            headline=True,
            note="(incremental revenue − cost) / cost",
        ),
        metric("Revenue credited (linear)", "linear_revenue_rub", "rub", better=None, note="attribution"),
    ]
    frame = frames[ctx.period].copy()
    frame["_measured"] = frame["is_lift_measured"].fillna(False).astype(bool)
    frame = frame.sort_values(["_measured", "lift", "cost_rub"], ascending=[False, False, False])
    section.summary = _summary(ctx, frame, cur)
    measured = frame[frame["_measured"]]
    if not measured.empty:
        section.chart_title = "Lift of the measured campaigns, with 95% intervals"
        section.chart_svg = _lift_chart(measured.head(10))
    elif not frame.empty:
        section.chart_title = "Cost and credited won revenue per campaign"
        section.chart_svg = _cost_chart(frame.sort_values("cost_rub", ascending=False).head(10))
    section.tables.append(_table(frame))
    window = (
        int(frame["lift_window_days"].dropna().iloc[0]) if frame["lift_window_days"].notna().any() else 30
    )
    attribution = int(frame["attribution_window_days"].iloc[0]) if not frame.empty else 90
    section.notes.append(
        f"Lift: how many more of the customers a campaign touched bought the product line it promotes within "
        f"{window} days than in a comparison group (its own control group, members held out and never "
        "contacted; else customers it did not touch, matched on what they bought before), in percentage "
        "points with a 95% interval; incremental revenue is the same difference in revenue. Without an "
        "interval that excludes zero a campaign has no measurable effect. Attribution credits each won deal "
        f"to the campaigns that touched the client in the {attribution} days before, whether or not they "
        "caused it: it is shown for comparison."
    )


def _summary(ctx: Context, frame: pd.DataFrame, cur: dict) -> str:
    if frame.empty:
        return f"No campaign started in the 12 months to {ctx.period.last_day:%d %b %Y}."
    text = (
        f"{len(frame)} campaigns started in the 12 months to {ctx.period.last_day:%d %b %Y}, costing "
        f"{fmt_rub(cur['cost_rub'])}. "
    )
    measured = frame[frame["_measured"]]
    if measured.empty:
        return text + (
            "None touched enough customers, with enough in a comparison group, to measure what it caused; "
            f"attribution credits {fmt_rub(cur['linear_revenue_rub'])} of won deals to them, which is not "
            "evidence that they caused any."
        )
    effect = measured[measured["has_measurable_effect"].fillna(False).astype(bool)]
    none = measured[~measured["has_measurable_effect"].fillna(False).astype(bool)]
    text += f"{len(measured)} could be measured; "
    if len(effect):
        best = effect.iloc[0]
        text += (
            f"{len(effect)} changed buying measurably, the most {shorten(best['campaign_name'], 50)} "
            f"({_pp(best['lift'])}, {fmt_rub(best['incremental_revenue_rub'])} incremental revenue). "
        )
    else:
        text += "none changed buying measurably. "
    if len(none):
        names = ", ".join(shorten(n, 40) for n in none["campaign_name"].head(3))
        more = f" and {len(none) - 3} more" if len(none) > 3 else ""
        text += f"No measurable effect: {names}{more}."
    return text


def _table(frame: pd.DataFrame) -> Table:
    return Table(
        title="Campaigns started in the last 12 months, by lift",
        columns=[
            "Campaign",
            "Start",
            "Cost",
            "Lift (95% interval)",
            "Incremental revenue",
            "Measured against",
            "Credited (linear)",
            "Linear ROI",
        ],  # fmt: skip
        rows=[
            [
                r["campaign_name"],
                f"{pd.Timestamp(r['start_date']):%d %b %Y}",
                fmt_rub(r["cost_rub"]),
                lift_text(r),
                fmt_rub(r["incremental_revenue_rub"]) if r["_measured"] else "–",
                METHOD_WORDS.get(r["lift_method"], "–"),
                fmt_rub(r["linear_revenue_rub"]),
                fmt_pct(r["linear_roi"], 0),
            ]
            for r in frame.head(12).to_dict("records")
        ],
        align=["l", "l", "r", "r", "r", "l", "r", "r"],
        clip={0: "26%"},
        empty_text="no campaigns",
    )


@charts.styled
def _lift_chart(frame: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure((9.2, 3.6))
    y = list(range(len(frame)))
    lift = frame["lift"].astype(float) * 100
    low = lift - frame["lift_ci_low"].astype(float) * 100
    high = frame["lift_ci_high"].astype(float) * 100 - lift
    colors = [
        charts.COLORS["actual"] if effect else charts.COLORS["previous"]
        for effect in frame["has_measurable_effect"].fillna(False).astype(bool)
    ]
    ax.barh(y, lift, color=colors, height=0.55)
    ax.errorbar(lift, y, xerr=[low, high], fmt="none", ecolor="#333333", capsize=3, linewidth=1)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(y, [shorten(n, 42) for n in frame["campaign_name"]])
    ax.invert_yaxis()
    ax.set_xlabel("percentage points more buying the promoted line")
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
    finite = [v for v in (lift - low).tolist() + (lift + high).tolist() if math.isfinite(v)]
    if finite:
        ax.set_xlim(min(0.0, min(finite)) - 2, max(0.0, max(finite)) + 2)
    ax.set_title("Lift against the comparison group (dark: measurable effect)")
    return charts.to_svg(fig, title="Campaign lift")


@charts.styled
def _cost_chart(frame: pd.DataFrame) -> str:
    fig, (ax,) = charts.new_figure((9.2, 3.6))
    y = list(range(len(frame)))
    height = 0.38
    ax.barh(
        [i - height / 2 for i in y],
        frame["cost_rub"],
        height=height,
        color=charts.COLORS["previous"],
        label="cost",
    )
    ax.barh(
        [i + height / 2 for i in y],
        frame["linear_revenue_rub"].astype(float),
        height=height,
        color=charts.COLORS["actual"],
        label="won revenue credited (linear)",
    )
    ax.set_yticks(y, [shorten(n, 42) for n in frame["campaign_name"]])
    ax.invert_yaxis()
    charts.rub_axis(ax, "x")
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    ax.set_title("Campaigns of the last 12 months, by cost (no lift measurable)")
    return charts.to_svg(fig, title="Campaign cost and credited revenue")
