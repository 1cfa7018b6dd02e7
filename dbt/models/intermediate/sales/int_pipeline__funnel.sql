-- One row per path through the pipeline: a lead (converted or not) with the deal it
-- became, or a deal opened without a lead. The cohort month is when the path began.
with

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

deals as (

    select * from {{ ref('int_deals__staged') }}

),

users as (

    select * from {{ ref('stg_crm__users') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

-- the deal a lead became: the deal that names the lead, else the one the lead names
lead_deals as (

    select
        leads.lead_id,
        coalesce(
            min(deals_by_lead.deal_id),
            min(case when leads.converted_deal_id is not null then deals_by_ref.deal_id end)
        ) as deal_id
    from leads
    left join deals as deals_by_lead
        on leads.lead_id = deals_by_lead.lead_id
    left join deals as deals_by_ref
        on leads.converted_deal_id = deals_by_ref.deal_id
    group by leads.lead_id

),

lead_paths as (

    select
        'lead:' || leads.lead_id as funnel_id,
        leads.lead_id,
        lead_deals.deal_id,
        leads.created_at as started_at,
        leads.source_channel,
        leads.owner_user_id as lead_manager_id,
        resolution_keys.client_id as lead_client_id,
        leads.campaign_id as lead_campaign_id,
        true as is_lead
    from leads
    inner join lead_deals
        on leads.lead_id = lead_deals.lead_id
    left join resolution_keys
        on resolution_keys.resolution_key = 'leads:' || leads.lead_id

),

deal_only_paths as (

    select
        'deal:' || deals.deal_id as funnel_id,
        cast(null as {{ dbt.type_string() }}) as lead_id,
        deals.deal_id,
        deals.created_at as started_at,
        cast(null as {{ dbt.type_string() }}) as source_channel,
        cast(null as {{ dbt.type_string() }}) as lead_manager_id,
        cast(null as {{ dbt.type_string() }}) as lead_client_id,
        cast(null as {{ dbt.type_string() }}) as lead_campaign_id,
        false as is_lead
    from deals
    where deals.deal_id not in (
            select lead_deals.deal_id from lead_deals
            where lead_deals.deal_id is not null
        )

),

paths as (

    select * from lead_paths
    union all
    select * from deal_only_paths

),

final as (

    select
        paths.funnel_id,
        paths.lead_id,
        paths.deal_id,
        coalesce(deals.client_id, paths.lead_client_id) as client_id,
        paths.started_at,
        {{ month_start('paths.started_at') }} as cohort_month,
        coalesce(deals.manager_id, paths.lead_manager_id) as manager_id,
        coalesce(deals.office_code, users.office_code) as office_code,
        deals.partner_id,
        deals.product_line,
        paths.source_channel,
        coalesce(deals.campaign_id, paths.lead_campaign_id) as campaign_id,
        paths.is_lead,
        deals.deal_id is not null as has_deal,
        coalesce(deals.reached_proposal, false) as reached_proposal,
        coalesce(deals.reached_negotiation, false) as reached_negotiation,
        coalesce(deals.is_won, false) as is_won,
        coalesce(deals.is_lost, false) as is_lost,
        coalesce(deals.is_open, false) as is_open_deal,
        case when deals.is_won then deals.amount_rub end as won_amount_rub,
        case when paths.is_lead then {{ days_between('paths.started_at', 'deals.created_at') }} end
            as days_lead_to_deal,
        deals.days_created_to_won as days_deal_to_won,
        case when deals.is_won then {{ days_between('paths.started_at', 'deals.won_at') }} end
            as days_start_to_won
    from paths
    left join deals
        on paths.deal_id = deals.deal_id
    left join users
        on users.user_id = coalesce(deals.manager_id, paths.lead_manager_id)

)

select * from final
