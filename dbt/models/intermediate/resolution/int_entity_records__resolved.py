"""Every organisation record resolved into a legal entity and a client, with ids stable across builds.

The work is resolution.resolve (tested without dbt); this model feeds it the records, last
build's ids (this table before it is replaced), the override file, and the saved Splink model.

Two shortcuts keep a daily build cheap (resolution.state): the Splink model is retrained only
when it is due (no saved model, changed settings, records moved by more than
resolution_retrain_growth, or resolution_retrain set), else the saved one is applied, scoring again
only the pairs whose records changed (the last build's pairs are kept next to the model); and when the
records, overrides, configuration, model and resolution code are those of the table as it stands
(its input_fingerprint), the table is kept as it is.
"""

import logging
from pathlib import Path

import duckdb

from resolution import ResolutionConfig, read_overrides, resolve, save_model
from resolution.clustering import ClusteringConfig
from resolution.linkage import LinkageConfig
from resolution.state import (
    ModelInfo,
    inputs_fingerprint,
    load_model,
    load_pair_cache,
    new_info,
    save_pair_cache,
    training_due,
)
from warehouse.settings import get_settings

log = logging.getLogger(__name__)


def previous_ids(session, this):
    """Last build's record -> id assignment: this table as it stands before the build replaces it."""
    try:
        return session.sql(f"select record_key, legal_entity_id, client_id from {this}").df()
    except duckdb.CatalogException:  # first build
        return None


def previous_fingerprint(session, this):
    """The input fingerprint of the table as it stands (None: first build, or built before there was one)."""
    try:
        rows = session.execute(
            f"select min(input_fingerprint), max(input_fingerprint) from {this}"
        ).fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):
        return None
    low, high = rows[0]
    return low if low == high else None


def setting(value, default):
    """A config value set from a var in the YAML; an empty var means the default."""
    return default if value in (None, "", "None") else value


def model(dbt, session):
    dbt.config(materialized="table")
    records = dbt.ref("int_entity_records").df()
    config = ResolutionConfig(
        linkage=LinkageConfig(seed=int(setting(dbt.config.get("resolution_seed"), 42))),
        clustering=ClusteringConfig(
            match_threshold=float(setting(dbt.config.get("resolution_match_threshold"), 0.3))
        ),
        excluded_domains=frozenset(
            d.strip()
            for d in setting(dbt.config.get("resolution_excluded_domains"), "").split(",")
            if d.strip()
        ),
    )
    settings = get_settings()
    overrides_path = Path(
        setting(dbt.config.get("resolution_overrides_path"), None)
        or settings.overrides_dir / "client_matches.csv"
    )
    model_path = Path(
        setting(dbt.config.get("resolution_model_path"), None)
        or settings.artifacts_dir / "splink" / "entity_records_model.json"
    )
    retrain = str(setting(dbt.config.get("resolution_retrain"), "false")).lower() in ("true", "1", "yes")
    growth = float(setting(dbt.config.get("resolution_retrain_growth"), 0.1))
    overrides = read_overrides(overrides_path)

    saved = load_model(model_path)
    why = training_due(
        ModelInfo.read(model_path), saved is not None, len(records), config.linkage, growth, retrain
    )
    applied = None if why else saved
    if applied is not None:
        fingerprint = inputs_fingerprint(records, overrides, config, applied)
        if fingerprint == previous_fingerprint(session, dbt.this):
            log.info("client resolution: inputs unchanged since the last build; kept %s", dbt.this)
            return session.sql(f"select * from {dbt.this}").df()
    else:
        log.info("client resolution: training the Splink model (%s)", why)

    result = resolve(
        records,
        previous=previous_ids(session, dbt.this),
        overrides=overrides,
        config=config,
        model=applied,
        pair_cache=load_pair_cache(model_path) if applied is not None else None,
    )
    if applied is None:
        save_model(result.model, model_path)
        new_info(config.linkage, len(records)).write(model_path)
    save_pair_cache(result.pair_cache, model_path)
    log.info("client resolution: %s", result.stats)
    out = result.records
    out["input_fingerprint"] = inputs_fingerprint(records, overrides, config, applied or result.model)
    return out
