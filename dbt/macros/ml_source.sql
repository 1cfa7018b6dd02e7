{#
    The rows of an ml table written by the model jobs (models/), or no rows when the models have
    never run on this warehouse. models.schema.ensure_ml_schema(con) creates the tables empty before
    the first build; this guard keeps a build working where it was not called. `columns` lists
    (name, type) for the empty case.
#}
{% macro ml_source(table, columns) %}
    {%- set src = source('ml', table) -%}
    {%- set relation = adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier) if execute else src -%}
    {%- if relation is none -%}
        select
            {%- for name, type in columns %}
            cast(null as {{ dbt.type_string() if type | lower == 'varchar' else type }}) as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
        where 1 = 0
    {%- else -%}
        select * from {{ src }}
    {%- endif -%}
{% endmacro %}
