{{ config(schema='pii') }}

-- one row per user: its latest snapshot
with

source as (

    select * from {{ source('crm', 'users') }}

),

ranked as (

    select
        user_id,
        full_name,
        email,
        office_code,
        role,
        hired_date,
        left_date,
        _snapshot_date as snapshot_date,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by user_id
            order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

),

deduplicated as (

    select
        user_id,
        full_name,
        email,
        office_code,
        role,
        hired_date,
        left_date,
        snapshot_date,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
