-- one row per counterparty: its latest snapshot
with

source as (

    select * from {{ source('finance', 'counterparties') }}

),

ranked as (

    select
        counterparty_id,
        name,
        inn,
        kpp,
        region,
        address,
        created_date,
        _snapshot_date as snapshot_date,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by counterparty_id
            order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

),

deduplicated as (

    select
        counterparty_id,
        name,
        inn,
        kpp,
        region,
        address,
        created_date,
        snapshot_date,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
