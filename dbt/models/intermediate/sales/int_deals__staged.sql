-- One row per deal: when it entered each stage, the furthest stage it reached, how it
-- closed and how long it took (cycle times in days).
with

deals as (

    select * from {{ ref('stg_crm__deals') }}

),

stage_changes as (

    select * from {{ ref('stg_crm__deal_stage_changes') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

-- qualification < proposal < negotiation < won; lost ends a deal at whatever stage it reached
stage_entries as (

    select
        deal_id,
        min(case when stage = 'qualification' then changed_at end) as qualification_at,
        min(case when stage = 'proposal' then changed_at end) as proposal_at,
        min(case when stage = 'negotiation' then changed_at end) as negotiation_at,
        min(case when stage = 'won' then changed_at end) as won_changed_at,
        min(case when stage = 'lost' then changed_at end) as lost_changed_at,
        max(
            case stage
                when 'qualification' then 1
                when 'proposal' then 2
                when 'negotiation' then 3
                when 'won' then 4
                else 0
            end
        ) as furthest_stage_order_in_history
    from stage_changes
    group by deal_id

),

joined as (

    select
        deals.deal_id,
        deals.account_id,
        deals.lead_id,
        resolution_keys.client_id,
        resolution_keys.legal_entity_id,
        deals.created_at,
        deals.stage,
        deals.amount,
        deals.currency,
        cast(deals.amount * currency_rates.rub_per_unit as decimal(18, 2)) as amount_rub,
        deals.product_line,
        deals.owner_user_id as manager_id,
        deals.partner_id,
        deals.campaign_id,
        deals.office_code,
        deals.expected_close_date,
        deals.lost_reason,
        leads.created_at as lead_created_at,
        coalesce(stage_entries.qualification_at, deals.created_at) as qualification_at,
        stage_entries.proposal_at,
        stage_entries.negotiation_at,
        case when deals.stage = 'won' then coalesce(deals.closed_at, stage_entries.won_changed_at) end as won_at,
        case when deals.stage = 'lost' then coalesce(deals.closed_at, stage_entries.lost_changed_at) end as lost_at,
        greatest(
            1,
            coalesce(stage_entries.furthest_stage_order_in_history, 0),
            case deals.stage
                when 'proposal' then 2
                when 'negotiation' then 3
                when 'won' then 4
                else 1
            end
        ) as furthest_stage_order
    from deals
    left join stage_entries
        on deals.deal_id = stage_entries.deal_id
    left join leads
        on deals.lead_id = leads.lead_id
    left join resolution_keys
        on resolution_keys.resolution_key = 'accounts:' || deals.account_id
    left join currency_rates
        on deals.currency = currency_rates.currency

),

final as (

    select
        deal_id,
        account_id,
        lead_id,
        client_id,
        legal_entity_id,
        created_at,
        stage,
        stage = 'won' as is_won,
        stage = 'lost' as is_lost,
        stage not in ('won', 'lost') as is_open,
        amount,
        currency,
        amount_rub,
        product_line,
        manager_id,
        partner_id,
        campaign_id,
        office_code,
        expected_close_date,
        lost_reason,
        lead_created_at,
        qualification_at,
        proposal_at,
        negotiation_at,
        won_at,
        lost_at,
        coalesce(won_at, lost_at) as closed_at,
        furthest_stage_order,
        case furthest_stage_order
            when 1 then 'qualification'
            when 2 then 'proposal'
            when 3 then 'negotiation'
            else 'won'
        end as furthest_stage,
        furthest_stage_order >= 2 as reached_proposal,
        furthest_stage_order >= 3 as reached_negotiation,
        {{ days_between('created_at', 'coalesce(won_at, lost_at)') }} as days_created_to_close,
        {{ days_between('created_at', 'won_at') }} as days_created_to_won,
        {{ days_between('lead_created_at', 'created_at') }} as days_lead_to_deal,
        {{ days_between('lead_created_at', 'won_at') }} as days_lead_to_won
    from joined

)

select * from final
