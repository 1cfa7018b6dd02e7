{{ config(alias='contacts') }}

-- RESTRICTED (pii schema): the people behind the pseudonymous contact keys, with their
-- names, e-mails and phones. Only for the few who may contact people; never joined into
-- marts or reports.
with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

final as (

    select
        {{ person_key('contact', 'contact_id') }} as contact_key,
        'contact' as contact_type,
        contact_id,
        cast(null as {{ dbt.type_string() }}) as lead_id,
        full_name,
        email,
        phone
    from contacts
    union all
    select
        {{ person_key('lead', 'lead_id') }} as contact_key,
        'lead' as contact_type,
        cast(null as {{ dbt.type_string() }}) as contact_id,
        lead_id,
        contact_name as full_name,
        email,
        phone
    from leads

)

select * from final
