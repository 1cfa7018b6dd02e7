"""The quality suites as Dagster asset checks: one per suite on the asset it is about,
blocking by severity, and a blocking failure after ingest keeps what is downstream from
running."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.resources import WRITER_POOL, CrmwResource
from ingest.contracts import CONTRACTS
from quality.catalogue import all_suites
from warehouse.settings import Settings

COUNTERPARTIES = "counterparty_id,name,inn\nC1,ООО Альфа,7707083893\nC2,ООО Бета,7736050003\n"


@pytest.fixture(scope="module")
def quality_defs():
    from dagster_project.defs import ingest, quality, warehouse

    return dg.Definitions.merge(
        ingest.defs, warehouse.defs, quality.defs, dg.Definitions(resources={"crmw": CrmwResource()})
    )


def test_every_suite_is_a_check_on_its_asset_blocking_when_its_severity_is_error(quality_defs):
    from dagster_project.defs.quality import asset_key_for

    graph = quality_defs.resolve_asset_graph()
    specs = {key: graph.get(key) for key in graph.asset_check_keys}
    for suite in all_suites():
        key = dg.AssetCheckKey(asset_key_for(suite.asset), suite.check)
        assert key in specs, suite.name
        assert specs[key].blocking == suite.blocking, suite.name
    raw_checks = {k.asset_key for k in specs if k.name == "columns_match_contract"}
    assert raw_checks == {dg.AssetKey(["raw", e]) for e in CONTRACTS}


def test_mart_checks_sit_on_the_dbt_assets_of_their_models(quality_defs):
    from dagster_dbt import get_asset_key_for_model

    from dagster_project.defs.warehouse import dbt_warehouse

    keys = quality_defs.resolve_asset_graph().asset_check_keys
    fct_invoices = get_asset_key_for_model([dbt_warehouse], "fct_invoices")
    assert dg.AssetCheckKey(fct_invoices, "invoiced_and_paid_match_raw_per_month") in keys
    assert dg.AssetCheckKey(fct_invoices, "money_is_not_negative") in keys


def test_the_check_steps_write_in_the_writer_pool():
    from dagster_project.defs.quality import mart_data_quality, raw_data_quality

    assert raw_data_quality.op.pool == WRITER_POOL
    assert mart_data_quality.op.pool == WRITER_POOL


@pytest.mark.slow
def test_a_snapshot_landed_twice_fails_the_blocking_key_check_and_stops_what_is_downstream(tmp_path):
    from dagster_project.defs.ingest import raw_events, raw_key, raw_snapshots
    from dagster_project.defs.quality import raw_data_quality

    settings = Settings(home=tmp_path / "home").ensure()
    finance = settings.landing_dir / "finance"
    finance.mkdir(parents=True)
    (finance / "counterparties__2024-06-30.csv").write_text(COUNTERPARTIES, encoding="utf-8")
    (finance / "counterparties__2024-06-30 (2).csv").write_text(COUNTERPARTIES + "\n", encoding="utf-8")

    @dg.asset(deps=[raw_key("counterparties")])
    def reads_counterparties() -> None:
        return None

    result = dg.materialize(
        [raw_snapshots, raw_events, raw_data_quality, reads_counterparties],
        resources={"crmw": CrmwResource(home=str(settings.home))},
        selection=dg.AssetSelection.assets(raw_key("counterparties"), reads_counterparties),
        raise_on_error=False,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["keys_are_unique"].passed
    assert evaluations["keys_are_unique"].severity == dg.AssetCheckSeverity.ERROR
    assert evaluations["columns_match_contract"].passed
    failed = {name for name, e in evaluations.items() if not e.passed}
    assert failed == {"keys_are_unique"}
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert raw_key("counterparties") in materialized
    assert dg.AssetKey("reads_counterparties") not in materialized

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        stored = con.execute(
            "select status from meta.dq_suite_runs where suite = 'raw.counterparties.keys_are_unique'"
        ).fetchall()
    finally:
        con.close()
    assert stored == [("failed",)]
    assert (Path(settings.reports_dir) / "data_docs" / "index.html").exists()


@pytest.mark.slow
def test_the_refresh_run_with_the_quality_checks_passes_on_generated_exports(tmp_path, sample_exports):
    """ingest -> raw checks -> dbt -> mart checks, on the generator's exports (scale 0.01), with
    the project's definitions; then meta (the results) goes out with the published copy."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from dagster_project.definitions import defs
    from dagster_project.defs.quality import asset_key_for
    from quality import status_line
    from warehouse.publish import publish

    settings = Settings(home=tmp_path / "home").ensure()
    shutil.copytree(sample_exports, settings.landing_dir, dirs_exist_ok=True)
    result = defs.resolve_job_def("refresh").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={ASSET_PARTITION_RANGE_START_TAG: "2023-10", ASSET_PARTITION_RANGE_END_TAG: "2026-09"},
        resources={"crmw": CrmwResource(home=str(settings.home))},
        raise_on_error=False,
    )
    # the refresh run checks everything but the scores marts, which score_and_publish builds and checks
    refresh_keys = defs.resolve_job_def("refresh").asset_layer.executable_asset_keys
    ours = {
        dg.AssetCheckKey(asset_key_for(s.asset), s.check)
        for s in all_suites()
        if asset_key_for(s.asset) in refresh_keys
    }
    assert ours, "the refresh job should carry quality checks"
    evaluations = [e for e in result.get_asset_check_evaluations() if e.asset_check_key in ours]
    assert [e.asset_check_key.to_user_string() for e in evaluations if not e.passed] == []
    assert {e.asset_check_key for e in evaluations} == ours
    assert result.success
    assert (settings.reports_dir / "data_docs" / "index.html").exists()

    publish(settings.warehouse_path, settings.published_path)
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        line = status_line(con)
        (dbt_tests,) = con.execute(
            "select count(*) from (select arg_max(status, checked_at) as status from meta.dbt_test_results "
            "group by test_id) where status <> 'skipped'"
        ).fetchone()
    finally:
        con.close()
    assert line.endswith(f"all {len(ours) + dbt_tests} checks passed.")  # suites and dbt tests
