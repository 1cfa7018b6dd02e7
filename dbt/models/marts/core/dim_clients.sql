-- One row per client: every organisation we know of from any source, customers and
-- prospects alike (a lead that never bought is a client in the prospect stage).
with

records as (

    select * from {{ ref('int_entity_records__resolved') }}

),

legal_entities as (

    select * from {{ ref('dim_legal_entities') }}

),

lifecycle as (

    select * from {{ ref('int_clients__lifecycle') }}

),

owners as (

    select * from {{ ref('dim_client_owner_history') }}

),

users as (

    select * from {{ ref('stg_crm__users') }}

),

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

counterparties as (

    select * from {{ ref('stg_finance__counterparties') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

web_events as (

    select * from {{ ref('stg_web__events') }}

),

-- when each record was first seen in its source
record_dates as (

    select
        records.client_id,
        coalesce(
            accounts.created_at,
            cast(counterparties.created_date as {{ dbt.type_timestamp() }}),
            leads.created_at,
            web_events.event_at
        ) as first_seen_at
    from records
    left join accounts
        on records.entity = 'accounts' and records.record_id = accounts.account_id
    left join counterparties
        on records.entity = 'counterparties' and records.record_id = counterparties.counterparty_id
    left join leads
        on records.entity = 'leads' and records.record_id = leads.lead_id
    left join web_events
        on records.entity = 'web_events' and records.record_id = web_events.event_id

),

first_seen as (

    select
        client_id,
        min(first_seen_at) as first_seen_at
    from record_dates
    group by client_id

),

-- the name shown for the client: its invoiced legal entity with the most records, else any
named as (

    select
        client_id,
        legal_entity_name as client_name,
        inn as primary_inn,
        region,
        row_number() over (
            partition by client_id
            order by
                case when is_invoiced_entity then 0 else 1 end,
                account_count + counterparty_count desc,
                record_count desc,
                legal_entity_id asc
        ) as name_rank
    from legal_entities

),

summary as (

    select
        client_id,
        count(*) as legal_entity_count,
        cast(sum(record_count) as {{ dbt.type_bigint() }}) as record_count,
        cast(sum(counterparty_count) as {{ dbt.type_bigint() }}) as counterparty_count,
        cast(sum(account_count) as {{ dbt.type_bigint() }}) as account_count,
        cast(sum(lead_count) as {{ dbt.type_bigint() }}) as lead_count,
        cast(sum(web_form_count) as {{ dbt.type_bigint() }}) as web_form_count
    from legal_entities
    group by client_id

),

current_owners as (

    select
        client_id,
        owner_manager_id
    from owners
    where is_current

),

final as (

    select
        named.client_id,
        named.client_name,
        named.primary_inn,
        named.region,
        summary.legal_entity_count,
        summary.record_count,
        summary.counterparty_count,
        summary.account_count,
        summary.lead_count,
        summary.web_form_count,
        lifecycle.first_invoice_date is not null as is_customer,
        lifecycle.lifecycle_stage,
        lifecycle.first_invoice_date,
        lifecycle.last_invoice_date,
        first_seen.first_seen_at,
        current_owners.owner_manager_id,
        users.office_code as owner_office_code
    from named
    inner join summary
        on named.client_id = summary.client_id
    left join lifecycle
        on named.client_id = lifecycle.client_id
    left join first_seen
        on named.client_id = first_seen.client_id
    left join current_owners
        on named.client_id = current_owners.client_id
    left join users
        on current_owners.owner_manager_id = users.user_id
    where named.name_rank = 1

)

select * from final
