"""Every organisation record resolved into a legal entity and a client, with ids stable across builds.

The work is crmw.resolution.resolve (tested without dbt); this model feeds it the records, last
build's ids (this table before it is replaced), the override file, and saves the Splink model.
"""

import logging
from pathlib import Path

import duckdb

from crmw.resolution import ResolutionConfig, read_overrides, resolve, save_model
from crmw.resolution.clustering import ClusteringConfig
from crmw.resolution.linkage import LinkageConfig
from crmw.settings import get_settings

log = logging.getLogger(__name__)


def previous_ids(session, this):
    """Last build's record -> id assignment: this table as it stands before the build replaces it."""
    try:
        return session.sql(f"select record_key, legal_entity_id, client_id from {this}").df()
    except duckdb.CatalogException:  # first build
        return None


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
        dbt.config.get("resolution_model_path")
        or settings.artifacts_dir / "splink" / "entity_records_model.json"
    )
    result = resolve(
        records,
        previous=previous_ids(session, dbt.this),
        overrides=read_overrides(overrides_path),
        config=config,
    )
    save_model(result.model, model_path)
    log.info("client resolution: %s", result.stats)
    return result.records
