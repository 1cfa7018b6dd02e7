"""Running the pipeline on one data shape (tests/support/shapes.py) the way a user would: the `crmw`
commands in this process (`ingest`, `build`, `models run`, then publish and the report; or `crmw run`
through Dagster), keeping every exit code, output and timing for the matrix's assertions.

The step-by-step shapes are built one after another in one working home: dbt parses the project once
and re-parses it only when the profile changes, and the profile names the warehouse's path. What a
shape leaves behind (warehouse, published copy, reports, model cards) is then moved to its own folder.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
from click.testing import CliRunner, Result

from crmw.cli import cli
from tests.support.shapes import ExportSet, Shape
from warehouse.settings import Settings

log = logging.getLogger(__name__)

MOVED = (
    "warehouse",
    "reports",
    "artifacts",
    "logs",
    "landing",
    "dagster",
    "secrets",
)  # secrets: the pseudonym key


@dataclass
class ModelsSnapshot:
    """What one `crmw models run` left in the warehouse: each model's run (model_name -> status,
    horizon_days, horizon_months, reason, card path), the backtests (ml.model_metrics,
    ml.forecast_accuracy) and the scores' horizons and methods, read right after it (a second run of
    the same date replaces the first's rows)."""

    runs: dict[str, dict]
    metrics: pd.DataFrame
    accuracy: pd.DataFrame
    scores: dict[str, pd.DataFrame]
    output: str  # what the command printed


def snapshot(warehouse: Path, output: str) -> ModelsSnapshot:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute(
            """
            select model_name, status, horizon_days, horizon_months, reason, model_card_path, params
            from ml.model_runs
            qualify row_number() over (partition by model_name order by trained_at desc) = 1
            """
        ).df()
        metrics = con.execute("select * from ml.model_metrics").df()
        accuracy = con.execute("select * from ml.forecast_accuracy").df()
        scores = {
            table: con.execute(
                f"select horizon_days, method, count(*) as n from ml.{table} group by all"
            ).df()
            for table in ("churn_scores", "lead_scores")
        }
        scores["sales_forecast"] = con.execute(
            "select level, method, history_months, count(*) as n from ml.sales_forecast group by all"
        ).df()
    return ModelsSnapshot(
        {r["model_name"]: r for r in runs.to_dict("records")}, metrics, accuracy, scores, output
    )


@dataclass
class ShapeRun:
    shape: Shape
    home: Path  # the shape's home once it is done (warehouse, reports, artifacts)
    exports: Path
    steps: dict[str, Result] = field(default_factory=dict)  # "ingest", "build", "models 1", ...
    seconds: dict[str, float] = field(default_factory=dict)
    report: dict | None = None
    models: list[ModelsSnapshot] = field(default_factory=list)  # one per `crmw models run`

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home)

    def failures(self) -> dict[str, str]:
        """Steps that did not exit 0, with what they said (the traceback when one escaped)."""
        out = {}
        for step, result in self.steps.items():
            if result.exit_code != 0 or result.exception is not None:
                detail = result.output[-2000:]
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    import traceback

                    detail += "".join(traceback.format_exception(result.exception))[-4000:]
                out[step] = detail
        return out

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as con:
            return con.execute(sql, params or []).df()


def _invoke(run: ShapeRun, runner: CliRunner, step: str, args: list[str]) -> Result:
    started = time.perf_counter()
    result = runner.invoke(cli, args, catch_exceptions=True)
    run.steps[step] = result
    run.seconds[step] = round(time.perf_counter() - started, 2)
    log.info("shape %s: %s exited %s in %.1fs", run.shape.name, step, result.exit_code, run.seconds[step])
    return result


def _clear_work_home(work: Path) -> None:
    """Everything of the last shape goes; dbt's parsed project (dbt/target) stays."""
    for name in MOVED:
        shutil.rmtree(work / name, ignore_errors=True)


def run_step_by_step(shape: Shape, sample: Path, work: Path, out: Path) -> ShapeRun:
    """Cut the sample into the shape, then `crmw ingest`, `crmw build`, `crmw models run` (once per
    ModelRun of the shape), publish and render the latest monthly report (HTML)."""
    from reports.render import render_latest
    from warehouse.publish import publish

    exports = shape.cut(ExportSet.read(sample)).write(out / "exports")
    run = ShapeRun(shape, out / "home", exports)
    _clear_work_home(work)
    settings = Settings(home=work).ensure()
    # dbt's unit tests check the SQL on fixed rows, the same whatever the shape (tests/dbt runs them)
    runner = CliRunner(env={"CRMW_HOME": str(work), "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"})
    ok = _invoke(run, runner, "ingest", ["ingest", str(exports)]).exit_code == 0
    ok = ok and _invoke(run, runner, "build", ["build"]).exit_code == 0
    for i, model_run in enumerate(shape.runs, start=1):
        ok = ok and _invoke(run, runner, f"models {i}", ["models", "run", *model_run.args()]).exit_code == 0
        if ok:
            run.models.append(snapshot(settings.warehouse_path, run.steps[f"models {i}"].output))
    if ok:
        started = time.perf_counter()
        publish(settings.warehouse_path, settings.published_path)
        run.report = render_latest(settings, pdf=False)
        run.seconds["report"] = round(time.perf_counter() - started, 2)
    run.home.mkdir(parents=True, exist_ok=True)
    for name in MOVED:
        if (work / name).exists():
            shutil.move(work / name, run.home / name)
    if run.report:
        run.report["html"] = run.home / Path(run.report["html"]).relative_to(work)
    for snap in run.models:  # the model cards moved with the artefacts
        for r in snap.runs.values():
            if isinstance(r.get("model_card_path"), str) and r["model_card_path"].startswith(str(work)):
                r["model_card_path"] = str(run.home / Path(r["model_card_path"]).relative_to(work))
    return run


def run_through_dagster(shape: Shape, sample: Path, out: Path) -> ShapeRun:
    """Cut the sample into the shape's landing folder and run `crmw run` (the whole Dagster graph)."""
    home = out / "home"
    settings = Settings(home=home).ensure()
    exports = shape.cut(ExportSet.read(sample)).write(settings.landing_dir)
    run = ShapeRun(shape, home, exports)
    _invoke(run, CliRunner(env={"CRMW_HOME": str(home)}), "run", ["run"])
    reports = sorted(settings.reports_dir.glob("*/report.html"))
    run.report = {"html": reports[-1]} if reports else None
    if settings.warehouse_path.exists():
        run.models.append(snapshot(settings.warehouse_path, run.steps["run"].output))
    return run


class ShapeMatrix:
    """The shapes of tests/support/shapes.py, each run once per session when first asked for."""

    def __init__(self, sample: Path, root: Path):
        self.sample, self.root = sample, root
        self._runs: dict[str, ShapeRun] = {}

    def run(self, name: str) -> ShapeRun:
        from tests.support.shapes import SHAPES_BY_NAME

        if name not in self._runs:
            shape = SHAPES_BY_NAME[name]
            out = self.root / name
            shutil.rmtree(out, ignore_errors=True)
            self._runs[name] = (
                run_through_dagster(shape, self.sample, out)
                if shape.dagster
                else run_step_by_step(shape, self.sample, self.root / "work", out)
            )
        return self._runs[name]
