"""Append-only history of legal entity and client ids: created, merged and split, one batch per build.

Each build of int_entity_records__resolved carries every record's id before and after; this model
turns them into events and appends them once per resolution build (a re-run adds nothing).
"""

from resolution import id_history


def model(dbt, session):
    # append-only: a --full-refresh of the warehouse must not drop the history of ids
    dbt.config(materialized="incremental", full_refresh=False)
    resolved = dbt.ref("int_entity_records__resolved").df()
    if resolved.empty:
        return id_history(resolved)
    build_id = str(resolved["resolution_build_id"].iloc[0])
    if dbt.is_incremental:
        seen = session.execute(f"select count(*) from {dbt.this} where resolution_build_id = ?", [build_id])
        if seen.fetchone()[0]:
            return id_history(resolved.iloc[0:0], build_id=build_id)
    return id_history(resolved, changed_at=resolved["resolved_at"].max().to_pydatetime(), build_id=build_id)
