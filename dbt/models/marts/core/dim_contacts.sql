-- One row per person at a client: CRM contacts and the people behind leads, under a
-- pseudonymous key. No names, e-mails or phones here: pii.contacts maps the key back.
with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

crm_contacts as (

    select
        {{ person_key('contact', 'contacts.contact_id') }} as contact_key,
        'contact' as contact_type,
        resolution_keys.client_id,
        resolution_keys.legal_entity_id,
        contacts.account_id,
        cast(null as {{ dbt.type_string() }}) as lead_id,
        contacts.job_title,
        coalesce(contacts.is_active, true) as is_active,
        contacts.email is not null as has_email,
        contacts.phone is not null as has_phone,
        contacts.created_at
    from contacts
    left join resolution_keys
        on resolution_keys.resolution_key = 'contacts:' || contacts.contact_id

),

lead_persons as (

    select
        {{ person_key('lead', 'leads.lead_id') }} as contact_key,
        'lead' as contact_type,
        resolution_keys.client_id,
        resolution_keys.legal_entity_id,
        leads.converted_account_id as account_id,
        leads.lead_id,
        cast(null as {{ dbt.type_string() }}) as job_title,
        leads.status not in ('converted', 'disqualified') as is_active,
        leads.email is not null as has_email,
        leads.phone is not null as has_phone,
        leads.created_at
    from leads
    left join resolution_keys
        on resolution_keys.resolution_key = 'leads:' || leads.lead_id

),

final as (

    select * from crm_contacts
    union all
    select * from lead_persons

)

select * from final
