"""The Splink model the last resolution trained, as a table: m, u, Bayes factor and match weight per
comparison level. Read from the model JSON the resolution saves under CRMW_HOME/artifacts."""

import json
from datetime import datetime
from pathlib import Path

from resolution import match_weights
from warehouse.settings import get_settings


def model(dbt, session):
    dbt.config(materialized="table")
    # depends on the resolution, which writes the model file
    dbt.ref("int_entity_records__resolved")
    configured = dbt.config.get("resolution_model_path")
    if configured in (None, "", "None"):
        path = get_settings().artifacts_dir / "splink" / "entity_records_model.json"
    else:
        path = Path(configured)
    weights = match_weights(json.loads(path.read_text(encoding="utf-8")))
    weights["model_path"] = str(path)
    weights["model_saved_at"] = datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0)
    return weights
