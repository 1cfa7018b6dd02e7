"""The model registry: artefacts under CRMW_HOME/artifacts/, their runs in ml.model_runs.

A training run is identified by what went into it: the model, the as-of date, the horizon and a
fingerprint of the training data, features and parameters (`run_id`). Training the same thing
twice finds the registered run and loads its artefact instead (`find_run`), so "train where
needed" is a registry lookup. Each run stores
- `<artifacts>/<model>/<run_id>.joblib`: the fitted sklearn Pipeline (or the forecaster),
- `<artifacts>/<model>/<run_id>.md`: its model card,
- a row in ml.model_runs: version (1, 2, ... per model), parameters, data window, metrics, and its
  status: `trained`, or `baseline` when the model could not be trained and its baseline was
  registered in its place (with the reason).
A model that could not be scored at all gets a row with status `skipped`, its reason and a card
saying so (`record_skip`), and no version. Scoring loads a registered model (`load_model`), never an
unregistered object.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import joblib
import numpy as np
import pandas as pd

from models.schema import ML_SCHEMA, TABLES
from models.status import SKIPPED, TRAINED
from warehouse.settings import Settings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # bump when artefacts change shape: old runs are then retrained


class ModelNotRegistered(LookupError):
    """No registered run for the model and date: train it first (models.jobs.run_all trains where needed)."""

    retryable = False


@dataclass
class TrainingRun:
    """What a training run is about to register."""

    model_name: str
    as_of: date
    estimator: Any
    train_window: tuple[date | None, date | None]
    train_rows: int
    train_positives: int | None
    sources: list[str]
    features: list[str]
    params: dict[str, Any]
    horizon_days: int | None = None
    horizon_months: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    card: str = ""
    fingerprint: str = ""
    status: str = TRAINED  # or BASELINE: the model could not be trained, its baseline is registered
    reason: str | None = None  # why a baseline, or why a horizon shorter than asked

    @property
    def run_id(self) -> str:
        horizon = f"h{self.horizon_days}d" if self.horizon_days else f"h{self.horizon_months}m"
        return f"{self.model_name}-{self.as_of:%Y%m%d}-{horizon}-{self.fingerprint[:10]}"


def fingerprint(*parts: Any) -> str:
    """A stable hash of training data (frames, series, arrays) and settings (anything JSON can write)."""
    h = hashlib.sha256(f"format={FORMAT_VERSION}".encode())
    for part in parts:
        if isinstance(part, pd.DataFrame | pd.Series):
            h.update(pd.util.hash_pandas_object(part, index=True).to_numpy().tobytes())
            cols = list(part.columns) if isinstance(part, pd.DataFrame) else [part.name]
            h.update(json.dumps([str(c) for c in cols]).encode())
        elif isinstance(part, np.ndarray):
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _paths(settings: Settings, model_name: str, run_id: str) -> tuple[Path, Path]:
    folder = settings.artifacts_dir / model_name
    return folder / f"{run_id}.joblib", folder / f"{run_id}.md"


def find_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict | None:
    """The registered run with this id whose artefact is still on disk, else None."""
    rows = con.execute(f"select * from {ML_SCHEMA}.model_runs where run_id = ?", [run_id]).df()
    if rows.empty:
        return None
    row = rows.iloc[0].to_dict()
    if not row["artifact_path"] or not Path(row["artifact_path"]).is_file():
        log.warning(
            "run %s is registered but its artefact %s is gone: training again", run_id, row["artifact_path"]
        )
        return None
    return row


def latest_run(con: duckdb.DuckDBPyConnection, model_name: str, as_of: date | None = None) -> dict:
    """The newest registered run of a model (trained as of `as_of` when given)."""
    sql = f"select * from {ML_SCHEMA}.model_runs where model_name = ?"
    args: list[Any] = [model_name]
    if as_of is not None:
        sql += " and as_of_date = ?"
        args.append(as_of)
    sql += f" and coalesce(status, '{TRAINED}') <> '{SKIPPED}'"
    rows = con.execute(sql + " order by version desc limit 1", args).df()
    if rows.empty:
        when = f" as of {as_of}" if as_of else ""
        raise ModelNotRegistered(
            f"no registered {model_name} model{when}; run models.jobs.run_all (or `crmw models run`) to train one"
        )
    return rows.iloc[0].to_dict()


def load_model(run: dict) -> Any:
    return joblib.load(run["artifact_path"])


def register(con: duckdb.DuckDBPyConnection, settings: Settings, run: TrainingRun) -> dict:
    """Store the artefact and model card, and record the run in ml.model_runs (a new version)."""
    artifact, card = _paths(settings, run.model_name, run.run_id)
    artifact.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(run.estimator, artifact, compress=3)
    version = int(
        con.execute(
            f"select coalesce(max(version), 0) + 1 from {ML_SCHEMA}.model_runs where model_name = ?",
            [run.model_name],
        ).fetchone()[0]
    )
    card.write_text(run.card.replace("{version}", str(version)), encoding="utf-8")
    row = {
        "run_id": run.run_id,
        "model_name": run.model_name,
        "version": version,
        "as_of_date": run.as_of,
        "trained_at": datetime.now(UTC).replace(tzinfo=None),
        "horizon_days": run.horizon_days,
        "horizon_months": run.horizon_months,
        "train_window_start": run.train_window[0],
        "train_window_end": run.train_window[1],
        "train_rows": run.train_rows,
        "train_positives": run.train_positives,
        "sources": ",".join(sorted(run.sources)),
        "features": json.dumps(run.features),
        "params": json.dumps(run.params, sort_keys=True, default=str),
        "metrics": json.dumps(run.metrics, sort_keys=True, default=_json_number),
        "data_fingerprint": run.fingerprint,
        "artifact_path": str(artifact),
        "model_card_path": str(card),
        "status": run.status,
        "reason": run.reason,
    }
    _insert_run(con, row)
    log.info("registered %s version %d (%s, %s)", run.model_name, version, run.run_id, run.status)
    return row


def _insert_run(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    cols = [name for name, _ in TABLES["model_runs"]]
    con.execute(
        f"insert into {ML_SCHEMA}.model_runs ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
        [row.get(c) for c in cols],
    )


SKIP_CARD = """# {title}: not scored as of {as_of}

