"""Dialects: how one real export format maps onto the canonical contracts.

A dialect is data (ingest/dialects/model.py): where each contract column comes from in that
format, the separator, the date and number conventions. Parsing (ingest/load.py builds the SQL)
and the sample-export generator both read these tables, so what we write is what we read.
`generic` and `ru_accounting` are plain header tables; the vendor dialects (ingest/dialects/)
also map codes, ids and nested JSON.
"""

from __future__ import annotations

import re

from ingest.contracts import CONTRACTS
from ingest.dialects.bitrix24 import BITRIX24
from ingest.dialects.ga4 import GA4
from ingest.dialects.generic import GENERIC
from ingest.dialects.model import Dialect, Field
from ingest.dialects.ru_accounting import RU_ACCOUNTING
from ingest.dialects.salesforce import SALESFORCE

__all__ = ["DIALECTS", "Dialect", "Field", "entity_for_file_name", "export_file_name", "get_dialect"]

DIALECTS: dict[str, Dialect] = {d.name: d for d in (GENERIC, RU_ACCOUNTING, SALESFORCE, BITRIX24, GA4)}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise KeyError(f"unknown dialect {name!r}; known dialects: {', '.join(sorted(DIALECTS))}") from None


def export_file_name(entity: str, period: str, ext: str = "csv") -> str:
    """The file name the generator writes: `<entity>__<period>.<ext>`.

    `period` is a snapshot date (YYYY-MM-DD) for snapshot entities and a month
    (YYYY-MM) for event entities. Ingest uses the prefix as a hint only: the
    header decides the entity.
    """
    return f"{entity}__{period}.{ext}"


def entity_for_file_name(name: str) -> str | None:
    """The entity a file's name suggests: `<entity>__<period>.<ext>` as the generator writes it, or a
    vendor's own object name (`Opportunity.csv`, `Task__2024-03.csv`, `events_20240301.jsonl`).
    A hint only: the header decides."""
    stem = name.split(".")[0]
    prefix = stem.split("__")[0].lower()
    if prefix in CONTRACTS:
        return prefix
    letters = re.match(r"[^\W\d]+(?:_[^\W\d_]+)*", prefix)
    candidates = (prefix, letters.group(0).rstrip("_") if letters else "")
    for dialect in DIALECTS.values():
        for candidate in candidates:
            if candidate in dialect.file_names:
                return dialect.file_names[candidate]
    return None
