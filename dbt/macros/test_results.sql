{#- Run on every dbt invocation (dbt_project.yml on-run-end): the latest result of each data test
    in meta.dbt_test_results, so `crmw status`, the report and the Dagster UI (where the tests are
    asset checks) read the same verdicts (quality/health.py). One row per test and invocation;
    readers take the latest. -#}
{% macro record_test_results(results) %}
    {{ return(adapter.dispatch('record_test_results')(results)) }}
{% endmacro %}

{% macro default__record_test_results(results) %}
    select 1
{% endmacro %}

{% macro _sql_text(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ value | string | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}

{% macro duckdb__record_test_results(results) %}
    {%- set rows = [] -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
        {%- set node = result.node -%}
        {%- set tested = node.attached_node or (node.depends_on.nodes | first) -%}
        {%- do rows.append(
            "(" ~ _sql_text(invocation_id) ~ ", now()::timestamp, " ~ _sql_text(node.unique_id) ~ ", "
            ~ _sql_text(node.name) ~ ", " ~ _sql_text(tested) ~ ", " ~ _sql_text(node.config.severity | lower)
            ~ ", " ~ _sql_text(result.status) ~ ", " ~ (result.failures or 0) ~ ", "
            ~ _sql_text(result.message) ~ ")"
        ) -%}
    {%- endfor -%}
    create schema if not exists meta;
    create table if not exists meta.dbt_test_results (
        invocation_id varchar not null,
        checked_at timestamp not null,
        test_id varchar not null,
        test_name varchar not null,
        model_id varchar,
        severity varchar,
        status varchar not null,
        failures bigint,
        message varchar
    );
    {% if rows %}
    insert into meta.dbt_test_results values
    {{ rows | join(",\n    ") }};
    {% endif %}
{% endmacro %}