**Why.** {reason}

**What was written.** Nothing for this model as of {as_of}: its score tables hold no rows for the date,
and this run is in ml.model_runs with status `skipped` and the reason above. Earlier dates keep their
rows. Run the models again when the warehouse holds what is missing.
"""


def record_skip(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    model_name: str,
    title: str,
    as_of: date,
    reason: str,
    sources: list[str],
    horizon_days: int | None = None,
    horizon_months: int | None = None,
) -> dict:
    """Record that a model was skipped as of `as_of`, and why: a row in ml.model_runs (status skipped, no
    version, no artefact) and a model card saying so. The same skip recorded again replaces its row."""
    key = fingerprint(model_name, as_of, reason)[:10]
    run_id = f"{model_name}-{as_of:%Y%m%d}-skipped-{key}"
    card = settings.artifacts_dir / model_name / f"{run_id}.md"
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text(SKIP_CARD.format(title=title, as_of=as_of, reason=reason), encoding="utf-8")
    row = {
        "run_id": run_id,
        "model_name": model_name,
        "version": None,
        "as_of_date": as_of,
        "trained_at": datetime.now(UTC).replace(tzinfo=None),
        "horizon_days": horizon_days,
        "horizon_months": horizon_months,
        "train_rows": 0,
        "sources": ",".join(sorted(sources)),
        "params": "{}",
        "metrics": "{}",
        "model_card_path": str(card),
        "status": SKIPPED,
        "reason": reason,
    }
    con.execute(f"delete from {ML_SCHEMA}.model_runs where run_id = ?", [run_id])
    _insert_run(con, row)
    log.warning("%s skipped as of %s: %s", model_name, as_of, reason)
    return row


def update_metrics(
    con: duckdb.DuckDBPyConnection, run_id: str, metrics: dict, card: str | None = None
) -> None:
    """Attach backtest metrics (and a rewritten card) to a registered run."""
    con.execute(
        f"update {ML_SCHEMA}.model_runs set metrics = ? where run_id = ?",
        [json.dumps(metrics, sort_keys=True, default=_json_number), run_id],
    )
    if card is not None:
        row = con.execute(
            f"select model_card_path, version from {ML_SCHEMA}.model_runs where run_id = ?", [run_id]
        ).fetchone()
        if row:
            Path(row[0]).write_text(card.replace("{version}", str(row[1])), encoding="utf-8")


def _json_number(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def markdown_table(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    """A small markdown table (no tabulate dependency)."""
    if frame.empty:
        return "(no rows)"
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, pd.Timestamp):
                cells.append(v.date().isoformat())
            elif isinstance(v, float | np.floating):
                cells.append("" if np.isnan(v) else floatfmt.format(v))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
