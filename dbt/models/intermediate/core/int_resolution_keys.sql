-- Every key a fact can reach a client through, mapped to its client and legal entity:
-- organisation records ('accounts:A1', 'counterparties:K1', 'leads:L1', 'web_events:E1'),
-- contacts through their account ('contacts:C1'), and web visitors through the forms
-- they sent or the leads the site created for them ('visitor:V1').
with

resolved as (

    select * from {{ ref('int_entity_records__resolved') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

web_events as (

    select * from {{ ref('stg_web__events') }}

),

records as (

    -- cast: the resolution is a Python model, and a column it leaves all empty has no type
    select
        cast(record_key as {{ dbt.type_string() }}) as resolution_key,
        cast(record_key as {{ dbt.type_string() }}) as record_key,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        cast(legal_entity_id as {{ dbt.type_string() }}) as legal_entity_id
    from resolved

),

contact_keys as (

    select
        'contacts:' || contacts.contact_id as resolution_key,
        resolved.record_key,
        resolved.client_id,
        resolved.legal_entity_id
    from contacts
    inner join resolved
        on resolved.record_key = 'accounts:' || contacts.account_id

),

-- A visitor belongs to the client of the last form they sent that resolved, else of
-- the last lead the site created for them.
visitor_candidates as (

    select
        web_events.visitor_id,
        resolved.record_key,
        resolved.client_id,
        resolved.legal_entity_id,
        1 as preference,
        web_events.event_at as seen_at
    from web_events
    inner join resolved
        on resolved.record_key = 'web_events:' || web_events.event_id
    union all
    select
        leads.web_visitor_id as visitor_id,
        resolved.record_key,
        resolved.client_id,
        resolved.legal_entity_id,
        2 as preference,
        leads.created_at as seen_at
    from leads
    inner join resolved
        on resolved.record_key = 'leads:' || leads.lead_id
    where leads.web_visitor_id is not null

),

visitor_ranked as (

    select
        visitor_id,
        record_key,
        client_id,
        legal_entity_id,
        row_number() over (
            partition by visitor_id
            order by preference asc, seen_at desc, record_key asc
        ) as visitor_rank
    from visitor_candidates

),

visitor_keys as (

    select
        'visitor:' || visitor_id as resolution_key,
        record_key,
        client_id,
        legal_entity_id
    from visitor_ranked
    where visitor_rank = 1

),

-- Form submits the resolution did not keep as records fall back to their visitor.
unresolved_forms as (

    select
        'web_events:' || web_events.event_id as resolution_key,
        visitor_keys.record_key,
        visitor_keys.client_id,
        visitor_keys.legal_entity_id
    from web_events
    inner join visitor_keys
        on visitor_keys.resolution_key = 'visitor:' || web_events.visitor_id
    left join resolved
        on resolved.record_key = 'web_events:' || web_events.event_id
    where web_events.event_type = 'form_submit'
        and resolved.record_key is null

),

final as (

    select * from records
    union all
    select * from contact_keys
    union all
    select * from visitor_keys
    union all
    select * from unresolved_forms

)

select * from final
