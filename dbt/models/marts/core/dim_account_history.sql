-- SCD2 history of client attributes and ownership as the CRM recorded them: one row per
-- account and version, valid from the snapshot that first showed it (the account's
-- creation for its first version) until the next version. Rebuilt from every snapshot
-- kept in raw, so it needs no state of its own.
with

history as (

    select * from {{ ref('stg_crm__accounts_history') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

fingerprinted as (

    select
        *,
        {{ dbt.hash(dbt.concat([
            "coalesce(name, '')", "'|'", "coalesce(inn, '')", "'|'", "coalesce(kpp, '')", "'|'",
            "coalesce(parent_account_id, '')", "'|'", "coalesce(region, '')", "'|'",
            "coalesce(industry, '')", "'|'", "coalesce(owner_user_id, '')", "'|'",
            "coalesce(office_code, '')",
        ])) }} as attributes_hash
    from history

),

changes as (

    select
        *,
        lag(attributes_hash) over (partition by account_id order by snapshot_date) as previous_hash,
        row_number() over (partition by account_id order by snapshot_date) as snapshot_number
    from fingerprinted

),

versions as (

    select
        *,
        lead(snapshot_date) over (partition by account_id order by snapshot_date) as next_version_date
    from changes
    where previous_hash is null
        or previous_hash <> attributes_hash

),

final as (

    select
        versions.account_id || '@' || cast(versions.snapshot_date as {{ dbt.type_string() }}) as account_version_id,
        versions.account_id,
        resolution_keys.client_id,
        resolution_keys.legal_entity_id,
        -- a sole proprietor's name and INN are a person's: initials here, the rest in pii
        {{ business_name('versions.name', is_sole_proprietor('versions.name', 'versions.inn')) }}
            as account_name,
        {{ business_inn('versions.inn', is_sole_proprietor('versions.name', 'versions.inn')) }} as inn,
        versions.kpp,
        versions.parent_account_id,
        versions.region,
        versions.industry,
        versions.owner_user_id as owner_manager_id,
        versions.office_code,
        case
            when versions.snapshot_number = 1
                then least(versions.snapshot_date, coalesce({{ to_date('versions.created_at') }}, versions.snapshot_date))
            else versions.snapshot_date
        end as valid_from,
        versions.next_version_date as valid_to,
        versions.next_version_date is null as is_current,
        versions.snapshot_date as first_seen_snapshot_date
    from versions
    left join resolution_keys
        on resolution_keys.resolution_key = 'accounts:' || versions.account_id

)

select * from final
