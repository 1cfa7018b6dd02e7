-- one row per deal: its latest snapshot
with

source as (

    select * from {{ source('crm', 'deals') }}

),

ranked as (

    select
        deal_id,
        account_id,
        created_at,
        stage,
        amount,
        currency,
        product_line,
        expected_close_date,
        closed_at,
        lost_reason,
        owner_user_id,
        partner_id,
        lead_id,
        campaign_id,
        office_code,
        _snapshot_date as snapshot_date,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by deal_id
            order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

),

deduplicated as (

    select
        deal_id,
        account_id,
        created_at,
        stage,
        amount,
        currency,
        product_line,
        expected_close_date,
        closed_at,
        lost_reason,
        owner_user_id,
        partner_id,
        lead_id,
        campaign_id,
        office_code,
        snapshot_date,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
