"""Numbers and names as a reader sees them.

Money is roubles: "₽54.7M" where space is short (cards, chart ticks), "₽54,686,900" in
tables. Changes are relative ("+12.3%") for amounts and counts, and in percentage
points ("+2.1 pp") for rates, so a reader never sees a percentage of a percentage.

A company name is fine in a report, a person's name is not: a sole proprietor (ИП,
12-digit INN) trades under the owner's own name, so it is shown by its client id.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

import pandas as pd

DASH = "–"
RUB = "₽"

_INDIVIDUAL_NAME = re.compile(r"^\s*(ип|индивидуальный\s+предприниматель|ip|i\.p\.)(\s|$)", re.IGNORECASE)


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float | int) and math.isnan(value))
    except TypeError:
        return False


def fmt_int(value: Any) -> str:
    if is_missing(value):
        return DASH
    return f"{round(float(value)):,}"


def fmt_number(value: Any, digits: int = 1) -> str:
    if is_missing(value):
        return DASH
    return f"{float(value):,.{digits}f}"


def _compact(magnitude: float) -> str:
    """54.7M, 910K, 1.23B: three significant digits, trailing zeros dropped. Babel (CLDR's
    English compact patterns) picks the unit and rounds across it (999,999 is 1M, not
    1,000K); the rouble sign and the sign in front stay ours, since CLDR's English writes
    "RUB" and Russian "млн ₽"."""
    from babel.numbers import format_compact_decimal

    digits = max(0, 2 - (len(str(int(magnitude))) - 1) % 3) if magnitude >= 1000 else 0
    return format_compact_decimal(magnitude, format_type="short", locale="en", fraction_digits=digits)


def fmt_rub(value: Any, compact: bool = False) -> str:
    """₽54,686,900 or, compact, ₽54.7M / ₽910K / ₽1.23B."""
    if is_missing(value):
        return DASH
    value = float(value)
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if not compact or magnitude < 10_000:
        return f"{sign}{RUB}{magnitude:,.0f}"
    return f"{sign}{RUB}{_compact(magnitude)}"


def rub_axis_label(value: float) -> str:
    """Chart tick labels: ₽0, ₽500K, ₽1.5M, ₽20M (no trailing zeros)."""
    if not value:
        return f"{RUB}0"
    sign = "-" if value < 0 else ""
    magnitude = abs(float(value))
    return f"{sign}{RUB}{_compact(magnitude) if magnitude >= 1000 else f'{magnitude:,.0f}'}"


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A share (0.123) as '12.3%'."""
    if is_missing(value):
        return DASH
    return f"{float(value) * 100:,.{digits}f}%"


def fmt_days(value: Any) -> str:
    if is_missing(value):
        return DASH
    return f"{float(value):,.0f} d"


def fmt_hours(value: Any) -> str:
    if is_missing(value):
        return DASH
    value = float(value)
    return f"{value:,.0f} h" if value < 72 else f"{value / 24:,.1f} d"


def fmt_date(value: Any) -> str:
    if is_missing(value):
        return DASH
    if isinstance(value, pd.Timestamp | datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value:%d %b %Y}"
    return str(value)


def known_to(as_of: Any) -> str:
    """A model output's as_of_date (exclusive) as the last day of data it knew: 'data to 30 Sep 2026'."""
    if is_missing(as_of):
        return DASH
    return f"data to {pd.Timestamp(as_of) - pd.Timedelta(days=1):%d %b %Y}"


def fmt_datetime(value: Any) -> str:
    if is_missing(value):
        return DASH
    value = pd.Timestamp(value)
    return f"{value:%d %b %Y %H:%M}"


FORMATTERS = {
    "rub": fmt_rub,
    "rub_compact": lambda v: fmt_rub(v, compact=True),
    "int": fmt_int,
    "pct": fmt_pct,
    "roi": lambda v: fmt_pct(v, 0),
    "days": fmt_days,
    "hours": fmt_hours,
    "number": fmt_number,
    "number2": lambda v: fmt_number(v, 2),
    "date": fmt_date,
    "text": lambda v: DASH if is_missing(v) else str(v),
}


def fmt(value: Any, unit: str) -> str:
    return FORMATTERS[unit](value)


def change(current: Any, base: Any, unit: str) -> tuple[str, int]:
    """The change from `base` to `current` as text and a sign (+1 up, -1 down, 0 none).

    Rates change in percentage points; everything else relatively. A base of zero has
    no relative change ('new').
    """
    if is_missing(current) or is_missing(base):
        return DASH, 0
    current, base = float(current), float(base)
    if unit in {"pct", "roi"}:
        delta = (current - base) * 100
        digits = 1 if unit == "pct" else 0
        if abs(delta) < 0.5 * 10**-digits:
            return f"±{0:.{digits}f} pp", 0
        return f"{delta:+,.{digits}f} pp", 1 if delta > 0 else -1
    if unit == "number2":
        delta = current - base
        if abs(delta) < 0.005:
            return "±0.00", 0
        return f"{delta:+.2f}", 1 if delta > 0 else -1
    if unit in {"days", "hours"}:
        delta = current - base
        delta_text = fmt_hours(abs(delta)) if unit == "hours" else fmt_days(abs(delta))
        if abs(delta) < 0.5:
            return "±0", 0
        return f"{'+' if delta > 0 else '-'}{delta_text}", 1 if delta > 0 else -1
    if base == 0:
        return ("new", 1) if current else ("±0", 0)
    ratio = (current - base) / abs(base)
    if abs(ratio) < 0.0005:
        return "±0.0%", 0
    return f"{ratio * 100:+.1f}%", 1 if ratio > 0 else -1


def is_sole_proprietor(name: Any, inn: Any = None) -> bool:
    """An ИП: its name is a person's name (12-digit INN, or a name that says so)."""
    inn_text = "" if is_missing(inn) else re.sub(r"\D", "", str(inn))
    if len(inn_text) == 12:
        return True
    return bool(not is_missing(name) and _INDIVIDUAL_NAME.match(str(name)))


def client_label(name: Any, client_id: Any, inn: Any = None) -> str:
    """The company name, or for a sole proprietor (whose name is a person's) 'Sole proprietor · <client id>'."""
    if is_missing(name) or is_sole_proprietor(name, inn):
        prefix = "Sole proprietor" if not is_missing(name) else "Client"
        return f"{prefix} · {client_id}"
    return str(name).strip()
