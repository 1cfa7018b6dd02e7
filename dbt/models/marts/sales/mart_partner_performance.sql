-- One row per partner (distributor, reseller or agent): the chain it sits in, the deals
-- that came through it, how they ended, the revenue invoiced on its won deals and the
-- commission they cost, and its end users (its own and, for a partner with others below
-- it, theirs): what they earn us and the problems they have open.
with

partners as (

    select * from {{ ref('dim_partners') }}

),

deals as (

    select * from {{ ref('int_deals__staged') }}

),

invoices as (

    select * from {{ ref('int_invoices__aged') }}

),

invoice_deals as (

    select * from {{ ref('int_invoices__resolved') }}

),

end_users as (

    select * from {{ ref('mart_partner_end_users') }}

),

end_user_summary as (

    select
        partner_id,
        count(*) as end_users,
        count(case when levels_below = 0 then 1 end) as direct_end_users,
        sum(client_revenue_12m_rub) as end_users_revenue_12m_rub,
        sum(client_gross_margin_12m_rub) as end_users_gross_margin_12m_rub,
        cast(sum(open_tickets) as {{ dbt.type_bigint() }}) as end_users_open_tickets,
        cast(sum(open_tickets_raised_by_chain) as {{ dbt.type_bigint() }}) as open_tickets_raised_by_chain,
        count(case when is_sales_offer_blocked then 1 end) as end_users_blocked
    from end_users
    group by partner_id

),

deal_summary as (

    select
        partner_id,
        count(*) as deals_total,
        count(case when is_won then 1 end) as deals_won,
        count(case when is_lost then 1 end) as deals_lost,
        count(case when is_open then 1 end) as deals_open,
        sum(case when is_won then amount_rub else 0 end) as won_amount_rub,
        sum(case when is_open then amount_rub else 0 end) as open_amount_rub,
        count(distinct case when is_won then client_id end) as clients_won,
        avg(days_created_to_won) as avg_days_created_to_won,
        min(created_at) as first_deal_at,
        max(won_at) as last_won_at
    from deals
    where partner_id is not null
    group by partner_id

),

invoiced as (

    select
        deals.partner_id,
        sum(invoices.net_revenue_rub) as invoiced_revenue_rub
    from invoices
    inner join invoice_deals
        on invoices.invoice_id = invoice_deals.invoice_id
    inner join deals
        on invoice_deals.deal_id = deals.deal_id
    where deals.partner_id is not null
    group by deals.partner_id

),

final as (

    select
        partners.partner_id,
        partners.partner_name,
        partners.partner_type,
        partners.partner_tier,
        partners.parent_partner_id,
        partners.top_partner_id,
        partners.partner_chain,
        partners.commission_percent,
        partners.region,
        coalesce(deal_summary.deals_total, 0) as deals_total,
        coalesce(deal_summary.deals_won, 0) as deals_won,
        coalesce(deal_summary.deals_lost, 0) as deals_lost,
        coalesce(deal_summary.deals_open, 0) as deals_open,
        cast(deal_summary.deals_won as double) / nullif(deal_summary.deals_won + deal_summary.deals_lost, 0)
            as win_rate,
        coalesce(deal_summary.won_amount_rub, 0) as won_amount_rub,
        coalesce(deal_summary.open_amount_rub, 0) as open_amount_rub,
        coalesce(invoiced.invoiced_revenue_rub, 0) as invoiced_revenue_rub,
        cast(
            coalesce(deal_summary.won_amount_rub, 0) * coalesce(partners.commission_percent, 0) / 100
            as decimal(18, 2)
        ) as commission_cost_rub,
        coalesce(end_user_summary.end_users, 0) as end_users,
        coalesce(end_user_summary.direct_end_users, 0) as direct_end_users,
        coalesce(end_user_summary.end_users_revenue_12m_rub, 0) as end_users_revenue_12m_rub,
        coalesce(end_user_summary.end_users_gross_margin_12m_rub, 0) as end_users_gross_margin_12m_rub,
        coalesce(end_user_summary.end_users_open_tickets, 0) as end_users_open_tickets,
        coalesce(end_user_summary.open_tickets_raised_by_chain, 0) as open_tickets_raised_by_chain,
        coalesce(end_user_summary.end_users_blocked, 0) as end_users_blocked,
        coalesce(deal_summary.clients_won, 0) as clients_won,
        cast(deal_summary.avg_days_created_to_won as double) as avg_days_created_to_won,
        deal_summary.first_deal_at,
        deal_summary.last_won_at
    from partners
    left join deal_summary
        on partners.partner_id = deal_summary.partner_id
    left join invoiced
        on partners.partner_id = invoiced.partner_id
    left join end_user_summary
        on partners.partner_id = end_user_summary.partner_id

)

select * from final
