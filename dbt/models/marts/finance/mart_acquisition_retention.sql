-- One row per 12-month period (the 12 months to the as-of date, and the two before): what
-- winning new clients cost against what keeping the existing ones cost. The source
-- document argues keeping a client costs 5-10 times less than winning one; this is that
-- comparison on our own costs.
--
-- Acquisition: the campaign costs of touches on prospects (each campaign's cost split by
-- the share of its touches on clients not yet buying), the partner commission on the deals
-- that brought new clients (won by 30 days after the client's first invoice), and the calls,
-- e-mails, meetings, events and tickets with prospects (at the business rules' costs), over
-- the clients whose first invoice fell in the period. Retention: the rest of the campaign
-- costs and the cost to serve existing clients, over the clients who bought in the period
-- and in the 12 months before it. A partner's commission on an existing client's deal is a
-- cost of that sale (the channel's margin), not of keeping the client: it is shown apart.
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

campaigns as (

    select * from {{ ref('dim_campaigns') }}

),

touches as (

    select * from {{ ref('int_campaign_touches') }}

),

deals as (

    select * from {{ ref('int_deals__staged') }}

),

partners as (

    select * from {{ ref('dim_partners') }}

),

interactions as (

    select * from {{ ref('fct_interactions') }}

),

tickets as (

    select * from {{ ref('fct_tickets') }}

),

lifecycle as (

    select * from {{ ref('int_clients__lifecycle') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

business_rules as (

    select * from {{ ref('int_business_rules') }}

),

period_indexes as (

    select 0 as period_index
    union all
    select 1 as period_index
    union all
    select 2 as period_index

),

periods as (

    select
        period_indexes.period_index,
        {{ to_date(dbt.dateadd('day', '-365 * period_indexes.period_index - 364', 'as_of.as_of_date')) }}
            as period_start,
        {{ to_date(dbt.dateadd('day', '-365 * period_indexes.period_index', 'as_of.as_of_date')) }} as period_end
    from period_indexes
    cross join as_of

),

first_invoices as (

    select
        client_id,
        first_invoice_date
    from lifecycle
    where first_invoice_date is not null

),

history as (

    select min(first_invoice_date) as history_start from first_invoices

),

-- each campaign's cost, split by the share of its touches on prospects
campaign_split as (

    select
        campaigns.campaign_id,
        campaigns.start_date,
        campaigns.cost_rub,
        cast(count(
            case
                when first_invoices.first_invoice_date is null
                    or first_invoices.first_invoice_date > {{ to_date('touches.touched_at') }}
                    then 1
            end
        ) as double) / nullif(count(touches.touch_id), 0) as prospect_touch_share
    from campaigns
    left join touches
        on campaigns.campaign_id = touches.campaign_id
    left join first_invoices
        on touches.client_id = first_invoices.client_id
    group by campaigns.campaign_id, campaigns.start_date, campaigns.cost_rub

),

campaign_costs as (

    select
        periods.period_index,
        sum(campaign_split.cost_rub * coalesce(campaign_split.prospect_touch_share, 0)) as acquisition_campaign_cost_rub,
        sum(campaign_split.cost_rub * (1 - coalesce(campaign_split.prospect_touch_share, 0)))
            as retention_campaign_cost_rub
    from periods
    inner join campaign_split
        on campaign_split.start_date between periods.period_start and periods.period_end
    group by periods.period_index

),

partner_costs as (

    select
        periods.period_index,
        sum(
            case
                when first_invoices.first_invoice_date is null
                    or {{ to_date('deals.won_at') }}
                    <= {{ dbt.dateadd('day', 30, 'first_invoices.first_invoice_date') }}
                    then deals.amount_rub * partners.commission_percent / 100
                else 0
            end
        ) as acquisition_partner_cost_rub,
        sum(
            case
                when first_invoices.first_invoice_date is not null
                    and {{ to_date('deals.won_at') }}
                    > {{ dbt.dateadd('day', 30, 'first_invoices.first_invoice_date') }}
                    then deals.amount_rub * partners.commission_percent / 100
                else 0
            end
        ) as existing_clients_partner_commission_rub
    from periods
    inner join deals
        on {{ to_date('deals.won_at') }} between periods.period_start and periods.period_end
    inner join partners
        on deals.partner_id = partners.partner_id
    left join first_invoices
        on deals.client_id = first_invoices.client_id
    where deals.is_won
    group by periods.period_index

),

-- calls, e-mails, meetings, events (CRM activities) and tickets, priced
served as (

    select
        interactions.client_id,
        interactions.occurred_date as served_date,
        case interactions.interaction_type
            when 'call' then business_rules.cost_per_call_rub
            when 'email' then business_rules.cost_per_email_rub
            when 'meeting' then business_rules.cost_per_meeting_rub
            when 'event' then business_rules.cost_per_event_rub
        end as cost_rub
    from interactions
    cross join business_rules
    where interactions.interaction_type in ('call', 'email', 'meeting', 'event')
        and (interactions.client_id is not null or interactions.lead_id is not null)
    union all
    select
        tickets.client_id,
        tickets.opened_date as served_date,
        business_rules.cost_per_ticket_rub as cost_rub
    from tickets
    cross join business_rules
    where tickets.client_id is not null

),

service_costs as (

    select
        periods.period_index,
        sum(
            case
                when first_invoices.first_invoice_date is null
                    or first_invoices.first_invoice_date > served.served_date
                    then served.cost_rub
                else 0
            end
        ) as acquisition_service_cost_rub,
        sum(
            case
                when first_invoices.first_invoice_date <= served.served_date then served.cost_rub else 0
            end
        ) as retention_service_cost_rub
    from periods
    inner join served
        on served.served_date between periods.period_start and periods.period_end
    left join first_invoices
        on served.client_id = first_invoices.client_id
    group by periods.period_index

),

buying as (

    select distinct
        periods.period_index,
        invoices.client_id,
        invoices.invoice_date >= periods.period_start as in_period
    from periods
    inner join invoices
        on invoices.invoice_date between {{ dbt.dateadd('day', -365, 'periods.period_start') }} and periods.period_end
    where invoices.client_id is not null

),

clients_counted as (

    select
        periods.period_index,
        count(distinct case
            when first_invoices.first_invoice_date between periods.period_start and periods.period_end
                then first_invoices.client_id
        end) as new_clients
    from periods
    cross join first_invoices
    group by periods.period_index

),

retained as (

    select
        now_buying.period_index,
        count(*) as retained_clients
    from buying as now_buying
    inner join buying as before_buying
        on now_buying.period_index = before_buying.period_index
            and now_buying.client_id = before_buying.client_id
            and now_buying.in_period
            and not before_buying.in_period
    group by now_buying.period_index

),

totals as (

    select
        periods.period_index,
        periods.period_start,
        periods.period_end,
        -- a client is new only when the data goes back a year before the period: before that, its first
        -- invoice on record may not be its first
        coalesce(history.history_start <= {{ dbt.dateadd('day', -365, 'periods.period_start') }}, false)
            as has_prior_year,
        coalesce(clients_counted.new_clients, 0) as new_clients,
        coalesce(retained.retained_clients, 0) as retained_clients,
        cast(coalesce(campaign_costs.acquisition_campaign_cost_rub, 0) as decimal(18, 2))
            as acquisition_campaign_cost_rub,
        cast(coalesce(partner_costs.acquisition_partner_cost_rub, 0) as decimal(18, 2))
            as acquisition_partner_cost_rub,
        cast(coalesce(service_costs.acquisition_service_cost_rub, 0) as decimal(18, 2))
            as acquisition_service_cost_rub,
        cast(coalesce(campaign_costs.retention_campaign_cost_rub, 0) as decimal(18, 2))
            as retention_campaign_cost_rub,
        cast(coalesce(partner_costs.existing_clients_partner_commission_rub, 0) as decimal(18, 2))
            as existing_clients_partner_commission_rub,
        cast(coalesce(service_costs.retention_service_cost_rub, 0) as decimal(18, 2))
            as retention_service_cost_rub
    from periods
    cross join history
    left join clients_counted
        on periods.period_index = clients_counted.period_index
    left join retained
        on periods.period_index = retained.period_index
    left join campaign_costs
        on periods.period_index = campaign_costs.period_index
    left join partner_costs
        on periods.period_index = partner_costs.period_index
    left join service_costs
        on periods.period_index = service_costs.period_index

),

final as (

    select
        period_index,
        period_start,
        period_end,
        has_prior_year,
        new_clients,
        retained_clients,
        acquisition_campaign_cost_rub,
        acquisition_partner_cost_rub,
        acquisition_service_cost_rub,
        cast(
            acquisition_campaign_cost_rub + acquisition_partner_cost_rub + acquisition_service_cost_rub
            as decimal(18, 2)
        ) as acquisition_cost_rub,
        retention_campaign_cost_rub,
        retention_service_cost_rub,
        cast(retention_campaign_cost_rub + retention_service_cost_rub as decimal(18, 2)) as retention_cost_rub,
        existing_clients_partner_commission_rub,
        cast(
            (acquisition_campaign_cost_rub + acquisition_partner_cost_rub + acquisition_service_cost_rub)
            / nullif(new_clients, 0)
            as decimal(18, 2)
        ) as acquisition_cost_per_new_client_rub,
        cast(
            (retention_campaign_cost_rub + retention_service_cost_rub) / nullif(retained_clients, 0)
            as decimal(18, 2)
        ) as retention_cost_per_retained_client_rub,
        cast(
            (acquisition_campaign_cost_rub + acquisition_partner_cost_rub + acquisition_service_cost_rub)
            / nullif(new_clients, 0)
            / nullif((retention_campaign_cost_rub + retention_service_cost_rub) / nullif(retained_clients, 0), 0)
            as double
        ) as acquisition_to_retention_cost_ratio
    from totals

)

select * from final
