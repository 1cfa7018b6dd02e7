"""Loading files of one kind in one transaction: inspect and detect each file, stage its text,
validate, flag duplicates, insert raw and quarantine rows and one manifest row per file."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from ingest.columns import SourceColumns, json_path
from ingest.contracts import LINEAGE_COLUMNS, Contract, get_contract
from ingest.detect import Detection, detect
from ingest.duplicates import flag_duplicates
from ingest.errors import IngestError, UnknownFormat
from ingest.manifest import MANIFEST_COLUMNS, file_identity, manifest_lookup, retire_loads, snapshot_date_for
from ingest.parsing import sql_ident
from ingest.readers import (
    FileInfo,
    _temp_file,
    inspect_file,
    json_array_keys,
    jsonl_keys,
    read_header,
    sniff_delimiter,
    still_unchanged,
    utf8_copy,
    xlsx_to_csv,
)
from ingest.records import MAX_RECORD_CHARS, split_records
from ingest.results import FileResult
from ingest.staging import MAX_LINE_BYTES, NeedsCarefulRead, csv_stage, stage_csv, stage_jsonl
from ingest.tables import QUARANTINE_LINEAGE
from ingest.validation import build_validation_sql, original_text


@dataclass
class Pending:
    """A file inspected and detected, waiting to be loaded."""

    path: Path
    info: FileInfo
    text_path: Path
    detection: Detection
    delimiter: str
    contract: Contract
    snap: date | None
    # the file's identity: its path relative to the ingest root (see ingest.manifest)
    key: str = ""
    workdir: Path | None = None
    # read carefully (split into records line by line, ingest.records): its broken records by number
    broken: dict[int, str] | None = field(default=None)

    def read_carefully(self) -> None:
        """Split the text into records line by line (a quote left open costs one record, not the rest
        of the file) and read the well-formed ones from a clean copy; the broken ones are quarantined."""
        if self.broken is not None:
            return
        clean = _temp_file(self.workdir or self.text_path.parent, ".records.csv")
        self.broken = split_records(self.text_path, clean, len(self.detection.headers), self.delimiter)
        self.cleanup()
        self.text_path = clean

    def note(self) -> str:
        """What the user should know about how the file was read."""
        if not self.broken:
            return ""
        first = min(self.broken)
        return (
            f"{len(self.broken)} record(s) not well formed (first: record {first}; a quote left open, or "
            "another number of fields than the header): each quarantined as one line, and the lines "
            "after it read as records of their own"
        )

    def joins(self, group: list[Pending]) -> bool:
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


def pending_file(
    con,
    path: Path,
    *,
    key: str,
    workdir: Path,
    force: bool,
    dialect: str | None,
    entity: str | None,
    snapshot_date: date | None,
    loaded_at: datetime,
) -> Pending | FileResult:
    """Inspect and detect one file; a FileResult when it was loaded before (skipped)."""
    path = path.resolve()
    info = inspect_file(path)
    previous = manifest_lookup(con, info, key)
    if previous and not force:
        return FileResult(
            path=path,
            status="skipped",
            message=f"already loaded from {previous[0]} at {previous[1]:%Y-%m-%d %H:%M}; use --force to reload",
        )
    text_path, detection, delimiter = prepare_text(info, workdir, dialect, entity)
    contract = get_contract(detection.entity)
    snap = (
        (snapshot_date or snapshot_date_for(path, loaded_at.date())) if contract.kind == "snapshot" else None
    )
    item = Pending(path, info, text_path, detection, delimiter, contract, snap, key=key, workdir=workdir)
    if info.lone_cr and info.format != "jsonl":
        item.read_carefully()  # DuckDB's reader stops at a carriage return that ends nothing
    return item


def load_group(
    con,
    items: list[Pending],
    *,
    batch_id: str,
    force: bool,
    loaded_at: datetime,
    started: float,
) -> list[FileResult]:
    """Load files of one kind (see Pending.joins) in one transaction, read and validated
    together: every file's rows, quarantine and manifest row are committed, or nothing is.

    Each file keeps its own record numbers, duplicate checks, reconciliation and manifest
    row, exactly as if the files were loaded one after another in this order. A file DuckDB's
    reader cannot split into records (a quote left open) is split line by line and the group
    loaded again.
    """
    while True:
        try:
            return _load_in_one_transaction(con, items, batch_id, force, loaded_at, started)
        except NeedsCarefulRead as signal:
            for f in signal.files:
                items[f].read_carefully()


def _load_in_one_transaction(
    con, items: list[Pending], batch_id: str, force: bool, loaded_at: datetime, started: float
) -> list[FileResult]:
    contract = items[0].contract
    con.execute("begin transaction")
    try:
        for item in items:
            if force:
                retire_loads(con, contract, *file_identity(item.info, item.key), "reloaded")
            retire_loads(
                con,
                contract,
                "entity = ? and file_key = ? and content_hash <> ?",
                [contract.entity, item.key, item.info.content_hash],
                "superseded",
            )
        counts = load_rows(con, items, batch_id, loaded_at)
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
            still_unchanged(item.info)  # the rows are those of the bytes hashed, or nothing is kept
            share = seconds * (c["read"] / total_read if len(items) > 1 else 1.0)
            row = {
                "batch_id": batch_id,
                "file_path": str(item.path),
                "file_name": item.path.name,
                "file_key": item.key,
                "content_hash": item.info.content_hash,
                "size_bytes": item.info.size,
                "entity": contract.entity,
                "source": contract.source,
                "dialect": item.detection.dialect.name,
                "format": item.info.format,
                "encoding": item.info.encoding,
                "rows_read": c["read"],
                "rows_loaded": c["loaded"],
                "rows_quarantined": c["quarantined"],
                "rows_flagged": c["flagged"],
                "snapshot_date": item.snap,
                "period_start": c["period_start"],
                "period_end": c["period_end"],
                "status": "loaded",
                "loaded_at": loaded_at,
                "seconds": share,
            }
            con.execute(
                f"insert into meta.load_manifest ({', '.join(MANIFEST_COLUMNS)}) "
                f"values ({', '.join('?' for _ in MANIFEST_COLUMNS)})",
                [row[name] for name in MANIFEST_COLUMNS],
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
                    message=item.note(),
                )
            )
        # Temp tables made in a transaction are merged into the temp catalog when it commits:
        # dropping them first saves copying the staged text at commit.
        drop_scratch(con)
        con.execute("commit")
    except BaseException:
        rollback(con)
        raise
    finally:
        with contextlib.suppress(duckdb.Error):
            drop_scratch(con)
    return results


def rollback(con) -> None:
    """Roll the transaction back, if the database still has one to roll back: when a write failed
    (a full disk), DuckDB may have ended it already, and that must not hide the write's own error."""
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")
    with contextlib.suppress(duckdb.Error):
        con.execute("set preserve_insertion_order = false")


