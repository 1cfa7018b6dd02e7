-- The business rules (seed business_rules) as one typed row, for the models to cross join:
-- the offer block, the doubtful-debt and write-off ages, the cost to serve per interaction
-- and how campaign lift is measured. Python reads the same seed (marts.business_rules).
with

rules as (

    select * from {{ ref('business_rules') }}

),

final as (

    select
        max(case when rule_name = 'offer_block_ticket_priorities' then value end)
            as offer_block_ticket_priorities,
        {{ business_rule_number('offer_block_min_overdue_rub', 'decimal(18, 2)') }} as offer_block_min_overdue_rub,
        {{ business_rule_number('offer_block_min_days_past_due') }} as offer_block_min_days_past_due,
        {{ business_rule_number('doubtful_after_days') }} as doubtful_after_days,
        {{ business_rule_number('write_off_after_days') }} as write_off_after_days,
        {{ business_rule_number('cost_per_call_rub', 'decimal(18, 2)') }} as cost_per_call_rub,
        {{ business_rule_number('cost_per_email_rub', 'decimal(18, 2)') }} as cost_per_email_rub,
        {{ business_rule_number('cost_per_meeting_rub', 'decimal(18, 2)') }} as cost_per_meeting_rub,
        {{ business_rule_number('cost_per_event_rub', 'decimal(18, 2)') }} as cost_per_event_rub,
        {{ business_rule_number('cost_per_ticket_rub', 'decimal(18, 2)') }} as cost_per_ticket_rub,
        {{ business_rule_number('campaign_lift_window_days') }} as campaign_lift_window_days,
        {{ business_rule_number('campaign_lift_min_clients') }} as campaign_lift_min_clients,
        {{ business_rule_number('campaign_lift_history_days') }} as campaign_lift_history_days
    from rules

)

select * from final
