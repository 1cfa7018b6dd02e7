-- one row per deal per stage entered: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('crm', 'deal_stage_changes') }}

),

ranked as (

    select
        deal_id,
        stage,
        changed_at,
        amount,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by deal_id, stage, changed_at
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

),

deduplicated as (

    select
        deal_id,
        stage,
        changed_at,
        amount,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
