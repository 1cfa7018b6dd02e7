"""Loading export files into DuckDB: the one place every source writes through.

Per file, in one transaction: read (DuckDB's CSV reader, all text), parse and
validate in SQL, good rows to raw.<entity>, bad rows to quarantine.<entity> with
every reason, one row in meta.load_manifest. Either all of it is committed or
none of it is: a failed or killed load leaves no trace.

Rows read = rows loaded + rows quarantined, per file, always.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest.contracts import CONTRACTS, LINEAGE_COLUMNS, Column, Contract, get_contract
from ingest.detect import Detection, detect, normalise_header
from ingest.dialects import Dialect, Field
from ingest.errors import FileRefused, IngestError, UnknownFormat, WarehouseBusy
from ingest.parsing import (
    MOJIBAKE_HINT,
    repair_mojibake,
    sql_boolean,
    sql_clean_text,
    sql_date,
    sql_date_of_timestamp,
    sql_decimal,
    sql_derive_key,
    sql_email,
    sql_enum,
    sql_ident,
    sql_inn,
    sql_integer,
    sql_kpp,
    sql_literal,
    sql_phone,
    sql_salesforce_id18,
    sql_timestamp,
    sql_value_map,
)
from ingest.readers import (
    FileInfo,
    inspect_file,
    jsonl_keys,
    read_header,
    sniff_delimiter,
    utf8_copy,
    xlsx_to_csv,
)

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".csv", ".txt", ".tsv", ".jsonl", ".ndjson", ".json", ".xlsx"}
ISO_DATE_FORMATS = ("%Y-%m-%d",)
ISO_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
JSONL_DELIMITER = "\x1e"  # never appears unescaped inside a JSON line

MANIFEST_DDL = """
create table if not exists meta.load_manifest (
    batch_id varchar not null,
    file_path varchar not null,
    file_name varchar not null,
    content_hash varchar not null,
    size_bytes bigint,
    entity varchar not null,
    source varchar not null,
    dialect varchar not null,
    format varchar not null,
    encoding varchar not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    rows_flagged bigint not null,
    snapshot_date date,
    period_start date,
    period_end date,
    status varchar not null,
    loaded_at timestamp not null,
    seconds double
);
create table if not exists meta.refused_files (
    batch_id varchar not null,
    file_path varchar not null,
    content_hash varchar,
    error_class varchar not null,
    reason varchar not null,
    refused_at timestamp not null
);
"""


# --------------------------------------------------------------------------- results
@dataclass
class FileResult:
    path: Path
    status: str  # loaded | skipped | refused
    entity: str | None = None
    dialect: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_flagged: int = 0
    message: str = ""
    seconds: float = 0.0


@dataclass
class BatchResult:
    batch_id: str
    files: list[FileResult] = field(default_factory=list)

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def ok(self) -> bool:
        return not self.refused

    def totals(self) -> dict[str, int]:
        return {
            "files_loaded": sum(f.status == "loaded" for f in self.files),
            "files_skipped": sum(f.status == "skipped" for f in self.files),
            "files_refused": len(self.refused),
            "rows_loaded": sum(f.rows_loaded for f in self.files),
            "rows_quarantined": sum(f.rows_quarantined for f in self.files),
        }


# --------------------------------------------------------------------------- DDL
def raw_table_ddl(contract: Contract) -> str:
    cols = [f"{sql_ident(c.name)} {c.duckdb_type}" for c in contract.columns]
    cols += [f"{name} {type_}" for name, type_, _ in LINEAGE_COLUMNS]
    return f"create table if not exists raw.{sql_ident(contract.entity)} ({', '.join(cols)})"


QUARANTINE_LINEAGE = (
    ("_source_file", "VARCHAR"),
    ("_content_hash", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_batch_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
    ("_dialect", "VARCHAR"),
    ("_reasons", "VARCHAR[]"),
    ("_raw_line", "VARCHAR"),
    ("_extras", "JSON"),
)


def quarantine_table_ddl(contract: Contract) -> str:
    cols = [f"{sql_ident(c.name)} VARCHAR" for c in contract.columns]
    cols += [f"{name} {type_}" for name, type_ in QUARANTINE_LINEAGE]
    return f"create table if not exists quarantine.{sql_ident(contract.entity)} ({', '.join(cols)})"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for schema in ("raw", "quarantine", "meta"):
        con.execute(f"create schema if not exists {schema}")
    con.execute(MANIFEST_DDL)
    for contract in CONTRACTS.values():
        con.execute(raw_table_ddl(contract))
        con.execute(quarantine_table_ddl(contract))


def connect(db_path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(
                "another process is writing the warehouse",
                file=db_path,
                hint="wait for the running build to finish, or read the published copy",
            ) from exc
        raise
    con.execute("set enable_progress_bar = false")
    # Rows carry their record number (_row_number), so nothing after staging needs the
    # file's order: unordered inserts run on every core and write their row groups
    # straight away instead of at commit. Staging sets the order it needs itself.
    con.execute("set preserve_insertion_order = false")
    return con


# --------------------------------------------------------------------------- SQL building
def _typed_expr(
    col: Column, text: str, dialect: Dialect, lenient_iso: bool, field: Field | None = None
) -> str:
    date_formats = dialect.date_formats + (ISO_DATE_FORMATS if lenient_iso else ())
    ts_formats = dialect.timestamp_formats + (ISO_TIMESTAMP_FORMATS if lenient_iso else ())
    if field is not None and field.date_of_timestamp:
        return sql_date_of_timestamp(text, ts_formats)
    if field is not None and field.scale != 1 and col.type in ("integer", "decimal"):
        return f"({_typed_expr(col, text, dialect, lenient_iso)}) * {int(field.scale)}"
    match col.type:
        case "string":
            return text
        case "integer":
            return sql_integer(text)
        case "decimal":
            return sql_decimal(text, dialect.decimal_comma)
        case "date":
            return sql_date(text, date_formats)
        case "timestamp":
            return sql_timestamp(text, ts_formats)
        case "boolean":
            return sql_boolean(text, dialect.true_values, dialect.false_values)
        case "inn":
            return sql_inn(text)
        case "kpp":
            return sql_kpp(text)
        case "email":
            return sql_email(text)
        case "phone":
            return sql_phone(text)
        case "enum":
            return sql_enum(text, col.allowed)
    raise ValueError(f"no parser for type {col.type}")


def _value_rules(text: str, field: Field | None) -> str:
    """An export's codes and id forms -> ours, on trimmed text (before the type's parser)."""
    if field is None:
        return text
    if field.values:
        text = sql_value_map(text, field.values)
    if field.id_form == "salesforce":
        text = sql_salesforce_id18(text)
    return text


def _has_rules(field: Field | None) -> bool:
    return field is not None and bool(field.values or field.id_form)


_BAD_CODE = {
    "integer": "bad_number",
    "decimal": "bad_number",
    "date": "bad_date",
    "timestamp": "bad_date",
    "boolean": "bad_boolean",
    "inn": "bad_inn",
    "kpp": "bad_kpp",
    "email": "bad_email",
    "phone": "bad_phone",
    "enum": "bad_enum",
}


def _labels(checks: list[tuple[str, str]], empty: str) -> str:
    """The labels of the checks that hold, as a list; `empty` when none does.

    Most rows pass every check: one OR decides that cheaply, and the list (which
    costs an allocation per row) is built only for the rows that need it.
    """
    if not checks:
        return empty
    any_holds = " or ".join(f"coalesce({cond}, false)" for cond, _ in checks)
    items = ", ".join(f"case when {cond} then {label} end" for cond, label in checks)
    return f"case when {any_holds} then list_filter([{items}], lambda x: x is not null) else {empty} end"


def _is_identifier(col: Column) -> bool:
    """Ids, URLs and tags are codes, not prose: they are not checked for mojibake
    (the check costs a regular expression per value)."""
    return (
        col.name.endswith(("_id", "_ref", "_url"))
        or col.name.startswith("utm_")
        or col.name in {"referrer", "website"}
    )


def _original_text(parts: list[Part]) -> str | None:
    """The text quarantine keeps for a column: its first non-empty part as written."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0][0]
    return "coalesce(" + ", ".join(f"nullif({e}, '')" for e, _ in parts) + ")"


