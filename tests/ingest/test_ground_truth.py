"""Ingest against the generator's ground truth: the rows quarantined are exactly the
planted faults, mojibake is repaired, and every file reconciles, in every dialect the
generator writes (the vendor dialects end to end: generator writes them, ingest reads them)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from ingest.contracts import CONTRACTS
from ingest.dialects import DIALECTS as ALL_DIALECTS
from ingest.load import ingest_paths
from sample_exports import generate

DIALECTS = {
    "generic": {},
    "ru_accounting": {"finance_dialect": "ru_accounting"},
    "salesforce": {"crm_dialect": "salesforce"},
    "bitrix24": {"crm_dialect": "bitrix24", "finance_dialect": "ru_accounting"},
    "ga4": {"web_dialect": "ga4"},
}


@pytest.fixture(scope="module", params=list(DIALECTS))
def loaded(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"exports_{request.param}")
    generate(out_dir=out, scale=0.01, seed=7, messiness=0.02, **DIALECTS[request.param])
    db = tmp_path_factory.mktemp(f"wh_{request.param}") / "warehouse.duckdb"
    batch = ingest_paths([out], db)
    return out, db, batch


def quarantined(out: Path, db: Path) -> dict[tuple[str, int], list[str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = {}
        for entity in CONTRACTS:
            for file, row, reasons in con.execute(
                f'select _source_file, _row_number, _reasons from quarantine."{entity}"'
            ).fetchall():
                found[(Path(file).relative_to(out.resolve()).as_posix(), row)] = reasons
        return found
    finally:
        con.close()


def truth_rows(out: Path, name: str) -> list[dict]:
    with (out / "ground_truth" / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_no_generated_file_is_refused(loaded):
    _, _, batch = loaded
    assert batch.ok, [f.message for f in batch.refused]


def test_quarantined_rows_are_exactly_the_planted_faults_with_their_reason(loaded):
    out, db, _ = loaded
    truth = {(r["file"], int(r["row_number"])): r["reason"] for r in truth_rows(out, "quarantine.csv")}
    found = quarantined(out, db)
    assert len(truth) > 50, "the generator should plant faults at this messiness"
    assert set(found) == set(truth)
    wrong = {k: (truth[k], found[k]) for k in truth if truth[k] not in {r.split(":")[0] for r in found[k]}}
    assert wrong == {}


def test_every_planted_mojibake_value_is_repaired_and_flagged(loaded):
    out, db, _ = loaded
    repairs = truth_rows(out, "repairs.csv")
    assert repairs
    con = duckdb.connect(str(db), read_only=True)
    try:
        for r in repairs:
            entity = Path(r["file"]).name.split("__")[0]
            value, issues = con.execute(
                f'select "{r["column"]}", _issues from raw."{entity}" where _source_file = ? and _row_number = ?',
                [str((out / r["file"]).resolve()), int(r["row_number"])],
            ).fetchone()
            assert value == r["original"]
            assert f"repaired_mojibake:{r['column']}" in issues
    finally:
        con.close()


def test_every_file_reconciles_rows_read_with_rows_loaded_and_quarantined(loaded):
    out, db, _ = loaded
    con = duckdb.connect(str(db), read_only=True)
    try:
        manifest = con.execute(
            "select file_path, entity, rows_read, rows_loaded, rows_quarantined from meta.load_manifest"
        ).fetchall()
        for path, entity, read, rows_loaded, rows_quarantined in manifest:
            assert read == rows_loaded + rows_quarantined
            in_raw = con.execute(
                f'select count(*) from raw."{entity}" where _source_file = ?', [path]
            ).fetchone()[0]
            in_q = con.execute(
                f'select count(*) from quarantine."{entity}" where _source_file = ?', [path]
            ).fetchone()[0]
            assert (in_raw, in_q) == (rows_loaded, rows_quarantined), path
    finally:
        con.close()
    manifest_rows = {Path(p).relative_to(out.resolve()).as_posix(): r for p, _, r, _, _ in manifest}
    written = json.loads((out / "ground_truth" / "manifest.json").read_text())["rows_per_file"]
    for file, rows in written.items():
        if file in manifest_rows:  # header-only duplicates of another file are skipped by content
            assert manifest_rows[file] == rows, file


def test_files_are_read_in_the_dialect_they_were_written_in(loaded):
    out, db, batch = loaded
    manifest = json.loads((out / "ground_truth" / "manifest.json").read_text())
    expected = {
        "finance": manifest["finance_dialect"],
        "crm": manifest.get("crm_dialect", "generic"),
        "web": manifest.get("web_dialect", "generic"),
    }
    vendor_entities = {name: set(d.fields) for name, d in ALL_DIALECTS.items()}
    for f in batch.files:
        if f.status != "loaded":
            continue
        source = f.path.parent.name
        wanted = expected[source] if f.entity in vendor_entities[expected[source]] else "generic"
        assert f.dialect == wanted, f.path.name


def test_every_source_record_of_ground_truth_is_loaded_under_its_id(loaded):
    out, db, _ = loaded
    records = truth_rows(out, "source_records.csv")
    con = duckdb.connect(str(db), read_only=True)
    try:
        for entity in ("counterparties", "accounts", "leads", "web_events"):
            key = CONTRACTS[entity].key[0]
            loaded_ids = {
                r[0] for r in con.execute(f'select distinct "{key}" from raw."{entity}"').fetchall()
            }
            wanted = {r["record_id"] for r in records if r["entity"] == entity}
            assert wanted and wanted <= loaded_ids, entity
    finally:
        con.close()


def test_loading_the_same_exports_again_changes_nothing(loaded):
    out, db, _ = loaded
    con = duckdb.connect(str(db), read_only=True)
    before = {e: con.execute(f'select count(*) from raw."{e}"').fetchone()[0] for e in CONTRACTS}
    con.close()
    again = ingest_paths([out], db)
    assert {f.status for f in again.files} == {"skipped"}
    con = duckdb.connect(str(db), read_only=True)
    after = {e: con.execute(f'select count(*) from raw."{e}"').fetchone()[0] for e in CONTRACTS}
    con.close()
    assert after == before
