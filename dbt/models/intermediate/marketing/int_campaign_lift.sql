-- One row per campaign: what it caused, measured on the customers it touched against a
-- comparison group of customers it did not touch. The outcome is buying the product line
-- the campaign promotes within campaign_lift_window_days of the touch (business rules).
--
-- Comparison group: the campaign's own control group (members held out, response
-- held_out) when it has at least campaign_lift_min_clients of them; otherwise a matched
-- comparison, the customers the campaign did not touch, on its median touch day. Both
-- sides are customers (invoiced in the campaign_lift_history_days before) and are matched
-- on what they did before: whether they bought the promoted line in those days, and how
-- often they bought anything (0-2, 3-6, 7+ invoices). Lift is the difference in the share
-- buying, averaged over those strata with the touched clients' weights; its 95% interval
-- is a normal approximation. Incremental revenue is the same difference in net revenue of
-- the promoted line, times the touched clients measured.
with

campaigns as (

    select * from {{ ref('dim_campaigns') }}

),

members as (

    select * from {{ ref('stg_crm__campaign_members') }}

),

resolution_keys as (

    select * from {{ ref('int_resolution_keys') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

business_rules as (

    select * from {{ ref('int_business_rules') }}

),

member_clients as (

    select
        members.campaign_id,
        resolution_keys.client_id,
        max(case when members.response = 'held_out' then 0 else 1 end) as was_contacted,
        min(case when members.response <> 'held_out' then members.touched_at end) as first_touched_at,
        min(members.touched_at) as first_listed_at
    from members
    inner join resolution_keys
        on resolution_keys.resolution_key = coalesce(
                'accounts:' || members.account_id, 'contacts:' || members.contact_id
            )
    where resolution_keys.client_id is not null
    group by members.campaign_id, resolution_keys.client_id

),

campaign_members as (

    select
        campaign_id,
        count(case when was_contacted = 0 then 1 end) as control_clients,
        min(first_touched_at) as first_touch_at,
        max(first_touched_at) as last_touch_at
    from member_clients
    group by campaign_id

),

designs as (

    select
        campaigns.campaign_id,
        campaigns.product_line,
        case
            when campaign_members.control_clients >= business_rules.campaign_lift_min_clients then 'holdout'
            else 'matched'
        end as lift_method,
        -- the day the comparison group is measured from when it has no touch of its own
        {% set half_span = 'cast(' ~ dbt.datediff(
            'campaign_members.first_touch_at', 'campaign_members.last_touch_at', 'day'
        ) ~ ' / 2 as integer)' -%}
        {{ to_date(dbt.dateadd('day', half_span, to_date('campaign_members.first_touch_at'))) }} as median_touch_date
    from campaigns
    cross join business_rules
    inner join campaign_members
        on campaigns.campaign_id = campaign_members.campaign_id
    where campaigns.product_line is not null
        and campaign_members.first_touch_at is not null

),

treated as (

    select
        designs.campaign_id,
        member_clients.client_id,
        'treated' as arm,
        {{ to_date('member_clients.first_touched_at') }} as start_date
    from designs
    inner join member_clients
        on designs.campaign_id = member_clients.campaign_id
    where member_clients.was_contacted = 1

),

held_out as (

    select
        designs.campaign_id,
        member_clients.client_id,
        'comparison' as arm,
        {{ to_date('member_clients.first_listed_at') }} as start_date
    from designs
    inner join member_clients
        on designs.campaign_id = member_clients.campaign_id
    where designs.lift_method = 'holdout'
        and member_clients.was_contacted = 0

),

-- matched comparison: every customer invoiced in the history window before the median touch
-- day that the campaign did not list at all
customers_then as (

    select distinct
        designs.campaign_id,
        invoices.client_id,
        designs.median_touch_date as start_date
    from designs
    cross join business_rules
    inner join invoices
        on designs.median_touch_date > invoices.invoice_date
            and invoices.invoice_date
            >= {{ dbt.dateadd('day', '-1 * business_rules.campaign_lift_history_days', 'designs.median_touch_date') }}
    where designs.lift_method = 'matched'
        and invoices.client_id is not null

),

not_touched as (

    select
        customers_then.campaign_id,
        customers_then.client_id,
        'comparison' as arm,
        customers_then.start_date
    from customers_then
    left join member_clients
        on customers_then.campaign_id = member_clients.campaign_id
            and customers_then.client_id = member_clients.client_id
    where member_clients.client_id is null

),

arms as (

    select * from treated
    union all
    select * from held_out
    union all
    select * from not_touched

),

measured as (

    select
        arms.campaign_id,
        arms.client_id,
        arms.arm,
        max(
            case
                when invoices.product_line = designs.product_line and invoices.invoice_date >= arms.start_date
                    then 1
                else 0
            end
        ) as bought_after,
        sum(
            case
                when invoices.product_line = designs.product_line and invoices.invoice_date >= arms.start_date
                    then invoices.net_revenue_rub
                else 0
            end
        ) as revenue_after_rub,
        max(
            case
                when invoices.product_line = designs.product_line and invoices.invoice_date < arms.start_date
                    then 1
                else 0
            end
        ) as bought_line_before,
        count(case when invoices.invoice_date < arms.start_date then 1 end) as invoices_before
    from arms
    cross join business_rules
    cross join as_of
    inner join designs
        on arms.campaign_id = designs.campaign_id
    left join invoices
        on arms.client_id = invoices.client_id
            and invoices.invoice_date
            >= {{ dbt.dateadd('day', '-1 * business_rules.campaign_lift_history_days', 'arms.start_date') }}
            and invoices.invoice_date
            < {{ dbt.dateadd('day', 'business_rules.campaign_lift_window_days', 'arms.start_date') }}
    -- only clients whose window has ended by the as-of date
    where {{ dbt.dateadd('day', 'business_rules.campaign_lift_window_days', 'arms.start_date') }}
        <= {{ dbt.dateadd('day', 1, 'as_of.as_of_date') }}
    group by arms.campaign_id, arms.client_id, arms.arm

),

stratified as (

    select
        *,
        bought_line_before * 10
        + case when invoices_before <= 2 then 0 when invoices_before <= 6 then 1 else 2 end as stratum
    from measured
    -- customers only: both sides bought something in the history window
    where invoices_before > 0

),

cells as (

    select
        campaign_id,
        stratum,
        count(case when arm = 'treated' then 1 end) as treated_clients,
        count(case when arm = 'comparison' then 1 end) as comparison_clients,
        avg(case when arm = 'treated' then cast(bought_after as double) end) as treated_rate,
        avg(case when arm = 'comparison' then cast(bought_after as double) end) as comparison_rate,
        avg(case when arm = 'treated' then cast(revenue_after_rub as double) end) as treated_revenue,
        avg(case when arm = 'comparison' then cast(revenue_after_rub as double) end) as comparison_revenue,
        var_samp(case when arm = 'treated' then cast(revenue_after_rub as double) end) as treated_revenue_var,
        var_samp(case when arm = 'comparison' then cast(revenue_after_rub as double) end) as comparison_revenue_var
    from stratified
    group by campaign_id, stratum

),

matched_cells as (

    select * from cells
    where treated_clients > 0
        and comparison_clients > 0

),

estimates as (

    select
        campaign_id,
        cast(sum(treated_clients) as {{ dbt.type_bigint() }}) as treated_clients,
        cast(sum(comparison_clients) as {{ dbt.type_bigint() }}) as comparison_clients,
        sum(treated_clients * treated_rate) / sum(treated_clients) as treated_rate,
        sum(treated_clients * comparison_rate) / sum(treated_clients) as comparison_rate,
        sum(treated_clients * (treated_rate - comparison_rate)) / sum(treated_clients) as lift,
        sum(
            treated_clients * treated_clients * (
                treated_rate * (1 - treated_rate) / treated_clients
                + comparison_rate * (1 - comparison_rate) / comparison_clients
            )
        ) / (sum(treated_clients) * sum(treated_clients)) as lift_variance,
        sum(treated_clients * (treated_revenue - comparison_revenue)) / sum(treated_clients)
            as revenue_lift_per_client,
        sum(
            treated_clients * treated_clients * (
                coalesce(treated_revenue_var, 0) / treated_clients
                + coalesce(comparison_revenue_var, 0) / comparison_clients
            )
        ) / (sum(treated_clients) * sum(treated_clients)) as revenue_lift_variance
    from matched_cells
    group by campaign_id

),

final as (

    select
        designs.campaign_id,
        designs.product_line as lift_product_line,
        designs.lift_method,
        coalesce(estimates.treated_clients, 0) as lift_treated_clients,
        coalesce(estimates.comparison_clients, 0) as lift_comparison_clients,
        estimates.treated_clients >= business_rules.campaign_lift_min_clients
        and estimates.comparison_clients >= business_rules.campaign_lift_min_clients as is_lift_measured,
        estimates.treated_rate as treated_purchase_rate,
        estimates.comparison_rate as comparison_purchase_rate,
        estimates.lift,
        estimates.lift - 1.96 * sqrt(estimates.lift_variance) as lift_ci_low,
        estimates.lift + 1.96 * sqrt(estimates.lift_variance) as lift_ci_high,
        estimates.revenue_lift_per_client * estimates.treated_clients as incremental_revenue_rub,
        (estimates.revenue_lift_per_client - 1.96 * sqrt(estimates.revenue_lift_variance))
        * estimates.treated_clients as incremental_revenue_ci_low_rub,
        (estimates.revenue_lift_per_client + 1.96 * sqrt(estimates.revenue_lift_variance))
        * estimates.treated_clients as incremental_revenue_ci_high_rub,
        business_rules.campaign_lift_window_days as lift_window_days
    from designs
    cross join business_rules
    left join estimates
        on designs.campaign_id = estimates.campaign_id

)

select * from final
