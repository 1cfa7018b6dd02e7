"""One offer-block rule and one revenue figure on the published demo (scale 0.01, the model jobs run):
the share of blocked active clients is plausible, the rule applied in Python (models/rules.py) gives
what the marts publish, no two tables disagree on who is blocked, and the ml tables' 12-month revenue
is the marts' net figure.

On the demo, 14 of the 56 active clients (25%) are blocked: 11 for money overdue 30 days or more
adding up to 50,000 RUB, the others for an open high or critical ticket.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd
import pytest

from models import rules
from tests.support.demo import models_error
from warehouse.settings import Settings


def _query(path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
def demo(published_demo) -> Settings:
    error = models_error(published_demo)
    assert error is None, f"the model jobs failed on the demo: {error}"
    return published_demo


def test_a_plausible_share_of_active_clients_is_blocked_from_offers(demo):
    clients = _query(
        demo.published_path,
        "select is_sales_offer_blocked, sales_offer_blocked_reason from marts.mart_client_360 "
        "where lifecycle_stage in ('new', 'active', 'won_back')",
    )
    share = clients["is_sales_offer_blocked"].mean()
    assert len(clients) >= 30
    assert 0.05 <= share <= 0.35, f"{share:.0%} of active clients blocked"
    assert set(clients["sales_offer_blocked_reason"].dropna()) <= {
        rules.BLOCK_TICKET,
        rules.BLOCK_OVERDUE,
        rules.BLOCK_BOTH,
    }


def test_no_two_tables_disagree_on_who_is_blocked(demo):
    flags = _query(
        demo.published_path,
        """
        select c.client_id, c.is_sales_offer_blocked as in_360, c.sales_offer_blocked_reason as reason_360,
            s.is_sales_offer_blocked as in_scores, s.sales_offer_blocked_reason as reason_scores,
            a.is_sales_offer_blocked as in_actions, a.is_sales_offer
        from marts.mart_client_360 as c
        join marts.mart_client_scores as s using (client_id)
        join ml.next_best_actions as a
            on a.client_id = c.client_id and a.as_of_date = (select max(as_of_date) from ml.next_best_actions)
        """,
    )
    assert len(flags) >= 50
    # every flag is set: a missing one would compare as "unknown" and pass unseen
    assert flags[["in_360", "in_scores", "in_actions", "is_sales_offer"]].notna().all().all()
    flags = flags.astype({"in_360": bool, "in_scores": bool, "in_actions": bool, "is_sales_offer": bool})
    assert (flags["in_360"] == flags["in_scores"]).all()
    assert (flags["in_360"] == flags["in_actions"]).all()
    reasons = flags[["reason_360", "reason_scores"]].astype(object).fillna("")
    assert (reasons["reason_360"] == reasons["reason_scores"]).all()
    assert not (flags["in_actions"] & flags["is_sales_offer"]).any()
    end_users = _query(
        demo.published_path,
        "select e.is_sales_offer_blocked as in_partners, c.is_sales_offer_blocked as in_360 "
        "from marts.mart_partner_end_users as e join marts.mart_client_360 as c using (client_id)",
    )
    assert len(end_users) > 0 and end_users.notna().all().all()
    assert (end_users["in_partners"].astype(bool) == end_users["in_360"].astype(bool)).all()


def test_the_rule_in_python_gives_what_the_warehouse_publishes_on_its_date(demo):
    with duckdb.connect(str(demo.published_path), read_only=True) as con:

        def query(sql: str, params: dict) -> pd.DataFrame:
            return con.execute(sql, params).df()

        as_of = con.execute("select max(as_of_date) from marts.mart_client_360").fetchone()[0]
        blocks = rules.offer_blocks(query, as_of, rules.load_rules(query), rules.credit_notes_sql(query))
        published = con.execute(
            "select client_id, sales_offer_blocked_reason, blocking_overdue_amount_rub, blocking_tickets "
            "from marts.mart_client_360 where blocking_tickets > 0 or blocking_overdue_amount_rub > 0"
        ).df()
    both = published.set_index("client_id").join(blocks, rsuffix="_python", how="outer")
    assert len(both) > 0
    assert (
        both["sales_offer_blocked_reason"].fillna("") == both["sales_offer_blocked_reason_python"].fillna("")
    ).all()
    assert (
        (both["blocking_overdue_amount_rub"].astype(float) - both["blocking_overdue_amount_rub_python"]).abs()
        < 0.01
    ).all()
    # and the next best action was decided on that day: the day after it is the run's date
    actions_as_of = _query(demo.published_path, "select max(as_of_date) as d from ml.next_best_actions")[
        "d"
    ].iloc[0]
    assert pd.Timestamp(actions_as_of).date() - timedelta(days=1) == as_of


def test_the_ml_tables_publish_the_marts_net_12_month_revenue_and_margin(demo):
    both = _query(
        demo.published_path,
        """
        select c.client_id, c.revenue_12m_rub as mart_revenue, p.gross_margin_12m_rub as mart_margin,
            p.revenue_rank_12m, p.gross_margin_rank_12m,
            s.revenue_12m_rub as seg_revenue, s.gross_margin_12m_rub as seg_margin,
            s.revenue_rank_12m as seg_revenue_rank, s.gross_margin_rank_12m as seg_margin_rank,
            k.revenue_12m_rub as churn_revenue
        from marts.mart_client_360 as c
        join marts.mart_client_profitability as p using (client_id)
        join ml.client_segments as s
            on s.client_id = c.client_id and s.as_of_date = (select max(as_of_date) from ml.client_segments)
        left join ml.churn_scores as k
            on k.client_id = c.client_id and k.as_of_date = s.as_of_date
        """,
    )
    assert len(both) >= 50
    assert ((both["mart_revenue"].astype(float) - both["seg_revenue"]).abs() < 0.01).all()
    assert ((both["mart_margin"].astype(float) - both["seg_margin"]).abs() < 0.01).all()
    assert (both["revenue_rank_12m"] == both["seg_revenue_rank"]).all()
    assert (both["gross_margin_rank_12m"] == both["seg_margin_rank"]).all()
    scored = both.dropna(subset=["churn_revenue"])
    assert len(scored) > 0
    assert ((scored["mart_revenue"].astype(float) - scored["churn_revenue"]).abs() < 0.01).all()
