"""Client resolution as a step of the warehouse build, on any engine.

On DuckDB, dbt runs it: the dbt Python model int_entity_records__resolved calls `resolve_table`. On
Spark, whose dbt adapter runs no Python models in session mode, `build_warehouse` runs dbt up to
the records (int_entity_records), then `run_resolution` (which reads the records table, resolves and
writes the resolution tables through warehouse.engine), then dbt for everything after it; the
resolution models are stand-ins there (dbt/models/intermediate/resolution/outside_dbt/). Both
paths share `resolve_table`, so the same records give the same ids on either engine.

Splink runs on DuckDB inside this step by default, whatever the warehouse engine: the records are
one row per organisation (75,000 at scale 1) and DuckDB scores their candidate pairs on one machine
well past that. `CRMW_RESOLUTION_BACKEND=spark` scores them with Splink's Spark backend instead
(resolution/spark_backend.py) for record counts one machine cannot pair (docs/scale-out.md).

Options come from the dbt vars of the build (the names and defaults of the Python model's YAML):
resolution_seed, resolution_match_threshold, resolution_excluded_domains, resolution_overrides_path,
resolution_model_path, resolution_retrain, resolution_retrain_growth, resolution_ground_truth_path,
and resolution_backend (CRMW_RESOLUTION_BACKEND: duckdb or spark; only outside dbt).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from resolution.clustering import ClusteringConfig
from resolution.evaluation import empty_quality, read_ground_truth, resolution_quality
from resolution.ids import id_history
from resolution.linkage import LinkageConfig, match_weights, save_model
from resolution.overrides import read_overrides
from resolution.pipeline import ResolutionConfig, resolve
from resolution.state import (
    ModelInfo,
    inputs_fingerprint,
    load_model,
    load_pair_cache,
    new_info,
    save_pair_cache,
    training_due,
)
from warehouse.dbt import BuildResult
from warehouse.dbt import build_warehouse as build_with_dbt
from warehouse.engine import Tables, open_tables, read_frame
from warehouse.settings import Settings

log = logging.getLogger(__name__)

RECORDS = ("pii", "int_entity_records")
RESOLVED = ("intermediate", "int_entity_records__resolved")
HISTORY = ("intermediate", "int_clients__id_history")
WEIGHTS = ("intermediate", "int_entity_records__match_weights")
EVALUATED = ("intermediate", "int_entity_records__evaluated")
# what the build runs before the resolution on engines where it runs outside dbt
RECORDS_SELECTION = "+int_entity_records"


def setting(value: Any, default: Any) -> Any:
    """A config value set from a var; an empty var means the default."""
    return default if value in (None, "", "None") else value


@dataclass(frozen=True)
class ResolutionOptions:
    """How a build resolves clients (the Python model's config, or the build's dbt vars)."""

    config: ResolutionConfig
    overrides_path: Path
    model_path: Path
    retrain: bool = False
    retrain_growth: float = 0.1
    ground_truth_path: Path | None = None

    @classmethod
    def from_values(cls, get: Callable[[str], Any], settings: Settings) -> ResolutionOptions:
        """`get(name)` gives a resolution_* setting or None (dbt.config.get in the Python model)."""
        backend = str(setting(get("resolution_backend"), "duckdb")).lower()
        if backend not in ("duckdb", "spark"):
            raise ValueError(
                f"resolution_backend (CRMW_RESOLUTION_BACKEND) is duckdb or spark, not {backend!r}"
            )
        config = ResolutionConfig(
            linkage=LinkageConfig(seed=int(setting(get("resolution_seed"), 42)), backend=backend),
            clustering=ClusteringConfig(
                match_threshold=float(setting(get("resolution_match_threshold"), 0.3))
            ),
            excluded_domains=frozenset(
                d.strip()
                for d in str(setting(get("resolution_excluded_domains"), "")).split(",")
                if d.strip()
            ),
        )
        truth = setting(get("resolution_ground_truth_path"), None)
        return cls(
            config=config,
            overrides_path=Path(
                setting(get("resolution_overrides_path"), None)
                or settings.overrides_dir / "client_matches.csv"
            ),
            model_path=Path(
                setting(get("resolution_model_path"), None)
                or settings.artifacts_dir / "splink" / "entity_records_model.json"
            ),
            retrain=str(setting(get("resolution_retrain"), "false")).lower() in ("true", "1", "yes"),
            retrain_growth=float(setting(get("resolution_retrain_growth"), 0.1)),
            ground_truth_path=Path(truth) if truth else None,
        )

    @classmethod
    def from_vars(cls, variables: Mapping[str, Any] | None, settings: Settings) -> ResolutionOptions:
        """From a build's dbt vars; the ground truth defaults to CRMW_GROUND_TRUTH as in the YAML."""
        values = dict(variables or {})
        values.setdefault("resolution_ground_truth_path", os.environ.get("CRMW_GROUND_TRUTH", ""))
        values.setdefault("resolution_backend", os.environ.get("CRMW_RESOLUTION_BACKEND", ""))
        return cls.from_values(values.get, settings)


