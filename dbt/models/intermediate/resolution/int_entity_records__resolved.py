"""Every organisation record resolved into a legal entity and a client, with ids stable across builds.

The work is resolution.runner.resolve_table (tested without dbt; on Spark the same function runs
outside dbt); this model feeds it the records, last build's ids (this table before it is replaced),
the override file, and the saved Splink model.

Two shortcuts keep a daily build cheap (resolution.state): the Splink model is retrained only
when it is due (no saved model, changed settings, records moved by more than
resolution_retrain_growth, or resolution_retrain set), else the saved one is applied, scoring again
only the pairs whose records changed (the last build's pairs are kept next to the model); and when the
records, overrides, configuration, model and resolution code are those of the table as it stands
(its input_fingerprint), the table is kept as it is.
"""

import duckdb

from resolution.runner import ResolutionOptions, resolve_table
from warehouse.settings import get_settings


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


def model(dbt, session):
    dbt.config(materialized="table")
    records = dbt.ref("int_entity_records").df()
    # dbt passes a Python model the config keys it names literally
    values = {
        "resolution_seed": dbt.config.get("resolution_seed"),
        "resolution_match_threshold": dbt.config.get("resolution_match_threshold"),
        "resolution_excluded_domains": dbt.config.get("resolution_excluded_domains"),
        "resolution_overrides_path": dbt.config.get("resolution_overrides_path"),
        "resolution_model_path": dbt.config.get("resolution_model_path"),
        "resolution_retrain": dbt.config.get("resolution_retrain"),
        "resolution_retrain_growth": dbt.config.get("resolution_retrain_growth"),
    }
    options = ResolutionOptions.from_values(values.get, get_settings())
    out = resolve_table(
        records,
        options,
        previous_fingerprint(session, dbt.this),
        lambda: previous_ids(session, dbt.this),
    )
    if out is None:  # inputs unchanged: the table as it stands
        return session.sql(f"select * from {dbt.this}").df()
    return out
