"""The quality suites on small hand-made tables: how they are generated, how a result is
judged (a raised expectation is an error, never a pass), and the rules the load checks use."""

from __future__ import annotations

import re
from datetime import date, datetime

import duckdb
import great_expectations.expectations as gxe
import pandas as pd
import pytest

from ingest.contracts import CONTRACTS, get_contract
from ingest.tables import ensure_ingest_tables
from quality.catalogue import all_suites
from quality.history import monthly_counts
from quality.mart_suites import mart_specs
from quality.raw_suites import (
    NOT_STEADY,
    exports_have_every_column,
    keys_are_unique,
    raw_suites,
    repeated_keys_batch,
    values_meet_contract,
)
from quality.results import format_status, latest_suite_runs, record_results, status_line
from quality.runner import SuiteRunner
from quality.suite import Batch, Suite, read_frame

PREDICATE = re.compile(r"_(is|are|has|have|match|meet|meets|pass|resolve)(_|$)")


@pytest.fixture
def con():
    con = duckdb.connect()
    ensure_ingest_tables(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def runner() -> SuiteRunner:
    return SuiteRunner()


def add_file(con, entity: str, file_name: str, rows: list[dict], period: date | None = None) -> None:
    """Rows of one export file in raw.<entity>, and its manifest row, as ingest leaves them."""
    contract = get_contract(entity)
    content_hash = f"hash-{file_name}"
    loaded_at = datetime(2026, 10, 1, 12, 0)
    for i, row in enumerate(rows, start=1):
        columns = list(row) + ["_source_file", "_content_hash", "_row_number", "_loaded_at", "_snapshot_date"]
        snapshot = period if contract.kind == "snapshot" else None
        values = list(row.values()) + [f"/landing/{file_name}", content_hash, i, loaded_at, snapshot]
        con.execute(
            f"insert into raw.{entity} ({', '.join(columns)}) values ({', '.join('?' * len(values))})", values
        )
    con.execute(
        "insert into meta.load_manifest (batch_id, file_path, file_name, content_hash, entity, source, dialect, "
        "format, encoding, rows_read, rows_loaded, rows_quarantined, rows_flagged, snapshot_date, period_start, "
        "status, loaded_at) values ('b1', ?, ?, ?, ?, ?, 'generic', 'csv', 'utf-8', ?, ?, 0, 0, ?, ?, 'loaded', ?)",
        [
            f"/landing/{file_name}",
            file_name,
            content_hash,
            entity,
            contract.source,
            len(rows),
            len(rows),
            period if contract.kind == "snapshot" else None,
            period if contract.kind == "event" else None,
            loaded_at,
        ],
    )


def invoice(i: int, day: date, **overrides) -> dict:
    row = {
        "invoice_id": f"INV-{i}",
        "counterparty_id": "C1",
        "invoice_date": day,
        "due_date": day,
        "office_code": "MSK",
        "product_line": "cloud",
        "amount": 100,
        "currency": "RUB",
    }
    return row | overrides


# --------------------------------------------------------------------------- generation
def test_every_contract_entity_gets_the_raw_checks_and_steady_event_feeds_the_month_check():
    names = {s.name for s in raw_suites()}
    for entity, contract in CONTRACTS.items():
        for check in (
            "columns_match_contract",
            "values_meet_contract",
            "keys_are_unique",
            "row_count_is_steady",
        ):
            assert f"raw.{entity}.{check}" in names
        steady = contract.kind == "event" and entity not in NOT_STEADY
        assert (f"raw.{entity}.every_month_has_rows" in names) == steady


def test_suite_names_are_unique_and_checks_are_named_as_predicates():
    suites = all_suites()
    assert len({s.name for s in suites}) == len(suites)
    for suite in suites:
        assert PREDICATE.search(suite.check), suite.check
        assert suite.severity in ("error", "warn") and suite.description


def test_mart_suites_come_from_the_dbt_yaml():
    specs = {s.name: s for s in mart_specs()}
    invoices = specs["fct_invoices"]
    assert invoices.keys == ("invoice_id",)
    assert {"amount", "amount_rub", "vat_amount"} <= set(invoices.money)
    assert "rub_per_unit" not in invoices.money
    references = {(r.column, r.parent) for r in invoices.references}
    assert ("client_id", "dim_clients") in references
    assert ("deal_id", "fct_deals") not in references  # dbt only warns about it
    assert (specs["pii_contacts"].schema, specs["pii_contacts"].relation) == ("pii", "contacts")


# --------------------------------------------------------------------------- judging results
def test_an_expectation_that_raises_is_an_error_of_the_suite_never_a_pass(con, runner):
    suite = Suite(
        asset=("test", "raises"),
        check="values_are_sane",
        layer="raw",
        severity="error",
        description="min above max makes GX raise",
        build=lambda _: Batch(
            frame=pd.DataFrame({"x": [1.0, 2.0]}),
            expectations=[gxe.ExpectColumnValuesToBeBetween(column="x", min_value=5, max_value=1)],
        ),
    )
    result = runner.run(con, suite)
    assert result.status == "error" and not result.passed and result.blocking_failure
    assert result.outcomes[0].status == "error" and result.outcomes[0].details["error"]


def test_a_suite_whose_table_cannot_be_read_is_an_error(con, runner):
    suite = Suite(
        asset=("test", "missing"),
        check="table_is_readable",
        layer="marts",
        severity="warn",
        description="reads a table that does not exist",
        build=lambda c: Batch(frame=read_frame(c, "select * from marts.nowhere"), expectations=[]),
    )
    result = runner.run(con, suite)
    assert result.status == "error" and "nowhere" in result.message


def test_an_expectation_on_a_missing_column_is_skipped_and_said(con, runner):
    add_file(con, "invoices", "invoices__2026-01.csv", [invoice(1, date(2026, 1, 5))], date(2026, 1, 5))
    con.execute("alter table raw.invoices drop column currency")
    result = runner.run(con, values_meet_contract(get_contract("invoices")))
    skipped = [o for o in result.outcomes if o.status == "skipped"]
    assert {o.column for o in skipped} == {"currency"}
    assert any("skipped" in n for n in result.notes)


def test_a_sentinel_date_fails_the_date_range_instead_of_breaking_the_read(con, runner):
    add_file(con, "invoices", "invoices__2026-01.csv", [invoice(1, date(9999, 12, 31))], date(2026, 1, 5))
    result = runner.run(con, values_meet_contract(get_contract("invoices")))
    failed = {o.column for o in result.outcomes if o.status == "failed"}
    assert result.status == "failed" and "invoice_date" in failed


def test_a_repeated_key_names_the_files_that_hold_it(con, runner):
    rows = [invoice(1, date(2026, 1, 5)), invoice(2, date(2026, 1, 6))]
    add_file(con, "invoices", "invoices__2026-01.csv", rows, date(2026, 1, 5))
    add_file(con, "invoices", "invoices__2026-01 (copy).csv", rows[:1], date(2026, 1, 5))
    result = runner.run(con, keys_are_unique(get_contract("invoices")))
    assert result.status == "failed"
    assert result.outcomes[0].details["unexpected_index"] == [{"copies": 2, "invoice_id": "INV-1"}]
    assert "invoices__2026-01 (copy).csv" in result.message and "1 key(s)" in result.message


@pytest.mark.parametrize("columns", [["a"], ["a", "b"]])
def test_repeated_keys_and_the_totals_come_from_one_group_by(con, columns):
    con.execute(
        "create table keyed as select 'k' || (i % 7) AS a, if(i = 3, null, 'x') AS b from range(20) r(i)"
    )
    con.execute("insert into keyed values (null, 'x'), (null, 'x'), ('k100', null)")
    batch = repeated_keys_batch(con, "keyed", columns)
    keys = ", ".join(columns)
    distinct, rows = con.execute(f"select count(distinct ({keys})), count(*) from keyed").fetchall()[0]
    assert batch.notes == [f"{rows} rows, {distinct} distinct keys"]
    expected = con.execute(
        f"select {keys}, count(*) from keyed group by all having count(*) > 1 or "
        + " or ".join(f"{c} is null" for c in columns)
    ).fetchall()
    assert sorted(
        map(tuple, batch.frame.astype(object).where(batch.frame.notna(), None).values.tolist()), key=repr
    ) == sorted(expected, key=repr)
    con.execute("create table unique_keys as select 'k' || i AS a, 'x' AS b from range(3) r(i)")
    unique = repeated_keys_batch(con, "unique_keys", columns)
    assert unique.frame.empty and list(unique.frame.columns) == [*columns, "copies"]
    assert unique.notes == ["3 rows, 3 distinct keys"]


# --------------------------------------------------------------------------- load rules
def _web_file(
    con, month: int, rows: int, with_utm: bool, with_page: bool = True, utm_every: int = 10
) -> None:
    day = date(2026, month, 3)
    events = [
        {
            "event_id": f"E{month}-{i}",
            "event_at": datetime(2026, month, 3, 10, 0),
            "visitor_id": f"V{i}",
            "event_type": "page_view",
            "page_url": "/pricing" if with_page else None,
            "utm_source": "yandex" if with_utm and i % utm_every == 0 else None,
        }
        for i in range(rows)
    ]
    add_file(con, "web_events", f"web_events__2026-{month:02d}.csv", events, day)


def test_a_column_empty_in_one_export_but_always_there_before_is_missing(con, runner):
    for month in range(1, 5):
        _web_file(con, month, rows=30, with_utm=False)
    _web_file(con, 5, rows=30, with_utm=False, with_page=False)
    result = runner.run(con, exports_have_every_column(get_contract("web_events")))
    assert result.status == "failed"
    assert result.outcomes[0].details["unexpected_index"][0]["column_name"] == "page_url"
    assert result.outcomes[0].details["unexpected_index"][0]["file_name"] == "web_events__2026-05.csv"


def test_a_column_that_comes_and_goes_is_not_judged_missing(con, runner):
    for month in range(1, 6):
        _web_file(con, month, rows=30, with_utm=month in (1, 3))  # campaign tags come and go
    result = runner.run(con, exports_have_every_column(get_contract("web_events")))
    assert result.status == "passed"


def test_a_sparse_column_that_goes_quiet_is_not_judged_missing(con, runner):
    # campaign tags on 1 row in 100 for months, then a month without campaigns: not a dropped
    # column, though 2000 empty rows would be improbable at that share
    for month in range(1, 5):
        _web_file(con, month, rows=2000, with_utm=True, utm_every=100)
    _web_file(con, 5, rows=2000, with_utm=False)
    result = runner.run(con, exports_have_every_column(get_contract("web_events")))
    assert result.status == "passed"


def test_monthly_counts_fill_months_without_rows_with_zero(con):
    add_file(
        con,
        "invoices",
        "a.csv",
        [invoice(1, date(2026, 1, 5)), invoice(2, date(2026, 3, 9))],
        date(2026, 1, 5),
    )
    counts = monthly_counts(con, "raw.invoices", "invoice_date")
    assert list(counts["rows"]) == [1, 0, 1]
    assert list(counts["month"].dt.strftime("%Y-%m")) == ["2026-01", "2026-02", "2026-03"]


# --------------------------------------------------------------------------- results and status
def test_results_are_appended_per_expectation_and_the_status_line_reads_them(con, runner):
    add_file(
        con, "invoices", "invoices__2026-01.csv", [invoice(1, date(2026, 1, 5), amount=-5)], date(2026, 1, 5)
    )
    results = [runner.run(con, s) for s in (values_meet_contract(get_contract("invoices")),)]
    record_results(con, results, run_id="r1")
    record_results(con, results, run_id="r2")
    per_run = con.execute("select run_id, count(*) from meta.dq_results group by 1 order by 1").fetchall()
    assert per_run == [("r1", len(results[0].outcomes)), ("r2", len(results[0].outcomes))]
    failed = con.execute(
        "select column_name, unexpected_count from meta.dq_results where run_id = 'r2' and status = 'failed'"
    ).fetchall()
    assert failed == [("amount", 1)]
    assert len(latest_suite_runs(con)) == 1
    line = status_line(con)
    assert "FAILED" in line and "raw.invoices values_meet_contract" in line


def _latest(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "checked_at": datetime(2026, 10, 1, 8, 30),
                "asset": a,
                "check_name": c,
                "severity": s,
                "status": st,
            }
            for a, c, s, st in [(r[0], r[1], r[2], r[3] if len(r) > 3 else "passed") for r in rows]
        ]
    )


