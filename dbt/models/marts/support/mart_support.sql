-- One row per client that raised a ticket: volumes, resolution times and the unresolved
-- backlog on the as-of date.
with

tickets as (

    select * from {{ ref('fct_tickets') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

final as (

    select
        tickets.client_id,
        count(*) as tickets_total,
        count(
            case when tickets.opened_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }} then 1 end
        ) as tickets_12m,
        count(case when tickets.is_open then 1 end) as open_tickets,
        count(case when tickets.is_open and tickets.priority in ('high', 'critical') then 1 end)
            as open_high_priority_tickets,
        cast(avg(tickets.resolution_hours) as double) as avg_resolution_hours,
        cast(max(tickets.resolution_hours) as double) as max_resolution_hours,
        max(tickets.open_age_days) as oldest_open_ticket_age_days,
        max(tickets.opened_at) as last_ticket_opened_at,
        max(as_of.as_of_date) as as_of_date
    from tickets
    cross join as_of
    where tickets.client_id is not null
    group by tickets.client_id

)

select * from final
