"""How every stage's cost grows with the data: the points of the benchmark's result files (the
latest measurement of each stage at each scale), the growth factor between consecutive scales,
flagged where a stage grows faster than the data, and a log-log plot of both."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

# A stage may grow a little faster than its data (10x the data, up to 12x the cost) before the
# report flags it: the goal of issue 18 for scale 10.
TOLERATED_OVER_DATA = 1.2
STAGE_ORDER = ("generate", "baseline", "dlt", "ingest", "dbt", "models", "reports", "run")


class ResultFileError(ValueError):
    """A result file cannot be read as the harness's JSON (retrying does not help: fix or move it)."""


@dataclass(frozen=True)
class Point:
    stage: str
    scale: float
    seconds: float
    peak_mb: float
    started_at: str
    load_average: float | None

    @property
    def run(self) -> str:
        """The run it came from, as the growth table names it: its start and the machine's load."""
        load = f", load {self.load_average:.1f}" if self.load_average is not None else ""
        return f"{self.started_at[:16].replace('T', ' ')}{load}"


@dataclass(frozen=True)
class Growth:
    stage: str
    from_scale: float
    to_scale: float
    data_growth: float
    seconds_growth: float
    peak_mb_growth: float
    from_run: str
    to_run: str

    @property
    def seconds_too_fast(self) -> bool:
        return self.seconds_growth > TOLERATED_OVER_DATA * self.data_growth

    @property
    def peak_mb_too_fast(self) -> bool:
        return self.peak_mb_growth > TOLERATED_OVER_DATA * self.data_growth


def load_results(folder: Path) -> list[dict]:
    """Every ``bench-*.json`` in the folder (the work/ subfolder is not read)."""
    results = []
    for path in sorted(folder.glob("bench-*.json")):
        try:
            result = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ResultFileError(
                f"{path}: line {error.lineno}, column {error.colno}: not JSON ({error.msg}); expected "
                "what `python -m bench` writes: move the file out of the results folder"
            ) from error
        if not isinstance(result, dict) or not {"started_at", "scales"} <= result.keys():
            raise ResultFileError(
                f"{path}: no started_at and scales at the top; expected what `python -m bench` writes: "
                "move the file out of the results folder"
            )
        results.append(result)
    return results


def collect_points(results: list[dict]) -> dict[str, dict[float, Point]]:
    """stage -> scale -> its latest measurement (by the run's start); skipped stages are no points."""
    points: dict[str, dict[float, Point]] = {}
    for result in sorted(results, key=lambda r: r["started_at"]):
        load = (result.get("machine") or {}).get("load_average_at_start")
        for at_scale in result["scales"]:
            for name, stage in at_scale["stages"].items():
                if "skipped" in (stage.get("result") or {}) or not _positive(stage, "seconds", "peak_mb"):
                    continue  # a log scale has no place for a stage that did not run
                points.setdefault(name, {})[float(at_scale["scale"])] = Point(
                    stage=name,
                    scale=float(at_scale["scale"]),
                    seconds=float(stage["seconds"]),
                    peak_mb=float(stage["peak_mb"]),
                    started_at=result["started_at"],
                    load_average=load[0] if load else None,
                )
    return dict(sorted(points.items(), key=lambda item: _stage_rank(item[0])))


def _positive(stage: dict, *keys: str) -> bool:
    return all(isinstance(stage.get(k), int | float) and stage[k] > 0 for k in keys)


