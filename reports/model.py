"""What a report section produces: a few numbers compared over time, one chart, small
tables and notes, or the reason it is not available yet. Rendering is elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from reports.formatting import change, fmt
from reports.periods import Kind, Period
from reports.source import Source

Better = Literal["up", "down"] | None


@dataclass
class Metric:
    """One number that matters, for the period, the period before and the same period a year earlier."""

    label: str
    current: Any
    previous: Any = None
    year_ago: Any = None
    unit: str = "int"  # a key of formatting.FORMATTERS
    better: Better = "up"  # which way is good news (None: neither)
    note: str = ""
    headline: bool = False  # shown on the summary page too

    @property
    def text(self) -> str:
        return fmt(self.current, self.unit)

    def _comparison(self, base: Any) -> dict[str, str]:
        text, sign = change(self.current, base, self.unit)
        tone = "flat"
        if sign and self.better:
            tone = "good" if (sign > 0) == (self.better == "up") else "bad"
        return {"value": fmt(base, self.unit), "change": text, "tone": tone}

    @property
    def vs_previous(self) -> dict[str, str]:
        return self._comparison(self.previous)

    @property
    def vs_year_ago(self) -> dict[str, str]:
        return self._comparison(self.year_ago)


@dataclass
class Table:
    """A small table, already formatted for the reader. `align` holds 'l' or 'r' per column."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    align: list[str] = field(default_factory=list)
    empty_text: str = "nothing to show"
    # column index -> width ('30%'): the text is kept to one line, cut with an ellipsis
    # (the full text shows on hover), so a long name cannot push the table off its page
    clip: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.align:
            self.align = ["l"] + ["r"] * (len(self.columns) - 1)


@dataclass
class Section:
    key: str
    title: str
    summary: str = ""  # one or two sentences: what the numbers say
    metrics: list[Metric] = field(default_factory=list)
    chart_svg: str | None = None
    chart_title: str = ""
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # caveats, definitions
    unavailable: str | None = None  # the whole section: why it is not there yet
    partial: list[str] = field(default_factory=list)  # parts not there yet, and why
    seconds: float = 0.0

    @property
    def available(self) -> bool:
        return self.unavailable is None


@dataclass
class Context:
    """Everything a section needs: the data and the periods it compares."""

    source: Source
    period: Period
    as_of: date | None  # last day the warehouse has data for
    generated_at: datetime

    @property
    def kind(self) -> Kind:
        return self.period.kind

    @property
    def previous(self) -> Period:
        return self.period.previous

    @property
    def year_ago(self) -> Period:
        return self.period.year_ago

    @property
    def comparisons(self) -> tuple[Period, Period, Period]:
        return self.period, self.previous, self.year_ago

    @property
    def trend_length(self) -> int:
        """How many periods a trend chart shows: 13 months reach back to the same month a
        year earlier; 13 weeks are a quarter."""
        return 13


class SectionFunction:
    """A section's builder with its key and title, so the report can say which section is
    not available yet, and why, when a table it needs is missing."""

    def __init__(self, key: str, title: str, build: Callable[[Context, Section], None]):
        self.key = key
        self.title = title
        self.build = build
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__

    def __call__(self, ctx: Context) -> Section:
        from reports.source import ColumnMissing, TableMissing

        section = Section(key=self.key, title=self.title)
        started = time.perf_counter()
        try:
            self.build(ctx, section)
        except (TableMissing, ColumnMissing) as exc:
            section = Section(key=self.key, title=self.title, unavailable=str(exc))
        section.seconds = time.perf_counter() - started
        return section


def report_section(key: str, title: str) -> Callable[[Callable[[Context, Section], None]], SectionFunction]:
    def wrap(build: Callable[[Context, Section], None]) -> SectionFunction:
        return SectionFunction(key, title, build)

    return wrap
