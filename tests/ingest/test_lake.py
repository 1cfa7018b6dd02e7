"""The lake: ingest writes raw, quarantine and the load manifest as Parquet with the warehouse's
guarantees (load once, a file's rows and manifest row together or not at all, quarantine with
reasons, rows read = loaded + quarantined), partitioned by entity and period."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.contracts import CONTRACTS
from ingest.lake import Lake, LakeError, connect_lake, quarantine_columns, raw_columns, vacuum
from ingest.load import ingest_paths
from tests.ingest.test_load import INVOICE_HEADER, write
from tests.support.homes import export_files
from warehouse.errors import WarehouseWriteFailed

# ingest lineage that differs between two loads of the same bytes
PER_LOAD = {"_batch_id", "_loaded_at", "_source_file"}


@pytest.fixture
def invoices_csv(tmp_path) -> Path:
    rows = [
        "I1,C1,2024-01-05,2024-02-05,MSK,cloud,100.50,20.10,RUB,D1",  # good
        "I2,C1,2024-13-05,,MSK,cloud,100,,RUB,",  # bad date
        "I1,C1,2024-01-05,2024-02-05,MSK,cloud,100.50,20.10,RUB,D1",  # duplicate of row 1
        "I7,C3,2024-02-11,,spb,Cloud,7,,rub,",  # good, next month
    ]
    return write(
        tmp_path / "exports" / "invoices__2024-01.csv", INVOICE_HEADER + "\n" + "\n".join(rows) + "\n"
    )


def rows(lake: Path, sql: str) -> list[tuple]:
    con = connect_lake(str(lake))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def data_files(lake: Path) -> list[str]:
    return sorted(
        str(p.relative_to(lake))
        for p in lake.rglob("*.parquet")
        if p.name != "schema.parquet" and "meta" not in p.parts
    )


def test_the_lake_holds_the_same_raw_and_quarantine_rows_as_the_warehouse(
    sample_exports, built_home, tmp_path
):
    lake = tmp_path / "lake"
    batch = ingest_paths(export_files(sample_exports), lake=lake)
    assert batch.ok
    con = connect_lake(str(lake))
    con.execute("attach ? as wh (read_only)", [str(built_home.warehouse_path)])
    try:
        for contract in CONTRACTS.values():
            for schema, columns in (
                ("raw", raw_columns(contract)),
                ("quarantine", quarantine_columns(contract)),
            ):
                cols = ", ".join(f'"{c}"' for c in columns if c not in PER_LOAD)
                table = f'{schema}."{contract.entity}"'
                only_lake, only_warehouse = (
                    con.execute(
                        f"select count(*) from (select {cols} from {a} except all select {cols} from {b})"
                    ).fetchone()[0]
                    for a, b in ((table, f"wh.{table}"), (f"wh.{table}", table))
                )
                assert (only_lake, only_warehouse) == (0, 0), table
        manifest = (
            "select file_name, rows_read, rows_loaded, rows_quarantined, status from {}meta.load_manifest"
        )
        assert sorted(con.execute(manifest.format("")).fetchall()) == sorted(
            con.execute(manifest.format("wh.")).fetchall()
        )
    finally:
        con.close()


def test_raw_rows_are_partitioned_by_entity_and_the_month_of_their_event(tmp_path, invoices_csv):
    lake = tmp_path / "lake"
    ingest_paths([invoices_csv], lake=lake)
    files = data_files(lake)
    assert {f.rsplit("/", 1)[0] for f in files} == {
        "raw/invoices/period=2024-01",
        "raw/invoices/period=2024-02",
        "quarantine/invoices/period=2024-01",
    }
    assert rows(lake, "select invoice_id from raw.invoices order by 1") == [("I1",), ("I7",)]


def test_quarantine_keeps_every_reason_and_rows_read_equal_loaded_plus_quarantined(tmp_path, invoices_csv):
    lake = tmp_path / "lake"
    ingest_paths([invoices_csv], lake=lake)
    assert rows(lake, "select _row_number, _reasons from quarantine.invoices order by 1") == [
        (2, ["bad_date:invoice_date"]),
        (3, ["duplicate_key"]),
    ]
    ((read, loaded, quarantined),) = rows(
        lake, "select rows_read, rows_loaded, rows_quarantined from meta.load_manifest"
    )
    assert (read, loaded, quarantined) == (4, 2, 2)
    assert rows(
        lake, "select (select count(*) from raw.invoices), (select count(*) from quarantine.invoices)"
    ) == [(loaded, quarantined)]


def test_a_file_is_loaded_once_and_force_replaces_its_rows_and_files(tmp_path, invoices_csv):
    lake = tmp_path / "lake"
    ingest_paths([invoices_csv], lake=lake)
    first_files = data_files(lake)
    again = ingest_paths([invoices_csv], lake=lake)
    assert [f.status for f in again.files] == ["skipped"]
    assert data_files(lake) == first_files
    forced = ingest_paths([invoices_csv], lake=lake, force=True)
    assert [f.status for f in forced.files] == ["loaded"]
    assert rows(lake, "select count(*) from raw.invoices") == [(2,)]
    assert sorted(r[0] for r in rows(lake, "select status from meta.load_manifest")) == ["loaded", "reloaded"]
    # the reloaded load's files are gone; as many new ones took their place
    assert not set(first_files) & set(data_files(lake))
    assert len(data_files(lake)) == len(first_files)


def test_a_new_version_of_a_file_supersedes_the_old_one(tmp_path, invoices_csv):
    lake = tmp_path / "lake"
    ingest_paths([invoices_csv], lake=lake)
    write(invoices_csv, INVOICE_HEADER + "\nI1,C1,2024-01-05,,MSK,cloud,999.00,,RUB,\n")
    ingest_paths([invoices_csv], lake=lake)
    assert rows(lake, "select invoice_id, amount::varchar from raw.invoices") == [("I1", "999.00")]
    assert rows(lake, "select count(*) from quarantine.invoices") == [(0,)]
    assert sorted(r[0] for r in rows(lake, "select status from meta.load_manifest")) == [
        "loaded",
        "superseded",
    ]


def test_an_event_key_loaded_from_another_file_is_quarantined_as_already_loaded(tmp_path, invoices_csv):
    lake = tmp_path / "lake"
    ingest_paths([invoices_csv], lake=lake)
    other = write(
        tmp_path / "exports" / "invoices__2024-01-resent.csv",
        INVOICE_HEADER + "\nI1,C1,2024-01-05,,MSK,cloud,5,,RUB,\n",
    )
    ingest_paths([other], lake=lake)
    assert rows(lake, "select _reasons from quarantine.invoices where _source_file like '%resent%'") == [
        (["duplicate_key:already_loaded"],)
    ]


def test_a_commit_that_fails_leaves_nothing_visible_and_no_file_behind(tmp_path, invoices_csv, monkeypatch):
    lake = tmp_path / "lake"
    ingest_paths([], lake=lake)  # an empty lake: the layout and schema files only
    before = sorted(str(p) for p in lake.rglob("*") if p.is_file())
    real_put = Lake.put

    def put_then_fail_on_the_manifest(self, local, remote):
        if "/meta/load_manifest/" in remote:
            raise OSError("disk full")
        real_put(self, local, remote)

    monkeypatch.setattr(Lake, "put", put_then_fail_on_the_manifest)
    with pytest.raises(LakeError, match="disk full.*nothing of the files being loaded is visible"):
        ingest_paths([invoices_csv], lake=lake)
    assert sorted(str(p) for p in lake.rglob("*") if p.is_file()) == before
    monkeypatch.setattr(Lake, "put", real_put)
    assert rows(lake, "select count(*) from raw.invoices") == [(0,)]
    assert [f.status for f in ingest_paths([invoices_csv], lake=lake).files] == ["loaded"]
    assert rows(lake, "select count(*) from raw.invoices") == [(2,)]


def test_files_no_load_names_are_invisible_and_vacuum_removes_them(tmp_path, invoices_csv):
    lake = tmp_path / "lake"
    ingest_paths([invoices_csv], lake=lake)
    # what a load killed before its manifest file leaves: a data file no manifest entry names
    orphan = lake / "raw" / "invoices" / "period=2024-01" / "0123456789abcdef0123-0.parquet"
    con = duckdb.connect()
    written = next((lake / "raw" / "invoices" / "period=2024-01").glob("*-0.parquet"))
    con.execute(
        f"copy (select * replace (_loaded_at + interval 1 minute as _loaded_at) from read_parquet('{written}')) "
        f"to '{orphan}' (format parquet)"
    )
    con.close()
    assert rows(lake, "select count(*) from raw.invoices") == [(2,)]
    assert vacuum(Lake(str(lake))) == [str(orphan)]
    assert not orphan.exists()
    assert rows(lake, "select count(*) from raw.invoices") == [(2,)]


def test_a_lake_can_live_behind_an_fsspec_url(tmp_path, invoices_csv):
    url = f"memory://crmw-test-{tmp_path.name}/lake"
    batch = ingest_paths([invoices_csv], lake=url)
    assert batch.ok, [f.message for f in batch.files]
    con = connect_lake(url)
    try:
        assert con.execute("select invoice_id from raw.invoices order by 1").fetchall() == [("I1",), ("I7",)]
        assert con.execute("select count(*) from quarantine.invoices").fetchone() == (2,)
    finally:
        con.close()


def test_reading_a_folder_that_is_not_a_lake_says_what_to_do(tmp_path):
    with pytest.raises(LakeError, match="ingest into it first"):
        connect_lake(str(tmp_path / "nothing-here"))


def test_ingest_writes_either_a_warehouse_or_a_lake(tmp_path, invoices_csv):
    with pytest.raises(ValueError, match="one of them"):
        ingest_paths([invoices_csv], tmp_path / "wh.duckdb", lake=tmp_path / "lake")


def test_a_full_disk_while_loading_into_a_lake_says_the_lake_not_the_warehouse(
    tmp_path, invoices_csv, monkeypatch
):
    lake = tmp_path / "lake"
    ingest_paths([], lake=lake)

    def no_room(con):  # the loader's local staging database runs out of disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ingest.load.register_udfs", no_room)
    with pytest.raises(WarehouseWriteFailed, match="No space left") as caught:
        ingest_paths([invoices_csv], lake=lake)
    assert str(caught.value).startswith(f"writing the lake {lake} failed"), caught.value
