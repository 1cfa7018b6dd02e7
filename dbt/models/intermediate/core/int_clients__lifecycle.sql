-- One row per client: its purchase history as of the as-of date and the lifecycle stage
-- it gives: prospect (never invoiced), new, active, lapsing, lost, won_back (returned
-- after a gap longer than lost_after_days). Thresholds are project vars.
with

clients as (

    select distinct client_id from {{ ref('int_entity_records__resolved') }}

),

invoices as (

    select * from {{ ref('int_invoices__resolved') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

purchase_days as (

    select distinct
        invoices.client_id,
        invoices.invoice_date
    from invoices
    cross join as_of
    where invoices.client_id is not null
        and invoices.amount > 0
        and invoices.invoice_date <= as_of.as_of_date

),

gaps as (

    select
        client_id,
        invoice_date,
        {{ days_between(
            'lag(invoice_date) over (partition by client_id order by invoice_date)', 'invoice_date'
        ) }} as days_since_previous_purchase
    from purchase_days

),

history as (

    select
        client_id,
        min(invoice_date) as first_invoice_date,
        max(invoice_date) as last_invoice_date,
        max(
            case when days_since_previous_purchase > {{ var('lost_after_days') }} then invoice_date end
        ) as won_back_date
    from gaps
    group by client_id

),

measured as (

    select
        clients.client_id,
        history.first_invoice_date,
        history.last_invoice_date,
        history.won_back_date,
        as_of.as_of_date,
        {{ days_between('history.last_invoice_date', 'as_of.as_of_date') }} as days_since_last_invoice,
        {{ days_between('history.first_invoice_date', 'as_of.as_of_date') }} as days_since_first_invoice,
        {{ days_between('history.won_back_date', 'as_of.as_of_date') }} as days_since_won_back
    from clients
    cross join as_of
    left join history
        on clients.client_id = history.client_id

),

final as (

    select
        client_id,
        first_invoice_date,
        last_invoice_date,
        won_back_date,
        days_since_last_invoice,
        case
            when first_invoice_date is null then 'prospect'
            when days_since_last_invoice > {{ var('lost_after_days') }} then 'lost'
            when days_since_last_invoice > {{ var('lapsing_after_days') }} then 'lapsing'
            when days_since_won_back <= {{ var('new_client_days') }} then 'won_back'
            when days_since_first_invoice <= {{ var('new_client_days') }} then 'new'
            else 'active'
        end as lifecycle_stage,
        as_of_date
    from measured

)

select * from final
