{{ config(materialized='outside_dbt', written_by='resolution/runner.py') }}

-- On engines that run no dbt Python models (Spark), client resolution runs outside dbt, between two
-- dbt runs: resolution/runner.py appends this build's id events (created, merged, split) to this table.
-- This model stands for the Python model of the same name (its YAML, tests and lineage apply), so
-- what reads it is the same SQL on every engine. See docs/scale-out.md.
-- depends_on: {{ ref('int_entity_records') }}
select * from {{ this }}
