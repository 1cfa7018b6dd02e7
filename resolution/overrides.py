"""The manual override file: pairs of records an analyst says must, or must not, match.

`CRMW_HOME/overrides/client_matches.csv`, UTF-8, comma-separated, with a header:

    record_key_a,record_key_b,decision,note
    accounts:ACC-000017,counterparties:00-000031,must_match,same holding per the contract
    leads:LD-000207,accounts:ACC-000130,must_not_match,namesake in another region

- must_match: the two records belong to one client; also to one legal entity unless their tax
  numbers say otherwise.
- must_not_match: the two records never share a client (so never a legal entity); the evidence
  that would join them is dropped.

Overrides win over the model and over inferred evidence; a must_match also wins over tax numbers for
the client (two INNs can be one holding). Pairs naming records that no longer exist are ignored.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

OVERRIDE_COLUMNS = ("record_key_a", "record_key_b", "decision", "note")
DECISIONS = ("must_match", "must_not_match")
OVERRIDES_FILE_NAME = "client_matches.csv"


class OverrideFileError(ValueError):
    """The override file cannot be used as it is. Retrying will not help: fix the file."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


def empty_overrides() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in OVERRIDE_COLUMNS})


def read_overrides(path: Path | str | None) -> pd.DataFrame:
    """The overrides in `path` as a DataFrame (`OVERRIDE_COLUMNS`); empty when the file is absent.

    Raises `OverrideFileError` naming the file, line and value when a row is malformed.
    """
    if path is None:
        return empty_overrides()
    path = Path(path)
    if not path.exists():
        return empty_overrides()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in OVERRIDE_COLUMNS[:3] if c not in header]
        if missing:
            raise OverrideFileError(
                path, f"missing columns {missing}; the header must be {','.join(OVERRIDE_COLUMNS)}", line=1
            )
        rows = []
        for line, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            if not any(row.values()):
                continue
            a, b, decision = row["record_key_a"], row["record_key_b"], row["decision"].lower()
            if not a or not b:
                raise OverrideFileError(path, "record_key_a and record_key_b are both required", line)
            if ":" not in a or ":" not in b:
                raise OverrideFileError(
                    path, f"record keys look like 'accounts:ACC-000017', got {a!r} and {b!r}", line
                )
            if decision not in DECISIONS:
                raise OverrideFileError(
                    path, f"decision must be one of {', '.join(DECISIONS)}, got {row['decision']!r}", line
                )
            if a == b:
                raise OverrideFileError(path, f"a record is always its own match: {a!r} twice", line)
            rows.append((a, b, decision, row.get("note", "")))
    frame = pd.DataFrame(rows, columns=list(OVERRIDE_COLUMNS))
    return frame.astype("str") if len(frame) else empty_overrides()


def write_overrides(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write overrides (used by tests and by tools that record an analyst's decisions)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.reindex(columns=list(OVERRIDE_COLUMNS)).fillna("").to_csv(path, index=False, encoding="utf-8")
    return path
