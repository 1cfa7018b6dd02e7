"""One health view of the warehouse, shared by `crmw status`, the report's data-health section
and the Dagster checks, so the three never disagree.

- **Freshness against the data's own calendar**, not today's date: the calendar ends at the last
  complete month the exports reach (data to 30 Sep 2026 is fresh in November), and an export is
  fresh when it reaches that end (within FRESH_SLACK_DAYS). Whether loads happen on time is a
  different question, answered in the Dagster UI by each raw asset's FreshnessPolicy.
- **Checks**: the latest verdict of every check, Great Expectations suites
  (meta.dq_suite_runs) and dbt data tests (meta.dbt_test_results, written by the dbt project's
  on-run-end hook), the same results the Dagster UI shows as asset checks.
- **Quarantine**: rows rejected per entity, and files refused whole (meta.refused_files).

Everything here is SQL over `meta`, so it runs on the warehouse and on its published copy.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import pandas as pd

from quality.results import latest_suite_runs

# an export is fresh when it reaches this close to the end of the data's calendar
FRESH_SLACK_DAYS = 3

# How far a file reaches: its snapshot date, the last event in it, or, for a monthly or
# daily export (<entity>__2025-03.csv, <entity>__2025-03-31.csv), the end of the month
# or day its name says (a sparse export may have no event on the last days).
FILE_REACHES = """
greatest(
    coalesce(snapshot_date, period_end),
    case
        when regexp_matches(file_name, '__\\d{4}-\\d{2}-\\d{2}[._]')
            then try_strptime(regexp_extract(file_name, '__(\\d{4}-\\d{2}-\\d{2})', 1), '%Y-%m-%d')::date
        when regexp_matches(file_name, '__\\d{4}-\\d{2}[._]')
            then last_day(try_strptime(regexp_extract(file_name, '__(\\d{4}-\\d{2})', 1), '%Y-%m')::date)
    end
)
"""

# One row per export (source, entity): files loaded, the last day covered, the last load.
# $last limits it to files that start by that day (a report period's last day).
EXPORT_REACH_SQL = f"""
select
    source,
    entity,
    count(*) as files,
    max({FILE_REACHES})::date as data_through,
    max(loaded_at) as last_loaded_at
from meta.load_manifest
where status = 'loaded' and coalesce(period_start, snapshot_date, period_end) <= $last
group by 1, 2
order by 1, 2
"""

DBT_TEST_RESULTS = "meta.dbt_test_results"


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = name.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_catalog = current_database() "
            "and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def export_reach(con: duckdb.DuckDBPyConnection, until: date | None = None) -> pd.DataFrame:
    """source, entity, files, data_through (date), last_loaded_at per export; empty when nothing loaded."""
    columns = ["source", "entity", "files", "data_through", "last_loaded_at"]
    if not has_table(con, "meta.load_manifest"):
        return pd.DataFrame(columns=columns)
    frame = con.execute(EXPORT_REACH_SQL, {"last": until or date(9999, 12, 31)}).df()
    frame["data_through"] = pd.to_datetime(frame["data_through"]).dt.date
    return frame[columns]


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def calendar_end(reach: pd.DataFrame) -> date | None:
    """The last day of the latest complete month any export reaches: the end of the data's calendar."""
    days = [d for d in reach["data_through"] if pd.notna(d)] if len(reach) else []
    if not days:
        return None
    latest = max(days)
    return latest if latest == month_end(latest) else latest.replace(day=1) - timedelta(days=1)


def judge_freshness(reach: pd.DataFrame, end: date | None) -> pd.DataFrame:
    """`reach` with days_short (of `end`) and is_fresh (reaches `end` within FRESH_SLACK_DAYS)."""
    out = reach.copy()
    out["days_short"] = [
        None if end is None or pd.isna(d) else max(0, (end - d).days) for d in out["data_through"]
    ]
    out["is_fresh"] = [s is not None and s <= FRESH_SLACK_DAYS for s in out["days_short"]]
    return out


