-- One row per payment received, with its client and rouble amount.
with

payments as (

    select * from {{ ref('stg_finance__payments') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

final as (

    select
        payments.payment_id,
        payments.payment_date,
        {{ month_start('payments.payment_date') }} as payment_month,
        payments.counterparty_id,
        resolution_keys.legal_entity_id,
        resolution_keys.client_id,
        payments.invoice_id,
        payments.invoice_id is not null as is_applied,
        payments.currency,
        payments.amount,
        cast(payments.amount * currency_rates.rub_per_unit as decimal(18, 2)) as amount_rub
    from payments
    left join resolution_keys
        on resolution_keys.resolution_key = 'counterparties:' || payments.counterparty_id
    left join currency_rates
        on payments.currency = currency_rates.currency

)

select * from final
