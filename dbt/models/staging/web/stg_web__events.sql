{{ config(schema='pii', materialized='table') }}

-- one row per web event: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('web', 'web_events') }}

),

deduplicated as (

    select
        event_id,
        event_at,
        visitor_id,
        event_type,
        page_url,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        chat_session_id,
        form_company,
        form_inn,
        form_email,
        form_phone,
        lead_id,
        device,
        geo_region,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash
    from source
    -- DuckDB-only: qualify keeps one row per key without a nested query
    qualify row_number() over (
            partition by event_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) = 1

)

select * from deduplicated