def _reason(code: str, col: str) -> str:
    return sql_literal(f"{code}:{col}")


Part = tuple[str, "Field | None"]


def build_validation_sql(
    contract: Contract,
    dialect: Dialect,
    source_exprs: dict[str, str | list[Part]],
    extras_expr: str,
    malformed_expr: str,
    lenient_iso: bool,
    stage_sql: str,
    raw_line_expr: str = "NULL::VARCHAR",
    check_replacement: bool = True,
) -> str:
    """SELECT over `stage_sql` giving _f (the file), _rn, typed v_<col>, _reasons, _issues, _extras,
    and for rejected rows only the original text o_<col> and _raw_line.

    source_exprs maps each contract column present in the file to an SQL expression over the
    stage (generated column names and our own constants, never export text), or to several
    (expression, field) parts in precedence order, whose field rules (codes, id forms, scale)
    apply to that part. The file is read once: nothing is copied before validation.
    """
    t_cols, v_cols, reasons, issues, invalid, o_cols, fix_cols = [], [], [], [], [], [], []
    for col in contract.columns:
        t, v, m = sql_ident(f"t_{col.name}"), sql_ident(f"v_{col.name}"), sql_ident(f"m_{col.name}")
        given = source_exprs.get(col.name)
        parts: list[Part] = [(given, None)] if isinstance(given, str) else list(given or [])
        src = _original_text(parts)
        o_cols.append(f"{src or 'NULL::VARCHAR'} AS {sql_ident('o_' + col.name)}")
        per_part = len(parts) > 1 and col.type != "string"
        if per_part:
            # typed columns fed by several fields: each part is parsed with its own rules, the first
            # that gives a value wins, and a part that does not parse makes the column bad
            names = [sql_ident(f"t_{col.name}__{k}") for k in range(len(parts))]
            for name, (expr, fld) in zip(names, parts, strict=True):
                t_cols.append(f"{_value_rules(sql_clean_text(expr), fld)} AS {name}")
            t_cols.append(f"coalesce({', '.join(names)}) AS {t}")
            typed = [
                _typed_expr(col, n, dialect, lenient_iso, fld)
                for n, (_, fld) in zip(names, parts, strict=True)
            ]
            v_cols.append(f"coalesce({', '.join(typed)}) AS {v}")
            bad = " or ".join(f"({n} is not null and {x} is null)" for n, x in zip(names, typed, strict=True))
        else:
            if len(parts) > 1:
                text = f"coalesce({', '.join(_value_rules(sql_clean_text(e), f) for e, f in parts)})"
            elif parts:
                text = _value_rules(sql_clean_text(parts[0][0]), parts[0][1])
            field = parts[0][1] if len(parts) == 1 else None
            checks_mojibake = bool(parts) and col.type == "string" and not _is_identifier(col)
            if not parts:
                t_cols.append(f"NULL::VARCHAR AS {t}")
            elif checks_mojibake:
                # the repair (a Python function) runs once, and only on text the hint picks out
                f = sql_ident(f"f_{col.name}")
                hint = f"regexp_matches({text}, {sql_literal(MOJIBAKE_HINT)})"
                fix_cols.append(f"case when {hint} then crmw_repair_mojibake({text}) end AS {f}")
                t_cols.append(f"coalesce({f}, {text}) AS {t}, {f} is not null AS {m}")
                issues.append((m, _reason("repaired_mojibake", col.name)))
            else:
                t_cols.append(f"{text} AS {t}")
            v_cols.append(f"{_typed_expr(col, t, dialect, lenient_iso, field)} AS {v}")
            bad = f"{t} is not null and {v} is null"
        if not parts:
            if col.required:
                reasons.append(("true", _reason("missing_required", col.name)))
            continue
        if col.required:
            reasons.append((f"{t} is null", _reason("missing_required", col.name)))
        if col.type != "string":
            (reasons if col.invalid == "reject" else issues).append(
                (bad, _reason(_BAD_CODE[col.type], col.name))
            )
            if col.invalid == "flag":
                invalid.append((bad, f"{sql_literal(col.name)}, case when {bad} then {t} end"))
        else:
            # Typed columns reject undecodable or absurd text by failing to parse.
            # strlen (bytes, kept with the string) >= length (characters, counted): cheap test first
            too_long = f"strlen({t}) > {col.max_length} and length({t}) > {col.max_length}"
            reasons.append((too_long, _reason("too_long", col.name)))
            if check_replacement:  # False when the file's text holds no U+FFFD at all
                reasons.append((f"contains({t}, chr(65533))", _reason("bad_encoding", col.name)))
        if col.min_value is not None:
            reasons.append((f"{v} < {col.min_value}", _reason("out_of_range", col.name)))
    reasons_expr = _labels(reasons, "[]::VARCHAR[]")
    issues_expr = _labels(issues, "NULL::VARCHAR[]")
    if invalid:
        any_bad = " or ".join(f"({cond})" for cond, _ in invalid)
        invalid_expr = f"case when {any_bad} then json_object({', '.join(pair for _, pair in invalid)}) end"
    else:
        invalid_expr = "NULL::JSON"
    v_names = ", ".join(sql_ident(f"v_{c.name}") for c in contract.columns)
    o_names = ", ".join(sql_ident(f"o_{c.name}") for c in contract.columns)
    o_kept = ", ".join(
        f"case when _malformed is not null or len(_reasons0) > 0 then {sql_ident('o_' + c.name)} end "
        f"AS {sql_ident('o_' + c.name)}"
        for c in contract.columns
    )
    return f"""
        with t as (
            select _f, _rn, {", ".join(t_cols)}, {extras_expr} AS _extras, {malformed_expr} AS _malformed,
                {", ".join(o_cols)}, {raw_line_expr} AS _raw_line
            from {f"(select *, {', '.join(fix_cols)} from {stage_sql})" if fix_cols else stage_sql}
        ), v as (
            select *, {", ".join(v_cols)} from t
        ), r as (
            select _f, _rn, {v_names}, {o_names}, _raw_line, _extras, _malformed,
                {reasons_expr} AS _reasons0,
                {issues_expr} AS _issues,
                {invalid_expr} AS _invalid_values
            from v
        )
        select _f, _rn, {v_names}, _extras, _issues, _invalid_values,
            case when _malformed is not null then [_malformed] else _reasons0 end AS _reasons,
            {o_kept},
            case when _malformed is not null or len(_reasons0) > 0 then _raw_line end AS _raw_line
        from r
    """


