"""The Dagster graph: definitions, partitions and backfills, the sensor, blocking
failures, and the publish step that readers never wait for."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from warehouse.publish import connect_published, publish
from warehouse.settings import Settings

INVOICE_HEADER = "invoice_id,counterparty_id,invoice_date,due_date,office_code,product_line,amount,vat_amount,currency,deal_ref"


def invoice_file(landing: Path, month: str, n: int = 3, prefix: str = "I") -> Path:
    rows = [f"{prefix}{month}-{i},C1,{month}-0{i + 1},,MSK,cloud,{10 * (i + 1)}.00,,RUB," for i in range(n)]
    path = landing / "finance" / f"invoices__{month}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(INVOICE_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("CRMW_HOME", str(tmp_path / "home"))
    settings = Settings(home=tmp_path / "home").ensure()
    (settings.landing_dir / "finance").mkdir(parents=True, exist_ok=True)
    (settings.landing_dir / "finance" / "counterparties__2024-06-30.csv").write_text(
        "counterparty_id,name,inn\nC1,ООО Альфа,7707083893\n", encoding="utf-8"
    )
    return settings


def count(db: Path, sql: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_definitions_load_with_every_domain_and_the_whole_lineage():
    from dagster_project.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "raw/invoices",
        "raw/accounts",
        "raw/web_events",
        "published_warehouse",
        "ml/churn_scores",
    } <= keys
    assert "monthly_report" in keys
    assert any(k.endswith("stg_finance__invoices") for k in keys)
    jobs = {j.name for j in defs.resolve_all_job_defs()}
    assert {"refresh", "score_and_publish", "ingest_events", "ingest_snapshots", "score_models"} <= jobs
    assert {"daily_refresh", "score_models_schedule", "render_monthly_report_schedule"} <= {
        s.name for s in defs.schedules
    }
    graph = defs.resolve_asset_graph()
    stg = next(k for k in graph.get_all_asset_keys() if k.path[-1] == "stg_finance__invoices")
    assert dg.AssetKey(["raw", "invoices"]) in graph.get(stg).parent_keys


@pytest.mark.slow
def test_a_backfill_of_three_months_loads_them_in_one_run_and_rerunning_replaces_them(home):
    from crmw.orchestrate import backfill

    for month in ("2024-01", "2024-02", "2024-03"):
        invoice_file(home.landing_dir, month)
    invoice_file(home.landing_dir, "2024-04")  # outside the backfill range
    first = backfill(home, "2024-01", "2024-03", score=False)  # four invoices are too few to train on
    assert first["success"], first
    db = home.warehouse_path
    assert count(db, "select count(*) from raw.invoices") == 9
    assert count(db, "select count(distinct _batch_id) from raw.invoices") == 1  # one run, one batch
    second = backfill(home, "2024-01", "2024-03", score=False)
    assert second["success"], second
    assert count(db, "select count(*) from raw.invoices") == 9
    assert (
        count(db, "select count(*) from meta.load_manifest where status = 'loaded'") == 4
    )  # 3 months + snapshot


def test_the_landing_sensor_requests_the_month_of_a_dropped_file_once(home):
    from dagster_project.defs.ingest import landing_sensor
    from dagster_project.resources import CrmwResource

    resource = CrmwResource(home=str(home.home))
    context = dg.build_sensor_context(resources={"crmw": resource})
    first = list(landing_sensor(context))
    assert [r.job_name for r in first] == ["ingest_snapshots"]
    invoice_file(home.landing_dir, "2024-05")
    invoice_file(home.landing_dir, "2024-07")
    context2 = dg.build_sensor_context(cursor=context.cursor, resources={"crmw": resource})
    second = list(landing_sensor(context2))
    # one run for the new months, loading only what was not loaded before
    assert [r.job_name for r in second] == ["ingest_events"]
    assert (
        second[0].tags["dagster/asset_partition_range_start"],
        second[0].tags["dagster/asset_partition_range_end"],
    ) == (
        "2024-05",
        "2024-07",
    )
    assert second[0].run_config["ops"]["raw_events"]["config"] == {"reload": False}
    context3 = dg.build_sensor_context(cursor=context2.cursor, resources={"crmw": resource})
    assert list(landing_sensor(context3)) == []


@pytest.mark.slow
def test_a_failing_blocking_check_stops_what_is_downstream(home):
    from crmw.orchestrate import run_everything
    from ingest.tables import ensure_ingest_tables
    from warehouse.connection import connect

    invoice_file(home.landing_dir, "2024-01")
    con = connect(home.warehouse_path)
    ensure_ingest_tables(con)
    # Plant a duplicate key behind ingest's back: the dbt uniqueness test must fail.
    con.execute(
        "insert into raw.invoices (invoice_id, counterparty_id, invoice_date, office_code, product_line, amount, "
        "currency) values ('X', 'C1', DATE '2023-12-01', 'MSK', 'cloud', 1, 'RUB'), "
        "('X', 'C1', DATE '2023-12-01', 'MSK', 'cloud', 1, 'RUB')"
    )
    con.close()
    result = run_everything(home, months=("2024-01", "2024-01"))
    assert not result["success"]
    # the blocking key check on raw/invoices catches it before dbt does
    assert "raw_data_quality" in result["failed_steps"], result["failed_steps"]
    assert not any(step.startswith(("ml_scores", "monthly_report")) for step in result["failed_steps"])
    assert not home.published_path.exists(), "publish must not run after a failed build"
    instance = dg.DagsterInstance.get()
    assert instance.get_latest_materialization_event(dg.AssetKey(["ml", "churn_scores"])) is None


def test_a_reader_holding_the_published_copy_never_blocks_the_next_publish_and_never_sees_half(tmp_path):
    warehouse, published = tmp_path / "warehouse.duckdb", tmp_path / "published.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute(
        "create schema marts; create table marts.t as select 1 AS version, range AS i from range(1000)"
    )
    con.close()
    publish(warehouse, published)
    reader = connect_published(published)
    assert reader.execute("select count(*), max(version) from marts.t").fetchone() == (1000, 1)

    con = duckdb.connect(str(warehouse))
    con.execute("create or replace table marts.t as select 2 AS version, range AS i from range(2000)")
    con.close()
    publish(warehouse, published)  # must not wait for or fail on the open reader

    # the old reader keeps a complete, consistent old snapshot
    assert reader.execute("select count(*), max(version) from marts.t").fetchone() == (1000, 1)
    reader.close()
    fresh = connect_published(published)
    assert fresh.execute("select count(*), max(version) from marts.t").fetchone() == (2000, 2)
    fresh.close()
    assert not list(tmp_path.glob(".published*.tmp"))


def test_published_copy_is_read_only(tmp_path):
    warehouse, published = tmp_path / "warehouse.duckdb", tmp_path / "published.duckdb"
    duckdb.connect(str(warehouse)).execute("create schema marts; create table marts.t (i int)").close()
    publish(warehouse, published)
    reader = connect_published(published)
    with pytest.raises(duckdb.Error):
        reader.execute("insert into marts.t values (1)")
    reader.close()
    shutil.rmtree(tmp_path, ignore_errors=True)
