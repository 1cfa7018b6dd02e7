"""Staging an export's records as text in temp tables, in file order, each with its record number;
records DuckDB's CSV reader rejects are collected with their error."""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest.errors import IngestError
from ingest.parsing import repair_mojibake, sql_literal
from warehouse.identifiers import normalise_phone

JSONL_DELIMITER = "\x1e"  # never appears unescaped inside a JSON line


def register_udfs(con: duckdb.DuckDBPyConnection) -> None:
    def repair(values: pa.Array) -> pa.Array:
        return pa.array([repair_mojibake(v) for v in values.to_pylist()], type=pa.string())

    def phone(values: pa.Array) -> pa.Array:  # the phones sql_phone does not decide itself
        return pa.array([normalise_phone(v) for v in values.to_pylist()], type=pa.string())

    for name, function in (("crmw_repair_mojibake", repair), ("crmw_normalise_phone", phone)):
        with contextlib.suppress(duckdb.CatalogException):  # already registered on this connection
            con.create_function(name, function, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")


def csv_stage(paths: list[Path], n_cols: int, delimiter: str) -> tuple[str, list]:
    """A query reading the files' records as text (c0..cN), each with _f, its file's place
    in `paths`; records the reader rejects go to _rej_errors.

    No record number here: numbering in the query needs DuckDB's streaming window, which
    runs on one thread. The records are copied in file order instead (see stage_csv) and
    numbered by their row id.
    """
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_cols)) + "}"
    names = [str(p) for p in paths]
    sql = f"""
        select (list_position(?, filename) - 1)::INTEGER AS _f, * exclude (filename)
        from read_csv(?, columns = {columns}, header = true, delim = ?, quote = '"', escape = '"',
                      auto_detect = false, strict_mode = true, store_rejects = true, filename = true,
                      rejects_table = '_rej_errors', rejects_scan = '_rej_scans', max_line_size = 8388608)
    """
    return sql, [names, names, delimiter]


def stage_csv(con, stage_sql: str, stage_params: list, paths: list[Path]) -> dict[int, dict[int, str]]:
    """Copy the records into temp table _stage_text in file order (a parallel read whose
    row groups are put back in order), and number them in view _stage: _rn is the record
    number in its file. Returns the records DuckDB's reader rejected, per file.
    """
    copy_in_file_order(con, stage_sql, stage_params)
    spans = con.execute("select _f, min(rowid), max(rowid), count(*) from _stage_text group by _f").fetchall()
    if any(f is None or not 0 <= f < len(paths) for f, *_ in spans):
        raise IngestError("the CSV reader returned records of a file it was not given", file=paths[0])
    # Row ids count the rows in insertion order, from a base that depends on the
    # transaction; when a file's rows are not one run (never seen), sort by them instead.
    if all(last - first + 1 == rows for _, first, last, rows in spans):
        bases = [0] * len(paths)
        for f, first, _, _ in spans:
            bases[f] = int(first)
        number = f"rowid - {bases}[_f + 1] + 1"
    else:
        number = "row_number() over (partition by _f order by rowid)"
    rejects = _collect_rejects(con, paths)
    if not rejects:
        con.execute(f"create or replace temp view _stage as select {number} AS _rn, * from _stage_text")
        return rejects
    # Good records were numbered without the rejected ones between them: shift them.
    con.execute(
        "create or replace temp table _stage_shifted as "
        "select g + (select count(*) from _rej_records r where r._f = s._f and r.record - r.j + 1 <= s.g) "
        "AS _rn, * exclude (g) "
        f"from (select {number} AS g, * from _stage_text) s"
    )
    con.execute("create or replace temp view _stage as select * from _stage_shifted")
    return rejects


def copy_in_file_order(con, select_sql: str, params: list) -> None:
    """Temp table _stage_text from `select_sql`, rows in the files' order (numbering needs it;
    the copy is still read in parallel), so that validation after it runs on every core."""
    con.execute("set preserve_insertion_order = true")
    try:
        con.execute(f"create or replace temp table _stage_text as {select_sql}", params)
    finally:
        con.execute("set preserve_insertion_order = false")


def _collect_rejects(con, paths: list[Path]) -> dict[int, dict[int, str]]:
    """Records DuckDB's CSV reader rejected: file -> record number -> error and raw text.
    Listed in _rej_records (file, record, j = its rank among the file's rejects) when any."""
    rows = con.execute(
        "select s.file_path, e.line, any_value(e.error_type || ': ' || coalesce(e.error_message, '')), "
        "any_value(e.csv_line) from _rej_errors e join _rej_scans s using (scan_id, file_id) "
        "group by s.file_path, e.line order by s.file_path, e.line"
    ).fetchall()
    if not rows:
        return {}
    index = {str(p): f for f, p in enumerate(paths)}
    rejects: dict[int, dict[int, str]] = {}
    for file_path, line, err, raw in rows:
        rejects.setdefault(index[file_path], {})[line - 1] = f"{err}\n{raw}"
    con.execute("create or replace temp table _rej_records (_f integer, record bigint, j bigint)")
    con.executemany(
        "insert into _rej_records values (?, ?, ?)",
        [[f, r, j] for f, records in rejects.items() for j, r in enumerate(sorted(records), start=1)],
    )
    return rejects


def jsonl_stage(path: Path) -> tuple[str, list]:
    sql = f"""(
        select *, case when _ok then line else '{{}}' end AS jline
        from (
            select *, case when json_valid(line) then json_type(line) = 'OBJECT' else false end AS _ok
            from (
                select 0 AS _f, row_number() over () AS _rn, line
                from read_csv(?, columns = {{'line': 'VARCHAR'}}, header = false,
                              delim = {sql_literal(JSONL_DELIMITER)}, quote = '', escape = '',
                              auto_detect = false, max_line_size = 16777216)
            ) where line is not null and trim(line) <> ''
        )
    )"""
    return sql, [str(path)]
