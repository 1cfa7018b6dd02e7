-- One row per partner and end-user client: every client that won a deal through the
-- partner or through a partner below it in its chain (a distributor sees its resellers'
-- and agents' end users), with what the client is worth (net revenue and gross margin of
-- the 12 months to the as-of date, revenue invoiced on the chain's deals), its open
-- problems (open tickets, those the partner raised for it, overdue money, the offer block)
-- and the chain above the selling partner.
with

deals as (

    select * from {{ ref('int_deals__staged') }}

),

chain as (

    select * from {{ ref('int_partner_chain') }}

),

partners as (

    select * from {{ ref('dim_partners') }}

),

clients as (

    select * from {{ ref('mart_client_360') }}

),

invoices as (

    select * from {{ ref('int_invoices__aged') }}

),

invoice_deals as (

    select * from {{ ref('int_invoices__resolved') }}

),

tickets as (

    select * from {{ ref('fct_tickets') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

partner_deals as (

    select
        chain.chain_partner_id as partner_id,
        deals.client_id,
        deals.partner_id as selling_partner_id,
        chain.levels_below,
        deals.deal_id,
        deals.won_at,
        deals.amount_rub
    from deals
    inner join chain
        on deals.partner_id = chain.partner_id
    where deals.is_won
        and deals.client_id is not null

),

sellers_ranked as (

    select
        partner_id,
        client_id,
        selling_partner_id,
        levels_below,
        row_number() over (partition by partner_id, client_id order by won_at desc, deal_id desc) as recency
    from partner_deals

),

latest_seller as (

    select * from sellers_ranked
    where recency = 1

),

won as (

    select
        partner_id,
        client_id,
        count(*) as deals_won,
        sum(amount_rub) as won_amount_rub,
        min(won_at) as first_won_at,
        max(won_at) as last_won_at
    from partner_deals
    group by partner_id, client_id

),

deal_revenue as (

    select
        partner_deals.partner_id,
        partner_deals.client_id,
        sum(invoices.net_revenue_rub) as partner_deal_revenue_rub
    from partner_deals
    inner join invoice_deals
        on partner_deals.deal_id = invoice_deals.deal_id
    inner join invoices
        on invoice_deals.invoice_id = invoices.invoice_id
    group by partner_deals.partner_id, partner_deals.client_id

),

raised as (

    select
        chain.chain_partner_id as partner_id,
        tickets.client_id,
        count(case when tickets.is_open then 1 end) as open_tickets_raised_by_chain,
        count(case when tickets.opened_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }} then 1 end)
            as tickets_raised_by_chain_12m
    from tickets
    cross join as_of
    inner join chain
        on tickets.partner_id = chain.partner_id
    where tickets.client_id is not null
    group by chain.chain_partner_id, tickets.client_id

),

final as (

    select
        won.partner_id || '|' || won.client_id as partner_client_id,
        won.partner_id,
        partners.partner_tier,
        won.client_id,
        latest_seller.selling_partner_id,
        latest_seller.levels_below,
        sellers.partner_chain as selling_partner_chain,
        won.deals_won,
        cast(won.won_amount_rub as decimal(18, 2)) as won_amount_rub,
        won.first_won_at,
        won.last_won_at,
        cast(coalesce(deal_revenue.partner_deal_revenue_rub, 0) as decimal(18, 2)) as partner_deal_revenue_rub,
        clients.revenue_12m_rub as client_revenue_12m_rub,
        clients.gross_margin_12m_rub as client_gross_margin_12m_rub,
        clients.open_tickets,
        coalesce(raised.open_tickets_raised_by_chain, 0) as open_tickets_raised_by_chain,
        coalesce(raised.tickets_raised_by_chain_12m, 0) as tickets_raised_by_chain_12m,
        clients.overdue_amount_rub,
        clients.is_sales_offer_blocked,
        clients.sales_offer_blocked_reason,
        as_of.as_of_date
    from won
    cross join as_of
    inner join latest_seller
        on won.partner_id = latest_seller.partner_id
            and won.client_id = latest_seller.client_id
    left join partners
        on won.partner_id = partners.partner_id
    left join partners as sellers
        on latest_seller.selling_partner_id = sellers.partner_id
    left join clients
        on won.client_id = clients.client_id
    left join deal_revenue
        on won.partner_id = deal_revenue.partner_id
            and won.client_id = deal_revenue.client_id
    left join raised
        on won.partner_id = raised.partner_id
            and won.client_id = raised.client_id

)

select * from final
