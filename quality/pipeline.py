"""Running the quality checks the way the pipeline does, without Dagster.

`run_quality` runs the suites in pipeline order: the raw and drift suites (what Dagster
runs right after ingest), then, unless a blocking raw suite failed, the mart and
reconciliation suites (what Dagster runs after dbt). A blocking failure stops the later
step as it stops dbt and the publish in Dagster; pass `stop_at_blocking=False` to run
everything anyway. Results go to meta.dq_suite_runs and meta.dq_results; Data Docs are
rebuilt in CRMW_HOME/reports/data_docs/.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from quality.catalogue import all_suites
from quality.data_docs import build_data_docs
from quality.results import ensure_results_tables, format_status, latest_suite_runs, record_results
from quality.runner import SuiteResult, SuiteRunner
from quality.suite import LAYERS, PIPELINE_STEPS, Layer, Suite
from warehouse.connection import connect
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)


def data_docs_dir(settings: Settings) -> Path:
    return settings.reports_dir / "data_docs"


@dataclass
class QualityReport:
    run_id: str
    results: list[SuiteResult] = field(default_factory=list)
    # suites a blocking failure in an earlier step kept from running, as it keeps dbt from running
    not_run: list[Suite] = field(default_factory=list)
    data_docs: Path | None = None
    status: str = ""

    @property
    def blocking_failures(self) -> list[SuiteResult]:
        return [r for r in self.results if r.blocking_failure]

    @property
    def warnings(self) -> list[SuiteResult]:
        return [r for r in self.results if not r.passed and not r.suite.blocking]

    @property
    def failed(self) -> list[SuiteResult]:
        return [r for r in self.results if not r.passed]

    @property
    def ok(self) -> bool:
        return not self.blocking_failures

    def by_name(self) -> dict[str, SuiteResult]:
        return {r.suite.name: r for r in self.results}


def check_and_record(
    con: duckdb.DuckDBPyConnection,
    suites: Sequence[Suite],
    run_id: str,
    runner: SuiteRunner | None = None,
) -> list[SuiteResult]:
    """Run `suites` on a writable connection and append their results to meta."""
    ensure_results_tables(con)
    runner = runner or SuiteRunner()
    results = [runner.run(con, suite) for suite in suites]
    record_results(con, results, run_id)
    for result in results:
        if not result.passed:
            level = logging.ERROR if result.suite.blocking else logging.WARNING
            log.log(level, "%s", result.summary())
    return results


def run_quality(
    settings: Settings | None = None,
    *,
    layers: Sequence[Layer] = LAYERS,
    stop_at_blocking: bool = True,
    data_docs: bool = True,
    run_id: str | None = None,
) -> QualityReport:
    """Run the quality suites on the settings' warehouse (writes meta; one writer at a time)."""
    settings = settings or get_settings()
    report = QualityReport(run_id=run_id or uuid.uuid4().hex[:12])
    suites = all_suites(tuple(layers))
    runner = SuiteRunner()
    con = connect(settings.warehouse_path)
    try:
        blocked = False
        for step in PIPELINE_STEPS:
            step_suites = [s for s in suites if s.layer in step]
            if blocked:
                report.not_run += step_suites
                continue
            results = check_and_record(con, step_suites, report.run_id, runner)
            report.results += results
            blocked = stop_at_blocking and any(r.blocking_failure for r in results)
        if data_docs:
            report.data_docs = build_data_docs(con, data_docs_dir(settings))
        report.status = format_status(latest_suite_runs(con))
    finally:
        con.close()
    log.info(report.status)
    return report
