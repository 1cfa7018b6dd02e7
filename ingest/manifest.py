"""A file's identity and its rows in meta.load_manifest: was it loaded before, which earlier loads a
new version retires."""

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


def file_identity(info: FileInfo) -> tuple[str, list]:
    """Which manifest rows are this file: its content, whatever its name; but header-only
    files (the same few bytes for every empty month) are also told apart by name."""
    if info.header_only:
        return "content_hash = ? and file_name = ?", [info.content_hash, info.path.name]
    return "content_hash = ?", [info.content_hash]


def manifest_lookup(con, info: FileInfo) -> tuple | None:
    where, params = file_identity(info)
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
