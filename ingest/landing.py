"""Which landing files belong to which entity and month, without reading them whole.

Used by the Dagster ingest assets (partitioned by month) and the landing sensor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingest.contracts import get_contract
from ingest.dialects import entity_for_file_name
from ingest.load import SUPPORTED_SUFFIXES, iter_export_files

# <entity or vendor object>__<YYYY-MM>[...]: invoices__2024-03.csv, Task__2024-03.csv, events__2024-03.jsonl
_NAME = re.compile(r"^(?P<name>.+?)__(?P<period>\d{4}-\d{2})(?P<rest>[-\w]*)$")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    entity: str | None
    month: str | None  # YYYY-MM for event files named <entity>__YYYY-MM...

    @property
    def kind(self) -> str | None:
        return get_contract(self.entity).kind if self.entity else None


def classify(path: Path) -> LandingFile:
    match = _NAME.match(path.stem)
    entity = entity_for_file_name(path.name) if match else None
    if entity is None:
        return LandingFile(path=path, entity=None, month=None)
    return LandingFile(path=path, entity=entity, month=match["period"])


def landing_files(folder: Path) -> list[LandingFile]:
    if not folder.exists():
        return []
    return [classify(p) for p in iter_export_files([folder]) if p.suffix.lower() in SUPPORTED_SUFFIXES]


def event_files_for_months(folder: Path, months: set[str]) -> list[Path]:
    return [f.path for f in landing_files(folder) if f.kind == "event" and f.month in months]


def non_event_files(folder: Path) -> list[Path]:
    """Snapshot exports, and anything whose name does not say entity and month."""
    return [f.path for f in landing_files(folder) if f.kind != "event"]
