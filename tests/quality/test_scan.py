"""Row checks counted in DuckDB (quality/scan.py): the same verdicts and counts as Great
Expectations on every row, and a disagreement between the two is an error, never a pass."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import duckdb
import great_expectations.expectations as gxe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quality.mart_suites import MartSpec, money_is_not_negative
from quality.raw_suites import DATE_CEILING, DATE_FLOOR
from quality.runner import SuiteRunner
from quality.scan import FAILING_ROWS, Counts, NotCountable, _predicates, scanned_batch
from quality.suite import Batch, Suite, read_frame, table_columns

COLUMNS = {"id": "VARCHAR", "amount": "DOUBLE", "code": "VARCHAR", "day": "DATE", "loaded": "TIMESTAMP"}


@pytest.fixture(scope="module")
def runner() -> SuiteRunner:
    return SuiteRunner()


def make_table(con, rows: list[tuple]) -> None:
    con.execute("drop table if exists t")
    con.execute(f"create table t ({', '.join(f'{c} {t}' for c, t in COLUMNS.items())})")
    if rows:
        con.executemany("insert into t values (?, ?, ?, ?, ?)", rows)


def suite_of(name: str, build) -> Suite:
    return Suite(asset=("raw", "t"), check=name, layer="raw", severity="error", description=name, build=build)


def expectations(low: float, high: float, strict: bool, or_equal: bool) -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="amount"),
        gxe.ExpectColumnValuesToNotBeNull(column="code"),
        gxe.ExpectColumnValuesToBeInSet(column="code", value_set=["a", "b"]),
        gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=low, strict_min=strict),
        gxe.ExpectColumnValuesToBeBetween(column="amount", max_value=high, strict_max=not strict),
        gxe.ExpectColumnValuesToBeBetween(column="day", min_value=DATE_FLOOR, max_value=DATE_CEILING),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="loaded", column_B="day", or_equal=or_equal, ignore_row_if="either_value_is_missing"
        ),
    ]


amounts = st.one_of(st.none(), st.just(math.nan), st.integers(-3, 3).map(float))
days = st.one_of(st.none(), st.integers(-20_000, 50_000).map(lambda n: date(1980, 1, 1) + timedelta(days=n)))
rows = st.lists(
    st.tuples(
        amounts,
        st.sampled_from(["a", "b", "c", None]),
        days,
        st.one_of(st.none(), st.integers(0, 60_000).map(lambda n: datetime(1985, 1, 1) + timedelta(days=n))),
    ),
    max_size=45,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=rows,
    low=st.integers(-3, 3),
    high=st.integers(-3, 3),
    strict=st.booleans(),
    or_equal=st.booleans(),
)
def test_counted_in_duckdb_gives_what_gx_gives_on_every_row(runner, rows, low, high, strict, or_equal):
    con = duckdb.connect()
    make_table(con, [(f"k{i}", *row) for i, row in enumerate(rows)])
    everything = runner.run(
        con,
        suite_of(
            "all_rows",
            lambda con: Batch(
                frame=read_frame(con, "select * from t"),
                expectations=expectations(low, high, strict, or_equal),
                index_columns=["id"],
            ),
        ),
    )
    scanned = runner.run(
        con,
        suite_of(
            "scanned",
            lambda con: scanned_batch(
                con, "t", COLUMNS, expectations(low, high, strict, or_equal), index_columns=["id"]
            ),
        ),
    )
    con.close()
    assert scanned.status == everything.status != "error"
    assert scanned.rows == everything.rows == len(rows)
    gx_all = [r["result"] for r in everything.gx_result["results"]]
    gx_scanned = [r["result"] for r in scanned.gx_result["results"]]
    for whole, counted, a, b in zip(everything.outcomes, scanned.outcomes, gx_all, gx_scanned, strict=True):
        assert (counted.expectation, counted.column, counted.status) == (
            whole.expectation,
            whole.column,
            whole.status,
        )
        assert (counted.element_count, counted.unexpected_count) == (
            whole.element_count,
            whole.unexpected_count,
        )
        assert counted.unexpected_percent == pytest.approx(whole.unexpected_percent, nan_ok=True)
        assert set(a) == set(b)  # the same fields in the stored result and Data Docs
        for key in (
            "missing_count",
            "missing_percent",
            "unexpected_percent_total",
            "unexpected_percent_nonmissing",
        ):
            assert b.get(key) == pytest.approx(a.get(key), nan_ok=True), key
        examples = b.get("partial_unexpected_index_list") or []
        assert len(examples) == min(whole.unexpected_count or 0, FAILING_ROWS)
        if (whole.unexpected_count or 0) <= FAILING_ROWS:  # every failing row, in some order
            key = repr
            assert sorted(map(key, examples)) == sorted(
                map(key, a.get("partial_unexpected_index_list") or [])
            )


def test_gx_and_duckdb_disagreeing_is_an_error_never_a_pass(runner):
    con = duckdb.connect()
    make_table(con, [("k1", 1.0, "a", date(2024, 1, 1), datetime(2024, 2, 1))])
    frame = read_frame(con, "select * from t")
    not_null = gxe.ExpectColumnValuesToNotBeNull(column="amount")
    in_set = gxe.ExpectColumnValuesToBeInSet(column="code", value_set=["b"])
    # DuckDB says 3 rows lack an amount, GX sees none; DuckDB says every code is in the set, GX sees one not
    batch = Batch(
        frame=frame,
        expectations=[not_null, in_set],
        counts={0: Counts(4, None, 3), 1: Counts(4, 4, 0)},
        rows=4,
    )
    result = runner.run(con, suite_of("disagreeing", lambda con: batch))
    assert result.status == "error" and not result.passed
    assert [o.status for o in result.outcomes] == ["error", "error"]
    assert "DuckDB counted 3 unexpected" in result.outcomes[0].details["error"]
    assert all(r["exception_info"]["raised_exception"] for r in result.gx_result["results"])
    assert result.gx_result["success"] is False


def test_a_failing_table_hands_gx_its_failing_rows_and_counts_every_one(runner):
    con = duckdb.connect()
    make_table(con, [])
    con.execute(
        "insert into t select 'k' || i, if(i % 2 = 1, -1.0, 1.0), 'a', null, null from range(10000) AS r(i)"
    )
    batch = scanned_batch(
        con,
        "t",
        COLUMNS,
        [gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0)],
        index_columns=["id"],
    )
    assert len(batch.frame) <= FAILING_ROWS + 200 and batch.rows == 10_000
    result = runner.run(con, suite_of("failing", lambda con: batch))
    (outcome,) = result.outcomes
    assert (
        outcome.status == "failed" and outcome.unexpected_count == 5_000 and outcome.element_count == 10_000
    )
    assert outcome.unexpected_percent == pytest.approx(50.0)
    assert len(outcome.details["unexpected_index"]) == FAILING_ROWS
    assert all(row["amount"] == -1.0 for row in outcome.details["unexpected_index"])


@pytest.mark.parametrize(
    "expectation",
    [
        gxe.ExpectColumnMedianToBeBetween(column="amount", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, mostly=0.9),
        gxe.ExpectColumnValuesToBeInSet(column="code", value_set={"$PARAMETER": "codes"}),
    ],
    ids=["median", "mostly", "parameter"],
)
def test_a_suite_sql_cannot_count_like_gx_reads_every_row_for_gx(runner, expectation):
    con = duckdb.connect()
    make_table(con, [(f"k{i}", float(i) - 2, "a", None, None) for i in range(6)])
    batch = scanned_batch(
        con,
        "t",
        COLUMNS,
        [gxe.ExpectColumnValuesToNotBeNull(column="id"), expectation],
        parameters={"codes": ["a"]},
    )
    assert batch.counts == {} and len(batch.frame) == 6
    with pytest.raises(NotCountable):
        _predicates(expectation, COLUMNS)
    result = runner.run(
        con,
        suite_of(f"whole_{type(expectation).__name__}", lambda con: batch),
    )
    assert (
        result.rows == 6 and result.outcomes[0].status == "passed" and result.outcomes[1].status != "skipped"
    )


def test_a_mart_lacking_a_checked_column_is_an_error_not_a_pass(runner):
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.fct_money (money_id varchar, other double)")
    con.execute("insert into marts.fct_money values ('m1', 1)")
    spec = MartSpec(
        name="fct_money",
        schema="marts",
        relation="fct_money",
        keys=("money_id",),
        money=("amount",),
        dates=(),
        references=(),
    )
    assert "amount" not in table_columns(con, "marts", "fct_money")
    result = runner.run(con, money_is_not_negative(spec))
    assert result.status == "error" and "amount" in result.message
