"""Keeping results with time: meta.dq_suite_runs (one row per suite run, with the GX result
that Data Docs are rendered from) and meta.dq_results (one row per expectation), and the
one-line status the management report shows.

This module does not import Great Expectations: the report reads the published copy and
only needs SQL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from warehouse.schemas import ensure_schemas

if TYPE_CHECKING:
    from quality.runner import SuiteResult

RESULTS_DDL = """
create table if not exists meta.dq_suite_runs (
    run_id varchar not null,
    checked_at timestamp not null,
    suite varchar not null,
    layer varchar not null,
    asset varchar not null,
    check_name varchar not null,
    severity varchar not null,
    status varchar not null,
    expectations bigint not null,
    failed_expectations bigint not null,
    rows_checked bigint,
    seconds double,
    message varchar,
    notes varchar[],
    result_json json
);
create table if not exists meta.dq_results (
    run_id varchar not null,
    checked_at timestamp not null,
    suite varchar not null,
    layer varchar not null,
    asset varchar not null,
    check_name varchar not null,
    severity varchar not null,
    expectation varchar not null,
    column_name varchar,
    status varchar not null,
    success boolean,
    observed_value json,
    element_count bigint,
    unexpected_count bigint,
    unexpected_percent double,
    kwargs json,
    details json
);
"""
# A suite whose latest result is this much older than the newest one was renamed or
# removed: the status line no longer counts it.
STALE_AFTER_DAYS = 7
MAX_NAMED = 3
# The GX result (what Data Docs render) is kept for the latest runs of each suite; older
# runs keep their summary and per-expectation rows, which is what trends need.
RESULT_JSON_KEPT_RUNS = 30


def ensure_results_tables(con: duckdb.DuckDBPyConnection) -> None:
    ensure_schemas(con, "meta")
    con.execute(RESULTS_DDL)


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=str, ensure_ascii=False)


def record_results(con: duckdb.DuckDBPyConnection, results: Sequence[SuiteResult], run_id: str) -> None:
    """Append the results of one run (one transaction)."""
    if not results:
        return
    ensure_results_tables(con)
    runs, rows = [], []
    for r in results:
        s = r.suite
        common = {
            "run_id": run_id,
            "checked_at": r.checked_at,
            "suite": s.name,
            "layer": s.layer,
            "asset": s.asset_name,
            "check_name": s.check,
            "severity": s.severity,
        }
        runs.append(
            common
            | {
                "status": r.status,
                "expectations": len(r.outcomes),
                "failed_expectations": len(r.failed_outcomes),
                "rows_checked": r.rows,
                "seconds": round(r.seconds, 3),
                "message": r.message or None,
                "notes": list(r.notes),
                "result_json": _json(r.gx_result),
            }
        )
        for o in r.outcomes:
            rows.append(
                common
                | {
                    "expectation": o.expectation,
                    "column_name": o.column,
                    "status": o.status,
                    "success": {"passed": True, "failed": False}.get(o.status),
                    "observed_value": _json(o.observed),
                    "element_count": o.element_count,
                    "unexpected_count": o.unexpected_count,
                    "unexpected_percent": o.unexpected_percent,
                    "kwargs": _json(o.kwargs),
                    "details": _json(o.details or None),
                }
            )
    run_frame = pd.DataFrame(runs)
    row_frame = pd.DataFrame(
        rows,
        columns=[
            "run_id",
            "checked_at",
            "suite",
            "layer",
            "asset",
            "check_name",
            "severity",
            "expectation",
            "column_name",
            "status",
            "success",
            "observed_value",
            "element_count",
            "unexpected_count",
            "unexpected_percent",
            "kwargs",
            "details",
        ],
    )
    con.execute("begin transaction")
    try:
        con.register("_dq_runs", run_frame)
        con.register("_dq_rows", row_frame)
        con.execute(
            "insert into meta.dq_suite_runs select run_id, checked_at, suite, layer, asset, check_name, severity, "
            "status, expectations, failed_expectations, rows_checked, seconds, message, notes, "
            "result_json::json from _dq_runs"
        )
        con.execute(
            "insert into meta.dq_results select run_id, checked_at, suite, layer, asset, check_name, severity, "
            "expectation, column_name, status, success, observed_value::json, element_count, unexpected_count, "
            "unexpected_percent, kwargs::json, details::json from _dq_rows"
        )
        con.execute(
            f"""
            update meta.dq_suite_runs set result_json = null
            where result_json is not null and (suite, checked_at) in (
                select (suite, checked_at) from meta.dq_suite_runs
                qualify row_number() over (partition by suite order by checked_at desc) > {RESULT_JSON_KEPT_RUNS}
            )
            """
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_dq_runs")
        con.unregister("_dq_rows")


def latest_suite_runs(con: duckdb.DuckDBPyConnection, with_results: bool = False) -> pd.DataFrame:
    """The latest run of every suite still being run (see STALE_AFTER_DAYS); empty when none."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        "and table_schema = 'meta' and table_name = 'dq_suite_runs'"
    ).fetchall()[0][0]
    if not exists:
        return pd.DataFrame()
    extra = ", result_json::varchar AS result_json" if with_results else ""
    return con.execute(
        f"""
        with latest as (
            select * from meta.dq_suite_runs
            qualify row_number() over (partition by suite order by checked_at desc) = 1
        )
        select run_id, checked_at, suite, layer, asset, check_name, severity, status, message{extra}
        from latest
        where checked_at >= (select max(checked_at) from latest) - interval {STALE_AFTER_DAYS} day
        order by suite
        """
    ).df()


def _named(frame: pd.DataFrame) -> str:
    names = [f"{r.asset} {r.check_name}" for r in frame.itertuples()]
    text = ", ".join(names[:MAX_NAMED])
    if len(names) > MAX_NAMED:
        text += f" and {len(names) - MAX_NAMED} more"
    return text


def format_status(latest: pd.DataFrame) -> str:
    """One line: when the data was last checked, and what failed."""
    if latest.empty:
        return "Data quality: not checked yet."
    when: datetime = pd.Timestamp(latest["checked_at"].max()).to_pydatetime()
    failed = latest[latest["status"] != "passed"]
    blocking = failed[failed["severity"] == "error"]
    warnings = failed[failed["severity"] != "error"]
    total, passed = len(latest), len(latest) - len(failed)
    head = f"Data quality (checked {when:%Y-%m-%d %H:%M} UTC):"
    if failed.empty:
        return f"{head} all {total} checks passed."
    parts = []
    if not blocking.empty:
        parts.append(f"FAILED, {len(blocking)} blocking check(s) failed: {_named(blocking)}")
    if not warnings.empty:
        parts.append(f"{len(warnings)} warning(s): {_named(warnings)}")
    parts.append(f"{passed} of {total} checks passed")
    return f"{head} " + "; ".join(parts) + "."


def status_line(con: duckdb.DuckDBPyConnection) -> str:
    """The data-quality status for the management report, from the latest result of each check
    (suites and dbt tests, quality.health.latest_checks: what `crmw status` and the UI show).

    Works on the warehouse or on its published copy (meta is published).
    """
    from quality.health import latest_checks

    checks = latest_checks(con)
    return format_status(
        checks.assign(
            status=["passed" if v == "passed" else "failed" for v in checks["verdict"]],
            severity=["error" if v == "failed" else "warn" for v in checks["verdict"]],
        )
    )
