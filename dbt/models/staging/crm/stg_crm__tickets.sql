-- one row per ticket: its latest snapshot
with

source as (

    select * from {{ source('crm', 'tickets') }}

),

deduplicated as (

    select
        ticket_id,
        account_id,
        contact_id,
        opened_at,
        priority,
        status,
        resolved_at,
        category,
        channel,
        owner_user_id,
        partner_id,
        _snapshot_date as snapshot_date,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash
    from source
    -- DuckDB-only: qualify keeps one row per key without a nested query
    qualify row_number() over (
            partition by ticket_id
            order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
        ) = 1

)

select * from deduplicated
