"""One chart style for reports and notebooks (matplotlib only).

Figures are built with `matplotlib.figure.Figure` (no pyplot state, so renders in
Dagster threads do not share figures) and written as inline SVG with real text:
crisp in print, searchable, and small. Element ids are prefixed per chart so several
SVGs can live in one HTML page.
"""

from __future__ import annotations

import functools
import io
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from reports.formatting import rub_axis_label

# A reader learns the colours once: actual is ink blue, plan/forecast orange, the
# comparison grey, good green, bad red. Ordered categories use PALETTE in order.
COLORS = {
    "actual": "#1f4e79",
    "forecast": "#e07b00",
    "interval": "#f6c98f",
    "previous": "#9aa5b1",
    "good": "#2e7d32",
    "bad": "#c62828",
    "warn": "#ef8f00",
    "muted": "#cfd6dd",
    "text": "#1d2733",
    "grid": "#e3e8ee",
}
PALETTE = ["#1f4e79", "#4f8fc0", "#e07b00", "#2e7d32", "#8e5ea2", "#c62828", "#7f8c8d", "#b8860b"]
# days-past-due buckets from fresh to rotten
AGEING_COLORS = ["#9ecae1", "#fdd49e", "#fdae6b", "#f16913", "#d94801", "#8c2d04"]

FONT_FAMILY = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "sans-serif"]

STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": FONT_FAMILY,
    "font.size": 9.5,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 10,
    "axes.labelsize": 9.5,
    "axes.labelcolor": COLORS["text"],
    "axes.edgecolor": "#b0bac5",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "grid.color": COLORS["grid"],
    "grid.linewidth": 0.8,
    "xtick.color": "#4a5866",
    "ytick.color": "#4a5866",
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "text.color": COLORS["text"],
    "figure.dpi": 100,
    "svg.fonttype": "none",
    "svg.hashsalt": "crmw-report",
    "lines.linewidth": 2.0,
}

WIDE = (9.2, 3.4)
HALF = (4.5, 3.2)

_counter = itertools.count(1)


@contextmanager
def report_style() -> Iterator[None]:
    """The report style for the figures built inside (also what notebooks use)."""
    with matplotlib.rc_context(STYLE):
        yield


def styled(draw: Callable[..., str]) -> Callable[..., str]:
    """Run a chart-drawing function inside the report style (titles, fonts and ticks
    read the style when they are drawn, not only when the figure is made)."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with report_style():
            return draw(*args, **kwargs)

    return wrapper


def new_figure(size: tuple[float, float] = WIDE, ncols: int = 1, **kwargs) -> tuple[Figure, list]:
    """A figure in the report style and its axes (always a list)."""
    with report_style():
        fig = Figure(figsize=size, layout="constrained")
        axes = fig.subplots(1, ncols, **kwargs)
    return fig, list(axes) if ncols > 1 else [axes]


def rub_axis(ax, axis: str = "y") -> None:
    formatter = FuncFormatter(lambda value, _pos: rub_axis_label(value))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def pct_axis(ax, axis: str = "y", digits: int = 0) -> None:
    formatter = FuncFormatter(lambda value, _pos: f"{value * 100:.{digits}f}%")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def thousands_axis(ax, axis: str = "y") -> None:
    formatter = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


_ID = re.compile(r'\bid="([^"]+)"')


def to_svg(fig: Figure, title: str = "") -> str:
    """The figure as an inline <svg> element (no XML prolog), ids unique in the page."""
    buffer = io.StringIO()
    with report_style():
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    prefix = f"c{next(_counter)}-"
    ids = set(_ID.findall(text))
    for old in sorted(ids, key=len, reverse=True):
        new = prefix + old
        text = text.replace(f'id="{old}"', f'id="{new}"')
        text = text.replace(f"url(#{old})", f"url(#{new})")
        text = text.replace(f'xlink:href="#{old}"', f'xlink:href="#{new}"')
        text = text.replace(f'href="#{old}"', f'href="#{new}"')
    if title:
        text = text.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)
    # scale with the page: the width/height attributes become the aspect ratio only
    text = re.sub(
        r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"', r'<svg\1 class="chart"', text, count=1
    )
    return text


def to_png(fig: Figure, dpi: int = 150) -> bytes:
    buffer = io.BytesIO()
    with report_style():
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
