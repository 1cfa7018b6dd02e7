-- The date the warehouse is computed as of: the var as_of_date when given (backfills,
-- backtests), else the last day any source has data for, else today.
with

invoices as (

    select max(invoice_date) as last_date from {{ ref('stg_finance__invoices') }}

),

payments as (

    select max(payment_date) as last_date from {{ ref('stg_finance__payments') }}

),

credit_notes as (

    select max(credit_note_date) as last_date from {{ ref('stg_finance__credit_notes') }}

),

activities as (

    select max({{ to_date('occurred_at') }}) as last_date from {{ ref('stg_crm__activities') }}

),

deal_stage_changes as (

    select max({{ to_date('changed_at') }}) as last_date from {{ ref('stg_crm__deal_stage_changes') }}

),

web_events as (

    select max({{ to_date('event_at') }}) as last_date from {{ ref('stg_web__events') }}

),

accounts as (

    select max(snapshot_date) as last_date from {{ ref('stg_crm__accounts') }}

),

counterparties as (

    select max(snapshot_date) as last_date from {{ ref('stg_finance__counterparties') }}

),

all_dates as (

    select last_date from invoices
    union all
    select last_date from payments
    union all
    select last_date from credit_notes
    union all
    select last_date from activities
    union all
    select last_date from deal_stage_changes
    union all
    select last_date from web_events
    union all
    select last_date from accounts
    union all
    select last_date from counterparties

),

final as (

    select
        {% if var('as_of_date') -%}
            cast('{{ var("as_of_date") }}' as date)
        {%- else -%}
            coalesce(max(last_date), current_date)
        {%- endif %} as as_of_date
    from all_dates

)

select * from final
