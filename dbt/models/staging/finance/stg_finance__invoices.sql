-- one row per invoice: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('finance', 'invoices') }}

),

deduplicated as (

    select
        invoice_id,
        counterparty_id,
        invoice_date,
        due_date,
        office_code,
        product_line,
        amount,
        vat_amount,
        currency,
        deal_ref,
        cost_amount,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash
    from source
    -- DuckDB-only: qualify keeps one row per key without a nested query
    qualify row_number() over (
            partition by invoice_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) = 1

)

select * from deduplicated