def _stage_rank(stage: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


def growth_rows(points: dict[str, dict[float, Point]]) -> list[Growth]:
    """Each stage's growth between consecutive scales it was measured at."""
    rows = []
    for stage, by_scale in points.items():
        scales = sorted(by_scale)
        for small, large in zip(scales, scales[1:], strict=False):
            a, b = by_scale[small], by_scale[large]
            rows.append(
                Growth(
                    stage=stage,
                    from_scale=small,
                    to_scale=large,
                    data_growth=large / small,
                    seconds_growth=b.seconds / a.seconds,
                    peak_mb_growth=b.peak_mb / a.peak_mb,
                    from_run=a.run,
                    to_run=b.run,
                )
            )
    return rows


def render_growth_markdown(rows: list[Growth]) -> str:
    if not rows:
        return "No stage was measured at two scales yet: no growth to report.\n"
    lines = [
        f"Growth between consecutive scales; **bold** where a stage grew faster than "
        f"{TOLERATED_OVER_DATA:g}x the data's growth (over {TOLERATED_OVER_DATA * 10:g}x for 10x). "
        "Each point is the stage's latest run at that scale (runs named by their start, UTC, and the "
        "load average when they started, where recorded).",
        "",
        "| stage | scales | data | seconds | peak MB | runs |",
        "|---|---|---:|---:|---:|---|",
    ]
    for g in rows:
        seconds = f"{g.seconds_growth:.2f}x"
        peak = f"{g.peak_mb_growth:.2f}x"
        runs = g.to_run if g.from_run == g.to_run else f"{g.from_run} / {g.to_run}"
        lines.append(
            f"| {g.stage} | {g.from_scale:g} -> {g.to_scale:g} | {g.data_growth:g}x "
            f"| {f'**{seconds}**' if g.seconds_too_fast else seconds} "
            f"| {f'**{peak}**' if g.peak_mb_too_fast else peak} | {runs} |"
        )
    return "\n".join(lines) + "\n"


def plot_growth(points: dict[str, dict[float, Point]], path: Path) -> Path:
    """Seconds and peak MB of every stage against scale, log-log, as a PNG (matplotlib's Agg canvas:
    no display, no global backend switched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.8), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2)
    newest = max((p.started_at for by_scale in points.values() for p in by_scale.values()), default="")
    for ax, measure, label in ((axes[0], "seconds", "wall seconds"), (axes[1], "peak_mb", "peak RSS, MB")):
        for stage, by_scale in points.items():
            scales = sorted(by_scale)
            (line,) = ax.plot(scales, [getattr(by_scale[s], measure) for s in scales], label=stage)
            # a point of an earlier run (another day, another load) is hollow: its growth is less sure
            for run_is_newest in (True, False):
                at = [s for s in scales if (by_scale[s].started_at == newest) == run_is_newest]
                ax.plot(
                    at,
                    [getattr(by_scale[s], measure) for s in at],
                    linestyle="none",
                    marker="o",
                    color=line.get_color(),
                    markerfacecolor=line.get_color() if run_is_newest else "white",
                )
        _proportional_guide(ax, points, measure)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("scale (1 = about 10,000 client groups)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize="small", ncols=2)
    runs = sorted({p.started_at[:10] for by_scale in points.values() for p in by_scale.values()})
    loads = [p.load_average for by_scale in points.values() for p in by_scale.values() if p.load_average]
    low, high = (min(loads), max(loads)) if loads else (0.0, 0.0)
    spread = f"{low:.1f}" if low == high else f"{low:.1f}-{high:.1f}"
    load_note = f", load average at the start {spread} where recorded" if loads else ""
    figure.suptitle(
        f"crm-warehouse benchmark: cost against scale, log-log (each stage's latest run at each scale)\n"
        f"runs of {', '.join(runs)}{load_note}; hollow points: not the newest run",
        fontsize="medium",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def _proportional_guide(ax, points: dict[str, dict[float, Point]], measure: str) -> None:
    """A dashed line of slope 1 (cost proportional to the data) through the stages' middle value at
    the smallest scale: a stage steeper than it grows faster than its data."""
    scales = sorted({s for by_scale in points.values() for s in by_scale})
    if len(scales) < 2:
        return
    first = [getattr(by_scale[scales[0]], measure) for by_scale in points.values() if scales[0] in by_scale]
    anchor = math.exp(sum(math.log(v) for v in first) / len(first))
    ax.plot(
        scales,
        [anchor * s / scales[0] for s in scales],
        linestyle="--",
        color="black",
        label="proportional to the data",
    )