# --------------------------------------------------------------------------- staging
def _register_udfs(con: duckdb.DuckDBPyConnection) -> None:
    def repair(values: pa.Array) -> pa.Array:
        return pa.array([repair_mojibake(v) for v in values.to_pylist()], type=pa.string())

    with contextlib.suppress(duckdb.CatalogException):  # already registered on this connection
        con.create_function(
            "crmw_repair_mojibake", repair, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special"
        )


def _csv_stage(paths: list[Path], n_cols: int, delimiter: str) -> tuple[str, list]:
    """A query reading the files' records as text (c0..cN), each with _f, its file's place
    in `paths`; records the reader rejects go to _rej_errors.

    No record number here: numbering in the query needs DuckDB's streaming window, which
    runs on one thread. The records are copied in file order instead (see _stage_csv) and
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


def _stage_csv(con, stage_sql: str, stage_params: list, paths: list[Path]) -> dict[int, dict[int, str]]:
    """Copy the records into temp table _stage_text in file order (a parallel read whose
    row groups are put back in order), and number them in view _stage: _rn is the record
    number in its file. Returns the records DuckDB's reader rejected, per file.
    """
    _copy_in_file_order(con, stage_sql, stage_params)
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


def _copy_in_file_order(con, select_sql: str, params: list) -> None:
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


def _jsonl_stage(path: Path) -> tuple[str, list]:
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


# --------------------------------------------------------------------------- one file
_SNAPSHOT_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def snapshot_date_for(path: Path, default: date) -> date:
    match = _SNAPSHOT_DATE.search(path.stem)
    if match:
        try:
            return date.fromisoformat(match.group(1))
        except ValueError:
            pass
    return default


def _identity(info: FileInfo) -> tuple[str, list]:
    """Which manifest rows are this file: its content, whatever its name; but header-only
    files (the same few bytes for every empty month) are also told apart by name."""
    if info.header_only:
        return "content_hash = ? and file_name = ?", [info.content_hash, info.path.name]
    return "content_hash = ?", [info.content_hash]


def _manifest_lookup(con, info: FileInfo) -> tuple | None:
    where, params = _identity(info)
    return con.execute(
        f"select file_path, loaded_at from meta.load_manifest where {where} and status = 'loaded'", params
    ).fetchone()


def _retire(con, contract: Contract, where: str, params: list, status: str) -> None:
    """Remove the rows of earlier loads (superseded version or forced reload)."""
    loads = con.execute(
        f"select content_hash, file_path from meta.load_manifest where status = 'loaded' and {where}", params
    ).fetchall()
    for old_hash, old_path in loads:
        for schema in ("raw", "quarantine"):
            con.execute(
                f"delete from {schema}.{sql_ident(contract.entity)} where _content_hash = ? and _source_file = ?",
                [old_hash, old_path],
            )
        con.execute(
            "update meta.load_manifest set status = ? "
            "where content_hash = ? and file_path = ? and status = 'loaded'",
            [status, old_hash, old_path],
        )


@dataclass
class _Pending:
    """A file inspected and detected, waiting to be loaded."""

    path: Path
    info: FileInfo
    text_path: Path
    detection: Detection
    delimiter: str
    contract: Contract
    snap: date | None

    def joins(self, group: list[_Pending]) -> bool:
        """Whether this file can load in one statement with `group`: plain CSV text read the
        same way (same entity, dialect, header and delimiter). Versions of one file (same name or
        same identity) never meet in a group: ingest_paths loads the group before the next version."""
        if not group:
            return True
        first = group[0]
        return (
            self.info.format == "csv"
            and first.info.format == "csv"
            and self.delimiter == first.delimiter
            and self.detection == first.detection
        )

    def cleanup(self) -> None:
        if self.text_path != self.path:
            self.text_path.unlink(missing_ok=True)


def _pending(
    con,
    path: Path,
    *,
    workdir: Path,
    force: bool,
    dialect: str | None,
    entity: str | None,
    snapshot_date: date | None,
    loaded_at: datetime,
) -> _Pending | FileResult:
    """Inspect and detect one file; a FileResult when it was loaded before (skipped)."""
    path = path.resolve()
    info = inspect_file(path)
    previous = _manifest_lookup(con, info)
    if previous and not force:
        return FileResult(
            path=path,
            status="skipped",
            message=f"already loaded from {previous[0]} at {previous[1]:%Y-%m-%d %H:%M}; use --force to reload",
        )
    text_path, detection, delimiter = _prepare(info, workdir, dialect, entity)
    contract = get_contract(detection.entity)
    snap = (
        (snapshot_date or snapshot_date_for(path, loaded_at.date())) if contract.kind == "snapshot" else None
    )
    return _Pending(path, info, text_path, detection, delimiter, contract, snap)


def _load_group(
    con,
    items: list[_Pending],
    *,
    batch_id: str,
    force: bool,
    loaded_at: datetime,
    started: float,
) -> list[FileResult]:
    """Load files of one kind (see _Pending.joins) in one transaction, read and validated
    together: every file's rows, quarantine and manifest row are committed, or nothing is.

    Each file keeps its own record numbers, duplicate checks, reconciliation and manifest
    row, exactly as if the files were loaded one after another in this order.
    """
    contract = items[0].contract
    con.execute("begin transaction")
    try:
        for item in items:
            if force:
                _retire(con, contract, *_identity(item.info), "reloaded")
            _retire(
                con,
                contract,
                "entity = ? and file_name = ? and content_hash <> ?",
                [contract.entity, item.path.name, item.info.content_hash],
                "superseded",
            )
        counts = _load_rows(con, items, batch_id, loaded_at)
        total_read = sum(c["read"] for c in counts) or 1
        seconds = time.perf_counter() - started
        results = []
        for item, c in zip(items, counts, strict=True):
            if c["read"] != c["loaded"] + c["quarantined"]:
                raise IngestError(
                    f"reconciliation failed: read {c['read']}, loaded {c['loaded']}, "
                    f"quarantined {c['quarantined']}",
                    file=item.path,
                    hint="this is a bug in crm-warehouse; nothing was loaded",
                )
            share = seconds * (c["read"] / total_read if len(items) > 1 else 1.0)
            con.execute(
                "insert into meta.load_manifest values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    batch_id,
                    str(item.path),
                    item.path.name,
                    item.info.content_hash,
                    item.info.size,
                    contract.entity,
                    contract.source,
                    item.detection.dialect.name,
                    item.info.format,
                    item.info.encoding,
                    c["read"],
                    c["loaded"],
                    c["quarantined"],
                    c["flagged"],
                    item.snap,
                    c["period_start"],
                    c["period_end"],
                    "loaded",
                    loaded_at,
                    share,
                ],
            )
            results.append(
                FileResult(
                    path=item.path,
                    status="loaded",
                    entity=contract.entity,
                    dialect=item.detection.dialect.name,
                    rows_read=c["read"],
                    rows_loaded=c["loaded"],
                    rows_quarantined=c["quarantined"],
                    rows_flagged=c["flagged"],
                    seconds=share,
                )
            )
        # Temp tables made in a transaction are merged into the temp catalog when it commits:
        # dropping them first saves copying the staged text at commit.
        _drop_scratch(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        _drop_scratch(con)
    return results


def _drop_scratch(con) -> None:
    con.execute("drop view if exists _stage")
    for table in ("_stage_text", "_stage_shifted", "_rej_records", "_valid", "_files", "_periods"):
        con.execute(f"drop table if exists {table}")


class _Sources:
    """SQL for where each contract column comes from in one file, built from the detected fields.

    Expressions name only the stage's generated columns ("c0".. for CSV, jline for JSON lines),
    JSON paths built from the dialect's constants (the file's own spelling of a key the dialect
    names) and literals of the dialect's codes: never other text from the export.
    """

    def __init__(self, detection: Detection, is_json: bool) -> None:
        self.detection = detection
        self.is_json = is_json
        self.nested = detection.dialect.nested
        # key/value arrays (GA4 event_params) are unpacked once per row into the stage
        self.kv_arrays: dict[str, str] = {}
        for f in self._all_fields():
            if f.param is not None and isinstance(f.source, str):
                self.kv_arrays.setdefault(f.source, f"_kv{len(self.kv_arrays)}")

    def _all_fields(self):
        for f in self.detection.fields:
            yield f
            yield from f.key_of

    def _json_path(self, source: str) -> str | None:
        root, _, rest = source.partition(".") if self.nested else (source, "", "")
        pos = self.detection.positions.get(normalise_header(root))
        if pos is None:
            return None
        path = _json_path(self.detection.headers[pos])
        for segment in rest.split(".") if rest else ():
            path += "." + _json_path(segment)[2:]
        return path

    def base(self, source: str, alias: str) -> str | None:
        """The text at a header or JSON path; None when the file lacks it."""
        if self.is_json:
            path = self._json_path(source)
            return None if path is None else f"json_extract_string({alias}jline, {sql_literal(path)})"
        pos = self.detection.positions.get(normalise_header(source))
        return None if pos is None else f"{alias}{sql_ident(f'c{pos}')}"

    def stage_columns(self) -> str:
        cols = []
        for source, name in self.kv_arrays.items():
            path = self._json_path(source)
            if path is None:
                cols.append(f"NULL::VARCHAR[][] AS {sql_ident(name)}")
                continue
            value = ", ".join(
                f"json_extract_string(p, '$.value.{kind}')"
                for kind in ("string_value", "int_value", "double_value", "float_value")
            )
            cols.append(
                f"list_transform(json_extract(jline, {sql_literal(path + '[*]')}), "
                f"lambda p: [json_extract_string(p, '$.key'), coalesce({value})]) AS {sql_ident(name)}"
            )
        return "".join(f", {c}" for c in cols)

    def raw(self, f: Field, alias: str) -> str:
        """The field's text as written, after its conditions (prefixes, `when`)."""
        if f.key_of:
            expr = sql_derive_key([self.raw(part, alias) for part in f.key_of])
        elif f.param is not None:
            kv = alias + sql_ident(self.kv_arrays[f.source])
            expr = f"list_filter({kv}, lambda kv: kv[1] = {sql_literal(f.param)})[1][2]"
        elif isinstance(f.source, tuple):
            present = [b for b in (self.base(src, alias) for src in f.source) if b is not None]
            expr = f"nullif(concat_ws(' ', {', '.join(sql_clean_text(b) for b in present)}), '')"
        else:
            expr = self.base(f.source, alias) or "NULL::VARCHAR"
        if f.prefixes:
            starts = " or ".join(f"starts_with(trim({expr}), {sql_literal(p)})" for p in f.prefixes)
            expr = f"case when {starts} then {expr} end"
        if f.when:
            other = self.base(f.when[0], alias)
            if other is None:
                return "NULL::VARCHAR"
            values = ", ".join(sql_literal(v.lower()) for v in f.when[1])
            expr = f"case when lower(trim({other})) in ({values}) then {expr} end"
        return expr

    def parts(self, alias: str) -> dict[str, list[Part]]:
        out: dict[str, list[Part]] = {}
        for f in self.detection.fields:
            field = None if f.is_plain else f
            out.setdefault(f.column, []).append((self.raw(f, alias), field))
        return out


