"""Drift between loads: the latest month of a key measure against the months before it.

A shift warns (severity "warn"): it may be real (a big deal, a campaign), and someone who
knows the business should look before the report goes out. The bounds are computed from
history at run time and land in the results, so Data Docs show what was expected.

| check (asset)                                   | latest month vs history                                  |
|-------------------------------------------------|----------------------------------------------------------|
| invoice_amounts_are_stable (raw/invoices)       | median RUB invoice amount within the range of the last   |
|                                                 | 12 months' medians (widened 1.5x); 95% of amounts within |
|                                                 | history's 1st..99th percentiles (widened 2x)             |
| activity_counts_per_channel_are_stable          | activities per type within 0.5..2x the median of the 6   |
| (raw/activities)                                | months before, widened by 3.5 Poisson sd for small counts |
| web_events_per_day_are_stable (raw/web_events)  | mean events per day within 0.6..1.6x the 3 months before;|
|                                                 | no day under a tenth or over five times their median day |

The latest month is the last month with data; a month still being exported counts for the
days it covers so far.
"""

from __future__ import annotations

import math

import duckdb
import great_expectations.expectations as gxe
import pandas as pd

from quality.history import month_coverage, monthly_counts
from quality.suite import Batch, Suite, make_suite, note, read_frame

AMOUNT_HISTORY_MONTHS = 12
MIN_MONTHS_OF_HISTORY = 3
MIN_INVOICES_PER_MONTH = 20
MEDIAN_WIDENING = 1.5
TAIL_WIDENING = 2.0
AMOUNTS_WITHIN_TAILS = 0.95

CHANNEL_HISTORY_MONTHS = 6
CHANNEL_RATIO = (0.5, 2.0)
CHANNEL_POISSON_SD = 3.5

DAILY_HISTORY_MONTHS = 3
DAILY_MEAN_RATIO = (0.6, 1.6)
DAY_RATIO = (0.1, 5.0)


def _no_history(frame: pd.DataFrame, why: str) -> Batch:
    return Batch(frame=frame, expectations=[], notes=[f"not judged: {why}"])


# --------------------------------------------------------------------------- invoices
def invoice_amounts_batch(con: duckdb.DuckDBPyConnection, month: str | None = None) -> Batch:
    """RUB invoice amounts of `month` (default: the latest) with bounds from the 12 months before."""
    amounts = read_frame(
        con,
        """
        select strftime(date_trunc('month', invoice_date), '%Y-%m') AS month, amount
        from raw.invoices
        where currency = 'RUB' and amount is not null
        qualify row_number() over (
            partition by invoice_id order by _loaded_at desc, _source_file desc, _row_number desc
        ) = 1
        """,
    )
    if amounts.empty:
        return _no_history(amounts, "no RUB invoices")
    month = month or amounts["month"].max()
    latest = amounts[amounts["month"] == month][["amount"]].reset_index(drop=True)
    before = amounts[amounts["month"] < month]
    recent = sorted(before["month"].unique())[-AMOUNT_HISTORY_MONTHS:]
    sizes = before[before["month"].isin(recent)].groupby("month").size()
    usable = list(sizes[sizes >= MIN_INVOICES_PER_MONTH].index)
    if len(usable) < MIN_MONTHS_OF_HISTORY:
        return _no_history(
            latest, f"fewer than {MIN_MONTHS_OF_HISTORY} months with {MIN_INVOICES_PER_MONTH}+ invoices"
        )
    history = before[before["month"].isin(usable)]
    medians = history.groupby("month")["amount"].median()
    low_tail, high_tail = history["amount"].quantile([0.01, 0.99])
    return Batch(
        frame=latest,
        expectations=[
            gxe.ExpectColumnMedianToBeBetween(
                column="amount",
                min_value=round(float(medians.min()) / MEDIAN_WIDENING, 2),
                max_value=round(float(medians.max()) * MEDIAN_WIDENING, 2),
                meta=note(
                    f"The median RUB invoice of {month} within the range of the monthly medians of the "
                    f"{len(usable)} months before, widened {MEDIAN_WIDENING}x."
                ),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="amount",
                min_value=round(float(low_tail) / TAIL_WIDENING, 2),
                max_value=round(float(high_tail) * TAIL_WIDENING, 2),
                mostly=AMOUNTS_WITHIN_TAILS,
                meta=note(
                    f"{AMOUNTS_WITHIN_TAILS:.0%} of {month}'s amounts within the 1st..99th percentiles of "
                    f"history, widened {TAIL_WIDENING}x: a change of unit (kopecks, thousands) moves them all."
                ),
            ),
        ],
        notes=[f"{month}: {len(latest)} RUB invoices against {len(usable)} months of history"],
    )


def invoice_amounts_are_stable() -> Suite:
    return make_suite(
        "drift",
        "invoices",
        "invoice_amounts_are_stable",
        description=(
            "The distribution of RUB invoice amounts in the latest month matches the 12 months before "
            "(median and tails)."
        ),
        build=invoice_amounts_batch,
    )


