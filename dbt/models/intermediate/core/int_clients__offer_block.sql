-- One row per client with an open problem on the as-of date, and whether it blocks sales
-- offers under the one offer-block rule (seed business_rules, macro offer_block_reason):
-- an open ticket of a blocking priority, or money overdue at least
-- offer_block_min_days_past_due days (written-off money excluded) adding up to
-- offer_block_min_overdue_rub. mart_client_360 publishes it; the next best action applies
-- the same rule to the same inputs (models/rules.py, tested to agree).
with

tickets as (

    select * from {{ ref('fct_tickets') }}

),

invoices as (

    select * from {{ ref('int_invoices__aged') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

business_rules as (

    select * from {{ ref('int_business_rules') }}

),

-- open at the end of the as-of day: opened by then, not resolved by then
open_tickets as (

    select
        tickets.client_id,
        count(*) as open_tickets,
        count(case when {{ is_blocking_priority('tickets.priority') }} then 1 end) as blocking_tickets
    from tickets
    cross join as_of
    cross join business_rules
    where tickets.client_id is not null
        and tickets.opened_date <= as_of.as_of_date
        and (
            tickets.is_open
            or tickets.resolved_at >= {{ dbt.dateadd('day', 1, 'as_of.as_of_date') }}
        )
    group by tickets.client_id

),

overdue as (

    select
        invoices.client_id,
        sum(invoices.open_amount_rub) as blocking_overdue_amount_rub,
        max(invoices.days_past_due) as blocking_max_days_past_due
    from invoices
    cross join business_rules
    where invoices.client_id is not null
        and invoices.is_overdue
        and not invoices.is_written_off
        and invoices.days_past_due >= business_rules.offer_block_min_days_past_due
    group by invoices.client_id

),

clients as (

    select client_id from open_tickets
    union
    select client_id from overdue

),

final as (

    select
        clients.client_id,
        coalesce(open_tickets.open_tickets, 0) as open_tickets,
        coalesce(open_tickets.blocking_tickets, 0) as blocking_tickets,
        coalesce(overdue.blocking_overdue_amount_rub, 0) as blocking_overdue_amount_rub,
        coalesce(overdue.blocking_max_days_past_due, 0) as blocking_max_days_past_due,
        {{ offer_block_reason(
            'coalesce(open_tickets.blocking_tickets, 0)', 'coalesce(overdue.blocking_overdue_amount_rub, 0)'
        ) }} as sales_offer_blocked_reason
    from clients
    cross join business_rules
    left join open_tickets
        on clients.client_id = open_tickets.client_id
    left join overdue
        on clients.client_id = overdue.client_id

)

select * from final
