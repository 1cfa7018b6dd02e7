"""The floors of issue 6 on generator data at scale 0.1 (about three minutes on two cores): churn AUC
at least 0.80 and above both baselines (days since last purchase, BG/NBD), lead AUC at least 0.75 and
above the source-channel baseline, and forecast WAPE below the last-3-months mean (by product line x
office also below seasonal naive, in total no worse than it) at every horizon up to six months. All
measured by the backtests run_all writes, in the same run.
"""

from __future__ import annotations

import pandas as pd
import pytest

from models.jobs import run_all
from tests.support.models import fresh_home, query, template_warehouse
from warehouse.settings import Settings

pytestmark = pytest.mark.slow

SCALE = 0.1


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> tuple[Settings, dict]:
    template = template_warehouse(tmp_path_factory.getbasetemp() / "models", SCALE)
    settings = fresh_home(template, tmp_path_factory.mktemp("floors"))
    return settings, run_all(settings)


@pytest.fixture(scope="module")
def metrics(scored) -> pd.DataFrame:
    settings, summary = scored
    return query(settings, "select * from ml.model_metrics where as_of_date = ?", [summary["as_of"]])


@pytest.fixture(scope="module")
def accuracy(scored) -> pd.DataFrame:
    settings, summary = scored
    acc = query(settings, "select * from ml.forecast_accuracy where as_of_date = ?", [summary["as_of"]])
    return acc.pivot_table(index=["level", "horizon_months"], columns="method", values="wape")


def test_churn_backtest_covers_four_quarters_with_both_baselines(metrics):
    churn = metrics[metrics["model_name"] == "churn"]
    assert churn["backtest_as_of_date"].nunique() == 4
    assert set(churn["method"]) == {"model", "days_since_last_purchase", "bg_nbd"}


def test_churn_auc_is_at_least_080_and_above_both_baselines_at_every_date(metrics):
    churn = metrics[metrics["model_name"] == "churn"].pivot_table(
        index="backtest_as_of_date", columns="method", values="roc_auc"
    )
    assert churn["model"].mean() >= 0.80
    assert (churn["model"] > churn["days_since_last_purchase"]).all()
    assert (churn["model"] > churn["bg_nbd"]).all()


def test_churn_probabilities_beat_the_baselines_on_brier_and_pr_auc(metrics):
    churn = metrics[metrics["model_name"] == "churn"].groupby("method")[["brier", "pr_auc"]].mean()
    assert churn.loc["model", "brier"] < churn.drop("model")["brier"].min()
    assert churn.loc["model", "pr_auc"] > churn.drop("model")["pr_auc"].max()


def test_lead_auc_is_at_least_075_and_above_the_channel_baseline(metrics):
    leads = metrics[metrics["model_name"] == "lead"].groupby("method")["roc_auc"].mean()
    assert leads["model"] >= 0.75
    assert leads["model"] > leads["source_channel"]


@pytest.mark.parametrize("horizon", range(1, 7))
def test_forecast_wape_by_product_line_and_office_beats_both_baselines(accuracy, horizon):
    row = accuracy.loc[("product_line_office", horizon)]
    assert row["model"] < row["seasonal_naive"]
    assert row["model"] < row["last_3_months_mean"]


@pytest.mark.parametrize("horizon", range(1, 7))
def test_forecast_wape_of_the_total_beats_the_last_3_months_mean(accuracy, horizon):
    row = accuracy.loc[("total", horizon)]
    assert row["model"] < row["last_3_months_mean"]


@pytest.mark.parametrize("horizon", range(1, 7))
def test_forecast_wape_of_the_total_is_no_worse_than_seasonal_naive(accuracy, horizon):
    # where the combination lost to seasonal naive on the backtest, the run's total is seasonal
    # naive's (models/forecast.py fallback_horizons): level with it there, below it elsewhere
    row = accuracy.loc[("total", horizon)]
    assert row["model"] <= row["seasonal_naive"] + 1e-12


@pytest.fixture(scope="module")
def coverage(scored) -> pd.DataFrame:
    settings, summary = scored
    acc = query(
        settings,
        "select * from ml.forecast_accuracy where as_of_date = ? and method = 'model'",
        [summary["as_of"]],
    )
    return acc.set_index(["level", "horizon_months"])[["coverage_80", "coverage_95", "origins"]]


@pytest.mark.parametrize("level", ["total", "product_line_office"])
def test_forecast_intervals_cover_roughly_as_promised_on_the_backtest(coverage, level):
    """Each origin's intervals are built from the errors of earlier origins only; pooled over horizons,
    the 80% interval covers at least 65% of the actuals and the 95% interval at least 85%."""
    c = coverage.loc[level].dropna()
    weights = c["origins"]
    assert (c["coverage_80"] * weights).sum() / weights.sum() >= 0.65
    assert (c["coverage_95"] * weights).sum() / weights.sum() >= 0.85
