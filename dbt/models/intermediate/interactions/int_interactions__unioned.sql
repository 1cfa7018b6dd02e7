{{ config(materialized='view') }}

-- Every touch on every channel in one shape, before clients are attached: CRM activities
-- (calls, e-mails, meetings, events), support tickets (when opened), campaign touches (not
-- the members held out as a control group), and the web events that are a conversation (form submits, chat starts, ad clicks).
-- Page views are not touches: they are in fct_web_events.
with

activities as (

    select * from {{ ref('stg_crm__activities') }}

),

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

campaign_members as (

    select * from {{ ref('stg_crm__campaign_members') }}

),

campaigns as (

    select * from {{ ref('stg_crm__campaigns') }}

),

web_events as (

    select * from {{ ref('stg_web__events') }}

),

activity_touches as (

    select
        'activity:' || activity_id as interaction_id,
        'crm' as source_system,
        activity_id as source_record_id,
        activity_type as interaction_type,
        activity_type as channel,
        direction,
        occurred_at,
        coalesce('accounts:' || account_id, 'leads:' || lead_id, 'contacts:' || contact_id) as resolution_key,
        account_id,
        lead_id,
        coalesce({{ person_key('contact', 'contact_id') }}, {{ person_key('lead', 'lead_id') }}) as contact_key,
        cast(null as {{ dbt.type_string() }}) as visitor_id,
        owner_user_id as manager_id,
        deal_id,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as ticket_id,
        cast(null as {{ dbt.type_string() }}) as medium,
        duration_seconds,
        outcome,
        loaded_at,
        source_file_hash
    from activities

),

ticket_touches as (

    select
        'ticket:' || ticket_id as interaction_id,
        'crm' as source_system,
        ticket_id as source_record_id,
        'support_ticket' as interaction_type,
        'support_ticket' as channel,
        'inbound' as direction,
        opened_at as occurred_at,
        coalesce('accounts:' || account_id, 'contacts:' || contact_id) as resolution_key,
        account_id,
        cast(null as {{ dbt.type_string() }}) as lead_id,
        {{ person_key('contact', 'contact_id') }} as contact_key,
        cast(null as {{ dbt.type_string() }}) as visitor_id,
        owner_user_id as manager_id,
        cast(null as {{ dbt.type_string() }}) as deal_id,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        ticket_id,
        channel as medium,
        cast(null as {{ dbt.type_bigint() }}) as duration_seconds,
        status as outcome,
        loaded_at,
        source_file_hash
    from tickets

),

campaign_touches as (

    select
        'campaign_member:' || campaign_members.campaign_member_id as interaction_id,
        'crm' as source_system,
        campaign_members.campaign_member_id as source_record_id,
        'campaign_' || coalesce(campaigns.campaign_type, 'unknown') as interaction_type,
        case campaigns.campaign_type
            when 'email' then 'email'
            when 'ads' then 'ad_click'
            else 'event'
        end as channel,
        'outbound' as direction,
        campaign_members.touched_at as occurred_at,
        coalesce(
            'accounts:' || campaign_members.account_id,
            'contacts:' || campaign_members.contact_id,
            'leads:' || campaign_members.lead_id
        ) as resolution_key,
        campaign_members.account_id,
        campaign_members.lead_id,
        coalesce(
            {{ person_key('contact', 'campaign_members.contact_id') }},
            {{ person_key('lead', 'campaign_members.lead_id') }}
        ) as contact_key,
        cast(null as {{ dbt.type_string() }}) as visitor_id,
        cast(null as {{ dbt.type_string() }}) as manager_id,
        cast(null as {{ dbt.type_string() }}) as deal_id,
        campaign_members.campaign_id,
        cast(null as {{ dbt.type_string() }}) as ticket_id,
        campaigns.campaign_type as medium,
        cast(null as {{ dbt.type_bigint() }}) as duration_seconds,
        campaign_members.response as outcome,
        campaign_members.loaded_at,
        campaign_members.source_file_hash
    from campaign_members
    left join campaigns
        on campaign_members.campaign_id = campaigns.campaign_id
    -- a member held out as a control group was never contacted
    where campaign_members.response <> 'held_out'

),

web_touches as (

    select
        'web_event:' || event_id as interaction_id,
        'web' as source_system,
        event_id as source_record_id,
        case event_type
            when 'form_submit' then 'web_form'
            when 'chat_start' then 'chat'
            else 'ad_click'
        end as interaction_type,
        case event_type
            when 'form_submit' then 'web_form'
            when 'chat_start' then 'chat'
            else 'ad_click'
        end as channel,
        'inbound' as direction,
        event_at as occurred_at,
        case
            when event_type = 'form_submit' then 'web_events:' || event_id
            else 'visitor:' || visitor_id
        end as resolution_key,
        cast(null as {{ dbt.type_string() }}) as account_id,
        lead_id,
        {{ person_key('lead', 'lead_id') }} as contact_key,
        visitor_id,
        cast(null as {{ dbt.type_string() }}) as manager_id,
        cast(null as {{ dbt.type_string() }}) as deal_id,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as ticket_id,
        coalesce(utm_medium, utm_source) as medium,
        cast(null as {{ dbt.type_bigint() }}) as duration_seconds,
        utm_campaign as outcome,
        loaded_at,
        source_file_hash
    from web_events
    where event_type in ('form_submit', 'chat_start', 'ad_click')

),

final as (

    select * from activity_touches
    union all
    select * from ticket_touches
    union all
    select * from campaign_touches
    union all
    select * from web_touches

)

select * from final
