"""Append-only history of legal entity and client ids: created, merged and split, one batch per build.

Each build of int_entity_records__resolved carries every record's id before and after; this model
turns them into events and appends them once per resolution build (a re-run adds nothing;
resolution.runner.history_rows, shared with the Spark path).
"""

from resolution.runner import history_rows


def model(dbt, session):
    # append-only: a --full-refresh of the warehouse must not drop the history of ids
    dbt.config(materialized="incremental", full_refresh=False)
    resolved = dbt.ref("int_entity_records__resolved").df()
    seen = []
    if dbt.is_incremental and not resolved.empty:
        build_id = str(resolved["resolution_build_id"].iloc[0])
        count = session.execute(f"select count(*) from {dbt.this} where resolution_build_id = ?", [build_id])
        seen = [build_id] if count.fetchone()[0] else []
    return history_rows(resolved, seen)
