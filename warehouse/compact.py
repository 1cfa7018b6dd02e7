"""Rewriting a warehouse file into a new one: DuckDB reuses the blocks of deleted rows but does not
clear them, so the bytes of rows deleted (an erasure) stay in the file until they are overwritten.
`rewrite_database` copies every schema, table, view and macro into a fresh file and swaps it in, so
nothing deleted survives in it."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

from warehouse.connection import connect, restrict_to_owner

log = logging.getLogger(__name__)


def rewrite_database(db_path: Path) -> dict:
    """Copy the database into a new file next to it and put it in its place (atomically)."""
    started = time.perf_counter()
    db_path = Path(db_path)
    fresh = db_path.with_name(f".{db_path.name}.{uuid.uuid4().hex[:8]}.rewrite")
    before = db_path.stat().st_size
    con = connect(db_path)
    try:
        con.execute("checkpoint")
        name = con.execute("select current_database()").fetchone()[0]
        con.execute("attach ? as crmw_fresh", [str(fresh)])
        con.execute(f'copy from database "{name}" to crmw_fresh')
        con.execute("detach crmw_fresh")
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    restrict_to_owner(fresh)
    os.replace(fresh, db_path)
    db_path.with_name(db_path.name + ".wal").unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    log.info("rewrote %s (%d -> %d bytes) in %.1fs", db_path, before, db_path.stat().st_size, seconds)
    return {"bytes_before": before, "bytes_after": db_path.stat().st_size, "seconds": round(seconds, 2)}
