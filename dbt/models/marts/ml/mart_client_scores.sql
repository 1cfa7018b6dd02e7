-- One row per client (prospects included): the latest value segment and margin class, churn risk with
-- its drivers and next best action (with the offer block, the same rule as mart_client_360's) the model
-- jobs wrote, for mart_client_360 and the reports. Empty scores (nulls)
-- until the models have run; each score carries the date it was computed as of.
with

clients as (

    select * from {{ ref('dim_clients') }}

),

segments as (

    {{ ml_source('client_segments', [
        ('as_of_date', 'date'), ('client_id', 'varchar'), ('segment', 'varchar'),
        ('value_class', 'varchar'), ('behaviour', 'varchar'), ('expected_value_rub', 'double'),
        ('horizon_days', 'integer'), ('margin_class', 'varchar'), ('gross_margin_12m_rub', 'double'),
    ]) }}

),

churn as (

    {{ ml_source('churn_scores', [
        ('as_of_date', 'date'), ('client_id', 'varchar'), ('churn_probability', 'double'),
        ('risk_band', 'varchar'), ('drivers', 'varchar'), ('horizon_days', 'integer'),
        ('model_run_id', 'varchar'),
    ]) }}

),

actions as (

    {{ ml_source('next_best_actions', [
        ('as_of_date', 'date'), ('client_id', 'varchar'), ('action', 'varchar'),
        ('is_sales_offer', 'boolean'), ('product_line', 'varchar'), ('reason', 'varchar'),
        ('is_sales_offer_blocked', 'boolean'), ('blocked_reason', 'varchar'),
    ]) }}

),

segments_as_of as (

    select max(segments.as_of_date) as as_of_date
    from segments

),

latest_segments as (

    select segments.*
    from segments
    inner join segments_as_of
        on segments.as_of_date = segments_as_of.as_of_date

),

churn_as_of as (

    select max(churn.as_of_date) as as_of_date
    from churn

),

latest_churn as (

    select churn.*
    from churn
    inner join churn_as_of
        on churn.as_of_date = churn_as_of.as_of_date

),

actions_as_of as (

    select max(actions.as_of_date) as as_of_date
    from actions

),

latest_actions as (

    select actions.*
    from actions
    inner join actions_as_of
        on actions.as_of_date = actions_as_of.as_of_date

),

final as (

    select
        clients.client_id,
        latest_segments.segment,
        latest_segments.value_class,
        latest_segments.behaviour,
        latest_segments.margin_class,
        cast(latest_segments.gross_margin_12m_rub as double) as gross_margin_12m_rub,
        cast(latest_segments.expected_value_rub as double) as expected_value_rub,
        latest_segments.as_of_date as segment_as_of_date,
        cast(latest_churn.churn_probability as double) as churn_probability,
        latest_churn.risk_band as churn_risk_band,
        latest_churn.drivers as churn_drivers,
        cast(latest_churn.horizon_days as integer) as churn_horizon_days,
        latest_churn.model_run_id as churn_model_run_id,
        latest_churn.as_of_date as churn_as_of_date,
        latest_actions.action as next_action,
        latest_actions.product_line as next_action_product_line,
        latest_actions.reason as next_action_reason,
        coalesce(latest_actions.is_sales_offer, false) as is_sales_offer,
        latest_actions.is_sales_offer_blocked,
        latest_actions.blocked_reason as sales_offer_blocked_reason,
        latest_actions.as_of_date as next_action_as_of_date
    from clients
    left join latest_segments
        on clients.client_id = latest_segments.client_id
    left join latest_churn
        on clients.client_id = latest_churn.client_id
    left join latest_actions
        on clients.client_id = latest_actions.client_id

)

select * from final
