-- One row per lead: where it first came from. The first touch is the earliest of the lead's
-- creation (its source channel: cold call, inbound call, web form, ad, chat, event, partner,
-- referral, e-mail) and what its web visitor did up to then (an ad click, a chat, a form).
-- Campaign memberships and follow-up activities are not origins: the CRM records them on a
-- lead that already exists.
with

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

web_events as (

    select * from {{ ref('stg_web__events') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

created as (

    select
        lead_id,
        created_at as touched_at,
        {{ lead_channel_origin('source_channel') }} as origin,
        1 as precedence
    from leads

),

visits_before as (

    select
        leads.lead_id,
        web_events.event_at as touched_at,
        case web_events.event_type
            when 'ad_click' then 'ad_click'
            when 'chat_start' then 'chat'
            else 'web_form'
        end as origin,
        0 as precedence
    from leads
    inner join web_events
        on leads.web_visitor_id = web_events.visitor_id
    where web_events.event_type in ('ad_click', 'chat_start', 'form_submit')
        and web_events.event_at <= leads.created_at

),

touches as (

    select * from created
    union all
    select * from visits_before

),

ranked as (

    select
        *,
        row_number() over (
            partition by lead_id
            order by touched_at, precedence, origin
        ) as touch_order
    from touches

),

final as (

    select
        leads.lead_id,
        resolution_keys.client_id,
        leads.created_at as lead_created_at,
        leads.source_channel,
        ranked.origin as first_touch_origin,
        ranked.touched_at as first_touch_at,
        leads.status,
        leads.converted_deal_id,
        leads.campaign_id
    from leads
    inner join ranked
        on leads.lead_id = ranked.lead_id
            and ranked.touch_order = 1
    left join resolution_keys
        on resolution_keys.resolution_key = 'leads:' || leads.lead_id

)

select * from final
