"""Resources shared by every domain."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dagster as dg

from warehouse.settings import Settings, get_settings

# Every asset that writes the warehouse runs in this pool; its limit (1) is set in
# dagster.yaml (`concurrency: pools: default_limit: 1`), so writes never overlap.
WRITER_POOL = "duckdb_writer"


class CrmwResource(dg.ConfigurableResource):
    """Where the warehouse lives and which engine builds it. Empty fields mean the environment
    (CRMW_HOME, CRMW_ENGINE, CRMW_LAKE), read when the run starts: the same definitions run either
    engine (docs/scale-out.md)."""

    home: str = ""
    engine: str = ""
    lake: str = ""

    def settings(self) -> Settings:
        settings = get_settings()
        if self.home:
            settings = replace(settings, home=Path(self.home).expanduser().resolve())
        if self.engine:
            settings = replace(settings, engine=self.engine)
        if self.lake:
            settings = replace(settings, lake=self.lake)
        return settings.ensure()
