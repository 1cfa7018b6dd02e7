-- One row per won deal and campaign touch the client answered (clicked, registered,
-- attended, responded; ad click, form or chat from a tagged visit; a lead the campaign
-- produced) inside the attribution window: from attribution_window_days before the deal
-- opened until it was won. Touches nobody answered (a mailing sent or opened, a page view)
-- earn no credit. Each model's credits sum to 1 per deal: first touch takes all, last
-- touch takes all, linear splits it evenly.
with

deals as (

    select * from {{ ref('int_deals__staged') }}

),

touches as (

    select * from {{ ref('int_campaign_touches') }}

),

won_deals as (

    select
        deal_id,
        client_id,
        created_at,
        won_at,
        amount_rub
    from deals
    where is_won
        and client_id is not null
        and won_at is not null

),

touches_in_window as (

    select
        won_deals.deal_id,
        won_deals.client_id,
        won_deals.won_at,
        won_deals.amount_rub,
        touches.touch_id,
        touches.campaign_id,
        touches.touch_type,
        touches.touched_at
    from won_deals
    inner join touches
        on touches.is_response
            and won_deals.client_id = touches.client_id
            and won_deals.won_at >= touches.touched_at
            and touches.touched_at >= {{ dbt.dateadd('day', -1 * var('attribution_window_days'), 'won_deals.created_at') }}

),

ranked as (

    select
        *,
        row_number() over (partition by deal_id order by touched_at, touch_id) as touch_order,
        row_number() over (partition by deal_id order by touched_at desc, touch_id desc) as touch_order_desc,
        count(*) over (partition by deal_id) as touches_on_deal
    from touches_in_window

),

final as (

    select
        deal_id,
        touch_id,
        campaign_id,
        client_id,
        touch_type,
        touched_at,
        won_at,
        touch_order,
        touches_on_deal,
        cast(case when touch_order = 1 then 1 else 0 end as double) as first_touch_credit,
        cast(case when touch_order_desc = 1 then 1 else 0 end as double) as last_touch_credit,
        cast(1 as double) / touches_on_deal as linear_credit,
        amount_rub as deal_amount_rub,
        cast(case when touch_order = 1 then amount_rub else 0 end as double) as first_touch_revenue_rub,
        cast(case when touch_order_desc = 1 then amount_rub else 0 end as double) as last_touch_revenue_rub,
        cast(amount_rub as double) / touches_on_deal as linear_revenue_rub
    from ranked

)

select * from final
