{{ config(materialized='view') }}

-- One row per invoice with the legal entity and client behind its counterparty, its
-- amounts in roubles and its cost of sales: as accounting exported it, or (when the export
-- left it empty) the product line's standard cost share (seed product_cost_shares).
with

invoices as (

    select * from {{ ref('stg_finance__invoices') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

cost_shares as (

    select * from {{ ref('product_cost_shares') }}

),

final as (

    select
        invoices.invoice_id,
        invoices.invoice_date,
        {{ month_start('invoices.invoice_date') }} as invoice_month,
        invoices.due_date,
        invoices.counterparty_id,
        'counterparties:' || invoices.counterparty_id as resolution_key,
        resolution_keys.legal_entity_id,
        resolution_keys.client_id,
        invoices.office_code,
        invoices.product_line,
        invoices.deal_ref as deal_id,
        invoices.currency,
        invoices.amount,
        coalesce(invoices.vat_amount, 0) as vat_amount,
        cast(invoices.amount + coalesce(invoices.vat_amount, 0) as decimal(18, 2)) as amount_with_vat,
        currency_rates.rub_per_unit,
        cast(invoices.amount * currency_rates.rub_per_unit as decimal(18, 2)) as amount_rub,
        cast(
            (invoices.amount + coalesce(invoices.vat_amount, 0)) * currency_rates.rub_per_unit
            as decimal(18, 2)
        ) as amount_with_vat_rub,
        invoices.cost_amount,
        cost_shares.standard_cost_share,
        invoices.cost_amount is null as is_cost_estimated,
        cast(
            coalesce(invoices.cost_amount, invoices.amount * cost_shares.standard_cost_share)
            * currency_rates.rub_per_unit
            as decimal(18, 2)
        ) as cost_of_sales_rub,
        invoices.loaded_at,
        invoices.source_file_hash
    from invoices
    left join resolution_keys
        on resolution_keys.resolution_key = 'counterparties:' || invoices.counterparty_id
    left join currency_rates
        on invoices.currency = currency_rates.currency
    left join cost_shares
        on invoices.product_line = cost_shares.product_line

)

select * from final
