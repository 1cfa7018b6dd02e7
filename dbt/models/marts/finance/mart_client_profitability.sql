-- One row per client ever invoiced: what it earned the company in the 12 months to the
-- as-of date. Net revenue (before VAT, less credit notes) less cost of sales is gross
-- margin; less the cost to serve it (calls, e-mails, meetings, events, tickets at the
-- business rules' costs) and the bad debt written off in those months, contribution
-- margin. Ranks by revenue and by margin side by side: the biggest clients are not always
-- the most profitable.
with

invoices as (

    select * from {{ ref('int_invoices__aged') }}

),

cost_to_serve as (

    select * from {{ ref('int_clients__cost_to_serve') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

earned as (

    select
        invoices.client_id,
        sum(
            case when invoices.invoice_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
                    then invoices.net_revenue_rub
                else 0
            end
        ) as net_revenue_12m_rub,
        sum(
            case when invoices.invoice_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
                    then invoices.cost_of_sales_rub
                else 0
            end
        ) as cost_of_sales_12m_rub,
        sum(
            case when invoices.invoice_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
                    and invoices.is_cost_estimated then invoices.cost_of_sales_rub
                else 0
            end
        ) as estimated_cost_of_sales_12m_rub,
        sum(
            case when invoices.written_off_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
                    then invoices.open_amount_rub
                else 0
            end
        ) as bad_debt_12m_rub,
        sum(invoices.net_revenue_rub) as net_revenue_lifetime_rub,
        sum(invoices.net_revenue_rub - invoices.cost_of_sales_rub) as gross_margin_lifetime_rub
    from invoices
    cross join as_of
    where invoices.client_id is not null
    group by invoices.client_id

),

margins as (

    select
        earned.client_id,
        earned.net_revenue_12m_rub,
        earned.cost_of_sales_12m_rub,
        cast(earned.net_revenue_12m_rub - earned.cost_of_sales_12m_rub as decimal(18, 2)) as gross_margin_12m_rub,
        cast(earned.estimated_cost_of_sales_12m_rub as decimal(18, 2)) as estimated_cost_of_sales_12m_rub,
        coalesce(cost_to_serve.calls_12m, 0) as calls_12m,
        coalesce(cost_to_serve.emails_12m, 0) as emails_12m,
        coalesce(cost_to_serve.meetings_12m, 0) as meetings_12m,
        coalesce(cost_to_serve.events_12m, 0) as events_12m,
        coalesce(cost_to_serve.tickets_12m, 0) as tickets_12m,
        coalesce(cost_to_serve.cost_to_serve_12m_rub, 0) as cost_to_serve_12m_rub,
        cast(earned.bad_debt_12m_rub as decimal(18, 2)) as bad_debt_12m_rub,
        earned.net_revenue_lifetime_rub,
        cast(earned.gross_margin_lifetime_rub as decimal(18, 2)) as gross_margin_lifetime_rub
    from earned
    left join cost_to_serve
        on earned.client_id = cost_to_serve.client_id

),

final as (

    select
        margins.client_id,
        margins.net_revenue_12m_rub,
        margins.cost_of_sales_12m_rub,
        margins.gross_margin_12m_rub,
        cast(margins.gross_margin_12m_rub as double) / nullif(margins.net_revenue_12m_rub, 0) as gross_margin_pct_12m,
        margins.estimated_cost_of_sales_12m_rub,
        margins.calls_12m,
        margins.emails_12m,
        margins.meetings_12m,
        margins.events_12m,
        margins.tickets_12m,
        margins.cost_to_serve_12m_rub,
        margins.bad_debt_12m_rub,
        cast(
            margins.gross_margin_12m_rub - margins.cost_to_serve_12m_rub - margins.bad_debt_12m_rub
            as decimal(18, 2)
        ) as contribution_margin_12m_rub,
        margins.net_revenue_lifetime_rub,
        margins.gross_margin_lifetime_rub,
        rank() over (order by margins.net_revenue_12m_rub desc) as revenue_rank_12m,
        rank() over (order by margins.gross_margin_12m_rub desc) as gross_margin_rank_12m,
        rank() over (
            order by margins.gross_margin_12m_rub - margins.cost_to_serve_12m_rub - margins.bad_debt_12m_rub desc
        ) as contribution_margin_rank_12m,
        as_of.as_of_date
    from margins
    cross join as_of

)

select * from final
