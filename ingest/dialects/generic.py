"""The generic dialect: our own contracts' column names as headers, UTF-8, ISO dates, decimal point."""

from __future__ import annotations

from ingest.contracts import CONTRACTS
from ingest.dialects.model import Dialect

GENERIC = Dialect(
    name="generic",
    description="UTF-8 CSV (comma separated, header row) or JSON lines; ISO dates; decimal point.",
    delimiter=",",
    date_formats=("%Y-%m-%d",),
    timestamp_formats=("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"),
    decimal_comma=False,
    headers={entity: {c.name: c.name for c in contract.columns} for entity, contract in CONTRACTS.items()},
)
