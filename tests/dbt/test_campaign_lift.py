"""What campaigns caused, against the generator's planted effects, at scale 0.1 (the warehouse the
model floors use, built once per session): the ranking of campaigns by estimated lift agrees with the
true lift, rank correlation at least 0.8, on the campaigns with enough customers in both groups to
measure; control groups are used where campaigns hold them out; attribution ranks them worse.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from scipy.stats import spearmanr

from tests.support.models import template_warehouse
from warehouse.settings import Settings

pytestmark = pytest.mark.slow

SCALE = 0.1


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> pd.DataFrame:
    root = tmp_path_factory.getbasetemp() / "models"  # the root test_floors.py builds the template in
    home = template_warehouse(root, SCALE)
    with duckdb.connect(str(Settings(home=home).warehouse_path), read_only=True) as con:
        performance = con.execute("select * from marts.mart_campaign_performance").df()
    truth = pd.read_csv(root / f"exports-{SCALE}" / "ground_truth" / "campaigns.csv")
    return performance.merge(truth, on="campaign_id", how="left")


def test_estimated_lift_ranks_campaigns_as_their_true_lift_does(measured):
    enough = measured[measured["is_lift_measured"]]
    assert len(enough) >= 6
    rho = spearmanr(enough["lift"], enough["true_lift_product_line"]).statistic
    assert rho >= 0.8, enough[["campaign_id", "lift_method", "lift", "true_lift_product_line"]].to_string()


def test_campaigns_with_a_control_group_are_measured_against_it(measured):
    holdout = measured[measured["lift_method"] == "holdout"]
    assert len(holdout) > 0
    assert (holdout["control_groups"] > 0).all()
    # the comparison is the held-out members (those with an invoice before, as on the touched side)
    assert (holdout["lift_comparison_clients"] <= holdout["control_groups"]).all()
    assert (measured.loc[measured["control_share"] == 0, "lift_method"] != "holdout").all()


def test_campaigns_without_a_planted_effect_show_no_measurable_effect(measured):
    enough = measured[measured["is_lift_measured"]]
    null = enough[~enough["has_effect"]]
    assert len(null) > 0
    assert (null["lift_ci_low"] < null["true_lift_product_line"] + 1e-9).all()
    assert null["has_measurable_effect"].mean() <= 0.2
    strong = enough[enough["true_lift_product_line"] > 0.15]
    assert strong["has_measurable_effect"].mean() >= 0.8


def test_lift_ranks_campaigns_better_than_attributed_roi(measured):
    enough = measured[measured["is_lift_measured"]]
    lift_rho = spearmanr(enough["lift"], enough["true_lift_product_line"]).statistic
    roi_rho = spearmanr(enough["linear_roi"].fillna(-1), enough["true_lift_product_line"]).statistic
    assert lift_rho > roi_rho
