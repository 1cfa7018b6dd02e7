"""Looking for a person in every file under a home: what an erasure must leave no trace of."""

from __future__ import annotations

import re
import zipfile

import duckdb

from warehouse.settings import Settings


def traces(settings: Settings, terms: list[str]) -> list[str]:
    """Every place under the home that still holds one of the terms: the bytes of every file (the
    members of zip files too), and every text value of every table of every DuckDB file."""
    found = []
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    for path in sorted(p for p in settings.home.rglob("*") if p.is_file()):
        data = path.read_bytes()
        blobs = [data]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                blobs += [archive.read(n) for n in archive.namelist()]
        for blob in blobs:
            for encoding in ("utf-8", "cp1251"):
                if pattern.search(blob.decode(encoding, errors="ignore")):
                    found.append(str(path))
        if path.suffix == ".duckdb":
            con = duckdb.connect(str(path), read_only=True)
            try:
                columns = con.execute(
                    "select table_schema, table_name, column_name from information_schema.columns "
                    "where data_type in ('VARCHAR', 'JSON') and table_schema not in ('information_schema', 'pg_catalog')"
                ).fetchall()
                for schema, table, column in columns:
                    values = con.execute(
                        f'select distinct "{column}"::VARCHAR from "{schema}"."{table}"'
                    ).fetchall()
                    if any(v and pattern.search(v) for (v,) in values):
                        found.append(f"{path}:{schema}.{table}.{column}")
            finally:
                con.close()
    return sorted(set(found))
