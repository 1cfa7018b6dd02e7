-- One row per credit note (returns, discounts, corrections), with the invoice and client it
-- corrects and what it takes off revenue: the pre-VAT part of its amount, in roubles.
with

credit_notes as (

    select * from {{ ref('stg_finance__credit_notes') }}

),

invoices as (

    select * from {{ ref('int_invoices__resolved') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

final as (

    select
        credit_notes.credit_note_id,
        credit_notes.credit_note_date,
        {{ month_start('credit_notes.credit_note_date') }} as credit_note_month,
        credit_notes.invoice_id,
        invoices.invoice_date,
        credit_notes.counterparty_id,
        coalesce(invoices.legal_entity_id, resolution_keys.legal_entity_id) as legal_entity_id,
        coalesce(invoices.client_id, resolution_keys.client_id) as client_id,
        credit_notes.currency,
        credit_notes.amount,
        currency_rates.rub_per_unit,
        cast(credit_notes.amount * currency_rates.rub_per_unit as decimal(18, 2)) as amount_rub,
        -- the invoice's pre-VAT share first: amount x amount of two DECIMAL(18, 2) overflows
        -- DECIMAL(18) once both are some ten million
        cast(
            case
                when coalesce(invoices.amount_with_vat, 0) = 0 then credit_notes.amount
                else credit_notes.amount * (invoices.amount / invoices.amount_with_vat)
            end * currency_rates.rub_per_unit
            as decimal(18, 2)
        ) as credited_revenue_rub,
        credit_notes.reason,
        invoices.invoice_id is not null as has_invoice,
        credit_notes.loaded_at,
        credit_notes.source_file_hash
    from credit_notes
    left join invoices
        on credit_notes.invoice_id = invoices.invoice_id
    left join resolution_keys
        on resolution_keys.resolution_key = 'counterparties:' || credit_notes.counterparty_id
    left join currency_rates
        on credit_notes.currency = currency_rates.currency

)

select * from final
