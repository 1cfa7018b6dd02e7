"""The same Dagster definitions run either engine: the engine is read when a run starts
(CrmwResource), and on an engine other than DuckDB the dbt assets build in the step's process
(resolution.runner.build_warehouse) and report the events dagster-dbt would."""

from __future__ import annotations

from dataclasses import replace

import dagster as dg
import pytest

from dagster_project.resources import CrmwResource
from tests.support.homes import copy_home
from warehouse.settings import Settings

pytestmark = pytest.mark.slow


def test_the_resource_takes_the_engine_and_lake_from_the_environment_when_the_run_starts(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CRMW_HOME", str(tmp_path))
    monkeypatch.setenv("CRMW_ENGINE", "spark")
    monkeypatch.delenv("CRMW_LAKE", raising=False)
    settings = CrmwResource().settings()
    assert (settings.engine, settings.lake_url) == ("spark", str(tmp_path / "lake"))
    assert CrmwResource(engine="duckdb").settings().engine == "duckdb"


def test_on_another_engine_the_warehouse_asset_builds_in_process_and_yields_the_selected_models_events(
    built_home, tmp_path, monkeypatch
):
    from dagster_dbt import get_asset_key_for_model

    from dagster_project.defs.warehouse import SCORES_SELECTION, dbt_warehouse
    from dagster_project.defs.warehouse import defs as warehouse_defs
    from warehouse.dbt import build_warehouse

    settings = copy_home(built_home, tmp_path / "home")
    calls = []

    def build_on_the_other_engine(s: Settings, *, on_event, raise_on_failure, **options):
        calls.append((s.engine, options))
        # what dbt reports on Spark, told by a real dbt run (on DuckDB: no Spark in this test)
        return build_warehouse(
            replace(s, engine="duckdb"),
            select=["dim_offices", "dim_dates"],
            on_event=on_event,
            raise_on_failure=raise_on_failure,
        )

    monkeypatch.setattr("resolution.runner.build_warehouse", build_on_the_other_engine)
    offices = get_asset_key_for_model([dbt_warehouse], "dim_offices")
    dates = get_asset_key_for_model([dbt_warehouse], "dim_dates")
    result = dg.materialize(
        [dbt_warehouse],
        selection=[offices],
        resources={"crmw": CrmwResource(home=str(settings.home), engine="spark"), **warehouse_defs.resources},
        run_config={"ops": {"dbt_warehouse": {"config": {"full_refresh": False}}}},
        raise_on_error=False,
    )
    assert result.success
    assert calls == [("spark", {"exclude": SCORES_SELECTION, "full_refresh": False})]
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert offices in materialized
    assert dates not in materialized  # built, but not selected: not reported
    checks = result.get_asset_check_evaluations()
    assert checks and {c.asset_key for c in checks} == {offices}  # dim_offices' dbt tests, passed
    assert all(c.passed for c in checks)
