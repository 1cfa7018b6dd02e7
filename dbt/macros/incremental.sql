{#- Helpers of the incremental models (staging of large event entities, the facts). Raw rows
    carry lineage: `_loaded_at` (when their file was loaded) and `_content_hash` (which file);
    meta.load_manifest says which files raw holds now (status 'loaded'). A raw row disappears
    only when its file is retired (superseded by a new version, or reloaded with --force). -#}

{#- The content hashes of the files whose rows raw holds now. -#}
{% macro loaded_file_hashes() -%}
    select load_manifest.content_hash
    from {{ source('meta', 'load_manifest') }} as load_manifest
    where load_manifest.status = 'loaded'
{%- endmacro %}

{#- The newest loaded_at this model holds (an early date when it is empty): the newest load raw
    had at the last run, since the latest copy of a row always wins, so rows loaded later are new. -#}
{% macro built_until(column='loaded_at') -%}
    select coalesce(max(already_built.{{ column }}), cast('1900-01-01' as timestamp))
    from {{ this }} as already_built
{%- endmacro %}

{#- Post-hook: drop the rows whose file is no longer loaded and that the run did not replace. On
    Spark the incremental models are rebuilt whole (macros/engines.sql): there is nothing to drop. -#}
{% macro delete_rows_of_retired_files() -%}
    {{ return(adapter.dispatch('delete_rows_of_retired_files', 'crm_warehouse')()) }}
{%- endmacro %}

{% macro default__delete_rows_of_retired_files() -%}
    delete from {{ this }} where source_file_hash not in ({{ loaded_file_hashes() }})
{%- endmacro %}

{% macro spark__delete_rows_of_retired_files() -%}
{%- endmacro %}

{#- Post-hook of an incremental Python model: dbt-duckdb leaves the model's temporary table
    (<model>__dbt_tmp<timestamp>, in the main schema) behind after each incremental run. -#}
{% macro drop_leftover_tmp_tables() -%}
    {{ return(adapter.dispatch('drop_leftover_tmp_tables', 'crm_warehouse')()) }}
{%- endmacro %}

{#- Other engines leave nothing behind (and run no Python models: resolution/runner.py). -#}
{% macro default__drop_leftover_tmp_tables() -%}
{%- endmacro %}

{% macro duckdb__drop_leftover_tmp_tables() -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select table_schema, table_name from information_schema.tables "
            ~ "where table_catalog = current_database() and table_type = 'BASE TABLE' "
            ~ "and starts_with(table_name, '" ~ this.identifier ~ "__dbt_tmp')"
        ) -%}
        {%- for row in found.rows -%}
            {%- do run_query('drop table if exists "' ~ row[0] ~ '"."' ~ row[1] ~ '"') -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
