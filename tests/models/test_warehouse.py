"""The model jobs on a warehouse built from generated exports (scale 0.01, every source): no leakage
(events planted after the as-of date change no score), same data gives the same scores, the registry,
every ml table with its horizon, the never-offer rule on real data, and the scores in the marts.

The warehouse is built once for the module (about a minute on two cores); each test that writes
works on its own copy.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models.jobs import run_all
from tests.support.models import SCORE_TABLES, fresh_home, query, scores
from warehouse.dbt import build_warehouse
from warehouse.settings import Settings

pytestmark = pytest.mark.slow

AS_OF = date(2026, 4, 1)  # half a year before the data ends: there is a future to leak


@pytest.fixture(scope="module")
def template(built_home) -> Path:
    return built_home.home


@pytest.fixture(scope="module")
def scored(template, tmp_path_factory) -> tuple[Settings, dict]:
    settings = fresh_home(template, tmp_path_factory.mktemp("scored"))
    return settings, run_all(settings, AS_OF)


def _plant_the_future(settings: Settings, as_of: date) -> None:
    """Delete everything on or after `as_of` and plant loud events after it: big invoices, critical
    tickets, calls, web visits, won deals; tickets and deals closed later lose their closing."""
    cut = f"date '{as_of}'"
    later = f"cast(date '{as_of}' + interval 30 day as timestamp)"
    later_day = f"cast(date '{as_of}' + interval 30 day as date)"
    with duckdb.connect(str(settings.warehouse_path)) as con:
        for table, column in (
            ("fct_invoices", "invoice_date"),
            ("fct_payments", "payment_date"),
            ("fct_interactions", "occurred_at"),
            ("fct_web_events", "event_at"),
            ("fct_tickets", "opened_at"),
            ("fct_deals", "created_at"),
        ):
            con.execute(f"delete from marts.{table} where {column} >= {cut}")
        con.execute(
            f"update marts.fct_tickets set resolved_at = null, status = 'open', is_open = true "
            f"where resolved_at >= {cut}"
        )
        con.execute(
            f"update marts.fct_deals set won_at = null, lost_at = null, closed_at = null, is_won = false, "
            f"is_lost = false, is_open = true where won_at >= {cut} or lost_at >= {cut}"
        )
        con.execute(
            f"""insert into marts.fct_invoices select * replace (
                invoice_id || '-PLANTED' as invoice_id, {later_day} as invoice_date, {later_day} as due_date,
                amount_rub * 40 as amount_rub, amount_with_vat_rub * 40 as amount_with_vat_rub)
            from marts.fct_invoices order by hash(invoice_id) limit 200"""
        )
        con.execute(
            f"""insert into marts.fct_tickets select * replace (
                ticket_id || '-PLANTED' as ticket_id, {later} as opened_at, {later_day} as opened_date,
                'critical' as priority, null as resolved_at, 'open' as status, true as is_open)
            from marts.fct_tickets order by hash(ticket_id) limit 100"""
        )
        con.execute(
            f"""insert into marts.fct_interactions select * replace (
                interaction_id || '-PLANTED' as interaction_id, {later} as occurred_at, {later_day} as occurred_date)
            from marts.fct_interactions order by hash(interaction_id) limit 2000"""
        )
        con.execute(
            f"""insert into marts.fct_web_events select * replace (
                event_id || '-PLANTED' as event_id, {later} as event_at, {later_day} as event_date)
            from marts.fct_web_events where client_id is not null order by hash(event_id) limit 2000"""
        )
        con.execute(
            f"""insert into marts.fct_deals select * replace (
                deal_id || '-PLANTED' as deal_id, {later} as created_at, {later} as won_at, true as is_won,
                false as is_open)
            from marts.fct_deals order by hash(deal_id) limit 100"""
        )


def test_run_all_writes_every_ml_table_with_the_as_of_date_and_horizons(scored):
    settings, summary = scored
    assert summary["as_of"] == AS_OF
    assert set(summary["sources"]) == {"finance", "crm", "web"}
    for table in SCORE_TABLES:
        n = query(settings, f"select count(*) n from ml.{table} where as_of_date = ?", [AS_OF])["n"][0]
        assert n > 0, table
    assert set(query(settings, "select distinct horizon_days h from ml.churn_scores")["h"]) == {180}
    assert set(query(settings, "select distinct horizon_days h from ml.client_segments")["h"]) == {180}
    assert set(query(settings, "select distinct horizon_days h from ml.lead_scores")["h"]) == {90}
    assert query(settings, "select max(horizon_months) h from ml.sales_forecast")["h"][0] == 6


def test_events_planted_after_the_as_of_date_change_no_score(scored, template, tmp_path):
    settings, _ = scored
    planted = fresh_home(template, tmp_path / "planted")
    _plant_the_future(planted, AS_OF)
    assert (
        query(planted, "select count(*) n from marts.fct_invoices where invoice_id like '%-PLANTED'")["n"][0]
        > 0
    )
    run_all(planted, AS_OF)
    before, after = scores(settings, AS_OF), scores(planted, AS_OF)
    for table in SCORE_TABLES:
        pd.testing.assert_frame_equal(before[table], after[table], obj=f"ml.{table}")


def test_the_same_data_gives_the_same_scores_and_run_ids(scored, template, tmp_path):
    settings, _ = scored
    again = fresh_home(template, tmp_path / "again")
    run_all(again, AS_OF)
    with (
        duckdb.connect(str(settings.warehouse_path), read_only=True) as a,
        duckdb.connect(str(again.warehouse_path), read_only=True) as b,
    ):
        for table in SCORE_TABLES:
            sql = f"select * from ml.{table} order by all"
            pd.testing.assert_frame_equal(a.execute(sql).df(), b.execute(sql).df(), obj=f"ml.{table}")


def test_every_training_run_is_registered_with_artefact_card_window_and_metrics(scored):
    settings, _ = scored
    runs = query(settings, "select * from ml.model_runs")
    assert set(runs["model_name"]) == {"segments", "churn", "lead", "sales_forecast"}
    for _, run in runs.iterrows():
        assert Path(run["artifact_path"]).is_file()
        assert Path(run["artifact_path"]).is_relative_to(settings.artifacts_dir)
        card = Path(run["model_card_path"]).read_text(encoding="utf-8")
        assert f"version {run['version']}" in card
        assert run["train_window_end"] is not None
        json.loads(run["params"])
    churn = runs[runs["model_name"] == "churn"].iloc[0]
    metrics = json.loads(churn["metrics"])
    assert {"model", "days_since_last_purchase", "bg_nbd"} <= set(metrics)
    assert "How it scored" in Path(churn["model_card_path"]).read_text(encoding="utf-8")


def test_a_second_run_reuses_the_registered_models(scored):
    settings, _ = scored
    before = query(settings, "select run_id, version from ml.model_runs order by run_id")
    first = scores(settings, AS_OF)
    run_all(settings, AS_OF)
    pd.testing.assert_frame_equal(
        before, query(settings, "select run_id, version from ml.model_runs order by run_id")
    )
    for table, frame in scores(settings, AS_OF).items():
        pd.testing.assert_frame_equal(first[table], frame, obj=f"ml.{table}")


def test_scores_carry_drivers_and_reasons_in_words(scored):
    settings, _ = scored
    churn = query(settings, "select * from ml.churn_scores where risk_band = 'high'")
    assert len(churn) > 0
    assert churn["drivers"].str.len().min() > 10
    leads = query(settings, "select * from ml.lead_scores where subject_type = 'lead'")
    assert leads["reasons"].notna().all()
    assert leads["win_probability"].between(0, 1).all()


def test_no_blocked_client_gets_a_sales_offer_on_generated_data(scored):
    settings, _ = scored
    actions = query(settings, "select * from ml.next_best_actions where as_of_date = ?", [AS_OF])
    assert not (actions["is_sales_offer_blocked"] & actions["is_sales_offer"]).any()
    # blocked: an open critical ticket on the as-of date, computed here from the mart, must be blocked
    critical = query(
        settings,
        """select distinct client_id from marts.fct_tickets
        where priority = 'critical' and opened_at < ? and (resolved_at is null or resolved_at >= ?)
            and client_id is not null""",
        [AS_OF, AS_OF],
    )["client_id"]
    flagged = actions.set_index("client_id").reindex(critical)
    assert len(critical) > 0
    assert flagged["is_sales_offer_blocked"].all()
    assert (flagged["action"] == "resolve_ticket").all()
    assert set(actions["action"]) >= {"collect_payment", "none"}


def test_the_forecast_parts_sum_to_the_total_with_ordered_intervals(scored):
    settings, _ = scored
    fc = query(settings, "select * from ml.sales_forecast where as_of_date = ?", [AS_OF])
    parts = fc[fc["level"] == "product_line_office"].groupby("forecast_month")["forecast_rub"].sum()
    total = fc[fc["level"] == "total"].set_index("forecast_month")["forecast_rub"]
    pd.testing.assert_series_equal(parts.sort_index(), total.sort_index(), check_names=False, rtol=1e-9)
    assert (fc["lower_95_rub"] <= fc["lower_80_rub"]).all()
    assert (fc["lower_80_rub"] <= fc["forecast_rub"] + 1e-6).all()
    assert (fc["forecast_rub"] <= fc["upper_80_rub"] + 1e-6).all()
    assert (fc["upper_80_rub"] <= fc["upper_95_rub"]).all()
    near = fc[(fc["level"] == "total") & (fc["horizon_months"] == 1)]
    assert near["pipeline_rub"].iloc[0] > 0


def test_segment_migration_uses_one_model_for_both_dates(scored):
    settings, _ = scored
    moved = query(settings, "select * from ml.client_segment_migration where as_of_date = ?", [AS_OF])
    assert set(moved["from_as_of_date"].dt.date) == {date(2026, 1, 1)}
    assert (moved["has_changed"] == (moved["from_segment"] != moved["to_segment"])).all()
    assert moved["model_run_id"].nunique() == 1


def test_mart_client_scores_puts_segment_risk_and_action_next_to_each_client(scored):
    settings, _ = scored
    result = build_warehouse(settings, select="mart_client_scores")
    assert result.success
    mart = query(settings, "select * from marts.mart_client_scores")
    assert mart["client_id"].is_unique
    assert len(mart) == query(settings, "select count(*) n from marts.dim_clients")["n"][0]
    scored_clients = mart.dropna(subset=["churn_probability"])
    assert len(scored_clients) > 0
    assert set(scored_clients["churn_as_of_date"].dt.date) == {AS_OF}
    assert mart["next_action"].notna().sum() > 0
