-- One row per client touched in the 12 months before the as-of date: through how many of
-- the supplier's employees and how many of the client's people the relationship ran.
-- One of either is key-person risk: if that person leaves, the relationship goes too.
with

interactions as (

    select * from {{ ref('fct_interactions') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

recent as (

    select interactions.*
    from interactions
    cross join as_of
    where interactions.client_id is not null
        and interactions.occurred_date <= as_of.as_of_date
        and interactions.occurred_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
        and interactions.source_system = 'crm'
        and interactions.interaction_type not like 'campaign_%'

),

manager_counts as (

    select
        client_id,
        manager_id,
        count(*) as touches
    from recent
    where manager_id is not null
    group by client_id, manager_id

),

top_managers as (

    select
        client_id,
        manager_id as main_manager_id,
        row_number() over (partition by client_id order by touches desc, manager_id asc) as manager_rank
    from manager_counts

),

final as (

    select
        recent.client_id,
        count(*) as crm_touches_12m,
        count(distinct recent.manager_id) as managers_12m,
        count(distinct recent.contact_key) as contacts_12m,
        max(top_managers.main_manager_id) as main_manager_id,
        count(distinct recent.manager_id) = 1 as is_single_manager,
        count(distinct recent.contact_key) = 1 as is_single_contact
    from recent
    left join top_managers
        on recent.client_id = top_managers.client_id
            and top_managers.manager_rank = 1
    group by recent.client_id

)

select * from final
