-- One row per client touched in the 12 months to the as-of date: the calls, personal
-- e-mails, meetings, event attendances and support tickets it took, and what they cost at
-- the business rules' cost per interaction. Mass mailings and ads are campaign costs, not
-- cost to serve.
with

interactions as (

    select * from {{ ref('fct_interactions') }}

),

tickets as (

    select * from {{ ref('fct_tickets') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

business_rules as (

    select * from {{ ref('int_business_rules') }}

),

activities as (

    select
        interactions.client_id,
        count(case when interactions.interaction_type = 'call' then 1 end) as calls_12m,
        count(case when interactions.interaction_type = 'email' then 1 end) as emails_12m,
        count(case when interactions.interaction_type = 'meeting' then 1 end) as meetings_12m,
        count(case when interactions.interaction_type = 'event' then 1 end) as events_12m
    from interactions
    cross join as_of
    where interactions.client_id is not null
        and interactions.interaction_type in ('call', 'email', 'meeting', 'event')
        and interactions.occurred_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
        and interactions.occurred_date <= as_of.as_of_date
    group by interactions.client_id

),

support as (

    select
        tickets.client_id,
        count(*) as tickets_12m
    from tickets
    cross join as_of
    where tickets.client_id is not null
        and tickets.opened_date > {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
        and tickets.opened_date <= as_of.as_of_date
    group by tickets.client_id

),

clients as (

    select client_id from activities
    union
    select client_id from support

),

counted as (

    select
        clients.client_id,
        coalesce(activities.calls_12m, 0) as calls_12m,
        coalesce(activities.emails_12m, 0) as emails_12m,
        coalesce(activities.meetings_12m, 0) as meetings_12m,
        coalesce(activities.events_12m, 0) as events_12m,
        coalesce(support.tickets_12m, 0) as tickets_12m
    from clients
    left join activities
        on clients.client_id = activities.client_id
    left join support
        on clients.client_id = support.client_id

),

final as (

    select
        counted.*,
        cast(
            counted.calls_12m * business_rules.cost_per_call_rub
            + counted.emails_12m * business_rules.cost_per_email_rub
            + counted.meetings_12m * business_rules.cost_per_meeting_rub
            + counted.events_12m * business_rules.cost_per_event_rub
            + counted.tickets_12m * business_rules.cost_per_ticket_rub
            as decimal(18, 2)
        ) as cost_to_serve_12m_rub
    from counted
    cross join business_rules

)

select * from final
