-- One row per first-touch origin (cold call, inbound call, web form, ad click, chat, event,
-- partner referral, client referral, e-mail campaign, unknown): how its leads convert, how
-- long they take to a first won deal, and what the clients won this way earned in their
-- first year (gross margin over the 365 days from their first invoice, for clients whose
-- first year is complete by the as-of date). Prepared leads against cold calls, in money.
with

leads as (

    select * from {{ ref('int_leads__first_touch') }}

),

deals as (

    select * from {{ ref('int_deals__staged') }}

),

clients as (

    select * from {{ ref('int_clients__first_touch') }}

),

invoices as (

    select * from {{ ref('int_invoices__aged') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

lead_deals as (

    select
        deals.lead_id,
        count(*) as deals,
        min(case when deals.is_won then deals.won_at end) as first_won_at,
        sum(case when deals.is_won then deals.amount_rub else 0 end) as won_amount_rub
    from deals
    where deals.lead_id is not null
    group by deals.lead_id

),

lead_outcomes as (

    select
        leads.first_touch_origin,
        count(*) as leads,
        count(case when leads.status = 'converted' or lead_deals.deals > 0 then 1 end) as leads_converted,
        count(lead_deals.first_won_at) as leads_won,
        sum(coalesce(lead_deals.won_amount_rub, 0)) as won_amount_rub,
        avg(
            case when lead_deals.first_won_at is not null
                    then {{ days_between('leads.lead_created_at', 'lead_deals.first_won_at') }}
            end
        ) as avg_days_to_first_won_deal
    from leads
    left join lead_deals
        on leads.lead_id = lead_deals.lead_id
    group by leads.first_touch_origin

),

first_year as (

    select
        clients.client_id,
        clients.first_touch_origin,
        sum(
            case
                when invoices.invoice_date < {{ dbt.dateadd('day', 365, 'clients.first_invoice_date') }}
                    then invoices.net_revenue_rub - invoices.cost_of_sales_rub
                else 0
            end
        ) as first_year_gross_margin_rub,
        max(
            case when {{ dbt.dateadd('day', 365, 'clients.first_invoice_date') }}
                    <= {{ dbt.dateadd('day', 1, 'as_of.as_of_date') }} then 1
                else 0
            end
        ) = 1 as has_full_first_year
    from clients
    cross join as_of
    inner join invoices
        on clients.client_id = invoices.client_id
    where clients.first_invoice_date is not null
        and clients.first_touch_origin <> 'unknown'
    group by clients.client_id, clients.first_touch_origin

),

clients_won as (

    select
        first_touch_origin,
        count(*) as clients_won,
        count(case when has_full_first_year then 1 end) as clients_with_full_first_year,
        sum(case when has_full_first_year then first_year_gross_margin_rub else 0 end)
            as first_year_gross_margin_rub
    from first_year
    group by first_touch_origin

),

origins as (

    select first_touch_origin from lead_outcomes
    union
    select first_touch_origin from clients_won

),

final as (

    select
        origins.first_touch_origin,
        coalesce(lead_outcomes.leads, 0) as leads,
        coalesce(lead_outcomes.leads_converted, 0) as leads_converted,
        coalesce(lead_outcomes.leads_won, 0) as leads_won,
        cast(lead_outcomes.leads_won as double) / nullif(lead_outcomes.leads, 0) as lead_to_won_rate,
        cast(lead_outcomes.leads_converted as double) / nullif(lead_outcomes.leads, 0) as lead_conversion_rate,
        cast(lead_outcomes.avg_days_to_first_won_deal as double) as avg_days_to_first_won_deal,
        cast(coalesce(lead_outcomes.won_amount_rub, 0) as decimal(18, 2)) as won_amount_rub,
        coalesce(clients_won.clients_won, 0) as clients_won,
        coalesce(clients_won.clients_with_full_first_year, 0) as clients_with_full_first_year,
        cast(coalesce(clients_won.first_year_gross_margin_rub, 0) as decimal(18, 2)) as first_year_gross_margin_rub,
        cast(
            clients_won.first_year_gross_margin_rub / nullif(clients_won.clients_with_full_first_year, 0)
            as decimal(18, 2)
        ) as avg_first_year_gross_margin_rub,
        as_of.as_of_date
    from origins
    cross join as_of
    left join lead_outcomes
        on origins.first_touch_origin = lead_outcomes.first_touch_origin
    left join clients_won
        on origins.first_touch_origin = clients_won.first_touch_origin

)

select * from final
