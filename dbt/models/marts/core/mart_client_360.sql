-- One row per client, prospects included: its legal entities and offices, net revenue and
-- margin, the last touch on each channel, open deals and tickets, overdue money, owner,
-- lifecycle stage, first-touch origin and key-person risk, and whether a new sales offer
-- must wait (the one offer-block rule, int_clients__offer_block).
with

clients as (

    select * from {{ ref('dim_clients') }}

),

legal_entities as (

    select * from {{ ref('dim_legal_entities') }}

),

invoices as (

    select * from {{ ref('int_invoices__aged') }}

),

interactions as (

    select * from {{ ref('fct_interactions') }}

),

deals as (

    select * from {{ ref('int_deals__staged') }}

),

support as (

    select * from {{ ref('mart_support') }}

),

receivables as (

    select * from {{ ref('mart_receivables') }}

),

spread as (

    select * from {{ ref('int_clients__relationship_spread') }}

),

offer_blocks as (

    select * from {{ ref('int_clients__offer_block') }}

),

profitability as (

    select * from {{ ref('mart_client_profitability') }}

),

origins as (

    select * from {{ ref('int_clients__first_touch') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

entity_names as (

    select
        client_id,
        {{ dbt.listagg('legal_entity_name', "'; '", 'order by legal_entity_name') }} as legal_entity_names
    from legal_entities
    group by client_id

),

revenue as (

    select
        invoices.client_id,
        sum(invoices.net_revenue_rub) as revenue_lifetime_rub,
        sum(
            case
                when invoices.invoice_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
                    then invoices.net_revenue_rub
                else 0
            end
        ) as revenue_12m_rub
    from invoices
    cross join as_of
    group by invoices.client_id

),

offices as (

    select distinct
        client_id,
        office_code
    from invoices
    where office_code is not null

),

offices_listed as (

    select
        client_id,
        count(*) as offices_served_count,
        {{ dbt.listagg('office_code', "', '", 'order by office_code') }} as offices_served
    from offices
    group by client_id

),

last_touches as (

    select
        interactions.client_id,
        max(interactions.occurred_at) as last_interaction_at,
        max(case when interactions.channel = 'call' then interactions.occurred_at end) as last_call_at,
        max(case when interactions.channel = 'email' then interactions.occurred_at end) as last_email_at,
        max(case when interactions.channel = 'meeting' then interactions.occurred_at end) as last_meeting_at,
        max(case when interactions.channel = 'event' then interactions.occurred_at end) as last_event_at,
        max(case when interactions.channel = 'web_form' then interactions.occurred_at end) as last_web_form_at,
        max(case when interactions.channel = 'chat' then interactions.occurred_at end) as last_chat_at,
        max(case when interactions.channel = 'ad_click' then interactions.occurred_at end) as last_ad_click_at,
        max(case when interactions.channel = 'support_ticket' then interactions.occurred_at end)
            as last_support_ticket_at
    from interactions
    cross join as_of
    where interactions.client_id is not null
        and interactions.occurred_date <= as_of.as_of_date
    group by interactions.client_id

),

open_deals as (

    select
        client_id,
        count(*) as open_deals,
        sum(amount_rub) as open_deals_amount_rub
    from deals
    where is_open
        and client_id is not null
    group by client_id

),

final as (

    select
        clients.client_id,
        clients.client_name,
        clients.primary_inn,
        clients.region,
        clients.lifecycle_stage,
        clients.is_customer,
        clients.legal_entity_count,
        entity_names.legal_entity_names,
        coalesce(offices_listed.offices_served_count, 0) as offices_served_count,
        offices_listed.offices_served,
        clients.owner_manager_id,
        clients.owner_office_code,
        clients.first_seen_at,
        clients.first_invoice_date,
        clients.last_invoice_date,
        coalesce(revenue.revenue_12m_rub, 0) as revenue_12m_rub,
        coalesce(revenue.revenue_lifetime_rub, 0) as revenue_lifetime_rub,
        coalesce(profitability.gross_margin_12m_rub, 0) as gross_margin_12m_rub,
        coalesce(profitability.cost_to_serve_12m_rub, 0) as cost_to_serve_12m_rub,
        coalesce(profitability.contribution_margin_12m_rub, 0) as contribution_margin_12m_rub,
        origins.first_touch_origin,
        origins.first_touch_at,
        last_touches.last_interaction_at,
        last_touches.last_call_at,
        last_touches.last_email_at,
        last_touches.last_meeting_at,
        last_touches.last_event_at,
        last_touches.last_web_form_at,
        last_touches.last_chat_at,
        last_touches.last_ad_click_at,
        last_touches.last_support_ticket_at,
        coalesce(open_deals.open_deals, 0) as open_deals,
        coalesce(open_deals.open_deals_amount_rub, 0) as open_deals_amount_rub,
        coalesce(support.open_tickets, 0) as open_tickets,
        coalesce(support.open_high_priority_tickets, 0) as open_high_priority_tickets,
        coalesce(receivables.open_amount_rub, 0) as open_amount_rub,
        coalesce(receivables.overdue_amount_rub, 0) as overdue_amount_rub,
        coalesce(receivables.max_days_past_due, 0) as max_days_past_due,
        coalesce(receivables.written_off_amount_rub, 0) as written_off_amount_rub,
        coalesce(offer_blocks.blocking_tickets, 0) as blocking_tickets,
        coalesce(offer_blocks.blocking_overdue_amount_rub, 0) as blocking_overdue_amount_rub,
        coalesce(spread.managers_12m, 0) as managers_12m,
        coalesce(spread.contacts_12m, 0) as contacts_12m,
        coalesce(spread.is_single_manager, false) as is_single_manager,
        coalesce(spread.is_single_contact, false) as is_single_contact,
        offer_blocks.sales_offer_blocked_reason is not null as is_sales_offer_blocked,
        offer_blocks.sales_offer_blocked_reason,
        as_of.as_of_date
    from clients
    cross join as_of
    left join entity_names
        on clients.client_id = entity_names.client_id
    left join offices_listed
        on clients.client_id = offices_listed.client_id
    left join revenue
        on clients.client_id = revenue.client_id
    left join last_touches
        on clients.client_id = last_touches.client_id
    left join open_deals
        on clients.client_id = open_deals.client_id
    left join support
        on clients.client_id = support.client_id
    left join receivables
        on clients.client_id = receivables.client_id
    left join spread
        on clients.client_id = spread.client_id
    left join offer_blocks
        on clients.client_id = offer_blocks.client_id
    left join profitability
        on clients.client_id = profitability.client_id
    left join origins
        on clients.client_id = origins.client_id

)

select * from final
