-- one row per invoice: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('finance', 'invoices') }}

),

ranked as (

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
        _content_hash as source_file_hash,
        row_number() over (
            partition by invoice_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

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
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
