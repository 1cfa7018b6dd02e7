{{ config(schema='pii') }}

-- one row per lead: its latest snapshot
with

source as (

    select * from {{ source('crm', 'leads') }}

),

ranked as (

    select
        lead_id,
        created_at,
        source_channel,
        company_name,
        inn,
        contact_name,
        email,
        phone,
        region,
        campaign_id,
        web_visitor_id,
        status,
        converted_account_id,
        converted_deal_id,
        converted_at,
        owner_user_id,
        _snapshot_date as snapshot_date,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by lead_id
            order by _snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

),

deduplicated as (

    select
        lead_id,
        created_at,
        source_channel,
        company_name,
        inn,
        contact_name,
        email,
        phone,
        region,
        campaign_id,
        web_visitor_id,
        status,
        converted_account_id,
        converted_deal_id,
        converted_at,
        owner_user_id,
        snapshot_date,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
