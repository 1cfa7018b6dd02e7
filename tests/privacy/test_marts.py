"""Personal data in the built warehouse: sole proprietors are 'ИП' and initials in marts and whole only
in the pii schema; person keys are keyed pseudonyms (HMAC under the home's secret, owner-only); the
published copy holds no personal data."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from warehouse.pseudonyms import key_path, person_key, pseudonym_key


def _connect(path):
    return duckdb.connect(str(path), read_only=True)


def _text_columns(con, schema: str) -> list[tuple[str, str]]:
    return con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = ? and data_type = 'VARCHAR' order by 1, 2",
        [schema],
    ).fetchall()


def _holders(con, schema: str, values: list[str]) -> list[str]:
    """Columns of the schema's tables that hold one of the values whole."""
    found = []
    for table, column in _text_columns(con, schema):
        n = con.execute(
            f'select count(*) from {schema}."{table}" where trim("{column}") in (select unnest(?))', [values]
        ).fetchone()[0]
        if n:
            found.append(f"{schema}.{table}.{column} ({n})")
    return found


@pytest.fixture(scope="module")
def proprietors(built_home) -> tuple[list[str], list[str]]:
    con = _connect(built_home.warehouse_path)
    try:
        names = [r[0] for r in con.execute("select distinct full_name from pii.sole_proprietors").fetchall()]
        inns = [
            r[0]
            for r in con.execute(
                "select distinct inn from pii.sole_proprietors where inn is not null"
            ).fetchall()
        ]
    finally:
        con.close()
    assert names and inns, "the sample exports hold sole proprietors"
    return names, inns


def test_marts_show_sole_proprietors_as_initials_and_keep_their_inn_out(built_home, proprietors):
    names, inns = proprietors
    con = _connect(built_home.warehouse_path)
    try:
        assert _holders(con, "marts", names + inns) == []
        shown = con.execute(
            "select legal_entity_name, inn from marts.dim_legal_entities where is_sole_proprietor"
        ).fetchall()
        assert shown and all(name.startswith("ИП ") and inn is None for name, inn in shown)
        assert all(len(name) <= 12 for name, _ in shown), shown  # 'ИП И.И.И.'
        assert con.execute(
            "select count(*) from marts.dim_legal_entities where length(inn) = 12"
        ).fetchone() == (0,)
    finally:
        con.close()


def test_person_keys_are_hmacs_under_the_homes_secret_which_only_its_owner_reads(built_home):
    assert key_path(built_home).stat().st_mode & 0o077 == 0
    key = pseudonym_key(built_home)
    con = _connect(built_home.warehouse_path)
    try:
        rows = con.execute(
            "select contact_key, contact_type, coalesce(contact_id, lead_id) from pii.contacts limit 200"
        ).fetchall()
    finally:
        con.close()
    assert rows
    for contact_key, kind, record_id in rows:
        assert contact_key == person_key(key, kind, record_id)
        assert contact_key != hashlib.md5(f"crm-warehouse:{kind}:{record_id}".encode()).hexdigest()


def test_the_published_copy_holds_no_personal_data(published_demo, proprietors):
    names, inns = proprietors
    con = _connect(published_demo.published_path)
    try:
        schemas = {
            r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()
        }
        assert "pii" not in schemas and "raw" not in schemas
        emails = []
        source = _connect(published_demo.warehouse_path)
        try:
            emails = [
                r[0]
                for r in source.execute(
                    "select distinct email from raw.contacts where email is not null"
                ).fetchall()
            ]
        finally:
            source.close()
        for schema in ("marts", "ml", "meta"):
            assert _holders(con, schema, names + inns + emails) == []
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_name = 'refused_files'"
            ).fetchall()
        }
        assert columns and "reason" not in columns
    finally:
        con.close()
    assert published_demo.published_path.stat().st_mode & 0o077 == 0
