"""Files of one kind load together (one read, one transaction): the result must be exactly
what loading them one by one gives, and a bad file must still be refused alone."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import group
from ingest.load import ingest_paths

HEADER = "invoice_id,counterparty_id,invoice_date,due_date,office_code,product_line,amount,vat_amount,currency,deal_ref"

row = st.builds(
    lambda key, day, amount, extra: (
        f"{key},C1,{day},,MSK,cloud,{amount},,RUB,D1" + (",surplus" if extra else "")
    ),
    key=st.sampled_from(["I1", "I2", "I3", "I4", ""]),
    day=st.sampled_from(["2024-01-05", "2024-01-20", "2024-02-03", "2024-02-28", "2024-13-01"]),
    amount=st.sampled_from(["1", "2.50", "x", "-3"]),
    extra=st.sampled_from([False, False, False, True]),  # a record with too many fields
)
files_strategy = st.lists(st.lists(row, max_size=6), min_size=1, max_size=4)


def _snapshot(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in ("raw.invoices", "quarantine.invoices"):
            out[table] = sorted(
                con.execute(f"select * exclude (_batch_id, _loaded_at) from {table}").fetchall(), key=repr
            )
        out["manifest"] = con.execute(
            "select file_name, rows_read, rows_loaded, rows_quarantined, rows_flagged, period_start, "
            "period_end, status from meta.load_manifest order by file_name"
        ).fetchall()
        return out
    finally:
        con.close()


def _write(folder: Path, files: list[list[str]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, rows in enumerate(files):
        path = folder / f"invoices__part{k}.csv"
        path.write_text(HEADER + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
        paths.append(path)
    return paths


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=files_strategy)
def test_one_batch_loads_exactly_what_loading_file_by_file_loads(files):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = _write(tmp / "exports", files)
        together = ingest_paths(paths, tmp / "a" / "wh.duckdb")
        for path in paths:
            ingest_paths([path], tmp / "b" / "wh.duckdb")
        assert _snapshot(tmp / "a" / "wh.duckdb") == _snapshot(tmp / "b" / "wh.duckdb")
        assert all(f.status in ("loaded", "skipped") for f in together.files)


def test_files_of_one_kind_are_read_in_one_group(tmp_path, monkeypatch):
    paths = _write(
        tmp_path / "exports",
        [["I1,C1,2024-01-05,,MSK,cloud,1,,RUB,"], ["I2,C1,2024-01-06,,MSK,cloud,1,,RUB,"]],
    )
    sizes = []
    original = group.load_rows
    monkeypatch.setattr(
        group,
        "load_rows",
        lambda con, items, *a, **kw: sizes.append(len(items)) or original(con, items, *a, **kw),
    )
    batch = ingest_paths(paths, tmp_path / "wh.duckdb")
    assert sizes == [2]
    assert [f.rows_loaded for f in batch.files] == [1, 1]


def test_a_group_that_fails_loads_file_by_file_and_refuses_only_the_bad_file(tmp_path, monkeypatch):
    paths = _write(
        tmp_path / "exports",
        [[f"I{k},C1,2024-01-0{k},,MSK,cloud,1,,RUB,"] for k in range(1, 4)],
    )
    original = group.load_rows

    def failing(con, items, *args, **kwargs):
        if any(item.path.name == "invoices__part1.csv" for item in items):
            raise duckdb.ConversionException("planted failure")
        return original(con, items, *args, **kwargs)

    monkeypatch.setattr(group, "load_rows", failing)
    batch = ingest_paths(paths, tmp_path / "wh.duckdb")
    assert [f.status for f in batch.files] == ["loaded", "refused", "loaded"]
    assert "invoices__part1.csv" in batch.files[1].message and "planted failure" in batch.files[1].message
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        assert con.execute("select invoice_id from raw.invoices order by 1").fetchall() == [("I1",), ("I3",)]
        assert con.execute("select file_name from meta.load_manifest order by 1").fetchall() == [
            ("invoices__part0.csv",),
            ("invoices__part2.csv",),
        ]
    finally:
        con.close()


@pytest.mark.parametrize("second", ["same content", "same name"])
def test_versions_of_one_file_in_a_batch_load_one_after_the_other(tmp_path, second):
    first = tmp_path / "a" / "invoices__2024-01.csv"
    first.parent.mkdir()
    first.write_text(HEADER + "\nI1,C1,2024-01-05,,MSK,cloud,1,,RUB,\n")
    other = tmp_path / "b" / "invoices__2024-01.csv"
    other.parent.mkdir()
    if second == "same content":
        other = other.with_name("invoices__copy.csv")
        other.write_text(first.read_text())
    else:
        other.write_text(HEADER + "\nI2,C1,2024-01-05,,MSK,cloud,1,,RUB,\n")
    batch = ingest_paths([first, other], tmp_path / "wh.duckdb")
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        ids = con.execute("select invoice_id from raw.invoices").fetchall()
    finally:
        con.close()
    if second == "same content":
        assert [f.status for f in batch.files] == ["loaded", "skipped"] and ids == [("I1",)]
    else:
        assert [f.status for f in batch.files] == ["loaded", "loaded"] and ids == [("I2",)]


def test_header_only_exports_of_different_months_each_load_once(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    months = [folder / f"invoices__2024-0{m}.csv" for m in (1, 2, 3)]
    for path in months:
        path.write_text(HEADER + "\n")  # a month without invoices: the same bytes every time
    first = ingest_paths(months, tmp_path / "wh.duckdb")
    assert [f.status for f in first.files] == ["loaded", "loaded", "loaded"]
    again = ingest_paths([months[1]], tmp_path / "wh.duckdb")
    assert [f.status for f in again.files] == ["skipped"]
    forced = ingest_paths([months[1]], tmp_path / "wh.duckdb", force=True)
    assert [f.status for f in forced.files] == ["loaded"]
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        assert con.execute(
            "select file_name, status, rows_read from meta.load_manifest order by file_name, status"
        ).fetchall() == [
            ("invoices__2024-01.csv", "loaded", 0),
            ("invoices__2024-02.csv", "loaded", 0),
            ("invoices__2024-02.csv", "reloaded", 0),
            ("invoices__2024-03.csv", "loaded", 0),
        ]
    finally:
        con.close()
