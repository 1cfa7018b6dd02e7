-- Finance reconciles: for every month and currency, the invoiced and paid totals (and
-- counts) in the marts equal what ingest loaded into raw, which is what the exports held
-- minus the quarantined rows. Returns the months that differ.
with

raw_invoices as (

    select distinct
        invoice_id,
        invoice_date,
        currency,
        amount
    from {{ source('finance', 'invoices') }}

),

raw_payments as (

    select distinct
        payment_id,
        payment_date,
        currency,
        amount
    from {{ source('finance', 'payments') }}

),

raw_totals as (

    select
        'invoiced' as measure,
        {{ month_start('invoice_date') }} as month_start_date,
        currency,
        count(*) as row_count,
        sum(amount) as total_amount
    from raw_invoices
    group by 1, 2, 3
    union all
    select
        'paid' as measure,
        {{ month_start('payment_date') }} as month_start_date,
        currency,
        count(*) as row_count,
        sum(amount) as total_amount
    from raw_payments
    group by 1, 2, 3

),

mart_totals as (

    select
        'invoiced' as measure,
        invoice_month as month_start_date,
        currency,
        count(*) as row_count,
        sum(amount) as total_amount
    from {{ ref('fct_invoices') }}
    group by 1, 2, 3
    union all
    select
        'paid' as measure,
        payment_month as month_start_date,
        currency,
        count(*) as row_count,
        sum(amount) as total_amount
    from {{ ref('fct_payments') }}
    group by 1, 2, 3

),

compared as (

    select
        coalesce(raw_totals.measure, mart_totals.measure) as measure,
        coalesce(raw_totals.month_start_date, mart_totals.month_start_date) as month_start_date,
        coalesce(raw_totals.currency, mart_totals.currency) as currency,
        raw_totals.row_count as raw_rows,
        mart_totals.row_count as mart_rows,
        raw_totals.total_amount as raw_amount,
        mart_totals.total_amount as mart_amount
    from raw_totals
    full outer join mart_totals
        on raw_totals.measure = mart_totals.measure
        and raw_totals.month_start_date = mart_totals.month_start_date
        and raw_totals.currency = mart_totals.currency

)

select *
from compared
where {{ is_distinct_from('raw_rows', 'mart_rows') }}
    or {{ is_distinct_from('raw_amount', 'mart_amount') }}
