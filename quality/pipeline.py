"""Running the quality checks the way the pipeline does, without Dagster.

`run_quality` runs the suites in pipeline order: the raw and drift suites (what Dagster
runs right after ingest), then, unless a blocking raw suite failed, the mart and
reconciliation suites (what Dagster runs after dbt). A blocking failure stops the later
step as it stops dbt and the publish in Dagster; pass `stop_at_blocking=False` to run
everything anyway. Results go to meta.dq_suite_runs and meta.dq_results; Data Docs are
rebuilt in CRMW_HOME/reports/data_docs/.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from quality.catalogue import all_suites
from quality.data_docs import build_data_docs
from quality.results import ensure_results_tables, format_status, latest_suite_runs, record_results
from quality.runner import SuiteResult, SuiteRunner
from quality.suite import LAYERS, PIPELINE_STEPS, Layer, Suite
from warehouse.connection import connect
from warehouse.schemas import ensure_schemas
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


# what the quality suites read on an engine other than DuckDB, besides raw, quarantine and meta
MIRRORED_SCHEMAS = ("intermediate", "marts", "pii")
RESULT_TABLES = ("dq_suite_runs", "dq_results")


@contextlib.contextmanager
def quality_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The connection the suites run on, and write their results to: the warehouse file on DuckDB
    (with views over the lake when raw lives there); on Spark an in-memory DuckDB with views over the
    lake, the Spark tables mirrored (warehouse.engine.mirror) and the earlier results, which go back
    to Spark's meta schema when the block ends without an error."""
    from ingest.lake import connect_lake, view_statements
    from ingest.tables import ensure_ingest_tables
    from warehouse.engine import mirror, open_tables

    if settings.engine == "duckdb":
        con = connect(settings.warehouse_path)
        try:
            if settings.lake_url:
                ensure_schemas(con, "raw", "quarantine", "meta")
                for statement in view_statements(settings.lake_url):
                    con.execute(statement)
            else:
                ensure_ingest_tables(con)  # every source is optional: raw tables exist even when empty
            yield con
        finally:
            con.close()
        return
    con = connect_lake(settings.lake_url)
    try:
        with open_tables(settings) as tables:
            how = mirror(tables, con, MIRRORED_SCHEMAS)
            log.info("quality reads %d tables of %s (%s)", len(how), tables.engine, sorted(set(how.values())))
            for table in RESULT_TABLES:
                if tables.exists("meta", table):
                    con.register("_results", tables.read_arrow("meta", table))
                    con.execute(f"create table meta.{table} as select * from _results")
                    con.unregister("_results")
            ensure_results_tables(con)
            yield con
            for table in RESULT_TABLES:
                tables.write("meta", table, con.execute(f"select * from meta.{table}").to_arrow_table())
    finally:
        con.close()


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
    with quality_connection(settings) as con:
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
    log.info(report.status)
    return report