def _prepare(info: FileInfo, workdir: Path, dialect: str | None, entity: str | None):
    if info.format == "xlsx":
        text_path = xlsx_to_csv(info.path, workdir)
        delimiter = ","
        headers = read_header(text_path, delimiter)
    elif info.format == "jsonl":
        text_path = utf8_copy(info, workdir)
        headers = jsonl_keys(text_path)
        delimiter = ""
        if not headers:
            raise UnknownFormat(
                "the file starts like JSON lines but no line is a JSON object",
                file=info.path,
                hint="each line must be one JSON object",
            )
    else:
        text_path = utf8_copy(info, workdir)
        delimiter = sniff_delimiter(text_path)
        headers = read_header(text_path, delimiter)
    try:
        detection = detect(headers, info.path, dialect=dialect, entity=entity, file_format=info.format)
    except BaseException:
        if text_path != info.path:
            text_path.unlink(missing_ok=True)
        raise
    return text_path, detection, delimiter


def _load_rows(con, items: list[_Pending], batch_id: str, loaded_at: datetime) -> list[dict]:
    """Stage, validate, flag and insert the rows of `items` (one file unless they are CSV
    read the same way); per file: rows read, loaded, quarantined, flagged and its period."""
    first = items[0]
    detection, contract = first.detection, first.contract
    params: list = []
    is_json = first.info.format == "jsonl"
    sources = _Sources(detection, is_json)
    if is_json:
        if len(items) != 1:
            raise ValueError("JSON lines files load one at a time")
        stage_sql, stage_params = _jsonl_stage(first.text_path)
        if detection.extras:
            pairs = []
            for key in detection.extras.values():
                pairs.append("?, json_extract_string(jline, ?)")
                params += [key, _json_path(key)]
            extras_expr = f"case when _ok then json_object({', '.join(pairs)}) end"
        else:
            extras_expr = "NULL::JSON"
        malformed = "case when not _ok then 'malformed_row' end"
        raw_line = "case when not _ok then line end"
        _copy_in_file_order(con, f"select *{sources.stage_columns()} from {stage_sql}", stage_params)
        con.execute("create or replace temp view _stage as select * from _stage_text")
        rejects: dict[int, dict[int, str]] = {}
    else:
        for table in ("_rej_errors", "_rej_scans"):
            con.execute(f"drop table if exists {table}")
        paths = [item.text_path for item in items]
        stage_sql, stage_params = _csv_stage(paths, len(detection.headers), first.delimiter)
        if detection.extras:
            pairs = []
            for i, header in detection.extras.items():
                pairs.append(f"?, {sql_ident(f'c{i}')}")
                params.append(header)
            extras_expr = f"json_object({', '.join(pairs)})"
        else:
            extras_expr = "NULL::JSON"
        malformed = "NULL::VARCHAR"
        raw_line = "NULL::VARCHAR"
        rejects = _stage_csv(con, stage_sql, stage_params, paths)

    lenient_iso = first.info.format == "xlsx"
    select = build_validation_sql(
        contract,
        detection.dialect,
        sources.parts(""),
        extras_expr,
        malformed,
        lenient_iso,
        "_stage",
        raw_line,
        check_replacement=any(item.info.may_hold_replacement for item in items),
    )
    con.execute(f"create or replace temp table _valid as {select}", params)

    originals = {c: _original_text(parts) for c, parts in sources.parts("s.").items()}
    _flag_duplicates(con, contract, originals)

    con.execute(
        "create or replace temp table _files "
        "(_f integer, _source_file varchar, _content_hash varchar, _snapshot_date date)"
    )
    con.executemany(
        "insert into _files values (?, ?, ?, ?)",
        [[f, str(item.info.path), item.info.content_hash, item.snap] for f, item in enumerate(items)],
    )
    entity = sql_ident(contract.entity)
    cols = [c.name for c in contract.columns]
    v_list = ", ".join(sql_ident(f"v_{c}") for c in cols)
    o_list = ", ".join(sql_ident(f"o_{c}") for c in cols)
    col_list = ", ".join(sql_ident(c) for c in cols)
    lineage_cols = ", ".join(name for name, _, _ in LINEAGE_COLUMNS)
    dialect_name = detection.dialect.name
    con.execute(
        f"insert into raw.{entity} ({col_list}, {lineage_cols}) "
        f"select {v_list}, f._source_file, f._content_hash, _rn, ?, ?, f._snapshot_date, ?, "
        f"_issues, _invalid_values, _extras "
        f"from _valid join _files f using (_f) where len(_reasons) = 0",
        [batch_id, loaded_at, dialect_name],
    )
    q_cols = ", ".join(name for name, _ in QUARANTINE_LINEAGE)
    con.execute(
        f"insert into quarantine.{entity} ({col_list}, {q_cols}) "
        f"select {o_list}, f._source_file, f._content_hash, _rn, ?, ?, ?, _reasons, _raw_line, _extras "
        f"from _valid join _files f using (_f) where len(_reasons) > 0",
        [batch_id, loaded_at, dialect_name],
    )
    if rejects:
        con.executemany(
            f"insert into quarantine.{entity} (_source_file, _content_hash, _row_number, _batch_id, "
            f"_loaded_at, _dialect, _reasons, _raw_line) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    str(items[f].info.path),
                    items[f].info.content_hash,
                    record,
                    batch_id,
                    loaded_at,
                    dialect_name,
                    [_reject_reason(text)],
                    text,
                ]
                for f, records in rejects.items()
                for record, text in records.items()
            ],
        )
    et = sql_ident(f"v_{contract.event_time}") if contract.event_time else "NULL"
    per_file = {
        f: rest
        for f, *rest in con.execute(
            f"select _f, count(*), count(*) filter (where len(_reasons) = 0), "
            f"count(*) filter (where len(_reasons) = 0 and len(_issues) > 0), "
            f"min({et}) filter (where len(_reasons) = 0), max({et}) filter (where len(_reasons) = 0) "
            f"from _valid group by _f"
        ).fetchall()
    }
    counts = []
    for f in range(len(items)):
        read, loaded, flagged, start, end = per_file.get(f, (0, 0, 0, None, None))
        read += len(rejects.get(f, {}))
        counts.append(
            {
                "read": read,
                "loaded": loaded,
                "quarantined": read - loaded,
                "flagged": flagged,
                "period_start": start.date() if isinstance(start, datetime) else start,
                "period_end": end.date() if isinstance(end, datetime) else end,
            }
        )
    return counts


