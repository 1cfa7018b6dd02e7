"""The faults a hostile-input run found (issue 20), each a test: rows lost or a hang, values changed
silently, and the smaller ones. docs/operations.md ("Guarantees") names these tests."""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

import ingest.group
from crmw.cli import cli
from ingest.load import ingest_paths
from ingest.readers import XLSX_MAX_SECONDS

INVOICE_HEADER = "invoice_id,counterparty_id,invoice_date,due_date,office_code,product_line,amount,vat_amount,currency,deal_ref"


def query(db: Path, sql: str, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "wh" / "warehouse.duckdb"


def invoice_rows(n: int, first: int = 1, day: str = "2024-01-05") -> list[str]:
    return [f"I{i},C1,{day},,MSK,cloud,100.50,20.10,RUB,D{i}" for i in range(first, first + n)]


def write_rows(path: Path, rows: list[str], header: str = INVOICE_HEADER, end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((end.join([header, *rows]) + end).encode())
    return path


# --------------------------------------------------------------------------- 1. same name, two folders
def test_the_same_file_name_in_two_folders_is_two_files_and_a_new_version_replaces_only_its_own(db, tmp_path):
    folder = tmp_path / "l1"
    january = write_rows(folder / "2024-01" / "invoices.csv", invoice_rows(57))
    write_rows(folder / "2024-02" / "invoices.csv", invoice_rows(34, first=100, day="2024-02-05"))

    result = CliRunner().invoke(cli, ["ingest", str(folder), "--db", str(db)])

    assert result.exit_code == 0, result.output
    assert "91 rows loaded" in result.output
    assert query(db, "select count(*) from raw.invoices") == [(91,)]
    assert sorted(query(db, "select file_key from meta.load_manifest")) == [
        ("2024-01/invoices.csv",),
        ("2024-02/invoices.csv",),
    ]
    # January corrected: it replaces January's rows, February's stay
    write_rows(january, invoice_rows(50))
    batch = ingest_paths([folder], db)
    assert [f.status for f in batch.files] == ["loaded", "skipped"]
    assert query(db, "select count(*) from raw.invoices") == [(84,)]
    assert query(db, "select status, count(*) from meta.load_manifest group by 1 order by 1") == [
        ("loaded", 2),
        ("superseded", 1),
    ]


def test_files_under_the_landing_folder_keep_their_identity_however_they_are_given(db, tmp_path):
    landing = tmp_path / "landing"
    path = write_rows(landing / "finance" / "invoices.csv", invoice_rows(3))
    ingest_paths([landing], db, landing=landing)
    write_rows(path, invoice_rows(2))
    ingest_paths([path], db, landing=landing)  # the file by itself: still finance/invoices.csv
    assert query(db, "select count(*) from raw.invoices") == [(2,)]
    assert query(db, "select file_key, status from meta.load_manifest order by status") == [
        ("finance/invoices.csv", "loaded"),
        ("finance/invoices.csv", "superseded"),
    ]


# --------------------------------------------------------------------------- 2. an unclosed quote
def test_an_unclosed_quote_costs_one_record_not_the_rest_of_the_file(db, tmp_path):
    rows = invoice_rows(34)
    rows[4] = rows[4].replace(",RUB,", ',RUB,"')
    path = write_rows(tmp_path / "invoices__2024-01.csv", rows)

    (result,) = ingest_paths([path], db).files

    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (34, 33, 1)
    assert "record 5" in result.message and "quote" in result.message
    assert query(db, "select _row_number, _reasons from quarantine.invoices") == [
        (5, ["malformed_row:unterminated_quote"])
    ]
    assert query(db, "select rows_read, rows_loaded, rows_quarantined from meta.load_manifest") == [
        (34, 33, 1)
    ]
    numbers = [n for (n,) in query(db, "select _row_number from raw.invoices order by 1")]
    assert numbers == [n for n in range(1, 35) if n != 5]


def test_two_stray_quotes_that_close_each_other_cost_two_records(db, tmp_path):
    rows = invoice_rows(34)
    rows[4] = rows[4].replace(",RUB,", ',RUB,"')
    rows[20] = rows[20].replace(",RUB,", ',RUB,"')
    path = write_rows(tmp_path / "invoices__2024-01.csv", rows)

    (result,) = ingest_paths([path], db).files

    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (34, 32, 2)
    assert [n for (n,) in query(db, "select _row_number from quarantine.invoices order by 1")] == [5, 21]


def test_a_quoted_value_over_several_lines_is_still_one_record(db, tmp_path):
    rows = invoice_rows(3)
    rows[1] = rows[1].replace(",D2", ',"line one\nline two"')
    path = write_rows(tmp_path / "invoices__2024-01.csv", rows)
    (result,) = ingest_paths([path], db).files
    assert (result.rows_read, result.rows_loaded) == (3, 3) and not result.message
    assert query(db, "select deal_ref from raw.invoices where _row_number = 2") == [("line one\nline two",)]


# --------------------------------------------------------------------------- 3, 4. XLSX
def xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def payments(n: int, first: int = 1) -> list[list]:
    header = ["payment_id", "counterparty_id", "invoice_id", "payment_date", "amount", "currency"]
    return [header] + [[f"P{i}", "C1", f"I{i}", "2024-03-01", 10.5, "RUB"] for i in range(first, first + n)]


def rewrite_sheet_xml(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    name = next(n for n in members if n.startswith("xl/worksheets/sheet"))
    members[name] = edit(members[name].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)


def test_an_xlsx_sheet_whose_dimension_is_too_small_loads_every_row(db, tmp_path):
    path = xlsx(tmp_path / "payments__2024-03.xlsx", {"Sheet1": payments(34)})
    rewrite_sheet_xml(path, lambda xml: re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:J10"', xml))
    (result,) = ingest_paths([path], db).files
    assert (result.rows_read, result.rows_loaded) == (34, 34)


def test_a_second_sheet_of_the_same_export_loads_and_a_sheet_of_other_data_refuses_the_workbook(db, tmp_path):
    split = xlsx(tmp_path / "payments__2024-03.xlsx", {"A": payments(20), "B": payments(14, first=21)})
    (result,) = ingest_paths([split], db).files
    assert (result.rows_read, result.rows_loaded) == (34, 34)

    other = xlsx(
        tmp_path / "payments__2024-04.xlsx", {"Payments": payments(5), "Notes": [["note"], ["made by hand"]]}
    )
    (result,) = ingest_paths([other], db).files
    assert result.status == "refused" and "sheet 'Notes'" in result.message


def test_a_cell_at_the_last_column_and_row_does_not_hang_ingest(db, tmp_path):
    from openpyxl import load_workbook

    path = xlsx(tmp_path / "payments__2024-03.xlsx", {"Sheet1": payments(3)})
    workbook = load_workbook(path)
    workbook.active["XFD1048576"] = "x"
    workbook.save(path)
    assert path.stat().st_size < 20_000

    started = time.monotonic()
    (result,) = ingest_paths([path], db).files

    assert time.monotonic() - started < 60
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 3, 1)
    assert query(db, "select _reasons from quarantine.payments") == [(["malformed_row:too_many_columns"],)]


def test_a_workbook_that_takes_too_long_or_unpacks_too_large_is_refused_and_the_lock_released(
    db, tmp_path, monkeypatch
):
    path = xlsx(tmp_path / "payments__2024-03.xlsx", {"Sheet1": payments(3)})
    monkeypatch.setattr("ingest.readers.XLSX_MAX_SECONDS", 0.0)
    (result,) = ingest_paths([path], db).files
    assert result.status == "refused" and "took longer than" in result.message
    monkeypatch.setattr("ingest.readers.XLSX_MAX_SECONDS", XLSX_MAX_SECONDS)
    monkeypatch.setattr("ingest.readers.XLSX_MAX_XML_BYTES", 100)
    (result,) = ingest_paths([path], db).files
    assert result.status == "refused" and "unpacks to" in result.message
    duckdb.connect(str(db)).close()  # the warehouse is free again


# --------------------------------------------------------------------------- 6. a 20 MB JSON line
def test_a_json_line_of_twenty_megabytes_is_quarantined_and_the_other_lines_load(db, tmp_path):
    lines = [
        json.dumps(
            {
                "event_id": f"E{i}",
                "event_at": "2024-01-01T10:00:00",
                "visitor_id": "v",
                "event_type": "page_view",
            }
        )
        for i in range(200)
    ]
    lines[50] = lines[50].replace('"v"', '"' + "v" * (20 * 1024 * 1024) + '"')
    path = tmp_path / "web_events__2024-01.jsonl"
    path.write_text("\n".join(lines) + "\n")

    (result,) = ingest_paths([path], db).files

    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (200, 199, 1)
    ((number, reasons, size),) = query(
        db, "select _row_number, _reasons, length(_raw_line) from quarantine.web_events"
    )
    assert number == 51 and reasons == ["malformed_row:line_size_over_maximum"] and size < 100_000


# --------------------------------------------------------------------------- 7. file text as markup
def test_file_text_that_looks_like_console_markup_is_printed_as_it_is(db, tmp_path):
    path = write_rows(
        tmp_path / "in [/]" / "[/b]invoices.csv",
        ["I1,C1,2024-01-05,,MSK,cloud,1,,RUB,,x", "I2,C1,not-a-date,,MSK,cloud,1,,RUB,,y"],
        header=INVOICE_HEADER + ",[/b] total",
    )
    result = CliRunner().invoke(cli, ["ingest", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "1 rows loaded, 1 quarantined" in result.output
    result = CliRunner().invoke(cli, ["quarantine", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "bad_date:invoice_date" in result.output


# --------------------------------------------------------------------------- 8. appended while loading
def test_a_file_that_changes_while_it_loads_is_refused_and_nothing_of_it_kept(db, tmp_path, monkeypatch):
    path = write_rows(tmp_path / "invoices__2024-01.csv", invoice_rows(10))
    original = ingest.group.load_rows

    def appending(con, items, *args, **options):
        counts = original(con, items, *args, **options)
        with path.open("a") as fh:  # the export is still being written
            fh.write("\n".join(invoice_rows(5, first=11)) + "\n")
        return counts

    monkeypatch.setattr(ingest.group, "load_rows", appending)
    (result,) = ingest_paths([path], db).files
    assert result.status == "refused" and "changed while it was loaded" in result.message
    assert query(db, "select count(*) from raw.invoices") == [(0,)]
    assert query(db, "select count(*) from meta.load_manifest") == [(0,)]

    monkeypatch.setattr(ingest.group, "load_rows", original)
    (result,) = ingest_paths([path], db).files
    assert (result.status, result.rows_loaded) == ("loaded", 15)


# --------------------------------------------------------------------------- values changed silently
@pytest.mark.parametrize(
    ("dialect", "amount", "stored"),
    [
        ("generic", "12.345", None),
        ("generic", "12.340", "12.34"),
        ("generic", "12.3", "12.30"),
        ("ru_accounting", "1.234", None),
        ("ru_accounting", "1,234", None),
        ("ru_accounting", "1 234,50", "1234.50"),
        ("ru_accounting", "12.5", "12.50"),
    ],
)
def test_an_ambiguous_number_is_quarantined_never_rounded(db, tmp_path, dialect, amount, stored):
    if dialect == "generic":
        path = write_rows(
            tmp_path / "invoices__2024-01.csv", [f'I1,C1,2024-01-05,,MSK,cloud,"{amount}",,RUB,']
        )
    else:
        header = "Номер счета;Код контрагента;Дата;Подразделение;Номенклатурная группа;Сумма;Валюта"
        path = tmp_path / "invoices__2024-01.csv"
        path.write_text(f"{header}\nI1;C1;05.01.2024;MSK;cloud;{amount};RUB\n", encoding="utf-8")
    (result,) = ingest_paths([path], db).files
    assert result.dialect == dialect, result.message
    if stored is None:
        assert query(db, "select amount, _reasons from quarantine.invoices") == [
            (amount, ["ambiguous_number:amount"])
        ]
    else:
        assert query(db, "select amount::varchar from raw.invoices") == [(stored,)]


# --------------------------------------------------------------------------- smaller
def test_a_file_with_carriage_returns_only_is_read(db, tmp_path):
    path = write_rows(tmp_path / "invoices__2024-01.csv", invoice_rows(4), end="\r")
    (result,) = ingest_paths([path], db).files
    assert (result.status, result.rows_read, result.rows_loaded) == ("loaded", 4, 4)


def test_a_json_array_is_read_and_an_array_of_other_things_is_called_an_array(db, tmp_path):
    events = [
        {"event_id": f"E{i}", "event_at": "2024-01-01T10:00:00", "visitor_id": "v", "event_type": "page_view"}
        for i in range(3)
    ]
    path = tmp_path / "web_events__2024-01.json"
    path.write_text(json.dumps(events + ["not an object"]))
    (result,) = ingest_paths([path], db).files
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 3, 1)

    numbers = tmp_path / "web_events__2024-02.json"
    numbers.write_text("[1, 2, 3]")
    (result,) = ingest_paths([numbers], db).files
    assert result.status == "refused" and "JSON array" in result.message


def test_links_out_of_the_folder_are_not_followed_and_broken_links_are_reported(db, tmp_path):
    secret = tmp_path / "outside" / "shadow.csv"
    secret.parent.mkdir()
    secret.write_text("root:secret-hash:19000:0:99999:7:::\n")
    folder = tmp_path / "in"
    write_rows(folder / "invoices__2024-01.csv", invoice_rows(2))
    (folder / "leak.csv").symlink_to(secret)
    (folder / "gone.csv").symlink_to(tmp_path / "nowhere.csv")

    batch = ingest_paths([folder], db)

    statuses = {f.path.name: (f.status, f.message) for f in batch.files}
    assert statuses["invoices__2024-01.csv"][0] == "loaded"
    assert statuses["leak.csv"][0] == "refused" and "outside the folder" in statuses["leak.csv"][1]
    assert statuses["gone.csv"][0] == "refused" and "broken link" in statuses["gone.csv"][1]
    assert "secret-hash" not in json.dumps(query(db, "select * from meta.refused_files"), default=str)


def test_quarantine_accepts_only_entity_names(db, tmp_path):
    ingest_paths([write_rows(tmp_path / "invoices__2024-01.csv", invoice_rows(1))], db)
    result = CliRunner().invoke(cli, ["quarantine", "--db", str(db), "--entity", "invoices; drop table x"])
    assert result.exit_code == 2 and "invalid value for '--entity'" in result.output
