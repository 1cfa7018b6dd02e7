"""Raw suites, generated from the contracts in ingest/contracts.py: the same checks for every
entity, so a new entity or column is checked the day its contract is written.

Per entity (check names are the Dagster asset check names on raw/<entity>):

| check                      | severity | what fails it                                                 |
|----------------------------|----------|---------------------------------------------------------------|
| columns_match_contract     | error    | a contract or lineage column missing, unknown, or retyped     |
| values_meet_contract       | error    | a required value empty, an enum outside its set, a value      |
|                            |          | under its minimum, a date outside 1990-2100, an event after   |
|                            |          | its load                                                      |
| keys_are_unique            | error    | a key twice (per snapshot date for snapshot entities)         |
| exports_have_every_column  | error    | an export file where a column is empty in every row although  |
|                            |          | the files before it make that improbable (a dropped column;   |
|                            |          | columns filled in under 5% of rows before are not judged)     |
| exports_pass_validation    | error    | an export with more than 10% of its rows rejected by ingest   |
| every_month_has_rows       | error    | a month (between the first and the last) with under a tenth   |
|                            |          | of the typical month's rows (event entities)                  |
| exports_are_not_repeats    | warn     | an export whose rows were mostly loaded before (a re-export)  |
| row_count_is_steady        | warn     | the latest load far off the loads before it                   |
| exports_are_fresh          | warn     | an export that stops more than 3 days before the last         |
|                            |          | complete month the exports reach (quality/health.py)          |

Ingest already quarantines rows that break the contract, so values_meet_contract and
keys_are_unique guard against what bypasses it (a manual fix in SQL, a loader bug, a
second export of one snapshot). The load checks read meta.load_manifest and quarantine.*.
"""

from __future__ import annotations

import math
from datetime import datetime

import duckdb
import great_expectations.expectations as gxe
import pandas as pd

from ingest.contracts import CONTRACTS, LINEAGE_COLUMNS, Contract
from quality.health import FRESH_SLACK_DAYS, calendar_end, export_reach, judge_freshness
from quality.history import month_coverage, monthly_counts
from quality.scan import scanned_batch
from quality.suite import Batch, Suite, make_suite, note, quote, read_frame, table_columns

# Dates before 1990 or after 2100 are sentinels or typos (0001-01-01, 2206 for 2026).
DATE_FLOOR = datetime(1990, 1, 1)
DATE_CEILING = datetime(2100, 1, 1)
# A column empty in every row of a file is missing from the export when each of the (up to
# six, at least three) files before it had the column, and even the thinnest of them makes
# an all-empty file less likely than one in a million (20 rows of a column filled half the time).
MISSING_COLUMN_CHANCE = 1e-6
HISTORY_FILES = 6
MIN_FILES_BEFORE = 3
# A column is judged only when every file before it filled at least this share of rows:
# sparse, bursty columns (campaign tags in a month without campaigns) go empty honestly.
MIN_SHARE_JUDGED = 0.05
REPEATED_KEYS_SHOWN = 1000
# Ingest rejects about 1% of rows of a typical export (typos, bad dates). A file with more
# than 10% rejected is broken; a handful of rejected rows is ordinary even in a tiny file.
REJECTED_SHARE_MAX = 0.10
MIN_JUDGED_REJECTS = 5
REPEATED_SHARE_MAX = 0.5
# A month between the first and the last with under a tenth of the median month's rows is
# a missing (or truncated) export; judged only where the median month has 20 rows or more
# (credit notes or campaign touches have legitimately empty months).
MONTH_MIN_SHARE = 0.1
MIN_TYPICAL_MONTH_ROWS = 20
# Event feeds whose volume follows a calendar instead of flowing steadily: a quiet month is
# no missing export there, so every_month_has_rows does not judge them.
NOT_STEADY = {"campaign_members": "campaign touches follow the campaign calendar (at scale 1 a month has 10)"}
# The latest load against the ones before it: events per month within 1/3..3 times the
# median of the previous six (scaled to the days the latest month covers so far),
# snapshots within 0.8..1.25 times the previous snapshot.
HISTORY_MONTHS = 6
EVENT_ROWS_FACTOR = 3.0
SNAPSHOT_ROWS_RANGE = (0.8, 1.25)
MIN_EXPECTED_ROWS = 20


def raw_table(entity: str) -> str:
    return f"raw.{quote(entity)}"


