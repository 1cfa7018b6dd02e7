{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='invoice_id',
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_rows_of_retired_files() }}"],
    )
}}

-- One row per invoice, with its client, rouble amounts, the credit notes against it, net
-- revenue, cost of sales and gross margin. Incremental like fct_interactions: new files,
-- changed client resolution, rates or standard costs, new credit notes and superseded
-- files are caught up.
-- depends_on: {{ source('meta', 'load_manifest') }}
-- depends_on: {{ ref('int_resolution_keys') }}
-- depends_on: {{ ref('currency_rates') }}
-- depends_on: {{ ref('product_cost_shares') }}
with

invoices as (

    select * from {{ ref('int_invoices__resolved') }}

),

credit_notes as (

    select * from {{ ref('stg_finance__credit_notes') }}

),

credited as (

    select
        invoice_id,
        sum(amount) as credited_amount
    from credit_notes
    group by invoice_id

),

{% if is_incremental() %}

    loaded_files as (

        {{ loaded_file_hashes() }}

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

    stale as (

        select already_built.invoice_id
        from {{ this }} as already_built
        left join resolution_keys
            on already_built.resolution_key = resolution_keys.resolution_key
        left join currency_rates
            on already_built.currency = currency_rates.currency
        left join cost_shares
            on already_built.product_line = cost_shares.product_line
        left join credited
            on already_built.invoice_id = credited.invoice_id
        where already_built.source_file_hash not in (select loaded_files.content_hash from loaded_files)
            or {{ is_distinct_from('already_built.client_id', 'resolution_keys.client_id') }}
            or {{ is_distinct_from('already_built.legal_entity_id', 'resolution_keys.legal_entity_id') }}
            or {{ is_distinct_from('already_built.rub_per_unit', 'currency_rates.rub_per_unit') }}
            or {{ is_distinct_from('already_built.standard_cost_share', 'cost_shares.standard_cost_share') }}
            or {{ is_distinct_from('already_built.credited_amount', 'coalesce(credited.credited_amount, 0)') }}

    ),

{% endif %}

revenue as (

    select
        invoices.*,
        coalesce(credited.credited_amount, 0) as credited_amount
    from invoices
    left join credited
        on invoices.invoice_id = credited.invoice_id
    {% if is_incremental() %}
        where invoices.loaded_at > ({{ built_until() }})
            or invoices.invoice_id in (select stale.invoice_id from stale)
    {% endif %}

),

final as (

    select
        invoice_id,
        invoice_date,
        invoice_month,
        due_date,
        counterparty_id,
        resolution_key,
        legal_entity_id,
        client_id,
        office_code,
        product_line,
        deal_id,
        currency,
        amount,
        vat_amount,
        amount_with_vat,
        rub_per_unit,
        amount_rub,
        amount_with_vat_rub,
        amount_rub as gross_revenue_rub,
        credited_amount,
        cast(
            amount_rub - {{ net_revenue_rub('amount', 'amount_with_vat', 'credited_amount', 'rub_per_unit') }}
            as decimal(18, 2)
        ) as credited_revenue_rub,
        {{ net_revenue_rub('amount', 'amount_with_vat', 'credited_amount', 'rub_per_unit') }} as net_revenue_rub,
        cost_amount,
        standard_cost_share,
        is_cost_estimated,
        cost_of_sales_rub,
        cast(
            {{ net_revenue_rub('amount', 'amount_with_vat', 'credited_amount', 'rub_per_unit') }} - cost_of_sales_rub
            as decimal(18, 2)
        ) as gross_margin_rub,
        loaded_at,
        source_file_hash
    from revenue

)

select * from final
