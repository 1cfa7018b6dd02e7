"""Write the staging layer's sources, models and YAML, and the macro that creates the raw tables,
from ingest/contracts.py.

Run once when a contract changes (`python dbt/scripts/generate_staging.py`), then
review the diff: staging is mechanical (keep the contract's names, pick the
latest snapshot or the latest copy of an event), so it is generated rather than
typed seventeen times. tests/dbt/test_project.py checks the result still agrees
with the contracts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from ingest.contracts import CONTRACTS, Contract
from ingest.lake import view_statements
from ingest.tables import ingest_table_ddl

DBT_DIR = Path(__file__).resolve().parent.parent
STAGING = DBT_DIR / "models" / "staging"
MACROS = DBT_DIR / "macros"

SOURCE_DESCRIPTIONS = {
    "finance": "Accounting exports (counterparties, invoices, payments, credit notes), loaded by ingest/.",
    "crm": "CRM exports (accounts, contacts, leads, deals, activities, tickets, campaigns, users, partners).",
    "web": "Web-channel exports: page views, form submits, chat and ad clicks.",
}
# Light cleaning per column (an expression over the raw column); everything else passes as is.
CLEANING = {
    ("accounts", "website"): "lower(website)",
    ("partners", "name"): "name",
}
# Staging models that carry people's names, e-mails or phones live in the restricted pii schema.
# The largest event entities are materialised: several models read them, and deduplicating
# millions of rows once per build beats doing it once per reader. They are incremental: a run
# deduplicates only the keys that files loaded since the last run bring, and the keys whose kept
# copy came from a file that is no longer loaded (superseded by a new version, or reloaded).
MATERIALISED = {"web_events", "activities"}


def model_name(contract: Contract) -> str:
    entity = contract.entity
    if contract.source == "web" and entity.startswith("web_"):
        entity = entity[len("web_") :]
    return f"stg_{contract.source}__{entity}"


def has_pii(contract: Contract) -> bool:
    return any(c.pii for c in contract.columns)


def column_sql(contract: Contract) -> list[str]:
    lines = []
    for col in contract.columns:
        expr = CLEANING.get((contract.entity, col.name), col.name)
        lines.append(col.name if expr == col.name else f"{expr} as {col.name}")
    return lines


def output_names(expressions: list[str]) -> list[str]:
    """The names a select list gives its columns ('lower(website) as website' -> 'website')."""
    return [e.rsplit(" as ", 1)[-1] for e in expressions]


def model_sql(contract: Contract, history: bool = False) -> str:
    key = ", ".join(contract.key)
    cols = column_sql(contract)
    incremental = contract.entity in MATERIALISED and not history
    if incremental:
        return incremental_model_sql(contract)
    options = ["schema='pii'"] if has_pii(contract) else []
    config = f"{{{{ config({', '.join(options)}) }}}}\n\n" if options else ""
    if contract.kind == "snapshot":
        extra = [
            "_snapshot_date as snapshot_date",
            "_loaded_at as loaded_at",
            "_content_hash as source_file_hash",
        ]
        if history:
            partition, order = (
                f"{key}, _snapshot_date",
                "_loaded_at desc, _source_file desc, _row_number desc",
            )
            what = (
                f"one row per {contract.key[0].removesuffix('_id')} per snapshot date (every snapshot kept)"
            )
        else:
            partition = key
            order = "_snapshot_date desc, _loaded_at desc, _source_file desc, _row_number desc"
            what = f"one row per {contract.key[0].removesuffix('_id')}: its latest snapshot"
    else:
        extra = ["_loaded_at as loaded_at", "_content_hash as source_file_hash"]
        partition, order = key, "_loaded_at desc, _source_file desc, _row_number desc"
        what = f"{contract.grain}: the latest loaded copy when an export repeats a row"
    select = ",\n        ".join(cols + extra)  # no trailing comma before from: portable SQL
    names = ",\n        ".join(output_names(cols + extra))
    return f"""{config}-- {what}
with

source as (

    select * from {{{{ source('{contract.source}', '{contract.entity}') }}}}

),

ranked as (

    select
        {select},
        row_number() over (
            partition by {partition}
            order by {order}
        ) as copy_rank
    from source

),

deduplicated as (

    select
        {names}
    from ranked
    where copy_rank = 1

)

select * from deduplicated
"""


def incremental_model_sql(contract: Contract) -> str:
    """An event entity deduplicated incrementally (delete+insert on its key).

    A run re-picks the latest copy of (a) every key in rows loaded after the newest row already
    built (the newest row of the table is the newest raw had at the last run: the latest copy always
    wins, so rows loaded since are newer than every other copy of their keys) and (b) every key whose
    kept copy came from a file that is no longer loaded (every copy raw still has competes again);
    the post-hook then drops the keys raw no longer has at all. The table stays what a full refresh
    gives.
    """
    if len(contract.key) != 1:
        raise ValueError(f"incremental staging needs a single-column key: {contract.entity}")
    key = contract.key[0]
    options = (["schema='pii'"] if has_pii(contract) else []) + [
        # incremental where the engine deletes rows by key (DuckDB); rebuilt whole where it cannot
        "materialized=incremental_or_table()",
        "incremental_strategy='delete+insert'",
        f"unique_key='{key}'",
        "on_schema_change='append_new_columns'",
    ]
    selected = [*column_sql(contract), "_loaded_at as loaded_at", "_content_hash as source_file_hash"]
    select = ",\n        ".join(selected)
    names = ",\n        ".join(output_names(selected))
    config_lines = "".join(f"        {o},\n" for o in options)
    return f"""{{{{
    config(
{config_lines}        post_hook=["{{{{ delete_rows_of_retired_files() }}}}"],
    )
}}}}