def expected_columns(contract: Contract) -> dict[str, str]:
    columns = {c.name: c.duckdb_type for c in contract.columns}
    columns.update({name: type_ for name, type_, _ in LINEAGE_COLUMNS})
    return columns


# --------------------------------------------------------------------------- schema
def columns_match_contract(contract: Contract) -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        expected = expected_columns(contract)
        actual = table_columns(con, "raw", contract.entity)
        names = list(expected) + [n for n in actual if n not in expected]
        frame = pd.DataFrame(
            {
                "column_name": names,
                "expected_type": [expected.get(n) for n in names],
                "actual_type": [actual.get(n) for n in names],
            },
            dtype=object,
        )
        return Batch(
            frame=frame,
            expectations=[
                gxe.ExpectColumnValuesToNotBeNull(
                    column="actual_type", meta=note("Every contract and lineage column is in the table.")
                ),
                gxe.ExpectColumnValuesToNotBeNull(
                    column="expected_type", meta=note("The table has no column the contract does not know.")
                ),
                gxe.ExpectColumnPairValuesToBeEqual(
                    column_A="actual_type",
                    column_B="expected_type",
                    ignore_row_if="either_value_is_missing",
                    meta=note("Each column has the contract's storage type."),
                ),
            ],
            index_columns=["column_name"],
        )

    return make_suite(
        "raw",
        contract.entity,
        "columns_match_contract",
        description=f"raw.{contract.entity} has exactly the contract's columns and lineage columns, with their types.",
        build=build,
    )


# --------------------------------------------------------------------------- values
def _value_expectations(contract: Contract) -> list:
    out: list = []
    for col in contract.columns:
        if col.required:
            out.append(
                gxe.ExpectColumnValuesToNotBeNull(column=col.name, meta=note("Required by the contract."))
            )
        if col.type == "enum":
            out.append(gxe.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(col.allowed)))
        if col.min_value is not None:
            out.append(gxe.ExpectColumnValuesToBeBetween(column=col.name, min_value=col.min_value))
        if col.type in ("date", "timestamp"):
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=col.name,
                    min_value=DATE_FLOOR,
                    max_value=DATE_CEILING,
                    meta=note("Dates outside 1990-2100 are sentinels or typos."),
                )
            )
    if contract.event_time:
        out.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="_loaded_at",
                column_B=contract.event_time,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=note("Nothing happened after the export that reports it was loaded."),
            )
        )
    return out


def values_meet_contract(contract: Contract) -> Suite:
    wanted = list(contract.key)
    for col in contract.columns:
        if col.required or col.type in ("enum", "date", "timestamp") or col.min_value is not None:
            wanted.append(col.name)
    if contract.event_time:
        wanted.append("_loaded_at")
    wanted = list(dict.fromkeys(wanted))

    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        # Counted in DuckDB in one scan; GX validates the failing rows and a sample (quality/scan.py).
        present = table_columns(con, "raw", contract.entity)
        types = {c: present[c] for c in wanted if c in present}
        return scanned_batch(
            con,
            raw_table(contract.entity),
            types,
            _value_expectations(contract),
            index_columns=[k for k in contract.key if k in present],
        )

    return make_suite(
        "raw",
        contract.entity,
        "values_meet_contract",
        description=(
            f"raw.{contract.entity}: required values present, enums in their sets, values at or above "
            "their minimum, dates within 1990-2100, no event after its load."
        ),
        build=build,
    )


# --------------------------------------------------------------------------- keys
def _key_columns(contract: Contract) -> list[str]:
    return list(contract.key) + (["_snapshot_date"] if contract.kind == "snapshot" else [])


