"""Benchmark results as JSON and a markdown table."""

from __future__ import annotations

import json
from pathlib import Path

# issue 18's goals (docs/performance.md)
GOALS = {
    "ingest_vs_baseline": 1.3,
    "ingest_vs_dlt": 1.0,
    "pipeline_seconds_scale_1": 180,
    "daily_share_of_full": 0.10,
    "peak_mb_scale_1": 2048,
}


def _fmt(value, unit="") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}"
    return f"{value}{unit}"


def render_markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"# Benchmark {results['started_at']}",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB, {m['platform']}, Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + (f"; load average at start {m['load_average_at_start']}" if m.get("load_average_at_start") else ""),
        "",
        "| scale | stage | seconds | peak MB | result |",
        "|---|---|---:|---:|---|",
    ]
    for s in results["scales"]:
        for name, stage in s["stages"].items():
            detail = ", ".join(f"{k}={v}" for k, v in stage["result"].items())
            lines.append(
                f"| {s['scale']:g} | {name} | {_fmt(stage['seconds'])} | {_fmt(stage['peak_mb'])} | {detail} |"
            )
        p = s["pipeline"]
        lines.append(
            f"| {s['scale']:g} | **pipeline** ({' + '.join(p['stages'])}) | {_fmt(p['seconds'])} | {_fmt(p['peak_mb'])} | |"
        )
    lines += [
        "",
        "| scale | ingest / DuckDB baseline | ingest / dlt | dlt / DuckDB baseline | daily run / full build "
        "| whole `crmw run` s | goal |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for s in results["scales"]:
        inc = s.get("incremental") or {}
        run = s["stages"].get("run") or {}
        lines.append(
            f"| {s['scale']:g} | {_fmt(s.get('ingest_vs_baseline'), 'x')} | {_fmt(s.get('ingest_vs_dlt'), 'x')} "
            f"| {_fmt(s.get('dlt_vs_baseline'), 'x')} | {_fmt(inc.get('daily_share_of_full'))} "
            f"| {_fmt(run.get('seconds'))} "
            f"| ingest <= {GOALS['ingest_vs_baseline']}x baseline and faster than dlt, "
            f"daily <= {GOALS['daily_share_of_full']:.0%}, run at scale 1 <= {GOALS['pipeline_seconds_scale_1']} s |"
        )
    spark = [s for s in results["scales"] if s.get("spark")]
    if spark:
        lines += [
            "",
            "The pipeline stages on local Spark next to DuckDB, same exports, same machine (seconds, peak MB):",
            "",
            "| scale | stage | DuckDB s | Spark s | Spark / DuckDB | DuckDB MB | Spark MB |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for s in spark:
            for name, stage in s["spark"]["stages"].items():
                duck = s["stages"].get(name) or {}
                ratio = stage["seconds"] / duck["seconds"] if duck.get("seconds") else None
                lines.append(
                    f"| {s['scale']:g} | {name} | {_fmt(duck.get('seconds'))} | {_fmt(stage['seconds'])} "
                    f"| {_fmt(ratio, 'x')} | {_fmt(duck.get('peak_mb'))} | {_fmt(stage['peak_mb'])} |"
                )
            p, d = s["spark"]["pipeline"], s["pipeline"]
            lines.append(
                f"| {s['scale']:g} | **pipeline** | {_fmt(d['seconds'])} | {_fmt(p['seconds'])} "
                f"| {_fmt(p['seconds'] / d['seconds'] if d['seconds'] else None, 'x')} "
                f"| {_fmt(d['peak_mb'])} | {_fmt(p['peak_mb'])} |"
            )
    return "\n".join(lines) + "\n"


def write_results(results: dict, out: Path, extra_markdown: str = "") -> tuple[Path, Path]:
    """The run's JSON and markdown (with extra_markdown, the growth section, after the tables)."""
    out.mkdir(parents=True, exist_ok=True)
    scales = "-".join(f"{s['scale']:g}" for s in results["scales"])
    stamp = results["started_at"].replace(":", "").replace("-", "")[:15]
    json_path = out / f"bench-{stamp}-scale-{scales}.json"
    md_path = out / f"bench-{stamp}-scale-{scales}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str))
    markdown = render_markdown(results) + (f"\n{extra_markdown}" if extra_markdown else "")
    md_path.write_text(markdown)
    (out / f"latest-scale-{scales}.md").write_text(markdown)
    return json_path, md_path
