-- One row per support ticket in its latest state, with its client, the partner that raised
-- it for its end user (if one did), resolution time and, for tickets still open, their age
-- on the as-of date.
with

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

final as (

    select
        tickets.ticket_id,
        resolution_keys.client_id,
        resolution_keys.legal_entity_id,
        tickets.account_id,
        {{ person_key('contact', 'tickets.contact_id') }} as contact_key,
        tickets.opened_at,
        {{ to_date('tickets.opened_at') }} as opened_date,
        tickets.resolved_at,
        tickets.priority,
        tickets.status,
        tickets.status in ('open', 'in_progress', 'waiting') as is_open,
        tickets.category,
        tickets.channel,
        tickets.owner_user_id as agent_id,
        tickets.partner_id,
        case
            when tickets.resolved_at is not null
                then {{ hours_between('tickets.opened_at', 'tickets.resolved_at') }}
        end as resolution_hours,
        case
            when tickets.status in ('open', 'in_progress', 'waiting')
                then {{ days_between('tickets.opened_at', 'as_of.as_of_date') }}
        end as open_age_days
    from tickets
    cross join as_of
    left join resolution_keys
        on resolution_keys.resolution_key = coalesce(
                'accounts:' || tickets.account_id, 'contacts:' || tickets.contact_id
            )

)

select * from final