def keys_are_unique(contract: Contract) -> Suite:
    columns = _key_columns(contract)

    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        # Counted in DuckDB: the frame holds only the keys that repeat (none, normally), so
        # five million web events cost one GROUP BY instead of a pandas hash of every key.
        return repeated_keys_batch(con, raw_table(contract.entity), columns)

    def diagnose(con: duckdb.DuckDBPyConnection) -> str:
        keys = ", ".join(map(quote, columns))
        rows = con.execute(
            f"""
            with repeated as (
                select {keys} from {raw_table(contract.entity)} group by all having count(*) > 1
            )
            select parse_filename(_source_file) AS file_name, count(*) AS rows
            from {raw_table(contract.entity)}
            where ({keys}) in (select ({keys}) from repeated)
            group by 1 order by 2 desc, 1 limit 5
            """
        ).fetchall()
        n_keys = con.execute(
            f"select count(*) from (select {keys} from {raw_table(contract.entity)} group by all "
            "having count(*) > 1)"
        ).fetchall()[0][0]
        files = ", ".join(f"{name} ({n} rows)" for name, n in rows)
        scope = " within one snapshot date" if contract.kind == "snapshot" else ""
        return (
            f"{n_keys} key(s) of raw.{contract.entity} appear more than once{scope}; files holding them: "
            f"{files}. If one export repeats another, remove it from the landing folder and reload."
        )

    per = " per snapshot date" if contract.kind == "snapshot" else ""
    return make_suite(
        "raw",
        contract.entity,
        "keys_are_unique",
        description=f"raw.{contract.entity}: ({', '.join(contract.key)}) identifies one row{per}.",
        build=build,
        diagnose=diagnose,
    )


