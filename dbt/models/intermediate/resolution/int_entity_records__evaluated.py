"""Pairwise precision and recall of the resolution against the sample generator's ground truth.

The ground truth folder comes from the var resolution_ground_truth_path (default: the environment
variable CRMW_GROUND_TRUTH); without one the table is empty. Metric: docs/client_resolution.md.
"""

from pathlib import Path

import pandas as pd

from resolution import read_ground_truth, resolution_quality
from resolution.evaluation import empty_quality


def model(dbt, session):
    dbt.config(materialized="table")
    resolved = dbt.ref("int_entity_records__resolved").df()
    path = dbt.config.get("resolution_ground_truth_path")
    if path in (None, "", "None") or not Path(path).exists():
        return empty_quality().assign(ground_truth_path=pd.Series(dtype="str"))
    quality = resolution_quality(resolved, read_ground_truth(Path(path)))
    quality["ground_truth_path"] = str(path)
    return quality
