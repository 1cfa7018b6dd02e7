"""Resources shared by every domain."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from warehouse.settings import Settings, get_settings

# Every asset that writes the warehouse runs in this pool; its limit (1) is set in
# dagster.yaml (`concurrency: pools: default_limit: 1`), so writes never overlap.
WRITER_POOL = "duckdb_writer"


class CrmwResource(dg.ConfigurableResource):
    """Where the warehouse lives. Empty `home` means CRMW_HOME, read when the run starts."""

    home: str = ""

    def settings(self) -> Settings:
        if self.home:
            return Settings(home=Path(self.home).expanduser().resolve()).ensure()
        return get_settings().ensure()
