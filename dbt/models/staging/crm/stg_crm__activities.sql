{{ config(materialized='table') }}

-- one row per activity: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('crm', 'activities') }}

),

deduplicated as (

    select
        activity_id,
        activity_type,
        direction,
        occurred_at,
        account_id,
        contact_id,
        lead_id,
        deal_id,
        owner_user_id,
        duration_seconds,
        outcome,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash
    from source
    -- DuckDB-only: qualify keeps one row per key without a nested query
    qualify row_number() over (
            partition by activity_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) = 1

)

select * from deduplicated
