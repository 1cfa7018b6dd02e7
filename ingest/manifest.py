"""A file's identity and its rows in meta.load_manifest: was it loaded before, which earlier loads a
new version retires.

A file's key is its path relative to the ingest root: the landing folder for files under it (the
pipeline and `crmw ingest` alike), else the folder given to `crmw ingest`, else (a file given by
itself) its name. So `2024-01/invoices.csv` and `2024-02/invoices.csv` are two files, and a new
version of a file lands under the same relative path (or, given by itself, under the same name)
and supersedes the old one. The content hash decides what was loaded before: the same bytes under
any key are skipped, except a header-only file (the same few bytes for every empty month), which
is told apart by its key too.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from ingest.contracts import Contract
from ingest.parsing import sql_ident
from ingest.readers import FileInfo

_SNAPSHOT_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def snapshot_date_for(path: Path, default: date) -> date:
    match = _SNAPSHOT_DATE.search(path.stem)
    if match:
        try:
            return date.fromisoformat(match.group(1))
        except ValueError:
            pass
    return default


# meta.load_manifest's columns, in table order (ingest.tables has the DDL)
MANIFEST_COLUMNS = (
    "batch_id",
    "file_path",
    "file_name",
    "content_hash",
    "size_bytes",
    "entity",
    "source",
    "dialect",
    "format",
    "encoding",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "rows_flagged",
    "snapshot_date",
    "period_start",
    "period_end",
    "status",
    "loaded_at",
    "seconds",
    "file_key",
)


def file_key(path: Path, roots: list[Path]) -> str:
    """The file's path relative to the first root it lies under (POSIX separators), else its name."""
    for root in roots:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.name


def file_identity(info: FileInfo, key: str) -> tuple[str, list]:
    """Which manifest rows are this file: its content, whatever its key; but header-only
    files (the same few bytes for every empty month) are also told apart by key."""
    if info.header_only:
        return "content_hash = ? and file_key = ?", [info.content_hash, key]
    return "content_hash = ?", [info.content_hash]


def manifest_lookup(con, info: FileInfo, key: str) -> tuple | None:
    where, params = file_identity(info, key)
    return con.execute(
        f"select file_path, loaded_at from meta.load_manifest where {where} and status = 'loaded'", params
    ).fetchone()


def retire_loads(con, contract: Contract, where: str, params: list, status: str) -> None:
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
