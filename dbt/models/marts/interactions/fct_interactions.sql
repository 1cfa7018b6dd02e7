{{
    config(
        materialized=incremental_or_table(),
        incremental_strategy='delete+insert',
        unique_key='interaction_id',
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_rows_of_retired_files() }}"],
    )
}}

-- One row per touch with a client, on every channel. Incremental: a run rewrites the
-- touches from files loaded since the last run, the touches whose client, office or
-- campaign changed since (new resolution, new snapshot), and drops the touches whose
-- file was superseded, so a run gives the same table as a full refresh.
-- depends_on: {{ source('meta', 'load_manifest') }}
with

interactions as (

    select * from {{ ref('int_interactions__unioned') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

users as (

    select * from {{ ref('stg_crm__users') }}

),

campaigns as (

    select * from {{ ref('stg_crm__campaigns') }}

),

{% if is_incremental() %}

    loaded_files as (

        {{ loaded_file_hashes() }}

    ),

    built_until as (

        {{ built_until() }}

    ),

    stale as (

        select already_built.interaction_id
        from {{ this }} as already_built
        left join resolution_keys
            on already_built.resolution_key = resolution_keys.resolution_key
        left join users
            on already_built.manager_id = users.user_id
        left join campaigns
            on already_built.campaign_id = campaigns.campaign_id
        where already_built.source_file_hash not in (select loaded_files.content_hash from loaded_files)
            or {{ is_distinct_from('already_built.client_id', 'resolution_keys.client_id') }}
            or {{ is_distinct_from('already_built.legal_entity_id', 'resolution_keys.legal_entity_id') }}
            or {{ is_distinct_from('already_built.office_code', 'coalesce(campaigns.office_code, users.office_code)') }}
            or (already_built.campaign_id is not null and {{ is_distinct_from('already_built.medium', 'campaigns.campaign_type') }})

    ),

    -- only the touches loaded since the last run and the stale ones are joined and rewritten (the
    -- model is named in each branch: a CTE read twice would be materialised whole)
    changed_interactions as (

        select new_touches.*
        from {{ ref('int_interactions__unioned') }} as new_touches
        where new_touches.loaded_at > (select * from built_until)
        union all
        select stale_touches.*
        from {{ ref('int_interactions__unioned') }} as stale_touches
        where stale_touches.loaded_at <= (select * from built_until)
            and stale_touches.interaction_id in (select stale.interaction_id from stale)

    ),

{% endif %}

enriched as (

    select
        interactions.interaction_id,
        interactions.source_system,
        interactions.source_record_id,
        interactions.interaction_type,
        interactions.channel,
        interactions.direction,
        interactions.occurred_at,
        {{ to_date('interactions.occurred_at') }} as occurred_date,
        resolution_keys.client_id,
        resolution_keys.legal_entity_id,
        interactions.resolution_key,
        interactions.account_id,
        interactions.lead_id,
        interactions.contact_key,
        interactions.visitor_id,
        interactions.manager_id,
        -- the office that ran the campaign, else the office of the employee who made the touch
        coalesce(campaigns.office_code, users.office_code) as office_code,
        interactions.deal_id,
        interactions.campaign_id,
        interactions.ticket_id,
        interactions.medium,
        interactions.duration_seconds,
        interactions.outcome,
        interactions.loaded_at,
        interactions.source_file_hash
    from {% if is_incremental() %}changed_interactions as interactions{% else %}interactions{% endif %}
    left join resolution_keys
        on interactions.resolution_key = resolution_keys.resolution_key
    left join users
        on interactions.manager_id = users.user_id
    left join campaigns
        on interactions.campaign_id = campaigns.campaign_id

),

final as (

    select * from enriched

)

select * from final
