"""One health view (quality/health.py): freshness judged against the data's own calendar, the
latest verdict of every check (suites and dbt tests), quarantine counts; and `crmw status`,
the report's data-health section and the freshness suite all say the same."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd
import pytest

from ingest.tables import ensure_ingest_tables
from quality.health import calendar_end, export_reach, health, judge_freshness, latest_checks
from quality.results import ensure_results_tables, status_line

LOADED_AT = datetime(2026, 12, 7, 9, 0)  # months after the data ends: freshness must not care


def manifest_row(entity, source, file_name, *, start=None, end=None, snapshot=None, read=100, quarantined=0):
    return [
        "b1", f"/landing/{source}/{file_name}", file_name, f"hash-{file_name}", 1000, entity, source, "generic",
        "csv", "utf-8", read, read - quarantined, quarantined, 0, snapshot, start, end, "loaded", LOADED_AT, 0.1,
        file_name,  # file_key
    ]  # fmt: skip


@pytest.fixture
def con():
    connection = duckdb.connect()
    ensure_ingest_tables(connection)
    rows = [
        # invoices and payments reach the end of September 2026, by their file names
        manifest_row("invoices", "finance", "invoices__2026-08.csv", start=date(2026, 8, 1), end=date(2026, 8, 30)),
        manifest_row("invoices", "finance", "invoices__2026-09.csv", start=date(2026, 9, 1), end=date(2026, 9, 28)),
        manifest_row("payments", "finance", "payments__2026-09.csv", start=date(2026, 9, 2), end=date(2026, 9, 30),
                     quarantined=5),
        # activities stop at the end of July: two months short
        manifest_row("activities", "crm", "activities__2026-07.csv", start=date(2026, 7, 1), end=date(2026, 7, 31)),
        # a snapshot taken on the last day is fresh; a daily web export reaches half of October
        manifest_row("accounts", "crm", "accounts__2026-09-30.csv", snapshot=date(2026, 9, 30)),
        manifest_row("web_events", "web", "web_events__2026-10-15.jsonl", start=date(2026, 10, 1),
                     end=date(2026, 10, 15)),
    ]  # fmt: skip
    connection.executemany(f"insert into meta.load_manifest values ({', '.join('?' * len(rows[0]))})", rows)
    yield connection
    connection.close()


def test_the_calendar_ends_at_the_last_complete_month_any_export_reaches(con):
    reach = export_reach(con)
    assert calendar_end(reach) == date(2026, 9, 30)  # web events reach 15 Oct: October is not complete
    assert calendar_end(reach[reach["entity"] == "activities"]) == date(2026, 7, 31)
    assert calendar_end(reach.iloc[0:0]) is None


def test_an_export_whose_latest_month_is_complete_is_fresh_whatever_today_is(con):
    view = health(con)
    fresh = dict(zip(view.exports["entity"], view.exports["is_fresh"], strict=True))
    assert fresh == {
        "invoices": True,  # the file name says September, though the last invoice is on the 28th
        "payments": True,
        "activities": False,
        "accounts": True,
        "web_events": True,
    }
    stale = view.stale_exports.iloc[0]
    assert (stale["entity"], stale["days_short"]) == ("activities", 61)


def test_a_period_end_judges_the_exports_the_same_way(con):
    august = judge_freshness(export_reach(con, until=date(2026, 8, 31)), date(2026, 8, 31))
    # what had started by then: September's files and the September snapshot had not
    assert dict(zip(august["entity"], august["is_fresh"], strict=True)) == {
        "invoices": True,
        "activities": False,
    }


def test_checks_count_suites_and_dbt_tests_with_their_latest_verdicts(con):
    ensure_results_tables(con)
    con.executemany(
        "insert into meta.dq_suite_runs (run_id, checked_at, suite, layer, asset, check_name, severity, status, "
        "expectations, failed_expectations) values (?, ?, ?, 'raw', ?, ?, ?, ?, 1, ?)",
        [
            ["r1", datetime(2026, 12, 7, 8), "raw.invoices.keys_are_unique", "raw.invoices", "keys_are_unique",
             "error", "failed", 1],
            ["r2", datetime(2026, 12, 7, 9), "raw.invoices.keys_are_unique", "raw.invoices", "keys_are_unique",
             "error", "passed", 0],  # fixed since: the latest verdict counts
            ["r2", datetime(2026, 12, 7, 9), "raw.invoices.row_count_is_steady", "raw.invoices",
             "row_count_is_steady", "warn", "failed", 1],
        ],
    )  # fmt: skip
    con.execute(
        "create table meta.dbt_test_results (invocation_id varchar, checked_at timestamp, test_id varchar, "
        "test_name varchar, model_id varchar, severity varchar, status varchar, failures bigint, message varchar)"
    )
    con.executemany(
        "insert into meta.dbt_test_results values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ["i1", datetime(2026, 12, 7, 9), "test.a", "unique_fct_invoices_invoice_id",
             "model.crm_warehouse.fct_invoices", "error", "fail", 2, "Got 2 results, configured to fail if != 0"],
            ["i1", datetime(2026, 12, 7, 9), "test.b", "source_not_null_raw_invoices_invoice_id",
             "source.crm_warehouse.raw.invoices", "warn", "warn", 1, None],
            ["i1", datetime(2026, 12, 7, 9), "test.c", "not_null_dim_clients_client_id",
             "model.crm_warehouse.dim_clients", "error", "pass", 0, None],
        ],
    )  # fmt: skip
    checks = latest_checks(con).set_index("check_name")
    assert len(checks) == 5
    assert checks.loc["keys_are_unique", "verdict"] == "passed"
    assert checks.loc["row_count_is_steady", "verdict"] == "warning"
    assert checks.loc["unique_fct_invoices_invoice_id", ["asset", "verdict"]].tolist() == [
        "fct_invoices",
        "failed",
    ]
    assert checks.loc["source_not_null_raw_invoices_invoice_id", "asset"] == "raw.invoices"
    # the report's status line reads the same verdicts
    line = status_line(con)
    assert "1 blocking check(s) failed: fct_invoices unique_fct_invoices_invoice_id" in line
    assert "2 warning(s)" in line and "2 of 5 checks passed" in line


def test_quarantine_counts_add_up_per_entity(con):
    view = health(con)
    assert view.rows_quarantined == 5 and view.rows_read == 600
    assert view.quarantine.set_index("entity").loc["payments", "rows_quarantined"] == 5


def test_the_freshness_suite_fails_the_stale_export_only(con):
    from ingest.contracts import CONTRACTS
    from quality.raw_suites import exports_are_fresh
    from quality.runner import run_suites

    results = {
        entity: run_suites(con, [exports_are_fresh(CONTRACTS[entity])])[0]
        for entity in ("activities", "invoices", "deals")
    }
    assert not results["activities"].passed
    assert results["invoices"].passed
    assert results["deals"].passed  # nothing loaded is not stale: every source is optional


def test_the_report_and_crmw_status_agree_on_freshness(con):
    from reports.model import Context
    from reports.periods import parse_period
    from reports.sections.data_health import data_health
    from reports.source import Source

    period = parse_period("2026-09")
    source = Source.open(con)
    ctx = Context(source=source, period=period, as_of=date(2026, 9, 30), generated_at=datetime(2026, 12, 7))
    section = data_health(ctx)
    stale_in_report = {row[1] for row in section.tables[-1].rows} if section.tables[-1].rows else set()
    view = health(con)
    assert stale_in_report == set(view.stale_exports["entity"]) == {"activities"}
    assert isinstance(view.checks, pd.DataFrame)
