"""What the user sees when something outside a file goes wrong: one line saying what and what to do,
never a traceback (issue 20). Another writer holding the warehouse, a full disk, a read-only folder,
a home that is a file, an unknown entity or period; and an unreadable export among readable ones."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from crmw.cli import cli
from tests.support.unprivileged import run_crmw
from warehouse.settings import PROJECT_DIR

INVOICE_HEADER = "invoice_id,counterparty_id,invoice_date,due_date,office_code,product_line,amount,vat_amount,currency,deal_ref"


def invoices(path: Path, n: int, first: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [f"I{i},C1,2024-01-05,,MSK,cloud,100.50,20.10,RUB,D{i}" for i in range(first, first + n)]
    path.write_text("\n".join([INVOICE_HEADER, *rows]) + "\n")
    return path


def one_line_error(output: str, *fragments: str) -> None:
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0], output


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def hold_the_warehouse(db: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                import duckdb, sys
                con = duckdb.connect({str(db)!r})
                print("holding", flush=True)
                sys.stdin.readline()
            """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_commands_while_another_process_writes_the_warehouse_wait_then_say_so_in_one_line(home, tmp_path):
    export = invoices(tmp_path / "in" / "invoices__2024-01.csv", 3)
    runner = CliRunner(env={"CRMW_HOME": str(home), "CRMW_LOCK_WAIT": "0.5"})
    assert runner.invoke(cli, ["ingest", str(export)]).exit_code == 0
    holder = hold_the_warehouse(home / "warehouse" / "warehouse.duckdb")
    try:
        for args in (["ingest", str(export), "--force"], ["quarantine"], ["status"]):
            result = runner.invoke(cli, args)
            assert result.exit_code == 1, (args, result.output)
            one_line_error(result.output, "is being written by another process", "try again")
    finally:
        holder.communicate("done\n", timeout=30)


def test_a_full_disk_stops_ingest_in_one_line_and_a_rerun_completes_the_load(home, tmp_path):
    runner = CliRunner(env={"CRMW_HOME": str(home)})
    first = invoices(tmp_path / "in" / "invoices__2024-01.csv", 3)
    assert runner.invoke(cli, ["ingest", str(first)]).exit_code == 0
    big = invoices(tmp_path / "in" / "invoices__2024-02.csv", 60_000, first=100)
    db = home / "warehouse" / "warehouse.duckdb"
    limit = db.stat().st_size + 256 * 1024

    def small_disk() -> None:  # files may not grow past `limit`: writes fail as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "crmw.cli", "ingest", str(big)],
        cwd=PROJECT_DIR,
        env={**os.environ, "CRMW_HOME": str(home)},
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
        timeout=300,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    one_line_error(result.stderr, "writing the warehouse", "run the same command again")
    result = runner.invoke(cli, ["ingest", str(big)])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select count(*) from raw.invoices").fetchone() == (60_003,)
        assert con.execute("select count(*), sum(rows_read) from meta.load_manifest").fetchone() == (
            2,
            60_003,
        )
    finally:
        con.close()


def test_a_home_that_is_a_file_is_one_line(tmp_path):
    not_a_folder = tmp_path / "home"
    not_a_folder.write_text("")
    result = CliRunner(env={"CRMW_HOME": str(not_a_folder)}).invoke(cli, ["ingest", str(tmp_path)])
    assert result.exit_code == 1
    one_line_error(result.output, str(not_a_folder), "not a folder")


def test_an_unknown_entity_or_period_is_a_usage_error(home, tmp_path):
    runner = CliRunner(env={"CRMW_HOME": str(home)})
    result = runner.invoke(cli, ["ingest", str(tmp_path), "--entity", "nosuch"])
    assert result.exit_code == 2 and "invalid value for '--entity'" in result.output
    result = runner.invoke(cli, ["report", "--period", "../..", "--no-pdf"])
    assert result.exit_code == 2 and "invalid value for '--period'" in result.output
    assert "Traceback" not in result.output


def test_a_read_only_warehouse_folder_is_one_line(home, tmp_path):
    export = invoices(tmp_path / "in" / "invoices__2024-01.csv", 3)
    (home / "warehouse").mkdir(parents=True)
    (home / "warehouse").chmod(0o555)

    result = run_crmw(["ingest", str(export)], home)

    assert result.returncode == 1, result.stdout + result.stderr
    one_line_error(result.stderr, "warehouse", "Permission denied")


def test_an_unreadable_file_is_refused_alone_and_the_others_load(home, tmp_path):
    exports = tmp_path / "in"
    invoices(exports / "invoices__2024-01.csv", 2)
    invoices(exports / "invoices__2024-02.csv", 2, first=10).chmod(0o000)
    invoices(exports / "invoices__2024-03.csv", 2, first=20)

    result = run_crmw(["ingest", str(exports)], home)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "Permission denied" in result.stdout
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select file_key from meta.load_manifest order by 1").fetchall() == [
            ("invoices__2024-01.csv",),
            ("invoices__2024-03.csv",),
        ]
        assert con.execute("select error_class from meta.refused_files").fetchall() == [("FileUnreadable",)]
    finally:
        con.close()


def test_a_command_run_in_process_leaves_no_log_handler_behind(home, tmp_path):
    import logging

    before = list(logging.getLogger().handlers)
    runner = CliRunner(env={"CRMW_HOME": str(home)})
    result = runner.invoke(cli, ["ingest", str(invoices(tmp_path / "exports" / "invoices__2024-01.csv", 2))])
    assert result.exit_code == 0, result.output
    assert (home / "logs" / "crmw.log").exists()  # the command set up its log in its home
    left = [h for h in logging.getLogger().handlers if h not in before]
    assert left == [], left
    # the home can go: logging afterwards (another home's run in the same process) does not reach for it
    import shutil

    shutil.rmtree(home)
    logging.getLogger("crmw.test").warning("after the command")
