"""Loading: quarantine with reasons, load once, versions, reconciliation, dialects, formats."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from ingest.dialects import RU_ACCOUNTING
from ingest.load import ingest_paths

INVOICE_HEADER = "invoice_id,counterparty_id,invoice_date,due_date,office_code,product_line,amount,vat_amount,currency,deal_ref"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def query(db: Path, sql: str, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "wh" / "warehouse.duckdb"


@pytest.fixture
def invoices_csv(tmp_path) -> Path:
    rows = [
        "I1,C1,2024-01-05,2024-02-05,MSK,cloud,100.50,20.10,RUB,D1",  # good
        "I2,C1,2024-13-05,,MSK,cloud,100,,RUB,",  # bad date
        "I3,C2,2024-01-07,,XXX,cloud,-5,,RUB,",  # unknown office and negative amount
        "I1,C1,2024-01-05,2024-02-05,MSK,cloud,100.50,20.10,RUB,D1",  # duplicate of row 1
        ",C3,2024-01-09,,MSK,cloud,1,,RUB,",  # missing key
        "I6,C3,2024-01-10,,MSK,cloud,12x,,RUB,",  # bad number
        "I7,C3,2024-01-11,,spb,Cloud,7,,rub,",  # good: enums are case-insensitive
    ]
    return write(
        tmp_path / "exports" / "invoices__2024-01.csv", INVOICE_HEADER + "\n" + "\n".join(rows) + "\n"
    )


def test_bad_rows_go_to_quarantine_with_every_reason_and_good_rows_to_raw(db, invoices_csv):
    batch = ingest_paths([invoices_csv], db)
    assert batch.ok
    assert query(
        db, "select invoice_id, amount::varchar, office_code, currency from raw.invoices order by 1"
    ) == [
        ("I1", "100.50", "MSK", "RUB"),
        ("I7", "7.00", "SPB", "RUB"),
    ]
    reasons = dict(query(db, "select _row_number, _reasons from quarantine.invoices"))
    assert reasons == {
        2: ["bad_date:invoice_date"],
        3: ["bad_enum:office_code", "out_of_range:amount"],
        4: ["duplicate_key"],
        5: ["missing_required:invoice_id"],
        6: ["bad_number:amount"],
    }


def test_quarantine_keeps_the_raw_text_of_every_column(db, invoices_csv):
    ingest_paths([invoices_csv], db)
    assert query(db, "select amount, office_code from quarantine.invoices where _row_number = 3") == [
        ("-5", "XXX")
    ]
    assert query(db, "select invoice_id, amount from quarantine.invoices where _row_number = 4") == [
        ("I1", "100.50")
    ]


def test_rows_read_equal_rows_loaded_plus_quarantined_in_the_manifest(db, invoices_csv):
    ingest_paths([invoices_csv], db)
    ((read, loaded, quarantined),) = query(
        db, "select rows_read, rows_loaded, rows_quarantined from meta.load_manifest"
    )
    assert (read, loaded, quarantined) == (7, 2, 5)
    assert query(db, "select count(*) from raw.invoices")[0][0] == loaded
    assert query(db, "select count(*) from quarantine.invoices")[0][0] == quarantined


def test_raw_rows_carry_lineage(db, invoices_csv):
    batch = ingest_paths([invoices_csv], db)
    rows = query(
        db, "select _source_file, _row_number, _batch_id, length(_content_hash) from raw.invoices order by 2"
    )
    assert rows == [
        (str(invoices_csv.resolve()), 1, batch.batch_id, 64),
        (str(invoices_csv.resolve()), 7, batch.batch_id, 64),
    ]


def test_a_file_already_loaded_is_skipped_and_force_reloads_it(db, invoices_csv):
    ingest_paths([invoices_csv], db)
    again = ingest_paths([invoices_csv], db)
    assert [f.status for f in again.files] == ["skipped"]
    assert "already loaded" in again.files[0].message
    assert query(db, "select count(*) from raw.invoices")[0][0] == 2
    forced = ingest_paths([invoices_csv], db, force=True)
    assert [f.status for f in forced.files] == ["loaded"]
    assert query(db, "select count(*) from raw.invoices")[0][0] == 2
    assert query(db, "select count(*) from quarantine.invoices")[0][0] == 5
    assert sorted(r[0] for r in query(db, "select status from meta.load_manifest")) == ["loaded", "reloaded"]


def test_a_changed_file_with_the_same_name_is_a_new_version_that_supersedes_the_old(db, invoices_csv):
    ingest_paths([invoices_csv], db)
    write(
        invoices_csv,
        INVOICE_HEADER + "\nI1,C1,2024-01-05,,MSK,cloud,999.00,,RUB,\nI9,C1,2024-01-06,,MSK,cloud,1,,RUB,\n",
    )
    batch = ingest_paths([invoices_csv], db)
    assert batch.files[0].status == "loaded"
    assert query(db, "select invoice_id, amount::varchar from raw.invoices order by 1") == [
        ("I1", "999.00"),
        ("I9", "1.00"),
    ]
    assert query(db, "select count(*) from quarantine.invoices")[0][0] == 0
    assert sorted(r[0] for r in query(db, "select status from meta.load_manifest")) == [
        "loaded",
        "superseded",
    ]


def test_an_event_key_already_loaded_from_another_file_is_quarantined_as_duplicate(
    db, tmp_path, invoices_csv
):
    ingest_paths([invoices_csv], db)
    other = write(
        tmp_path / "exports" / "invoices_resent.csv",
        INVOICE_HEADER + "\nI7,C3,2024-01-11,,SPB,cloud,7,,RUB,\nI8,C3,2024-01-11,,SPB,cloud,8,,RUB,\n",
    )
    ingest_paths([other], db)
    assert query(db, "select invoice_id from raw.invoices order by 1") == [("I1",), ("I7",), ("I8",)]
    assert query(
        db, "select invoice_id, _reasons from quarantine.invoices where _source_file like '%resent%'"
    ) == [("I7", ["duplicate_key:already_loaded"])]


def test_ru_accounting_export_in_cp1251_is_detected_and_parsed(db, tmp_path):
    text = (
        "Номер счета;Код контрагента;Дата;Срок оплаты;Подразделение;Номенклатурная группа;Сумма;Сумма НДС;Валюта\n"
        "СЧ-1;К001;31.01.2024;15.02.2024;MSK;licenses;1 234 567,89;246\u00a0913,58;RUB\n"
        "СЧ-2;К001;30.02.2024;;MSK;licenses;10,00;;RUB\n"
    )
    path = write(tmp_path / "Счета.csv", text, encoding="cp1251")
    batch = ingest_paths([path], db)
    assert (batch.files[0].entity, batch.files[0].dialect) == ("invoices", "ru_accounting")
    assert query(
        db, "select invoice_id, invoice_date::varchar, amount::varchar, vat_amount::varchar from raw.invoices"
    ) == [("СЧ-1", "2024-01-31", "1234567.89", "246913.58")]
    assert query(db, "select _reasons from quarantine.invoices") == [(["bad_date:invoice_date"],)]
    assert query(db, "select encoding from meta.load_manifest") == [("cp1251",)]


def test_ru_accounting_export_in_utf8_with_bom_is_read(db, tmp_path):
    headers = list(RU_ACCOUNTING.headers["counterparties"])
    text = ";".join(headers) + "\nК1;ООО «Ромашка»;7707083893;770701001;Москва;ул. Мира, 1;01.02.2020\n"
    path = write(tmp_path / "counterparties.csv", "\ufeff" + text)
    ingest_paths([path], db)
    assert query(db, "select counterparty_id, name, inn from raw.counterparties") == [
        ("К1", "ООО «Ромашка»", "7707083893")
    ]


def test_counterparty_with_a_wrong_inn_check_digit_is_quarantined(db, tmp_path):
    path = write(
        tmp_path / "counterparties__2024-06-30.csv",
        "counterparty_id,name,inn\nC1,ООО Альфа,7707083893\nC2,ООО Бета,7707083894\n",
    )
    ingest_paths([path], db)
    assert query(db, "select counterparty_id, _snapshot_date::varchar from raw.counterparties") == [
        ("C1", "2024-06-30")
    ]
    assert query(db, "select counterparty_id, _reasons from quarantine.counterparties") == [
        ("C2", ["bad_inn:inn"])
    ]


def test_crm_values_that_fail_a_flag_rule_are_kept_as_null_with_the_original_recorded(db, tmp_path):
    path = write(
        tmp_path / "accounts__2024-06-30.csv", "account_id,name,inn,phone\nA1,Альфа,12345,8 (916) 123-45-67\n"
    )
    ingest_paths([path], db)
    ((inn, phone, issues, invalid),) = query(
        db, "select inn, phone, _issues, _invalid_values from raw.accounts"
    )
    assert (inn, phone, issues) == (None, "+79161234567", ["bad_inn:inn"])
    assert json.loads(invalid)["inn"] == "12345"


def test_mojibake_is_repaired_and_flagged(db, tmp_path):
    garbled = "ООО «Ромашка»".encode().decode("cp1251")
    path = write(
        tmp_path / "accounts__2024-06-30.csv", f"account_id,name\nA1,{garbled}\nA2,Сёмин и партнёры\n"
    )
    ingest_paths([path], db)
    assert query(db, "select account_id, name, _issues from raw.accounts order by 1") == [
        ("A1", "ООО «Ромашка»", ["repaired_mojibake:name"]),
        ("A2", "Сёмин и партнёры", None),
    ]


def test_json_lines_are_read_and_unknown_keys_kept_as_extras(db, tmp_path):
    lines = [
        {
            "event_id": "e1",
            "event_at": "2024-01-01T10:00:00",
            "visitor_id": "v1",
            "event_type": "page_view",
            "browser": "x",
        },
        "{not json",
        {
            "event_id": "e2",
            "event_at": "2024-01-01 10:00:01",
            "visitor_id": "v1",
            "event_type": "ad_click",
            "utm_source": "ya",
        },
    ]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    path = write(tmp_path / "web_events__2024-01.jsonl", text)
    batch = ingest_paths([path], db)
    assert (batch.files[0].rows_loaded, batch.files[0].rows_quarantined) == (2, 1)
    rows = query(db, "select event_id, utm_source, _extras from raw.web_events order by 1")
    assert rows[0][0] == "e1" and json.loads(rows[0][2]) == {"browser": "x"}
    assert rows[1][:2] == ("e2", "ya")
    assert query(db, "select _row_number, _reasons, _raw_line from quarantine.web_events") == [
        (2, ["malformed_row"], "{not json")
    ]


def test_xlsx_workbook_is_read(db, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["payment_id", "counterparty_id", "invoice_id", "payment_date", "amount", "currency"])
    sheet.append(["P1", "C1", "I1", datetime(2024, 3, 1), 1500.5, "RUB"])
    sheet.append(["P2", "C1", None, "not a date", 10, "RUB"])
    path = tmp_path / "payments__2024-03.xlsx"
    workbook.save(path)
    batch = ingest_paths([path], db)
    assert batch.files[0].entity == "payments"
    assert query(db, "select payment_id, payment_date::varchar, amount::varchar from raw.payments") == [
        ("P1", "2024-03-01", "1500.50")
    ]
    assert query(db, "select _reasons from quarantine.payments") == [(["bad_date:payment_date"],)]


def test_a_csv_row_with_too_many_fields_is_quarantined_and_later_rows_keep_their_numbers(db, tmp_path):
    text = (
        INVOICE_HEADER
        + "\nI1,C1,2024-01-05,,MSK,cloud,1,,RUB,\nI2,C1,2024-01-05,,MSK,cloud,1,,RUB,,extra\nI3,C1,2024-01-05,,MSK,cloud,1,,RUB,\n"
    )
    path = write(tmp_path / "invoices__2024-01.csv", text)
    ingest_paths([path], db)
    assert query(db, "select invoice_id, _row_number from raw.invoices order by 2") == [("I1", 1), ("I3", 3)]
    ((row, reasons, raw_line),) = query(
        db, "select _row_number, _reasons, _raw_line from quarantine.invoices"
    )
    assert row == 2 and reasons[0].startswith("malformed_row") and "extra" in raw_line


def test_header_decides_the_entity_when_the_file_name_says_nothing(db, tmp_path):
    path = write(
        tmp_path / "export (3).csv",
        "payment_id,counterparty_id,payment_date,amount,currency\nP1,C1,2024-01-01,5,RUB\n",
    )
    batch = ingest_paths([path], db)
    assert batch.files[0].entity == "payments"


def test_every_contract_column_written_by_csv_writer_round_trips(db, tmp_path):
    path = tmp_path / "contacts__2024-06-30.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "contact_id",
                "account_id",
                "full_name",
                "email",
                "phone",
                "job_title",
                "is_active",
                "created_at",
            ]
        )
        writer.writerow(
            [
                "K1",
                "A1",
                'Иванов, "Иван"',
                "Ivan@Example.com",
                "+7 916 123 45 67",
                "CEO\nand owner",
                "true",
                "2024-01-02T03:04:05",
            ]
        )
    ingest_paths([path], db)
    assert query(
        db, "select full_name, email, phone, job_title, is_active, created_at::varchar from raw.contacts"
    ) == [
        ('Иванов, "Иван"', "ivan@example.com", "+79161234567", "CEO\nand owner", True, "2024-01-02 03:04:05")
    ]
