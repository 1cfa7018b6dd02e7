"""Hostile and unreadable input: data or a clear refusal naming the file, never a
stack trace; other files of the batch still load; a killed load leaves no trace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from crmw.cli import cli
from ingest.load import ingest_paths

PAYMENTS_HEADER = "payment_id,counterparty_id,invoice_id,payment_date,amount,currency"


def query(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "wh" / "warehouse.duckdb"


def good_payments(folder: Path) -> Path:
    path = folder / "payments__2024-01.csv"
    path.write_text(PAYMENTS_HEADER + "\nP1,C1,I1,2024-01-05,10.00,RUB\n", encoding="utf-8")
    return path


HOSTILE_VALUES = [
    "'; drop table raw.payments; --",
    '"); delete from meta.load_manifest; --',
    "Robert'); DROP TABLE students;--",
    "a;b;c",
    "{{ jinja }} $1 ? %s",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_sql_in_a_value_is_stored_as_data(db, tmp_path, value):
    path = tmp_path / "payments__2024-01.csv"
    escaped = '"' + value.replace('"', '""') + '"'
    path.write_text(PAYMENTS_HEADER + f"\nP1,C1,{escaped},2024-01-05,10.00,RUB\n", encoding="utf-8")
    batch = ingest_paths([path], db)
    assert batch.ok
    assert query(db, "select invoice_id from raw.payments") == [(value,)]
    assert query(db, "select count(*) from meta.load_manifest")[0][0] == 1


def test_sql_in_a_header_is_kept_as_an_extra_column_name(db, tmp_path):
    header = PAYMENTS_HEADER + ',"x""); drop table raw.payments; --"'
    path = tmp_path / "payments__2024-01.csv"
    path.write_text(header + "\nP1,C1,I1,2024-01-05,10.00,RUB,boom\n", encoding="utf-8")
    batch = ingest_paths([path], db)
    assert batch.ok
    (extras,) = query(db, "select _extras from raw.payments")[0]
    assert "drop table" in extras and "boom" in extras


def test_sql_in_a_file_name_is_only_a_name(db, tmp_path):
    path = tmp_path / "payments'; drop table raw.payments; --.csv"
    path.write_text(PAYMENTS_HEADER + "\nP1,C1,I1,2024-01-05,10.00,RUB\n", encoding="utf-8")
    batch = ingest_paths([path], db)
    assert batch.ok
    assert query(db, "select count(*) from raw.payments")[0][0] == 1


def test_a_ten_megabyte_field_is_quarantined_not_fatal(db, tmp_path):
    path = tmp_path / "payments__2024-01.csv"
    big = "x" * (10 * 1024 * 1024)
    path.write_text(
        PAYMENTS_HEADER + f"\nP1,C1,{big},2024-01-05,10.00,RUB\nP2,C1,I2,2024-01-05,1.00,RUB\n",
        encoding="utf-8",
    )
    batch = ingest_paths([path], db)
    assert batch.ok
    result = batch.files[0]
    assert result.rows_read == result.rows_loaded + result.rows_quarantined == 2
    assert query(db, "select payment_id from raw.payments") == [("P2",)]
    (reasons,) = query(db, "select _reasons from quarantine.payments")[0]
    assert reasons[0].startswith(("malformed_row", "too_long"))


def test_nul_bytes_in_a_value_are_data_or_a_clear_refusal(db, tmp_path):
    path = tmp_path / "payments__2024-01.csv"
    path.write_bytes((PAYMENTS_HEADER + "\nP1,C1,I\x001,2024-01-05,10.00,RUB\n").encode())
    batch = ingest_paths([path], db)
    result = batch.files[0]
    if result.status == "refused":
        assert str(path) in result.message and "NUL" in result.message
    else:
        assert result.rows_read == result.rows_loaded + result.rows_quarantined == 1


def test_binary_garbage_is_refused_by_name_and_the_rest_of_the_batch_loads(db, tmp_path):
    garbage = tmp_path / "payments__2024-02.csv"
    garbage.write_bytes(bytes(range(256)) * 64)
    good = good_payments(tmp_path)
    batch = ingest_paths([garbage, good], db)
    statuses = {f.path.name: f.status for f in batch.files}
    assert statuses == {"payments__2024-02.csv": "refused", "payments__2024-01.csv": "loaded"}
    assert str(garbage) in batch.refused[0].message
    assert query(db, "select count(*) from raw.payments")[0][0] == 1
    assert query(db, "select count(*) from meta.refused_files")[0][0] == 1


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"   \n\n", "white space"),
        ("unknown.csv", b"foo,bar,baz\n1,2,3\n", "matches no entity"),
        ("notes.docx", b"PK\x03\x04whatever", "unsupported file type"),
        ("broken.xlsx", b"PK\x03\x04not really a zip", "XLSX"),
        ("controls.csv", b"payment_id,\x07bell\n1,2\n", "control characters"),
        ("array.jsonl", b'{"a": 1\n', "JSON"),
    ],
)
def test_unreadable_files_are_refused_with_the_file_and_reason(db, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    batch = ingest_paths([path, good_payments(tmp_path)], db)
    refused = batch.refused
    assert len(refused) == 1 and refused[0].path.name == name
    assert expected.lower() in refused[0].message.lower()
    assert name in refused[0].message
    assert query(db, "select count(*) from raw.payments")[0][0] == 1


def test_forcing_the_wrong_entity_refuses_the_file(db, tmp_path):
    batch = ingest_paths([good_payments(tmp_path)], db, entity="invoices")
    assert batch.refused and "required columns of invoices" in batch.refused[0].message


def test_cli_ingest_exits_non_zero_when_a_file_is_refused_and_still_loads_the_rest(db, tmp_path):
    (tmp_path / "in").mkdir()
    good_payments(tmp_path / "in")
    (tmp_path / "in" / "empty.csv").write_bytes(b"")
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "in"), "--db", str(db)])
    assert result.exit_code == 1
    assert "empty.csv" in result.output and "refused" in result.output
    assert query(db, "select count(*) from raw.payments")[0][0] == 1


def test_cli_quarantine_shows_reasons(db, tmp_path):
    path = tmp_path / "payments__2024-01.csv"
    path.write_text(PAYMENTS_HEADER + "\nP1,C1,I1,not-a-date,10.00,RUB\n", encoding="utf-8")
    ingest_paths([path], db)
    result = CliRunner().invoke(cli, ["quarantine", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "bad_date:payment_date" in result.output


KILL_SCRIPT = """
import sys
from pathlib import Path
from ingest.load import ingest_paths
print("start", flush=True)
ingest_paths([Path(sys.argv[1])], Path(sys.argv[2]))
print("done", flush=True)
"""


@pytest.mark.slow
def test_a_load_killed_mid_file_leaves_no_rows_and_no_manifest_entry(db, tmp_path):
    path = tmp_path / "activities__2024-01.csv"
    con = duckdb.connect()
    con.execute(
        f"""copy (select 'A' || i AS activity_id, 'call' AS activity_type, 'outbound' AS direction,
                  '2024-01-01T10:00:00' AS occurred_at, 'ACC' || (i % 999) AS account_id, '' AS contact_id,
                  '' AS lead_id, '' AS deal_id, 'U1' AS owner_user_id, '60' AS duration_seconds, 'ok' AS outcome
            from range(3000000) t(i)) to '{path}' (header)"""
    )
    con.close()
    # A first small load creates the warehouse, so the killed load is mid-transaction, not mid-DDL.
    ingest_paths([good_payments(tmp_path)], db)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(path), str(db)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert proc.stdout.readline().strip() == b"start"
    time.sleep(2.0)
    assert proc.poll() is None, "the load finished before it could be killed; use a bigger file"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert query(db, "select count(*) from raw.activities")[0][0] == 0
    assert query(db, "select count(*) from quarantine.activities")[0][0] == 0
    assert query(db, "select entity from meta.load_manifest") == [("payments",)]
    # and the file loads fine afterwards
    batch = ingest_paths([path], db)
    assert batch.files[0].rows_loaded == 3_000_000
