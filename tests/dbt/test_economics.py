"""The numbers management acts on, judged against the generator's ground truth on the session's demo
warehouse (scale 0.01, `built_home`): net revenue and gross margin per client, first-touch origins
and what the clients of each origin earned in their first year, partner chains and their end users,
the control groups campaigns hold out, and the write-off policy of receivables.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from scipy.stats import spearmanr

from warehouse.settings import Settings


def _query(settings: Settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).df()


def _truth(exports, name: str) -> pd.DataFrame:
    return pd.read_csv(
        exports / "ground_truth" / name, dtype={"group_id": str}, keep_default_na=False, na_values=[""]
    )


@pytest.fixture(scope="module")
def client_groups(built_home, sample_exports) -> pd.DataFrame:
    """Clients that are exactly one true client group (every counterparty of the client in one group,
    every counterparty of the group in one client): client_id, group_id."""
    records = _truth(sample_exports, "source_records.csv")
    records = records[records["entity"] == "counterparties"]
    keys = _query(
        built_home,
        "select split_part(resolution_key, ':', 2) as record_id, client_id "
        "from intermediate.int_resolution_keys where resolution_key like 'counterparties:%' and client_id is not null",
    )
    pairs = keys.merge(records, on="record_id")[["client_id", "group_id"]]
    one_group = pairs.groupby("client_id")["group_id"].nunique() == 1
    one_client = pairs.groupby("group_id")["client_id"].nunique() == 1
    pairs = pairs[
        pairs["client_id"].isin(one_group[one_group].index)
        & pairs["group_id"].isin(one_client[one_client].index)
    ]
    return pairs.drop_duplicates().reset_index(drop=True)


def test_net_revenue_and_gross_margin_per_client_match_the_ground_truth(
    built_home, sample_exports, client_groups
):
    truth = _truth(sample_exports, "client_economics.csv")
    marts = _query(
        built_home,
        "select client_id, cast(net_revenue_12m_rub as double) as revenue, "
        "cast(gross_margin_12m_rub as double) as margin from marts.mart_client_profitability",
    )
    both = client_groups.merge(truth, on="group_id").merge(marts, on="client_id")
    both = both[both["net_revenue_12m_rub"] > 0]
    assert len(both) >= 30
    # revenue: exact but for the reference rate of a few invoices in tenge
    assert (
        (both["revenue"] - both["net_revenue_12m_rub"]).abs() <= 0.001 * both["net_revenue_12m_rub"]
    ).all()
    # margin: the costs accounting did not post come from the standard cost shares
    error = (both["margin"] - both["gross_margin_12m_rub"]).abs() / both["net_revenue_12m_rub"]
    assert error.max() < 0.05
    assert abs(both["margin"].sum() / both["gross_margin_12m_rub"].sum() - 1) < 0.01
    assert spearmanr(both["margin"], both["gross_margin_12m_rub"]).statistic > 0.98


def test_the_margin_ranking_is_not_the_revenue_ranking(built_home):
    ranks = _query(
        built_home, "select revenue_rank_12m, gross_margin_rank_12m from marts.mart_client_profitability"
    )
    assert (ranks["revenue_rank_12m"] != ranks["gross_margin_rank_12m"]).sum() >= 5


def test_every_lead_carries_the_first_touch_origin_the_generator_planted(built_home, sample_exports):
    truth = _truth(sample_exports, "leads.csv")
    found = _query(built_home, "select lead_id, first_touch_origin from intermediate.int_leads__first_touch")
    both = truth.merge(found, on="lead_id", suffixes=("_true", "_found"))
    assert len(both) >= 0.95 * len(truth)
    assert (both["first_touch_origin_true"] == both["first_touch_origin_found"]).mean() >= 0.98
    assert {"cold_call", "inbound_call", "web_form", "ad_click", "chat", "event", "partner_referral"} <= set(
        both["first_touch_origin_found"]
    )


def test_lead_origin_counts_leads_won_and_first_year_margin_as_the_ground_truth(built_home, sample_exports):
    leads = _truth(sample_exports, "leads.csv")
    clients = _truth(sample_exports, "client_economics.csv").dropna(subset=["first_year_gross_margin_rub"])
    mart = _query(built_home, "select * from marts.mart_lead_origin").set_index("first_touch_origin")
    per_origin = leads.groupby("first_touch_origin").agg(
        leads=("lead_id", "size"), won=("outcome", lambda s: int((s == "won").sum()))
    )
    assert (mart.loc[per_origin.index, "leads"] == per_origin["leads"]).all()
    assert (mart.loc[per_origin.index, "leads_won"] - per_origin["won"]).abs().max() <= 1
    first_year = clients.groupby("first_touch_origin")["first_year_gross_margin_rub"].agg(["size", "sum"])
    got = mart.loc[first_year.index]
    assert (got["clients_with_full_first_year"] == first_year["size"]).all()
    assert (
        (got["first_year_gross_margin_rub"].astype(float) - first_year["sum"]).abs()
        <= 0.03 * first_year["sum"]
    ).all()


def test_partners_carry_their_tier_parent_and_chain_top(built_home, sample_exports):
    truth = _truth(sample_exports, "partners.csv").fillna("")
    marts = _query(
        built_home,
        "select partner_id, partner_tier, coalesce(parent_partner_id, '') as parent, top_partner_id, chain_depth "
        "from marts.dim_partners",
    )
    both = truth.merge(marts, on="partner_id")
    assert len(both) == len(truth)
    assert (both["tier"] == both["partner_tier"]).all()
    assert (both["parent_partner_id"] == both["parent"]).all()
    assert (both["top_partner_id_x"] == both["top_partner_id_y"]).all()
    assert (both["depth"].astype(int) == both["chain_depth"]).all()


def test_each_partners_end_users_are_the_groups_that_won_deals_through_its_chain(
    built_home, sample_exports, client_groups
):
    truth = _truth(sample_exports, "partner_end_users.csv")
    found = _query(built_home, "select partner_id, client_id, levels_below from marts.mart_partner_end_users")
    found = found.merge(client_groups, on="client_id")
    truth = truth[truth["group_id"].isin(client_groups["group_id"])]
    expected = set(zip(truth["partner_id"], truth["group_id"], strict=True))
    got = set(zip(found["partner_id"], found["group_id"], strict=True))
    assert expected
    assert len(expected & got) >= 0.95 * len(expected)
    assert len(expected & got) >= 0.95 * len(got)
    # a distributor sees its resellers' and agents' end users
    assert (found["levels_below"] > 0).any()


def test_campaign_members_held_out_are_the_control_groups_of_the_ground_truth(built_home, sample_exports):
    truth = _truth(sample_exports, "campaigns.csv")
    held = _query(
        built_home,
        "select campaign_id, count(*) as members from staging.stg_crm__campaign_members "
        "where response = 'held_out' group by 1",
    ).set_index("campaign_id")["members"]
    with_control = truth[truth["control_groups"] > 0].set_index("campaign_id")
    assert len(with_control) > 0
    # one member per held-out group (rows a planted fault sent to quarantine aside)
    counts = held.reindex(with_control.index).fillna(0)
    assert (counts <= with_control["control_groups"]).all()
    assert counts.sum() >= 0.9 * with_control["control_groups"].sum()
    assert set(truth.loc[truth["control_share"] == 0, "campaign_id"]).isdisjoint(held.index)
    # held-out members are not touches: nobody contacted them
    touches = _query(
        built_home, "select count(*) as n from marts.fct_interactions where outcome = 'held_out'"
    )["n"].iloc[0]
    assert touches == 0


def test_written_off_money_leaves_receivables_and_is_counted_apart(built_home):
    aged = _query(
        built_home,
        "select i.*, r.write_off_after_days from intermediate.int_invoices__aged as i "
        "cross join intermediate.int_business_rules as r where i.is_open",
    )
    written_off = aged[aged["days_past_due"] > aged["write_off_after_days"]]
    assert len(written_off) > 0
    assert (aged["is_written_off"] == (aged["days_past_due"] > aged["write_off_after_days"])).all()
    receivables = _query(
        built_home,
        "select sum(open_amount_rub) as open_rub, sum(written_off_amount_rub) as written_off_rub "
        "from marts.mart_receivables",
    ).iloc[0]
    assert float(receivables["written_off_rub"]) == pytest.approx(float(written_off["open_amount_rub"].sum()))
    collectible = aged.loc[~aged["is_written_off"] & aged["client_id"].notna(), "open_amount_rub"].sum()
    assert float(receivables["open_rub"]) == pytest.approx(float(collectible))
