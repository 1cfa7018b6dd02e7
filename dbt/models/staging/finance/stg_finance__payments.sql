-- one row per payment: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('finance', 'payments') }}

),

ranked as (

    select
        payment_id,
        counterparty_id,
        invoice_id,
        payment_date,
        amount,
        currency,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by payment_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

),

deduplicated as (

    select
        payment_id,
        counterparty_id,
        invoice_id,
        payment_date,
        amount,
        currency,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
