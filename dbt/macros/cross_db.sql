{#- Cross-database helpers the dbt core macros lack. Each dispatches, so an engine
    that spells it differently adds its own <adapter>__ version. -#}

{% macro is_distinct_from(left, right) -%}
    {{ return(adapter.dispatch('is_distinct_from', 'crm_warehouse')(left, right)) }}
{%- endmacro %}

{% macro default__is_distinct_from(left, right) -%}
    ({{ left }} is distinct from {{ right }})
{%- endmacro %}

{% macro day_of_week_iso(date_expr) -%}
    {{ return(adapter.dispatch('day_of_week_iso', 'crm_warehouse')(date_expr)) }}
{%- endmacro %}

{% macro default__day_of_week_iso(date_expr) -%}
    extract(isodow from {{ date_expr }})
{%- endmacro %}

{% macro to_date(expr) -%}
    cast({{ expr }} as date)
{%- endmacro %}

{#- Whole days from one date or timestamp to another (calendar days, not 24-hour spans). -#}
{% macro days_between(start_expr, end_expr) -%}
    {{ dbt.datediff(to_date(start_expr), to_date(end_expr), 'day') }}
{%- endmacro %}

{#- Hours from one timestamp to another, with fractions. -#}
{% macro hours_between(start_expr, end_expr) -%}
    ({{ dbt.datediff(start_expr, end_expr, 'second') }} / 3600.0)
{%- endmacro %}

{% macro month_start(expr) -%}
    cast({{ dbt.date_trunc('month', expr) }} as date)
{%- endmacro %}
