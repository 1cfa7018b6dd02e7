-- one row per credit note: the latest loaded copy when an export repeats a row
with

source as (

    select * from {{ source('finance', 'credit_notes') }}

),

ranked as (

    select
        credit_note_id,
        invoice_id,
        counterparty_id,
        credit_note_date,
        amount,
        currency,
        reason,
        _loaded_at as loaded_at,
        _content_hash as source_file_hash,
        row_number() over (
            partition by credit_note_id
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from source

),

deduplicated as (

    select
        credit_note_id,
        invoice_id,
        counterparty_id,
        credit_note_date,
        amount,
        currency,
        reason,
        loaded_at,
        source_file_hash
    from ranked
    where copy_rank = 1

)

select * from deduplicated
