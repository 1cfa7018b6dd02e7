"""Data quality on generated exports (scale 0.01): clean data passes every check, and each
planted fault trips the check meant for it and no other blocking one.

One warehouse is built per module (generate, ingest, dbt build). Each fault is planted in a
copy of it (its DuckDB file and dbt state), by editing a raw or mart table or by landing a
changed export, and the checks run as the pipeline runs them: raw and drift first, marts
and reconciliation only when no blocking raw check failed (Dagster's blocking checks stop
dbt the same way). A fault that passes the raw checks is followed by a dbt build of the
models downstream of the table it touched, so the marts are what the pipeline would build.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pytest

from ingest.load import ingest_paths
from quality import run_quality, status_line
from quality.pipeline import QualityReport
from tests.support.homes import copy_home
from warehouse.dbt import build_warehouse
from warehouse.settings import Settings

pytestmark = pytest.mark.slow


@dataclass
class Built:
    settings: Settings
    exports: Path
    pristine: Path  # a copy of the home right after the build, before any check ran
    report: QualityReport


@pytest.fixture(scope="module")
def built(built_home, sample_exports, tmp_path_factory) -> Built:
    settings = copy_home(built_home, tmp_path_factory.mktemp("dq_clean"))
    report = run_quality(settings, stop_at_blocking=False)
    return Built(settings=settings, exports=sample_exports, pristine=built_home.home, report=report)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def sql(settings: Settings, *statements: str) -> None:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def reland(
    settings: Settings, exports: Path, relative: str, edit: Callable[[list[dict]], list[dict]], name=None
):
    """Land a changed copy of one export (same name: it replaces the earlier version) and ingest it."""
    with open(exports / relative, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    rows = edit(rows)
    if rows and set(rows[0]) != set(header):
        header = [h for h in header if h in rows[0]]
    target = _mkdir(settings.home / "landing" / Path(relative).parent) / (name or Path(relative).name)
    with open(target, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    batch = ingest_paths([target], settings.warehouse_path)
    assert batch.ok, [f.message for f in batch.refused]
    return batch.files[0]


def _scaled(text: str, factor: int) -> str:
    try:
        return f"{Decimal(text) * factor:.2f}"
    except InvalidOperation:
        return text  # a value the generator made unparseable on purpose stays as it is


# --------------------------------------------------------------------------- the faults
def drop_a_column_from_an_export(settings: Settings, exports: Path) -> None:
    """The latest invoices export comes again without due_date (an optional column)."""
    reland(
        settings,
        exports,
        "finance/invoices__2026-09.csv",
        lambda rows: [_without(r, "due_date") for r in rows],
    )


def _without(row: dict, column: str) -> dict:
    return {k: v for k, v in row.items() if k != column}


def drop_a_column_from_a_raw_table(settings: Settings, exports: Path) -> None:
    sql(settings, "alter table raw.invoices drop column deal_ref")


def land_a_snapshot_twice(settings: Settings, exports: Path) -> None:
    """The last accounts snapshot lands again under another name, re-sorted (another hash)."""
    reland(
        settings,
        exports,
        "crm/accounts__2026-09-30.csv",
        lambda rows: rows[::-1],
        "accounts__2026-09-30 (2).csv",
    )


def land_a_month_twice(settings: Settings, exports: Path) -> None:
    """August's invoices land again under another name, re-sorted: ingest quarantines the repeats."""
    reland(
        settings,
        exports,
        "finance/invoices__2026-08.csv",
        lambda rows: rows[::-1],
        "invoices__2026-08 (2).csv",
    )


def load_rows_twice_around_ingest(settings: Settings, exports: Path) -> None:
    """March's payments copied again straight into raw, as a loader bypassing ingest would."""
    sql(
        settings,
        "insert into raw.payments select * replace ('manual-fix.csv' AS _source_file) from raw.payments "
        "where payment_date >= DATE '2025-03-01' and payment_date < DATE '2025-04-01'",
    )


def make_amounts_negative_in_raw(settings: Settings, exports: Path) -> None:
    sql(
        settings,
        "update raw.payments set amount = -amount where payment_id in "
        "(select payment_id from raw.payments order by payment_id limit 5)",
    )


def make_amounts_negative_in_an_export(settings: Settings, exports: Path) -> None:
    """A quarter of August's payments arrive with a minus sign: ingest rejects them."""

    def negate(rows: list[dict]) -> list[dict]:
        for i, row in enumerate(rows):
            if i % 4 == 0 and not row["amount"].startswith("-"):
                row["amount"] = "-" + row["amount"]
        return rows

    reland(settings, exports, "finance/payments__2026-08.csv", negate)


def lose_a_month_of_exports(settings: Settings, exports: Path) -> None:
    """June's invoices export never arrived."""
    sql(
        settings,
        "delete from raw.invoices where parse_filename(_source_file) = 'invoices__2026-06.csv'",
        "delete from quarantine.invoices where parse_filename(_source_file) = 'invoices__2026-06.csv'",
        "delete from meta.load_manifest where file_name = 'invoices__2026-06.csv'",
    )


def lose_a_month_in_the_marts(settings: Settings, exports: Path) -> None:
    """fct_invoices loses June (an incremental run gone wrong); raw still has it."""
    sql(settings, "delete from marts.fct_invoices where invoice_month = DATE '2026-06-01'")


