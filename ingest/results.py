"""What a load did: per file (loaded, skipped or refused, with counts) and per batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FileResult:
    path: Path
    status: str  # loaded | skipped | refused
    entity: str | None = None
    dialect: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_flagged: int = 0
    message: str = ""
    seconds: float = 0.0


@dataclass
class BatchResult:
    batch_id: str
    files: list[FileResult] = field(default_factory=list)

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def ok(self) -> bool:
        return not self.refused

    def totals(self) -> dict[str, int]:
        return {
            "files_loaded": sum(f.status == "loaded" for f in self.files),
            "files_skipped": sum(f.status == "skipped" for f in self.files),
            "files_refused": len(self.refused),
            "rows_loaded": sum(f.rows_loaded for f in self.files),
            "rows_quarantined": sum(f.rows_quarantined for f in self.files),
        }
