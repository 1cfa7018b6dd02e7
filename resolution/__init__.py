"""Client resolution: organisation records from every source -> legal entities -> clients.

Pure functions over DataFrames, tested without dbt; the dbt models in
dbt/models/intermediate/resolution/ call them. See docs/client_resolution.md.
"""

from resolution.clustering import ClusteringConfig, cluster_records
from resolution.evaluation import read_ground_truth, resolution_quality
from resolution.evidence import EVIDENCE_ORDER, deterministic_edges
from resolution.ids import assign_stable_ids, id_history
from resolution.linkage import LinkageConfig, link_records, match_weights, save_model
from resolution.normalise import RECORD_COLUMNS, normalise_name, normalise_records
from resolution.overrides import OverrideFileError, read_overrides
from resolution.pipeline import RESOLVED_COLUMNS, Resolution, ResolutionConfig, resolve

__all__ = [
    "EVIDENCE_ORDER",
    "RECORD_COLUMNS",
    "RESOLVED_COLUMNS",
    "ClusteringConfig",
    "LinkageConfig",
    "OverrideFileError",
    "Resolution",
    "ResolutionConfig",
    "assign_stable_ids",
    "cluster_records",
    "deterministic_edges",
    "id_history",
    "link_records",
    "match_weights",
    "normalise_name",
    "normalise_records",
    "read_ground_truth",
    "read_overrides",
    "resolution_quality",
    "resolve",
    "save_model",
]