def repeated_keys_batch(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> Batch:
    """The keys of `table` that appear more than once (or are null), with their copies."""
    keys = ", ".join(map(quote, columns))
    any_null = " or ".join(f"{quote(c)} is null" for c in columns)
    # one GROUP BY counts keys, rows and repeated keys (count(distinct) would hash every key
    # again); the repeated keys are read only when there are some. A single key that is null
    # is no distinct key, as count(distinct key) has it.
    distinct_keys = (
        f"count(*) filter (where {quote(columns[0])} is not null)" if len(columns) == 1 else "count(*)"
    )
    distinct, rows, n_repeated = con.execute(
        f"select {distinct_keys}, coalesce(sum(copies), 0), count(*) filter (where copies > 1 or {any_null}) "
        f"from (select {keys}, count(*) AS copies from {table} group by all)"
    ).fetchall()[0]
    nothing_repeats = "" if n_repeated else " where false"  # an empty frame of the keys' types
    frame = read_frame(
        con,
        f"select {keys}, count(*) AS copies from {table}{nothing_repeats} group by all "
        f"having count(*) > 1 or {any_null} order by copies desc limit {REPEATED_KEYS_SHOWN}",
    )
    return Batch(
        frame=frame,
        expectations=[
            gxe.ExpectColumnValuesToBeBetween(
                column="copies",
                max_value=1,
                meta=note(
                    "One row per key that appears more than once or is empty (none, when the keys are "
                    "unique): every key must appear once."
                ),
            ),
            *(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in columns),
        ],
        index_columns=columns,
        notes=[f"{rows} rows, {distinct} distinct keys"],
    )


# --------------------------------------------------------------------------- export files
def _loaded_files(con: duckdb.DuckDBPyConnection, entity: str) -> pd.DataFrame:
    return read_frame(
        con,
        "select content_hash, file_name, coalesce(snapshot_date, period_start) AS period, loaded_at, rows_read "
        "from meta.load_manifest where entity = ? and status = 'loaded'",
        [entity],
    )


def exports_have_every_column(contract: Contract) -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        present = table_columns(con, "raw", contract.entity)
        columns = [c.name for c in contract.columns if c.name in present]
        counts = read_frame(
            con,
            f"select _content_hash AS content_hash, count(*) AS rows, "
            f"{', '.join(f'count({quote(c)}) AS {quote(c)}' for c in columns)} "
            f"from {raw_table(contract.entity)} group by 1",
        )
        files = _loaded_files(con, contract.entity).merge(counts, on="content_hash")
        files = files.sort_values(["period", "loaded_at", "file_name"], na_position="first").reset_index(
            drop=True
        )
        judged = []
        shares = pd.DataFrame({c: files[c] / files["rows"] for c in columns})
        for column in columns:
            before = shares[column].shift(1).rolling(HISTORY_FILES, min_periods=MIN_FILES_BEFORE)
            # judged only where every file before it filled the column in a fair share of its rows
            # (campaign tags, for one, come and go), at the thinnest share any of them had
            thinnest = before.min()
            chance_all_empty = (1.0 - thinnest) ** files["rows"]
            judge = (thinnest >= MIN_SHARE_JUDGED) & (chance_all_empty < MISSING_COLUMN_CHANCE)
            for i in files.index[judge]:
                judged.append(
                    {
                        "file_name": files.at[i, "file_name"],
                        "column_name": column,
                        "rows": int(files.at[i, "rows"]),
                        "filled": int(files.at[i, column]),
                        "thinnest_share_before": round(float(thinnest[i]), 4),
                    }
                )
        frame = pd.DataFrame(
            judged, columns=["file_name", "column_name", "rows", "filled", "thinnest_share_before"]
        )
        frame = frame.astype({"rows": "int64", "filled": "int64", "thinnest_share_before": "float64"})
        return Batch(
            frame=frame,
            expectations=[
                gxe.ExpectColumnValuesToBeBetween(
                    column="filled",
                    min_value=1,
                    meta=note(
                        "One row per (file, column) where each file before it had the column and an empty "
                        "column would be improbable (below one in a million): at least one row has a value."
                    ),
                )
            ],
            index_columns=["file_name", "column_name"],
            notes=[f"{len(files)} export file(s); {len(frame)} (file, column) pairs judged."],
        )

    return make_suite(
        "raw",
        contract.entity,
        "exports_have_every_column",
        description=(
            f"No {contract.entity} export lacks a column: a column empty in every row of a file, where "
            f"each of the {HISTORY_FILES} files before it had it, was dropped from the export "
            "(or every value was invalid)."
        ),
        build=build,
    )


def _quarantine_by_file(con: duckdb.DuckDBPyConnection, entity: str) -> pd.DataFrame:
    """Per loaded file: rows read, rows rejected (any reason but a repeated key), rows repeated."""
    return read_frame(
        con,
        f"""
        with quarantined as (
            select
                _content_hash,
                len(list_filter(_reasons, lambda r: not starts_with(r, 'duplicate_key'))) = 0 AS is_repeat
            from quarantine.{quote(entity)}
        )
        select
            m.file_name,
            m.content_hash,
            m.rows_read,
            count(q._content_hash) filter (where not q.is_repeat) AS rows_rejected,
            count(q._content_hash) filter (where q.is_repeat) AS rows_repeated
        from meta.load_manifest AS m
        left join quarantined AS q on q._content_hash = m.content_hash
        where m.entity = ? and m.status = 'loaded'
        group by all
        order by m.file_name
        """,
        [entity],
    )


def _files_judged_on(
    con: duckdb.DuckDBPyConnection, entity: str, quarantined: str
) -> tuple[int, pd.DataFrame]:
    """How many files were loaded, and those with MIN_JUDGED_REJECTS or more rows `quarantined`
    ("rejected" or "repeated") with the share of their rows that was (`<quarantined>_share`)."""
    files = _quarantine_by_file(con, entity)
    rows = f"rows_{quarantined}"
    judged = files[files[rows] >= MIN_JUDGED_REJECTS].reset_index(drop=True)
    judged[f"{quarantined}_share"] = (judged[rows] / judged["rows_read"]).astype("float64")
    return len(files), judged


def exports_pass_validation(contract: Contract) -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        loaded, judged = _files_judged_on(con, contract.entity, "rejected")
        frame = judged[["file_name", "rows_read", "rows_rejected", "rejected_share"]]
        return Batch(
            frame=frame,
            expectations=[
                gxe.ExpectColumnValuesToBeBetween(
                    column="rejected_share",
                    max_value=REJECTED_SHARE_MAX,
                    meta=note(
                        f"Files with {MIN_JUDGED_REJECTS} or more rejected rows: at most "
                        f"{REJECTED_SHARE_MAX:.0%} of a file's rows may be rejected."
                    ),
                )
            ],
            index_columns=["file_name"],
            notes=[f"{loaded} export file(s), {len(frame)} with {MIN_JUDGED_REJECTS}+ rejected rows."],
        )

    def diagnose(con: duckdb.DuckDBPyConnection) -> str:
        _, judged = _files_judged_on(con, contract.entity, "rejected")
        bad = judged[judged["rejected_share"] > REJECTED_SHARE_MAX]
        parts = []
        for row in bad.head(3).itertuples():
            reasons = con.execute(
                f"select reason, count(*) from quarantine.{quote(contract.entity)}, unnest(_reasons) AS t(reason) "
                "where _content_hash = ? and not starts_with(reason, 'duplicate_key') "
                "group by 1 order by 2 desc, 1 limit 3",
                [row.content_hash],
            ).fetchall()
            listed = ", ".join(f"{r} x{n}" for r, n in reasons)
            parts.append(f"{row.file_name}: {row.rows_rejected} of {row.rows_read} rows rejected ({listed})")
        return (
            "; ".join(parts)
            + f". See the rows with `crmw quarantine --entity {contract.entity} --file <name>`; fix the export "
            "and land it again under the same name (it replaces the earlier version)."
        )

    return make_suite(
        "raw",
        contract.entity,
        "exports_pass_validation",
        description=(
            f"No {contract.entity} export has more than {REJECTED_SHARE_MAX:.0%} of its rows rejected by "
            f"ingest (judged on files with {MIN_JUDGED_REJECTS}+ rejected rows)."
        ),
        build=build,
        diagnose=diagnose,
    )


def exports_are_not_repeats(contract: Contract) -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        _, judged = _files_judged_on(con, contract.entity, "repeated")
        return Batch(
            frame=judged[["file_name", "rows_read", "rows_repeated", "repeated_share"]],
            expectations=[
                gxe.ExpectColumnValuesToBeBetween(
                    column="repeated_share",
                    max_value=REPEATED_SHARE_MAX,
                    meta=note(
                        "An export whose rows were mostly loaded already (duplicate keys) repeats an "
                        "earlier export: raw is intact, but the source sent the same data twice."
                    ),
                )
            ],
            index_columns=["file_name"],
        )

    return make_suite(
        "raw",
        contract.entity,
        "exports_are_not_repeats",
        severity="warn",
        description=(
            f"No {contract.entity} export repeats one loaded before (over half its rows quarantined as "
            "duplicate keys)."
        ),
        build=build,
    )


# --------------------------------------------------------------------------- volumes
def every_month_has_rows(contract: Contract) -> Suite:
    et = contract.event_time
    assert et is not None

    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        months = monthly_counts(con, raw_table(contract.entity), et)
        typical = float(months["rows"].median()) if len(months) else 0.0
        inner = months.iloc[1:-1]  # the first and the last month may be partial
        frame = pd.DataFrame(
            {
                "month": inner["month"].dt.strftime("%Y-%m").astype(object),
                "rows": inner["rows"].astype("int64"),
            }
        )
        minimum = math.floor(MONTH_MIN_SHARE * typical) if typical >= MIN_TYPICAL_MONTH_ROWS else 0
        notes = [
            f"median month: {typical:g} rows; months between the first and the last must have {minimum}+"
        ]
        if typical < MIN_TYPICAL_MONTH_ROWS:
            notes.append(
                f"fewer than {MIN_TYPICAL_MONTH_ROWS} rows in a typical month: empty months are not judged"
            )
        return Batch(
            frame=frame,
            expectations=[
                gxe.ExpectColumnValuesToBeBetween(
                    column="rows",
                    min_value=minimum,
                    meta=note(
                        f"Every month between the first and the last has at least {MONTH_MIN_SHARE:.0%} of the "
                        "median month's rows; fewer means its export is missing or cut short."
                    ),
                )
            ],
            index_columns=["month"],
            notes=notes,
        )

    return make_suite(
        "raw",
        contract.entity,
        "every_month_has_rows",
        description=(
            f"Every month of raw.{contract.entity} ({et}) between the first and the last has rows: at least "
            f"{MONTH_MIN_SHARE:.0%} of the median month (when that is {MIN_TYPICAL_MONTH_ROWS}+ rows)."
        ),
        build=build,
    )


def _row_count_bounds_for_events(con, contract: Contract) -> tuple[str, int, int | None, list[str]]:
    months = monthly_counts(con, raw_table(contract.entity), contract.event_time)
    if months.empty:
        return "false", 0, None, ["no rows loaded yet"]
    latest = months.iloc[-1]
    start = latest["month"].date()
    where = f"{quote(contract.event_time)} >= DATE '{start.isoformat()}'"
    before = months.iloc[:-1].tail(HISTORY_MONTHS)
    coverage = month_coverage(latest["month"], latest["last_at"])
    expected = float(before["rows"].median()) * coverage if len(before) else 0.0
    label = start.strftime("%Y-%m")
    if expected < MIN_EXPECTED_ROWS:
        note_ = f"latest month {label}: too little history to compare ({expected:.0f} rows expected)"
        return where, 0, None, [note_]
    low, high = math.floor(expected / EVENT_ROWS_FACTOR), math.ceil(expected * EVENT_ROWS_FACTOR)
    notes = [
        f"latest month {label} (covered {coverage:.0%}); median of the {len(before)} months before: "
        f"{before['rows'].median():g} rows"
    ]
    return where, low, high, notes


def _row_count_bounds_for_snapshots(con, contract: Contract) -> tuple[str, int, int | None, list[str]]:
    snapshots = con.execute(
        f"select _snapshot_date, count(*) from {raw_table(contract.entity)} "
        "where _snapshot_date is not null group by 1 order by 1"
    ).fetchall()
    if not snapshots:
        return "false", 0, None, ["no snapshot loaded yet"]
    latest, _ = snapshots[-1]
    where = f"_snapshot_date = DATE '{latest.isoformat()}'"
    if len(snapshots) < 2:
        return where, 0, None, [f"snapshot {latest}: no previous snapshot to compare with"]
    previous_date, previous_rows = snapshots[-2]
    low = math.floor(previous_rows * SNAPSHOT_ROWS_RANGE[0])
    high = math.ceil(previous_rows * SNAPSHOT_ROWS_RANGE[1])
    return where, low, high, [f"snapshot {latest} against {previous_date} ({previous_rows} rows)"]


def row_count_is_steady(contract: Contract) -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        if contract.kind == "event":
            where, low, high, notes = _row_count_bounds_for_events(con, contract)
        else:
            where, low, high, notes = _row_count_bounds_for_snapshots(con, contract)
        # GX counts the rows of a frame without columns: the latest load's rows are counted, not read
        rows = con.execute(f"select count(*) from {raw_table(contract.entity)} where {where}").fetchall()[0][
            0
        ]
        frame = pd.DataFrame(index=pd.RangeIndex(rows))
        return Batch(
            frame=frame,
            expectations=[
                gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high, meta=note(notes[0]))
            ],
            notes=notes,
        )

    if contract.kind == "event":
        rule = (
            f"rows of the latest month within 1/{EVENT_ROWS_FACTOR:g}..{EVENT_ROWS_FACTOR:g} times the "
            f"median of the {HISTORY_MONTHS} months before (scaled to the days it covers)"
        )
    else:
        low, high = SNAPSHOT_ROWS_RANGE
        rule = f"rows of the latest snapshot within {low:g}..{high:g} times the previous snapshot"
    return make_suite(
        "raw",
        contract.entity,
        "row_count_is_steady",
        severity="warn",
        description=f"raw.{contract.entity}: {rule}.",
        build=build,
    )


