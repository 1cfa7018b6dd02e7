-- One row per invoice issued by the as-of date: what was credited and paid against it
-- by then, what is still open, and how overdue it is (the ageing bucket). Payments that
-- accounting did not apply to an invoice settle the counterparty's oldest open invoices
-- in the same currency first (FIFO by due date). Open money overdue more than the
-- business rule doubtful_after_days is doubtful; more than write_off_after_days, written
-- off: it leaves receivables (and the offer block) and counts as bad debt from the day
-- it passed that age. reports/receivables.py ages invoices on any day with the same rules.
with

invoices as (

    select * from {{ ref('int_invoices__resolved') }}

),

payments as (

    select * from {{ ref('stg_finance__payments') }}

),

credit_notes as (

    select * from {{ ref('stg_finance__credit_notes') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

business_rules as (

    select * from {{ ref('int_business_rules') }}

),

paid as (

    select
        payments.invoice_id,
        sum(payments.amount) as paid_amount,
        max(payments.payment_date) as last_payment_date
    from payments
    cross join as_of
    where payments.invoice_id is not null
        and payments.payment_date <= as_of.as_of_date
    group by payments.invoice_id

),

credited as (

    select
        credit_notes.invoice_id,
        sum(credit_notes.amount) as credited_amount
    from credit_notes
    cross join as_of
    where credit_notes.credit_note_date <= as_of.as_of_date
    group by credit_notes.invoice_id

),

unapplied as (

    select
        payments.counterparty_id,
        payments.currency,
        sum(payments.amount) as unapplied_amount
    from payments
    cross join as_of
    where payments.invoice_id is null
        and payments.payment_date <= as_of.as_of_date
    group by payments.counterparty_id, payments.currency

),

balances as (

    select
        invoices.invoice_id,
        invoices.client_id,
        invoices.legal_entity_id,
        invoices.counterparty_id,
        invoices.office_code,
        invoices.product_line,
        invoices.currency,
        invoices.rub_per_unit,
        invoices.invoice_date,
        invoices.invoice_month,
        coalesce(invoices.due_date, invoices.invoice_date) as due_date,
        invoices.amount,
        invoices.amount_rub,
        invoices.amount_with_vat,
        invoices.cost_of_sales_rub,
        invoices.is_cost_estimated,
        coalesce(credited.credited_amount, 0) as credited_amount,
        coalesce(paid.paid_amount, 0) as paid_amount,
        invoices.amount_with_vat
        - coalesce(credited.credited_amount, 0)
        - coalesce(paid.paid_amount, 0) as open_before_unapplied,
        paid.last_payment_date,
        as_of.as_of_date
    from invoices
    cross join as_of
    left join paid
        on invoices.invoice_id = paid.invoice_id
    left join credited
        on invoices.invoice_id = credited.invoice_id
    where invoices.invoice_date <= as_of.as_of_date

),

fifo as (

    select
        balances.*,
        coalesce(unapplied.unapplied_amount, 0) as counterparty_unapplied_amount,
        coalesce(
            sum(case when balances.open_before_unapplied > 0 then balances.open_before_unapplied else 0 end) over (
                partition by balances.counterparty_id, balances.currency
                order by balances.due_date, balances.invoice_date, balances.invoice_id
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as open_before_this_invoice
    from balances
    left join unapplied
        on balances.counterparty_id = unapplied.counterparty_id
            and balances.currency = unapplied.currency

),

allocated as (

    select
        *,
        case
            when open_before_unapplied <= 0 then 0
            when counterparty_unapplied_amount - open_before_this_invoice <= 0 then 0
            when counterparty_unapplied_amount - open_before_this_invoice >= open_before_unapplied
                then open_before_unapplied
            else counterparty_unapplied_amount - open_before_this_invoice
        end as unapplied_allocated_amount
    from fifo

),

settled as (

    select
        *,
        open_before_unapplied - unapplied_allocated_amount as open_amount
    from allocated

),

aged as (

    select
        settled.*,
        case
            when settled.open_amount > 0 and settled.as_of_date > settled.due_date
                then {{ days_between('settled.due_date', 'settled.as_of_date') }}
            else 0
        end as days_past_due,
        business_rules.doubtful_after_days,
        business_rules.write_off_after_days
    from settled
    cross join business_rules

),

final as (

    select
        invoice_id,
        client_id,
        legal_entity_id,
        counterparty_id,
        office_code,
        product_line,
        currency,
        invoice_date,
        invoice_month,
        due_date,
        amount_with_vat,
        credited_amount,
        paid_amount,
        unapplied_allocated_amount,
        open_amount,
        cast(open_amount * rub_per_unit as decimal(18, 2)) as open_amount_rub,
        -- revenue: the amount before VAT, less the pre-VAT part of credit notes, in roubles
        {{ net_revenue_rub('amount', 'amount_with_vat', 'credited_amount', 'rub_per_unit') }} as net_revenue_rub,
        cost_of_sales_rub,
        is_cost_estimated,
        open_amount > 0 as is_open,
        open_amount > 0 and days_past_due > 0 as is_overdue,
        open_amount > 0 and days_past_due > doubtful_after_days and days_past_due <= write_off_after_days
            as is_doubtful,
        open_amount > 0 and days_past_due > write_off_after_days as is_written_off,
        case
            when open_amount > 0 and days_past_due > write_off_after_days
                then {{ to_date(dbt.dateadd('day', 'write_off_after_days + 1', 'due_date')) }}
        end as written_off_date,
        days_past_due,
        case
            when open_amount <= 0 then 'settled'
            when days_past_due > write_off_after_days then 'written_off'
            when days_past_due = 0 then 'not_due'
            when days_past_due <= 30 then '1-30'
            when days_past_due <= 60 then '31-60'
            when days_past_due <= 90 then '61-90'
            when days_past_due <= 180 then '91-180'
            else '180+'
        end as ageing_bucket,
        last_payment_date,
        as_of_date
    from aged

)

select * from final
