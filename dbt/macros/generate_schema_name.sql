{#- Custom schemas are used as they are (staging, intermediate, marts, pii),
    not prefixed with the target schema: analysts query marts.dim_clients. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
