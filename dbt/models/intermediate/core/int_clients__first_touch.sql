-- One row per client with a recorded first touch: the origin of its earliest lead, or of a
-- deal a partner brought before any lead. A client invoiced before its first recorded touch,
-- or in the first 90 days of the accounting history (a customer from before the records,
-- whose first invoice on record is not its first), has the origin unknown.
with

leads as (

    select * from {{ ref('int_leads__first_touch') }}

),

deals as (

    select * from {{ ref('int_deals__staged') }}

),

lifecycle as (

    select * from {{ ref('int_clients__lifecycle') }}

),

history as (

    select min(first_invoice_date) as history_start from lifecycle

),

touches as (

    select
        client_id,
        first_touch_at as touched_at,
        first_touch_origin as origin
    from leads
    where client_id is not null
    union all
    select
        client_id,
        created_at as touched_at,
        'partner_referral' as origin
    from deals
    where client_id is not null
        and partner_id is not null

),

ranked as (

    select
        *,
        row_number() over (partition by client_id order by touched_at, origin) as touch_order
    from touches

),

final as (

    select
        ranked.client_id,
        case
            when lifecycle.first_invoice_date < {{ to_date('ranked.touched_at') }} then 'unknown'
            when lifecycle.first_invoice_date < {{ dbt.dateadd('day', 90, 'history.history_start') }} then 'unknown'
            else ranked.origin
        end as first_touch_origin,
        ranked.touched_at as first_touch_at,
        lifecycle.first_invoice_date
    from ranked
    cross join history
    left join lifecycle
        on ranked.client_id = lifecycle.client_id
    where ranked.touch_order = 1

)

select * from final
