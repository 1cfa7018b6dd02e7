-- One row per campaign: cost, reach, responses, the leads it produced, the won deals and
-- revenue credited to it under first-touch, last-touch and linear attribution over the
-- attribution window (var attribution_window_days), with ROI under each model; and next to
-- them what the campaign caused (int_campaign_lift): the lift in the share of touched
-- customers buying the promoted line against a control or matched comparison group, with
-- its 95% interval, the incremental revenue and its ROI. Attribution says which campaigns
-- were near the money; lift says which ones made it.
with

campaigns as (

    select * from {{ ref('dim_campaigns') }}

),

touches as (

    select * from {{ ref('int_campaign_touches') }}

),

attribution as (

    select * from {{ ref('int_campaign_attribution') }}

),

deals as (

    select * from {{ ref('int_deals__staged') }}

),

lift as (

    select * from {{ ref('int_campaign_lift') }}

),

reach as (

    select
        campaign_id,
        count(*) as touches,
        count(distinct contact_key) as people_reached,
        count(distinct client_id) as clients_reached,
        count(case when is_response then 1 end) as responses,
        count(case when touch_type = 'lead_created' then 1 end) as leads_created
    from touches
    group by campaign_id

),

credited as (

    select
        campaign_id,
        count(distinct deal_id) as deals_influenced,
        sum(first_touch_credit) as first_touch_deals,
        sum(last_touch_credit) as last_touch_deals,
        sum(linear_credit) as linear_deals,
        sum(first_touch_revenue_rub) as first_touch_revenue_rub,
        sum(last_touch_revenue_rub) as last_touch_revenue_rub,
        sum(linear_revenue_rub) as linear_revenue_rub
    from attribution
    group by campaign_id

),

crm_primary as (

    select
        campaign_id,
        count(case when is_won then 1 end) as crm_deals_won,
        sum(case when is_won then amount_rub else 0 end) as crm_won_amount_rub
    from deals
    where campaign_id is not null
    group by campaign_id

),

joined as (

    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.campaign_type,
        campaigns.office_code,
        campaigns.product_line,
        campaigns.start_date,
        campaigns.end_date,
        campaigns.cost_rub,
        coalesce(reach.touches, 0) as touches,
        coalesce(reach.people_reached, 0) as people_reached,
        coalesce(reach.clients_reached, 0) as clients_reached,
        coalesce(reach.responses, 0) as responses,
        coalesce(reach.leads_created, 0) as leads_created,
        coalesce(credited.deals_influenced, 0) as deals_influenced,
        cast(coalesce(credited.first_touch_deals, 0) as double) as first_touch_deals,
        cast(coalesce(credited.last_touch_deals, 0) as double) as last_touch_deals,
        cast(coalesce(credited.linear_deals, 0) as double) as linear_deals,
        cast(coalesce(credited.first_touch_revenue_rub, 0) as double) as first_touch_revenue_rub,
        cast(coalesce(credited.last_touch_revenue_rub, 0) as double) as last_touch_revenue_rub,
        cast(coalesce(credited.linear_revenue_rub, 0) as double) as linear_revenue_rub,
        coalesce(crm_primary.crm_deals_won, 0) as crm_deals_won,
        cast(coalesce(crm_primary.crm_won_amount_rub, 0) as double) as crm_won_amount_rub,
        coalesce(lift.lift_method, 'none') as lift_method,
        coalesce(lift.lift_treated_clients, 0) as lift_treated_clients,
        coalesce(lift.lift_comparison_clients, 0) as lift_comparison_clients,
        coalesce(lift.is_lift_measured, false) as is_lift_measured,
        case when lift.is_lift_measured then lift.treated_purchase_rate end as treated_purchase_rate,
        case when lift.is_lift_measured then lift.comparison_purchase_rate end as comparison_purchase_rate,
        case when lift.is_lift_measured then lift.lift end as lift,
        case when lift.is_lift_measured then lift.lift_ci_low end as lift_ci_low,
        case when lift.is_lift_measured then lift.lift_ci_high end as lift_ci_high,
        case when lift.is_lift_measured then lift.incremental_revenue_rub end as incremental_revenue_rub,
        case when lift.is_lift_measured then lift.incremental_revenue_ci_low_rub end
            as incremental_revenue_ci_low_rub,
        case when lift.is_lift_measured then lift.incremental_revenue_ci_high_rub end
            as incremental_revenue_ci_high_rub,
        lift.lift_window_days
    from campaigns
    left join reach
        on campaigns.campaign_id = reach.campaign_id
    left join credited
        on campaigns.campaign_id = credited.campaign_id
    left join crm_primary
        on campaigns.campaign_id = crm_primary.campaign_id
    left join lift
        on campaigns.campaign_id = lift.campaign_id

),

final as (

    select
        *,
        cast(responses as double) / nullif(touches, 0) as response_rate,
        (first_touch_revenue_rub - cost_rub) / nullif(cost_rub, 0) as first_touch_roi,
        (last_touch_revenue_rub - cost_rub) / nullif(cost_rub, 0) as last_touch_roi,
        (linear_revenue_rub - cost_rub) / nullif(cost_rub, 0) as linear_roi,
        (incremental_revenue_rub - cost_rub) / nullif(cost_rub, 0) as incremental_roi,
        -- the interval excludes no effect: the campaign measurably changed buying (either way)
        coalesce(is_lift_measured and (lift_ci_low > 0 or lift_ci_high < 0), false) as has_measurable_effect,
        case when is_lift_measured then rank() over (order by lift desc nulls last) end as lift_rank,
        {{ var('attribution_window_days') }} as attribution_window_days
    from joined

)

select * from final
