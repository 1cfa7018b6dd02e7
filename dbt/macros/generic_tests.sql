{#- Generic tests written in the project (no hub packages: the warehouse builds offline). -#}

{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns_csv = combination_of_columns | join(', ') %}
    select
        {{ columns_csv }},
        count(*) as n_rows
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}

{% test at_least_zero(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < 0
{% endtest %}

{% test not_negative_interval(model, column_name, start_column) %}
    {#- The column (an end time) is not before start_column. -#}
    select {{ start_column }}, {{ column_name }}
    from {{ model }}
    where {{ column_name }} < {{ start_column }}
{% endtest %}

{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