def test_the_status_line_says_when_nothing_was_checked_yet(con):
    assert status_line(con) == "Data quality: not checked yet."


def test_the_status_line_separates_warnings_from_blocking_failures():
    ok = _latest(
        ("raw.invoices", "keys_are_unique", "error"), ("raw.invoices", "invoice_amounts_are_stable", "warn")
    )
    assert format_status(ok) == "Data quality (checked 2026-10-01 08:30 UTC): all 2 checks passed."
    warned = _latest(
        ("raw.invoices", "keys_are_unique", "error"),
        ("raw.invoices", "invoice_amounts_are_stable", "warn", "failed"),
    )
    assert format_status(warned) == (
        "Data quality (checked 2026-10-01 08:30 UTC): 1 warning(s): raw.invoices invoice_amounts_are_stable; "
        "1 of 2 checks passed."
    )
    blocked = _latest(
        ("raw.invoices", "keys_are_unique", "error", "error"), ("raw.x", "y_is_z", "warn", "failed")
    )
    line = format_status(blocked)
    assert line == (
        "Data quality (checked 2026-10-01 08:30 UTC): FAILED, 1 blocking check(s) failed: raw.invoices "
        "keys_are_unique; 1 warning(s): raw.x y_is_z; 0 of 2 checks passed."
    )


