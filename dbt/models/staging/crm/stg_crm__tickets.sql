-- one row per ticket: its latest snapshot
with

source as (

    select * from {{ source('crm', 'tickets') }}

),

ranked as (

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
        _content_hash as source_file_hash,
        row_number() over (
            partition by ticket_id
            order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

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
        snapshot_date,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
