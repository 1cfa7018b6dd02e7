"""Where things live. One setting, CRMW_HOME, decides it all (default: var/ in the checkout);
CRMW_LOCK_WAIT says how long a second writer waits for the warehouse (seconds, default 30).

Two more pick the engine when one machine is outgrown (docs/scale-out.md): CRMW_ENGINE (duckdb, the
default, or spark) and CRMW_LAKE (where ingest writes raw and quarantine as Parquet; the spark
engine always reads the lake, by default CRMW_HOME/lake; unset on duckdb, raw lives in the DuckDB
file).

Nothing here reads the environment at import time: call `get_settings()`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import WarehouseError

PROJECT_DIR = Path(__file__).resolve().parent.parent
# What a run writes stays out of the code: a checkout's default home is var/ (ignored by git).
DEFAULT_HOME = PROJECT_DIR / "var"
ENGINES = ("duckdb", "spark")
DEFAULT_LOCK_WAIT_SECONDS = 30.0
# DuckDB's memory limit on every warehouse connection, dbt's included (CRMW_DUCKDB_MEMORY_LIMIT). DuckDB's
# own default, 80% of the machine, is a buffer pool it keeps once filled; capped, it evicts what it
# read (the data is in the file) and spills to disk what does not fit. At scale 1 a build peaks at
# 1.4 GB with it against 3.4 GB without, in the same time (docs/performance.md).
DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class Settings:
    home: Path
    # The sample generator's ground truth folder (CRMW_GROUND_TRUTH): when set, every dbt
    # build of this home measures client resolution against it (int_entity_records__evaluated).
    ground_truth: Path | None = None
    engine: str = "duckdb"
    lake: str | None = None  # a folder or an object-store URL; None: no lake unless the engine needs one
    # how long a process waits for another that holds the warehouse file before giving up
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT  # '1GB', '4GB', '50%'

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r} (CRMW_ENGINE): use one of {', '.join(ENGINES)}")

    @property
    def lake_url(self) -> str | None:
        """Where raw, quarantine and the load manifest live as Parquet: the lake setting, else
        home/lake on the spark engine (it reads only the lake), else None (raw in the DuckDB file)."""
        if self.lake:
            return self.lake
        return str(self.home / "lake") if self.engine == "spark" else None

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

    @property
    def secrets_dir(self) -> Path:
        """Per-install secrets (the pseudonym key), readable by the owner only."""
        return self.home / "secrets"

    def ensure(self) -> Settings:
        """Create the home's folders where missing (the warehouse's readable by the owner only);
        a WarehouseError naming the path when the home is not a folder this user may write."""
        try:
            if self.home.exists() and not self.home.is_dir():
                raise NotADirectoryError(20, "it is a file, not a folder", str(self.home))
            for path in (self.landing_dir, self.warehouse_dir, self.reports_dir, self.artifacts_dir):
                path.mkdir(parents=True, exist_ok=True)
            folder = self.warehouse_dir.stat()
            if folder.st_mode & 0o077 and folder.st_uid == os.geteuid():
                # it holds personal data: the owner's only (never more than the owner had)
                self.warehouse_dir.chmod(folder.st_mode & 0o700)
        except OSError as exc:
            raise WarehouseError(
                f"CRMW_HOME {self.home} cannot be used: {exc.strerror or exc} ({exc.filename or self.home}); "
                "point CRMW_HOME at a folder this user may write"
            ) from exc
        return self


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    home = env.get("CRMW_HOME") or str(DEFAULT_HOME)
    truth = env.get("CRMW_GROUND_TRUTH")
    lake = env.get("CRMW_LAKE") or None
    if lake and "://" not in lake:
        lake = str(Path(lake).expanduser().resolve())
    wait = env.get("CRMW_LOCK_WAIT")
    try:
        lock_wait = float(wait) if wait else DEFAULT_LOCK_WAIT_SECONDS
    except ValueError:
        raise WarehouseError(f"CRMW_LOCK_WAIT={wait!r} is not a number of seconds") from None
    return Settings(
        home=Path(home).expanduser().resolve(),
        ground_truth=Path(truth).expanduser().resolve() if truth else None,
        engine=(env.get("CRMW_ENGINE") or "duckdb").strip().lower(),
        lake=lake,
        lock_wait_seconds=lock_wait,
        duckdb_memory_limit=(env.get("CRMW_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT).strip(),
    )
