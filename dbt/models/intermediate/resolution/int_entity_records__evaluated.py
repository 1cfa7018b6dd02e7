"""Pairwise precision and recall of the resolution against the sample generator's ground truth.

The ground truth folder comes from the var resolution_ground_truth_path (default: the environment
variable CRMW_GROUND_TRUTH); without one the table is empty. Metric: docs/client_resolution.md.
"""

from pathlib import Path

from resolution.runner import quality_table


def model(dbt, session):
    dbt.config(materialized="table")
    resolved = dbt.ref("int_entity_records__resolved").df()
    path = dbt.config.get("resolution_ground_truth_path")
    return quality_table(resolved, None if path in (None, "", "None") else Path(path))
