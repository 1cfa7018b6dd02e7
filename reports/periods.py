"""Report periods: a calendar month ("2025-03") or an ISO week ("2025-W12").

A period is the half-open day range [start, end). Every report compares a period
with the one before it and with the same period a year earlier; both are derived
here, in one place, so every section compares the same ranges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Kind = Literal["monthly", "weekly"]
KINDS: tuple[Kind, ...] = ("monthly", "weekly")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class PeriodError(ValueError):
    """The period text is not a month (2025-03) or an ISO week (2025-W12); fix the argument."""


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # exclusive
    kind: Kind

    # ------------------------------------------------------------------ naming
    @property
    def key(self) -> str:
        """The folder name under reports/ and the text `crmw report --period` takes."""
        if self.kind == "monthly":
            return f"{self.start:%Y-%m}"
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def label(self) -> str:
        """How a reader sees it: 'March 2025', 'week 12 of 2025 (17-23 Mar)'."""
        if self.kind == "monthly":
            return f"{self.start:%B %Y}"
        year, week, _ = self.start.isocalendar()
        return f"week {week} of {year} ({self.start:%d %b} - {self.last_day:%d %b})"

    @property
    def short_label(self) -> str:
        """For table heads and chart axes: 'Mar 2025', 'W12 2025'."""
        if self.kind == "monthly":
            return f"{self.start:%b %Y}"
        year, week, _ = self.start.isocalendar()
        return f"W{week:02d} {year}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    # ------------------------------------------------------------------ neighbours
    def shifted(self, steps: int) -> Period:
        """The period `steps` periods later (negative: earlier)."""
        if self.kind == "monthly":
            return month_period(_add_months(self.start, steps))
        return week_period(self.start + timedelta(weeks=steps))

    @property
    def previous(self) -> Period:
        return self.shifted(-1)

    @property
    def year_ago(self) -> Period:
        """The same month a year earlier; for a week, the same ISO week number a year
        earlier (week 53 falls back to week 52 in years without one)."""
        if self.kind == "monthly":
            return self.shifted(-12)
        year, week, _ = self.start.isocalendar()
        try:
            return week_period(date.fromisocalendar(year - 1, week, 1))
        except ValueError:
            return week_period(date.fromisocalendar(year - 1, 52, 1))

    def trailing(self, count: int) -> list[Period]:
        """The `count` periods ending with this one, oldest first."""
        return [self.shifted(-i) for i in range(count - 1, -1, -1)]

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_period(day: date) -> Period:
    start = date(day.year, day.month, 1)
    return Period(start, _add_months(start, 1), "monthly")


def week_period(day: date) -> Period:
    start = day - timedelta(days=day.weekday())
    return Period(start, start + timedelta(days=7), "weekly")


def parse_period(text: str, kind: Kind | None = None) -> Period:
    """'2025-03' is a month, '2025-W12' an ISO week; a day ('2025-03-19') is the month or
    week holding it, as `kind` says (a month when it says nothing).

    Raises PeriodError when the text is neither, or contradicts `kind`.
    """
    if kind is not None and kind not in KINDS:
        raise PeriodError(f"report kind must be one of {', '.join(KINDS)}, not {kind!r}")
    text = str(text).strip()
    if match := _MONTH.match(text):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"period {text!r}: month {month} is not 01-12")
        if kind == "weekly":
            raise PeriodError(
                f"period {text!r} is a month but the report is weekly; give a week like 2025-W12"
            )
        return month_period(date(year, month, 1))
    if match := _WEEK.match(text):
        year, week = int(match.group(1)), int(match.group(2))
        if kind == "monthly":
            raise PeriodError(
                f"period {text!r} is a week but the report is monthly; give a month like 2025-03"
            )
        try:
            return week_period(date.fromisocalendar(year, week, 1))
        except ValueError as exc:
            raise PeriodError(f"period {text!r}: {year} has no ISO week {week}") from exc
    if match := _DAY.match(text):
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError as exc:
            raise PeriodError(f"period {text!r} is not a valid day: {exc}") from exc
        return week_period(day) if kind == "weekly" else month_period(day)
    raise PeriodError(
        f"period {text!r} is neither a month (2025-03) nor an ISO week (2025-W12) nor a day (2025-03-19)"
    )


def latest_complete(last_data_day: date, kind: Kind = "monthly") -> Period:
    """The latest period whose every day is on or before `last_data_day`."""
    period = month_period(last_data_day) if kind == "monthly" else week_period(last_data_day)
    return period if period.last_day <= last_data_day else period.previous