def _reject_reason(text: str) -> str:
    first = text.split(":", 1)[0].strip().upper()
    if "ENCODING" in first or "UNICODE" in first:
        return "bad_encoding"
    return "malformed_row:" + first.lower().replace(" ", "_")


def _flag_duplicates(con, contract: Contract, originals: dict[str, str]) -> None:
    """Quarantine repeated keys, exactly as loading the files one after another would:

    - in one file, every row after the first with the same key is a `duplicate_key`;
    - for event entities, a row still good whose key was loaded from another file whose
      event time lies within this file's period is `duplicate_key:already_loaded`: a file
      loaded earlier (in raw) or an earlier file of this read, file by file.

    Only keys seen more than once in the read need more than one pass: they are copied to
    a small table first, and every mark goes into _valid in one update at the end.
    """
    key_v = ", ".join(sql_ident(f"v_{k}") for k in contract.key)
    present = " and ".join(f"{sql_ident(f'v_{k}')} is not null" for k in contract.key)

    def match(a: str, b: str) -> str:
        return " and ".join(f"{a}.{sql_ident('v_' + k)} = {b}.{sql_ident('v_' + k)}" for k in contract.key)

    is_event = contract.kind == "event"
    v_et = sql_ident("v_" + contract.event_time) if is_event else "NULL"
    con.execute(
        f"""
        create or replace temp table _cand as
        select v._f, v._rn, {", ".join(f"v.{sql_ident('v_' + k)}" for k in contract.key)}, {v_et} AS _et,
            v._raw_line is null AS _plain, len(v._reasons) = 0 AS _good
        from _valid v semi join (
            select {key_v} from _valid where {present} group by all having count(*) > 1
        ) k on {match("v", "k")}
        """
    )
    con.execute("create or replace temp table _marks (_f integer, _rn bigint, reason varchar)")
    con.execute(
        f"""
        insert into _marks
        select c._f, c._rn, 'duplicate_key' from _cand c join (
            select _f, {key_v}, min(_rn) AS _first_rn from _cand where _plain group by all having count(*) > 1
        ) r on c._f = r._f and {match("c", "r")}
        where c._rn > r._first_rn
        """
    )
    if is_event:
        entity, et = sql_ident(contract.entity), sql_ident(contract.event_time)
        con.execute(
            f"create or replace temp table _periods as select _f, min({v_et}) AS lo, max({v_et}) AS hi "
            "from _valid group by _f"
        )
        cond = " and ".join(f"r.{sql_ident(k)} = v.{sql_ident('v_' + k)}" for k in contract.key)
        con.execute(
            f"""
            insert into _marks
            select v._f, v._rn, 'duplicate_key:already_loaded' from _valid v join _periods p using (_f)
            where len(v._reasons) = 0
              and not exists (select 1 from _marks m where m._f = v._f and m._rn = v._rn)
              and exists (
                select 1 from raw.{entity} r
                where {cond}
                  and r.{et} between (select min(lo) from _periods) and (select max(hi) from _periods)
                  and r.{et} between p.lo and p.hi
              )
            """
        )
        # keys in more than one file of the read: file by file, each after the ones before it
        con.execute(
            "update _cand set _good = false "
            "where exists (select 1 from _marks m where m._f = _cand._f and m._rn = _cand._rn)"
        )
        files = con.execute(
            f"select list(distinct _f order by _f) from _cand where ({key_v}) in "
            f"(select ({key_v}) from _cand group by all having count(distinct _f) > 1)"
        ).fetchone()[0]
        for f in (files or [])[1:]:
            rows = con.execute(
                f"""
                select c._rn from _cand c join _periods p using (_f)
                where c._f = ? and c._good and exists (
                    select 1 from _cand e where e._f < c._f and e._good and {match("e", "c")}
                      and e._et between p.lo and p.hi
                )
                """,
                [f],
            ).fetchall()
            if rows:
                numbers = [r[0] for r in rows]
                con.execute(
                    "update _cand set _good = false where _f = ? and list_contains(?, _rn)", [f, numbers]
                )
                con.executemany(
                    "insert into _marks values (?, ?, 'duplicate_key:already_loaded')",
                    [[f, n] for n in numbers],
                )
    con.execute("drop table _cand")
    if con.execute("select count(*) from _marks").fetchone()[0]:
        sets = ", ".join(f"{sql_ident('o_' + c)} = {expr}" for c, expr in originals.items())
        con.execute(
            f"""
            update _valid set _reasons = list_append(_valid._reasons, m.reason), {sets}
            from _marks m join _stage s using (_f, _rn)
            where _valid._f = m._f and _valid._rn = m._rn
            """
        )
    con.execute("drop table _marks")


