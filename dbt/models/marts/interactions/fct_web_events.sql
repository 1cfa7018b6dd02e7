{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_rows_of_retired_files() }}"],
    )
}}

-- One row per web event (page views included) with the client behind the visitor.
-- Form e-mails and phones are not here (they stay in pii). Incremental like fct_interactions.
-- depends_on: {{ source('meta', 'load_manifest') }}
with

web_events as (

    select * from {{ ref('stg_web__events') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

{% if is_incremental() %}

    loaded_files as (

        {{ loaded_file_hashes() }}

    ),

    built_until as (

        {{ built_until() }}

    ),

    stale as (

        select already_built.event_id
        from {{ this }} as already_built
        left join resolution_keys
            on already_built.resolution_key = resolution_keys.resolution_key
        where already_built.source_file_hash not in (select loaded_files.content_hash from loaded_files)
            or {{ is_distinct_from('already_built.client_id', 'resolution_keys.client_id') }}
            or {{ is_distinct_from('already_built.legal_entity_id', 'resolution_keys.legal_entity_id') }}

    ),

    -- only the events loaded since the last run and the stale ones are joined and rewritten (the
    -- model is named in each branch: a CTE read twice would be materialised whole)
    changed_events as (

        select new_events.*
        from {{ ref('stg_web__events') }} as new_events
        where new_events.loaded_at > (select * from built_until)
        union all
        select stale_events.*
        from {{ ref('stg_web__events') }} as stale_events
        where stale_events.loaded_at <= (select * from built_until)
            and stale_events.event_id in (select stale.event_id from stale)

    ),

{% endif %}

keyed as (

    select
        *,
        case
            when event_type = 'form_submit' then 'web_events:' || event_id
            else 'visitor:' || visitor_id
        end as resolution_key
    from {% if is_incremental() %}changed_events{% else %}web_events{% endif %}

),

enriched as (

    select
        keyed.event_id,
        keyed.event_at,
        {{ to_date('keyed.event_at') }} as event_date,
        keyed.visitor_id,
        keyed.event_type,
        resolution_keys.client_id,
        resolution_keys.legal_entity_id,
        keyed.resolution_key,
        keyed.page_url,
        keyed.referrer,
        keyed.utm_source,
        keyed.utm_medium,
        keyed.utm_campaign,
        keyed.chat_session_id,
        -- a sole proprietor's name and INN are a person's: initials here, the rest in pii
        {{ business_name('keyed.form_company', is_sole_proprietor('keyed.form_company', 'keyed.form_inn')) }}
            as form_company,
        {{ business_inn('keyed.form_inn', is_sole_proprietor('keyed.form_company', 'keyed.form_inn')) }}
            as form_inn,
        keyed.form_email is not null as has_form_email,
        keyed.form_phone is not null as has_form_phone,
        keyed.lead_id,
        keyed.device,
        keyed.geo_region,
        keyed.loaded_at,
        keyed.source_file_hash
    from keyed
    left join resolution_keys
        on keyed.resolution_key = resolution_keys.resolution_key

),

final as (

    select * from enriched

)

select * from final
