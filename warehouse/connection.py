"""The one door to the warehouse file: every connection to it is opened here.

DuckDB allows one writing process per file. `connect` turns DuckDB's lock error into
`WarehouseBusy` (retryable) and sets what every writer of ours relies on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseBusy
from warehouse.settings import Settings


def connect(db_path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to a warehouse file (created, with its folder, when missing and not read-only)."""
    db_path = Path(db_path)
    if not read_only:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(db_path) from exc
        raise
    con.execute("set enable_progress_bar = false")
    # Rows carry what order they need (ingest: _row_number), so nothing relies on the order rows
    # are stored in: unordered inserts run on every core and write their row groups as they go.
    con.execute("set preserve_insertion_order = false")
    return con


@contextlib.contextmanager
def open_warehouse(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The settings' warehouse, closed on exit."""
    con = connect(settings.warehouse_path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()
