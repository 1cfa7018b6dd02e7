"""Vectorised helpers for days and times: working days, office hours (UTC), month seasonality."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from sample_exports.params import SECONDS_PER_DAY, GeneratorParams, Window

NULL = np.iinfo(np.int64).min  # null marker in integer-coded columns (days, seconds, kopecks)


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return (np.asarray(days) + 3) % 7


def to_working_day(days: np.ndarray, lo: np.ndarray | int, hi: np.ndarray | int) -> np.ndarray:
    """Move Saturdays and Sundays to the Friday before, or the Monday after when that stays in [lo, hi)."""
    days = np.asarray(days, dtype=np.int64)
    wd = weekday(days)
    back = days - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))
    fwd = days + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))
    out = np.where(back >= lo, back, np.where(fwd < hi, fwd, days))
    return out


def office_seconds(rng: np.random.Generator, days: np.ndarray, start_hour: float = 5.5, hours: float = 10.0):
    """A time on each day during Moscow office hours (UTC, so 05:30-15:30 by default), in seconds."""
    days = np.asarray(days, dtype=np.int64)
    offset = (start_hour * 3600 + rng.random(len(days)) * hours * 3600).astype(np.int64)
    return days * SECONDS_PER_DAY + offset


def any_time_seconds(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """A time on each day weighted to waking hours in Russia (UTC 03:00-20:00 mostly)."""
    days = np.asarray(days, dtype=np.int64)
    hour = np.clip(rng.normal(10.5, 4.0, len(days)), 0, 23.99)
    return days * SECONDS_PER_DAY + (hour * 3600).astype(np.int64)


def month_multiplier(p: GeneratorParams, win: Window) -> np.ndarray:
    """Seasonality times trend for each month of the window."""
    season = np.array(p.seasonality)[win.month_of_year - 1]
    years = (win.month_start - win.start_day) / 365.25
    return season * np.exp(p.revenue_trend_per_year * years)


def days_in_months(win: Window) -> np.ndarray:
    return (win.month_stop - win.month_start).astype(np.int64)


def random_days_in_months(rng: np.random.Generator, months: np.ndarray, win: Window) -> np.ndarray:
    start = win.month_start[months]
    return start + (rng.random(len(months)) * (win.month_stop[months] - start)).astype(np.int64)


def explode(counts: np.ndarray) -> np.ndarray:
    """Indices 0..len(counts)-1 repeated by counts."""
    return np.repeat(np.arange(len(counts)), counts)


def rank_within(owner: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within each run of `explode(counts)` (owner is that exploded array)."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.arange(len(owner)) - starts[owner]


def pick_in_csr(rng: np.random.Generator, ptr: np.ndarray, rows: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """A random member of CSR list `owner` (ptr[o]:ptr[o+1] slices rows); -1 where the list is empty."""
    lo, hi = ptr[owner], ptr[owner + 1]
    size = hi - lo
    idx = lo + (rng.random(len(owner)) * size).astype(np.int64)
    return np.where(size > 0, rows[np.minimum(idx, len(rows) - 1)] if len(rows) else -1, -1)


def csr(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, rows): rows sorted by key so that rows[ptr[k]:ptr[k+1]] are the positions with key k."""
    keys = np.asarray(keys, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n_keys)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, order.astype(np.int64)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def choice_p(rng: np.random.Generator, n: int, probs: np.ndarray | list | tuple) -> np.ndarray:
    """n indices drawn with probabilities `probs` (normalised here)."""
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One index per row of `probs` (n x k, rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), probs.shape[1] - 1)


def make_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """`prefix` + zero-padded numbers, as an object array (works for empty input)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) == 0:
        return np.zeros(0, dtype=object)
    return np.strings.add(prefix, np.strings.zfill(numbers.astype(str), width)).astype(object)


def numbered_ids(prefix: str, n: int, width: int) -> np.ndarray:
    """Ids of n records numbered from 1."""
    return make_ids(prefix, np.arange(1, n + 1), width)


def product_mix(p, frac: np.ndarray) -> np.ndarray:
    """Product-line probabilities at `frac` (0 at the window start, 1 at its end), one row per value."""
    a, b = np.array(p.product_mix_start), np.array(p.product_mix_end)
    return a[None, :] + (b - a)[None, :] * np.clip(frac, 0, 1)[:, None]


Records = TypeVar("Records", bound=Any)


def take(records: Records, rows) -> Records:
    """Some rows (indices or a mask) of a dataclass whose fields are arrays of one length."""
    return type(records)(*(getattr(records, f.name)[rows] for f in dataclasses.fields(records)))


def concat(parts: Sequence[Records]) -> Records:
    """Dataclasses whose fields are arrays, joined field by field."""
    return type(parts[0])(
        *(np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(parts[0]))
    )


class Rows:
    """Values drawn row by row in a loop, collected per column; `arrays` gives object columns."""

    def __init__(self, *columns: str) -> None:
        self.rows: dict[str, list] = {c: [] for c in columns}

    def add(self, column: str, value) -> None:
        self.rows[column].append(value)

    def arrays(self) -> dict[str, np.ndarray]:
        return {c: np.array(v, dtype=object) for c, v in self.rows.items()}
