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

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

invoices as (

    select * from {{ ref('stg_finance__invoices') }}

),

deals as (

    select * from {{ ref('stg_crm__deals') }}

),

-- accounting ties some invoices to a CRM deal: the deal's account is the counterparty's client
counterparty_deal_accounts as (

    select
        invoices.counterparty_id,
        deals.account_id,
        count(*) as invoices,
        row_number() over (
            partition by invoices.counterparty_id
            order by count(*) desc, deals.account_id
        ) as account_rank
    from invoices
    inner join deals
        on invoices.deal_ref = deals.deal_id
    where deals.account_id is not null
    group by invoices.counterparty_id, deals.account_id

),

counterparty_accounts as (

    select
        counterparty_id,
        account_id
    from counterparty_deal_accounts
    where account_rank = 1

),

active_contacts as (

    select
        account_id,
        lower(email) as email
    from contacts
    where is_active and email is not null and account_id is not null

),

-- the e-mail addresses of each account's contacts, former ones too (an address the company issued
-- names its domain whether the person still works there or not): their corporate domain is the
-- account's
account_emails as (

    select
        account_id,
        {{ dbt.listagg('email', "' '", 'order by email') }} as emails
    from contacts
    where email is not null and account_id is not null
    group by account_id

),

-- an address that belongs to an active contact of exactly one account
contact_accounts as (

    select
        email,
        min(account_id) as account_id
    from active_contacts
    group by email
    having count(distinct account_id) = 1

),

counterparty_records as (

    select
        'finance' as source_system,
        'counterparties' as entity,
        counterparties.counterparty_id as record_id,
        counterparties.name as organisation_name,
        counterparties.inn,
        counterparties.kpp,
        counterparties.region,
        cast(null as {{ dbt.type_string() }}) as phone,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as website,
        cast(null as {{ dbt.type_string() }}) as parent_record_key,
        'accounts:' || counterparty_accounts.account_id as linked_record_key,
        cast(null as {{ dbt.type_string() }}) as contact_account_key,
        cast(counterparties.created_date as timestamp) as created_at
    from counterparties
    left join counterparty_accounts
        on counterparties.counterparty_id = counterparty_accounts.counterparty_id

),

account_records as (

    select
        'crm' as source_system,
        'accounts' as entity,
        accounts.account_id as record_id,
        accounts.name as organisation_name,
        accounts.inn,
        accounts.kpp,
        accounts.region,
        accounts.phone,
        account_emails.emails as email,
        accounts.website,
        'accounts:' || accounts.parent_account_id as parent_record_key,
        cast(null as {{ dbt.type_string() }}) as linked_record_key,
        cast(null as {{ dbt.type_string() }}) as contact_account_key,
        accounts.created_at
    from accounts
    left join account_emails
        on accounts.account_id = account_emails.account_id

),

-- a lead names an organisation when it has a company name or an INN
lead_records as (

    select
        'crm' as source_system,
        'leads' as entity,
        leads.lead_id as record_id,
        leads.company_name as organisation_name,
        leads.inn,
        cast(null as {{ dbt.type_string() }}) as kpp,
        leads.region,
        leads.phone,
        leads.email,
        cast(null as {{ dbt.type_string() }}) as website,
        cast(null as {{ dbt.type_string() }}) as parent_record_key,
        'accounts:' || leads.converted_account_id as linked_record_key,
        'accounts:' || contact_accounts.account_id as contact_account_key,
        leads.created_at
    from leads
    left join contact_accounts
        on lower(leads.email) = contact_accounts.email
    where leads.company_name is not null or leads.inn is not null

),

web_form_records as (

    select
        'web' as source_system,
        'web_events' as entity,
        web_events.event_id as record_id,
        web_events.form_company as organisation_name,
        web_events.form_inn as inn,
        cast(null as {{ dbt.type_string() }}) as kpp,
        web_events.geo_region as region,
        web_events.form_phone as phone,
        web_events.form_email as email,
        cast(null as {{ dbt.type_string() }}) as website,
        cast(null as {{ dbt.type_string() }}) as parent_record_key,
        'leads:' || web_events.lead_id as linked_record_key,
        'accounts:' || contact_accounts.account_id as contact_account_key,
        web_events.event_at as created_at
    from web_events
    left join contact_accounts
        on lower(web_events.form_email) = contact_accounts.email
    where web_events.event_type = 'form_submit'
        and (web_events.form_company is not null or web_events.form_inn is not null)

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
        source_system as source,  -- noqa: RF04
        entity,
        record_id,
        organisation_name as name,  -- noqa: RF04
        inn,
        kpp,
        region,
        phone,
        email,
        website,
        parent_record_key,
        linked_record_key,
        contact_account_key,
        created_at
    from unioned

)

select * from final
