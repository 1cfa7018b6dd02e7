"""Reconciliation across layers: the marts say what raw says.

Each suite computes the same total twice, once from raw.* (one row per key: the latest
loaded copy, as staging keeps it) and once from the marts, and expects them equal:

| check (asset)                                        | compares                                     |
|------------------------------------------------------|----------------------------------------------|
| invoiced_and_paid_match_raw_per_month (fct_invoices) | invoice and payment counts and amounts per   |
|                                                      | month and currency: raw vs fct_invoices and  |
|                                                      | fct_payments                                 |
| clients_match_resolved_legal_entities (dim_clients)  | clients in dim_clients vs the clients the    |
|                                                      | resolution gave the legal entities, and the  |
|                                                      | legal entities of each                       |
| organisations_are_all_resolved (dim_legal_entities)  | every raw counterparty and CRM account has a |
|                                                      | legal entity in the resolution               |
| interactions_per_channel_match_raw (fct_interactions)| touches per channel: raw activities, tickets,|
|                                                      | campaign touches and web conversations vs    |
|                                                      | fct_interactions                             |

All are blocking: a mart that disagrees with its sources must not be published.
"""

from __future__ import annotations

import duckdb
import great_expectations.expectations as gxe

from quality.suite import Batch, Suite, make_suite, note, read_frame


def _latest(table: str, key: str) -> str:
    """One row per key, the latest loaded copy (what staging keeps)."""
    return (
        f"(select * from {table} qualify row_number() over "
        f"(partition by {key} order by _loaded_at desc, _source_file desc, _row_number desc) = 1)"
    )


FINANCE_SQL = f"""
with raw_totals as (
    select 'invoiced' AS measure, date_trunc('month', invoice_date)::date AS month, currency,
           count(*) AS rows, sum(amount) AS amount
    from {_latest("raw.invoices", "invoice_id")} group by all
    union all
    select 'paid', date_trunc('month', payment_date)::date, currency, count(*), sum(amount)
    from {_latest("raw.payments", "payment_id")} group by all
),
mart_totals as (
    select 'invoiced' AS measure, invoice_month AS month, currency, count(*) AS rows, sum(amount) AS amount
    from marts.fct_invoices group by all
    union all
    select 'paid', payment_month, currency, count(*), sum(amount)
    from marts.fct_payments group by all
)
select
    coalesce(r.measure, m.measure) AS measure,
    strftime(coalesce(r.month, m.month), '%Y-%m') AS month,
    coalesce(r.currency, m.currency) AS currency,
    coalesce(r.rows, 0) AS raw_rows,
    coalesce(m.rows, 0) AS mart_rows,
    cast(coalesce(r.amount, 0) AS double) AS raw_amount,
    cast(coalesce(m.amount, 0) AS double) AS mart_amount
from raw_totals AS r
full outer join mart_totals AS m
    on m.measure = r.measure and m.month = r.month and m.currency is not distinct from r.currency
order by 1, 2, 3
"""


def invoiced_and_paid_match_raw_per_month() -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        return Batch(
            frame=read_frame(con, FINANCE_SQL),
            expectations=[
                gxe.ExpectColumnPairValuesToBeEqual(column_A="mart_rows", column_B="raw_rows"),
                gxe.ExpectColumnPairValuesToBeEqual(
                    column_A="mart_amount",
                    column_B="raw_amount",
                    meta=note("Sums of DECIMAL(18,2) are exact, so equal means equal to the kopeck."),
                ),
            ],
            index_columns=["measure", "month", "currency"],
        )

    return make_suite(
        "reconciliation",
        "fct_invoices",
        "invoiced_and_paid_match_raw_per_month",
        description=(
            "Invoiced and paid counts and amounts per month and currency in fct_invoices and fct_payments "
            "equal raw.invoices and raw.payments (one row per key, the latest loaded copy)."
        ),
        build=build,
        reads=(("marts", "fct_payments"), ("raw", "invoices"), ("raw", "payments")),
    )


CLIENTS_SQL = """
with resolved as (
    select client_id, count(distinct legal_entity_id) AS legal_entities
    from intermediate.int_entity_records__resolved
    where client_id is not null
    group by 1
),
entities as (
    select client_id, count(*) AS legal_entities from marts.dim_legal_entities group by 1
)
select
    coalesce(c.client_id, r.client_id, e.client_id) AS client_id,
    c.client_id is not null AS in_dim_clients,
    r.client_id is not null AS in_resolution,
    coalesce(r.legal_entities, 0) AS legal_entities_resolved,
    coalesce(e.legal_entities, 0) AS legal_entities_in_marts,
    coalesce(c.legal_entity_count, 0) AS legal_entity_count
from marts.dim_clients AS c
full outer join resolved AS r on r.client_id = c.client_id
full outer join entities AS e on e.client_id = coalesce(c.client_id, r.client_id)
order by 1
"""