def drop_scratch(con) -> None:
    con.execute("drop view if exists _stage")
    con.execute("drop view if exists _stage_lines")
    for table in ("_stage_text", "_stage_text_shifted", "_rej_records", "_valid", "_files", "_periods"):
        con.execute(f"drop table if exists {table}")


def prepare_text(info: FileInfo, workdir: Path, dialect: str | None, entity: str | None):
    if info.format == "xlsx":
        text_path = xlsx_to_csv(info.path, workdir)
        delimiter = ","
        headers = read_header(text_path, delimiter)
    elif info.format in ("jsonl", "json_array"):
        text_path = utf8_copy(info, workdir)
        headers = jsonl_keys(text_path) if info.format == "jsonl" else json_array_keys(text_path)
        delimiter = ""
        if not headers:
            if text_path != info.path:
                text_path.unlink(missing_ok=True)
            if info.format == "json_array":
                raise UnknownFormat(
                    "the file is a JSON array, and its first elements are not JSON objects",
                    file=info.path,
                    hint="an array of objects (one per row), or JSON lines: one object per line",
                )
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
        file_format = "jsonl" if info.format == "json_array" else info.format
        detection = detect(headers, info.path, dialect=dialect, entity=entity, file_format=file_format)
    except BaseException:
        if text_path != info.path:
            text_path.unlink(missing_ok=True)
        raise
    return text_path, detection, delimiter


def load_rows(con, items: list[Pending], batch_id: str, loaded_at: datetime) -> list[dict]:
    """Stage, validate, flag and insert the rows of `items` (one file unless they are CSV
    read the same way); per file: rows read, loaded, quarantined, flagged and its period."""
    first = items[0]
    detection, contract = first.detection, first.contract
    params: list = []
    is_json = first.info.format in ("jsonl", "json_array")
    sources = SourceColumns(detection, is_json)
    if is_json:
        if len(items) != 1:
            raise ValueError("JSON lines files load one at a time")
        if detection.extras:
            pairs = []
            for key in detection.extras.values():
                pairs.append("?, json_extract_string(jline, ?)")
                params += [key, json_path(key)]
            extras_expr = f"case when _ok then json_object({', '.join(pairs)}) end"
        else:
            extras_expr = "NULL::JSON"
        malformed = "case when not _ok then 'malformed_row' end"
        raw_line = "case when not _ok then line end"
        rejects = stage_jsonl(
            con, first.text_path, first.info.format == "json_array", sources.stage_columns()
        )
    else:
        for table in ("_rej_errors", "_rej_scans"):
            con.execute(f"drop table if exists {table}")
        paths = [item.text_path for item in items]
        careful = any(item.broken is not None for item in items)
        # a careful read's clean copy quotes what it must: its records can be longer than the lines read
        max_line = 4 * MAX_RECORD_CHARS if careful else MAX_LINE_BYTES
        stage_sql, stage_params = csv_stage(paths, len(detection.headers), first.delimiter, max_line)
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
        broken = {f: item.broken for f, item in enumerate(items) if item.broken is not None}
        rejects = stage_csv(con, stage_sql, stage_params, paths, broken)

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

    originals = {c: original_text(parts) for c, parts in sources.parts("s.").items()}
    flag_duplicates(con, contract, originals)

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
