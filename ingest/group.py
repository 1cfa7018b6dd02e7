"""Loading files of one kind in one transaction: inspect and detect each file, stage its text,
validate, flag duplicates, insert raw and quarantine rows and one manifest row per file."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ingest.columns import SourceColumns, json_path
from ingest.contracts import LINEAGE_COLUMNS, Contract, get_contract
from ingest.detect import Detection, detect
from ingest.duplicates import flag_duplicates
from ingest.errors import IngestError, UnknownFormat
from ingest.manifest import file_identity, manifest_lookup, retire_loads, snapshot_date_for
from ingest.parsing import sql_ident
from ingest.readers import (
    FileInfo,
    inspect_file,
    jsonl_keys,
    read_header,
    sniff_delimiter,
    utf8_copy,
    xlsx_to_csv,
)
from ingest.results import FileResult
from ingest.staging import copy_in_file_order, csv_stage, jsonl_stage, stage_csv
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
    previous = manifest_lookup(con, info)
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
    return Pending(path, info, text_path, detection, delimiter, contract, snap)


def load_group(
    con,
    items: list[Pending],
    *,
    batch_id: str,
    force: bool,
    loaded_at: datetime,
    started: float,
    sink=None,
) -> list[FileResult]:
    """Load files of one kind (see Pending.joins) in one transaction, read and validated
    together: every file's rows, quarantine and manifest row are committed, or nothing is.

    Each file keeps its own record numbers, duplicate checks, reconciliation and manifest
    row, exactly as if the files were loaded one after another in this order.

    `sink` is an ingest.lake.LakeSink when the rows go to a lake: it writes them out just
    before the transaction commits (and the transaction is rolled back when it cannot).
    """
    contract = items[0].contract
    con.execute("begin transaction")
    try:
        for item in items:
            if force:
                retire_loads(con, contract, *file_identity(item.info), "reloaded")
            retire_loads(
                con,
                contract,
                "entity = ? and file_name = ? and content_hash <> ?",
                [contract.entity, item.path.name, item.info.content_hash],
                "superseded",
            )
        counts = load_rows(
            con, items, batch_id, loaded_at, loaded_schema=sink.loaded_schema if sink else "raw"
        )
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
        drop_scratch(con)
        if sink is not None:
            sink.commit(con, contract)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        drop_scratch(con)
    return results


def drop_scratch(con) -> None:
    con.execute("drop view if exists _stage")
    for table in ("_stage_text", "_stage_shifted", "_rej_records", "_valid", "_files", "_periods"):
        con.execute(f"drop table if exists {table}")


def prepare_text(info: FileInfo, workdir: Path, dialect: str | None, entity: str | None):
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


def load_rows(
    con, items: list[Pending], batch_id: str, loaded_at: datetime, loaded_schema: str = "raw"
) -> list[dict]:
    """Stage, validate, flag and insert the rows of `items` (one file unless they are CSV
    read the same way); per file: rows read, loaded, quarantined, flagged and its period.
    `loaded_schema` holds the rows loaded before (duplicate keys are checked against them)."""
    first = items[0]
    detection, contract = first.detection, first.contract
    params: list = []
    is_json = first.info.format == "jsonl"
    sources = SourceColumns(detection, is_json)
    if is_json:
        if len(items) != 1:
            raise ValueError("JSON lines files load one at a time")
        stage_sql, stage_params = jsonl_stage(first.text_path)
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
        copy_in_file_order(con, f"select *{sources.stage_columns()} from {stage_sql}", stage_params)
        con.execute("create or replace temp view _stage as select * from _stage_text")
        rejects: dict[int, dict[int, str]] = {}
    else:
        for table in ("_rej_errors", "_rej_scans"):
            con.execute(f"drop table if exists {table}")
        paths = [item.text_path for item in items]
        stage_sql, stage_params = csv_stage(paths, len(detection.headers), first.delimiter)
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
        rejects = stage_csv(con, stage_sql, stage_params, paths)

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
    flag_duplicates(con, contract, originals, loaded_schema)

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
