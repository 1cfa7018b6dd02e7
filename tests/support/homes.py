"""Homes for tests: the session's sample exports and the warehouse built from them, and copies of
a built home for tests that write (DuckDB allows one writer per file; artefacts live under a home)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ingest.load import ingest_paths
from warehouse.dbt import build_warehouse
from warehouse.settings import Settings

SAMPLE_SCALE = 0.01
SAMPLE_SEED = 42


def generate_sample(out: Path, scale: float = SAMPLE_SCALE, seed: int = SAMPLE_SEED, **options) -> Path:
    """Sample exports (every source, generic dialects unless told) with their ground truth, once per folder."""
    from sample_exports import generate

    if not (out / "ground_truth" / "manifest.json").exists():
        generate(out_dir=out, scale=scale, seed=seed, **options)
    return out


def export_files(exports: Path, *sources: str) -> list[Path]:
    """The export files under `exports` (only the given sources' folders when named), without ground truth."""
    roots = [exports / s for s in sources] if sources else [exports]
    return sorted(
        p for root in roots for p in root.rglob("*") if p.is_file() and "ground_truth" not in p.parts
    )


def build_home(home: Path, exports: Path, *sources: str, run_tests: bool = True) -> Settings:
    """Ingest the exports (all, or the named sources) into a new home and build the warehouse."""
    settings = Settings(home=home).ensure()
    batch = ingest_paths(export_files(exports, *sources), settings.warehouse_path)
    assert batch.ok, [f.message for f in batch.refused]
    build_warehouse(settings, skip_tests=not run_tests)
    return settings


def copy_home(source: Settings | Path, dest: Path, *, artifacts: bool = False) -> Settings:
    """A copy of a home's warehouse (with its pseudonym key, and dbt state, and its artefacts when
    asked) under `dest`."""
    source = source.home if isinstance(source, Settings) else Path(source)
    settings = Settings(home=dest).ensure()
    shutil.copy2(Settings(home=source).warehouse_path, settings.warehouse_path)
    if (source / "secrets").exists():
        shutil.copytree(source / "secrets", dest / "secrets", dirs_exist_ok=True)
    if (source / "dbt").exists():
        shutil.copytree(source / "dbt", dest / "dbt", dirs_exist_ok=True)
    if artifacts and (source / "artifacts").exists():
        shutil.copytree(source / "artifacts", dest / "artifacts", dirs_exist_ok=True)
    return settings
