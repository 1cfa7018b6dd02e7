"""python -m bench --scale 1 [--scale 0.1 ...] [--reuse] [--stages ...] [--engine spark]

Runs each stage in a child process and records its wall time and peak memory
(max RSS of that process and of the children it waited for: Spark's JVM); compares
ingest with DuckDB's own CSV load of the same files in the same run; replays one day
of exports after a full build to measure the incremental cost. With `--engine spark`
the pipeline stages (ingest into the lake, dbt build, models, publish and report) run
again on local Spark, on the same exports and machine, next to DuckDB's. Results go to
bench/results/ as JSON and markdown.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

from bench.growth import collect_points, growth_rows, load_results, plot_growth, render_growth_markdown
from bench.results import write_results

log = logging.getLogger("bench")
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GROWTH_PLOT = ROOT / "docs" / "performance-growth.png"
PIPELINE_STAGES = ("ingest", "dbt", "models", "reports")
ALL_STAGES = ("generate", "baseline", "dlt", *PIPELINE_STAGES, "run", "incremental")


def run_stage(name: str, work: Path, scale: float, seed: int, extra: dict | None = None) -> dict:
    """Run one stage in a child; return wall seconds, peak RSS and the stage's own result."""
    cmd = [sys.executable, "-m", "bench.stages", name, str(work), str(scale), str(seed)]
    if extra:
        cmd.append(json.dumps(extra, default=str))
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"stage {name} failed ({proc.returncode}):\n{err[-3000:]}")
    result = {}
    for line in out.splitlines():
        if line.startswith("BENCH-RESULT "):
            result = json.loads(line[len("BENCH-RESULT ") :])
    peak_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    log.info("%-10s %8.2fs  peak %7.0f MB  %s", name, wall, peak_mb, result)
    return {"seconds": round(wall, 3), "peak_mb": round(peak_mb, 1), "result": result}


def skipped_stage(name: str, reason: str) -> dict:
    """A stage that could not run here: no time, no memory, and the reason in its result."""
    log.warning("%-10s skipped: %s", name, reason)
    return {"seconds": None, "peak_mb": None, "result": {"skipped": reason}}


def _ran(stage: dict | None) -> bool:
    return bool(stage) and "skipped" not in stage["result"]


def ingest_ratios(stages: dict) -> dict:
    """Ingest's seconds over the DuckDB baseline's and over dlt's, and dlt's over the baseline's,
    for the pairs that both ran."""
    pairs = {
        "ingest_vs_baseline": ("ingest", "baseline"),
        "ingest_vs_dlt": ("ingest", "dlt"),
        "dlt_vs_baseline": ("dlt", "baseline"),
    }
    return {
        key: round(stages[top]["seconds"] / stages[bottom]["seconds"], 2)
        for key, (top, bottom) in pairs.items()
        if _ran(stages.get(top)) and _ran(stages.get(bottom))
    }


def bench_scale(
    scale: float, seed: int, reuse: bool, stages: list[str], engines: tuple[str, ...] = ("duckdb",)
) -> dict:
    work = RESULTS / "work" / f"scale-{scale:g}"
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {"scale": scale, "seed": seed, "stages": {}}
    exports_ready = (work / "exports" / "ground_truth" / "manifest.json").exists()
    if "generate" in stages and not (reuse and exports_ready):
        out["stages"]["generate"] = run_stage("generate", work, scale, seed)
    if "baseline" in stages:
        out["stages"]["baseline"] = run_stage("baseline", work, scale, seed)
    if "dlt" in stages:
        from bench.stages import dlt_missing_reason

        reason = dlt_missing_reason()
        out["stages"]["dlt"] = skipped_stage("dlt", reason) if reason else run_stage("dlt", work, scale, seed)
    for name in PIPELINE_STAGES:
        if name in stages:
            out["stages"][name] = run_stage(name, work, scale, seed)
    ran = [s for s in PIPELINE_STAGES if s in out["stages"] and "skipped" not in out["stages"][s]["result"]]
    out["pipeline"] = {
        "stages": ran,
        "seconds": round(sum(out["stages"][s]["seconds"] for s in ran), 3),
        "peak_mb": max((out["stages"][s]["peak_mb"] for s in ran), default=0),
    }
    out.update(ingest_ratios(out["stages"]))
    if "run" in stages:
        out["stages"]["run"] = run_stage("run", work, scale, seed)
    if "incremental" in stages:
        out["incremental"] = bench_incremental(work, scale, seed)
    if "spark" in engines:
        out["spark"] = bench_spark(work, scale, seed, stages)
    return out


