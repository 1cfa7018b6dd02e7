-- Finance reconciles: for every month and currency, the invoiced and paid totals (and
-- counts) in the marts equal what ingest loaded into raw, which is what the exports held
-- minus the quarantined rows. Returns the months that differ.
with

raw_rows as (

    select distinct
        'invoiced' as measure,
        invoice_id as document_id,
        {{ month_start('invoice_date') }} as month_start_date,
        currency,
        amount
    from {{ source('finance', 'invoices') }}
    union all
    select distinct
        'paid' as measure,
        payment_id as document_id,
        {{ month_start('payment_date') }} as month_start_date,
        currency,
        amount
    from {{ source('finance', 'payments') }}

),

mart_rows as (

    select
        'invoiced' as measure,
        invoice_id as document_id,
        invoice_month as month_start_date,
        currency,
        amount
    from {{ ref('fct_invoices') }}
    union all
    select
        'paid' as measure,
        payment_id as document_id,
        payment_month as month_start_date,
        currency,
        amount
    from {{ ref('fct_payments') }}

),

raw_totals as (

    select
        measure,
        month_start_date,
        currency,
        count(*) as row_count,
        sum(amount) as total_amount
    from raw_rows
    group by measure, month_start_date, currency

),

mart_totals as (

    select
        measure,
        month_start_date,
        currency,
        count(*) as row_count,
        sum(amount) as total_amount
    from mart_rows
    group by measure, month_start_date, currency

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
