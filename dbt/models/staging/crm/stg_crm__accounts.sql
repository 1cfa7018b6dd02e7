-- one row per account: its latest snapshot
with

source as (

    select * from {{ source('crm', 'accounts') }}

),

ranked as (

    select
        account_id,
        name,
        inn,
        kpp,
        parent_account_id,
        region,
        lower(website) as website,
        phone,
        industry,
        owner_user_id,
        office_code,
        created_at,
        _snapshot_date as snapshot_date,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by account_id
            order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

),

deduplicated as (

    select
        account_id,
        name,
        inn,
        kpp,
        parent_account_id,
        region,
        website,
        phone,
        industry,
        owner_user_id,
        office_code,
        created_at,
        snapshot_date,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