def resolve_table(
    records: pd.DataFrame,
    options: ResolutionOptions,
    previous_fingerprint: str | None,
    read_previous: Callable[[], pd.DataFrame | None],
) -> pd.DataFrame | None:
    """The resolved records (int_entity_records__resolved), or None when the inputs are those of the
    table as it stands (its input_fingerprint): the table is then kept as it is.

    The Splink model is retrained only when due (resolution.state.training_due), else the saved one
    is applied, scoring again only the pairs whose records changed; `read_previous()` gives the last
    build's ids (record_key, legal_entity_id, client_id), which are kept."""
    overrides = read_overrides(options.overrides_path)
    saved = load_model(options.model_path)
    why = training_due(
        ModelInfo.read(options.model_path),
        saved is not None,
        len(records),
        options.config.linkage,
        options.retrain_growth,
        options.retrain,
    )
    applied = None if why else saved
    if applied is not None:
        fingerprint = inputs_fingerprint(records, overrides, options.config, applied)
        if fingerprint == previous_fingerprint:
            log.info("client resolution: inputs unchanged since the last build; the table is kept")
            return None
    else:
        log.info("client resolution: training the Splink model (%s)", why)
    result = resolve(
        records,
        previous=read_previous(),
        overrides=overrides,
        config=options.config,
        model=applied,
        pair_cache=load_pair_cache(options.model_path) if applied is not None else None,
    )
    if applied is None:
        save_model(result.model, options.model_path)
        new_info(options.config.linkage, len(records)).write(options.model_path)
    save_pair_cache(result.pair_cache, options.model_path)
    log.info("client resolution: %s", result.stats)
    out = result.records
    out["input_fingerprint"] = inputs_fingerprint(records, overrides, options.config, applied or result.model)
    return out


def history_rows(resolved: pd.DataFrame, seen_build_ids: Sequence[str]) -> pd.DataFrame:
    """The id events to append for this resolution build (none when it was appended before)."""
    if resolved.empty:
        return id_history(resolved)
    build_id = str(resolved["resolution_build_id"].iloc[0])
    if build_id in set(seen_build_ids):
        return id_history(resolved.iloc[0:0], build_id=build_id)
    changed_at = pd.Timestamp(resolved["resolved_at"].max()).to_pydatetime()
    return id_history(resolved, changed_at=changed_at, build_id=build_id)


def weights_table(model_path: Path) -> pd.DataFrame:
    """The saved Splink model as a table (int_entity_records__match_weights)."""
    weights = match_weights(json.loads(model_path.read_text(encoding="utf-8")))
    weights["model_path"] = str(model_path)
    weights["model_saved_at"] = datetime.fromtimestamp(model_path.stat().st_mtime).replace(microsecond=0)
    return weights


def quality_table(resolved: pd.DataFrame, ground_truth: Path | None) -> pd.DataFrame:
    """Precision and recall against the ground truth (int_entity_records__evaluated); empty without."""
    if ground_truth is None or not ground_truth.exists():
        return empty_quality().assign(ground_truth_path=pd.Series(dtype="str"))
    quality = resolution_quality(resolved, read_ground_truth(ground_truth))
    quality["ground_truth_path"] = str(ground_truth)
    return quality


def run_resolution(settings: Settings, tables: Tables, variables: Mapping[str, Any] | None = None) -> dict:
    """Resolve the records table and write the four resolution tables (see the module docstring)."""
    options = ResolutionOptions.from_vars(variables, settings)
    records = read_frame(tables, *RECORDS)
    exists = tables.exists(*RESOLVED)
    fingerprint = None
    if exists and "input_fingerprint" in tables.columns(*RESOLVED):
        found = read_frame(tables, *RESOLVED, ["input_fingerprint"])["input_fingerprint"].dropna().unique()
        fingerprint = found[0] if len(found) == 1 else None
    previous = (
        (lambda: read_frame(tables, *RESOLVED, ["record_key", "legal_entity_id", "client_id"]))
        if exists
        else (lambda: None)
    )
    out = resolve_table(records, options, fingerprint, previous)
    if out is None:
        resolved = read_frame(tables, *RESOLVED)
    else:
        tables.write(*RESOLVED, out)
        resolved = out
    seen = (
        read_frame(tables, *HISTORY, ["resolution_build_id"])["resolution_build_id"]
        if tables.exists(*HISTORY)
        else []
    )
    events = history_rows(resolved, list(pd.Series(seen).dropna().unique()))
    if len(events) or not tables.exists(*HISTORY):
        tables.write(*HISTORY, events, mode="append")
    tables.write(*WEIGHTS, weights_table(options.model_path))
    tables.write(*EVALUATED, quality_table(resolved, options.ground_truth_path))
    summary = {
        "records": len(records),
        "clients": int(resolved["client_id"].nunique()) if len(resolved) else 0,
        "kept": out is None,
        "id_events": len(events),
    }
    log.info("client resolution outside dbt on %s: %s", tables.engine, summary)
    return summary


def build_warehouse(settings: Settings, **options: Any) -> BuildResult:
    """Build the warehouse on the settings' engine, client resolution included.

    DuckDB: `dbt build` (warehouse.dbt.build_warehouse; the resolution is a dbt Python model).
    Spark: dbt up to the records, `run_resolution`, then dbt for the rest (a `select` builds only what
    it names, with no resolution). Takes build_warehouse's options and returns its result (the two
    dbt runs' nodes together)."""
    if settings.engine == "duckdb":
        return build_with_dbt(settings, **options)

    def resolve_clients(variables: Mapping[str, Any] | None) -> None:
        with open_tables(settings) as tables:
            run_resolution(settings, tables, variables)

    return build_with_dbt(settings, resolve_clients=resolve_clients, **options)
