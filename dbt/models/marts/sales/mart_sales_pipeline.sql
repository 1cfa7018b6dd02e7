-- One row per cohort month, manager, office, partner and product line: how many pipeline
-- paths (leads and deals opened without a lead) began that month, how far they got, and
-- how long they took. Paths without a partner or product line (unconverted leads) are
-- under 'none'; rates are null when nothing entered the stage before.
with

funnel as (

    select * from {{ ref('int_pipeline__funnel') }}

),

labelled as (

    select
        cohort_month,
        coalesce(manager_id, 'none') as manager_id,
        coalesce(office_code, 'none') as office_code,
        coalesce(partner_id, 'none') as partner_id,
        coalesce(product_line, 'none') as product_line,
        is_lead,
        has_deal,
        reached_proposal,
        reached_negotiation,
        is_won,
        is_lost,
        is_open_deal,
        won_amount_rub,
        days_lead_to_deal,
        days_deal_to_won,
        days_start_to_won
    from funnel

),

grouped as (

    select
        cohort_month,
        manager_id,
        office_code,
        partner_id,
        product_line,
        count(*) as paths_started,
        count(case when is_lead then 1 end) as leads_created,
        count(case when is_lead and has_deal then 1 end) as leads_converted,
        count(case when has_deal then 1 end) as deals_opened,
        count(case when reached_proposal then 1 end) as deals_reached_proposal,
        count(case when reached_negotiation then 1 end) as deals_reached_negotiation,
        count(case when is_won then 1 end) as deals_won,
        count(case when is_lost then 1 end) as deals_lost,
        count(case when is_open_deal then 1 end) as deals_open,
        coalesce(sum(won_amount_rub), 0) as won_amount_rub,
        avg(days_lead_to_deal) as avg_days_lead_to_deal,
        avg(days_deal_to_won) as avg_days_deal_to_won,
        avg(days_start_to_won) as avg_days_start_to_won
    from labelled
    group by cohort_month, manager_id, office_code, partner_id, product_line

),

final as (

    select
        {{ dbt.concat([
            "cast(cohort_month as " ~ dbt.type_string() ~ ")", "'|'", "manager_id", "'|'", "office_code",
            "'|'", "partner_id", "'|'", "product_line",
        ]) }} as pipeline_row_id,
        cohort_month,
        manager_id,
        office_code,
        partner_id,
        product_line,
        paths_started,
        leads_created,
        leads_converted,
        deals_opened,
        deals_reached_proposal,
        deals_reached_negotiation,
        deals_won,
        deals_lost,
        deals_open,
        won_amount_rub,
        cast(leads_converted as double) / nullif(leads_created, 0) as lead_to_deal_rate,
        cast(deals_reached_proposal as double) / nullif(deals_opened, 0) as deal_to_proposal_rate,
        cast(deals_reached_negotiation as double) / nullif(deals_reached_proposal, 0) as proposal_to_negotiation_rate,
        cast(deals_won as double) / nullif(deals_reached_negotiation, 0) as negotiation_to_won_rate,
        cast(deals_won as double) / nullif(deals_won + deals_lost, 0) as win_rate,
        cast(avg_days_lead_to_deal as double) as avg_days_lead_to_deal,
        cast(avg_days_deal_to_won as double) as avg_days_deal_to_won,
        cast(avg_days_start_to_won as double) as avg_days_start_to_won
    from grouped

)

select * from final
