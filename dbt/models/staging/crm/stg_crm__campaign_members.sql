-- one row per campaign touch: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('crm', 'campaign_members') }}

),

deduplicated as (

    select
        campaign_member_id,
        campaign_id,
        contact_id,
        lead_id,
        account_id,
        touched_at,
        response,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash
    from source
    -- DuckDB-only: qualify keeps one row per key without a nested query
    qualify row_number() over (
            partition by campaign_member_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) = 1

)

select * from deduplicated
