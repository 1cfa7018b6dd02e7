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
) -> str:
    """SELECT over `stage_sql` giving _rn, typed v_<col>, _reasons, _issues, _extras,
    and for rejected rows only the original text o_<col> and _raw_line.

    source_exprs maps each contract column present in the file to an SQL expression over the
    stage (generated column names and our own constants, never export text), or to several
    (expression, field) parts in precedence order, whose field rules (codes, id forms, scale)
    apply to that part. The file is read once: nothing is copied before validation.
    """
    t_cols, v_cols, reasons, issues, invalid, o_cols = [], [], [], [], [], []
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
                clean = text
                fixed = f"crmw_repair_mojibake({clean})"
                hint = f"regexp_matches({clean}, {sql_literal(MOJIBAKE_HINT)})"
                t_cols.append(
                    f"case when {hint} then coalesce({fixed}, {clean}) else {clean} end AS {t}, "
                    f"case when {hint} then {fixed} is not null else false end AS {m}"
                )
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
            reasons.append((f"length({t}) > {col.max_length}", _reason("too_long", col.name)))
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
            select _rn, {", ".join(t_cols)}, {extras_expr} AS _extras, {malformed_expr} AS _malformed,
                {", ".join(o_cols)}, {raw_line_expr} AS _raw_line
            from {stage_sql}
        ), v as (
            select *, {", ".join(v_cols)} from t
        ), r as (
            select _rn, {v_names}, {o_names}, _raw_line, _extras, _malformed,
                {reasons_expr} AS _reasons0,
                {issues_expr} AS _issues,
                {invalid_expr} AS _invalid_values
            from v
        )
        select _rn, {v_names}, _extras, _issues, _invalid_values,
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


def _csv_stage(path: Path, n_cols: int, delimiter: str) -> tuple[str, list]:
    """A query reading the CSV's records as text (c0..cN); rejects go to _rej_errors.

    No record number here: numbering in the query needs DuckDB's streaming window, which
    runs on one thread. The records are copied in file order instead (see _stage_csv) and
    numbered by their row id.
    """
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_cols)) + "}"
    sql = f"""
        select *
        from read_csv(?, columns = {columns}, header = true, delim = ?, quote = '"', escape = '"',
                      auto_detect = false, strict_mode = true, store_rejects = true,
                      rejects_table = '_rej_errors', rejects_scan = '_rej_scans', max_line_size = 8388608)
    """
    return sql, [str(path), delimiter]


def _stage_csv(con, stage_sql: str, stage_params: list) -> dict[int, str]:
    """Copy the records into temp table _stage_text in file order (a parallel read whose
    row groups are put back in order), and number them in view _stage: _rn is the record
    number in the file. Returns the records DuckDB's reader rejected.
    """
    con.execute("set preserve_insertion_order = true")
    try:
        con.execute(f"create or replace temp table _stage_text as {stage_sql}", stage_params)
    finally:
        con.execute("set preserve_insertion_order = false")
    # Row ids count the rows in insertion order, from a base that depends on the
    # transaction; when they are not one run (never seen), sort by them instead.
    first, last, rows = con.execute("select min(rowid), max(rowid), count(*) from _stage_text").fetchone()
    if rows and last - first + 1 == rows:
        number = f"rowid - {int(first)} + 1"
    else:
        number = "row_number() over (order by rowid)"
    rejects = _collect_rejects(con)
    if not rejects:
        con.execute(f"create or replace temp view _stage as select {number} AS _rn, * from _stage_text")
        return rejects
    # Good records were numbered without the rejected ones between them: shift them.
    con.execute(
        "create or replace temp table _stage_shifted as "
        "select g + (select count(*) from _rej_records where record - j + 1 <= g) AS _rn, * exclude (g) "
        f"from (select {number} AS g, * from _stage_text)"
    )
    con.execute("create or replace temp view _stage as select * from _stage_shifted")
    return rejects


