-- One row per employee who owns clients or deals or touched a client in the last 12
-- months: their book (clients, revenue, open deals) and its key-person risk: clients whose
-- whole relationship of the last 12 months ran through this one manager, or through one
-- person at the client. A manager who has left but still owns clients is flagged.
with

managers as (

    select * from {{ ref('dim_managers') }}

),

clients as (

    select * from {{ ref('mart_client_360') }}

),

deals as (

    select * from {{ ref('int_deals__staged') }}

),

spread as (

    select * from {{ ref('int_clients__relationship_spread') }}

),

book as (

    select
        owner_manager_id as manager_id,
        count(*) as clients_owned,
        count(case when is_customer then 1 end) as customers_owned,
        count(case when lifecycle_stage = 'prospect' then 1 end) as prospects_owned,
        sum(revenue_12m_rub) as revenue_12m_rub,
        sum(revenue_lifetime_rub) as revenue_lifetime_rub,
        count(case when is_single_manager then 1 end) as clients_single_manager,
        count(case when is_single_contact then 1 end) as clients_single_contact,
        sum(case when is_single_manager or is_single_contact then revenue_12m_rub else 0 end)
            as revenue_12m_at_key_person_risk_rub
    from clients
    where owner_manager_id is not null
    group by owner_manager_id

),

-- clients that only this manager talked to, whoever owns them in the CRM
sole_contact_point as (

    select
        main_manager_id as manager_id,
        count(*) as clients_only_this_manager_touched
    from spread
    where is_single_manager
    group by main_manager_id

),

open_deals as (

    select
        manager_id,
        count(*) as open_deals,
        sum(amount_rub) as open_deals_amount_rub
    from deals
    where is_open
        and manager_id is not null
    group by manager_id

),

final as (

    select
        managers.manager_id,
        managers.role,
        managers.office_code,
        managers.is_employed,
        managers.left_date,
        coalesce(book.clients_owned, 0) as clients_owned,
        coalesce(book.customers_owned, 0) as customers_owned,
        coalesce(book.prospects_owned, 0) as prospects_owned,
        coalesce(book.revenue_12m_rub, 0) as revenue_12m_rub,
        coalesce(book.revenue_lifetime_rub, 0) as revenue_lifetime_rub,
        coalesce(open_deals.open_deals, 0) as open_deals,
        coalesce(open_deals.open_deals_amount_rub, 0) as open_deals_amount_rub,
        coalesce(book.clients_single_manager, 0) as clients_single_manager,
        coalesce(book.clients_single_contact, 0) as clients_single_contact,
        coalesce(sole_contact_point.clients_only_this_manager_touched, 0) as clients_only_this_manager_touched,
        coalesce(book.revenue_12m_at_key_person_risk_rub, 0) as revenue_12m_at_key_person_risk_rub,
        not managers.is_employed and coalesce(book.clients_owned, 0) > 0 as has_left_with_clients
    from managers
    left join book
        on managers.manager_id = book.manager_id
    left join sole_contact_point
        on managers.manager_id = sole_contact_point.manager_id
    left join open_deals
        on managers.manager_id = open_deals.manager_id

)

select * from final
