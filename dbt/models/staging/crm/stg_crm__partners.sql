-- one row per partner: its latest snapshot
with

source as (

    select * from {{ source('crm', 'partners') }}

),

deduplicated as (

    select
        partner_id,
        name,
        partner_type,
        inn,
        region,
        parent_partner_id,
        commission_percent,
        _snapshot_date as snapshot_date,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash
    from source
    -- DuckDB-only: qualify keeps one row per key without a nested query
    qualify row_number() over (
            partition by partner_id
            order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
        ) = 1

)

select * from deduplicated
