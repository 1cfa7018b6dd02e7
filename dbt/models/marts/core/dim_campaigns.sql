-- One row per marketing campaign, with its cost in roubles and the product line it promotes.
with

campaigns as (

    select * from {{ ref('stg_crm__campaigns') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

final as (

    select
        campaigns.campaign_id,
        campaigns.name as campaign_name,
        campaigns.campaign_type,
        campaigns.start_date,
        campaigns.end_date,
        {{ dbt.datediff('campaigns.start_date', 'campaigns.end_date', 'day') }} + 1 as duration_days,
        campaigns.cost,
        campaigns.currency,
        cast(coalesce(campaigns.cost, 0) * coalesce(currency_rates.rub_per_unit, 1) as decimal(18, 2)) as cost_rub,
        campaigns.utm_campaign,
        campaigns.office_code,
        campaigns.product_line
    from campaigns
    left join currency_rates
        on currency_rates.currency = coalesce(campaigns.currency, 'RUB')

)

select * from final
