-- One row per legal entity the resolution found behind the records of every source, with
-- the client it belongs to and the evidence that put its records together.
with

records as (

    select * from {{ ref('int_entity_records__resolved') }}

),

ranked as (

    select
        *,
        -- the name and codes shown for the entity: accounting's card first, then the CRM
        row_number() over (
            partition by legal_entity_id
            order by
                case entity
                    when 'counterparties' then 1
                    when 'accounts' then 2
                    when 'leads' then 3
                    else 4
                end,
                case when inn is null then 1 else 0 end,
                record_id
        ) as display_rank
    from records

),

evidence as (

    select distinct
        legal_entity_id,
        match_evidence
    from records
    where match_evidence is not null

),

evidence_listed as (

    select
        legal_entity_id,
        {{ dbt.listagg('match_evidence', "', '", 'order by match_evidence') }} as match_evidence
    from evidence
    group by legal_entity_id

),

summary as (

    select
        legal_entity_id,
        count(*) as record_count,
        count(case when entity = 'counterparties' then 1 end) as counterparty_count,
        count(case when entity = 'accounts' then 1 end) as account_count,
        count(case when entity = 'leads' then 1 end) as lead_count,
        count(case when entity = 'web_events' then 1 end) as web_form_count,
        min(match_probability) as min_match_probability,
        -- a sole proprietor when any of its records says so (a 12-digit INN, or ИП in the name)
        {{ dbt.bool_or(is_sole_proprietor('display_name', 'inn')) }} as is_sole_proprietor
    from records
    group by legal_entity_id

),

final as (

    select
        -- cast: the resolution is a Python model, and a column it leaves all empty has no type
        cast(ranked.legal_entity_id as {{ dbt.type_string() }}) as legal_entity_id,
        cast(ranked.client_id as {{ dbt.type_string() }}) as client_id,
        -- a sole proprietor's name and INN are a person's: initials here, the rest in pii
        cast(
            {{ business_name('ranked.display_name', 'summary.is_sole_proprietor') }} as {{ dbt.type_string() }}
        ) as legal_entity_name,
        cast({{ business_inn('ranked.inn', 'summary.is_sole_proprietor') }} as {{ dbt.type_string() }}) as inn,
        cast(ranked.kpp as {{ dbt.type_string() }}) as kpp,
        cast(ranked.region as {{ dbt.type_string() }}) as region,
        summary.record_count,
        summary.counterparty_count,
        summary.account_count,
        summary.lead_count,
        summary.web_form_count,
        summary.counterparty_count > 0 as is_invoiced_entity,
        summary.is_sole_proprietor,
        cast(evidence_listed.match_evidence as {{ dbt.type_string() }}) as match_evidence,
        cast(summary.min_match_probability as double) as min_match_probability
    from ranked
    inner join summary
        on ranked.legal_entity_id = summary.legal_entity_id
    left join evidence_listed
        on ranked.legal_entity_id = evidence_listed.legal_entity_id
    where ranked.display_rank = 1

)

select * from final
