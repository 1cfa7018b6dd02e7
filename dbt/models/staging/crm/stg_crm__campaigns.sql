-- one row per campaign: its latest snapshot
with

source as (

    select * from {{ source('crm', 'campaigns') }}

),

deduplicated as (

    select
        campaign_id,
        name,
        campaign_type,
        start_date,
        end_date,
        cost,
        currency,
        utm_campaign,
        office_code,
        product_line,
        _snapshot_date as snapshot_date,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash
    from source
    -- DuckDB-only: qualify keeps one row per key without a nested query
    qualify row_number() over (
            partition by campaign_id
            order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
        ) = 1

)

select * from deduplicated