# --------------------------------------------------------------------------- activities
def channel_counts_batch(con: duckdb.DuckDBPyConnection, month: str | None = None) -> Batch:
    """Activities per type in `month` (default: the latest) with bounds from the 6 months before."""
    counts = monthly_counts(con, "raw.activities", "occurred_at", group_column="activity_type")
    if counts.empty:
        return _no_history(pd.DataFrame({"channel": [], "rows": []}), "no activities")
    counts["label"] = counts["month"].dt.strftime("%Y-%m")
    month = month or counts["label"].max()
    latest = counts[counts["label"] == month]
    before = counts[counts["label"] < month]
    history_months = sorted(before["label"].unique())[-CHANNEL_HISTORY_MONTHS:]
    if len(history_months) < MIN_MONTHS_OF_HISTORY:
        frame = latest[["activity_type", "rows"]].rename(columns={"activity_type": "channel"})
        return _no_history(
            frame.reset_index(drop=True), f"fewer than {MIN_MONTHS_OF_HISTORY} months before {month}"
        )
    coverage = month_coverage(latest["month"].iloc[0], latest["last_at"].max())
    expected = (
        before[before["label"].isin(history_months)].groupby("activity_type")["rows"].median() * coverage
    )
    frame = pd.DataFrame({"channel": expected.index.astype(object), "expected": expected.to_numpy()})
    frame = frame.merge(
        latest[["activity_type", "rows"]].rename(columns={"activity_type": "channel"}),
        on="channel",
        how="outer",
    )
    frame["rows"] = frame["rows"].fillna(0).astype("int64")
    frame["expected"] = frame["expected"].fillna(0.0)
    sd = frame["expected"].pow(0.5)
    frame["lowest_expected"] = (
        (frame["expected"] * CHANNEL_RATIO[0])
        .combine(frame["expected"] - CHANNEL_POISSON_SD * sd, min)
        .clip(lower=0)
        .round(1)
    )
    frame["highest_expected"] = (
        (frame["expected"] * CHANNEL_RATIO[1])
        .combine(frame["expected"] + CHANNEL_POISSON_SD * sd, max)
        .round(1)
    )
    frame["expected"] = frame["expected"].round(1)
    return Batch(
        frame=frame,
        expectations=[
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="rows",
                column_B="lowest_expected",
                or_equal=True,
                meta=note(f"Each channel keeps at least half its usual volume (or {CHANNEL_POISSON_SD} sd)."),
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="highest_expected",
                column_B="rows",
                or_equal=True,
                meta=note(f"No channel more than doubles (or grows {CHANNEL_POISSON_SD} sd)."),
            ),
        ],
        index_columns=["channel"],
        notes=[
            f"{month} (covered {coverage:.0%}) against the medians of {len(history_months)} months before"
        ],
    )


def activity_counts_per_channel_are_stable() -> Suite:
    return make_suite(
        "drift",
        "activities",
        "activity_counts_per_channel_are_stable",
        description=(
            "Activities per channel (call, email, meeting, event) in the latest month are within half to "
            "double the median of the 6 months before."
        ),
        build=channel_counts_batch,
    )


# --------------------------------------------------------------------------- web events
DAILY_SQL = """
with days as (
    select event_at::date AS day, count(*) AS events from raw.web_events where event_at is not null group by 1
),
bounds as (select min(day) AS lo, max(day) AS hi from days)
select cast(g.day AS date) AS day, coalesce(days.events, 0) AS events
from bounds, generate_series(bounds.lo, bounds.hi, interval 1 day) AS g(day)
left join days on days.day = cast(g.day AS date)
where bounds.lo is not null
order by 1
"""


def daily_events_batch(con: duckdb.DuckDBPyConnection, month: str | None = None) -> Batch:
    """Web events per day of `month` (default: the latest) with bounds from the 3 months before."""
    days = read_frame(con, DAILY_SQL)
    if days.empty:
        return _no_history(pd.DataFrame({"day": [], "events": []}), "no web events")
    days["label"] = days["day"].dt.strftime("%Y-%m")
    month = month or days["label"].max()
    latest = days[days["label"] == month]
    frame = pd.DataFrame(
        {"day": latest["day"].dt.strftime("%Y-%m-%d").astype(object), "events": latest["events"]}
    )
    frame = frame.reset_index(drop=True)
    history_months = sorted(days.loc[days["label"] < month, "label"].unique())[-DAILY_HISTORY_MONTHS:]
    if len(history_months) < DAILY_HISTORY_MONTHS:
        return _no_history(frame, f"fewer than {DAILY_HISTORY_MONTHS} months before {month}")
    history = days[days["label"].isin(history_months)]["events"]
    mean, median = float(history.mean()), float(history.median())
    return Batch(
        frame=frame,
        expectations=[
            gxe.ExpectColumnMeanToBeBetween(
                column="events",
                min_value=round(mean * DAILY_MEAN_RATIO[0], 1),
                max_value=round(mean * DAILY_MEAN_RATIO[1], 1),
                meta=note(
                    f"Mean events per day within {DAILY_MEAN_RATIO} of the {DAILY_HISTORY_MONTHS} months before."
                ),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="events",
                min_value=math.floor(median * DAY_RATIO[0]),
                max_value=math.ceil(median * DAY_RATIO[1]),
                meta=note("No day lost (under a tenth of the usual day) or flooded (over five times)."),
            ),
        ],
        index_columns=["day"],
        notes=[f"{month}: {len(frame)} days against {len(history)} days before (median {median:g}/day)"],
    )


def web_events_per_day_are_stable() -> Suite:
    return make_suite(
        "drift",
        "web_events",
        "web_events_per_day_are_stable",
        description=(
            "Web events per day in the latest month: mean within 0.6..1.6 times the 3 months before, no day "
            "under a tenth or over five times their median day."
        ),
        build=daily_events_batch,
    )


def drift_suites() -> list[Suite]:
    return [
        invoice_amounts_are_stable(),
        activity_counts_per_channel_are_stable(),
        web_events_per_day_are_stable(),
    ]
