-- One row per touch a campaign made on an organisation: campaign members (sent, opened,
-- attended...), site visits tagged with the campaign's utm_campaign, and leads the
-- campaign produced. Touches that cannot be tied to a client are kept (client_id null):
-- they count for reach, not for attribution.
with

campaigns as (

    select * from {{ ref('stg_crm__campaigns') }}

),

members as (

    select * from {{ ref('stg_crm__campaign_members') }}

),

web_events as (

    select * from {{ ref('stg_web__events') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

member_touches as (

    select
        'campaign_member:' || members.campaign_member_id as touch_id,
        members.campaign_id,
        'campaign_member' as touch_type,
        members.touched_at,
        members.response,
        members.response in ('clicked', 'registered', 'attended', 'responded') as is_response,
        coalesce(
            'accounts:' || members.account_id,
            'contacts:' || members.contact_id,
            'leads:' || members.lead_id
        ) as resolution_key,
        coalesce(
            {{ person_key('contact', 'members.contact_id') }},
            {{ person_key('lead', 'members.lead_id') }}
        ) as contact_key
    from members
    -- control-group members were not contacted: they are the comparison for lift, not touches
    where members.response <> 'held_out'

),

web_touches as (

    select
        'web_event:' || web_events.event_id as touch_id,
        campaigns.campaign_id,
        'web_visit' as touch_type,
        web_events.event_at as touched_at,
        web_events.event_type as response,
        web_events.event_type in ('ad_click', 'form_submit', 'chat_start') as is_response,
        case
            when web_events.event_type = 'form_submit' then 'web_events:' || web_events.event_id
            else 'visitor:' || web_events.visitor_id
        end as resolution_key,
        {{ person_key('lead', 'web_events.lead_id') }} as contact_key
    from web_events
    inner join campaigns
        on web_events.utm_campaign = campaigns.utm_campaign
    where web_events.event_type in ('ad_click', 'form_submit', 'chat_start')
        or (web_events.event_type = 'page_view' and web_events.utm_medium is not null)

),

lead_touches as (

    select
        'lead:' || leads.lead_id as touch_id,
        leads.campaign_id,
        'lead_created' as touch_type,
        leads.created_at as touched_at,
        'lead' as response,
        true as is_response,
        'leads:' || leads.lead_id as resolution_key,
        {{ person_key('lead', 'leads.lead_id') }} as contact_key
    from leads
    where leads.campaign_id is not null

),

touches as (

    select * from member_touches
    union all
    select * from web_touches
    union all
    select * from lead_touches

),

final as (

    select
        touches.touch_id,
        touches.campaign_id,
        touches.touch_type,
        touches.touched_at,
        touches.response,
        touches.is_response,
        touches.contact_key,
        resolution_keys.client_id
    from touches
    left join resolution_keys
        on touches.resolution_key = resolution_keys.resolution_key

)

select * from final
