"""Counts over time that the load and drift checks compare the latest data with."""

from __future__ import annotations

import calendar

import duckdb
import pandas as pd

from quality.suite import quote, read_frame


def monthly_counts(
    con: duckdb.DuckDBPyConnection,
    table: str,
    time_column: str,
    group_column: str | None = None,
    where: str = "true",
) -> pd.DataFrame:
    """Rows per calendar month of `time_column` (and per `group_column`), with months that
    have no rows filled in as 0, from the first month with data to the last.

    Columns: month (datetime64), [group], rows, last_at (latest time in the month, NaT when empty).
    """
    tc = quote(time_column)
    group_select = f", {quote(group_column)} AS grp" if group_column else ""
    group_by = ", 2" if group_column else ""
    groups = (
        f"(select distinct {quote(group_column)} AS grp from {table} where {tc} is not null and {where})"
        if group_column
        else "(select null AS grp)"
    )
    sql = f"""
        with counts as (
            select date_trunc('month', {tc})::date AS month{group_select}, count(*) AS rows, max({tc}) AS last_at
            from {table}
            where {tc} is not null and {where}
            group by 1{group_by}
        ),
        bounds as (select min(month) AS lo, max(month) AS hi from counts),
        calendar as (
            select cast(g.month AS date) AS month
            from bounds, generate_series(bounds.lo, bounds.hi, interval 1 month) AS g(month)
            where bounds.lo is not null
        )
        select calendar.month, groups.grp, coalesce(counts.rows, 0) AS rows, counts.last_at
        from calendar
        cross join {groups} AS groups
        left join counts
            on counts.month = calendar.month
            {"and counts.grp = groups.grp" if group_column else ""}
        order by 1, 2
    """
    frame = read_frame(con, sql)
    return frame.rename(columns={"grp": group_column}) if group_column else frame.drop(columns=["grp"])


def days_in_month(month: pd.Timestamp) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_coverage(month: pd.Timestamp, last_at: pd.Timestamp | None) -> float:
    """Share of `month` that data reaches into: 1.0 for a month with data up to its last day,
    about 0.5 for one whose latest row is on the 15th (a month still being exported)."""
    if last_at is None or pd.isna(last_at):
        return 1.0
    return min(1.0, pd.Timestamp(last_at).day / days_in_month(month))
