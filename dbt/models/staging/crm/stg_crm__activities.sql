{{
    config(
        materialized=incremental_or_table(),
        incremental_strategy='delete+insert',
        unique_key='activity_id',
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_rows_of_retired_files() }}"],
    )
}}

-- one row per activity: the latest loaded copy when an export repeats a row. Incremental: a run
-- re-picks the latest copy of the keys in rows loaded since the last run and of the keys whose
-- copy came from a file no longer loaded (superseded or reloaded); the post-hook drops the keys
-- raw no longer has, so a run gives the same table as a full refresh.
-- depends_on: {{ source('meta', 'load_manifest') }}
with

source as (

    select * from {{ source('crm', 'activities') }}

),

{% if is_incremental() %}

    loaded_files as (

        {{ loaded_file_hashes() }}

    ),

    -- keys whose kept copy came from a file no longer loaded: every copy raw still has competes again
    stale_keys as (

        select already_built.activity_id
        from {{ this }} as already_built
        where already_built.source_file_hash not in (select loaded_files.content_hash from loaded_files)

    ),

    -- rows loaded since the last run are newer than every other copy of their key (the source is
    -- named in each branch: a CTE read twice would be materialised whole)
    changed as (

        select new_rows.*
        from {{ source('crm', 'activities') }} as new_rows
        where new_rows._loaded_at > ({{ built_until() }})
        union all
        select copies.*
        from {{ source('crm', 'activities') }} as copies
        where copies.activity_id in (select stale_keys.activity_id from stale_keys)

    ),

{% endif %}

ranked as (

    select
        activity_id,
        activity_type,
        direction,
        occurred_at,
        account_id,
        contact_id,
        lead_id,
        deal_id,
        owner_user_id,
        duration_seconds,
        outcome,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by activity_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from {% if is_incremental() %}changed{% else %}source{% endif %}

),

deduplicated as (

    select
        activity_id,
        activity_type,
        direction,
        occurred_at,
        account_id,
        contact_id,
        lead_id,
        deal_id,
        owner_user_id,
        duration_seconds,
        outcome,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
