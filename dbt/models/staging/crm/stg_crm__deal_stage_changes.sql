-- one row per deal per stage entered: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('crm', 'deal_stage_changes') }}

),

deduplicated as (

    select
        deal_id,
        stage,
        changed_at,
        amount,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash
    from source
    -- DuckDB-only: qualify keeps one row per key without a nested query
    qualify row_number() over (
            partition by deal_id, stage, changed_at
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) = 1

)

select * from deduplicated
