"""The one door to the warehouse: a second writer gets WarehouseBusy (retryable) naming the file,
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


def test_a_second_process_writing_gets_a_retryable_busy_error_naming_the_file(tmp_path):
    db = tmp_path / "warehouse" / "warehouse.duckdb"
    connect(db).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(db)!r})
                print("holding", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(WarehouseBusy) as caught:
            connect(db)
        assert caught.value.retryable
        assert str(db) in str(caught.value) and "try again" in str(caught.value)
    finally:
        holder.communicate("done\n", timeout=30)
    deadline = time.monotonic() + 10
    while True:  # the lock goes with the process
        try:
            connect(db).close()
            break
        except WarehouseBusy:
            assert time.monotonic() < deadline
            time.sleep(0.1)


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
