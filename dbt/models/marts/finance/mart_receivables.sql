-- One row per client that has been invoiced: what it owes as of the as-of date, split
-- into ageing buckets by days past due, in roubles.
with

invoices as (

    select * from {{ ref('int_invoices__aged') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

final as (

    select
        invoices.client_id,
        count(*) as invoice_count,
        count(case when invoices.is_open then 1 end) as open_invoice_count,
        count(case when invoices.is_overdue then 1 end) as overdue_invoice_count,
        sum(invoices.open_amount_rub) as open_amount_rub,
        sum(case when invoices.ageing_bucket = 'not_due' then invoices.open_amount_rub else 0 end)
            as not_due_amount_rub,
        sum(case when invoices.is_overdue then invoices.open_amount_rub else 0 end) as overdue_amount_rub,
        sum(case when invoices.ageing_bucket = '1-30' then invoices.open_amount_rub else 0 end)
            as overdue_1_30_amount_rub,
        sum(case when invoices.ageing_bucket = '31-60' then invoices.open_amount_rub else 0 end)
            as overdue_31_60_amount_rub,
        sum(case when invoices.ageing_bucket = '61-90' then invoices.open_amount_rub else 0 end)
            as overdue_61_90_amount_rub,
        sum(case when invoices.ageing_bucket = '91-180' then invoices.open_amount_rub else 0 end)
            as overdue_91_180_amount_rub,
        sum(case when invoices.ageing_bucket = '180+' then invoices.open_amount_rub else 0 end)
            as overdue_over_180_amount_rub,
        max(invoices.days_past_due) as max_days_past_due,
        min(case when invoices.is_overdue then invoices.due_date end) as oldest_overdue_due_date,
        max(invoices.last_payment_date) as last_payment_date,
        max(as_of.as_of_date) as as_of_date
    from invoices
    cross join as_of
    where invoices.client_id is not null
    group by invoices.client_id

)

select * from final
