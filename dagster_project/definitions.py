"""The Dagster code location: one Definitions merged from the domain modules."""

import dagster as dg

from dagster_project.defs import ingest, quality, warehouse
from dagster_project.resources import CrmwResource

everything_job = dg.define_asset_job("everything", selection=dg.AssetSelection.all())

defs = dg.Definitions.merge(
    ingest.defs,
    warehouse.defs,
    quality.defs,
    dg.Definitions(resources={"crmw": CrmwResource()}, jobs=[everything_job]),
)
