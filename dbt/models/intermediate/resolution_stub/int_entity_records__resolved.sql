{{ config(enabled=var('use_resolution_stub', true)) }}

-- TEMPORARY stand-in for the client resolution (models/intermediate/resolution/):
-- one legal entity per valid INN (else per record), one client per legal entity.
-- Disable with --vars '{use_resolution_stub: false}'; removed once the real model lands.
with

counterparties as (

    select * from {{ ref('stg_finance__counterparties') }}

),

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

web_events as (

    select * from {{ ref('stg_web__events') }}

),

records as (

    select
        'finance' as source,
        'counterparties' as entity,
        counterparty_id as record_id,
        name as display_name,
        inn,
        kpp,
        region
    from counterparties
    union all
    select
        'crm' as source,
        'accounts' as entity,
        account_id as record_id,
        name as display_name,
        inn,
        kpp,
        region
    from accounts
    union all
    select
        'crm' as source,
        'leads' as entity,
        lead_id as record_id,
        company_name as display_name,
        inn,
        null as kpp,
        region
    from leads
    union all
    select
        'web' as source,
        'web_events' as entity,
        event_id as record_id,
        form_company as display_name,
        form_inn as inn,
        null as kpp,
        geo_region as region
    from web_events
    where event_type = 'form_submit' and (form_company is not null or form_inn is not null)

),

keyed as (

    select
        entity || ':' || record_id as record_key,
        source,
        entity,
        record_id,
        display_name,
        inn,
        kpp,
        region,
        coalesce('inn:' || inn, 'record:' || entity || ':' || record_id) as legal_entity_basis
    from records

),

final as (

    select
        record_key,
        source,
        entity,
        record_id,
        'LE' || substr(md5(legal_entity_basis), 1, 12) as legal_entity_id,
        'CL' || substr(md5(legal_entity_basis), 1, 12) as client_id,
        display_name,
        inn,
        kpp,
        region,
        case when inn is not null then 'same_inn' else 'single_record' end as match_evidence,
        cast(1.0 as double) as match_probability
    from keyed

)

select * from final