def _collect_rejects(con) -> dict[int, str]:
    """Records DuckDB's CSV reader rejected (record number -> error and raw text),
    listed in _rej_records (record, j = its rank among the rejects) when there are any."""
    rejects = con.execute(
        "select line, any_value(error_type || ': ' || coalesce(error_message, '')), "
        "any_value(csv_line) from _rej_errors group by line order by line"
    ).fetchall()
    if not rejects:
        return {}
    records = [line - 1 for line, _, _ in rejects]
    con.execute("create or replace temp table _rej_records (record bigint, j bigint)")
    con.executemany(
        "insert into _rej_records values (?, ?)", [[r, j] for j, r in enumerate(records, start=1)]
    )
    return {line - 1: f"{err}\n{raw}" for line, err, raw in rejects}


def _jsonl_stage(path: Path) -> tuple[str, list]:
    sql = f"""(
        select *, case when _ok then line else '{{}}' end AS jline
        from (
            select *, case when json_valid(line) then json_type(line) = 'OBJECT' else false end AS _ok
            from (
                select row_number() over () AS _rn, line
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


def _manifest_lookup(con, content_hash: str) -> tuple | None:
    return con.execute(
        "select file_path, loaded_at from meta.load_manifest where content_hash = ? and status = 'loaded'",
        [content_hash],
    ).fetchone()


def _retire(con, contract: Contract, where: str, params: list, status: str) -> None:
    """Remove the rows of earlier loads (superseded version or forced reload)."""
    hashes = [
        r[0]
        for r in con.execute(
            f"select content_hash from meta.load_manifest where status = 'loaded' and {where}", params
        ).fetchall()
    ]
    for old in hashes:
        con.execute(f"delete from raw.{sql_ident(contract.entity)} where _content_hash = ?", [old])
        con.execute(f"delete from quarantine.{sql_ident(contract.entity)} where _content_hash = ?", [old])
        con.execute(
            "update meta.load_manifest set status = ? where content_hash = ? and status = 'loaded'",
            [status, old],
        )


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    batch_id: str,
    workdir: Path,
    force: bool = False,
    dialect: str | None = None,
    entity: str | None = None,
    snapshot_date: date | None = None,
) -> FileResult:
    started = time.perf_counter()
    path = path.resolve()
    info = inspect_file(path)
    previous = _manifest_lookup(con, info.content_hash)
    if previous and not force:
        return FileResult(
            path=path,
            status="skipped",
            message=f"already loaded from {previous[0]} at {previous[1]:%Y-%m-%d %H:%M}; use --force to reload",
        )

    text_path, detection, delimiter = _prepare(info, workdir, dialect, entity)
    contract = get_contract(detection.entity)
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    snap = (
        (snapshot_date or snapshot_date_for(path, loaded_at.date())) if contract.kind == "snapshot" else None
    )

    con.execute("begin transaction")
    try:
        if force:
            _retire(con, contract, "content_hash = ?", [info.content_hash], "reloaded")
        _retire(
            con,
            contract,
            "entity = ? and file_name = ? and content_hash <> ?",
            [contract.entity, path.name, info.content_hash],
            "superseded",
        )
        counts = _load_rows(con, info, text_path, detection, delimiter, contract, batch_id, loaded_at, snap)
        con.execute(
            "insert into meta.load_manifest values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id,
                str(path),
                path.name,
                info.content_hash,
                info.size,
                contract.entity,
                contract.source,
                detection.dialect.name,
                info.format,
                info.encoding,
                counts["read"],
                counts["loaded"],
                counts["quarantined"],
                counts["flagged"],
                snap,
                counts["period_start"],
                counts["period_end"],
                "loaded",
                loaded_at,
                time.perf_counter() - started,
            ],
        )
        if counts["read"] != counts["loaded"] + counts["quarantined"]:
            raise IngestError(
                f"reconciliation failed: read {counts['read']}, loaded {counts['loaded']}, "
                f"quarantined {counts['quarantined']}",
                file=path,
                hint="this is a bug in crm-warehouse; nothing was loaded",
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop view if exists _stage")
        for table in ("_stage_text", "_stage_shifted", "_rej_records"):
            con.execute(f"drop table if exists {table}")
        con.execute("drop table if exists _valid")
        if text_path != path:
            text_path.unlink(missing_ok=True)
    return FileResult(
        path=path,
        status="loaded",
        entity=contract.entity,
        dialect=detection.dialect.name,
        rows_read=counts["read"],
        rows_loaded=counts["loaded"],
        rows_quarantined=counts["quarantined"],
        rows_flagged=counts["flagged"],
        seconds=time.perf_counter() - started,
    )


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


def _load_rows(
    con,
    info: FileInfo,
    text_path: Path,
    detection: Detection,
    delimiter: str,
    contract: Contract,
    batch_id: str,
    loaded_at: datetime,
    snap: date | None,
) -> dict:
    params: list = []
    is_json = info.format == "jsonl"
    if is_json:
        stage_sql, stage_params = _jsonl_stage(text_path)
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
    else:
        for table in ("_rej_errors", "_rej_scans"):
            con.execute(f"drop table if exists {table}")
        stage_sql, stage_params = _csv_stage(text_path, len(detection.headers), delimiter)
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
    sources = _Sources(detection, is_json)
    source_exprs = sources.parts("")

    lenient_iso = info.format == "xlsx"
    # The text is copied into a temp table first, so that validation below runs on every core.
    if is_json:
        con.execute("set preserve_insertion_order = true")  # numbering lines needs the file's order
        try:
            con.execute(
                f"create or replace temp table _stage_text as select *{sources.stage_columns()} "
                f"from {stage_sql}",
                stage_params,
            )
        finally:
            con.execute("set preserve_insertion_order = false")
        con.execute("create or replace temp view _stage as select * from _stage_text")
        rejects = {}
    else:
        rejects = _stage_csv(con, stage_sql, stage_params)
    select = build_validation_sql(
        contract, detection.dialect, source_exprs, extras_expr, malformed, lenient_iso, "_stage", raw_line
    )
    con.execute(f"create or replace temp table _valid as {select}", params)

    entity = sql_ident(contract.entity)
    originals = {c: _original_text(parts) for c, parts in sources.parts("s.").items()}
    _flag_duplicate_keys(con, contract, originals)
    if contract.kind == "event":
        _flag_already_loaded(con, contract, originals)

    cols = [c.name for c in contract.columns]
    v_list = ", ".join(sql_ident(f"v_{c}") for c in cols)
    o_list = ", ".join(sql_ident(f"o_{c}") for c in cols)
    col_list = ", ".join(sql_ident(c) for c in cols)
    lineage_cols = ", ".join(name for name, _, _ in LINEAGE_COLUMNS)
    common = [str(info.path), info.content_hash]
    con.execute(
        f"insert into raw.{entity} ({col_list}, {lineage_cols}) "
        f"select {v_list}, ?, ?, _rn, ?, ?, ?, ?, _issues, _invalid_values, _extras "
        f"from _valid where len(_reasons) = 0",
        [*common, batch_id, loaded_at, snap, detection.dialect.name],
    )
    q_cols = ", ".join(name for name, _ in QUARANTINE_LINEAGE)
    con.execute(
        f"insert into quarantine.{entity} ({col_list}, {q_cols}) "
        f"select {o_list}, ?, ?, _rn, ?, ?, ?, _reasons, _raw_line, _extras "
        f"from _valid where len(_reasons) > 0",
        [*common, batch_id, loaded_at, detection.dialect.name],
    )
    if rejects:
        con.executemany(
            f"insert into quarantine.{entity} (_source_file, _content_hash, _row_number, _batch_id, "
            f"_loaded_at, _dialect, _reasons, _raw_line) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [*common, record, batch_id, loaded_at, detection.dialect.name, [_reject_reason(text)], text]
                for record, text in rejects.items()
            ],
        )
    et = sql_ident(f"v_{contract.event_time}") if contract.event_time else "NULL"
    read, loaded, flagged, start, end = con.execute(
        f"select count(*), count(*) filter (where len(_reasons) = 0), "
        f"count(*) filter (where len(_reasons) = 0 and len(_issues) > 0), "
        f"min({et}) filter (where len(_reasons) = 0), max({et}) filter (where len(_reasons) = 0) from _valid"
    ).fetchone()
    read += len(rejects)
    return {
        "read": read,
        "loaded": loaded,
        "quarantined": read - loaded,
        "flagged": flagged,
        "period_start": start.date() if isinstance(start, datetime) else start,
        "period_end": end.date() if isinstance(end, datetime) else end,
    }


def _reject_reason(text: str) -> str:
    first = text.split(":", 1)[0].strip().upper()
    if "ENCODING" in first or "UNICODE" in first:
        return "bad_encoding"
    return "malformed_row:" + first.lower().replace(" ", "_")


def _flag_duplicate_keys(con, contract: Contract, originals: dict[str, str]) -> None:
    """Every row after the first with the same key in this file is a duplicate.

    Aggregating to the repeated keys is cheap; the update touches only files that
    have repeats, which most do not.
    """
    key_v = ", ".join(sql_ident(f"v_{k}") for k in contract.key)
    present = " and ".join(f"{sql_ident(f'v_{k}')} is not null" for k in contract.key)
    con.execute(
        f"create or replace temp table _repeated as select {key_v}, min(_rn) AS _first_rn from _valid "
        f"where {present} and _raw_line is null group by all having count(*) > 1"
    )
    if con.execute("select count(*) from _repeated").fetchone()[0]:
        match = " and ".join(f"v.{sql_ident('v_' + k)} = r.{sql_ident('v_' + k)}" for k in contract.key)
        con.execute(
            "create or replace temp table _marked as "
            f"select v._rn from _valid v join _repeated r on {match} where v._rn > r._first_rn"
        )
        _mark(con, "duplicate_key", originals)
    con.execute("drop table _repeated")


def _mark(con, reason: str, originals: dict[str, str]) -> None:
    """Quarantine the rows listed in _marked with `reason`, restoring their original text."""
    sets = ", ".join(f"{sql_ident('o_' + c)} = {expr}" for c, expr in originals.items())
    con.execute(
        f"""
        update _valid set _reasons = list_append(_valid._reasons, {sql_literal(reason)}), {sets}
        from _marked m join _stage s using (_rn)
        where _valid._rn = m._rn
        """
    )
    con.execute("drop table _marked")


def _flag_already_loaded(con, contract: Contract, originals: dict[str, str]) -> None:
    """Event rows whose key was loaded from another file (within this file's period) are duplicates."""
    entity = sql_ident(contract.entity)
    et = contract.event_time
    cond = " and ".join(f"r.{sql_ident(k)} = v.{sql_ident('v_' + k)}" for k in contract.key)
    con.execute(
        f"""
        create or replace temp table _marked as
        select v._rn from _valid v
        where len(v._reasons) = 0 and exists (
            select 1 from raw.{entity} r
            where {cond}
              and r.{sql_ident(et)} between (select min({sql_ident("v_" + et)}) from _valid)
                                         and (select max({sql_ident("v_" + et)}) from _valid)
        )
        """
    )
    if con.execute("select count(*) from _marked").fetchone()[0]:
        _mark(con, "duplicate_key:already_loaded", originals)
    else:
        con.execute("drop table _marked")


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
    batch = BatchResult(batch_id=uuid.uuid4().hex[:12])
    files = list(iter_export_files(paths))
    con = connect(db_path)
    workdir = Path(tempfile.mkdtemp(prefix="crmw-ingest-", dir=db_path.parent))
    try:
        ensure_schema(con)
        _register_udfs(con)
        for path in files:
            if progress:
                progress(path)
            if not path.exists():
                message = FileRefused("no such file", file=path).describe()
                batch.files.append(FileResult(path=path, status="refused", message=message))
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                message = FileRefused(
                    f"unsupported file type {path.suffix!r}",
                    file=path,
                    hint=f"exports are {', '.join(sorted(SUPPORTED_SUFFIXES))}",
                ).describe()
                batch.files.append(FileResult(path=path, status="refused", message=message))
                _record_refusal(con, batch.batch_id, path, None, "UnsupportedType", batch.files[-1].message)
                continue
            try:
                result = load_file(
                    con,
                    path,
                    batch_id=batch.batch_id,
                    workdir=workdir,
                    force=force,
                    dialect=dialect,
                    entity=entity,
                    snapshot_date=snapshot_date,
                )
            except FileRefused as exc:
                result = FileResult(path=path, status="refused", message=exc.describe())
                _record_refusal(con, batch.batch_id, path, None, type(exc).__name__, exc.describe())
            except duckdb.Error as exc:
                message = f"{path}: the file could not be parsed: {str(exc).splitlines()[0]}"
                result = FileResult(path=path, status="refused", message=message)
                _record_refusal(con, batch.batch_id, path, None, type(exc).__name__, message)
            batch.files.append(result)
            log.debug("%s %s: %s", result.status, path.name, result.message or _counts(result))
    finally:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)
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
