{#- What differs between the engines the project runs on (DuckDB, Spark): each difference is one
    macro dispatched per adapter, so the models stay the same SQL everywhere (docs/scale-out.md). -#}

{#- The materialisation of the large event tables: incremental where the engine deletes rows by key
    (DuckDB's delete+insert); on Spark's Parquet tables, which cannot delete rows, the table is
    rebuilt whole (with Delta or Iceberg tables, use incremental_strategy='merge' instead). -#}
{% macro incremental_or_table() -%}
    {{ return(adapter.dispatch('incremental_or_table', 'crm_warehouse')()) }}
{%- endmacro %}

{% macro default__incremental_or_table() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_or_table() -%}
    {{ return('table') }}
{%- endmacro %}

{% macro spark__day_of_week_iso(date_expr) -%}
    ((dayofweek({{ date_expr }}) + 5) % 7 + 1)
{%- endmacro %}

{#- dbt-spark's listagg ignores the order; every listagg here orders by the value it joins, which
    array_sort does (byte order, as DuckDB's default collation). The project's dispatch search order
    (dbt_project.yml) puts this before dbt-spark's own. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause and order_by_clause | trim | lower not in ['order by ' ~ measure | lower, 'order by ' ~ measure | lower ~ ' asc'] -%}
        {{ exceptions.raise_compiler_error(
            "listagg on Spark orders only by the value it joins; got '" ~ order_by_clause ~ "' for " ~ measure
        ) }}
    {%- endif -%}
    {%- set collected = 'array_sort(collect_list(' ~ measure ~ '))' if order_by_clause else 'collect_list(' ~ measure ~ ')' -%}
    {%- if limit_num -%}
        {%- set collected = 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' -%}
    {%- endif -%}
    array_join({{ collected }}, {{ delimiter_text }})
{%- endmacro %}

{#- A table some Python step writes before dbt reads it: on engines that run no dbt Python models
    (Spark), client resolution runs outside dbt (resolution/runner.py) and writes the resolution
    tables under the models' own names; this materialisation only checks the table is there, so the
    models downstream, the tests and the docs see it as any other model. -#}
{% materialization outside_dbt, default %}
    {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
    {%- if existing is none -%}
        {{ exceptions.raise_compiler_error(
            this ~ " is written outside dbt on " ~ target.type ~ " (" ~ config.get('written_by', 'a Python step')
            ~ "), and it is not there: run that step first (crmw build does it in order)"
        ) }}
    {%- endif -%}
    {%- call statement('main') -%}
        select count(*) from {{ existing }}
    {%- endcall -%}
    {{ return({'relations': [existing]}) }}
{% endmaterialization %}

{#- The models' YAML types are DuckDB's names (their contracts are checked by casting null to each);
    Spark spells unbounded text `string` (its varchar needs a length). -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ 'string' if type | trim | lower in ('varchar', 'text') else type }})
{%- endmacro %}

{#- Model contracts on Spark. Spark sizes numbers by its own rules (sum of a decimal(18,2) is a
    decimal(28,2) where DuckDB gives decimal(38,2); datediff is an int), so its check compares the
    type family (whole numbers; decimals of the same scale) and the table is written with the
    contract's exact types: each column is cast to its YAML type. Names, counts and every other type
    are checked as on any engine. -#}
{% macro spark__format_column(column) -%}
    {%- set data_type = column.dtype | lower -%}
    {%- if data_type in ('tinyint', 'smallint', 'int', 'integer', 'bigint') -%}
        {%- set family = 'whole number' -%}
    {%- elif data_type.startswith('decimal(') and ',' in data_type -%}
        {%- set family = 'decimal(*,' ~ data_type.split(',')[1] -%}
    {%- else -%}
        {%- set family = data_type -%}
    {%- endif -%}
    {{ return({'name': column.name, 'data_type': data_type, 'formatted': column.column.lower() ~ ' ' ~ family}) }}
{%- endmacro %}

{% macro spark__get_select_subquery(sql) -%}
    select
    {%- for column in model['columns'].values() %}
        {{ spark__cast(adapter.quote(column['name']), column['data_type']) }} as {{ adapter.quote(column['name']) }}{{ ',' if not loop.last }}
    {%- endfor %}
    from ({{ sql }}) as model_subq
{%- endmacro %}

{#- Every match of a regular expression replaced (DuckDB needs the 'g' option; Spark replaces all).
    The pattern and the replacement are SQL string literals written for DuckDB (RE2: \1 refers to a
    group, (?i) folds case in any script). -#}
{% macro regexp_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'crm_warehouse')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ spark_regex_literal(pattern) }}, {{ spark_regex_literal(replacement) | replace('\\\\1', '$1') | replace('\\\\2', '$2') }})
{%- endmacro %}

{#- Whether a text matches a regular expression anywhere (a SQL string literal written for DuckDB). -#}
{% macro regexp_test(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_test', 'crm_warehouse')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regexp_test(expr, pattern) -%}
    regexp_matches({{ expr }}, {{ pattern }})
{%- endmacro %}

{% macro spark__regexp_test(expr, pattern) -%}
    ({{ expr }} rlike {{ spark_regex_literal(pattern) }})
{%- endmacro %}

{#- A DuckDB regular-expression literal as Spark reads it: Spark's string literals take a backslash
    as an escape (so each is doubled), and Java folds case beyond ASCII only with the u flag. -#}
{% macro spark_regex_literal(literal) -%}
    {{- literal | replace('\\', '\\\\') | replace('(?i)', '(?iu)') -}}
{%- endmacro %}

{#- HMAC-SHA256 of a text under the installation's secret (see personal_data.sql's keyed_hash): the
    same 32 hex characters as DuckDB's, from the pads in pii.pseudonym_key. -#}
{% macro spark__keyed_hash(text_expr) -%}
    left(sha2(concat(
        (select pseudonym_key.outer_pad from pii.pseudonym_key as pseudonym_key),
        unhex(sha2(concat(
            (select pseudonym_key.inner_pad from pii.pseudonym_key as pseudonym_key), encode({{ text_expr }}, 'UTF-8')
        ), 256))
    ), 256), 32)
{%- endmacro %}

{#- Seeds on Spark: dbt-spark's session method puts each value into the SQL between quotes without
    escaping it, so a seed text with an apostrophe ("A campaign's lift") breaks the insert. The same
    insert, with each value written as an escaped literal and cast to its column's type. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- set column_name = agate_table.column_names[loop.index0] -%}
                    {%- set type = column_override.get(column_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- if value is none -%}
                        cast(null as {{ type }})
                    {%- else -%}
                        cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                    {%- endif -%}
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor -%}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
