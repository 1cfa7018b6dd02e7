"""Argument types the commands share, checked before any work starts: a bad value is a usage
error naming the option and an example of a good one."""

from __future__ import annotations

import re
from datetime import datetime

import click


class DayType(click.ParamType):
    """A calendar day written YYYY-MM-DD (2026-03-31); converts to a datetime like click.DateTime."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            return datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            self.fail(f"{text!r} is not a date: write YYYY-MM-DD, e.g. 2026-03-31", param, ctx)


DAY = DayType()


class MonthType(click.ParamType):
    """A calendar month written YYYY-MM (2024-03)."""

    name = "YYYY-MM"
    _PATTERN = re.compile(r"(\d{4})-(\d{2})")

    def convert(self, value, param, ctx) -> str:
        text = str(value).strip()
        match = self._PATTERN.fullmatch(text)
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            self.fail(f"{text!r} is not a month: write YYYY-MM, e.g. 2024-03", param, ctx)
        return text


MONTH = MonthType()


def _period(ctx, param, value):
    if value is None:
        return None
    from reports.periods import PeriodError, parse_period

    try:
        return parse_period(value)
    except PeriodError as exc:
        raise click.BadParameter(str(exc).splitlines()[0], ctx=ctx, param=param) from exc


period_option = click.option(
    "--period",
    default=None,
    metavar="YYYY-MM | YYYY-Www",
    callback=_period,
    help="Month (2025-03) or ISO week (2025-W12) [default: the latest complete month].",
)