-- {contract.grain}: the latest loaded copy when an export repeats a row. Incremental: a run
-- re-picks the latest copy of the keys in rows loaded since the last run and of the keys whose
-- copy came from a file no longer loaded (superseded or reloaded); the post-hook drops the keys
-- raw no longer has, so a run gives the same table as a full refresh.
-- depends_on: {{{{ source('meta', 'load_manifest') }}}}
with

source as (

    select * from {{{{ source('{contract.source}', '{contract.entity}') }}}}

),

{{% if is_incremental() %}}

    loaded_files as (

        {{{{ loaded_file_hashes() }}}}

    ),

    -- keys whose kept copy came from a file no longer loaded: every copy raw still has competes again
    stale_keys as (

        select already_built.{key}
        from {{{{ this }}}} as already_built
        where already_built.source_file_hash not in (select loaded_files.content_hash from loaded_files)

    ),

    -- rows loaded since the last run are newer than every other copy of their key (the source is
    -- named in each branch: a CTE read twice would be materialised whole)
    changed as (

        select new_rows.*
        from {{{{ source('{contract.source}', '{contract.entity}') }}}} as new_rows
        where new_rows._loaded_at > ({{{{ built_until() }}}})
        union all
        select copies.*
        from {{{{ source('{contract.source}', '{contract.entity}') }}}} as copies
        where copies.{key} in (select stale_keys.{key} from stale_keys)

    ),

{{% endif %}}

ranked as (

    select
        {select},
        row_number() over (
            partition by {key}
            order by _loaded_at desc, _source_file desc, _row_number desc
        ) as copy_rank
    from {{% if is_incremental() %}}changed{{% else %}}source{{% endif %}}

),

deduplicated as (

    select
        {names}
    from ranked
    where copy_rank = 1

)

select * from deduplicated
"""


def column_tests(contract: Contract, col, history: bool) -> list:
    tests: list = []
    single_key = len(contract.key) == 1 and col.name == contract.key[0]
    if single_key and not history:
        tests += ["unique", "not_null"]
    elif col.required:
        tests.append("not_null")
    if col.type == "enum":
        tests.append({"accepted_values": {"arguments": {"values": FlowList(col.allowed)}}})
    return tests


def model_yaml(contract: Contract, history: bool = False) -> dict:
    name = model_name(contract) + ("_history" if history else "")
    if contract.kind == "snapshot":
        grain = (
            f"one row per {contract.key[0]} per snapshot_date"
            if history
            else f"one row per {contract.key[0]}, from its latest snapshot"
        )
    else:
        grain = f"one row per {', '.join(contract.key)} (deduplicated on the key)"
    where = "the restricted pii schema (it carries people's names, e-mails or phones)"
    description = f"{contract.description} Grain: {grain}." + (
        f" Lives in {where}." if has_pii(contract) else ""
    )
    columns = []
    for col in contract.columns:
        entry = {"name": col.name, "description": col.description}
        tests = column_tests(contract, col, history)
        if tests:
            entry["data_tests"] = tests
        columns.append(entry)
    if contract.kind == "snapshot":
        columns.append(
            {
                "name": "snapshot_date",
                "description": "date of the snapshot the row comes from",
                "data_tests": ["not_null"],
            }
        )
        columns.append({"name": "loaded_at", "description": "when the row was loaded (UTC)"})
        columns.append(
            {"name": "source_file_hash", "description": "sha256 of the export file the row came from"}
        )
    else:
        columns.append({"name": "loaded_at", "description": "when the row was loaded (UTC)"})
        columns.append(
            {"name": "source_file_hash", "description": "sha256 of the export file the row came from"}
        )
    model: dict = {"name": name, "description": description, "columns": columns}
    keys = list(contract.key) + (["snapshot_date"] if history else [])
    if len(keys) > 1:
        model["data_tests"] = [
            {"unique_combination_of_columns": {"arguments": {"combination_of_columns": FlowList(keys)}}}
        ]
    return model


def source_yaml(source: str, contracts: list[Contract]) -> dict:
    tables = []
    for c in contracts:
        table = {
            "name": c.entity,
            "description": f"{c.description} Grain: {c.grain}. Rows as exported, typed, with lineage columns.",
        }
        tables.append(table)
    return {
        "version": 2,
        "sources": [
            {
                "name": source,
                "schema": "raw",
                "description": SOURCE_DESCRIPTIONS[source]
                + " Every table exists (ingest creates them empty); a company without this source gets empty "
                "tables, and every model still builds.",
                "config": {
                    "loaded_at_field": "_loaded_at",
                    "freshness": {
                        "warn_after": {"count": 35, "period": "day"},
                        "error_after": {"count": 70, "period": "day"},
                    },
                },
                "tables": tables,
            }
        ],
    }


class FlowList(list):
    """A short list written on one line."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


