"""A daily incremental dbt build gives the same warehouse as a full refresh (scale 0.01).

The replay, as the benchmark's daily run does it: every export but the last day of each event export
is loaded and built; then the day comes (the day's events, every snapshot export re-sent under a new
name) together with the two ways a raw row disappears:

- a superseded file: a web-events month sent again under the same name without some of its rows.
  Some of those rows also came earlier in another file, with other values (an export that repeated
  them): raw still has that older copy, which must now be the one kept; the others are gone;
- a forced reload of an activities month (same content, loaded again: the old rows retired).

The build after that is incremental (with every data and unit test). Its tables are saved, the
warehouse is rebuilt with --full-refresh, and every mart and intermediate table, and the incremental
staging tables, must hold the same rows.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.contracts import get_contract
from ingest.detect import detect
from ingest.load import ingest_paths
from ingest.readers import read_header
from warehouse.dbt import BuildResult, build_warehouse
from warehouse.settings import Settings

pytestmark = pytest.mark.slow

SUPERSEDED_MONTH = "web/web_events__2026-08.csv"
RELOADED_MONTH = "crm/activities__2026-07.csv"
REPEATED_ROWS = 20  # rows of the superseded month an earlier file also had
DROPPED_EVERY = 10  # the new version of the month leaves out every tenth row (and the repeated ones)
# tables whose rows depend on when they were computed, not on the data
NOT_COMPARED = {"int_entity_records__evaluated"}
INCREMENTAL_STAGING = ("pii.stg_web__events", "staging.stg_crm__activities")


@dataclass
class Replay:
    settings: Settings
    incremental: BuildResult
    compared: list[str]  # schema.table built incrementally and saved as test_incremental.<schema>__<table>
    repeated_ids: list[str]

    def con(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.settings.warehouse_path), read_only=True)


def _export_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "ground_truth" not in p.parts)


def _split_last_day(exports: Path, out: Path) -> tuple[list[Path], list[Path], str]:
    """(files without the last day of every event export, the day's files, the day); snapshot exports
    go in full into both, under a new name on the day."""
    manifest = json.loads((exports / "ground_truth" / "manifest.json").read_text(encoding="utf-8"))
    day = date.fromisoformat(str(manifest["end_date"])).isoformat()
    con = duckdb.connect()
    base_files, day_files = [], []
    for path in _export_files(exports):
        rel = path.relative_to(exports)
        base, daily = out / "base" / rel, out / "day" / rel
        base.parent.mkdir(parents=True, exist_ok=True)
        daily.parent.mkdir(parents=True, exist_ok=True)
        contract = get_contract(detect(read_header(path, ","), path).entity)
        if contract.kind == "snapshot":
            shutil.copy(path, base)
            renamed = daily.with_name(f"{contract.entity}__{day}-daily.csv")
            shutil.copy(path, renamed)
            base_files.append(base)
            day_files.append(renamed)
            continue
        query = (
            f'select * from read_csv(?, all_varchar = true) where left("{contract.event_time}", 10) {{}} ?'
        )
        con.execute(f"copy ({query.format('<')}) to '{base}' (header)", [str(path), day])
        base_files.append(base)
        if con.execute(f"select count(*) from ({query.format('=')})", [str(path), day]).fetchone()[0]:
            target = daily.with_name(f"{contract.entity}__{day}.csv")
            con.execute(f"copy ({query.format('=')}) to '{target}' (header)", [str(path), day])
            day_files.append(target)
    con.close()
    return base_files, day_files, day


@pytest.fixture(scope="module")
def replay(sample_exports, tmp_path_factory) -> Replay:
    work = tmp_path_factory.mktemp("incremental")
    exports = sample_exports
    base, day, day_name = _split_last_day(exports, work / "split")
    assert day, f"no event export has rows on {day_name}"
    settings = Settings(home=work / "home").ensure()

    month = work / "split" / "base" / SUPERSEDED_MONTH
    con = duckdb.connect()
    rows = con.execute("select * from read_csv(?, all_varchar = true) order by event_id", [str(month)]).df()
    repeated = rows.iloc[:REPEATED_ROWS].assign(page_url=lambda f: f["page_url"].fillna("") + "?repeated")
    earlier = work / "earlier" / "web_events__repeated.csv"
    earlier.parent.mkdir(parents=True)
    repeated.to_csv(earlier, index=False)
    # the earlier export first: the month's own copies (loaded later) are the ones kept at first
    assert ingest_paths([earlier], settings.warehouse_path).ok
    assert ingest_paths(base, settings.warehouse_path).ok
    build_warehouse(settings, skip_tests=True)

    kept = rows.iloc[REPEATED_ROWS:]
    kept = kept[[i % DROPPED_EVERY != 0 for i in range(len(kept))]]
    new_version = work / "resent" / Path(SUPERSEDED_MONTH).name
    new_version.parent.mkdir(parents=True)
    kept.to_csv(new_version, index=False)
    assert ingest_paths(day, settings.warehouse_path).ok
    assert ingest_paths([new_version], settings.warehouse_path).ok
    assert ingest_paths([work / "split" / "base" / RELOADED_MONTH], settings.warehouse_path, force=True).ok
    incremental = build_warehouse(settings)

    with duckdb.connect(str(settings.warehouse_path)) as db:
        tables = db.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema in ('marts', 'intermediate') order by all"
        ).fetchall()
        compared = [f"{s}.{t}" for s, t in tables if t not in NOT_COMPARED] + list(INCREMENTAL_STAGING)
        db.execute("create schema test_incremental")
        for name in compared:
            db.execute(f"create table test_incremental.{name.replace('.', '__')} as select * from {name}")
    build_warehouse(settings, full_refresh=True, skip_tests=True)
    return Replay(settings, incremental, compared, repeated["event_id"].tolist())


def test_the_incremental_build_and_its_tests_pass(replay):
    assert replay.incremental.success
    assert not replay.incremental.failures
    assert len(replay.compared) >= 35


def test_the_replay_retired_rows_in_raw(replay):
    with replay.con() as con:
        statuses = dict(
            con.execute(
                "select status, count(*) from meta.load_manifest where status <> 'loaded' group by all"
            ).fetchall()
        )
    assert statuses == {"superseded": 1, "reloaded": 1}


def test_a_superseded_row_falls_back_to_the_copy_raw_still_has(replay):
    with replay.con() as con:
        urls = con.execute(
            "select page_url from pii.stg_web__events where event_id in (select unnest(?))",
            [replay.repeated_ids],
        ).fetchall()
        incremental_urls = con.execute(
            "select page_url from test_incremental.pii__stg_web__events where event_id in (select unnest(?))",
            [replay.repeated_ids],
        ).fetchall()
    assert len(urls) == len(incremental_urls) == REPEATED_ROWS
    assert all(u[0].endswith("?repeated") for u in incremental_urls)


def test_no_row_outlives_its_raw_row(replay):
    with replay.con() as con:
        orphans = con.execute(
            """
            select count(*) from test_incremental.pii__stg_web__events s
            anti join raw.web_events r on r.event_id = s.event_id and r._content_hash = s.source_file_hash
            """
        ).fetchone()[0]
        raw_events, built = con.execute(
            "select (select count(distinct event_id) from raw.web_events), "
            "(select count(*) from test_incremental.marts__fct_web_events)"
        ).fetchone()
    assert orphans == 0
    assert raw_events == built


@pytest.mark.parametrize(
    "table",
    [
        "marts.dim_clients",
        "marts.fct_interactions",
        "marts.fct_web_events",
        "marts.fct_invoices",
        "marts.mart_client_360",
        "intermediate.int_entity_records__resolved",
        *INCREMENTAL_STAGING,
    ],
)
def test_key_tables_are_compared(replay, table):
    assert table in replay.compared


def _columns(con, name: str) -> str:
    """The table's columns, doubles rounded: a sum of fractions (attribution credit) may differ in the
    last bit with the order DuckDB's threads add it up in, from one full build to the next as well."""
    schema, table = name.split(".")
    types = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return ", ".join(
        f'round("{c}", 6) as "{c}"' if t in ("DOUBLE", "FLOAT", "REAL") else f'"{c}"' for c, t in types
    )


def test_every_table_equals_its_full_refresh(replay):
    differing = {}
    with replay.con() as con:
        for name in replay.compared:
            saved = f"test_incremental.{name.replace('.', '__')}"
            columns = _columns(con, name)
            rows = con.execute(f"select count(*) from {name}").fetchone()[0]
            only_incremental = con.execute(
                f"select count(*) from (select {columns} from {saved} except all select {columns} from {name})"
            ).fetchone()[0]
            only_full = con.execute(
                f"select count(*) from (select {columns} from {name} except all select {columns} from {saved})"
            ).fetchone()[0]
            if only_incremental or only_full:
                differing[name] = (rows, only_incremental, only_full)
    assert differing == {}


def test_the_daily_resolution_equals_one_from_scratch_with_the_saved_model(replay):
    """The day's resolution applied the saved Splink model and scored again only the pairs that could
    have changed (resolution.linkage.PairCache): resolving the same records from scratch with that
    model and the same previous ids gives the same clients."""
    from resolution import resolve

    columns = ["record_key", "legal_entity_id", "client_id", "match_evidence", "match_probability"]
    with replay.con() as con:
        records = con.sql("select * from pii.int_entity_records").df()
        built = con.sql("select * from test_incremental.intermediate__int_entity_records__resolved").df()
    model_path = replay.settings.artifacts_dir / "splink" / "entity_records_model.json"
    previous = built[["record_key", "previous_legal_entity_id", "previous_client_id"]].dropna()
    previous.columns = ["record_key", "legal_entity_id", "client_id"]
    again = resolve(records, previous=previous, model=json.loads(model_path.read_text(encoding="utf-8")))
    assert again.stats["rescored_pairs"] == again.stats["scored_pairs"]  # no cache: every pair scored
    expected = again.records[columns].sort_values("record_key").reset_index(drop=True)
    actual = built[columns].sort_values("record_key").reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)
