"""The Dagster code location: one Definitions merged from the domain modules."""

from __future__ import annotations

import dagster as dg

from dagster_project.defs import ingest
from dagster_project.resources import CrmwResource

defs = dg.Definitions.merge(
    ingest.defs,
    dg.Definitions(resources={"crmw": CrmwResource()}),
)
