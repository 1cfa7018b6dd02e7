"""Where things live. One setting, CRMW_HOME, decides it all (default: var/ in the checkout).

Nothing here reads the environment at import time: call `get_settings()`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# What a run writes stays out of the code: a checkout's default home is var/ (ignored by git).
DEFAULT_HOME = PROJECT_DIR / "var"


@dataclass(frozen=True)
class Settings:
    home: Path
    # The sample generator's ground truth folder (CRMW_GROUND_TRUTH): when set, every dbt
    # build of this home measures client resolution against it (int_entity_records__evaluated).
    ground_truth: Path | None = None

    @property
    def landing_dir(self) -> Path:
        """Exports waiting to be ingested (the sensor watches this folder)."""
        return self.home / "landing"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB file the pipeline writes (one writer)."""
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def published_path(self) -> Path:
        """The read-only copy analysts, notebooks and reports read."""
        return self.warehouse_dir / "published.duckdb"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def artifacts_dir(self) -> Path:
        """Trained model artefacts (outside git)."""
        return self.home / "artifacts"

    @property
    def dbt_dir(self) -> Path:
        """dbt's target/ (manifest, partial parse, run results, docs) and logs/ for this home."""
        return self.home / "dbt"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def overrides_dir(self) -> Path:
        """Manual match overrides for client resolution."""
        return self.home / "overrides"

    def ensure(self) -> Settings:
        for path in (self.landing_dir, self.warehouse_dir, self.reports_dir, self.artifacts_dir):
            path.mkdir(parents=True, exist_ok=True)
        return self


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    home = env.get("CRMW_HOME") or str(DEFAULT_HOME)
    truth = env.get("CRMW_GROUND_TRUTH")
    return Settings(
        home=Path(home).expanduser().resolve(),
        ground_truth=Path(truth).expanduser().resolve() if truth else None,
    )