def bench_spark(work: Path, scale: float, seed: int, stages: list[str]) -> dict:
    """The pipeline stages on local Spark in a home of their own (ingest writes its lake)."""
    out: dict = {"stages": {}}
    extra = {"home_name": "spark-home", "engine": "spark"}
    for name in PIPELINE_STAGES:
        if name in stages:
            out["stages"][name] = run_stage(name, work, scale, seed, extra)
    ran = list(out["stages"])
    out["pipeline"] = {
        "stages": ran,
        "seconds": round(sum(out["stages"][s]["seconds"] for s in ran), 3),
        "peak_mb": max((out["stages"][s]["peak_mb"] for s in ran), default=0),
    }
    lake = work / "spark-home" / "lake"
    if lake.exists():
        out["lake"] = {
            "files": sum(1 for p in lake.rglob("*.parquet")),
            "bytes": sum(p.stat().st_size for p in lake.rglob("*.parquet")),
        }
    return out


def bench_incremental(work: Path, scale: float, seed: int) -> dict:
    """Full build on all but the last day, then the last day's exports alone."""
    from bench.stages import split_last_day

    base, day, day_name = split_last_day(work)
    # The first ingest with an explicit file list reuses the home: start it clean, or a rerun skips
    # every base file (already loaded) and its dbt build reuses the last run's tables and Splink model.
    shutil.rmtree(work / "inc", ignore_errors=True)
    full: dict = {}
    full["ingest"] = run_stage(
        "ingest", work, scale, seed, {"files": [str(p) for p in base], "home_name": "inc"}
    )
    full["dbt"] = run_stage("dbt", work, scale, seed, {"home_name": "inc", "full_refresh": True})
    daily: dict = {}
    daily["ingest"] = run_stage(
        "ingest", work, scale, seed, {"files": [str(p) for p in day], "home_name": "inc"}
    )
    daily["dbt"] = run_stage("dbt", work, scale, seed, {"home_name": "inc", "full_refresh": False})
    full_s = sum(v["seconds"] for v in full.values() if "skipped" not in v["result"])
    daily_s = sum(v["seconds"] for v in daily.values() if "skipped" not in v["result"])
    return {
        "day": day_name,
        "day_files": len(day),
        "full": full,
        "daily": daily,
        "full_seconds": round(full_s, 3),
        "daily_seconds": round(daily_s, 3),
        "daily_share_of_full": round(daily_s / full_s, 3) if full_s else None,
    }


def _installed(package: str) -> bool:
    try:
        version(package)
    except PackageNotFoundError:
        return False
    return True


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        # other work on a shared machine shows in every figure
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": {
            p: version(p)
            for p in (
                "duckdb",
                "dbt-core",
                "dbt-duckdb",
                "dagster",
                "scikit-learn",
                "pyarrow",
                "pyspark",
                "dbt-spark",
                "dlt",
            )
            if _installed(p)
        },
    }


def report_growth(results: list[dict], plot: Path, markdown_dir: Path) -> str:
    """Draw the growth plot of these results; return the growth section of a markdown file in
    markdown_dir (the plot linked relative to it)."""
    points = collect_points(results)
    plot_growth(points, plot)
    log.info("growth plot: %s", plot)
    link = Path(os.path.relpath(plot.resolve(), markdown_dir.resolve())).as_posix()
    return f"## Growth\n\n![growth of every stage with scale]({link})\n\n" + render_growth_markdown(
        growth_rows(points)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", help="scale factor(s); repeat for several")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true", help="reuse generated exports of the same scale")
    parser.add_argument(
        "--stages",
        default=",".join(ALL_STAGES),
        help="comma-separated subset of: generate, baseline, dlt (the peer: dlt's filesystem source "
        "into its DuckDB destination; the bench extra), ingest, dbt, models, reports, run "
        "(the whole `crmw run` through Dagster, quality checks included), incremental",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and markdown results")
    parser.add_argument(
        "--plot",
        type=Path,
        default=GROWTH_PLOT,
        help="the growth plot (PNG) of every result in --out, this run's included (default: %(default)s)",
    )
    parser.add_argument(
        "--growth-only",
        action="store_true",
        help="run nothing: draw the growth plot and print the growth table of the results in --out",
    )
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="spark: also run the pipeline stages on local Spark, next to DuckDB (docs/scale-out.md)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    stages = args.stages.split(",")
    if unknown := sorted(set(stages) - set(ALL_STAGES)):
        parser.error(f"--stages: unknown {', '.join(unknown)}; choose from {', '.join(ALL_STAGES)}")
    if args.growth_only:
        print(report_growth(load_results(args.out), args.plot, Path.cwd()))
        return 0
    results = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "scales": [
            bench_scale(s, args.seed, args.reuse, stages, engines=("duckdb", args.engine))
            for s in (args.scale or [0.1])
        ],
    }
    earlier = [r for r in load_results(args.out) if r["started_at"] != results["started_at"]]
    growth = report_growth([*earlier, results], args.plot, args.out)
    json_path, md_path = write_results(results, args.out, extra_markdown=growth)
    print(md_path.read_text())
    print(f"results: {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
