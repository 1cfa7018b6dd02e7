-- one row per payment: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('finance', 'payments') }}

),

deduplicated as (

    select
        payment_id,
        counterparty_id,
        invoice_id,
        payment_date,
        amount,
        currency,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash
    from source
    -- DuckDB-only: qualify keeps one row per key without a nested query
    qualify row_number() over (
            partition by payment_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) = 1

)

select * from deduplicated
