"""The one door to the warehouse: a second writer waits for the first (up to the lock wait setting),
then gets WarehouseBusy (retryable) naming the file; the warehouse file is the owner's only;
schemas are created in one place, and a checkout's default home is var/."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from warehouse.connection import connect
from warehouse.errors import WarehouseBusy
from warehouse.schemas import SCHEMAS, ensure_schemas
from warehouse.settings import PROJECT_DIR, get_settings


def hold(db, seconds: float | None = None) -> subprocess.Popen:
    """Another process holding the warehouse for writing: until told on stdin, or for `seconds`."""
    release = f"time.sleep({seconds})" if seconds is not None else "sys.stdin.readline()"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(db)!r})
                print("holding", flush=True)
                {release}
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_a_second_process_writing_gets_a_retryable_busy_error_naming_the_file(tmp_path):
    db = tmp_path / "warehouse" / "warehouse.duckdb"
    connect(db).close()
    holder = hold(db)
    try:
        with pytest.raises(WarehouseBusy) as caught:
            connect(db, wait_seconds=0.5)
        assert caught.value.retryable
        assert str(db) in str(caught.value) and "try again" in str(caught.value)
    finally:
        holder.communicate("done\n", timeout=30)
    connect(db, wait_seconds=10).close()  # the lock goes with the process


def test_a_second_writer_waits_for_the_first_to_finish(tmp_path):
    db = tmp_path / "warehouse" / "warehouse.duckdb"
    connect(db).close()
    holder = hold(db, seconds=1.5)
    started = time.monotonic()
    try:
        connect(db, wait_seconds=30).close()
    finally:
        holder.wait(timeout=30)
    assert time.monotonic() - started >= 1.0


def test_the_warehouse_file_and_its_folder_are_the_owners_only(tmp_path):
    db = tmp_path / "home" / "warehouse" / "warehouse.duckdb"
    con = connect(db)
    con.execute("create table t as select 1 AS x")
    con.close()
    assert db.stat().st_mode & 0o077 == 0
    assert db.parent.stat().st_mode & 0o077 == 0


def test_how_long_a_writer_waits_is_a_setting_read_when_asked(tmp_path):
    assert get_settings({"CRMW_LOCK_WAIT": "2.5"}).lock_wait_seconds == 2.5
    assert get_settings({}).lock_wait_seconds == 30.0


def test_schemas_are_created_where_missing_and_unknown_names_are_refused():
    con = duckdb.connect()
    ensure_schemas(con, "raw", "ml")
    present = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
    assert {"raw", "ml"} <= present and "marts" not in present
    ensure_schemas(con)
    present = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
    assert set(SCHEMAS) <= present
    with pytest.raises(ValueError, match="unknown schema 'rawx'"):
        ensure_schemas(con, "rawx")


def test_a_checkout_keeps_what_a_run_writes_under_var_unless_crmw_home_says_otherwise(tmp_path):
    assert get_settings({}).home == PROJECT_DIR / "var"
    assert (
        get_settings({"CRMW_HOME": str(tmp_path)}).warehouse_path
        == tmp_path / "warehouse" / "warehouse.duckdb"
    )


def _memory_limit(con) -> str:
    """DuckDB's memory limit on `con`, as DuckDB prints it (1GB is 953.6 MiB)."""
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_every_warehouse_connection_and_dbt_get_the_memory_limit_setting(tmp_path, monkeypatch):
    from warehouse.dbt import dbt_env
    from warehouse.errors import WarehouseError

    monkeypatch.delenv("CRMW_DUCKDB_MEMORY_LIMIT", raising=False)
    with connect(tmp_path / "default.duckdb") as con:
        assert _memory_limit(con) == "953.6 MiB"
    monkeypatch.setenv("CRMW_DUCKDB_MEMORY_LIMIT", "2GB")
    with connect(tmp_path / "set.duckdb") as con:
        assert _memory_limit(con) == "1.8 GiB"
    assert dbt_env(get_settings())["CRMW_DUCKDB_MEMORY_LIMIT"] == "2GB"
    monkeypatch.setenv("CRMW_DUCKDB_MEMORY_LIMIT", "plenty")
    with pytest.raises(WarehouseError, match="CRMW_DUCKDB_MEMORY_LIMIT='plenty' is not a memory size"):
        connect(tmp_path / "bad.duckdb")
