"""The warehouse's schemas, and the one place they are created.

| schema | written by | holds |
|---|---|---|
| raw | ingest/ | rows as exported, typed, with lineage |
| quarantine | ingest/ | rejected rows, as text, with every reason |
| meta | ingest/, quality/ | the load manifest, refused files, quality results |
| staging, intermediate, marts, pii | dbt/ | the dbt layers (pii: personal data, restricted) |
| ml | models/ | scores, forecasts, backtests, model runs |
"""

from __future__ import annotations

import duckdb

SCHEMAS = ("raw", "quarantine", "meta", "staging", "intermediate", "marts", "pii", "ml")


def ensure_schemas(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Create the named schemas (all of ours when none is named) where they are missing."""
    for name in names or SCHEMAS:
        if name not in SCHEMAS:
            raise ValueError(f"unknown schema {name!r}; the warehouse has {', '.join(SCHEMAS)}")
        con.execute(f"create schema if not exists {name}")