def latest_dbt_tests(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The latest result of every dbt data test; empty when dbt has not run tests yet."""
    if not has_table(con, DBT_TEST_RESULTS):
        return pd.DataFrame()
    return con.execute(
        f"""
        select checked_at, test_name, model_id, severity, status, failures, message
        from {DBT_TEST_RESULTS}
        qualify row_number() over (partition by test_id order by checked_at desc) = 1
        order by test_name
        """
    ).df()


def latest_checks(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every check's latest verdict, suites and dbt tests alike: kind, asset, check_name,
    severity, verdict (passed | warning | failed), message, checked_at."""
    columns = ["kind", "asset", "check_name", "severity", "verdict", "message", "checked_at"]
    frames = []
    suites = latest_suite_runs(con)
    if not suites.empty:
        failed = suites["status"] != "passed"
        frames.append(
            pd.DataFrame(
                {
                    "kind": "suite",
                    "asset": suites["asset"],
                    "check_name": suites["check_name"],
                    "severity": suites["severity"],
                    "verdict": [
                        "passed" if not f else "failed" if sev == "error" else "warning"
                        for f, sev in zip(failed, suites["severity"], strict=True)
                    ],
                    "message": suites["message"],
                    "checked_at": suites["checked_at"],
                }
            )
        )
    tests = latest_dbt_tests(con)
    if not tests.empty:
        tests = tests[tests["status"] != "skipped"]
        frames.append(
            pd.DataFrame(
                {
                    "kind": "dbt test",
                    "asset": [_asset_of(m) for m in tests["model_id"]],
                    "check_name": tests["test_name"],
                    "severity": tests["severity"],
                    "verdict": [
                        {"pass": "passed", "warn": "warning"}.get(s, "failed") for s in tests["status"]
                    ],
                    "message": tests["message"],
                    "checked_at": tests["checked_at"],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _asset_of(node_id: str | None) -> str:
    """'model.crm_warehouse.fct_invoices' -> 'fct_invoices'; 'source.crm_warehouse.raw.invoices' -> 'raw.invoices'."""
    if not node_id:
        return ""
    parts = node_id.split(".")
    return ".".join(parts[2:]) if parts[0] == "source" else parts[-1]


def quarantine_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """entity, rows_read, rows_quarantined, rows_flagged over the files loaded now."""
    if not has_table(con, "meta.load_manifest"):
        return pd.DataFrame(columns=["entity", "rows_read", "rows_quarantined", "rows_flagged"])
    return con.execute(
        "select entity, sum(rows_read)::bigint as rows_read, sum(rows_quarantined)::bigint as rows_quarantined, "
        "sum(rows_flagged)::bigint as rows_flagged from meta.load_manifest where status = 'loaded' "
        "group by 1 order by 1"
    ).df()


def unreadable_files(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(file, reason) of every file refused whole and not loaded since."""
    if not has_table(con, "meta.refused_files"):
        return []
    return con.execute(
        "select file_path, reason from meta.refused_files r where not exists "
        "(select 1 from meta.load_manifest m where m.file_path = r.file_path and m.loaded_at > r.refused_at) "
        "order by refused_at"
    ).fetchall()


@dataclass
class Health:
    """The warehouse's health in one place (see the module docstring)."""

    calendar_end: date | None
    exports: pd.DataFrame  # judge_freshness(export_reach(...))
    checks: pd.DataFrame  # latest_checks(...)
    quarantine: pd.DataFrame  # quarantine_counts(...)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    @property
    def stale_exports(self) -> pd.DataFrame:
        return self.exports[~self.exports["is_fresh"]]

    def checks_with(self, verdict: str) -> pd.DataFrame:
        return self.checks[self.checks["verdict"] == verdict]

    @property
    def rows_quarantined(self) -> int:
        return int(self.quarantine["rows_quarantined"].sum()) if len(self.quarantine) else 0

    @property
    def rows_read(self) -> int:
        return int(self.quarantine["rows_read"].sum()) if len(self.quarantine) else 0


def health(con: duckdb.DuckDBPyConnection) -> Health:
    reach = export_reach(con)
    end = calendar_end(reach)
    return Health(
        calendar_end=end,
        exports=judge_freshness(reach, end),
        checks=latest_checks(con),
        quarantine=quarantine_counts(con),
        unreadable=unreadable_files(con),
    )