_Dumper.add_representer(
    FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def _jinja_string(sql: str, root: str) -> str:
    """`sql` as a Jinja string expression with the lake root spliced in (`~ lake ~`)."""
    parts = [part.replace("\\", "\\\\").replace('"', '\\"') for part in sql.split(root)]
    return " ~ lake ~ ".join(f'"{part}"' for part in parts)


def raw_tables_macro() -> str:
    """The on-run-start macro: ingest's tables created empty where missing (every source optional),
    or, when the warehouse reads a lake (CRMW_LAKE), views over its Parquet files (ingest/lake.py
    writes them; the same SQL ingest reads them with)."""
    root = "@LAKE@"
    schemas = ("raw", "quarantine", "meta")
    statements = "".join(f"    {s};\n" for s in ["create schema if not exists " + n for n in schemas])
    tables = "".join(f"    {s};\n" for s in ingest_table_ddl())
    duck_views = "".join(f"    {s.replace(root, '{{ lake }}')};\n" for s in view_statements(root, "duckdb"))
    spark_statements = view_statements(root, "spark")
    layout = hashlib.sha256("\n".join(spark_statements).encode()).hexdigest()[:16]
    spark_views = "".join(
        f"        {{%- do run_query({_jinja_string(s, root)}) %}}\n" for s in spark_statements
    )
    databases = "".join(f'    {{%- do run_query("create database if not exists {n}") %}}\n' for n in schemas)
    return (
        "{#- Generated by dbt/scripts/generate_staging.py from ingest/contracts.py and ingest/lake.py: do\n"
        "    not edit. Run on every dbt invocation (dbt_project.yml on-run-start): the tables ingest writes,\n"
        "    created empty where missing, so that every source is optional and `dbt build` alone works on a\n"
        "    warehouse nothing was loaded into yet; or, when CRMW_LAKE names a lake, views over its Parquet\n"
        "    files (the spark target always reads the lake). Other engines dispatch to their own version. -#}\n"
        "{% macro create_raw_tables() %}\n"
        "    {{ return(adapter.dispatch('create_raw_tables')(env_var('CRMW_LAKE', ''))) }}\n"
        "{% endmacro %}\n\n"
        "{% macro default__create_raw_tables(lake) %}\n"
        "    select 1\n"
        "{% endmacro %}\n\n"
        "{% macro duckdb__create_raw_tables(lake) %}\n"
        f"{statements}"
        "    {%- if lake %}\n"
        f"{duck_views}"
        "    {%- else %}\n"
        f"{tables}"
        "    {%- endif %}\n"
        "{% endmacro %}\n\n"
        "{#- Spark runs one statement at a time: each goes through run_query; the hook itself is empty.\n"
        "    Making a view over Parquet lists its files, so the views are made again only when they or the\n"
        "    lake changed (meta.lake_layout records which ones the catalog has). -#}\n"
        "{% macro spark__create_raw_tables(lake) %}\n"
        "    {%- if not lake %}\n"
        "        {{ exceptions.raise_compiler_error(\n"
        '            "the spark target reads raw from the lake: set CRMW_LAKE to the folder or URL crmw ingest "\n'
        '            ~ "writes (crmw sets it from the settings; see docs/scale-out.md)"\n'
        "        ) }}\n"
        "    {%- endif %}\n"
        "    {%- if execute %}\n"
        f"    {{%- set layout = '{layout}:' ~ lake %}}\n"
        f"{databases}"
        "    {%- set found = run_query(\"show views in meta like 'lake_layout'\") %}\n"
        "    {%- set current = run_query('select layout from meta.lake_layout').columns[0].values()[0] if found.rows else none %}\n"
        "    {%- if current != layout %}\n"
        f"{spark_views}"
        '        {%- do run_query("create or replace view meta.lake_layout as select \'" ~ layout ~ "\' as layout") %}\n'
        "    {%- endif %}\n"
        "    {%- endif %}\n"
        "{% endmacro %}\n"
    )


def main(staging_dir: Path = STAGING, macros_dir: Path = MACROS) -> None:
    macros_dir.mkdir(parents=True, exist_ok=True)
    (macros_dir / "raw_tables.sql").write_text(raw_tables_macro())
    for source in ("finance", "crm", "web"):
        contracts = [c for c in CONTRACTS.values() if c.source == source]
        folder = staging_dir / source
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"_{source}__sources.yml").write_text(dump(source_yaml(source, contracts)))
        models = []
        for c in contracts:
            (folder / f"{model_name(c)}.sql").write_text(model_sql(c))
            models.append(model_yaml(c))
            if c.entity == "accounts":
                (folder / f"{model_name(c)}_history.sql").write_text(model_sql(c, history=True))
                models.append(model_yaml(c, history=True))
        (folder / f"_{source}__models.yml").write_text(dump({"version": 2, "models": models}))


if __name__ == "__main__":
    main()