# --------------------------------------------------------------------------- freshness
def exports_are_fresh(contract: Contract) -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        reach = export_reach(con)
        end = calendar_end(reach)
        mine = judge_freshness(reach, end)
        mine = mine[mine["entity"] == contract.entity]
        frame = pd.DataFrame(
            {
                "source": mine["source"].astype(object),
                "data_through": [str(d) for d in mine["data_through"]],
                "days_short": pd.array(mine["days_short"], dtype="Int64"),
            }
        )
        text = f"the exports' calendar ends {end}" if end else "nothing loaded yet"
        return Batch(
            frame=frame,
            expectations=[
                gxe.ExpectColumnValuesToBeBetween(
                    column="days_short",
                    max_value=FRESH_SLACK_DAYS,
                    meta=note(
                        "Judged against the data's own calendar (the last complete month any export "
                        f"reaches), not today's date; {FRESH_SLACK_DAYS} days short is still fresh."
                    ),
                )
            ],
            index_columns=["source"],
            notes=[text],
        )

    return make_suite(
        "raw",
        contract.entity,
        "exports_are_fresh",
        severity="warn",
        description=(
            f"{contract.entity} exports reach the end of the last complete month the exports reach "
            f"(within {FRESH_SLACK_DAYS} days): fresh against the data's calendar."
        ),
        build=build,
    )


# --------------------------------------------------------------------------- all
def suites_for_contract(contract: Contract) -> list[Suite]:
    suites = [
        columns_match_contract(contract),
        values_meet_contract(contract),
        keys_are_unique(contract),
        exports_have_every_column(contract),
        exports_pass_validation(contract),
    ]
    if contract.kind == "event" and contract.entity not in NOT_STEADY:
        suites.append(every_month_has_rows(contract))
    suites += [
        exports_are_not_repeats(contract),
        row_count_is_steady(contract),
        exports_are_fresh(contract),
    ]
    return suites


def raw_suites() -> list[Suite]:
    return [suite for contract in CONTRACTS.values() for suite in suites_for_contract(contract)]
