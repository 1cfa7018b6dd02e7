-- One row per client that has been invoiced: what it owes as of the as-of date, split
-- into ageing buckets by days past due, in roubles (VAT included). Money overdue longer
-- than the business rule write_off_after_days is written off: it is not receivable any
-- more and is shown apart; money overdue longer than doubtful_after_days is doubtful.
with

invoices as (

    select * from {{ ref('int_invoices__aged') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

collectible as (

    select
        *,
        case when is_open and not is_written_off then open_amount_rub else 0 end as collectible_amount_rub
    from invoices

),

final as (

    select
        collectible.client_id,
        count(*) as invoice_count,
        count(case when collectible.is_open and not collectible.is_written_off then 1 end) as open_invoice_count,
        count(case when collectible.is_overdue and not collectible.is_written_off then 1 end)
            as overdue_invoice_count,
        sum(collectible.collectible_amount_rub) as open_amount_rub,
        sum(case when collectible.ageing_bucket = 'not_due' then collectible.open_amount_rub else 0 end)
            as not_due_amount_rub,
        sum(case when collectible.is_overdue then collectible.collectible_amount_rub else 0 end)
            as overdue_amount_rub,
        sum(case when collectible.ageing_bucket = '1-30' then collectible.open_amount_rub else 0 end)
            as overdue_1_30_amount_rub,
        sum(case when collectible.ageing_bucket = '31-60' then collectible.open_amount_rub else 0 end)
            as overdue_31_60_amount_rub,
        sum(case when collectible.ageing_bucket = '61-90' then collectible.open_amount_rub else 0 end)
            as overdue_61_90_amount_rub,
        sum(case when collectible.ageing_bucket = '91-180' then collectible.open_amount_rub else 0 end)
            as overdue_91_180_amount_rub,
        sum(case when collectible.ageing_bucket = '180+' then collectible.open_amount_rub else 0 end)
            as overdue_over_180_amount_rub,
        sum(case when collectible.is_doubtful then collectible.open_amount_rub else 0 end) as doubtful_amount_rub,
        count(case when collectible.is_written_off then 1 end) as written_off_invoice_count,
        sum(case when collectible.is_written_off then collectible.open_amount_rub else 0 end)
            as written_off_amount_rub,
        coalesce(
            max(case when not collectible.is_written_off then collectible.days_past_due end), 0
        ) as max_days_past_due,
        min(case when collectible.is_overdue and not collectible.is_written_off then collectible.due_date end)
            as oldest_overdue_due_date,
        max(collectible.last_payment_date) as last_payment_date,
        max(as_of.as_of_date) as as_of_date
    from collectible
    cross join as_of
    where collectible.client_id is not null
    group by collectible.client_id

)

select * from final
