{{
    config(
        materialized=incremental_or_table(),
        incremental_strategy='delete+insert',
        unique_key='invoice_id',
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_rows_of_retired_files() }}"],
    )
}}

-- One row per invoice, with its client and rouble amounts. Incremental like fct_interactions:
-- new files, changed client resolution or rates, and superseded files are caught up.
-- depends_on: {{ source('meta', 'load_manifest') }}
-- depends_on: {{ ref('int_resolution_keys') }}
-- depends_on: {{ ref('currency_rates') }}
with

invoices as (

    select * from {{ ref('int_invoices__resolved') }}

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

    stale as (

        select already_built.invoice_id
        from {{ this }} as already_built
        left join resolution_keys
            on already_built.resolution_key = resolution_keys.resolution_key
        left join currency_rates
            on already_built.currency = currency_rates.currency
        where already_built.source_file_hash not in (select loaded_files.content_hash from loaded_files)
            or {{ is_distinct_from('already_built.client_id', 'resolution_keys.client_id') }}
            or {{ is_distinct_from('already_built.legal_entity_id', 'resolution_keys.legal_entity_id') }}
            or {{ is_distinct_from('already_built.rub_per_unit', 'currency_rates.rub_per_unit') }}

    ),

{% endif %}

final as (

    select * from invoices
    {% if is_incremental() %}
        where loaded_at > ({{ built_until() }})
            or invoice_id in (select stale.invoice_id from stale)
    {% endif %}

)

select * from final