def test_only_the_latest_runs_of_a_suite_keep_their_gx_result(con, runner):
    from datetime import timedelta

    from quality.results import RESULT_JSON_KEPT_RUNS

    add_file(con, "invoices", "invoices__2026-01.csv", [invoice(1, date(2026, 1, 5))], date(2026, 1, 5))
    result = runner.run(con, values_meet_contract(get_contract("invoices")))
    for i in range(RESULT_JSON_KEPT_RUNS + 2):
        result.checked_at = datetime(2026, 10, 1) + timedelta(hours=i)
        record_results(con, [result], run_id=f"r{i}")
    kept = con.execute(
        "select count(*), count(result_json), min(checked_at) filter (where result_json is not null) "
        "from meta.dq_suite_runs"
    ).fetchall()[0]
    assert kept == (RESULT_JSON_KEPT_RUNS + 2, RESULT_JSON_KEPT_RUNS, datetime(2026, 10, 1, 2))


def test_money_that_may_fall_below_zero_is_left_out_of_the_sign_check():
    from quality.mart_suites import mart_specs

    specs = {spec.name: spec for spec in mart_specs()}
    invoices = specs["fct_invoices"]
    assert "amount_rub" in invoices.money and "cost_of_sales_rub" in invoices.money
    assert "net_revenue_rub" not in invoices.money and "gross_margin_rub" not in invoices.money
    assert "contribution_margin_12m_rub" not in specs["mart_client_profitability"].money
    assert "cost_to_serve_12m_rub" in specs["mart_client_profitability"].money