def _json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- batches
def iter_export_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under the given paths, in a stable order; ground truth and hidden files are not exports."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if child.is_file() and not any(p.startswith(".") or p == "ground_truth" for p in rel):
                    yield child
        else:
            yield path


# Files of one kind load together in one statement up to this much text: enough for DuckDB to
# read and validate them on every core, little enough to keep the staged text in memory.
GROUP_BYTES = 256 * 1024 * 1024
GROUP_FILES = 64


def ingest_paths(
    paths: Iterable[Path],
    db_path: Path,
    *,
    force: bool = False,
    dialect: str | None = None,
    entity: str | None = None,
    snapshot_date: date | None = None,
    progress=None,
) -> BatchResult:
    """Load every export file under `paths`, in order.

    Consecutive files of one kind (see _Pending.joins) load together, in one transaction;
    when that fails, they load one by one, so a bad file is refused alone and the rest load.
    """
    batch = BatchResult(batch_id=uuid.uuid4().hex[:12])
    files = list(iter_export_files(paths))
    results: dict[int, FileResult] = {}
    group: list[tuple[int, _Pending]] = []
    con = connect(db_path)
    workdir = Path(tempfile.mkdtemp(prefix="crmw-ingest-", dir=db_path.parent))
    options = {"workdir": workdir, "force": force, "dialect": dialect, "entity": entity}

    def refuse(i: int, path: Path, exc: Exception) -> None:
        if isinstance(exc, FileRefused):
            message, error_class = exc.describe(), type(exc).__name__
        else:
            message = f"{path}: the file could not be parsed: {str(exc).splitlines()[0]}"
            error_class = type(exc).__name__
        results[i] = FileResult(path=path, status="refused", message=message)
        _record_refusal(con, batch.batch_id, path, None, error_class, message)

    def prepare(i: int, path: Path) -> _Pending | None:
        """The file inspected and detected; None when it was skipped or refused (its result kept)."""
        try:
            item = _pending(
                con,
                path,
                snapshot_date=snapshot_date,
                loaded_at=datetime.now(UTC).replace(tzinfo=None),
                **options,
            )
        except (FileRefused, duckdb.Error) as exc:
            refuse(i, path, exc)
            return None
        if isinstance(item, FileResult):
            results[i] = item
            return None
        return item

    def flush() -> None:
        if not group:
            return
        started = time.perf_counter()
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        items = [item for _, item in group]
        try:
            try:
                done = _load_group(
                    con, items, batch_id=batch.batch_id, force=force, loaded_at=loaded_at, started=started
                )
                results.update({i: r for (i, _), r in zip(group, done, strict=True)})
            except (duckdb.Error, IngestError):
                if len(group) == 1:
                    raise
                # one of them is bad: load them one by one, so that only that one is refused
                for i, item in group:
                    try:
                        results[i] = _load_group(
                            con,
                            [item],
                            batch_id=batch.batch_id,
                            force=force,
                            loaded_at=loaded_at,
                            started=time.perf_counter(),
                        )[0]
                    except (FileRefused, duckdb.Error) as exc:
                        refuse(i, item.path, exc)
        except (FileRefused, duckdb.Error) as exc:
            refuse(group[0][0], group[0][1].path, exc)
        finally:
            for _, item in group:
                item.cleanup()
            group.clear()

    try:
        ensure_schema(con)
        _register_udfs(con)
        for i, path in enumerate(files):
            if progress:
                progress(path)
            if not path.exists():
                message = FileRefused("no such file", file=path).describe()
                results[i] = FileResult(path=path, status="refused", message=message)
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                message = FileRefused(
                    f"unsupported file type {path.suffix!r}",
                    file=path,
                    hint=f"exports are {', '.join(sorted(SUPPORTED_SUFFIXES))}",
                ).describe()
                results[i] = FileResult(path=path, status="refused", message=message)
                _record_refusal(con, batch.batch_id, path, None, "UnsupportedType", message)
                continue
            if any(path.resolve().name == item.path.name for _, item in group):
                flush()  # a second version of a file in the group: load the group first
            item = prepare(i, path)
            if item is not None and any(_identity(item.info) == _identity(g.info) for _, g in group):
                # the same content twice: the second is skipped (or, forced, reloaded) after the first
                item.cleanup()
                flush()
                item = prepare(i, path)
            if item is None:
                continue
            size = sum(g.info.size for _, g in group)
            if (
                not item.joins([g for _, g in group])
                or size + item.info.size > GROUP_BYTES
                or len(group) >= GROUP_FILES
            ):
                flush()
            group.append((i, item))
        flush()
    finally:
        for _, item in group:
            item.cleanup()
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)
    batch.files = [results[i] for i in sorted(results)]
    for result in batch.files:
        log.debug("%s %s: %s", result.status, result.path.name, result.message or _counts(result))
    return batch


def _counts(result: FileResult) -> str:
    return (
        f"{result.entity} via {result.dialect}: {result.rows_loaded} loaded, "
        f"{result.rows_quarantined} quarantined, {result.rows_flagged} flagged"
    )


def _record_refusal(con, batch_id: str, path: Path, content_hash, error_class: str, reason: str) -> None:
    con.execute(
        "insert into meta.refused_files values (?, ?, ?, ?, ?, ?)",
        [batch_id, str(path), content_hash, error_class, reason, datetime.now(UTC).replace(tzinfo=None)],
    )
