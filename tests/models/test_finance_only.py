"""A company with accounting only (invoices and payments, no CRM, no web) still gets value segments,
churn risk, a sales forecast and next best actions; lead scoring is skipped; the horizons asked for
are stored with the scores; the scores mart builds even where the ml tables were never created."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from models.features import CRM_FEATURES, WEB_FEATURES
from models.jobs import run_all
from tests.support.models import fresh_home, query
from warehouse.dbt import build_warehouse
from warehouse.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(data_shapes) -> Path:
    """The accounting-only shape of the data-shape matrix (tests/shapes/), built once per session."""
    run = data_shapes.run("accounting_only")
    assert run.failures() == {}, run.failures()
    return run.home


@pytest.fixture(scope="module")
def scored(template, tmp_path_factory) -> tuple[Settings, dict]:
    settings = fresh_home(template, tmp_path_factory.mktemp("finance_scored"))
    return settings, run_all(settings, churn_horizon_days=120, forecast_horizon_months=3)


def test_accounting_alone_gives_segments_churn_risk_forecast_and_actions(scored):
    settings, summary = scored
    assert summary["sources"] == ["finance"]
    for table in (
        "client_segments",
        "churn_scores",
        "sales_forecast",
        "forecast_accuracy",
        "next_best_actions",
    ):
        assert query(settings, f"select count(*) n from ml.{table}")["n"][0] > 0, table
    assert summary["leads"]["status"] == "skipped"
    assert "no CRM leads" in summary["leads"]["reason"]
    assert query(settings, "select count(*) n from ml.lead_scores")["n"][0] == 0


def test_the_finance_only_churn_model_uses_purchase_timing_and_payments_only(scored):
    settings, summary = scored
    run = query(settings, "select * from ml.model_runs where model_name = 'churn'").iloc[0]
    features = json.loads(run["features"])
    assert run["sources"] == "finance"
    assert not set(features) & set(CRM_FEATURES + WEB_FEATURES)
    assert summary["churn"]["backtest"]["model"]["roc_auc"] > 0.5


def test_horizons_asked_for_are_stored_with_every_score(scored):
    settings, _ = scored
    assert set(query(settings, "select distinct horizon_days h from ml.churn_scores")["h"]) == {120}
    assert set(query(settings, "select distinct horizon_days h from ml.model_metrics")["h"]) == {120}
    assert set(query(settings, "select distinct horizon_days h from ml.next_best_actions")["h"]) == {120}
    assert query(settings, "select max(horizon_months) h from ml.sales_forecast")["h"][0] == 3
    assert query(settings, "select max(horizon_months) h from ml.forecast_accuracy")["h"][0] == 3


def test_the_forecast_has_no_open_pipeline_without_a_crm(scored):
    settings, _ = scored
    assert query(settings, "select sum(pipeline_rub) p from ml.sales_forecast")["p"][0] == 0


def test_scores_mart_builds_when_the_models_never_ran(template, tmp_path):
    settings = fresh_home(template, tmp_path / "no_ml")
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("drop schema ml cascade")
    assert build_warehouse(settings, select="mart_client_scores").success
    mart = query(settings, "select count(*) n, count(churn_probability) scored from marts.mart_client_scores")
    assert mart["n"][0] > 0
    assert mart["scored"][0] == 0
