-- one row per campaign touch: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('crm', 'campaign_members') }}

),

ranked as (

    select
        campaign_member_id,
        campaign_id,
        contact_id,
        lead_id,
        account_id,
        touched_at,
        response,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by campaign_member_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

),

deduplicated as (

    select
        campaign_member_id,
        campaign_id,
        contact_id,
        lead_id,
        account_id,
        touched_at,
        response,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
