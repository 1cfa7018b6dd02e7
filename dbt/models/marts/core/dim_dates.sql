-- One row per calendar day from dates_start to dates_end (project vars).
with

days as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('dates_start') ~ "' as date)",
        "cast('" ~ var('dates_end') ~ "' as date)",
    ) }}

),

final as (

    select
        cast(date_day as date) as date_day,
        cast(extract(year from date_day) as {{ dbt.type_int() }}) as year_number,
        cast(extract(quarter from date_day) as {{ dbt.type_int() }}) as quarter_number,
        cast(extract(month from date_day) as {{ dbt.type_int() }}) as month_number,
        cast(extract(day from date_day) as {{ dbt.type_int() }}) as day_of_month,
        cast({{ day_of_week_iso('date_day') }} as {{ dbt.type_int() }}) as day_of_week_iso,
        {{ day_of_week_iso('date_day') }} in (6, 7) as is_weekend,
        {{ month_start('date_day') }} as month_start_date,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start_date,
        cast({{ dbt.date_trunc('year', 'date_day') }} as date) as year_start_date,
        cast({{ dbt.last_day('date_day', 'month') }} as date) as month_end_date
    from days

)

select * from final
