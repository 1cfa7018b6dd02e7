-- SCD2 history of who owned each client: one row per client and ownership period. At each
-- CRM snapshot the client's owner is the manager who owns most of its accounts (ties go
-- to the lowest manager id); consecutive snapshots with the same owner form one period.
-- "Who owned this client in March?": valid_from <= date and (valid_to > date or valid_to is null).
with

history as (

    select * from {{ ref('stg_crm__accounts_history') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

first_accounts as (

    select
        resolution_keys.client_id,
        min({{ to_date('history.created_at') }}) as first_account_created_date
    from history
    inner join resolution_keys
        on resolution_keys.resolution_key = 'accounts:' || history.account_id
    group by resolution_keys.client_id

),

owner_counts as (

    select
        resolution_keys.client_id,
        history.snapshot_date,
        history.owner_user_id,
        count(*) as accounts_owned
    from history
    inner join resolution_keys
        on resolution_keys.resolution_key = 'accounts:' || history.account_id
    where history.owner_user_id is not null
    group by resolution_keys.client_id, history.snapshot_date, history.owner_user_id

),

owner_per_snapshot as (

    select
        client_id,
        snapshot_date,
        owner_user_id,
        row_number() over (
            partition by client_id, snapshot_date
            order by accounts_owned desc, owner_user_id asc
        ) as owner_rank
    from owner_counts

),

snapshot_owners as (

    select
        client_id,
        snapshot_date,
        owner_user_id,
        lag(owner_user_id) over (partition by client_id order by snapshot_date) as previous_owner
    from owner_per_snapshot
    where owner_rank = 1

),

periods as (

    select
        client_id,
        owner_user_id,
        snapshot_date as valid_from,
        lead(snapshot_date) over (partition by client_id order by snapshot_date) as valid_to,
        previous_owner
    from snapshot_owners
    where previous_owner is null
        or previous_owner <> owner_user_id

),

final as (

    select
        periods.client_id || '@' || cast(periods.valid_from as {{ dbt.type_string() }}) as client_owner_period_id,
        periods.client_id,
        periods.owner_user_id as owner_manager_id,
        periods.previous_owner as previous_owner_manager_id,
        -- the first owner is taken to have owned the client since its first account was created
        case
            when periods.previous_owner is null
                then least(periods.valid_from, coalesce(first_accounts.first_account_created_date, periods.valid_from))
            else periods.valid_from
        end as valid_from,
        periods.valid_to,
        periods.valid_to is null as is_current
    from periods
    left join first_accounts
        on periods.client_id = first_accounts.client_id

)

select * from final
