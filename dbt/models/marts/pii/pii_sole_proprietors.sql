{{ config(alias='sole_proprietors') }}

-- RESTRICTED (pii schema): the people behind the sole proprietors (ИП) that marts show as 'ИП' and
-- initials, with their full names and INNs as each source wrote them.
with

records as (

    select * from {{ ref('int_entity_records__resolved') }}

),

partners as (

    select * from {{ ref('stg_crm__partners') }}

),

legal_entities as (

    select * from {{ ref('dim_legal_entities') }}

),

entity_records as (

    select
        records.source as record_source,
        records.entity,
        records.record_id,
        cast(records.legal_entity_id as {{ dbt.type_string() }}) as legal_entity_id,
        cast(records.client_id as {{ dbt.type_string() }}) as client_id,
        cast(records.display_name as {{ dbt.type_string() }}) as full_name,
        cast(records.inn as {{ dbt.type_string() }}) as inn
    from records
    inner join legal_entities
        on records.legal_entity_id = legal_entities.legal_entity_id
    where legal_entities.is_sole_proprietor

),

partner_records as (

    select
        'crm' as record_source,
        'partners' as entity,
        partner_id as record_id,
        cast(null as {{ dbt.type_string() }}) as legal_entity_id,
        cast(null as {{ dbt.type_string() }}) as client_id,
        name as full_name,
        inn
    from partners
    where {{ is_sole_proprietor('name', 'inn') }}

),

final as (

    select * from entity_records
    union all
    select * from partner_records

)

select * from final
