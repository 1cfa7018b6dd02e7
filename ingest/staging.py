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
MAX_LINE_BYTES = 8 * 1024 * 1024
# DuckDB's reader stores at most this much of a rejected record's text: a longer one was cut
REJECT_TEXT_CHARS = 10_000


class NeedsCarefulRead(Exception):  # noqa: N818 - a signal inside the loader, never shown to anyone
    """Some files of a read must be split into records line by line (ingest.records) and read again:
    a record DuckDB's reader rejected runs over several lines (a quote left open swallowed the
    records after it), or the reader stopped on the file. `files` are their places in the read."""

    def __init__(self, files: set[int]) -> None:
        super().__init__(f"files {sorted(files)} need a careful read")
        self.files = files


def register_udfs(con: duckdb.DuckDBPyConnection) -> None:
    def repair(values: pa.Array) -> pa.Array:
        return pa.array([repair_mojibake(v) for v in values.to_pylist()], type=pa.string())

    def phone(values: pa.Array) -> pa.Array:  # the phones sql_phone does not decide itself
        return pa.array([normalise_phone(v) for v in values.to_pylist()], type=pa.string())

    for name, function in (("crmw_repair_mojibake", repair), ("crmw_normalise_phone", phone)):
        with contextlib.suppress(duckdb.CatalogException):  # already registered on this connection
            con.create_function(name, function, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")


def csv_stage(
    paths: list[Path], n_cols: int, delimiter: str, max_line_bytes: int = MAX_LINE_BYTES
) -> tuple[str, list]:
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
                      rejects_table = '_rej_errors', rejects_scan = '_rej_scans', max_line_size = {int(max_line_bytes)})
    """
    return sql, [names, names, delimiter]


def stage_csv(
    con,
    stage_sql: str,
    stage_params: list,
    paths: list[Path],
    broken: dict[int, dict[int, str]] | None = None,
) -> dict[int, dict[int, str]]:
    """Copy the records into temp table _stage_text in file order (a parallel read whose
    row groups are put back in order), and number them in view _stage: _rn is the record
    number in its file. Returns the records DuckDB's reader rejected, per file, with the broken
    records of files read carefully (`broken`: their records split line by line beforehand).

    Raises NeedsCarefulRead when the reader stopped on a file of its own, or rejected a record
    that runs over several lines or has a quote out of place (`_files_to_read_carefully`): the
    loader splits those files line by line and reads again.
    """
    broken = broken or {}
    try:
        copy_in_file_order(con, stage_sql, stage_params)
    except duckdb.InvalidInputException as exc:
        if len(paths) == 1 and 0 not in broken:
            raise NeedsCarefulRead({0}) from exc
        raise
    untrusted = _files_to_read_carefully(con, paths)
    if untrusted:
        if untrusted & set(broken):
            raise IngestError(
                "the careful reader left a record DuckDB's reader rejects", file=paths[min(untrusted)]
            )
        raise NeedsCarefulRead(untrusted)
    rejects = _collect_rejects(con, paths)
    for f, records in broken.items():
        if rejects.get(f):
            raise IngestError(
                f"the careful reader and DuckDB's reader disagree on record {min(rejects[f])}",
                file=paths[f],
                hint="this is a bug in crm-warehouse; nothing was loaded",
            )
        if records:
            rejects[f] = dict(records)
    number_records(con, "_stage_text", "_stage", paths, rejects)
    return rejects


def number_records(con, table: str, view: str, paths: list[Path], rejects: dict[int, dict[int, str]]) -> None:
    """View `view` over `table` (rows in file order, with _f) with _rn, each row's record number in
    its file, counting the rejected records (`rejects`: file -> record number -> text) in their place."""
    spans = con.execute(f"select _f, min(rowid), max(rowid), count(*) from {table} group by _f").fetchall()
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
    if not any(rejects.values()):
        con.execute(f"create or replace temp view {view} as select {number} AS _rn, * from {table}")
        return
    con.execute("create or replace temp table _rej_records (_f integer, record bigint, j bigint)")
    con.executemany(
        "insert into _rej_records values (?, ?, ?)",
        [[f, r, j] for f, records in rejects.items() for j, r in enumerate(sorted(records), start=1)],
    )
    # Good records were numbered without the rejected ones between them: shift them.
    shifted = f"{table}_shifted"
    con.execute(
        f"create or replace temp table {shifted} as "
        "select g + (select count(*) from _rej_records r where r._f = s._f and r.record - r.j + 1 <= s.g) "
        "AS _rn, * exclude (g) "
        f"from (select {number} AS g, * from {table}) s"
    )
    con.execute(f"create or replace temp view {view} as select * from {shifted}")


def copy_in_file_order(con, select_sql: str, params: list) -> None:
    """Temp table _stage_text from `select_sql`, rows in the files' order (numbering needs it;
    the copy is still read in parallel), so that validation after it runs on every core."""
    con.execute("set preserve_insertion_order = true")
    try:
        con.execute(f"create or replace temp table _stage_text as {select_sql}", params)
    finally:
        # in a transaction the failed statement aborted, this fails too: it must not hide the
        # statement's own error (the loader sets it again after the rollback)
        with contextlib.suppress(duckdb.Error):
            con.execute("set preserve_insertion_order = false")


def _files_to_read_carefully(con, paths: list[Path]) -> set[int]:
    """Files whose record boundaries DuckDB's reader cannot be trusted with: a rejected record that
    runs over a line end (or was cut, being that long), or a quote out of place. After a quote
    error the reader may have joined or split lines on its own (a stray quote closed inside a later
    record's quoted field), and it reports such records with an empty text or under one line
    number: only the careful splitter counts them right."""
    rows = con.execute(
        "select distinct s.file_path from _rej_errors e join _rej_scans s using (scan_id, file_id) "
        "where contains(e.csv_line, chr(10)) or contains(e.csv_line, chr(13)) "
        f"or length(e.csv_line) >= {REJECT_TEXT_CHARS} or coalesce(e.csv_line, '') = '' "
        "or e.error_type in ('UNQUOTED VALUE', 'UNTERMINATED QUOTE')"
    ).fetchall()
    index = {str(p): f for f, p in enumerate(paths)}
    return {index[file_path] for (file_path,) in rows}


def _collect_rejects(con, paths: list[Path], header: bool = True) -> dict[int, dict[int, str]]:
    """Records DuckDB's reader rejected: file -> record number -> error and raw text (the reader
    counts the header as line 1)."""
    rows = con.execute(
        "select s.file_path, e.line, any_value(e.error_type || ': ' || coalesce(e.error_message, '')), "
        "any_value(e.csv_line) from _rej_errors e join _rej_scans s using (scan_id, file_id) "
        "group by s.file_path, e.line order by s.file_path, e.line"
    ).fetchall()
    index = {str(p): f for f, p in enumerate(paths)}
    rejects: dict[int, dict[int, str]] = {}
    for file_path, line, err, raw in rows:
        rejects.setdefault(index[file_path], {})[line - header] = f"{err}\n{raw}"
    return rejects


def jsonl_stage(path: Path, array: bool = False) -> tuple[str, list]:
    """A query reading a JSON lines file's lines (or a JSON array's elements) as text, with _f = 0;
    lines longer than the reader takes go to _rej_errors."""
    if array:
        sql = """
            select 0 AS _f, json::VARCHAR AS line
            from read_json_objects(?, format = 'array', maximum_object_size = 268435456)
        """
    else:
        sql = f"""
            select 0 AS _f, line
            from read_csv(?, columns = {{'line': 'VARCHAR'}}, header = false,
                          delim = {sql_literal(JSONL_DELIMITER)}, quote = '', escape = '',
                          auto_detect = false, max_line_size = 16777216, store_rejects = true,
                          rejects_table = '_rej_errors', rejects_scan = '_rej_scans')
        """
    return sql, [str(path)]


def stage_jsonl(con, path: Path, array: bool, stage_columns: str) -> dict[int, dict[int, str]]:
    """Temp view _stage over a JSON lines file (or a JSON array): one row per non-blank line (element),
    numbered, with _ok (the line is a JSON object), jline and the stage columns read from it. Lines the
    reader rejects (longer than it takes) are returned by number, to be quarantined."""
    for table in ("_rej_errors", "_rej_scans"):
        con.execute(f"drop table if exists {table}")
    stage_sql, params = jsonl_stage(path, array)
    copy_in_file_order(con, stage_sql, params)
    rejects = {} if array else _collect_rejects(con, [path], header=False)
    number_records(con, "_stage_text", "_stage_lines", [path], rejects)
    con.execute(f"""
        create or replace temp view _stage as
        select *{stage_columns} from (
            select *, case when _ok then line else '{{}}' end AS jline
            from (
                select *, case when json_valid(line) then json_type(line) = 'OBJECT' else false end AS _ok
                from _stage_lines
            ) where line is not null and trim(line) <> ''
        )
    """)
    return rejects
