"""The one door to the warehouse file: every connection to it is opened here.

DuckDB allows one writing process per file. `connect` waits for a process that holds the file
(up to the `lock_wait_seconds` setting, CRMW_LOCK_WAIT), then turns DuckDB's lock error into
`WarehouseBusy` (retryable); other failures to open it become a `WarehouseError` that says what
to do. It creates the file readable by its owner only (it holds personal data), and sets what
every writer of ours relies on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseBusy, WarehouseError
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

# What the owner-only files and folders under the home are created with.
OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700


def connect(
    db_path: Path, read_only: bool = False, wait_seconds: float | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection to a warehouse file (created, with its folder, when missing and not read-only).

    When another process holds the file, waits up to `wait_seconds` (default: the setting
    `lock_wait_seconds`) for it, then raises WarehouseBusy.
    """
    db_path = Path(db_path)
    settings = get_settings()
    if wait_seconds is None:
        wait_seconds = settings.lock_wait_seconds
    if not read_only:
        make_private_dir(db_path.parent)
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    pause = 0.1
    waited = False
    while True:
        try:
            con = _open(db_path, read_only)
            break
        except WarehouseBusy:
            if time.monotonic() + pause > deadline:
                raise
            if not waited:
                log.info("%s is held by another process; waiting up to %.0f s", db_path, wait_seconds)
                waited = True
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
    if not read_only:
        restrict_to_owner(db_path)
    con.execute("set enable_progress_bar = false")
    try:
        con.execute("set memory_limit = ?", [settings.duckdb_memory_limit])
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(
            f"CRMW_DUCKDB_MEMORY_LIMIT={settings.duckdb_memory_limit!r} is not a memory size DuckDB takes "
            f"({str(exc).splitlines()[0]}): use e.g. '1GB', '4GB' or '50%'"
        ) from None
    # Rows carry what order they need (ingest: _row_number), so nothing relies on the order rows
    # are stored in: unordered inserts run on every core and write their row groups as they go.
    con.execute("set preserve_insertion_order = false")
    return con


def _open(db_path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseBusy(db_path) from exc
        raise WarehouseError(
            f"cannot open the warehouse {db_path}: {_first_line(text)}; check that the folder exists, "
            "is a folder, and that this user may write it (and that the disk has room)"
        ) from exc


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def make_private_dir(path: Path) -> None:
    """Create a folder (and its parents) for files only the owner may read; an error that says
    which path when it cannot be (it is a file, or the parent is not writable)."""
    try:
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(OWNER_ONLY_DIR)
    except OSError as exc:
        raise WarehouseError(
            f"cannot create the folder {path}: {exc.strerror or exc}; "
            "point CRMW_HOME (or --db) at a folder this user may write"
        ) from exc


def restrict_to_owner(path: Path) -> None:
    """Owner-only permissions on a warehouse file and its write-ahead log (when they exist)."""
    for candidate in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            mode = candidate.stat().st_mode
            if mode & 0o077:
                os.chmod(candidate, mode & OWNER_ONLY_FILE)


def is_write_failure(exc: BaseException, db_path: Path) -> bool:
    """Whether an error is the warehouse itself failing to be written (a full disk, a file size
    limit, a database DuckDB gave up on), not one export file being unreadable."""
    if isinstance(exc, duckdb.FatalException):
        return True
    if not isinstance(exc, duckdb.Error | OSError):
        return False
    text = str(exc)
    if "cannot rollback" in text.lower() or any(
        s in text for s in ("No space left", "File too large", "Disk quota")
    ):
        return True
    return str(Path(db_path)) in text  # the warehouse file or its write-ahead log


@contextlib.contextmanager
def open_warehouse(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The settings' warehouse, closed on exit."""
    con = connect(settings.warehouse_path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()
