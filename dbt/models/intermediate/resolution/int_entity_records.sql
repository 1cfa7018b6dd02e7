{{ config(schema='pii') }}

-- One row per organisation record from every source, with what linkage compares.
-- Lives in the restricted pii schema: leads and web forms carry people's e-mails and phones.
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

counterparty_records as (

    select
        'finance' as source,
        'counterparties' as entity,
        counterparty_id as record_id,
        name,
        inn,
        kpp,
        region,
        cast(null as varchar) as phone,
        cast(null as varchar) as email,
        cast(null as varchar) as website,
        cast(null as varchar) as parent_record_key,
        cast(null as varchar) as linked_record_key,
        cast(created_date as timestamp) as created_at
    from counterparties

),

account_records as (

    select
        'crm' as source,
        'accounts' as entity,
        account_id as record_id,
        name,
        inn,
        kpp,
        region,
        phone,
        cast(null as varchar) as email,
        website,
        'accounts:' || parent_account_id as parent_record_key,
        cast(null as varchar) as linked_record_key,
        created_at
    from accounts

),

-- a lead names an organisation when it has a company name or an INN
lead_records as (

    select
        'crm' as source,
        'leads' as entity,
        lead_id as record_id,
        company_name as name,
        inn,
        cast(null as varchar) as kpp,
        region,
        phone,
        email,
        cast(null as varchar) as website,
        cast(null as varchar) as parent_record_key,
        'accounts:' || converted_account_id as linked_record_key,
        created_at
    from leads
    where company_name is not null or inn is not null

),

web_form_records as (

    select
        'web' as source,
        'web_events' as entity,
        event_id as record_id,
        form_company as name,
        form_inn as inn,
        cast(null as varchar) as kpp,
        geo_region as region,
        form_phone as phone,
        form_email as email,
        cast(null as varchar) as website,
        cast(null as varchar) as parent_record_key,
        'leads:' || lead_id as linked_record_key,
        event_at as created_at
    from web_events
    where event_type = 'form_submit'
        and (form_company is not null or form_inn is not null)

),

unioned as (

    select * from counterparty_records
    union all
    select * from account_records
    union all
    select * from lead_records
    union all
    select * from web_form_records

),

final as (

    select
        entity || ':' || record_id as record_key,
        source,
        entity,
        record_id,
        name,
        inn,
        kpp,
        region,
        phone,
        email,
        website,
        parent_record_key,
        linked_record_key,
        created_at
    from unioned

)

select * from final
