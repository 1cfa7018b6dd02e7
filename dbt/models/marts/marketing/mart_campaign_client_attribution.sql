-- One row per campaign and client it touched: touches, responses, and the won deals and
-- revenue of that client credited to the campaign under each attribution model.
with

touches as (

    select * from {{ ref('int_campaign_touches') }}

),

attribution as (

    select * from {{ ref('int_campaign_attribution') }}

),

touched as (

    select
        campaign_id,
        client_id,
        count(*) as touches,
        count(case when is_response then 1 end) as responses,
        min(touched_at) as first_touched_at,
        max(touched_at) as last_touched_at
    from touches
    where client_id is not null
    group by campaign_id, client_id

),

credited as (

    select
        campaign_id,
        client_id,
        count(distinct deal_id) as deals_influenced,
        sum(first_touch_credit) as first_touch_deals,
        sum(last_touch_credit) as last_touch_deals,
        sum(linear_credit) as linear_deals,
        sum(first_touch_revenue_rub) as first_touch_revenue_rub,
        sum(last_touch_revenue_rub) as last_touch_revenue_rub,
        sum(linear_revenue_rub) as linear_revenue_rub
    from attribution
    group by campaign_id, client_id

),

final as (

    select
        touched.campaign_id || '|' || touched.client_id as campaign_client_id,
        touched.campaign_id,
        touched.client_id,
        touched.touches,
        touched.responses,
        touched.first_touched_at,
        touched.last_touched_at,
        coalesce(credited.deals_influenced, 0) as deals_influenced,
        cast(coalesce(credited.first_touch_deals, 0) as double) as first_touch_deals,
        cast(coalesce(credited.last_touch_deals, 0) as double) as last_touch_deals,
        cast(coalesce(credited.linear_deals, 0) as double) as linear_deals,
        cast(coalesce(credited.first_touch_revenue_rub, 0) as double) as first_touch_revenue_rub,
        cast(coalesce(credited.last_touch_revenue_rub, 0) as double) as last_touch_revenue_rub,
        cast(coalesce(credited.linear_revenue_rub, 0) as double) as linear_revenue_rub
    from touched
    left join credited
        on touched.campaign_id = credited.campaign_id
            and touched.client_id = credited.client_id

)

select * from final
