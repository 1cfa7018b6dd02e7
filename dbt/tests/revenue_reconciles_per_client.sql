-- Every 12-month revenue the marts publish is the same net figure: per client, the sum of
-- fct_invoices.net_revenue_rub over the 365 days to the as-of date equals
-- mart_client_360.revenue_12m_rub, mart_client_profitability.net_revenue_12m_rub and the
-- client's rows of mart_client_offices; and mart_manager_book adds up to the clients it owns.
-- Returns the clients (or managers) that disagree by more than a kopeck.
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

invoiced as (

    select
        invoices.client_id,
        sum(invoices.net_revenue_rub) as revenue_12m_rub
    from {{ ref('fct_invoices') }} as invoices
    cross join as_of
    where invoices.client_id is not null
        and invoices.invoice_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
        and invoices.invoice_date <= as_of.as_of_date
    group by invoices.client_id

),

by_office as (

    select
        client_id,
        sum(revenue_12m_rub) as revenue_12m_rub
    from {{ ref('mart_client_offices') }}
    group by client_id

),

per_client as (

    select
        clients.client_id,
        coalesce(invoiced.revenue_12m_rub, 0) as from_invoices,
        clients.revenue_12m_rub as from_client_360,
        coalesce(profitability.net_revenue_12m_rub, 0) as from_profitability,
        coalesce(by_office.revenue_12m_rub, 0) as from_offices
    from {{ ref('mart_client_360') }} as clients
    left join invoiced
        on clients.client_id = invoiced.client_id
    left join {{ ref('mart_client_profitability') }} as profitability
        on clients.client_id = profitability.client_id
    left join by_office
        on clients.client_id = by_office.client_id

),

owned as (

    select
        owner_manager_id,
        sum(revenue_12m_rub) as revenue_12m_rub
    from {{ ref('mart_client_360') }}
    group by owner_manager_id

),

books as (

    select
        books.manager_id,
        books.revenue_12m_rub as from_book,
        coalesce(owned.revenue_12m_rub, 0) as from_clients
    from {{ ref('mart_manager_book') }} as books
    left join owned
        on books.manager_id = owned.owner_manager_id

)

select
    'client' as disagreeing,
    client_id as disagreeing_id
from per_client
where abs(from_invoices - from_client_360) > 0.01
    or abs(from_invoices - from_profitability) > 0.01
    or abs(from_invoices - from_offices) > 0.01
union all
select
    'manager' as disagreeing,
    manager_id as disagreeing_id
from books
where abs(from_book - from_clients) > 0.01
