"""Keyed pseudonyms: the keys marts carry for people (contacts, leads) are an HMAC-SHA256 of the
person's CRM id under a secret of this installation, so nobody who reads the marts can get the
person back by hashing guesses of ids (an unkeyed hash of `contact:C000123` could be).

The secret is made on first use, 32 random bytes in `$CRMW_HOME/secrets/pseudonym.key`, readable by
its owner only; keep it as you keep the warehouse (keys change if it is lost: every person key in
every mart changes with it). dbt reads it from the restricted table `pii.pseudonym_key`, which
`install_pseudonym_key` writes before each build as the HMAC's inner and outer pads, so the secret
never appears in SQL text, compiled files or logs; the `person_key` macro (dbt/macros/cross_db.sql)
computes the same value as `pseudonym` here.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import duckdb

from warehouse.connection import OWNER_ONLY_FILE, make_private_dir
from warehouse.errors import WarehouseError
from warehouse.schemas import ensure_schemas
from warehouse.settings import Settings

KEY_FILE = "pseudonym.key"
KEY_TABLE = "pii.pseudonym_key"
# HMAC-SHA256's block size: the key padded to it, xor 0x36 (inner) and 0x5c (outer)
BLOCK = 64
KEY_CHARS = 32  # hex characters of a pseudonym (128 bits)


def key_path(settings: Settings) -> Path:
    return settings.secrets_dir / KEY_FILE


def pseudonym_key(settings: Settings) -> bytes:
    """The installation's secret, made (owner-only) the first time it is asked for."""
    path = key_path(settings)
    if not path.exists():
        make_private_dir(settings.secrets_dir)
        with contextlib.suppress(FileExistsError):  # another process made it first: read theirs
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise WarehouseError(
            f"the pseudonym key {path} is not a key (64 hexadecimal characters); restore it from your "
            "backup, or delete it to start a new one (every person key in the marts then changes)"
        )
    return key


def pseudonym(key: bytes, text: str) -> str:
    """The keyed pseudonym of `text` (e.g. 'contact:C000123'), as the person_key macro computes it."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_CHARS]


def person_key(key: bytes, kind: str, record_id: str) -> str:
    """The key marts carry for a contact or lead person: pseudonym of '<kind>:<id>'."""
    return pseudonym(key, f"{kind}:{record_id}")


def prepare_key(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The installation's key in pii.pseudonym_key, for a build. A warehouse built with a key whose
    file is gone is refused: a new key would change every person key in the marts."""
    if not key_path(settings).exists() and _installed(con):
        raise WarehouseError(
            f"the warehouse was built with a pseudonym key, and {key_path(settings)} is missing: restore it "
            "from your backup (a new key would change every person key in the marts), or drop the table "
            f"{KEY_TABLE} to start new keys on purpose"
        )
    install_pseudonym_key(con, pseudonym_key(settings))


def _installed(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_catalog = current_database() "
            "and table_schema = 'pii' and table_name = 'pseudonym_key'"
        ).fetchone()[0]
    )


def install_pseudonym_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Write the HMAC pads of the key to pii.pseudonym_key, where the person_key macro reads them."""
    padded = (
        key.ljust(BLOCK, b"\0") if len(key) <= BLOCK else hashlib.sha256(key).digest().ljust(BLOCK, b"\0")
    )
    inner = bytes(b ^ 0x36 for b in padded)
    outer = bytes(b ^ 0x5C for b in padded)
    ensure_schemas(con, "pii")
    present = con.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        "and table_schema = 'pii' and table_name = 'pseudonym_key'"
    ).fetchone()[0]
    current = (
        con.execute(f"select hex(inner_pad), hex(outer_pad) from {KEY_TABLE}").fetchone() if present else None
    )
    if current != (inner.hex().upper(), outer.hex().upper()):
        con.execute(
            f"create or replace table {KEY_TABLE} as select unhex(?) AS inner_pad, unhex(?) AS outer_pad",
            [inner.hex(), outer.hex()],
        )
