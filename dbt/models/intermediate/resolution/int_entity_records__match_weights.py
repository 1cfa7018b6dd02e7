"""The Splink model the last resolution trained, as a table: m, u, Bayes factor and match weight per
comparison level. Read from the model JSON the resolution saves under CRMW_HOME/artifacts."""

from resolution.runner import ResolutionOptions, weights_table
from warehouse.settings import get_settings


def model(dbt, session):
    dbt.config(materialized="table")
    # depends on the resolution, which writes the model file
    dbt.ref("int_entity_records__resolved")
    # dbt passes a Python model the config keys it names literally
    values = {"resolution_model_path": dbt.config.get("resolution_model_path")}
    return weights_table(ResolutionOptions.from_values(values.get, get_settings()).model_path)