def clients_match_resolved_legal_entities() -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        return Batch(
            frame=read_frame(con, CLIENTS_SQL),
            expectations=[
                gxe.ExpectColumnValuesToBeInSet(
                    column="in_dim_clients",
                    value_set=[True],
                    meta=note("Every resolved client is in dim_clients."),
                ),
                gxe.ExpectColumnValuesToBeInSet(
                    column="in_resolution",
                    value_set=[True],
                    meta=note("Every client in the marts comes from the resolution."),
                ),
                gxe.ExpectColumnPairValuesToBeEqual(
                    column_A="legal_entities_in_marts",
                    column_B="legal_entities_resolved",
                    meta=note(
                        "dim_legal_entities holds each client's resolved legal entities, no more, no less."
                    ),
                ),
                gxe.ExpectColumnPairValuesToBeEqual(
                    column_A="legal_entity_count", column_B="legal_entities_resolved"
                ),
            ],
            index_columns=["client_id"],
        )

    return make_suite(
        "reconciliation",
        "dim_clients",
        "clients_match_resolved_legal_entities",
        description=(
            "Clients in dim_clients are exactly the clients the resolution found "
            "(intermediate.int_entity_records__resolved), each with the same legal entities as in "
            "dim_legal_entities."
        ),
        build=build,
        reads=(("marts", "dim_legal_entities"), ("intermediate", "int_entity_records__resolved")),
    )


ORGANISATIONS_SQL = """
with organisations as (
    select distinct 'counterparties:' || counterparty_id AS record_key from raw.counterparties
    union
    select distinct 'accounts:' || account_id from raw.accounts
),
resolved as (
    select record_key, max(legal_entity_id) AS legal_entity_id
    from intermediate.int_entity_records__resolved group by 1
)
select
    o.record_key,
    r.legal_entity_id is not null AS has_legal_entity,
    r.legal_entity_id is null or exists (
        select 1 from marts.dim_legal_entities AS d where d.legal_entity_id = r.legal_entity_id
    ) AS legal_entity_in_marts
from organisations AS o
left join resolved AS r using (record_key)
order by 1
"""


def organisations_are_all_resolved() -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        return Batch(
            frame=read_frame(con, ORGANISATIONS_SQL),
            expectations=[
                gxe.ExpectColumnValuesToBeInSet(column="has_legal_entity", value_set=[True]),
                gxe.ExpectColumnValuesToBeInSet(column="legal_entity_in_marts", value_set=[True]),
            ],
            index_columns=["record_key"],
        )

    return make_suite(
        "reconciliation",
        "dim_legal_entities",
        "organisations_are_all_resolved",
        description=(
            "Every counterparty in raw.counterparties and every account in raw.accounts was resolved to a "
            "legal entity, and that legal entity is in dim_legal_entities."
        ),
        build=build,
        reads=(
            ("raw", "counterparties"),
            ("raw", "accounts"),
            ("intermediate", "int_entity_records__resolved"),
        ),
    )


# The channel of every touch, as the sources say it (int_interactions__unioned does the
# same in dbt: this is the independent count it must agree with).
INTERACTIONS_SQL = f"""
with campaigns as (
    select campaign_id, campaign_type from raw.campaigns
    qualify row_number() over (
        partition by campaign_id order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
    ) = 1
),
raw_touches as (
    select activity_type AS channel, count(*) AS touches
    from {_latest("raw.activities", "activity_id")} group by 1
    union all
    select 'support_ticket', count(distinct ticket_id) from raw.tickets
    union all
    select case c.campaign_type when 'email' then 'email' when 'ads' then 'ad_click' else 'event' end, count(*)
    from {_latest("raw.campaign_members", "campaign_member_id")} AS m
    left join campaigns AS c using (campaign_id)
    -- members held out as a control group were never contacted: not touches
    where m.response <> 'held_out'
    group by 1
    union all
    select case event_type when 'form_submit' then 'web_form' when 'chat_start' then 'chat' else 'ad_click' end,
           count(*)
    from {_latest("raw.web_events", "event_id")}
    where event_type in ('form_submit', 'chat_start', 'ad_click')
    group by 1
),
raw_channels as (select channel, sum(touches) AS touches from raw_touches group by 1),
mart_channels as (select channel, count(*) AS touches from marts.fct_interactions group by 1)
select
    coalesce(r.channel, m.channel) AS channel,
    coalesce(r.touches, 0) AS raw_touches,
    coalesce(m.touches, 0) AS mart_touches
from raw_channels AS r
full outer join mart_channels AS m on m.channel = r.channel
where coalesce(r.touches, 0) + coalesce(m.touches, 0) > 0
order by 1
"""


def interactions_per_channel_match_raw() -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        return Batch(
            frame=read_frame(con, INTERACTIONS_SQL),
            expectations=[
                gxe.ExpectColumnPairValuesToBeEqual(column_A="mart_touches", column_B="raw_touches")
            ],
            index_columns=["channel"],
        )

    return make_suite(
        "reconciliation",
        "fct_interactions",
        "interactions_per_channel_match_raw",
        description=(
            "Touches per channel in fct_interactions equal the sources: raw activities (by type), tickets, "
            "campaign touches (by campaign type) and web form submits, chat starts and ad clicks."
        ),
        build=build,
        reads=(
            ("raw", "activities"),
            ("raw", "tickets"),
            ("raw", "campaign_members"),
            ("raw", "campaigns"),
            ("raw", "web_events"),
        ),
    )


def reconciliation_suites() -> list[Suite]:
    return [
        invoiced_and_paid_match_raw_per_month(),
        clients_match_resolved_legal_entities(),
        organisations_are_all_resolved(),
        interactions_per_channel_match_raw(),
    ]