def shift_invoice_amounts(settings: Settings, exports: Path) -> None:
    """September's invoices come again in kopecks (every amount x100); the models downstream
    of raw.invoices are rebuilt, as dbt would after raw checks that pass."""

    def to_kopecks(rows: list[dict]) -> list[dict]:
        for row in rows:
            row["amount"] = _scaled(row["amount"], 100)
            if row.get("vat_amount"):
                row["vat_amount"] = _scaled(row["vat_amount"], 100)
        return rows

    reland(settings, exports, "finance/invoices__2026-09.csv", to_kopecks)
    build_warehouse(settings, select="source:finance.invoices+")


@dataclass(frozen=True)
class Fault:
    plant: Callable[[Settings, Path], None]
    check: str  # the suite meant to catch it
    also_warns: frozenset[str] = field(default_factory=frozenset)

    @property
    def id(self) -> str:
        return self.plant.__name__


FAULTS = (
    Fault(drop_a_column_from_an_export, "raw.invoices.exports_have_every_column"),
    Fault(drop_a_column_from_a_raw_table, "raw.invoices.columns_match_contract"),
    Fault(
        land_a_snapshot_twice,
        "raw.accounts.keys_are_unique",
        also_warns=frozenset({"raw.accounts.row_count_is_steady"}),
    ),
    Fault(land_a_month_twice, "raw.invoices.exports_are_not_repeats"),
    Fault(load_rows_twice_around_ingest, "raw.payments.keys_are_unique"),
    Fault(make_amounts_negative_in_raw, "raw.payments.values_meet_contract"),
    Fault(make_amounts_negative_in_an_export, "raw.payments.exports_pass_validation"),
    Fault(lose_a_month_of_exports, "raw.invoices.every_month_has_rows"),
    Fault(lose_a_month_in_the_marts, "marts.fct_invoices.invoiced_and_paid_match_raw_per_month"),
    Fault(shift_invoice_amounts, "raw.invoices.invoice_amounts_are_stable"),
)


# --------------------------------------------------------------------------- clean data
def test_clean_generated_data_passes_every_check(built):
    report = built.report
    assert len(report.results) > 150
    assert not report.not_run
    failed = {r.suite.name: r.summary() for r in report.failed}
    assert failed == {}


def test_every_result_is_a_real_pass_not_a_skip_or_an_error(built):
    for result in built.report.results:
        assert result.status == "passed"
        assert result.gx_result is not None, result.suite.name
        assert all(o.status == "passed" for o in result.outcomes), result.summary()


def test_results_are_kept_in_meta_with_their_time(built):
    con = duckdb.connect(str(built.settings.warehouse_path), read_only=True)
    try:
        runs = con.execute(
            "select count(*), count(distinct suite), count(distinct run_id) from meta.dq_suite_runs"
        )
        n_runs, n_suites, n_run_ids = runs.fetchall()[0]
        per_day = con.execute(
            "select checked_at::date, layer, count(*) filter (where status <> 'passed'), count(*) "
            "from meta.dq_results group by all order by all"
        ).fetchall()
    finally:
        con.close()
    assert n_runs == n_suites == len(built.report.results) and n_run_ids == 1
    assert {layer for _, layer, _, _ in per_day} == {"raw", "drift", "marts", "reconciliation"}
    assert all(failed == 0 for _, _, failed, _ in per_day)


def test_data_docs_are_written_to_the_reports_folder(built):
    index = built.settings.reports_dir / "data_docs" / "index.html"
    assert built.report.data_docs == index and index.exists()
    pages = list((index.parent / "validations").rglob("*.html"))
    assert len(pages) == len(built.report.results)
    assert "raw.invoices.keys_are_unique" in index.read_text(encoding="utf-8")


def test_the_status_line_says_all_checks_passed(built):
    con = duckdb.connect(str(built.settings.warehouse_path), read_only=True)
    try:
        line = status_line(con)
        (dbt_tests,) = con.execute(
            "select count(*) from (select arg_max(status, checked_at) as status from meta.dbt_test_results "
            "group by test_id) where status <> 'skipped'"
        ).fetchone()
    finally:
        con.close()
    assert dbt_tests > 100  # the build's tests count too, as the Dagster UI shows them
    assert line.startswith("Data quality (checked ") and line.endswith(
        f"all {len(built.report.results) + dbt_tests} checks passed."
    )


# --------------------------------------------------------------------------- faults
@pytest.fixture(scope="module", params=FAULTS, ids=lambda f: f.id)
def faulty(request, built, tmp_path_factory) -> tuple[Fault, Settings, QualityReport]:
    fault: Fault = request.param
    settings = copy_home(built.pristine, tmp_path_factory.mktemp(fault.id))
    fault.plant(settings, built.exports)
    return fault, settings, run_quality(settings, data_docs=False)


def test_each_planted_fault_trips_its_check_and_no_other_blocking_one(faulty):
    fault, _, report = faulty
    failed = {r.suite.name for r in report.failed}
    assert fault.check in failed, [r.summary() for r in report.failed]
    assert failed == {fault.check} | fault.also_warns, [r.summary() for r in report.failed]
    assert {r.suite.name for r in report.blocking_failures} <= {fault.check}
    assert all(r.status == "failed" for r in report.failed)  # a real failure, not an error


def test_a_blocking_raw_failure_keeps_the_mart_checks_from_running(faulty):
    fault, _, report = faulty
    blocked_at_raw = any(r.suite.layer == "raw" for r in report.blocking_failures)
    assert bool(report.not_run) == blocked_at_raw
    assert all(s.layer in ("marts", "reconciliation") for s in report.not_run)


def test_the_status_line_names_what_failed(faulty):
    fault, settings, report = faulty
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        line = status_line(con)
    finally:
        con.close()
    asset, _, check = fault.check.rpartition(".")
    assert f"{asset} {check}" in line
    assert ("FAILED" in line) == bool(report.blocking_failures)
