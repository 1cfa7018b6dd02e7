-- One row per client and supplier office that invoiced it or touched it: revenue and
-- interactions by office, so "who serves whom" has an answer.
with

invoices as (

    select * from {{ ref('int_invoices__aged') }}

),

interactions as (

    select * from {{ ref('fct_interactions') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

invoiced as (

    select
        invoices.client_id,
        invoices.office_code,
        count(*) as invoice_count,
        sum(invoices.net_revenue_rub) as revenue_lifetime_rub,
        sum(
            case
                when invoices.invoice_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
                    then invoices.net_revenue_rub
                else 0
            end
        ) as revenue_12m_rub,
        min(invoices.invoice_date) as first_invoice_date,
        max(invoices.invoice_date) as last_invoice_date
    from invoices
    cross join as_of
    where invoices.client_id is not null
    group by invoices.client_id, invoices.office_code

),

touched as (

    select
        interactions.client_id,
        interactions.office_code,
        count(*) as interaction_count,
        count(
            case when interactions.occurred_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }} then 1 end
        ) as interactions_12m,
        max(interactions.occurred_at) as last_interaction_at
    from interactions
    cross join as_of
    where interactions.client_id is not null
        and interactions.office_code is not null
        and interactions.occurred_date <= as_of.as_of_date
    group by interactions.client_id, interactions.office_code

),

pairs as (

    select
        client_id,
        office_code
    from invoiced
    union
    select
        client_id,
        office_code
    from touched

),

joined as (

    select
        pairs.client_id,
        pairs.office_code,
        coalesce(invoiced.invoice_count, 0) as invoice_count,
        coalesce(invoiced.revenue_lifetime_rub, 0) as revenue_lifetime_rub,
        coalesce(invoiced.revenue_12m_rub, 0) as revenue_12m_rub,
        invoiced.first_invoice_date,
        invoiced.last_invoice_date,
        coalesce(touched.interaction_count, 0) as interaction_count,
        coalesce(touched.interactions_12m, 0) as interactions_12m,
        touched.last_interaction_at
    from pairs
    left join invoiced
        on pairs.client_id = invoiced.client_id
            and pairs.office_code = invoiced.office_code
    left join touched
        on pairs.client_id = touched.client_id
            and pairs.office_code = touched.office_code

),

final as (

    select
        client_id || '|' || office_code as client_office_id,
        *,
        row_number() over (
            partition by client_id
            order by revenue_lifetime_rub desc, interaction_count desc, office_code asc
        ) = 1 as is_main_office
    from joined

)

select * from final
